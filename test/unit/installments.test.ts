import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import {
  batchEntry,
  policyUpdateSchema,
  subscribeSchema,
  toPolicyRules,
} from "../../functions/contracts/requests.ts";
import { recordPayment } from "../../functions/domain/case-payment.ts";
import type { Charges } from "../../functions/domain/charges.ts";
import { DomainError, InputOutOfRangeError } from "../../functions/domain/errors.ts";
import {
  amountDueNow,
  installmentViews,
  openInstallment,
  overdueInstallments,
} from "../../functions/domain/installments.ts";
import { chargedTo, type LoanCase, planFor, subscribe } from "../../functions/domain/loan-case.ts";
import { type Money, money } from "../../functions/domain/money.ts";
import { handOffInstant, type PlanningInput, planNext } from "../../functions/domain/planning.ts";
import { DEFAULT_POLICY, handOffLabel, type Policy } from "../../functions/domain/policy.ts";
import { validatePolicy } from "../../functions/domain/policy-validation.ts";
import type { ScheduledPayment } from "../../functions/domain/schedule.ts";
import { IMPORT_MESSAGE_BYTES, IMPORT_MESSAGE_LOANS } from "../../functions/import/import-message.ts";
import { inBatches, type PortfolioRecord, readPortfolio } from "../../functions/import/portfolio-file.ts";
import { loanView } from "../../functions/usecases/loan-view.ts";
import { loanRequest } from "../support/fixtures.ts";
import { ACTOR, subscription, TENANT } from "./fixtures.ts";

const cny = (amount: string): Money => money(amount, "CNY");
const SUBSCRIBED = new Date("2026-01-05T00:00:00Z");
/** Three monthly installments of CNY 400.00: 15 February, March and April 2026. */
const MONTHLY: ScheduledPayment[] = ["2026-02-15", "2026-03-15", "2026-04-15"].map((dueDate) => ({
  dueDate,
  amount: cny("400.00"),
}));
/** Noon in Shanghai on a date. */
const noon = (date: string) => new Date(`${date}T04:00:00Z`);

function scheduled(schedule: ScheduledPayment[] = MONTHLY, at = SUBSCRIBED, policy: Policy = DEFAULT_POLICY) {
  const request = { ...subscription({ schedule }), dueDate: undefined, amountDue: undefined };
  return subscribe(TENANT, request, policy, "sub-hash", ACTOR, at);
}

const pay = (loanCase: LoanCase, amount: string, now: Date) =>
  recordPayment(loanCase, cny(amount), now.toISOString(), ACTOR, now);

/** The paths of what the edge refuses in a POST /v1/loans body. */
function edgePaths(overrides: Record<string, unknown>): string[] {
  const parsed = subscribeSchema.safeParse(loanRequest("L-2001", overrides));
  return parsed.success ? [] : parsed.error.issues.map((issue) => issue.path.join("."));
}

function domainError(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error("expected a DomainError");
}

const schedule = (...items: [string, string, string?][]) =>
  items.map(([dueDate, amount, currency = "CNY"]) => ({ dueDate, amount: { amount, currency } }));

