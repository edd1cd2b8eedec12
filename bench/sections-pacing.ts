import { measurePacing } from "./pacing.ts";
import type { Section } from "./report.ts";
import { check, dynamoEndpoint, type SectionContext } from "./section-kit.ts";

/** The SMS rate of the check: a toll-free-like number's few messages a second. */
const RATE = 5;
/** The size of the full check: 20,000 loans whose SMS fall due in the same minute. */
export const FULL_PACED_LOANS = 20_000;

/**
 * Section 9: paced sending. Loans whose SMS all fall due at 10:00 local under a tenant paced at 5 SMS a second:
 * the most SMS in any second, SMS outside the contact window, and the steps deferred for want of a place.
 */
export async function pacedSection(ctx: SectionContext): Promise<Section> {
  const run = await measurePacing(await dynamoEndpoint(ctx), ctx.pacedLoans, RATE, ctx.pacedWindowEnd);
  // Places from 10:00, when the loans wake, to the window's end (21:00 unless narrowed).
  const [endHour = 21, endMinute = 0] = run.window.end.split(":").map(Number);
  const windowSeconds = (endHour - 10) * 3600 + endMinute * 60;
  const expectedDeferrals = Math.max(0, run.loans - RATE * windowSeconds);
  const checks = [
    check({
      figure: "Most SMS handed to the provider in one second",
      value: run.maxPerSecond,
      unit: "SMS",
      target: `≤ ${RATE} (the tenant's rate)`,
      met: run.maxPerSecond <= RATE,
      why: "a second over the rate means two senders took the same place: the counters' conditional writes failed to keep them apart",
    }),
    check({
      figure: "SMS outside the contact window",
      value: run.outsideWindow,
      unit: "SMS",
      target: "0",
      met: run.outsideWindow === 0,
      why: "a place was given past the window's end, or a throttled retry resumed outside the window",
    }),
    check({
      figure: "Every loan's SMS sent",
      value: run.sms,
      unit: "SMS",
      target: `${run.loans}`,
      met: run.sms === run.loans,
      why: "a step dropped or still waiting when the run ended",
    }),
  ];
  const scaled = run.loans < FULL_PACED_LOANS;
  return {
    id: "paced",
    title: `9. Paced sending: ${run.loans.toLocaleString("en-US")} loans due at 10:00, ${RATE} SMS a second`,
    status: "measured",
    columns: ["Figure", "Value"],
    rows: [
      ["Loans (one SMS step each, due at 10:00 Asia/Shanghai)", run.loans],
      ["Tenant's SMS rate (messages a second)", run.rate],
      ["SMS sent", run.sms],
      ["Most SMS in one second", run.maxPerSecond],
      [`SMS outside the window (${run.window.start}–${run.window.end} local)`, run.outsideWindow],
      ["Steps deferred for want of a place (`send_capacity`)", run.deferrals],
      [
        `Deferrals expected (loans beyond rate × the window left from 10:00 to ${run.window.end})`,
        expectedDeferrals,
      ],
      ["First to last SMS (s)", run.spreadSeconds],
      ["Loans ÷ rate (s)", run.loans / RATE],
      ["Send task invocations per loan", run.sendInvocationsPerLoan],
      ["Task retries, all loans (ASL Retry, any error)", run.retries],
      ["Wall clock: subscribing (s)", run.subscribeSeconds],
      ["Wall clock: the day on the virtual clock (s)", run.runSeconds],
    ],
    checks,
    notes: [
      "An in-process local stack on a frozen virtual clock (DynamoDB Local, the real ASL and bundles): a policy of one SMS step (D−3 at 10:00, the window 08:00–21:00, or to `--paced-window-end`), the tenant's `sendRates.sms` set through `PUT /v1/settings`, the loans subscribed through `POST /v1/loans:batch`, the clock advanced through the day and the next. SMS per second are counted from the outbox's `sentAt`; deferrals from the audit table.",
      "Each loan whose place is not in the second it wakes costs one more send task invocation (and one more Choice → Wait → Task): the task takes the place, the workflow waits for it and the send goes out on it. Invocations beyond 2 a loan are the ASL's retries (the row below): a thousand tasks at one instant against one DynamoDB Local.",
      scaled
        ? `Scaled down: the full check is ${FULL_PACED_LOANS.toLocaleString("en-US")} loans (\`npm run bench -- --only paced --paced-loans ${FULL_PACED_LOANS}\`). DynamoDB Local and the local engine take every step in one process on this machine, ${((run.subscribeSeconds + run.runSeconds) / run.loans).toFixed(2)} s of wall clock per loan here, so the full size runs for well over the few minutes a bench section may take.`
        : "The full check's size.",
    ],
    data: run,
    seconds: 0,
  };
}
