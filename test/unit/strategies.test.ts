import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  type Assignment,
  assign,
  bucketOf,
  chooseArm,
  matchRule,
  type SegmentConditions,
  type SegmentFacts,
  type Strategy,
  type StrategyRule,
  type StrategyRules,
} from "../../functions/domain/strategies/strategy.ts";
import { promote, validateStrategy } from "../../functions/domain/strategies/strategy-validation.ts";

const facts = (change: Partial<SegmentFacts> = {}): SegmentFacts => ({
  amount: { amount: "5000.00", currency: "CNY" },
  daysPastDue: 10,
  brokenPromises: 0,
  timeZone: "Asia/Shanghai",
  ...change,
});

/** For each loan, whether a single rule with these conditions matches it. */
const matching = (when: SegmentConditions, ...loans: Partial<SegmentFacts>[]): boolean[] => {
  const rules: StrategyRules = { rules: [{ segment: "s", when, policyId: "p" }] };
  return loans.map((loan) => matchRule(rules, facts(loan)) !== undefined);
};

const split5050: StrategyRule["split"] = [
  { arm: "champion", policyId: "default", percent: 50 },
  { arm: "challenger", policyId: "gentle", percent: 50 },
];
const strategy = (rules: StrategyRule[], version = 1): Strategy => {
  return { id: "str_1", version, createdAt: "2025-01-01T00:00:00Z", createdBy: "ops@example.com", rules };
};

const KNOWN = new Set(["gentle", "fast-legal", "restructure", "bankrupt-legal", "default"]);
const validate = (rules: StrategyRule[]) => validateStrategy({ rules }, KNOWN);
/** Each issue as "path: message", to read one to a line. */
const issues = (rules: StrategyRule[]) => validate(rules).map((i) => `${i.path}: ${i.message}`);
const catchAll: StrategyRule = { segment: "everyone", policyId: "default" };
/** The issues of a single rule with `when` as its conditions, their paths from `when` on. */
const whenIssues = (when: unknown) =>
  issues([{ segment: "s", when: when as SegmentConditions, policyId: "gentle" }]).map((issue) =>
    issue.replace(/^rules\[0\]\.when/, "when"),
  );