describe("a subscription with a schedule, at the edge", () => {
  const withSchedule = (items: unknown, extra: Record<string, unknown> = {}) =>
    edgePaths({ dueDate: undefined, amountDue: undefined, schedule: items, ...extra });

  it("refuses a body that is not an object by its type alone, without reaching the terms' rules", () => {
    for (const body of [null, [], "L-1", 7, undefined]) {
      const parsed = subscribeSchema.safeParse(body);
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues.map((issue) => issue.code)).toEqual(["invalid_type"]);
    }
  });

  it("accepts 2 to 360 installments in ascending order, with or without their sum as amountDue", () => {
    const three = schedule(["2026-02-15", "400.00"], ["2026-03-15", "400.00"], ["2026-04-15", "400.00"]);
    expect(withSchedule(three)).toEqual([]);
    expect(withSchedule(three, { amountDue: { amount: "1200.00", currency: "CNY" } })).toEqual([]);
    expect(withSchedule(three, { amountDue: { amount: "1200", currency: "CNY" } })).toEqual([]);
    const most = Array.from({ length: 360 }, (_, i) => ({
      dueDate: new Date(Date.UTC(2026, 1 + i, 1)).toISOString().slice(0, 10),
      amount: { amount: "10.00", currency: "CNY" },
    }));
    expect(withSchedule(most)).toEqual([]);
  });

  it("names the offending item of a bad schedule", () => {
    const descending = schedule(["2026-02-15", "400.00"], ["2026-03-15", "400.00"], ["2026-03-01", "400.00"]);
    expect(withSchedule(descending)).toEqual(["schedule.2.dueDate"]);
    const same = schedule(["2026-02-15", "400.00"], ["2026-02-15", "400.00"]);
    expect(withSchedule(same)).toEqual(["schedule.1.dueDate"]);
    const mixed = schedule(["2026-02-15", "400.00"], ["2026-03-15", "400.00", "USD"]);
    expect(withSchedule(mixed)).toEqual(["schedule.1.amount.currency"]);
    const zero = schedule(["2026-02-15", "400.00"], ["2026-03-15", "0.00"]);
    expect(withSchedule(zero)).toEqual(["schedule.1.amount.amount"]);
    const two = schedule(["2026-02-15", "400.00"], ["2026-03-15", "400.00"]);
    expect(withSchedule(two, { amountDue: { amount: "900.00", currency: "CNY" } })).toEqual([
      "amountDue.amount",
    ]);
    expect(withSchedule(two, { amountDue: { amount: "800.00", currency: "USD" } })).toEqual([
      "amountDue.currency",
    ]);
    const tooMany = Array.from({ length: 361 }, (_, i) => ({
      dueDate: new Date(Date.UTC(2026, 1 + i, 1)).toISOString().slice(0, 10),
      amount: { amount: "10.00", currency: "CNY" },
    }));
    expect(withSchedule(tooMany)).toEqual(["schedule"]);
    expect(withSchedule(schedule(["2026-02-15", "400.00"]))).toEqual(["schedule"]);
  });

  it("takes exactly one of dueDate and schedule, and amountDue with a dueDate", () => {
    const two = schedule(["2026-02-15", "400.00"], ["2026-03-15", "400.00"]);
    expect(edgePaths({ amountDue: undefined, schedule: two })).toEqual(["schedule"]);
    expect(edgePaths({ dueDate: undefined })).toEqual(["dueDate"]);
    expect(edgePaths({ amountDue: undefined })).toEqual(["amountDue"]);
    expect(edgePaths({})).toEqual([]);
  });

  it("prefixes a batch item's paths with its place in the batch", () => {
    const descending = schedule(["2026-03-15", "400.00"], ["2026-02-15", "400.00"]);
    const entry = batchEntry(
      { ...loanRequest("L-2002"), dueDate: undefined, amountDue: undefined, schedule: descending },
      "loans.3",
    );
    expect("invalid" in entry && entry.invalid.details?.map((d) => d.path)).toEqual([
      "loans.3.schedule.1.dueDate",
    ]);
  });
});

