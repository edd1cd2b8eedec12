import { randomBytes } from "node:crypto";
import { DecryptCommand, EncryptCommand, KMSClient } from "@aws-sdk/client-kms";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import {
  CachingSecretBox,
  KmsSecretBox,
  LocalSecretBox,
} from "../../functions/adapters/webhooks/secret-boxes.ts";

const client = new KMSClient({
  region: "eu-west-1",
  credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
});
const kms = mockClient(client);
const keyArn = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const context = { tenantId: "demo", endpointId: "we_1" };

describe("KmsSecretBox", () => {
  beforeEach(() => kms.reset());

  it("encrypts under the key with the context as encryption context, and answers the blob in base64", async () => {
    kms.on(EncryptCommand).resolves({ CiphertextBlob: Uint8Array.from([1, 2, 3, 250]) });
    const sealed = await new KmsSecretBox(client, keyArn).seal("whsec_abc", context);
    expect(sealed).toBe(Buffer.from([1, 2, 3, 250]).toString("base64"));
    expect(kms.commandCalls(EncryptCommand).map((call) => call.args[0].input)).toEqual([
      { KeyId: keyArn, Plaintext: Buffer.from("whsec_abc", "utf8"), EncryptionContext: context },
    ]);
  });

  it("decrypts with the same key and context", async () => {
    kms.on(DecryptCommand).resolves({ Plaintext: Buffer.from("whsec_abc", "utf8") });
    const sealed = Buffer.from([1, 2, 3, 250]).toString("base64");
    expect(await new KmsSecretBox(client, keyArn).open(sealed, context)).toBe("whsec_abc");
    expect(kms.commandCalls(DecryptCommand).map((call) => call.args[0].input)).toEqual([
      { KeyId: keyArn, CiphertextBlob: Buffer.from([1, 2, 3, 250]), EncryptionContext: context },
    ]);
  });

  it("fails when KMS refuses or answers nothing", async () => {
    const box = new KmsSecretBox(client, keyArn);
    kms
      .on(DecryptCommand)
      .rejects(Object.assign(new Error("context mismatch"), { name: "InvalidCiphertextException" }));
    await expect(box.open("AQID", context)).rejects.toThrow(/context mismatch/);
    kms.on(EncryptCommand).resolves({});
    await expect(box.seal("whsec_abc", context)).rejects.toThrow(/without a ciphertext/);
  });
});

describe("LocalSecretBox", () => {
  const key = randomBytes(32).toString("base64");
  const box = new LocalSecretBox(key);

  it("round-trips, with a fresh IV each time", async () => {
    const sealed = await box.seal("whsec_é✓", context);
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/);
    expect(await box.open(sealed, context)).toBe("whsec_é✓");
    expect(await box.seal("whsec_é✓", context)).not.toBe(sealed);
  });

  it("opens whatever the order of the context's keys", async () => {
    const sealed = await box.seal("whsec_abc", { tenantId: "demo", endpointId: "we_1" });
    expect(await box.open(sealed, { endpointId: "we_1", tenantId: "demo" })).toBe("whsec_abc");
  });

  it("does not open under another context or key", async () => {
    const sealed = await box.seal("whsec_abc", context);
    await expect(box.open(sealed, { ...context, endpointId: "we_2" })).rejects.toThrow(/does not open/);
    await expect(box.open(sealed, { tenantId: "demo" })).rejects.toThrow(/does not open/);
    const other = new LocalSecretBox(randomBytes(32).toString("base64"));
    await expect(other.open(sealed, context)).rejects.toThrow(/does not open/);
  });

  it("does not open a tampered or malformed value", async () => {
    const sealed = await box.seal("whsec_abc", context);
    const [format, iv, tag, ciphertext] = sealed.split(".") as [string, string, string, string];
    const flipped = Buffer.from(ciphertext, "base64url");
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    const tampered = [format, iv, tag, flipped.toString("base64url")].join(".");
    await expect(box.open(tampered, context)).rejects.toThrow(/does not open/);
    await expect(box.open([format, iv, "", ciphertext].join("."), context)).rejects.toThrow(/does not open/);
    await expect(box.open(`v2.${iv}.${tag}.${ciphertext}`, context)).rejects.toThrow(/not a sealed secret/);
    await expect(box.open(`${sealed}.extra`, context)).rejects.toThrow(/not a sealed secret/);
    await expect(box.open("whsec_abc", context)).rejects.toThrow(/not a sealed secret/);
  });

  it("takes only a 32-byte key", () => {
    expect(() => new LocalSecretBox(randomBytes(16).toString("base64"))).toThrow(/32 bytes/);
  });
});

describe("CachingSecretBox", () => {
  it("opens each sealed secret once, per context, and forgets a failed opening", async () => {
    const calls: string[] = [];
    let failNext = true;
    const inner = {
      seal: async (plain: string) => `sealed:${plain}`,
      open: async (sealed: string, context: Record<string, string>) => {
        calls.push(`${context.webhookId}:${sealed}`);
        if (failNext) {
          failNext = false;
          throw new Error("throttled");
        }
        return sealed.slice("sealed:".length);
      },
    };
    const box = new CachingSecretBox(inner);
    const context = { tenantId: "t", webhookId: "we_1" };
    await expect(box.open("sealed:a", context)).rejects.toThrow("throttled");
    expect(await box.open("sealed:a", context)).toBe("a");
    expect(await box.open("sealed:a", context)).toBe("a");
    expect(await box.open("sealed:a", { tenantId: "t", webhookId: "we_2" })).toBe("a");
    expect(calls).toEqual(["we_1:sealed:a", "we_1:sealed:a", "we_2:sealed:a"]);
    expect(await box.seal("b", context)).toBe("sealed:b");
  });
});
