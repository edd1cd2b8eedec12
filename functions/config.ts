import * as z from "zod";
import { DEFAULT_APPLY_PAGE_SIZE, DEFAULT_APPLY_RATE } from "./domain/policy-application.ts";

/** Lambda configuration, read and validated once at cold start so a bad deploy fails fast. */
const schema = z.object({
  STATE_TABLE: z.string().min(1),
  AUDIT_TABLE: z.string().min(1),
  STATE_MACHINE_ARN: z.string().startsWith("arn:").optional(),
  EMAIL_FROM: z.string().email().optional(),
  SMS_SENDER_ID: z.string().max(11).optional(),
  /** SES configuration set whose event destination (SNS) carries delivery results to the delivery function. */
  SES_CONFIGURATION_SET: z.string().min(1).optional(),
  /**
   * The export bucket: legal hand-off packages go under `handoffs/`, compliance audit exports under `exports/`.
   * Optional: where unset, GET /v1/audit/export answers 422 EXPORT_NOT_CONFIGURED and every other route works.
   */
  EXPORT_BUCKET: z.string().min(3).optional(),
  /** Where a published hand-off is announced (ids and object keys only). */
  HANDOFF_TOPIC_ARN: z.string().startsWith("arn:").optional(),
  /** Lender webhooks: the delivery queue (announce, redeliver and retries enqueue lines on it). */
  WEBHOOK_QUEUE_URL: z.url().optional(),
  /** The KMS key that seals endpoint secrets (the API seals, the sender opens). */
  WEBHOOK_SECRET_KEY_ARN: z.string().startsWith("arn:").optional(),
  /** Lets webhooks reach loopback addresses: the embedded stack only, never set on AWS. */
  WEBHOOK_ALLOW_LOOPBACK: z.enum(["true", "false"]).optional(),
  /** Policy applications (`applyTo: "in_flight"`): the queue their pages go by (the API queues the first). */
  POLICY_APPLY_QUEUE_URL: z.url().optional(),
  /**
   * Cases a policy application re-plans per second (a StopExecution and a StartExecution each). At most two jobs
   * work at once, so 100 keeps them within the StopExecution refill of 200 a second per account and Region.
   */
  POLICY_APPLY_RATE: z.coerce.number().positive().max(100).default(DEFAULT_APPLY_RATE),
  /** Open cases a policy application reads per page (one queue message each). */
  POLICY_APPLY_PAGE_SIZE: z.coerce.number().int().min(1).max(1000).default(DEFAULT_APPLY_PAGE_SIZE),
  /** Simulations through the API: the queue a job's message goes by (the simulation function runs the job). */
  SIMULATION_QUEUE_URL: z.url().optional(),
  /**
   * Where borrowers' personal links point (`<base>/p/<token>`): the portal's public origin. Unset: messages carry
   * no link (the built-in texts leave that line out).
   */
  PORTAL_BASE_URL: z.url().optional(),
  /** The portal's cookies only over HTTPS; "false" only where the page is served over plain HTTP on loopback. */
  PORTAL_SECURE_COOKIES: z
    .enum(["true", "false"])
    .default("true")
    .transform((value) => value === "true"),
  // The embedded stack's delivery edge, set only there (never deployed): messages go to its outbox instead of
  // SES/SNS, hand-off packages and audit exports to folders of its own instead of S3.
  LOCAL_OUTBOX_URL: z.url().optional(),
  /** The embedded stack's run: one process runs every step there, so a claim of another run is a dead one's. */
  LOCAL_INSTANCE_ID: z.string().min(1).optional(),
  LOCAL_HANDOFF_DIR: z.string().min(1).optional(),
  LOCAL_EXPORT_DIR: z.string().min(1).optional(),
  LOCAL_EXPORT_BASE_URL: z.url().optional(),
  /**
   * Days an execution may wait for a case's next action; a case due later is parked with no execution and the
   * scheduled waker starts one as it comes within them. 0 keeps every case in an execution. Below the 350 days
   * an execution may wait before it continues in a new one.
   */
  WORKFLOW_HORIZON_DAYS: z.coerce.number().int().min(0).max(300).default(30),
  /** The embedded stack's stand-in for the webhook secrets key. */
  LOCAL_WEBHOOK_SECRET_KEY: z.string().min(40).optional(),
});

export type LambdaConfig = z.infer<typeof schema>;

export function readConfig(env: NodeJS.ProcessEnv = process.env): LambdaConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new Error(`invalid configuration: ${parsed.error.issues.map((i) => i.path.join(".")).join(", ")}`);
  }
  return parsed.data;
}
