import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DescribeTableCommand } from "@aws-sdk/client-dynamodb";
import { SFNClient } from "@aws-sdk/client-sfn";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import { DynamoApiKeyStore } from "../../functions/adapters/dynamo/api-key-store.ts";
import { DynamoCaseRepository } from "../../functions/adapters/dynamo/case-repository.ts";
import { makeDocumentClient } from "../../functions/adapters/dynamo/client.ts";
import { createTables } from "../../functions/adapters/dynamo/tables.ts";
import { DynamoWorkflowWakes } from "../../functions/adapters/dynamo/wake-index.ts";
import { StepFunctionsWorkflow } from "../../functions/adapters/step-functions.ts";
import type { Role } from "../../functions/ports.ts";
import type { ExecutionState } from "../../functions/usecases/workflow-steps.ts";
import type { LambdaName } from "../lambda-bundles.ts";
import { startAwsEdge } from "./aws-edge.ts";
import { KEYS_FILE, type RunningStack, STACK_FILE, writePrivateFile } from "./data-dir.ts";
import { reportingDeliveries, reportPending } from "./delivery-reports.ts";
import { demoKeys } from "./demo-keys.ts";
import { startDynamoDbLocal } from "./dynamodb-local.ts";
import { LocalWorkflowEngine, loadDefinition } from "./engine.ts";
import { LocalLambda } from "./lambda-runtime.ts";
import { type PolicyJobFunction, policyJobQueue, startPolicyJobs } from "./local-policy-jobs.ts";
import type { LocalQueue } from "./local-queue.ts";
import { type SimulationFunction, simulationQueue, startSimulations } from "./local-simulations.ts";
import { startWebhooks, type WebhookFunction } from "./local-webhooks.ts";
import { OUTBOX_JOURNAL, Outbox } from "./outbox.ts";
import { horizonDaysOf, scheduleReconciler } from "./reconciler-schedule.ts";
import { resumeOpenCases } from "./recovery.ts";
import { closeServer, createLocalServer, type LocalServerDeps, listen } from "./server.ts";
import { startTrailMetrics } from "./trail-metrics.ts";
import { VirtualClock } from "./virtual-clock.ts";
import { type WebhookDispatch, webhookQueue } from "./webhook-dispatch.ts";

export { DEMO_TENANT } from "./demo-keys.ts";
export const ASL_PATH = fileURLToPath(new URL("../../workflows/dunning.asl.json", import.meta.url));

