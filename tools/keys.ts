/**
 * `npm run keys -- <command>` manages API keys in the state table: create, list, rotate, revoke. A key is printed
 * once, when it is made, and stored only as its SHA-256. Every change is an audit entry in the tenant's chain
 * (scope `~tenant`), written in the same transaction as the change.
 *
 *   npm run keys -- --data-dir .local/demo create --tenant acme --role lender   (the `npm start` running on that folder)
 *   npm run keys -- --endpoint http://127.0.0.1:<port> --table dunning-state list --tenant acme   (any DynamoDB Local)
 *   npm run keys -- --table loan-dunning-state list --tenant acme             (AWS: default credentials/region)
 *
 * Exit codes: 0 done, 1 the key or tenant is not there (or already revoked), 2 a usage or connection error.
 */
import { userInfo } from "node:os";
import { Command, InvalidArgumentError, Option } from "commander";
import {
  type ApiKeyRecord,
  DynamoApiKeyStore,
  KeyAdminError,
} from "../functions/adapters/dynamo/api-key-store.ts";
import { makeDocumentClient } from "../functions/adapters/dynamo/client.ts";
import { TenantAuditLog } from "../functions/adapters/dynamo/tenant-audit.ts";
import { ROLES, type Role } from "../functions/ports.ts";
import { NoRunningStackError, type RunningStack, readRunningStack } from "../infra/local/data-dir.ts";
import { EXIT_USAGE, fromCaller, runCli, UsageError } from "./cli-io.ts";

interface Connection {
  dataDir?: string;
  endpoint?: string;
  region?: string;
  table?: string;
  auditTable?: string;
  actor?: string;
}

function tenant(value: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(value)) {
    throw new InvalidArgumentError("1-64 characters: letters, digits and . _ - (no #)");
  }
  return value;
}

function keyId(value: string): string {
  if (!/^[0-9a-f]{12}$/.test(value)) throw new InvalidArgumentError("a key id is 12 hex characters");
  return value;
}

/** The audit table sits next to the state table: `<prefix>dunning-state` → `<prefix>dunning-audit`. */
function auditTableFor(stateTable: string): string {
  if (!/state$/.test(stateTable)) {
    throw new InvalidArgumentError(`cannot derive the audit table from ${stateTable}; pass --audit-table`);
  }
  return stateTable.replace(/state$/, "audit");
}

/** Where the keys live: the running local stack of --data-dir, or --endpoint/--region and --table. */
function located(options: Connection): Connection & { table: string } {
  if (options.dataDir) {
    let running: RunningStack;
    try {
      running = readRunningStack(options.dataDir);
    } catch (error) {
      throw error instanceof NoRunningStackError ? new UsageError(error.message) : error;
    }
    return {
      ...options,
      endpoint: running.dynamoEndpoint,
      table: options.table ?? running.stateTable,
      ...(options.table ? {} : { auditTable: options.auditTable ?? running.auditTable }),
    };
  }
  if (!options.table) {
    throw new UsageError(
      "say where the keys are: --table <name> (and --endpoint for DynamoDB Local), or --data-dir",
    );
  }
  return { ...options, table: options.table };
}

function connect(given: Connection) {
  const options = located(given);
  const client = makeDocumentClient({
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.region ? { region: options.region } : {}),
  });
  const tables = {
    stateTable: options.table,
    auditTable: options.auditTable ?? auditTableFor(options.table),
  };
  const audit = new TenantAuditLog(client, tables);
  const store = new DynamoApiKeyStore(client, tables, { cacheTtlMs: 0 });
  const actor = options.actor ?? `cli:${safeUser()}`;
  return { store, audit, admin: { audit, actor } };
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return "unknown";
  }
}

function show(record: ApiKeyRecord): string {
  const state = record.revoked ? `revoked ${record.revokedAt ?? ""}`.trim() : "active";
  const links = [
    record.replaces ? `replaces ${record.replaces}` : "",
    record.replacedBy ? `replaced by ${record.replacedBy}` : "",
  ]
    .filter(Boolean)
    .join(", ");
  return [record.keyId, record.role.padEnd(10), record.createdAt, state, links].filter(Boolean).join("  ");
}

