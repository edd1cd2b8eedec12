import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { WEBHOOK_KEY_FILE } from "../../infra/local/data-dir.ts";
import { webhookEnvironment } from "../../infra/local/local-webhooks.ts";

const QUEUE_URL = "http://127.0.0.1:9/000000000000/webhook-deliveries";
const folders: string[] = [];

async function dataDir(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), "webhook-key-"));
  folders.push(folder);
  return folder;
}

afterEach(async () => {
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
});

const keyBytes = (env: Record<string, string>) =>
  Buffer.from(env.LOCAL_WEBHOOK_SECRET_KEY ?? "", "base64").length;

describe("the embedded stack's webhook environment", () => {
  it("names the queue, allows loopback endpoints, and gives an in-memory run a fresh 32-byte key", async () => {
    const first = await webhookEnvironment(QUEUE_URL);
    const second = await webhookEnvironment(QUEUE_URL);
    expect(first).toMatchObject({ WEBHOOK_QUEUE_URL: QUEUE_URL, WEBHOOK_ALLOW_LOOPBACK: "true" });
    expect(keyBytes(first)).toBe(32);
    expect(second.LOCAL_WEBHOOK_SECRET_KEY).not.toBe(first.LOCAL_WEBHOOK_SECRET_KEY);
  });

  it("keeps a data folder's key in a file only its owner reads, the same at every start", async () => {
    const folder = await dataDir();
    const first = await webhookEnvironment(QUEUE_URL, folder);
    const file = join(folder, WEBHOOK_KEY_FILE);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(keyBytes(first)).toBe(32);
    expect((await webhookEnvironment(QUEUE_URL, folder)).LOCAL_WEBHOOK_SECRET_KEY).toBe(
      first.LOCAL_WEBHOOK_SECRET_KEY,
    );
  });

  it("refuses a damaged key file rather than replace the key the stored secrets need", async () => {
    const folder = await dataDir();
    await writeFile(join(folder, WEBHOOK_KEY_FILE), "c2hvcnQ=\n", { mode: 0o600 });
    await expect(webhookEnvironment(QUEUE_URL, folder)).rejects.toThrow(/32 bytes/);
  });
});
