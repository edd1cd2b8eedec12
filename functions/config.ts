import { z } from "zod";

/** Lambda configuration, read and validated once at cold start so a bad deploy fails fast. */
const schema = z.object({
  STATE_TABLE: z.string().min(1),
  AUDIT_TABLE: z.string().min(1),
  STATE_MACHINE_ARN: z.string().startsWith("arn:").optional(),
  EMAIL_FROM: z.string().email().optional(),
  SMS_SENDER_ID: z.string().max(11).optional(),
});

export type LambdaConfig = z.infer<typeof schema>;

export function readConfig(env: NodeJS.ProcessEnv = process.env): LambdaConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new Error(`invalid configuration: ${parsed.error.issues.map((i) => i.path.join(".")).join(", ")}`);
  }
  return parsed.data;
}