describe("matching a loan to a segment", () => {
  it("checks a score range: min included, max excluded, an absent score never matches", () => {
    const scores = [{ score: 600 }, { score: 699.5 }, { score: 700 }, { score: 599 }, {}];
    expect(matching({ score: { min: 600, max: 700 } }, ...scores)).toEqual([true, true, false, false, false]);
    expect(matching({ score: { max: 300 } }, { score: 0 })).toEqual([true]);
  });

  it("checks grades, products, customer types, time zones and countries as lists", () => {
    const absent = {};
    const grades = [{ grade: "B" as const }, { grade: "C" as const }, absent];
    expect(matching({ grade: ["A", "B"] }, ...grades)).toEqual([true, false, false]);
    const products = [{ product: "payday" }, { product: "car" }, absent];
    expect(matching({ product: ["payday"] }, ...products)).toEqual([true, false, false]);
    const types = [{ customerType: "malicious" as const }, { customerType: "temporary" as const }, absent];
    expect(matching({ customerType: ["malicious"] }, ...types)).toEqual([true, false, false]);
    const zones = [{ timeZone: "Asia/Tokyo" }, { timeZone: "Europe/Paris" }];
    expect(matching({ timeZone: ["Asia/Shanghai", "Asia/Tokyo"] }, ...zones)).toEqual([true, false]);
    const countries = [{ country: "CN" }, { country: "JP" }, absent];
    expect(matching({ country: ["CN"] }, ...countries)).toEqual([true, false, false]);
  });

  it("checks an amount in its own currency, as decimals", () => {
    const cny = (amount: string) => ({ amount: { amount, currency: "CNY" } });
    const amounts = [cny("1000.00"), cny("9999.99"), cny("10000.00"), cny("999.99")];
    const when = { amount: { currency: "CNY", min: "1000", max: "10000.00" } };
    expect(matching(when, ...amounts)).toEqual([true, true, false, false]);
    expect(matching(when, { amount: { amount: "5000.00", currency: "USD" } })).toEqual([false]);
    expect(matching({ amount: { currency: "CNY", min: "0.1" } }, cny("0.10"))).toEqual([true]);
  });

  it("checks days past due (negative before the due date) and broken promises", () => {
    const days = [{ daysPastDue: 30 }, { daysPastDue: 29 }];
    expect(matching({ daysPastDue: { min: 30 } }, ...days)).toEqual([true, false]);
    expect(matching({ daysPastDue: { min: -5, max: 1 } }, { daysPastDue: -3 })).toEqual([true]);
    const broken = [{ brokenPromises: 2 }, { brokenPromises: 1 }];
    expect(matching({ brokenPromises: { min: 2 } }, ...broken)).toEqual([true, false]);
  });

  it("needs every condition to hold", () => {
    const when: SegmentConditions = { customerType: ["severe"], daysPastDue: { min: 90 } };
    const loans: Partial<SegmentFacts>[] = [
      { customerType: "severe", daysPastDue: 120 },
      { customerType: "severe", daysPastDue: 60 },
      { customerType: "temporary", daysPastDue: 120 },
    ];
    expect(matching(when, ...loans)).toEqual([true, false, false]);
  });

  it("takes the first rule that matches; no conditions or empty ones match every loan; none may match", () => {
    const rules: StrategyRules = {
      rules: [
        { segment: "late", when: { daysPastDue: { min: 30 } }, policyId: "fast-legal" },
        { segment: "also-late", when: { daysPastDue: { min: 20 } }, policyId: "restructure" },
        { segment: "all", when: {}, policyId: "default" },
        { segment: "never", policyId: "gentle" },
      ],
    };
    const segmentOf = (daysPastDue: number) => matchRule(rules, facts({ daysPastDue }))?.segment;
    expect([40, 25, 0].map(segmentOf)).toEqual(["late", "also-late", "all"]);
    expect(matchRule({ rules: [{ segment: "x", policyId: "p" }] }, facts())?.segment).toBe("x");
    expect(matchRule({ rules: rules.rules.slice(0, 2) }, facts())).toBeUndefined();
  });
});

describe("buckets and arms", () => {
  it("hashes tenant, loan, strategy and segment with SHA-256: the first 4 bytes mod 10000", () => {
    const digest = createHash("sha256").update("t_1\nloan-42\nstr_1\ndefault").digest();
    expect(bucketOf("t_1", "loan-42", "str_1", "default")).toBe(digest.readUInt32BE(0) % 10_000);
    const others = [
      bucketOf("t_2", "loan-42", "str_1", "default"),
      bucketOf("t_1", "loan-43", "str_1", "default"),
      bucketOf("t_1", "loan-42", "str_2", "default"),
      bucketOf("t_1", "loan-42", "str_1", "severe"),
    ];
    expect(new Set(others).size).toBeGreaterThan(1);
    expect(others.every((bucket) => Number.isInteger(bucket) && bucket >= 0 && bucket < 10_000)).toBe(true);
  });

  it("spreads 10,000 loans about evenly over a 50/50 split", () => {
    const rule: StrategyRule = { segment: "default", split: split5050 };
    let champion = 0;
    for (let n = 0; n < 10_000; n++) {
      if (chooseArm(rule, bucketOf("t_1", `loan-${n}`, "str_1", "default")).arm === "champion") champion++;
    }
    expect(champion).toBeGreaterThanOrEqual(4_700);
    expect(champion).toBeLessThanOrEqual(5_300);
  });

  it("lays the percents end to end in the order listed", () => {
    const arm = (name: string, percent: number) => ({ arm: name, policyId: name, percent });
    const rule: StrategyRule = { segment: "s", split: [arm("champion", 20), arm("b", 30), arm("c", 50)] };
    const buckets = [0, 1_999, 2_000, 4_999, 5_000, 9_999];
    expect(buckets.map((b) => chooseArm(rule, b).arm)).toEqual(["champion", "champion", "b", "b", "c", "c"]);
    const plain = { arm: "champion", policyId: "gentle", percent: 100 };
    expect(chooseArm({ segment: "s", policyId: "gentle" }, 1234)).toEqual(plain);
  });
});