describe("subscribe with a schedule", () => {
  it("holds the installments unpaid, due from the first, owing their sum, and records the schedule", () => {
    const { next, events } = scheduled();
    expect(next.installments).toEqual(MONTHLY.map((i) => ({ ...i, paid: cny("0.00") })));
    expect(next.dueDate).toBe("2026-02-15");
    expect(next.amountDue).toEqual(cny("1200.00"));
    expect(next.balance).toEqual(cny("1200.00"));
    expect(next.stepsDone).toEqual({ dueDate: "2026-02-15", steps: [] });
    expect(events[0]?.data).toMatchObject({
      amountDue: cny("1200.00"),
      dueDate: "2026-02-15",
      installments: 3,
      schedule: MONTHLY,
    });
    expect(planFor(next, DEFAULT_POLICY, SUBSCRIBED)).toMatchObject({
      kind: "step",
      plannedAt: "2026-02-08T02:00:00Z",
    });
  });

  it("keeps the single-dueDate form as it was: no installments, nothing about them on the record", () => {
    const { next, events } = subscribe(TENANT, subscription(), DEFAULT_POLICY, "h", ACTOR, SUBSCRIBED);
    expect(next.installments).toBeNull();
    expect(next.dueDate).toBe("2026-01-15");
    expect(events[0]?.data).not.toHaveProperty("installments");
    expect(events[0]?.data).not.toHaveProperty("schedule");
  });

  it("refuses an installment more than 10 years away, and bad terms, with their paths and stores nothing", () => {
    const far = domainError(() => scheduled([...MONTHLY, { dueDate: "2040-01-15", amount: cny("1.00") }]));
    expect(far).toBeInstanceOf(InputOutOfRangeError);
    expect(far.details.map((d) => d.path)).toEqual(["schedule.3.dueDate"]);
    const reversed = domainError(() => scheduled([...MONTHLY].reverse()));
    expect(reversed.details.map((d) => d.path)).toEqual(["schedule.1.dueDate", "schedule.2.dueDate"]);
    const wrongSum = domainError(() =>
      subscribe(
        TENANT,
        { ...subscription({ schedule: MONTHLY, amountDue: cny("1000.00") }), dueDate: undefined },
        DEFAULT_POLICY,
        "h",
        ACTOR,
        SUBSCRIBED,
      ),
    );
    expect(wrongSum.details).toEqual([
      { path: "amountDue.amount", message: "must equal the sum of the schedule, 1200.00" },
    ]);
  });
});

describe("installment statuses and the amount due now", () => {
  it("marks each installment paid, overdue, due or upcoming on the borrower's calendar", () => {
    const loanCase = pay(scheduled().next, "400.00", noon("2026-02-10")).next;
    const statuses = (now: Date) => installmentViews(loanCase, now)?.map((i) => [i.number, i.status]);
    expect(statuses(noon("2026-03-15"))).toEqual([
      [1, "paid"],
      [2, "due"],
      [3, "upcoming"],
    ]);
    expect(statuses(noon("2026-04-20"))).toEqual([
      [1, "paid"],
      [2, "overdue"],
      [3, "overdue"],
    ]);
    expect(installmentViews(scheduled().next, SUBSCRIBED)?.map((i) => i.status)).toEqual([
      "upcoming",
      "upcoming",
      "upcoming",
    ]);
    expect(openInstallment(loanCase)).toMatchObject({ number: 2, installment: { dueDate: "2026-03-15" } });
    expect(
      installmentViews(
        subscribe(TENANT, subscription(), DEFAULT_POLICY, "h", ACTOR, SUBSCRIBED).next,
        SUBSCRIBED,
      ),
    ).toBeNull();
  });

  it("is what is left of the installments due by today plus charges; a single loan's balance once due", () => {
    const loanCase = scheduled().next;
    expect(amountDueNow(loanCase, noon("2026-02-14"))).toEqual(cny("0.00"));
    expect(amountDueNow(loanCase, noon("2026-02-15"))).toEqual(cny("400.00"));
    const partly = pay(loanCase, "150.00", noon("2026-02-20")).next;
    expect(amountDueNow(partly, noon("2026-03-16"))).toEqual(cny("650.00"));
    const fee: Charges = {
      lateFee: "50.00",
      lateFeeAfterDays: 1,
      dailyPenaltyRate: "0",
      capPercentOfPrincipal: "25",
    };
    expect(amountDueNow(chargedTo(loanCase, fee, noon("2026-02-20")), noon("2026-02-20"))).toEqual(
      cny("450.00"),
    );

    const single = subscribe(TENANT, subscription(), DEFAULT_POLICY, "h", ACTOR, SUBSCRIBED).next;
    expect(amountDueNow(single, noon("2026-01-14"))).toEqual(cny("0.00"));
    expect(amountDueNow(single, noon("2026-01-15"))).toEqual(cny("1000.00"));
  });

  it("shows the installments, days past the oldest overdue one and the amount due now in the view", () => {
    const view = loanView(scheduled().next, DEFAULT_POLICY, noon("2026-03-15"));
    expect(view.dueDate).toBe("2026-02-15");
    expect(view.daysPastDue).toBe(28);
    expect(view.amountDueNow).toEqual(cny("800.00"));
    expect(view.balance).toEqual(cny("1200.00"));
    expect(view.installments?.map((i) => i.status)).toEqual(["overdue", "due", "upcoming"]);
    expect(view.installments?.[0]).toEqual({
      number: 1,
      dueDate: "2026-02-15",
      amount: cny("400.00"),
      paid: cny("0.00"),
      status: "overdue",
    });
  });
});

