import * as z from "zod";
import { CHANNELS, type Channel } from "../domain/channels.ts";
import { MAX_SEND_RATE } from "../domain/send-pacing.ts";

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

export const settingsUpdateSchema = z.strictObject({ sendRates: sendRatesSchema });
export type SettingsUpdate = z.infer<typeof settingsUpdateSchema>;
