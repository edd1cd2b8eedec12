/** A business metric an audit entry stands for. */
export interface BusinessMetric {
  name: "MessagesSent" | "StepsDeferred" | "HandOffs" | "PaymentsAfterContact";
  dimensions: Record<string, string>;
  value: number;
}

/**
 * The business metrics an audit entry stands for: derived from the trail, never counted inline, so they agree
 * with the evidence. Messages by channel and stage, deferrals by the rule that deferred them, hand-offs, and
 * payments that came after a reminder.
 */
export function businessMetricsOf(entry: { type: string; data: Record<string, unknown> }): BusinessMetric[] {
  const text = (value: unknown, fallback: string) =>
    typeof value === "string" && value !== "" ? value : fallback;
  switch (entry.type) {
    case "message_sent":
      return [
        {
          name: "MessagesSent",
          dimensions: {
            channel: text(entry.data.channel, "unknown"),
            stage: text(entry.data.stage, "unknown"),
          },
          value: 1,
        },
      ];
    case "step_deferred":
      return [
        { name: "StepsDeferred", dimensions: { rule: text(entry.data.rule, "contact_window") }, value: 1 },
      ];
    case "handed_off":
      return [{ name: "HandOffs", dimensions: {}, value: 1 }];
    case "payment_received":
      return entry.data.afterContact === true
        ? [{ name: "PaymentsAfterContact", dimensions: {}, value: 1 }]
        : [];
    default:
      return [];
  }
}