/** The Lambda ARNs the ASL's placeholders resolve to on one machine; each maps to an in-process handler. */
const LOCAL_ARN = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:dunning-${name}`;
export const LOCAL_SUBSTITUTIONS = {
  PlanFunctionArn: LOCAL_ARN("plan"),
  SendStepFunctionArn: LOCAL_ARN("send"),
  HandOffFunctionArn: LOCAL_ARN("hand-off"),
  RecordFailureFunctionArn: LOCAL_ARN("record-failure"),
};
const LOCAL_REGION = "us-east-1";
const LOCAL_STATE_MACHINE_ARN = `arn:aws:states:${LOCAL_REGION}:000000000000:stateMachine:dunning-workflow`;
/**
 * DynamoDB Local answers a burst of a thousand steps far slower than DynamoDB: one long attempt, still inside the
 * API function's 25 s — for the functions' clients and the stack's own.
 */
const LOCAL_SDK_TIMEOUTS = { connectionTimeout: 10_000, requestTimeout: 20_000, maxAttempts: 1 };
/** DynamoDB Local keeps tables per access key and region: the sandboxes use the same as the stack itself. */
const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };

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
  /** Called if the DynamoDB Local this stack started ends on its own (default: write why to stderr). */
  onStoreLost?: (reason: string) => void;
  /** The functions' log level (POWERTOOLS_LOG_LEVEL); default this process's, else WARN. */
  logLevel?: string;
  /** API keys for the demo tenant; generated where missing. */
  keys?: Partial<Record<Role, string>>;
  /** Where legal hand-off packages are written; default `<dataDir or the OS temp dir>/handoffs`. */
  handoffDir?: string;
  /** Days an execution may wait before a case parks (WORKFLOW_HORIZON_DAYS); default as on AWS, 30. */
  horizonDays?: number;
}

/** The functions of the product the stack runs. */
type StackFunction =
  | "plan"
  | "send"
  | "handOff"
  | "recordFailure"
  | "reconciler"
  | "api"
  | "portal"
  | "console"
  | SideFunction;
type SideFunction = WebhookFunction | PolicyJobFunction | SimulationFunction | "trailMetrics";

export interface LocalStack {
  url: string;
  /** The DynamoDB endpoint the stack uses. */
  dynamoEndpoint: string;
  clock: VirtualClock;
  engine: LocalWorkflowEngine;
  /** The functions the workflow, the API and the webhooks invoke, each its deployed bundle in a sandbox. */
  lambdas: Record<StackFunction, LocalLambda>;
  /** Lender webhooks: the delivery queue (its dead letters too) and what feeds the webhook functions. */
  webhooks: { queue: LocalQueue; dispatch: WebhookDispatch };
  outbox: Outbox;
  keys: Record<Role, string>;
  /** With a data folder: the file (mode 0600) keeping the keys this stack minted, reused at every start. */
  keysFile?: string;
  /**
   * Whether the DynamoDB Local this stack started listens on 127.0.0.1 only (false: on every interface, see
   * `dynamoWarning`); unset when the stack uses a `dynamoEndpoint` it was given.
   */
  dynamoLoopbackOnly?: boolean;
  dynamoWarning?: string;
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
  agent: "DUNNING_AGENT_KEY",
};

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  };
  try {
    const store = await startStore(options, cleanups);
    const { client, tables } = store;
    const clock = new VirtualClock(options.clockStart ?? new Date(), options.frozen ?? false);
    const cases = new DynamoCaseRepository(client, tables);
    const folders = await stackFolders(options, cleanups);
    // Kept with the data: what the outbox took before a crash is still reported after the restart.
    const outbox = new Outbox(clock, options.dataDir ? join(options.dataDir, OUTBOX_JOURNAL) : undefined);

    const lambdas = {} as LocalStack["lambdas"];
    const engine = workflowEngine(lambdas, { outbox, cases, clock });
    cleanups.push(() => engine.close());
    const [queue, policyQueue, simQueue] = [webhookQueue(), policyJobQueue(), simulationQueue()];
    const edge = await startAwsEdge(engine, outbox, { queues: [queue, policyQueue, simQueue], clock });
    cleanups.push(() => edge.close());
    const lambda = functionFactory({ clock, store, edge, handoffDir: folders.handoffDir, options });
    // The server listens first (the functions are told its address); requests wait until every function exists.
    const ready = deferred();
    const storeAnswers = () => answers(client, tables.stateTable);
    const serverParts = { lambdas, clock, engine, outbox, exportsDir: folders.exportsDir, storeAnswers };
    const url = await serveStack({ ...serverParts, ready: ready.promise }, options.port ?? 3000, cleanups);
    workflowFunctions(lambdas, lambda, edge.outboxUrl, url);
    // The borrowers' page, served at /p/ over plain HTTP on loopback.
    lambdas.portal = lambda("portal", { PORTAL_SECURE_COOKIES: "false" });
    lambdas.console = lambda("console");
    lambdas.reconciler = lambda("reconciler");
    const wakes = new DynamoWorkflowWakes(client, tables);
    scheduleReconciler(engine, wakes, lambdas.reconciler, horizonDaysOf(options));
    const hooks = await startWebhooks(engine, { lambdas, lambda, queue, edge, store, options });
    startTrailMetrics(engine, { lambdas, lambda, store });
    const jobs = await startPolicyJobs(engine, { lambdas, lambda, queue: policyQueue, edge, store, clock });
    cleanups.push(() => Promise.all(Object.values(lambdas).map((fn) => fn.close())));
    const sims = await startSimulations({ lambdas, lambda, queue: simQueue, edge, store, clock });
    cleanups.push(sims.stop);

    // Crash recovery starts executions through the production Step Functions adapter, as the API does.
    const workflow = new StepFunctionsWorkflow(
      new SFNClient({
        endpoint: edge.stepFunctionsUrl,
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
      }),
      LOCAL_STATE_MACHINE_ARN,
      clock,
    );
    const resumed = await resumeOpenCases(client, tables.stateTable, workflow);
    await reportPending({ outbox, cases, clock });
    const keys = await demoKeys(new DynamoApiKeyStore(client, tables, { cacheTtlMs: 0 }), options);

    const apiEnv = { ...hooks.env, ...jobs.env, ...sims.env };
    lambdas.api = lambda("api", {
      LOCAL_EXPORT_DIR: folders.exportsDir,
      LOCAL_EXPORT_BASE_URL: url,
      ...apiEnv,
    });
    if (options.dataDir) await announceRunning(options.dataDir, { url, store }, cleanups);
    ready.resolve();
    return {
      url,
      ...storeFacts(store, options),
      clock,
      engine,
      lambdas,
      webhooks: { queue, dispatch: hooks.dispatch },
      outbox,
      keys,
      handoffDir: folders.handoffDir,
      resumed,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

type Cleanups = (() => Promise<unknown>)[];

/** The stack's HTTP server, listening: the API at /v1/, the borrowers' page at /p/, the local routes. */
async function serveStack(
  deps: Omit<LocalServerDeps, "api" | "portal" | "console"> & { lambdas: LocalStack["lambdas"] },
  port: number,
  cleanups: Cleanups,
): Promise<string> {
  const { lambdas, ...rest } = deps;
  const invoke = (name: "api" | "portal" | "console") => (event: APIGatewayProxyEvent) =>
    lambdas[name].invoke(event) as Promise<APIGatewayProxyResult>;
  const server = createLocalServer({
    ...rest,
    api: invoke("api"),
    portal: invoke("portal"),
    console: invoke("console"),
  });
  const url = await listen(server, port);
  cleanups.push(() => closeServer(server));
  return url;
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}

/** The functions behind the workflow's Tasks, each its deployed bundle. */
function workflowFunctions(
  lambdas: LocalStack["lambdas"],
  lambda: (name: LambdaName, environment?: Record<string, string>) => LocalLambda,
  outboxUrl: string,
  portalBaseUrl: string,
): void {
  lambdas.plan = lambda("plan");
  lambdas.send = lambda("send", { LOCAL_OUTBOX_URL: outboxUrl, PORTAL_BASE_URL: portalBaseUrl });
  lambdas.handOff = lambda("handOff");
  lambdas.recordFailure = lambda("recordFailure");
}

/** The ASL on the local engine, each Task's resource one of the stack's functions. */
function workflowEngine(
  lambdas: LocalStack["lambdas"],
  deliveries: { outbox: Outbox; cases: DynamoCaseRepository; clock: VirtualClock },
): LocalWorkflowEngine {
  return new LocalWorkflowEngine(
    loadDefinition(ASL_PATH, LOCAL_SUBSTITUTIONS),
    {
      [LOCAL_SUBSTITUTIONS.PlanFunctionArn]: (input) => lambdas.plan.invoke(input),
      // The outbox reports each message delivered once the send step has recorded it (delivery-reports.ts).
      [LOCAL_SUBSTITUTIONS.SendStepFunctionArn]: reportingDeliveries(
        (input: ExecutionState) => lambdas.send.invoke(input),
        deliveries,
      ),
      [LOCAL_SUBSTITUTIONS.HandOffFunctionArn]: (input) => lambdas.handOff.invoke(input),
      [LOCAL_SUBSTITUTIONS.RecordFailureFunctionArn]: (input) => lambdas.recordFailure.invoke(input),
    },
    deliveries.clock,
  );
}

/** What the stack tells of its store and its kept keys. */
function storeFacts(store: Store, options: LocalStackOptions) {
  const keysFile = options.dataDir ? join(options.dataDir, KEYS_FILE) : undefined;
  return {
    dynamoEndpoint: store.endpoint,
    ...(store.loopbackOnly === undefined ? {} : { dynamoLoopbackOnly: store.loopbackOnly }),
    ...(store.warning ? { dynamoWarning: store.warning } : {}),
    ...(keysFile && existsSync(keysFile) ? { keysFile } : {}),
  };
}

interface Store {
  client: ReturnType<typeof makeDocumentClient>;
  endpoint: string;
  tables: { stateTable: string; auditTable: string };
  /** Set when the stack started its own DynamoDB Local (see LocalStack.dynamoLoopbackOnly). */
  loopbackOnly?: boolean;
  warning?: string;
}

/** The given DynamoDB endpoint, or a DynamoDB Local of the stack's own; the tables created if missing. */
async function startStore(options: LocalStackOptions, cleanups: Cleanups): Promise<Store> {
  let store: Omit<Store, "client" | "tables"> = { endpoint: options.dynamoEndpoint ?? "" };
  if (!options.dynamoEndpoint) {
    const dynamo = await startDynamoDbLocal(options.dataDir ? { dbPath: options.dataDir } : {});
    cleanups.push(() => dynamo.stop());
    store = {
      endpoint: dynamo.endpoint,
      loopbackOnly: dynamo.loopbackOnly,
      ...(dynamo.warning ? { warning: dynamo.warning } : {}),
    };
    void dynamo.lost.then(
      options.onStoreLost ??
        ((reason) => process.stderr.write(`local stack: the store is gone: ${reason}\n`)),
    );
  }
  // The stack's own writes (delivery reports, recovery) meet the same bursts as the sandboxes: their settings.
  const client = makeDocumentClient({ endpoint: store.endpoint, timeouts: LOCAL_SDK_TIMEOUTS });
  const tables = {
    stateTable: `${options.tablePrefix ?? ""}dunning-state`,
    auditTable: `${options.tablePrefix ?? ""}dunning-audit`,
  };
  await createTables(client, tables);
  return { ...store, client, tables };
}

/**
 * Everything the stack writes lives in its own folder: the data folder, or a private one removed at stop — two
 * stacks on one machine never see each other's packages, and no borrower data outlives an in-memory stack.
 */
async function stackFolders(options: LocalStackOptions, cleanups: Cleanups) {
  const folder = options.dataDir ?? (await mkdtemp(join(tmpdir(), "dunning-stack-")));
  if (!options.dataDir) cleanups.push(() => rm(folder, { recursive: true, force: true }));
  return { handoffDir: options.handoffDir ?? join(folder, "handoffs"), exportsDir: join(folder, "exports") };
}

/**
 * Makes each function's sandbox. The functions see the embedded stack through the same variables AWS sets:
 * tables, the state machine, and endpoints for DynamoDB, Step Functions and SQS; only the delivery edge (outbox,
 * folders) is the stack's own.
 */
function functionFactory(deps: {
  clock: VirtualClock;
  store: Store;
  edge: { stepFunctionsUrl: string; sqsUrl: string };
  handoffDir: string;
  options: LocalStackOptions;
}) {
  const { clock, store, edge, handoffDir, options } = deps;
  // Every step of this stack runs in this process: a claim held by an earlier run was cut off by its end.
  const instanceId = randomUUID();
  const environment = {
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: store.endpoint,
    AWS_ENDPOINT_URL_SFN: edge.stepFunctionsUrl,
    AWS_ENDPOINT_URL_SQS: edge.sqsUrl,
    STATE_TABLE: store.tables.stateTable,
    AUDIT_TABLE: store.tables.auditTable,
    STATE_MACHINE_ARN: LOCAL_STATE_MACHINE_ARN,
    LOCAL_HANDOFF_DIR: handoffDir,
    LOCAL_INSTANCE_ID: instanceId,
    POWERTOOLS_SERVICE_NAME: "loan-dunning",
    POWERTOOLS_LOG_LEVEL: options.logLevel ?? process.env.POWERTOOLS_LOG_LEVEL ?? "WARN",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    POWERTOOLS_METRICS_DISABLED: "true",
    DUNNING_SDK_CONNECTION_TIMEOUT_MS: String(LOCAL_SDK_TIMEOUTS.connectionTimeout),
    DUNNING_SDK_REQUEST_TIMEOUT_MS: String(LOCAL_SDK_TIMEOUTS.requestTimeout),
    DUNNING_SDK_MAX_ATTEMPTS: String(LOCAL_SDK_TIMEOUTS.maxAttempts),
    WORKFLOW_HORIZON_DAYS: String(horizonDaysOf(options)),
  };
  return (name: LambdaName, extra: Record<string, string> = {}) =>
    new LocalLambda(name, clock, { environment: { ...environment, ...extra } });
}

/** Whether the store answers now (GET /health), within a second and a half. */
function answers(client: Store["client"], table: string): Promise<boolean> {
  return client
    .send(new DescribeTableCommand({ TableName: table }), { abortSignal: AbortSignal.timeout(1_500) })
    .then(
      () => true,
      () => false,
    );
}

/** A running stack with a data folder says where its database is, for `npm run keys -- --data-dir <dir>`. */
async function announceRunning(dataDir: string, at: { url: string; store: Store }, cleanups: Cleanups) {
  const file = join(dataDir, STACK_FILE);
  const running: RunningStack = {
    pid: process.pid,
    url: at.url,
    dynamoEndpoint: at.store.endpoint,
    stateTable: at.store.tables.stateTable,
    auditTable: at.store.tables.auditTable,
  };
  await writePrivateFile(file, `${JSON.stringify(running, null, 2)}\n`);
  cleanups.push(() => rm(file, { force: true }));
}
