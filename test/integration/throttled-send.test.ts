import { beforeAll, describe, expect, it } from "vitest";
import { ProviderThrottledError } from "../../functions/domain/errors.ts";
import { sendStep } from "../../functions/usecases/workflow-steps.ts";
import { type FreshTables, freshTables } from "../support/dynamo.ts";
import { harness, subscribedLoan, TENANT } from "./claim-race-harness.ts";

/**
 * A provider that throttles, on DynamoDB Local: the send task's own handling of ProviderThrottledError (the ASL's
 * back-off between its runs is the workflow tests'). The channels not sent stay in flight, retryable, never
 * recorded as failed; a retry outside the contact window waits for its opening and sends them then.
 */

let db: FreshTables;

beforeAll(async () => {
  db = await freshTables();
});

describe("a throttled send", () => {
  it("keeps its channels unsent but retryable, resumes only inside the window and sends each once", async () => {
    let throttles = 1;
    const h = harness(db, [0], async (message) => {
      if (message.channel === "sms" && throttles-- > 0) throw new ProviderThrottledError("sns: Throttled");
    });
    // soft_1 (SMS, then email) due at 10:00 in Shanghai on 2026-01-16.
    const input = await subscribedLoan(h, "throttled");
    await expect(sendStep(h.stepDeps, input)).rejects.toBeInstanceOf(ProviderThrottledError);
    const held = await h.cases.get(TENANT, input.loanId);
    expect(held?.inFlight).toMatchObject({ step: "soft_1", channels: ["sms", "email"], retryable: true });

    // The retries ran past 21:00 local: nothing goes out; the step waits for 08:00 the next day.
    h.clock.set(new Date("2026-01-16T13:30:00Z"));
    const waiting = await sendStep(h.stepDeps, input);
    expect(waiting.next).toEqual({ phase: "soft_collection", step: "soft_1", at: "2026-01-17T00:00:00Z" });
    expect(h.sender.log).toHaveLength(1);

    h.clock.set(new Date("2026-01-17T00:00:00Z"));
    await sendStep(h.stepDeps, input);
    expect(h.sender.log.map((m) => m.channel)).toEqual(["sms", "sms", "email"]);
    const trail = await h.cases.auditTrail(TENANT, input.loanId);
    const outcomes = trail.filter((e) => e.type.startsWith("message_") || e.type === "step_failed");
    expect(outcomes.map((e) => [e.type, e.data.channel, e.data.sentAt])).toEqual([
      ["message_sent", "sms", "2026-01-17T00:00:00Z"],
      ["message_sent", "email", "2026-01-17T00:00:00Z"],
    ]);
    expect((await h.cases.get(TENANT, input.loanId))?.inFlight).toBeNull();
  });
});
