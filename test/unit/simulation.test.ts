import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_CONTACT_RULES, DEFAULT_POLICY, type Policy } from "../../functions/domain/policy.ts";
import { checkContacts, checkRulesOf, VIOLATION } from "../../simulator/checker.ts";
import { EV, isMessage, messageOf, paymentInstant, simulateBorrower } from "../../simulator/engine.ts";
import { orchestrate, readPortfolio } from "../../simulator/orchestrator.ts";
import { DEFAULT_PAYMENT_MODEL, type PaymentModel, paymentModelIssues } from "../../simulator/payments.ts";
import { type PortfolioLoan, SYNTHETIC_ZONES, syntheticLoan } from "../../simulator/portfolio.ts";
import { chartSvg, policyReport, type SimulationReport } from "../../simulator/report.ts";
import { type RunSettings, runBorrowers, runSynthetic } from "../../simulator/run.ts";
import { memoiseDateMath, memoiseIsoParsing, memoiseZoneOffsets } from "../../simulator/zone-offsets.ts";

memoiseZoneOffsets();
memoiseIsoParsing();
memoiseDateMath();

const START = "2026-03-02";
const startMs = Date.parse(`${START}T00:00:00Z`);
const NEVER: PaymentModel = { paymentTime: "18:00", payOnDay: {} };
/** The default policy with its caps counted over all of a borrower's loans. */
const PER_BORROWER: Policy = {
  ...DEFAULT_POLICY,
  id: "per-borrower",
  contactRules: { ...DEFAULT_CONTACT_RULES, capsPer: "borrower" },
};

const settings = (overrides: Partial<RunSettings> = {}): RunSettings => ({
  startMs,
  days: 120,
  policies: [DEFAULT_POLICY],
  payments: DEFAULT_PAYMENT_MODEL,
  seed: 7,
  ...overrides,
});

const loan = (overrides: Partial<PortfolioLoan> = {}): PortfolioLoan => ({
  loanId: "L-1",
  borrower: {
    name: "Li Wei",
    phone: "+8613800000001",
    email: "li@example.com",
    locale: "zh-CN",
    timeZone: "Asia/Shanghai",
  },
  amountDue: { amount: "1000.00", currency: "CNY" },
  dueDate: "2026-03-20",
  ...overrides,
});

const messageCount = (policy: Policy) => policy.steps.reduce((n, s) => n + s.channels.length, 0);

