import * as z from "zod";
import { CHANNELS, type Channel } from "../domain/channels.ts";
import { MAX_SEND_RATE } from "../domain/send-pacing.ts";
import { MAX_PAYMENT_URL_TEMPLATE_LENGTH } from "../domain/tenant-settings.ts";

/** Request schemas of the tenant settings route. */

const sendRate = z
  .number()
  .int("must be a whole number of messages per second")
  .min(1, "must be at least 1 message per second (leave the channel out to send unpaced)")
  .max(MAX_SEND_RATE, `must be at most ${MAX_SEND_RATE} messages per second`);

/** One optional rate per channel the product sends on (channels are data: functions/domain/channels.ts). */
const sendRatesSchema = z.strictObject(
  Object.fromEntries(CHANNELS.map((channel) => [channel, sendRate.optional()])) as Record<
    Channel,
    z.ZodOptional<typeof sendRate>
  >,
);

/**
 * Each field left out keeps its stored value. What the URL must look like is checked by the use case
 * (functions/domain/tenant-settings.ts): whether loopback is allowed depends on the deployment.
 */
export const settingsUpdateSchema = z.strictObject({
  sendRates: sendRatesSchema.optional(),
  paymentUrlTemplate: z
    .string()
    .max(MAX_PAYMENT_URL_TEMPLATE_LENGTH, `must be at most ${MAX_PAYMENT_URL_TEMPLATE_LENGTH} characters`)
    .nullable()
    .optional(),
});
export type SettingsUpdate = z.infer<typeof settingsUpdateSchema>;
