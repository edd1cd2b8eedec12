import { describe, expect, it } from "vitest";
import {
  type ArmLoan,
  armReport,
  meanInterval,
  normalCdf,
  twoProportionTest,
  wilsonInterval,
} from "../../functions/domain/strategies/arm-report.ts";

const AS_OF = "2026-03-31T12:00:00Z";
const DAY_MS = 24 * 60 * 60 * 1000;

/** The ISO instant `days` days (and `hours` hours) before AS_OF. */
const daysBefore = (days: number, hours = 0) =>
  new Date(Date.parse(AS_OF) - days * DAY_MS - hours * 3_600_000).toISOString();

function loan(overrides: Partial<ArmLoan> = {}): ArmLoan {
  return {
    segment: "retail",
    arm: "champion",
    policyId: "policy-a",
    assignedAt: daysBefore(90),
    dueDate: "2025-12-31",
    amountDue: { amount: "100.00", currency: "EUR" },
    recovered: { amount: "0.00", currency: "EUR" },
    messages: 0,
    optedOut: false,
    disputed: false,
    handedOff: false,
    ...overrides,
  };
}

/** `n` loans of an arm assigned 40 days ago, `cured` of them cured 10 days after assignment. */
function arm(name: string, cured: number, n: number): ArmLoan[] {
  const assignedAt = daysBefore(40);
  return Array.from({ length: n }, (_, index) =>
    loan({
      arm: name,
      assignedAt,
      ...(index < cured ? { curedAt: daysBefore(30) } : {}),
    }),
  );
}

describe("the statistics", () => {
  it("gives the standard normal distribution function to better than 1.5e-7", () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
    expect(normalCdf(-1)).toBeCloseTo(0.158655254, 6);
    expect(normalCdf(-8)).toBeGreaterThanOrEqual(0);
    expect(normalCdf(8)).toBeLessThanOrEqual(1);
  });

  it("gives the Wilson interval of 45 in 100 as about [0.356, 0.548]", () => {
    const interval = wilsonInterval(45, 100);
    expect(interval.estimate).toBe(0.45);
    expect(interval.low).toBeCloseTo(0.35615, 4);
    expect(interval.high).toBeCloseTo(0.54755, 4);
    expect(interval.judged).toBe(100);
  });

  it("keeps the Wilson interval inside [0, 1] at 0 % and 100 %, and gives no width to nothing judged", () => {
    expect(wilsonInterval(0, 10)).toEqual({
      estimate: 0,
      low: 0,
      high: expect.closeTo(0.27753, 4),
      judged: 10,
    });
    const all = wilsonInterval(10, 10);
    expect(all.estimate).toBe(1);
    expect(all.low).toBeCloseTo(0.72247, 4);
    expect(all.high).toBeLessThanOrEqual(1);
    expect(wilsonInterval(0, 0)).toEqual({ estimate: 0, low: 0, high: 0, judged: 0 });
  });

  it("gives a mean its normal interval from the sample standard deviation", () => {
    const interval = meanInterval([1, 2, 3]);
    expect(interval.estimate).toBe(2);
    expect(interval.low).toBeCloseTo(0.86841, 4);
    expect(interval.high).toBeCloseTo(3.13159, 4);
    // No spread to estimate: the interval is the mean itself; nothing at all: zeros.
    expect(meanInterval([5, 5, 5])).toEqual({ estimate: 5, low: 5, high: 5 });
    expect(meanInterval([7])).toEqual({ estimate: 7, low: 7, high: 7 });
    expect(meanInterval([])).toEqual({ estimate: 0, low: 0, high: 0 });
    // Amounts that are never negative do not get a negative lower bound.
    expect(meanInterval([0, 0, 0, 100]).low).toBe(0);
  });

  it("finds 60 in 100 against 45 in 100 significant (p ≈ 0.034)", () => {
    const { difference, pValue } = twoProportionTest({ cured: 45, judged: 100 }, { cured: 60, judged: 100 });
    expect(pValue).toBeCloseTo(0.03367, 4);
    expect(difference.estimate).toBeCloseTo(0.15, 10);
    expect(difference.low).toBeCloseTo(0.01315, 4);
    expect(difference.high).toBeCloseTo(0.28685, 4);
  });

  it("finds no difference between two arms that both cure everything", () => {
    expect(twoProportionTest({ cured: 20, judged: 20 }, { cured: 30, judged: 30 }).pValue).toBe(1);
    expect(twoProportionTest({ cured: 0, judged: 20 }, { cured: 0, judged: 30 }).pValue).toBe(1);
  });
});