describe("simulator: small scenarios", () => {
  it("a loan paid two days before its due date gets only the reminders before that", () => {
    const payments: PaymentModel = { paymentTime: "18:00", payOnDay: { "-2": 1 } };
    const [tally] = runBorrowers([{ loans: [{ index: 0, loan: loan() }] }], settings({ payments }));
    // D−7 email and D−3 SMS; the payment at D−2 18:00 stops the case before D−1.
    expect(tally?.messages).toEqual({
      sms: { preDue: 1, softCollection: 0 },
      email: { preDue: 1, softCollection: 0 },
    });
    expect(tally?.funnel).toMatchObject({ subscribed: 1, paidBeforeDue: 1, reachedHandOff: 0 });
    expect(tally?.perDay.sms.reduce((a, b) => a + b, 0)).toBe(1);
  });

  it("a loan that never pays gets every message of the default policy and is handed off", () => {
    for (const memoise of [true, false]) {
      const [tally] = runBorrowers(
        [{ loans: [{ index: 0, loan: loan() }] }],
        settings({ payments: NEVER, memoise }),
      );
      const m = tally?.messages;
      expect(
        (m?.sms.preDue ?? 0) +
          (m?.sms.softCollection ?? 0) +
          (m?.email.preDue ?? 0) +
          (m?.email.softCollection ?? 0),
      ).toBe(messageCount(DEFAULT_POLICY));
      expect(tally?.funnel).toMatchObject({ subscribed: 1, reachedHandOff: 1, paidAfterHandOff: 0 });
      expect(tally?.violations).toEqual({
        outsideWindow: 0,
        quietDay: 0,
        smsDailyCap: 0,
        contacts7DayCap: 0,
      });
    }
  });

  it("two loans of one borrower due the same day: with caps per borrower one SMS a day, per loan each its own", () => {
    const second = loan({ loanId: "L-2" });
    const [perLoan, tally] = runBorrowers(
      [
        {
          loans: [
            { index: 0, loan: loan() },
            { index: 1, loan: second },
          ],
        },
      ],
      settings({ payments: NEVER, policies: [DEFAULT_POLICY, PER_BORROWER] }),
    );
    expect(perLoan?.violations).toEqual({
      outsideWindow: 0,
      quietDay: 0,
      smsDailyCap: 0,
      contacts7DayCap: 0,
    });
    expect(perLoan?.perDay.sms.some((n) => n === 2)).toBe(true);
    expect(perLoan?.deferrals.sms_daily_cap ?? 0).toBe(0);
    expect(tally?.violations).toEqual({ outsideWindow: 0, quietDay: 0, smsDailyCap: 0, contacts7DayCap: 0 });
    expect((tally?.deferrals.sms_daily_cap ?? 0) + (tally?.suppressions.sms_daily_cap ?? 0)).toBeGreaterThan(
      0,
    );
    expect(tally?.perDay.sms.every((n) => n <= 1)).toBe(true);
    expect(tally?.funnel.reachedHandOff).toBe(2);
  });

  it("the same seed gives the same report, and sharing trajectories changes nothing", () => {
    const portfolio = {
      count: 600,
      seed: 3,
      firstDueDate: "2026-03-03",
      dueDays: 3,
      zones: SYNTHETIC_ZONES.slice(0, 4),
    };
    const slice = { portfolio, from: 0, to: portfolio.count, part: 0, parts: 1 };
    const once = runSynthetic(slice, settings());
    const again = runSynthetic(slice, settings());
    const individually = runSynthetic(slice, settings({ memoise: false }));
    expect(again).toEqual(once);
    const strip = ({
      memoisedLoans,
      distinctTrajectories,
      individualLoans,
      multiLoanBorrowers,
      ...rest
    }: (typeof once)[number]) => rest;
    expect(individually.map(strip)).toEqual(once.map(strip));
    expect(once[0]?.distinctTrajectories).toBeLessThan(40);
    expect(individually[0]?.individualLoans).toBe(600);
  });

  it("payment models are validated", () => {
    expect(paymentModelIssues(DEFAULT_PAYMENT_MODEL)).toEqual([]);
    expect(
      paymentModelIssues({ paymentTime: "25:00", payOnDay: { "0": 0.7, "1": 0.6, x: 0.1 } }),
    ).toHaveLength(3);
  });
});

