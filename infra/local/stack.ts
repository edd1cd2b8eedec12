import { randomBytes, randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DynamoApiKeyStore } from "../../functions/adapters/dynamo/api-key-store.ts";
import { DynamoAuditReader } from "../../functions/adapters/dynamo/audit-reader.ts";
import { DynamoBorrowerContactStore } from "../../functions/adapters/dynamo/borrower-contacts.ts";
import { DynamoCaseRepository } from "../../functions/adapters/dynamo/case-repository.ts";
import { makeDocumentClient } from "../../functions/adapters/dynamo/client.ts";
import { DynamoHandoffStore } from "../../functions/adapters/dynamo/handoff-store.ts";
import { DynamoIdempotencyStore } from "../../functions/adapters/dynamo/idempotency-store.ts";
import { DynamoPolicyRepository } from "../../functions/adapters/dynamo/policy-repository.ts";
import { createTables } from "../../functions/adapters/dynamo/tables.ts";
import { FileHandoffPublisher } from "../../functions/adapters/handoff-publishers.ts";
import { makeApiHandler } from "../../functions/api/app.ts";
import { ROLES, type Role, type WorkflowControl } from "../../functions/ports.ts";
import { makeStepHandlers } from "../../functions/steps/step-handlers.ts";
import { executionInput, executionName } from "../../functions/usecases/execution.ts";
import type { ExecutionState } from "../../functions/usecases/workflow-steps.ts";
import { reportingDeliveries } from "./delivery-reports.ts";
import { startDynamoDbLocal } from "./dynamodb-local.ts";
import { LocalWorkflowEngine, loadDefinition } from "./engine.ts";
import { LocalExportSink } from "./export-sink.ts";
import { lambdaContext } from "./lambda-context.ts";
import { Outbox } from "./outbox.ts";
import { resumeOpenCases } from "./recovery.ts";
import { createLocalServer, listen } from "./server.ts";
import { VirtualClock } from "./virtual-clock.ts";

export const DEMO_TENANT = "demo";
export const ASL_PATH = fileURLToPath(new URL("../../workflows/dunning.asl.json", import.meta.url));

