import { describe, expect, it } from "vitest";
import { businessMetricsOf } from "../../functions/domain/trail-metrics.ts";

describe("business metrics from the audit trail", () => {
  it("counts a sent message by channel and stage", () => {
    expect(
      businessMetricsOf({ type: "message_sent", data: { channel: "sms", stage: "soft_collection" } }),
    ).toEqual([{ name: "MessagesSent", dimensions: { channel: "sms", stage: "soft_collection" }, value: 1 }]);
  });

  it("counts a deferral by its rule, the contact window when the entry names none", () => {
    expect(businessMetricsOf({ type: "step_deferred", data: { rule: "sms_per_day" } })).toEqual([
      { name: "StepsDeferred", dimensions: { rule: "sms_per_day" }, value: 1 },
    ]);
    expect(businessMetricsOf({ type: "step_deferred", data: {} })[0]?.dimensions).toEqual({
      rule: "contact_window",
    });
  });

  it("counts hand-offs, and payments only when a reminder went out before them", () => {
    expect(businessMetricsOf({ type: "handed_off", data: {} })).toEqual([
      { name: "HandOffs", dimensions: {}, value: 1 },
    ]);
    expect(businessMetricsOf({ type: "payment_received", data: { afterContact: true } })).toEqual([
      { name: "PaymentsAfterContact", dimensions: {}, value: 1 },
    ]);
    expect(businessMetricsOf({ type: "payment_received", data: { afterContact: false } })).toEqual([]);
  });

  it("counts nothing for the other entries", () => {
    for (const type of ["loan_subscribed", "message_delivery", "workflow_failed", "policy_changed"]) {
      expect(businessMetricsOf({ type, data: {} }), type).toEqual([]);
    }
  });
});