describe("assigning a loan", () => {
  const rules: StrategyRule[] = [
    { segment: "malicious", when: { customerType: ["malicious"] }, policyId: "fast-legal" },
    { segment: "default", when: { daysPastDue: { max: 365 } }, split: split5050 },
  ];

  it("gives the matched rule's arm and says why", () => {
    expect(assign(strategy(rules), "t_1", "loan-1", facts({ customerType: "malicious" }))).toEqual({
      strategy: { id: "str_1", version: 1 },
      segment: "malicious",
      arm: "champion",
      policyId: "fast-legal",
      reason: 'segment "malicious" (customerType malicious), arm "champion"',
    });
    const split = assign(strategy(rules), "t_1", "loan-1", facts());
    const arm = chooseArm(rules[1] as StrategyRule, bucketOf("t_1", "loan-1", "str_1", "default"));
    expect(split).toMatchObject({ segment: "default", arm: arm.arm, policyId: arm.policyId });
    expect(split?.reason).toBe(`segment "default" (daysPastDue < 365), arm "${arm.arm}" of a 50/50 split`);
  });

  it("leaves a loan that matches no segment alone", () => {
    expect(assign(strategy(rules), "t_1", "loan-1", facts({ daysPastDue: 400 }))).toBeUndefined();
  });

  it("keeps the previous assignment while the loan stays in its segment, whatever a new version says", () => {
    const previous: Assignment = {
      strategy: { id: "str_1", version: 1 },
      segment: "default",
      arm: "challenger",
      policyId: "gentle",
      reason: "earlier",
    };
    const changed = strategy([{ segment: "default", policyId: "restructure" }], 2);
    expect(assign(changed, "t_1", "loan-1", facts(), previous)).toBe(previous);
    // Another segment, or another strategy: assigned afresh.
    const moved = assign(strategy(rules, 2), "t_1", "loan-1", facts({ customerType: "malicious" }), previous);
    expect(moved).toMatchObject({ strategy: { id: "str_1", version: 2 }, segment: "malicious" });
    const other = assign({ ...changed, id: "str_2" }, "t_1", "loan-1", facts(), previous);
    expect(other).toMatchObject({ strategy: { id: "str_2", version: 2 }, policyId: "restructure" });
  });
});