/** The Lambda ARNs the ASL's placeholders resolve to on one machine; each maps to an in-process handler. */
const LOCAL_ARN = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:dunning-${name}`;
export const LOCAL_SUBSTITUTIONS = {
  PlanFunctionArn: LOCAL_ARN("plan"),
  SendStepFunctionArn: LOCAL_ARN("send"),
  HandOffFunctionArn: LOCAL_ARN("hand-off"),
};

export interface LocalStackOptions {
  clockStart?: Date;
  frozen?: boolean;
  port?: number;
  /** Keep DynamoDB Local's data in this folder; in memory when unset. */
  dataDir?: string;
  /** Use an already running DynamoDB endpoint instead of starting one. */
  dynamoEndpoint?: string;
  /** Prefix for table names, so several stacks can share one DynamoDB Local. */
  tablePrefix?: string;
  /** API keys for the demo tenant; generated where missing. */
  keys?: Partial<Record<Role, string>>;
  /** Where legal hand-off packages are written; default `<dataDir or the OS temp dir>/handoffs`. */
  handoffDir?: string;
}

export interface LocalStack {
  url: string;
  clock: VirtualClock;
  engine: LocalWorkflowEngine;
  outbox: Outbox;
  keys: Record<Role, string>;
  /** The folder legal hand-off packages are published to (`<tenant>/<loanId>.json` and `.html`). */
  handoffDir: string;
  /** Cases whose workflow was resumed from kept data at start. */
  resumed: number;
  stop(): Promise<void>;
}

/** Environment variables the local stack reads its demo keys from. */
export const KEY_ENV: Record<Role, string> = {
  lender: "DUNNING_LENDER_KEY",
  ops: "DUNNING_OPS_KEY",
  compliance: "DUNNING_COMPLIANCE_KEY",
  legal: "DUNNING_LEGAL_KEY",
};

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  };
  try {
    let endpoint = options.dynamoEndpoint;
    if (!endpoint) {
      const dynamo = await startDynamoDbLocal(options.dataDir ? { dbPath: options.dataDir } : {});
      cleanups.push(() => dynamo.stop());
      endpoint = dynamo.endpoint;
    }
    const client = makeDocumentClient({ endpoint });
    const tables = {
      stateTable: `${options.tablePrefix ?? ""}dunning-state`,
      auditTable: `${options.tablePrefix ?? ""}dunning-audit`,
    };
    await createTables(client, tables);

    const clock = new VirtualClock(options.clockStart ?? new Date(), options.frozen ?? false);
    const cases = new DynamoCaseRepository(client, tables);
    const policies = new DynamoPolicyRepository(client, tables);
    const outbox = new Outbox(clock);
    // The steps start executions too (a long plan continues in a new one), so the engine is bound late.
    let engineRef: LocalWorkflowEngine | undefined;
    const workflow: WorkflowControl = {
      start: async (ref) => engineRef?.start(executionName(ref), executionInput(ref, clock.now())),
      stop: async (ref) => engineRef?.stop(executionName(ref)),
    };
    // One process runs every step here: a claim held by an earlier process was cut off by its end.
    const runtime = { instanceId: randomUUID(), exclusive: true, realNow: Date.now };
    const handoffDir = options.handoffDir ?? join(options.dataDir ?? tmpdir(), "handoffs");
    const handoffs = {
      store: new DynamoHandoffStore(client, tables),
      publisher: new FileHandoffPublisher(handoffDir),
    };
    const borrowers = new DynamoBorrowerContactStore(client, tables);
    const steps = makeStepHandlers({
      cases,
      policies,
      sender: outbox,
      clock,
      workflow,
      runtime,
      handoffs,
      borrowers,
    });
    const task =
      (
        name: string,
        handler: (input: ExecutionState, context: ReturnType<typeof lambdaContext>) => Promise<unknown>,
      ) =>
      (input: unknown) =>
        handler(input as ExecutionState, lambdaContext(name));
    const engine = new LocalWorkflowEngine(
      loadDefinition(ASL_PATH, LOCAL_SUBSTITUTIONS),
      {
        [LOCAL_SUBSTITUTIONS.PlanFunctionArn]: task("dunning-plan", steps.plan),
        // The outbox reports each message delivered once the send step has recorded it (delivery-reports.ts).
        [LOCAL_SUBSTITUTIONS.SendStepFunctionArn]: task(
          "dunning-send",
          reportingDeliveries(steps.send, { outbox, cases, clock }),
        ),
        [LOCAL_SUBSTITUTIONS.HandOffFunctionArn]: task("dunning-hand-off", steps.handOff),
      },
      clock,
    );
    engineRef = engine;
    cleanups.push(() => engine.close());

    const resumed = await resumeOpenCases(client, tables.stateTable, workflow);

    const keyStore = new DynamoApiKeyStore(client, tables);
    const keys = {} as Record<Role, string>;
    for (const role of ROLES) {
      keys[role] = options.keys?.[role] ?? `dk_${role}_${randomBytes(18).toString("base64url")}`;
      await keyStore.put(keys[role], { tenantId: DEMO_TENANT, role });
    }

    // Audit exports are written here and served by GET /local/exports/<file>; the URL is known once listening.
    const exportsDir = join(options.dataDir ?? tmpdir(), "exports");
    let baseUrl = "";
    const exportSink = new LocalExportSink(exportsDir, () => baseUrl);
    const api = makeApiHandler({
      cases,
      policies,
      workflow,
      clock,
      keys: keyStore,
      idempotency: new DynamoIdempotencyStore(client, tables),
      exports: { reader: new DynamoAuditReader(client, tables), sink: exportSink },
      handoffs,
    });
    const server = createLocalServer({ api, clock, engine, outbox, exportsDir });
    const url = await listen(server, options.port ?? 3000);
    baseUrl = url;
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    return { url, clock, engine, outbox, keys, handoffDir, resumed, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
