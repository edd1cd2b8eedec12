import * as z from "zod";
import { LENDER_EVENT_TYPES } from "../domain/webhooks/types.ts";
import { loanId } from "./requests.ts";

/** Request schemas of the webhook routes. */

export const webhookId = z.string().regex(/^we_[0-9a-f]{32}$/, "a webhook id such as we_0f3c…");
export const deliveryId = z
  .string()
  .regex(/^wd_[1-9][0-9]{0,9}_[A-Za-z0-9_-]{1,200}$/, "a delivery id such as wd_7_…");

export const createWebhookSchema = z.strictObject({
  url: z.string().min(1).max(2048),
  events: z
    .array(z.union([z.literal("*"), z.enum(LENDER_EVENT_TYPES)]))
    .min(1)
    .max(LENDER_EVENT_TYPES.length)
    .refine((events) => !events.includes("*") || events.length === 1, '"*" stands alone: every event')
    .refine((events) => new Set(events).size === events.length, "lists each event once"),
  description: z.string().max(200).optional(),
});
export type CreateWebhookRequest = z.infer<typeof createWebhookSchema>;

export const deliveriesQuerySchema = z.strictObject({
  loanId: loanId.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: deliveryId.optional(),
});
