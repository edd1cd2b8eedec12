import * as z from "zod";
import { decodeLoanTag } from "../adapters/senders/ses-sender.ts";
import type { DeliveryReport, DeliveryStatus } from "../usecases/delivery.ts";

/**
 * SES event publishing (configuration set → SNS): the SNS message body is one JSON notification. Only
 * the fields we keep are read; recipients, subjects and SMTP responses (personal data) are never kept.
 * Identity notifications name the type `notificationType` instead of `eventType`.
 */
const tagList = z.array(z.string()).optional();
const notification = z.object({
  eventType: z.string().optional(),
  notificationType: z.string().optional(),
  mail: z.object({
    messageId: z.string().min(1),
    timestamp: z.string().min(1),
    tags: z.object({ tenant: tagList, loan: tagList }).loose().optional(),
  }),
  delivery: z.object({ timestamp: z.string().optional() }).loose().optional(),
  bounce: z
    .object({
      bounceType: z.string().optional(),
      bounceSubType: z.string().optional(),
      timestamp: z.string().optional(),
    })
    .loose()
    .optional(),
  complaint: z
    .object({
      complaintFeedbackType: z.string().optional(),
      complaintSubType: z.string().nullish(),
      timestamp: z.string().optional(),
    })
    .loose()
    .optional(),
  reject: z.object({ reason: z.string().optional() }).loose().optional(),
});

const STATUS: Record<string, DeliveryStatus> = {
  Delivery: "delivered",
  Bounce: "bounced",
  Complaint: "complained",
  Reject: "rejected",
};

export type ParsedNotification = { ok: true; report: DeliveryReport } | { ok: false; reason: string };

const instant = z.iso.datetime({ offset: true });

/** One SES notification → a delivery report, or why it is skipped. Never throws. */
export function parseSesNotification(message: string): ParsedNotification {
  let json: unknown;
  try {
    json = JSON.parse(message);
  } catch {
    return { ok: false, reason: "not_json" };
  }
  const parsed = notification.safeParse(json);
  if (!parsed.success) return { ok: false, reason: "not_an_ses_notification" };
  const event = parsed.data;
  const type = event.eventType ?? event.notificationType;
  const status = type ? STATUS[type] : undefined;
  // Send, Open, Click, DeliveryDelay… are not delivery results.
  if (!status) return { ok: false, reason: "ignored_event_type" };
  const tenantId = event.mail.tags?.tenant?.[0];
  const loanTag = event.mail.tags?.loan?.[0];
  const loanId = loanTag === undefined ? null : decodeLoanTag(loanTag);
  if (!tenantId || !loanId) return { ok: false, reason: "missing_tags" };

  let occurredAt = event.mail.timestamp;
  let detail: Record<string, string> | undefined;
  switch (status) {
    case "delivered":
      occurredAt = event.delivery?.timestamp ?? occurredAt;
      break;
    case "bounced":
      occurredAt = event.bounce?.timestamp ?? occurredAt;
      detail = compact({ bounceType: event.bounce?.bounceType, bounceSubType: event.bounce?.bounceSubType });
      break;
    case "complained":
      occurredAt = event.complaint?.timestamp ?? occurredAt;
      detail = compact({
        complaintFeedbackType: event.complaint?.complaintFeedbackType,
        complaintSubType: event.complaint?.complaintSubType ?? undefined,
      });
      break;
    case "rejected":
      detail = compact({ reason: event.reject?.reason });
      break;
  }
  if (!instant.safeParse(occurredAt).success) return { ok: false, reason: "bad_timestamp" };
  return {
    ok: true,
    report: {
      tenantId,
      loanId,
      providerMessageId: event.mail.messageId,
      channel: "email",
      status,
      occurredAt,
      ...(detail ? { detail } : {}),
    },
  };
}

function compact(values: Record<string, string | undefined>): Record<string, string> | undefined {
  const kept = Object.entries(values).filter((e): e is [string, string] => e[1] !== undefined);
  return kept.length ? Object.fromEntries(kept) : undefined;
}