describe("simulator: installment loans", () => {
  const DUE = ["2026-03-20", "2026-04-20", "2026-05-20"];
  const onSchedule = (): PortfolioLoan => {
    const { amountDue, dueDate, ...rest } = loan();
    return {
      ...rest,
      schedule: DUE.map((d) => ({ dueDate: d, amount: { amount: "400.00", currency: "CNY" } })),
    };
  };
  const zone = "Asia/Shanghai";
  const at = (dueDate: string, day: number) => paymentInstant(dueDate, day, "18:00", zone, startMs);
  const endMs = startMs + 120 * 86_400_000;
  /** The messages of a log as [instant, soft collection?], and its other codes. */
  const read = (log: { at: number[]; code: number[] }) => ({
    messages: log.code.flatMap((c, i) => (isMessage(c) ? [[log.at[i], !messageOf(c).preDue] as const] : [])),
    others: log.code.filter((c) => !isMessage(c)),
  });

  it("paid the day before each due date: only the pre-due reminders before each installment", () => {
    const payments: PaymentModel = { paymentTime: "18:00", payOnDay: { "-1": 1 } };
    const [tally] = runBorrowers([{ loans: [{ index: 0, loan: onSchedule() }] }], settings({ payments }));
    // Per installment: D−7 email, D−3 SMS, D−1 SMS and email; the payment at D−1 18:00 comes before D0.
    expect(tally?.messages).toEqual({
      sms: { preDue: 6, softCollection: 0 },
      email: { preDue: 6, softCollection: 0 },
    });
    expect(tally?.installments).toEqual({ loans: 1, due: 3, paidOnTime: 3, paidLate: 0, cures: 0 });
    expect(tally?.funnel).toMatchObject({ subscribed: 1, paidBeforeDue: 1, paidInSoftCollection: 0 });
    expect(tally).toMatchObject({ individualLoans: 1, multiLoanBorrowers: 0, memoisedLoans: 0 });
  });

  it("misses installment 2: soft collection for it, cured by the payment, then installment 3's pre-due reminders", () => {
    const paysAt = [at(DUE[0] as string, -1), at(DUE[1] as string, 5), at(DUE[2] as string, -1)];
    const [log] = simulateBorrower([{ loan: onSchedule(), paysAt }], DEFAULT_POLICY, startMs, endMs);
    const { messages, others } = read(log as { at: number[]; code: number[] });
    expect(others).toEqual([
      EV.INSTALLMENT_ON_TIME,
      EV.INSTALLMENT_LATE,
      EV.CURED,
      EV.INSTALLMENT_ON_TIME,
      EV.PAID,
    ]);
    const [first, cure, last] = paysAt as [number, number, number];
    const between = (from: number, to: number) =>
      messages.filter(([t]) => (t as number) > from && (t as number) < to);
    expect(between(0, first).every(([, soft]) => !soft)).toBe(true);
    // Installment 2: D−7 … D0 pre-due, then D+1 (SMS and email) and D+3 (SMS) of soft collection before D+5 18:00.
    expect(between(first, cure).filter(([, soft]) => soft)).toHaveLength(3);
    expect(between(first, cure).filter(([, soft]) => !soft)).toHaveLength(5);
    // Cured: soft collection stops; installment 3 gets D−7, D−3 and D−1 again, all pre-due.
    expect(between(cure, last).map(([, soft]) => soft)).toEqual([false, false, false, false]);
    expect(messages.filter(([t]) => (t as number) > last)).toEqual([]);
  });

  it("never paid after installment 1: soft collection on installment 2 until the hand-off", () => {
    const [log] = simulateBorrower(
      [{ loan: onSchedule(), paysAt: [at(DUE[0] as string, -1)] }],
      DEFAULT_POLICY,
      startMs,
      endMs,
    );
    const { messages, others } = read(log as { at: number[]; code: number[] });
    expect(others).toEqual([EV.INSTALLMENT_ON_TIME, EV.HAND_OFF]);
    expect(messages.filter(([, soft]) => soft).length).toBeGreaterThan(0);
  });

  it("a synthetic share of 3, 6 and 12 monthly installments; the other loans unchanged", () => {
    const options = { count: 400, seed: 3, firstDueDate: "2026-03-03", dueDays: 30 };
    const plain = Array.from({ length: 400 }, (_, i) => syntheticLoan(i, options));
    const mixed = Array.from({ length: 400 }, (_, i) =>
      syntheticLoan(i, { ...options, installmentShare: 0.3 }),
    );
    const scheduled = mixed.filter((l) => l.schedule);
    expect(scheduled.length).toBeGreaterThan(80);
    expect(scheduled.length).toBeLessThan(160);
    expect(new Set(scheduled.map((l) => l.schedule?.length))).toEqual(new Set([3, 6, 12]));
    for (const l of scheduled) {
      const cents = (l.schedule ?? []).reduce((sum, i) => sum + Math.round(Number(i.amount.amount) * 100), 0);
      expect(cents).toBe(Math.round(Number(l.amountDue?.amount) * 100));
      expect(l.schedule?.[1]?.dueDate.slice(5, 7)).not.toBe(l.schedule?.[0]?.dueDate.slice(5, 7));
    }
    mixed.forEach((l, i) => {
      if (!l.schedule) expect(l).toEqual(plain[i]);
    });
  });

  it("runs them one by one, the same with or without shared trajectories", () => {
    const portfolio = {
      count: 300,
      seed: 4,
      firstDueDate: "2026-03-03",
      dueDays: 4,
      zones: SYNTHETIC_ZONES.slice(0, 3),
      installmentShare: 0.4,
    };
    const slice = { portfolio, from: 0, to: portfolio.count, part: 0, parts: 1 };
    const [shared] = runSynthetic(slice, settings());
    const [alone] = runSynthetic(slice, settings({ memoise: false }));
    const strip = ({
      memoisedLoans,
      distinctTrajectories,
      individualLoans,
      ...rest
    }: NonNullable<typeof shared>) => rest;
    expect(strip(alone as NonNullable<typeof alone>)).toEqual(strip(shared as NonNullable<typeof shared>));
    expect(shared?.installments.loans).toBeGreaterThan(90);
    expect(shared?.installments.cures).toBeGreaterThan(0);
    expect(shared?.installments.paidLate).toBeGreaterThan(0);
    expect(shared?.violations).toEqual({ outsideWindow: 0, quietDay: 0, smsDailyCap: 0, contacts7DayCap: 0 });
  });

  it("reads schedules from a JSONL portfolio, checked as the API checks them", async () => {
    const folder = mkdtempSync(join(tmpdir(), "sim-schedule-"));
    const file = join(folder, "loans.jsonl");
    const readLines = (...loans: unknown[]) => {
      writeFileSync(file, `${loans.map((l) => JSON.stringify(l)).join("\n")}\n`);
      return readPortfolio(file);
    };
    try {
      await expect(readLines(loan(), onSchedule())).resolves.toMatchObject({ loans: 2 });
      const { dueDate, ...undated } = loan();
      await expect(readLines(loan(), undated)).rejects.toThrow(`${file}:2: expected a loan with`);
      const backwards = onSchedule();
      backwards.schedule?.reverse();
      await expect(readLines(backwards)).rejects.toThrow(`${file}:1: schedule.1.dueDate must be after`);
      await expect(readLines({ ...onSchedule(), dueDate: "2026-03-20" })).rejects.toThrow(
        "schedule send either dueDate or schedule",
      );
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe("simulator: the independent checker", () => {
  const rules = checkRulesOf({
    ...DEFAULT_POLICY,
    contactRules: { ...DEFAULT_CONTACT_RULES, quietWeekdays: [7] },
  });
  const at = (iso: string) => Date.parse(iso);

  it("catches contacts planted outside the window, on a quiet day and above both caps", () => {
    const zone = "America/New_York";
    const masks = checkContacts(
      [
        { at: at("2026-03-02T12:59:00Z"), sms: false }, // 07:59 EST: too early
        { at: at("2026-03-03T02:00:00Z"), sms: false }, // 21:00 EST on Mar 2: the window's end is exclusive
        { at: at("2026-03-03T15:00:00Z"), sms: true }, // 10:00 Tue
        { at: at("2026-03-03T20:00:00Z"), sms: true }, // 15:00 Tue: second SMS that day
        { at: at("2026-03-04T15:00:00Z"), sms: false },
        { at: at("2026-03-05T15:00:00Z"), sms: false },
        { at: at("2026-03-06T15:00:00Z"), sms: false }, // 7th contact within 7 days: still allowed
        { at: at("2026-03-07T15:00:00Z"), sms: false }, // 8th
        { at: at("2026-03-08T14:00:00Z"), sms: false }, // Sunday 10:00 EDT (after the DST change): quiet
      ],
      zone,
      rules,
    );
    expect(Array.from(masks)).toEqual([
      VIOLATION.WINDOW,
      VIOLATION.WINDOW,
      0,
      VIOLATION.SMS_DAILY_CAP,
      0,
      0,
      0,
      VIOLATION.CONTACTS_7_DAY_CAP,
      VIOLATION.QUIET_DAY | VIOLATION.CONTACTS_7_DAY_CAP,
    ]);
  });

  it("reads local time on both sides of a DST change and in quarter-hour zones", () => {
    // 10:00 EDT after 2026-03-08 is 14:00Z; 08:00 Kathmandu (UTC+5:45) is 02:15Z.
    expect(
      Array.from(checkContacts([{ at: at("2026-03-09T14:00:00Z"), sms: true }], "America/New_York", rules)),
    ).toEqual([0]);
    expect(
      Array.from(checkContacts([{ at: at("2026-03-09T02:14:00Z"), sms: true }], "Asia/Kathmandu", rules)),
    ).toEqual([VIOLATION.WINDOW]);
    expect(
      Array.from(checkContacts([{ at: at("2026-03-09T02:15:00Z"), sms: true }], "Asia/Kathmandu", rules)),
    ).toEqual([0]);
  });
});

describe("simulator: two policies side by side", () => {
  it("reports both, and the lighter policy sends fewer messages", () => {
    const light: Policy = {
      ...DEFAULT_POLICY,
      id: "light",
      steps: DEFAULT_POLICY.steps.filter((s) => s.offsetDays === -1 || s.offsetDays >= 7),
    };
    const portfolio = {
      count: 2000,
      seed: 5,
      firstDueDate: "2026-03-03",
      dueDays: 5,
      zones: SYNTHETIC_ZONES.slice(0, 6),
    };
    const tallies = runSynthetic(
      { portfolio, from: 0, to: portfolio.count, part: 0, parts: 1 },
      settings({ policies: [DEFAULT_POLICY, light] }),
    );
    expect(tallies).toHaveLength(2);
    const [a, b] = tallies.map((t, i) =>
      policyReport(i === 0 ? "default" : "light", i === 0 ? DEFAULT_POLICY : light, t, startMs),
    );
    expect(a?.funnel.subscribed).toBe(2000);
    expect(b?.funnel.subscribed).toBe(2000);
    expect(b?.messages.total).toBeLessThan(a?.messages.total ?? 0);
    const report: SimulationReport = {
      run: {
        loans: 2000,
        days: 120,
        seconds: 0,
        peakRssMb: 0,
        workers: 0,
        distinctTrajectories: 0,
        start: START,
        seed: 5,
        portfolio: "synthetic",
      },
      payments: DEFAULT_PAYMENT_MODEL,
      policies: [a, b].filter((r) => r !== undefined),
    };
    const svg = chartSvg(report);
    expect(svg).toContain("SMS — default");
    expect(svg).toContain("EMAIL — light");
    expect(svg.match(/<polyline/g)).toHaveLength(4);
  });
});

describe("simulator: 100,000 loans across 36 zones over 120 days", () => {
  it("breaks no contact rule, and sends and hands off at scale", async () => {
    expect(
      new Set(
        Array.from(
          { length: 36 },
          (_, i) =>
            syntheticLoan(i, { count: 36, seed: 1, firstDueDate: START, dueDays: 30 }).borrower.timeZone,
        ),
      ).size,
    ).toBeGreaterThanOrEqual(30);
    const [tally, perLoan] = await orchestrate({
      settings: settings({ seed: 11, policies: [PER_BORROWER, DEFAULT_POLICY] }),
      portfolio: {
        kind: "synthetic",
        options: { count: 100_000, seed: 11, firstDueDate: "2026-03-03", dueDays: 30 },
      },
      workers: 2,
    });
    // The default (caps per loan) and the stricter caps per borrower: neither breaks a rule.
    expect(perLoan?.funnel.subscribed).toBe(100_000);
    expect(perLoan?.violations).toEqual({
      outsideWindow: 0,
      quietDay: 0,
      smsDailyCap: 0,
      contacts7DayCap: 0,
    });
    expect(tally?.funnel.subscribed).toBe(100_000);
    expect(tally?.violations).toEqual({ outsideWindow: 0, quietDay: 0, smsDailyCap: 0, contacts7DayCap: 0 });
    const messages = (tally?.perDay.sms ?? []).concat(tally?.perDay.email ?? []).reduce((a, b) => a + b, 0);
    expect(messages).toBeGreaterThan(300_000);
    expect(tally?.funnel.reachedHandOff).toBeGreaterThan(1000);
    // Multi-loan borrowers ran through the shared caps.
    expect(tally?.multiLoanBorrowers).toBeGreaterThan(50);
    expect((tally?.deferrals.sms_daily_cap ?? 0) + (tally?.suppressions.sms_daily_cap ?? 0)).toBeGreaterThan(
      0,
    );
  }, 120_000);
});
