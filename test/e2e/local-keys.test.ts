import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { apiKeyHash } from "../../functions/adapters/dynamo/api-key-store.ts";
import { ROLES, type Role } from "../../functions/ports.ts";
import { connects, listeningAddresses, otherAddress } from "../support/listening.ts";
import { apiClient } from "../workflows/client.ts";
import { npmStart, ROOT, type StartedStack } from "./npm-start.ts";

/**
 * `npm start -- --data-dir <dir>` as a user restarts it: the demo keys stay the same from start to start (kept in
 * the data folder, mode 0600), DynamoDB Local listens on 127.0.0.1 only, and `npm run keys -- --data-dir <dir>` finds
 * the running stack's database from the folder. Both commands run from another folder than the package's, with
 * the data folder given relative to it.
 */
const caller = mkdtempSync(join(tmpdir(), "dunning-keys-"));
const RELATIVE = "data";
const dataDir = join(caller, RELATIVE);
/** No demo key from the environment: every key is the stack's own. */
const NO_KEYS = {
  DUNNING_LENDER_KEY: "",
  DUNNING_OPS_KEY: "",
  DUNNING_COMPLIANCE_KEY: "",
  DUNNING_LEGAL_KEY: "",
};

let running: StartedStack | undefined;

afterAll(async () => {
  await running?.kill("SIGINT");
  rmSync(caller, { recursive: true, force: true });
});

async function start(): Promise<StartedStack> {
  running = await npmStart(["--frozen", "--port", "0", "--data-dir", RELATIVE], NO_KEYS, caller);
  return running;
}

async function stop(stack: StartedStack): Promise<void> {
  await stack.kill("SIGINT");
  running = undefined;
}

/** The keys the banner prints, per role. */
function bannerKeys(output: string): Record<Role, string> {
  return Object.fromEntries(
    ROLES.map((role) => [role, new RegExp(`^  ${role} +(dk_\\S+)$`, "m").exec(output)?.[1]]),
  ) as Record<Role, string>;
}

/** `npm run keys -- --data-dir data <args>`, run from the caller's folder. */
function keys(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      "npm",
      ["--prefix", ROOT, "run", "--silent", "keys", "--", "--data-dir", RELATIVE, ...args],
      { cwd: caller, env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" } },
      (error, stdout, stderr) => done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** 401 for a key the API does not know; a known key of another role than legal gets 403. */
async function status(url: string, key: string): Promise<number> {
  return (await apiClient(url, key).get("/v1/handoffs")).status;
}

describe("local keys and endpoints", () => {
  it("keeps the demo keys of a data folder across restarts; npm run keys finds the stack from the folder", async () => {
    const first = await start();
    const issued = bannerKeys(first.output());
    for (const role of ROLES) expect(issued[role]).toMatch(/^dk_/);

    // The keys are kept in the data folder, readable by their owner only, and the banner says where.
    const keysFile = join(dataDir, "api-keys.json");
    expect(statSync(keysFile).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(keysFile, "utf8"))).toEqual({ tenant: "demo", keys: issued });
    expect(first.output()).toContain(`kept in ${keysFile}`);

    // The DynamoDB Local endpoint is printed, written into the data folder, and listens on loopback only.
    const endpoint = /^DynamoDB (http:\/\/127\.0\.0\.1:(\d+)) \(127\.0\.0\.1 only\)$/m.exec(first.output());
    expect(endpoint).not.toBeNull();
    const [, dynamoEndpoint, port] = endpoint as RegExpExecArray;
    const stackFile = JSON.parse(readFileSync(join(dataDir, "local-stack.json"), "utf8"));
    expect(stackFile).toMatchObject({ dynamoEndpoint, stateTable: "dunning-state", url: first.url });
    expect(listeningAddresses(Number(port))).toEqual(["127.0.0.1"]);
    const other = otherAddress();
    if (other) expect(await connects(other, Number(port))).toBe(false);

    const listed = await keys(["list", "--tenant", "demo"]);
    expect(listed).toMatchObject({ code: 0, stderr: "" });
    expect(listed.stdout.trim().split("\n")).toHaveLength(ROLES.length);

    await stop(first);
    expect(existsSync(join(dataDir, "local-stack.json"))).toBe(false);
    const stopped = await keys(["list", "--tenant", "demo"]);
    expect(stopped.code).toBe(2);
    expect(stopped.stderr).toContain(`no local stack is running on ${dataDir}`);

    // Started again: the same keys, all still valid, and none minted.
    const second = await start();
    expect(bannerKeys(second.output())).toEqual(issued);
    expect(await status(second.url, issued.legal)).toBe(200);
    for (const role of ["lender", "ops", "compliance"] as const) {
      expect(await status(second.url, issued[role])).toBe(403);
    }
    const again = await keys(["list", "--tenant", "demo"]);
    expect(again.stdout.trim().split("\n")).toHaveLength(ROLES.length);

    // A revoked key is replaced at the next start; the others stay.
    const opsId = apiKeyHash(issued.ops).slice(0, 12);
    expect(await keys(["revoke", "--key-id", opsId])).toMatchObject({
      code: 0,
      stdout: `revoked ${opsId}\n`,
    });
    await stop(second);

    const third = await start();
    const reissued = bannerKeys(third.output());
    expect(reissued.ops).not.toBe(issued.ops);
    expect({ ...reissued, ops: issued.ops }).toEqual(issued);
    expect(await status(third.url, issued.ops)).toBe(401);
    expect(await status(third.url, reissued.ops)).toBe(403);
    expect(JSON.parse(readFileSync(keysFile, "utf8")).keys).toEqual(reissued);
    const last = await keys(["--json", "list", "--tenant", "demo"]);
    const records = JSON.parse(last.stdout) as { keyId: string; revoked: boolean }[];
    expect(records).toHaveLength(ROLES.length + 1);
    expect(records.filter((r) => r.revoked).map((r) => r.keyId)).toEqual([opsId]);
    await stop(third);
  }, 400_000);
});
