import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { LambdaName } from "../lambda-bundles.ts";
import { localAuditStream, trailWriteCount } from "./audit-stream.ts";
import { WEBHOOK_KEY_FILE, writePrivateFile } from "./data-dir.ts";
import type { LocalWorkflowEngine } from "./engine.ts";
import type { LocalLambda } from "./lambda-runtime.ts";
import type { LocalQueue } from "./local-queue.ts";
import { WebhookDispatch } from "./webhook-dispatch.ts";

export type WebhookFunction = "webhookAnnounce" | "webhookDeliver";
/**
 * The functions whose writes never announce anything: the webhook pipeline's own, and the trail metrics (which
 * write only counters).
 */
const WEBHOOK_FUNCTIONS: ReadonlySet<LambdaName> = new Set<LambdaName>([
  "webhookAnnounce",
  "webhookDeliver",
  "trailMetrics",
]);
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
  const stream = localAuditStream(store);
  const trailWrites = trailWriteCount(lambdas, WEBHOOK_FUNCTIONS);
  const dispatch = new WebhookDispatch({ stream, queue, announce, deliver, trailWrites });
  engine.schedule(dispatch);
  return { dispatch, env };
}