const program = new Command()
  .name("npm run keys --")
  .description("API keys: create, list, rotate, revoke. Keys are stored as SHA-256 hashes only.")
  .addOption(
    new Option(
      "--data-dir <dir>",
      "the data folder of a running `npm start -- --data-dir <dir>`: use its DynamoDB Local and tables",
    )
      .argParser(fromCaller)
      .conflicts(["endpoint", "region"]),
  )
  .addOption(new Option("--endpoint <url>", "DynamoDB endpoint (DynamoDB Local); AWS when unset"))
  .addOption(new Option("--region <region>", "AWS region (default: the SDK's default chain)"))
  .addOption(new Option("--table <name>", "the state table (needed unless --data-dir)"))
  .addOption(
    new Option("--audit-table <name>", "the audit table (default: the state table's name, state → audit)"),
  )
  .addOption(new Option("--actor <who>", "recorded as the actor of the change (default: cli:<user>)"))
  .option("--json", "print JSON")
  .showHelpAfterError();

const global = () => program.opts<Connection & { json?: boolean }>();

program
  .command("create")
  .description("create a key for a tenant and role; prints the key once")
  .requiredOption("--tenant <tenant>", "tenant id", tenant)
  .addOption(new Option("--role <role>", "role").choices(ROLES).makeOptionMandatory())
  .option("--agency <id>", "an outside agency's agent: sees only the cases placed with that agency")
  .action(async (options: { tenant: string; role: Role; agency?: string }) => {
    if (options.agency !== undefined && options.role !== "agent")
      program.error("--agency is for --role agent only");
    const { store, admin } = connect(global());
    const agency = options.agency !== undefined ? { agencyId: options.agency } : {};
    const { key, record } = await store.create(
      { tenantId: options.tenant, role: options.role, ...agency },
      admin,
    );
    if (global().json) console.log(JSON.stringify({ key, ...record }));
    else {
      console.log(`key id  ${record.keyId}  (${record.tenantId}/${record.role})`);
      console.log(`api key ${key}`);
      console.error("Store the key now: it is not shown again and cannot be recovered.");
    }
  });

program
  .command("list")
  .description("list a tenant's keys (ids, roles, dates, revocations; never a key)")
  .requiredOption("--tenant <tenant>", "tenant id", tenant)
  .action(async (options: { tenant: string }) => {
    const { store } = connect(global());
    const records = await store.list(options.tenant);
    if (global().json) console.log(JSON.stringify(records));
    else if (records.length === 0) console.log(`no keys for tenant ${options.tenant}`);
    else for (const record of records) console.log(show(record));
  });

program
  .command("rotate")
  .description(
    "replace a key by a new one of the same tenant and role, revoking the old one; prints the new key",
  )
  .requiredOption("--key-id <id>", "the key's id (see list)", keyId)
  .action(async (options: { keyId: string }) => {
    const { store, admin } = connect(global());
    const { key, record, replaced } = await store.rotate(options.keyId, admin);
    if (global().json) console.log(JSON.stringify({ key, ...record, replaced }));
    else {
      console.log(`revoked ${replaced.keyId}`);
      console.log(`key id  ${record.keyId}  (${record.tenantId}/${record.role})`);
      console.log(`api key ${key}`);
      console.error("Store the key now: it is not shown again and cannot be recovered.");
    }
  });

program
  .command("revoke")
  .description("revoke a key (running API containers stop honouring it within their one-minute cache)")
  .requiredOption("--key-id <id>", "the key's id (see list)", keyId)
  .action(async (options: { keyId: string }) => {
    const { store, admin } = connect(global());
    const before = await store.byId(options.keyId);
    const record = await store.revokeById(options.keyId, admin);
    if (!record) throw new KeyAdminError(`no key ${options.keyId}`);
    if (global().json) console.log(JSON.stringify(record));
    else console.log(before?.revoked ? `${record.keyId} was already revoked` : `revoked ${record.keyId}`);
  });

program
  .command("verify-audit")
  .description("verify a tenant's key-change audit chain")
  .requiredOption("--tenant <tenant>", "tenant id", tenant)
  .action(async (options: { tenant: string }) => {
    const { audit } = connect(global());
    const verdict = await audit.verify(options.tenant);
    console.log(JSON.stringify(verdict));
    if (!verdict.valid) process.exitCode = 1;
  });

await runCli(program, {
  name: "keys",
  exitCodeOf: (error) => (error instanceof KeyAdminError ? 1 : EXIT_USAGE),
});
