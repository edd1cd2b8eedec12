import * as z from "zod";
import { calendarDate, instant, loanId, positiveMoney } from "./requests.ts";

/** `/v1/work/{id}`: a work item's id. */
export const workItemId = z.string().regex(/^wi_[0-9a-f]{24}$/, "a work item id (wi_ and 24 hex digits)");

const staff = z.array(z.string().min(1).max(80)).min(1).max(10);
const note = z.string().max(500).optional();

/** `POST /v1/work/{id}/outcome`: what happened on the call or visit. */
export const outcomeSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("no_answer"), note }),
  z.strictObject({ type: z.literal("busy"), note }),
  z.strictObject({ type: z.literal("wrong_number"), note }),
  z.strictObject({ type: z.literal("right_party_contact"), note }),
  z.strictObject({ type: z.literal("promise"), amount: positiveMoney, date: calendarDate, note }),
  z.strictObject({ type: z.literal("refused"), note }),
  z.strictObject({ type: z.literal("dispute"), note }),
  z.strictObject({ type: z.literal("callback"), at: instant, note }),
  z.strictObject({ type: z.literal("visited"), staff, note }),
  z.strictObject({ type: z.literal("not_home"), staff, note }),
]);

export type Outcome = z.infer<typeof outcomeSchema>;

/** `POST /v1/placements`: cases for an outside agency. */
export const placementSchema = z.strictObject({
  agencyId: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "lowercase letters, digits, _ and -"),
  loanIds: z.array(loanId).min(1).max(500),
  pauseMessages: z.boolean().optional(),
});

export const placementId = z.string().regex(/^pl_[0-9a-f]{16}$/, "a placement id (pl_ and 16 hex digits)");