describe("strategy validation", () => {
  it("accepts the built-in example against its five policies", () => {
    const file = new URL("../../examples/strategies/articles.json", import.meta.url);
    const example = JSON.parse(readFileSync(file, "utf8")) as StrategyRules;
    expect(validateStrategy(example, KNOWN)).toEqual([]);
    const segments = example.rules.map((r) => r.segment);
    expect(segments).toEqual(["temporary", "malicious", "severe", "bankrupt", "default"]);
    const known = new Set([...KNOWN].filter((id) => id !== "restructure"));
    const missing = { path: "rules[2].policyId", message: 'unknown policy "restructure"' };
    expect(validateStrategy(example, known)).toEqual([missing]);
  });

  it("needs one to fifty rules", () => {
    expect(validate([])).toEqual([{ path: "rules", message: "a strategy needs at least one rule" }]);
    const many = Array.from({ length: 51 }, (_, i) => {
      return { segment: `s${i}`, when: { brokenPromises: { min: i, max: i + 1 } }, policyId: "gentle" };
    });
    expect(issues(many)).toEqual(["rules: a strategy has at most 50 rules"]);
    expect(issues(many.slice(0, 50))).toEqual([]);
  });

  it("names each segment once, in lower case", () => {
    const name = 'must be 1–40 of a–z, 0–9, "_" and "-"';
    expect(issues([{ segment: "Late Payers", policyId: "gentle" }])).toEqual([`rules[0].segment: ${name}`]);
    expect(issues([{ segment: "", policyId: "gentle" }])).toEqual([`rules[0].segment: ${name}`]);
    const graded = (grade: "A" | "B"): StrategyRule => ({
      segment: "a",
      when: { grade: [grade] },
      policyId: "gentle",
    });
    const twice = 'rules[1].segment: duplicate segment "a" (also rules[0])';
    expect(issues([graded("A"), graded("B")])).toEqual([twice]);
  });

  it("needs exactly one of a policy and a split, naming known policies", () => {
    expect(issues([{ segment: "a" }])).toEqual(["rules[0]: give a policyId or a split"]);
    const both = issues([{ segment: "a", policyId: "gentle", split: split5050 }]);
    expect(both).toEqual(["rules[0]: give either policyId or split, not both"]);
    const unknown = 'rules[0].policyId: unknown policy "firm"';
    expect(issues([{ segment: "a", policyId: "firm" }])).toEqual([unknown]);
    const split = [split5050?.[0], { arm: "b", policyId: "x", percent: 50 }] as StrategyRule["split"];
    expect(issues([{ segment: "a", split }])).toEqual(['rules[0].split[1].policyId: unknown policy "x"']);
  });

  it("checks a split's arms: how many, their names, one champion, whole percents adding up to 100", () => {
    const arm = (name: string, percent: number) => ({ arm: name, policyId: "gentle", percent });
    const check = (...split: ReturnType<typeof arm>[]) => issues([{ segment: "a", split }]);
    const count = 'rules[0].split: a split has 2 to 5 arms: a "champion" and at least one challenger';
    expect(check(arm("champion", 100))).toEqual([count]);
    expect(check(arm("champion", 50), ...["b", "c", "d", "e", "f"].map((n) => arm(n, 10)))).toEqual([count]);
    const badName = 'rules[0].split[1].arm: must be 1–40 of a–z, 0–9, "_" and "-"';
    expect(check(arm("champion", 50), arm("Challenger", 50))).toEqual([badName]);
    const twice = 'rules[0].split[2].arm: duplicate arm "b" (also split[1])';
    expect(check(arm("champion", 50), arm("b", 25), arm("b", 25))).toEqual([twice]);
    const noChampion = 'rules[0].split: a split needs exactly one arm named "champion" (found 0)';
    expect(check(arm("a", 50), arm("b", 50))).toEqual([noChampion]);
    const percent = (j: number) => `rules[0].split[${j}].percent: must be a whole percent from 1 to 100`;
    expect(check(arm("champion", 50.5), arm("b", 49.5))).toEqual([percent(0), percent(1)]);
    expect(check(arm("champion", 100), arm("b", 0))).toEqual([percent(1)]);
    const sum = "rules[0].split: the percents must add up to 100 (they add up to 90)";
    expect(check(arm("champion", 60), arm("b", 30))).toEqual([sum]);
  });

  it("checks numeric ranges: in bounds, whole where they count, min below max, not empty", () => {
    const order = (min: number, max: number) =>
      `when.score: min (${min}) must be less than max (${max}, which is excluded)`;
    expect(whenIssues({ score: { min: 700, max: 600 } })).toEqual([order(700, 600)]);
    expect(whenIssues({ score: { min: 500, max: 500 } })).toEqual([order(500, 500)]);
    expect(whenIssues({ score: { max: 1001 } })).toEqual(["when.score.max: must be a number from 0 to 1000"]);
    expect(whenIssues({ score: { min: 600.5 } })).toEqual([]);
    const days = (side: string) => `when.daysPastDue.${side}: must be a whole number from -60 to 3650`;
    expect(whenIssues({ daysPastDue: { min: -61 } })).toEqual([days("min")]);
    expect(whenIssues({ daysPastDue: { min: 1.5, max: 3651 } })).toEqual([days("min"), days("max")]);
    const broken = "when.brokenPromises.min: must be a whole number from 0 to 1000";
    expect(whenIssues({ brokenPromises: { min: -1 } })).toEqual([broken]);
    expect(whenIssues({ brokenPromises: {} })).toEqual(["when.brokenPromises: give min, max or both"]);
  });

  it("checks an amount range: a known currency, decimal strings in range, min below max", () => {
    const currency = 'when.amount.currency: must be an ISO 4217 currency code such as "CNY"';
    expect(whenIssues({ amount: { currency: "cny", min: "100" } })).toEqual([currency]);
    const decimal = (side: string) =>
      `when.amount.${side}: must be a non-negative decimal string such as "5000.00", at most 1000000000`;
    const invalid = { currency: "CNY", min: "1e3", max: "1000000001" };
    expect(whenIssues({ amount: invalid })).toEqual([decimal("min"), decimal("max")]);
    const order = "when.amount: min (100.00) must be less than max (99.5, which is excluded)";
    expect(whenIssues({ amount: { currency: "CNY", min: "100.00", max: "99.5" } })).toEqual([order]);
    expect(whenIssues({ amount: { currency: "CNY" } })).toEqual(["when.amount: give min, max or both"]);
  });

  it("checks lists: not empty, no repeats, known values", () => {
    expect(whenIssues({ grade: [] })).toEqual(["when.grade: list at least one value"]);
    expect(whenIssues({ grade: ["A", "F"] })).toEqual(["when.grade[1]: must be one of A, B, C, D, E"]);
    const type = "when.customerType[0]: must be one of temporary, malicious, severe, bankrupt";
    expect(whenIssues({ customerType: ["careless"] })).toEqual([type]);
    const twice = "when.customerType: a value is listed twice";
    expect(whenIssues({ customerType: ["severe", "severe"] })).toEqual([twice]);
    expect(whenIssues({ product: [""] })).toEqual(["when.product[0]: must be 1–64 characters"]);
    const country = (k: number) => `when.country[${k}]: must be an ISO 3166 alpha-2 code such as "CN"`;
    expect(whenIssues({ country: ["CN", "cn", "CHN"] })).toEqual([country(1), country(2)]);
    const zone = (k: number) => `when.timeZone[${k}]: must be an IANA time zone such as Asia/Shanghai`;
    expect(whenIssues({ timeZone: ["Asia/Shanghai", "Mars/Olympus", "UTC+5"] })).toEqual([zone(1), zone(2)]);
    // Borrowers' zones are stored canonical: another spelling would never match one.
    const spelling = `when.timeZone[0]: write "America/New_York", the zone's canonical spelling`;
    expect(whenIssues({ timeZone: ["us/eastern"] })).toEqual([spelling]);
  });

  it("refuses a condition it does not know (a typo would otherwise match every loan)", () => {
    const known =
      "score, grade, product, amount, daysPastDue, customerType, brokenPromises, timeZone, country";
    expect(whenIssues({ dpd: { min: 30 } })).toEqual([`when.dpd: unknown condition; known: ${known}`]);
  });
});

