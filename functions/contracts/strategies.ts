import { DateTime } from "luxon";
import * as z from "zod";

/**
 * `PUT /v1/strategies/{id}` and `POST /v1/strategies/{id}:promote`. The shape is checked here; what the rules mean
 * (known policies, percents, conditions, unreachable rules) by the domain's validateStrategy, with the same paths.
 */
export const strategyId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "lowercase letters, digits, _ and -");

const arm = z.strictObject({ arm: z.string().max(40), policyId: z.string().max(64), percent: z.number() });

export const strategyBodySchema = z.strictObject({
  description: z.string().max(500).optional(),
  /** true: this strategy decides the tenant's new loans; false: it no longer does (if it did). */
  active: z.boolean().optional(),
  comment: z.string().max(500).optional(),
  rules: z
    .array(
      z.strictObject({
        segment: z.string().max(40),
        // Conditions are checked field by field by the domain, which names unknown ones.
        when: z.record(z.string(), z.unknown()).optional(),
        policyId: z.string().max(64).optional(),
        split: z.array(arm).optional(),
      }),
    )
    .max(50),
});

export const promoteBodySchema = z.strictObject({
  segment: z.string().max(40),
  arm: z.string().max(40),
  comment: z.string().max(500).optional(),
});

export const strategyVersionQuery = z.strictObject({ version: z.coerce.number().int().min(1).optional() });

/** A date (its first instant, UTC) or an instant, as the instant the report compares assignments with. */
const reportBound = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?Z)?$/, "a date (YYYY-MM-DD) or a UTC instant")
  .refine((value) => DateTime.fromISO(value, { zone: "utc" }).isValid, "not a real date")
  .transform((value) => new Date(value).toISOString().replace(/\.\d{3}Z$/, "Z"));

export const strategyReportQuery = z
  .strictObject({ strategy: strategyId, from: reportBound.optional(), to: reportBound.optional() })
  .refine((q) => !q.from || !q.to || q.from < q.to, { message: "must be after from", path: ["to"] });