describe("the champion–challenger report", () => {
  it("reports nothing for no loans", () => {
    expect(armReport([], AS_OF)).toEqual({ arms: [], notes: [] });
  });

  it("compares each challenger's 30-day cure share with the champion's", () => {
    const report = armReport(
      [...arm("bold", 60, 100), ...arm("champion", 45, 100), ...arm("gentle", 50, 100)],
      AS_OF,
    );
    expect(report.arms.map((figures) => figures.arm)).toEqual(["champion", "bold", "gentle"]);
    const [champion, bold, gentle] = report.arms;
    expect(champion?.versusChampion).toBeUndefined();
    expect(champion?.curedWithin.days30).toEqual({
      estimate: 0.45,
      low: expect.closeTo(0.35615, 4),
      high: expect.closeTo(0.54755, 4),
      judged: 100,
    });
    expect(bold?.versusChampion).toEqual({
      metric: "curedWithin30",
      difference: {
        estimate: expect.closeTo(0.15, 10),
        low: expect.closeTo(0.01315, 4),
        high: expect.closeTo(0.28685, 4),
      },
      pValue: expect.closeTo(0.03367, 4),
      significant: true,
    });
    expect(gentle?.versusChampion?.pValue).toBeCloseTo(0.47895, 4);
    expect(gentle?.versusChampion?.significant).toBe(false);
    expect(report.notes).toEqual([]);
  });

  it("leaves loans too young for a window out of its denominator", () => {
    const report = armReport(
      [
        loan({ assignedAt: daysBefore(10), curedAt: daysBefore(5) }),
        loan({ assignedAt: daysBefore(40), curedAt: daysBefore(20) }),
        loan({ assignedAt: daysBefore(70) }),
        // Exactly 30 days old: judged at 30 days; cured at the last instant of the window.
        loan({ assignedAt: daysBefore(30), curedAt: daysBefore(0) }),
        // An hour short of 7 days: judged for no window.
        loan({ assignedAt: daysBefore(6, 23), curedAt: daysBefore(6) }),
      ],
      AS_OF,
    );
    const { days7, days30, days60 } = report.arms[0]?.curedWithin ?? {};
    expect([days7?.judged, days30?.judged, days60?.judged]).toEqual([4, 3, 1]);
    expect(days7?.estimate).toBe(1 / 4);
    expect(days30?.estimate).toBe(2 / 3);
    expect(days60?.estimate).toBe(0);
    expect(report.arms[0]?.loans).toBe(5);
  });

  it("gives no interval width to a window no loan is old enough for, and does not compare such arms", () => {
    const young = daysBefore(3);
    const report = armReport([loan({ assignedAt: young }), loan({ arm: "bold", assignedAt: young })], AS_OF);
    expect(report.arms[0]?.curedWithin.days7).toEqual({ estimate: 0, low: 0, high: 0, judged: 0 });
    expect(report.arms[1]?.versusChampion).toBeUndefined();
    expect(report.notes).toEqual([
      'segment "retail", arm "bold": not compared, no loan on one side is 30 days old',
    ]);
  });

  it("keeps the intervals of an arm that cured everything (or nothing) inside [0, 1]", () => {
    // Every loan cured 10 days after its assignment: all within 30 days, none within 7.
    const figures = armReport(arm("champion", 20, 20), AS_OF).arms[0];
    expect(figures?.curedWithin.days30).toEqual({
      estimate: 1,
      low: expect.closeTo(0.83887, 4),
      high: 1,
      judged: 20,
    });
    expect(figures?.curedWithin.days7).toEqual({
      estimate: 0,
      low: 0,
      high: expect.closeTo(0.16113, 4),
      judged: 20,
    });
  });

  it("adds money exactly, and works out the rate and the messages per unit recovered", () => {
    const paid = (amount: string, messages: number) =>
      loan({
        amountDue: { amount: "0.20", currency: "EUR" },
        recovered: { amount, currency: "EUR" },
        messages,
      });
    const figures = armReport([paid("0.10", 2), paid("0.10", 3), paid("0.10", 1)], AS_OF).arms[0];
    expect(figures?.recovered).toEqual({
      currency: "EUR",
      total: "0.30",
      perLoan: { estimate: 0.1, low: 0.1, high: 0.1 },
    });
    expect(figures?.recoveryRate).toEqual({ estimate: 0.5, low: 0.5, high: 0.5 });
    expect(figures?.messagesPerLoan).toBe(2);
    expect(figures?.messagesPerRecovered).toBeCloseTo(20, 10);
  });

  it("has no messages per unit recovered when nothing was recovered, and counts the flags", () => {
    const figures = armReport(
      [loan({ messages: 4, optedOut: true, disputed: true }), loan({ messages: 1, handedOff: true })],
      AS_OF,
    ).arms[0];
    expect(figures?.messagesPerRecovered).toBeNull();
    expect(figures?.recovered.total).toBe("0.00");
    expect(figures?.messagesPerLoan).toBe(2.5);
    expect([figures?.optOuts, figures?.disputes, figures?.handOffs]).toEqual([1, 1, 1]);
  });

  it("keeps the money figures in the arm's majority currency and notes what it leaves out", () => {
    const report = armReport(
      [
        loan({ recovered: { amount: "10.00", currency: "EUR" } }),
        loan({ recovered: { amount: "20.00", currency: "EUR" } }),
        loan({
          amountDue: { amount: "5000", currency: "JPY" },
          recovered: { amount: "5000", currency: "JPY" },
        }),
        loan({ recovered: { amount: "7.00", currency: "USD" } }),
      ],
      AS_OF,
    );
    expect(report.currency).toBe("EUR");
    expect(report.arms[0]?.recovered.total).toBe("30.00");
    expect(report.arms[0]?.recovered.perLoan.estimate).toBe(15);
    expect(report.arms[0]?.loans).toBe(4);
    expect(report.notes).toEqual([
      'segment "retail", arm "champion": 1 loan(s) due in JPY left out of the money figures (kept in EUR)',
      'segment "retail", arm "champion": 1 loan(s) with payments in a currency other than the amount due left out of the money figures',
    ]);
  });

  it("names no report currency when the arms' currencies differ", () => {
    const report = armReport(
      [
        loan(),
        loan({
          arm: "bold",
          amountDue: { amount: "1", currency: "USD" },
          recovered: { amount: "0", currency: "USD" },
        }),
      ],
      AS_OF,
    );
    expect(report.currency).toBeUndefined();
    expect(report.notes).toContain("the arms' money figures are in different currencies (EUR, USD)");
  });

  it("sorts by segment, then the champion, then the arms by name; a segment without champion is not compared", () => {
    const report = armReport(
      [
        loan({ segment: "sme", arm: "zeta" }),
        loan({ segment: "retail", arm: "zeta" }),
        loan({ segment: "retail", arm: "alpha" }),
        loan({ segment: "retail", arm: "champion" }),
        loan({ segment: "sme", arm: "alpha" }),
      ],
      AS_OF,
    );
    expect(report.arms.map((figures) => `${figures.segment}/${figures.arm}`)).toEqual([
      "retail/champion",
      "retail/alpha",
      "retail/zeta",
      "sme/alpha",
      "sme/zeta",
    ]);
    expect(report.arms.filter((figures) => figures.versusChampion).map((figures) => figures.arm)).toEqual([
      "alpha",
      "zeta",
    ]);
    expect(report.notes).toEqual(['segment "sme" has no champion arm: its arms are not compared']);
  });

  it("names the arm's most frequent policy and notes the others", () => {
    const report = armReport([loan(), loan(), loan({ policyId: "policy-b" })], AS_OF);
    expect(report.arms[0]?.policyId).toBe("policy-a");
    expect(report.notes).toEqual([
      'segment "retail", arm "champion": its loans name more than one policy (policy-b besides policy-a)',
    ]);
  });

  it("refuses an instant it cannot read", () => {
    expect(() => armReport([loan()], "yesterday")).toThrow(RangeError);
    expect(() => armReport([loan({ assignedAt: "soon" })], AS_OF)).toThrow(RangeError);
  });
});