describe("unreachable rules", () => {
  const unreachable = (i: number, segment: string) =>
    `unreachable: rules[${i}] ("${segment}") already matches every loan this rule matches`;

  it("flags any rule after a catch-all", () => {
    const late: StrategyRule = { segment: "late", when: { daysPastDue: { min: 30 } }, policyId: "gentle" };
    expect(issues([catchAll, late])).toEqual([`rules[1].when: ${unreachable(0, "everyone")}`]);
    const all: StrategyRule = { segment: "all", when: {}, policyId: "gentle" };
    expect(validate([catchAll, all])).toEqual([
      { path: "rules[1].when", message: unreachable(0, "everyone") },
    ]);
    const rest: StrategyRule = { segment: "rest", policyId: "gentle" };
    expect(issues([{ ...catchAll, when: {} }, late, rest])).toEqual([
      `rules[1].when: ${unreachable(0, "everyone")}`,
      `rules[2]: ${unreachable(0, "everyone")}`,
    ]);
  });

  it("flags a rule narrower in every condition than an earlier one", () => {
    const wide: StrategyRule = {
      segment: "wide",
      when: {
        daysPastDue: { min: 30 },
        customerType: ["severe", "malicious"],
        amount: { currency: "CNY", min: "1000" },
      },
      policyId: "restructure",
    };
    const narrow: StrategyRule = {
      segment: "narrow",
      when: {
        daysPastDue: { min: 60, max: 90 },
        customerType: ["severe"],
        amount: { currency: "CNY", min: "2000.00", max: "5000" },
        country: ["CN"],
      },
      policyId: "fast-legal",
    };
    expect(issues([wide, narrow])).toEqual([`rules[1].when: ${unreachable(0, "wide")}`]);
    // The same rules the other way round are both reachable.
    expect(issues([narrow, wide])).toEqual([]);
    // Equal conditions: the second never gets a loan.
    const same = issues([wide, { ...wide, segment: "same" }]);
    expect(same).toEqual([`rules[1].when: ${unreachable(0, "wide")}`]);
  });

  it("does not flag a later rule that is wider in any one condition", () => {
    const when = {
      daysPastDue: { min: 30, max: 90 },
      grade: ["D", "E"],
      amount: { currency: "CNY", max: "5000" },
    };
    const first: StrategyRule = { segment: "first", when: when as SegmentConditions, policyId: "fast-legal" };
    const later = (change: SegmentConditions | undefined) =>
      issues([first, { segment: "later", when: { ...first.when, ...change }, policyId: "gentle" }]);
    expect(later({ daysPastDue: { min: 30 } })).toEqual([]);
    expect(later({ daysPastDue: { min: 20, max: 90 } })).toEqual([]);
    expect(later({ grade: ["C", "D"] })).toEqual([]);
    expect(later({ amount: { currency: "CNY", max: "5000.01" } })).toEqual([]);
    expect(later({ amount: { currency: "USD", max: "100" } })).toEqual([]);
    expect(later({ grade: undefined })).toEqual([]);
  });
});