describe("payments on a schedule", () => {
  it("pay the oldest installment first and carry what is left to the next", () => {
    const { next } = pay(scheduled().next, "500.00", noon("2026-03-20"));
    expect(next.installments?.map((i) => i.paid)).toEqual([cny("400.00"), cny("100.00"), cny("0.00")]);
    expect(next.dueDate).toBe("2026-03-15");
    expect(overdueInstallments(next, noon("2026-03-20"))).toHaveLength(1);
  });

  it("cure the case when they clear every overdue installment: audited, the cursor at now, re-planned", () => {
    const now = noon("2026-02-20");
    const { next, events, workflow } = pay(scheduled().next, "400.00", now);
    expect(events.map((e) => e.type)).toEqual(["payment_received", "cured"]);
    expect(events[1]).toEqual({
      type: "cured",
      actor: ACTOR,
      data: { installmentsCleared: [1], nextDueDate: "2026-03-15", daysPastDueBefore: 5 },
    });
    expect(next.cursorAt).toBe("2026-02-20T04:00:00Z");
    expect(next.status).toBe("active");
    expect(workflow).toBe("replan");
    // The next installment's pre-due reminders, not the soft collection of the one just paid.
    expect(planFor(next, DEFAULT_POLICY, now)).toMatchObject({
      kind: "step",
      step: { id: "pre_due_7" },
      plannedAt: "2026-03-08T02:00:00Z",
    });
  });

  it("after a late cure, pass over the next installment's reminders already behind", () => {
    const now = noon("2026-03-10");
    const { next } = pay(scheduled().next, "400.00", now);
    expect(planFor(next, DEFAULT_POLICY, now)).toMatchObject({ step: { id: "pre_due_3" } });
  });

  it("clear several overdue installments in one cure; clearing only some is no cure", () => {
    const now = noon("2026-03-20");
    const some = pay(scheduled().next, "400.00", now);
    expect(some.events.map((e) => e.type)).toEqual(["payment_received"]);
    expect(some.next.dueDate).toBe("2026-03-15");
    expect(some.workflow).toBe("replan");
    const all = pay(scheduled().next, "800.00", now);
    expect(all.events[1]?.data).toEqual({
      installmentsCleared: [1, 2],
      nextDueDate: "2026-04-15",
      daysPastDueBefore: 33,
    });
  });

  it("end the case paid when the whole balance comes early, without a cure; a partial payment cures nothing", () => {
    const early = pay(scheduled().next, "1200.00", noon("2026-02-01"));
    expect(early.next.status).toBe("paid");
    expect(early.workflow).toBe("stop");
    const late = pay(scheduled().next, "1200.00", noon("2026-02-20"));
    expect(late.events.map((e) => e.type)).toEqual(["payment_received"]);
    const partial = pay(scheduled().next, "300.00", noon("2026-02-20"));
    expect(partial.events.map((e) => e.type)).toEqual(["payment_received"]);
    expect(partial.workflow).toBe("none");
  });
});

