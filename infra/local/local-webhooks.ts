import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { CLIENT_TIMEOUTS } from "../../functions/adapters/client-config.ts";
import type { LambdaName } from "../lambda-bundles.ts";
import { AuditStreamPoller } from "./audit-stream.ts";
import { WEBHOOK_KEY_FILE, writePrivateFile } from "./data-dir.ts";
import type { LocalWorkflowEngine } from "./engine.ts";
import type { LocalLambda } from "./lambda-runtime.ts";
import type { LocalQueue } from "./local-queue.ts";
import { WebhookDispatch } from "./webhook-dispatch.ts";

export type WebhookFunction = "webhookAnnounce" | "webhookDeliver";
/** The functions the webhook pipeline runs; their own writes never announce anything. */
const WEBHOOK_FUNCTIONS: ReadonlySet<LambdaName> = new Set<WebhookFunction>([
  "webhookAnnounce",
  "webhookDeliver",
]);
/** DynamoDB Local keeps tables per access key and region: the same as every other client of the stack. */
const LOCAL_STREAMS = {
  region: "us-east-1",
  credentials: { accessKeyId: "local", secretAccessKey: "local" },
};
const KEY_BYTES = 32;

/**
 * What the API and the webhook functions read to run webhooks on the embedded stack: the delivery queue, the key
 * that seals endpoint secrets in place of KMS, and endpoints on 127.0.0.1 allowed (lenders' test receivers).
 */
export async function webhookEnvironment(
  queueUrl: string,
  dataDir?: string,
): Promise<Record<string, string>> {
  return {
    WEBHOOK_QUEUE_URL: queueUrl,
    LOCAL_WEBHOOK_SECRET_KEY: await localSecretKey(dataDir),
    WEBHOOK_ALLOW_LOOPBACK: "true",
  };
}

/**
 * The key sealing endpoint secrets. With a data folder it is made once and kept there (mode 0600), so a restart
 * still opens the secrets stored in the tables; in memory every run has a fresh one, as its tables are new.
 */
async function localSecretKey(dataDir: string | undefined): Promise<string> {
  const fresh = () => randomBytes(KEY_BYTES).toString("base64");
  if (!dataDir) return fresh();
  const file = join(dataDir, WEBHOOK_KEY_FILE);
  let kept: string | undefined;
  try {
    kept = (await readFile(file, "utf8")).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  if (kept === undefined) {
    const key = fresh();
    await writePrivateFile(file, `${key}\n`);
    return key;
  }
  // Replacing a damaged key would lock every stored secret away for good: stop and say so instead.
  if (Buffer.from(kept, "base64").length !== KEY_BYTES) {
    throw new Error(
      `${file} does not hold a base64 key of ${KEY_BYTES} bytes; webhook secrets cannot be opened`,
    );
  }
  return kept;
}

/**
 * Creates the webhook functions and runs the pipeline on the engine's virtual clock: the audit table's stream into
 * the announce function, the delivery queue into the deliver function. The stream is read after any other
 * function has run. Returns the environment the API needs for its webhook routes.
 */
export async function startWebhooks(
  engine: LocalWorkflowEngine,
  deps: {
    lambdas: Partial<Record<LambdaName, LocalLambda>>;
    lambda: (name: LambdaName, environment: Record<string, string>) => LocalLambda;
    queue: LocalQueue;
    edge: { queueUrl(queue: LocalQueue): string };
    store: { client: DynamoDBDocumentClient; endpoint: string; tables: { auditTable: string } };
    options: { dataDir?: string };
  },
): Promise<{ dispatch: WebhookDispatch; env: Record<string, string> }> {
  const { lambdas, queue, store } = deps;
  const env = await webhookEnvironment(deps.edge.queueUrl(queue), deps.options.dataDir);
  const announce = deps.lambda("webhookAnnounce", env);
  const deliver = deps.lambda("webhookDeliver", env);
  lambdas.webhookAnnounce = announce;
  lambdas.webhookDeliver = deliver;
  const stream = new AuditStreamPoller({
    client: store.client,
    streams: new DynamoDBStreamsClient({ ...CLIENT_TIMEOUTS, endpoint: store.endpoint, ...LOCAL_STREAMS }),
    tableName: store.tables.auditTable,
  });
  const trailWrites = () => {
    let ended = 0;
    for (const fn of Object.values(lambdas)) if (fn && !WEBHOOK_FUNCTIONS.has(fn.name)) ended += fn.completed;
    return ended;
  };
  const dispatch = new WebhookDispatch({ stream, queue, announce, deliver, trailWrites });
  engine.schedule(dispatch);
  return { dispatch, env };
}
