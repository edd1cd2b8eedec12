import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { DecryptCommand, EncryptCommand, type KMSClient } from "@aws-sdk/client-kms";
import { canonicalJson } from "../../domain/audit-chain.ts";
import type { SecretBox } from "../../ports/webhooks.ts";

/**
 * Endpoint secrets sealed by a KMS key. The context goes in as the encryption context, so a sealed secret copied
 * onto another tenant's or endpoint's record does not open there, and CloudTrail logs whose secret was opened.
 */
export class KmsSecretBox implements SecretBox {
  constructor(
    private readonly kms: KMSClient,
    private readonly keyArn: string,
  ) {}

  async seal(plain: string, context: Record<string, string>): Promise<string> {
    const result = await this.kms.send(
      new EncryptCommand({
        KeyId: this.keyArn,
        Plaintext: Buffer.from(plain, "utf8"),
        EncryptionContext: context,
      }),
    );
    if (!result.CiphertextBlob) throw new Error("KMS Encrypt answered without a ciphertext");
    return Buffer.from(result.CiphertextBlob).toString("base64");
  }

  async open(sealed: string, context: Record<string, string>): Promise<string> {
    const result = await this.kms.send(
      new DecryptCommand({
        // Naming the key keeps a ciphertext made under any other key from being opened with it.
        KeyId: this.keyArn,
        CiphertextBlob: Buffer.from(sealed, "base64"),
        EncryptionContext: context,
      }),
    );
    if (!result.Plaintext) throw new Error("KMS Decrypt answered without a plaintext");
    return Buffer.from(result.Plaintext).toString("utf8");
  }
}

const LOCAL_FORMAT = "v1";

/**
 * Endpoint secrets sealed with AES-256-GCM under a key of the embedded stack, for one machine without KMS. The
 * context's canonical JSON is the additional authenticated data: like KMS's encryption context, a sealed secret
 * opens only under the tenant and endpoint it was sealed for. Output: `v1.<iv>.<tag>.<ciphertext>`, base64url.
 */
export class LocalSecretBox implements SecretBox {
  private readonly key: Buffer;

  constructor(keyBase64: string) {
    this.key = Buffer.from(keyBase64, "base64");
    if (this.key.length !== 32) throw new Error("the local secret key must be 32 bytes, base64-encoded");
  }

  async seal(plain: string, context: Record<string, string>): Promise<string> {
    // A fresh IV per seal: GCM loses both secrecy and integrity when one repeats under the same key.
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    cipher.setAAD(Buffer.from(canonicalJson(context), "utf8"));
    const ciphertext = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
    return [LOCAL_FORMAT, iv, cipher.getAuthTag(), ciphertext]
      .map((part) => (typeof part === "string" ? part : part.toString("base64url")))
      .join(".");
  }

  async open(sealed: string, context: Record<string, string>): Promise<string> {
    const [format, iv, tag, ciphertext, ...rest] = sealed.split(".");
    if (
      format !== LOCAL_FORMAT ||
      iv === undefined ||
      tag === undefined ||
      ciphertext === undefined ||
      rest.length
    ) {
      throw new Error("not a sealed secret of the local secret box");
    }
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(iv, "base64url"), {
        authTagLength: 16,
      });
      decipher.setAAD(Buffer.from(canonicalJson(context), "utf8"));
      decipher.setAuthTag(Buffer.from(tag, "base64url"));
      const plain = Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]);
      return plain.toString("utf8");
    } catch {
      throw new Error("the sealed secret does not open with this key and context");
    }
  }
}

/** Opened secrets kept per container; beyond this many the cache starts afresh. */
const OPENED_LIMIT = 1000;

/**
 * Keeps what a box opened. A sealed secret opens to the same text every time, so the sender decrypts each once per
 * container instead of once per line it works (a batch of ten lines of one endpoint: one KMS call, not ten).
 */
export class CachingSecretBox implements SecretBox {
  private readonly opened = new Map<string, Promise<string>>();

  constructor(private readonly inner: SecretBox) {}

  seal(plain: string, context: Record<string, string>): Promise<string> {
    return this.inner.seal(plain, context);
  }

  open(sealed: string, context: Record<string, string>): Promise<string> {
    const key = `${canonicalJson(context)}\u0000${sealed}`;
    const known = this.opened.get(key);
    if (known) return known;
    if (this.opened.size >= OPENED_LIMIT) this.opened.clear();
    const opening = this.inner.open(sealed, context);
    this.opened.set(key, opening);
    // A failure (KMS throttled) is not remembered: the next line tries again.
    opening.catch(() => this.opened.delete(key));
    return opening;
  }
}
