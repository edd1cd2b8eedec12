import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { apiKeyHash, type DynamoApiKeyStore } from "../../functions/adapters/dynamo/api-key-store.ts";
import { ROLES, type Role } from "../../functions/ports.ts";
import { KEYS_FILE, writePrivateFile } from "./data-dir.ts";

export const DEMO_TENANT = "demo";

/**
 * The demo tenant's keys. A key given in `options.keys` is stored as given. Otherwise, with a data folder, the key
 * minted for that role at an earlier start is used again (kept in KEYS_FILE, mode 0600) as long as it is not
 * revoked; a revoked or missing one is replaced by a new key, which is written there. Without a data folder every
 * start mints new keys: the store they live in is gone at stop.
 */
export async function demoKeys(
  store: DynamoApiKeyStore,
  options: { dataDir?: string | undefined; keys?: Partial<Record<Role, string>> | undefined },
): Promise<Record<Role, string>> {
  const file = options.dataDir ? join(options.dataDir, KEYS_FILE) : undefined;
  const kept = file ? await readKeptKeys(file) : {};
  const keys = {} as Record<Role, string>;
  let minted = false;
  for (const role of ROLES) {
    const given = options.keys?.[role];
    if (given) {
      keys[role] = given;
      await store.put(given, { tenantId: DEMO_TENANT, role });
      continue;
    }
    const previous = kept[role];
    if (previous && (await stillUsable(store, previous, role))) {
      keys[role] = previous;
      continue;
    }
    keys[role] = `dk_${role}_${randomBytes(18).toString("base64url")}`;
    await store.put(keys[role], { tenantId: DEMO_TENANT, role });
    kept[role] = keys[role];
    minted = true;
  }
  if (file && minted) {
    await writePrivateFile(file, `${JSON.stringify({ tenant: DEMO_TENANT, keys: kept }, null, 2)}\n`);
  }
  return keys;
}

/** A kept key is used again unless it was revoked; if the store lost it (a wiped table), it is stored again. */
async function stillUsable(store: DynamoApiKeyStore, key: string, role: Role): Promise<boolean> {
  const principal = await store.resolve(key);
  if (principal) return principal.tenantId === DEMO_TENANT && principal.role === role;
  if (await store.byId(apiKeyHash(key).slice(0, 12))) return false;
  await store.put(key, { tenantId: DEMO_TENANT, role });
  return true;
}

async function readKeptKeys(file: string): Promise<Partial<Record<Role, string>>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw error;
  }
  const parsed = JSON.parse(text) as { keys?: Record<string, unknown> };
  return Object.fromEntries(
    ROLES.flatMap((role) => {
      const key = parsed.keys?.[role];
      return typeof key === "string" && key.length > 0 ? [[role, key]] : [];
    }),
  );
}