describe("promoting an arm", () => {
  const malicious: StrategyRule = {
    segment: "malicious",
    when: { customerType: ["malicious"] },
    policyId: "fast-legal",
  };
  const rules: StrategyRules = {
    description: "d",
    rules: [malicious, { segment: "default", when: { daysPastDue: { min: 1 } }, split: split5050 }],
  };

  it("makes the segment run the promoted arm's policy alone, leaving the rest as it was", () => {
    const promoted = promote(rules, "default", "challenger");
    const rule = { segment: "default", when: { daysPastDue: { min: 1 } }, policyId: "gentle" };
    expect(promoted).toEqual({ description: "d", rules: [malicious, rule] });
    expect(rules.rules[1]?.split).toBe(split5050);
    expect(validateStrategy(promoted as StrategyRules, KNOWN)).toEqual([]);
  });

  it("refuses an unknown segment, a segment with no split, an unknown arm and the champion", () => {
    const refusal = (segment: string, arm: string) => {
      const result = promote(rules, segment, arm);
      return "path" in result ? `${result.path}: ${result.message}` : result;
    };
    expect(refusal("severe", "challenger")).toBe('segment: no rule for segment "severe"');
    const noSplit = 'rules[0]: segment "malicious" runs one policy; it has no split to promote from';
    expect(refusal("malicious", "challenger")).toBe(noSplit);
    expect(refusal("default", "b")).toBe('arm: no arm "b" in segment "default"; arms: champion, challenger');
    const already = 'arm: "champion" is already the champion of segment "default"';
    expect(refusal("default", "champion")).toBe(already);
  });
});