describe("the hand-off by days past due or by missed installments", () => {
  const handOff = (rule: Partial<Policy["handOff"]>): Policy => ({
    ...DEFAULT_POLICY,
    handOff: { ...DEFAULT_POLICY.handOff, ...rule },
  });
  const plan: PlanningInput = {
    dueDate: "2026-02-15",
    timeZone: "Asia/Shanghai",
    cursorAt: "2026-01-05T00:00:00Z",
    unpaidDueDates: ["2026-02-15", "2026-03-15", "2026-04-15"],
  };

  it("comes at the earlier of offsetDays past the oldest unpaid installment and the day after the Nth", () => {
    expect(handOffInstant(plan, DEFAULT_POLICY)).toBe("2026-03-17T02:00:00Z");
    expect(handOffInstant(plan, handOff({ afterMissedInstallments: 2 }))).toBe("2026-03-16T02:00:00Z");
    expect(handOffInstant(plan, handOff({ afterMissedInstallments: 3 }))).toBe("2026-03-17T02:00:00Z");
    expect(handOffInstant(plan, handOff({ afterMissedInstallments: 2, offsetDays: 90 }))).toBe(
      "2026-03-16T02:00:00Z",
    );
    // Fewer unpaid installments than the rule counts, or none at all (a single loan): days alone.
    expect(
      handOffInstant({ ...plan, unpaidDueDates: ["2026-02-15"] }, handOff({ afterMissedInstallments: 2 })),
    ).toBe("2026-03-17T02:00:00Z");
    const { unpaidDueDates: _, ...single } = plan;
    expect(handOffInstant(single, handOff({ afterMissedInstallments: 1 }))).toBe("2026-03-17T02:00:00Z");
  });

  it("comes before soft-collection steps still ahead once installments are missed, after notice only", () => {
    const weekly: PlanningInput = {
      ...plan,
      unpaidDueDates: ["2026-02-15", "2026-02-22", "2026-03-01"],
      cursorAt: "2026-02-22T02:00:00Z",
      done: ["pre_due_7", "pre_due_3", "pre_due_1", "due_day", "soft_1", "soft_3", "soft_7"],
      firstContactAt: "2026-02-08T02:00:00Z",
    };
    const now = new Date("2026-02-23T03:00:00Z");
    const policy = handOff({ afterMissedInstallments: 2, minDaysAfterFirstContact: 0 });
    expect(planNext(weekly, policy, now)).toEqual({ kind: "hand_off", plannedAt: "2026-02-23T02:00:00Z" });
    expect(planNext({ ...weekly, firstContactAt: null }, policy, now)).toMatchObject({
      step: { id: "soft_15" },
    });
    expect(planNext(weekly, DEFAULT_POLICY, now)).toMatchObject({ step: { id: "soft_15" } });
    // The notice period still holds it back: 14 days after the first contact, and the steps run till then.
    const lateContact = { ...weekly, firstContactAt: "2026-02-20T02:00:00Z" };
    const noticed = planNext(lateContact, handOff({ afterMissedInstallments: 2 }), now);
    expect(noticed).toMatchObject({ kind: "step", step: { id: "soft_15" } });
  });

  it("counts the case's unpaid installments", () => {
    const loanCase = pay(scheduled().next, "400.00", noon("2026-02-10")).next;
    const policy = handOff({ afterMissedInstallments: 2, offsetDays: 90 });
    const at = noon("2026-04-01");
    const handed = planFor(
      { ...loanCase, cursorAt: "2026-04-06T02:00:00Z", firstContactAt: null },
      policy,
      at,
    );
    // Unpaid: 15 March and 15 April; the second missed the next day at 10:00.
    expect(handed).toEqual({ kind: "hand_off", plannedAt: "2026-04-16T02:00:00Z", withheld: "no_contact" });
  });

  it("validates afterMissedInstallments as a whole number from 1, and takes afterDaysPastDue for offsetDays", () => {
    const paths = (rule: Partial<Policy["handOff"]>) => validatePolicy(handOff(rule)).map((i) => i.path);
    expect(paths({ afterMissedInstallments: 3 })).toEqual([]);
    expect(paths({ afterMissedInstallments: 0 })).toEqual(["handOff.afterMissedInstallments"]);
    expect(paths({ afterMissedInstallments: 1.5 })).toEqual(["handOff.afterMissedInstallments"]);
    expect(paths({ afterMissedInstallments: 361 })).toEqual(["handOff.afterMissedInstallments"]);

    const body = (handOffBody: Record<string, unknown>) => ({
      steps: DEFAULT_POLICY.steps,
      handOff: handOffBody,
      contactWindow: DEFAULT_POLICY.contactWindow,
    });
    const parsed = policyUpdateSchema.parse(
      body({ afterDaysPastDue: 45, at: "10:00", afterMissedInstallments: 3 }),
    );
    expect(toPolicyRules(parsed).handOff).toEqual({
      offsetDays: 45,
      at: "10:00",
      afterMissedInstallments: 3,
    });
    const twice = policyUpdateSchema.safeParse(body({ offsetDays: 30, afterDaysPastDue: 30, at: "10:00" }));
    expect(twice.error?.issues.map((i) => i.path.join("."))).toEqual(["handOff.offsetDays"]);
    const none = policyUpdateSchema.safeParse(body({ at: "10:00" }));
    expect(none.error?.issues.map((i) => i.path.join("."))).toEqual(["handOff.offsetDays"]);
  });
});

describe("schedules in import files", () => {
  const longLoan = (i: number) => ({
    ...loanRequest(`L-${i}`),
    dueDate: undefined,
    amountDue: undefined,
    schedule: Array.from({ length: 360 }, (_, m) => ({
      dueDate: new Date(Date.UTC(2026, 1 + m, 15)).toISOString().slice(0, 10),
      amount: { amount: "100.00", currency: "CNY" },
    })),
  });

  it("reads a JSONL line with a schedule, and names a bad installment with its line", async () => {
    const bad = { ...longLoan(2), schedule: longLoan(2).schedule.slice(0, 2).reverse() };
    const text = `${JSON.stringify(longLoan(1))}\n${JSON.stringify(bad)}\n`;
    const records: PortfolioRecord[] = [];
    for await (const record of readPortfolio(Readable.from([text]), "jsonl")) records.push(record);
    const [first] = records;
    expect(first && "loan" in first && first.loan.schedule).toHaveLength(360);
    expect(records[1]).toMatchObject({ line: 2, error: { details: [{ path: "schedule.1.dueDate" }] } });
  });

  it("puts fewer long loans in one queue message, within its byte budget", async () => {
    async function* loans() {
      for (let i = 0; i < 20; i++) yield longLoan(i);
    }
    const batches: unknown[][] = [];
    for await (const batch of inBatches(loans(), IMPORT_MESSAGE_LOANS, IMPORT_MESSAGE_BYTES))
      batches.push(batch);
    expect(batches.flat()).toHaveLength(20);
    expect(batches.length).toBeGreaterThan(1);
    for (const batch of batches)
      expect(Buffer.byteLength(JSON.stringify(batch))).toBeLessThan(IMPORT_MESSAGE_BYTES);
  });
});

describe("the hand-off rule as people read it", () => {
  it("names the missed installments beside the days past due, and only when the policy counts them", () => {
    expect(handOffLabel(DEFAULT_POLICY.handOff)).toBe("D+30");
    expect(handOffLabel({ offsetDays: 120, afterMissedInstallments: 3 })).toBe(
      "D+120 or 3 missed installments",
    );
  });
});
