import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import {
  type AttemptResult,
  type CallRules,
  type ClaimInput,
  type ClaimVerdict,
  type ContactAttempt,
  callRulesOf,
  checkClaim,
  hasVisitStaff,
  RULE_PACK_DEFAULTS,
  RULE_PACKS,
  type RulePackName,
} from "../../functions/domain/work/call-rules.ts";
import { byUrgency, urgencyScore, type WorkUrgencyInput } from "../../functions/domain/work/urgency.ts";

const SHANGHAI = "Asia/Shanghai";
const NEW_YORK = "America/New_York";
const WINDOW = { start: "08:00", end: "21:00" };
const NUMBER = "+8613800138000";
const OTHER = "+8613900139000";

/** The instant of a borrower-local wall-clock time. */
function at(local: string, zone: string): Date {
  const dt = DateTime.fromISO(local, { zone });
  if (!dt.isValid) throw new Error(`bad local time ${local}`);
  return dt.toJSDate();
}

/** The ISO instant (whole seconds, UTC) of a borrower-local wall-clock time. */
const iso = (local: string, zone: string) => at(local, zone).toISOString().replace(".000Z", "Z");

function call(local: string, zone: string, result: AttemptResult, number = NUMBER): ContactAttempt {
  return { at: iso(local, zone), kind: "call", number, result };
}

function visit(local: string, zone: string, result: AttemptResult = "visited"): ContactAttempt {
  return { at: iso(local, zone), kind: "visit", result };
}

function claim(
  pack: RulePackName | CallRules,
  zone: string,
  now: string,
  history: ContactAttempt[],
  extra: Partial<ClaimInput> = {},
): ClaimVerdict {
  const rules = typeof pack === "string" ? callRulesOf(pack) : pack;
  return checkClaim({
    kind: "call",
    number: NUMBER,
    now: at(now, zone),
    timeZone: zone,
    window: WINDOW,
    rules,
    history,
    ...extra,
  });
}

function refused(verdict: ClaimVerdict) {
  if (verdict.allowed) throw new Error("expected a refusal");
  return verdict;
}

/** `count` calls on one local day, an hour apart from 09:00. */
function callsOn(
  day: string,
  zone: string,
  count: number,
  result: AttemptResult,
  number = NUMBER,
): ContactAttempt[] {
  return Array.from({ length: count }, (_, i) =>
    call(`${day}T${String(9 + i).padStart(2, "0")}:00`, zone, result, number),
  );
}

/** One no-answer call a day at 10:00 local, from `first` for `days` days. */
function dailyCalls(first: string, zone: string, days: number): ContactAttempt[] {
  const start = DateTime.fromISO(first, { zone });
  return Array.from({ length: days }, (_, i) =>
    call(start.plus({ days: i }).toISO() as string, zone, "no_answer"),
  );
}

describe("rule packs", () => {
  it("sets each pack's limits, with us-ma on top of us-federal", () => {
    expect(RULE_PACKS).toEqual(["cn", "us-federal", "us-ma"]);
    const { cn, "us-federal": federal, "us-ma": ma } = RULE_PACK_DEFAULTS;
    expect(cn).toEqual({ connectedCallsPerDebtorPerDay: 3, attemptsPerNumberPerDay: 6, visitStaff: 2 });
    expect(federal).toEqual({ attemptsPer7DaysPerDebt: 7, quietDaysAfterConversation: 7, visitStaff: 2 });
    expect(ma).toEqual({ ...federal, contactsPer7Days: 2 });
  });

  it("takes a policy's overrides, keeps the pack's limit for an undefined one, refuses nonsense", () => {
    const overridden = callRulesOf("cn", {
      attemptsPerNumberPerDay: 4,
      connectedCallsPerDebtorPerDay: undefined,
    });
    expect(overridden).toEqual({ ...RULE_PACK_DEFAULTS.cn, attemptsPerNumberPerDay: 4 });
    expect(() => callRulesOf("cn", { attemptsPerNumberPerDay: 0 })).toThrow(RangeError);
    expect(() => callRulesOf("cn", { visitStaff: 1.5 })).toThrow(/visitStaff/);
    expect(() => callRulesOf("us-tx" as RulePackName)).toThrow(/unknown rule pack/);
  });

  it("needs two distinct staff named on a visit", () => {
    const rules = callRulesOf("cn");
    expect(hasVisitStaff(["Li Wei", "Zhang Min"], rules)).toBe(true);
    expect(hasVisitStaff(["Li Wei", " Li Wei ", ""], rules)).toBe(false);
  });
});

describe("contact window (every pack, calls and visits)", () => {
  it.each(RULE_PACKS)("%s: refuses before the window opens, until it opens the same day", (pack) => {
    const verdict = refused(claim(pack, SHANGHAI, "2026-03-10T07:30", []));
    expect(verdict.rule).toBe("contact_window");
    expect(verdict.allowedFrom).toBe("2026-03-10T00:00:00Z");
    expect(verdict.message).toBe("outside the contact window (08:00 to 21:00 borrower time)");
  });

  it("refuses at the window's end, until the next morning (New York)", () => {
    const verdict = refused(claim("us-federal", NEW_YORK, "2026-01-12T21:00", []));
    expect(verdict.rule).toBe("contact_window");
    expect(verdict.allowedFrom).toBe(iso("2026-01-13T08:00", NEW_YORK));
  });

  it("refuses a visit outside the window", () => {
    const verdict = refused(claim("cn", SHANGHAI, "2026-03-10T22:00", [], { kind: "visit" }));
    expect(verdict.rule).toBe("contact_window");
    expect(verdict.allowedFrom).toBe(iso("2026-03-11T08:00", SHANGHAI));
  });
});

describe("cn: connected calls per day", () => {
  it("allows a third connected call and refuses a fourth the same day, until the next day's window", () => {
    expect(claim("cn", SHANGHAI, "2026-03-10T15:00", callsOn("2026-03-10", SHANGHAI, 2, "promise"))).toEqual({
      allowed: true,
    });
    const verdict = refused(
      claim("cn", SHANGHAI, "2026-03-10T15:00", callsOn("2026-03-10", SHANGHAI, 3, "right_party_contact")),
    );
    expect(verdict.rule).toBe("connected_calls_per_day");
    expect(verdict.allowedFrom).toBe("2026-03-11T00:00:00Z");
    expect(verdict.message).toBe("3 connected calls already today (at most 3 under the rule pack)");
  });

  it("counts conversations on any number, not unanswered calls", () => {
    const history = [
      ...callsOn("2026-03-10", SHANGHAI, 2, "dispute"),
      call("2026-03-10T12:00", SHANGHAI, "callback", OTHER),
    ];
    expect(refused(claim("cn", SHANGHAI, "2026-03-10T15:00", history)).rule).toBe("connected_calls_per_day");
    expect(claim("cn", SHANGHAI, "2026-03-10T15:00", callsOn("2026-03-10", SHANGHAI, 3, "busy"))).toEqual({
      allowed: true,
    });
  });

  it("counts by the borrower's calendar day, not UTC's (New York)", () => {
    // 20:00–20:30 EDT on 9 March is already 10 March in UTC: the next local morning is a new day.
    const evening = ["20:00", "20:15", "20:30"].map((t) => call(`2026-03-09T${t}`, NEW_YORK, "refused"));
    expect(claim("cn", NEW_YORK, "2026-03-10T09:00", evening)).toEqual({ allowed: true });
    const verdict = refused(claim("cn", NEW_YORK, "2026-03-09T20:45", evening));
    expect(verdict.rule).toBe("connected_calls_per_day");
    expect(verdict.allowedFrom).toBe("2026-03-10T12:00:00Z");
  });
});

describe("cn: attempts per number per day", () => {
  const six = callsOn("2026-03-10", SHANGHAI, 6, "no_answer");

  it("refuses a seventh attempt to the same number until the next day's window, not another number", () => {
    const verdict = refused(claim("cn", SHANGHAI, "2026-03-10T16:00", six));
    expect(verdict.rule).toBe("attempts_per_number_per_day");
    expect(verdict.allowedFrom).toBe("2026-03-11T00:00:00Z");
    expect(verdict.message).toBe(
      "6 call attempts to this number already today (at most 6 under the rule pack)",
    );
    expect(claim("cn", SHANGHAI, "2026-03-10T16:00", six, { number: OTHER })).toEqual({ allowed: true });
    expect(claim("cn", SHANGHAI, "2026-03-11T08:00", six)).toEqual({ allowed: true });
  });

  it("reads one number however it is spelled, and counts unrecorded numbers against every number", () => {
    expect(
      refused(claim("cn", SHANGHAI, "2026-03-10T16:00", six, { number: "+86 138-0013-8000" })).rule,
    ).toBe("attempts_per_number_per_day");
    const unrecorded = six.map(({ number: _, ...attempt }) => attempt);
    expect(refused(claim("cn", SHANGHAI, "2026-03-10T16:00", unrecorded, { number: OTHER })).rule).toBe(
      "attempts_per_number_per_day",
    );
    expect(refused(claim("cn", SHANGHAI, "2026-03-10T16:00", six, { number: undefined })).rule).toBe(
      "attempts_per_number_per_day",
    );
  });
});

describe("us-federal: attempts in 7 days", () => {
  it("allows the 7th attempt and refuses the 8th until the oldest leaves the 7 days", () => {
    expect(
      claim("us-federal", NEW_YORK, "2026-01-11T15:00", dailyCalls("2026-01-06T10:00", NEW_YORK, 6)),
    ).toEqual({
      allowed: true,
    });
    const verdict = refused(
      claim("us-federal", NEW_YORK, "2026-01-11T15:00", dailyCalls("2026-01-05T10:00", NEW_YORK, 7)),
    );
    expect(verdict.rule).toBe("attempts_per_7_days");
    expect(verdict.allowedFrom).toBe(iso("2026-01-12T10:00", NEW_YORK));
    expect(verdict.message).toBe("7 call attempts in the last 7 days (at most 7 under the rule pack)");
  });

  it("pushes the freeing instant into the window (7 × 24 h across the DST change is 21:30 EDT)", () => {
    const history = [
      call("2026-03-03T20:30", NEW_YORK, "no_answer"),
      ...dailyCalls("2026-03-04T10:00", NEW_YORK, 6),
    ];
    const verdict = refused(claim("us-federal", NEW_YORK, "2026-03-09T15:00", history));
    expect(verdict.rule).toBe("attempts_per_7_days");
    expect(verdict.allowedFrom).toBe(iso("2026-03-11T08:00", NEW_YORK));
  });
});

describe("us-federal: quiet days after a conversation", () => {
  const talked = [call("2026-01-05T14:00", NEW_YORK, "right_party_contact")];

  it("refuses a call 6 days after a conversation and allows one 7 days after", () => {
    const verdict = refused(claim("us-federal", NEW_YORK, "2026-01-11T14:00", talked));
    expect(verdict.rule).toBe("quiet_after_conversation");
    expect(verdict.allowedFrom).toBe(iso("2026-01-12T14:00", NEW_YORK));
    expect(verdict.message).toBe(
      "a conversation with the borrower less than 7 days ago (no call within 7 days after a conversation under the rule pack)",
    );
    expect(claim("us-federal", NEW_YORK, "2026-01-12T14:00", talked)).toEqual({ allowed: true });
  });

  it("runs from the last conversation, pushed into the window", () => {
    const history = [...talked, call("2026-03-03T20:30", NEW_YORK, "promise")];
    const verdict = refused(claim("us-federal", NEW_YORK, "2026-03-09T10:00", history));
    expect(verdict.rule).toBe("quiet_after_conversation");
    expect(verdict.allowedFrom).toBe(iso("2026-03-11T08:00", NEW_YORK));
  });

  it("is not started by an unanswered call or a visit", () => {
    const history = [call("2026-01-10T14:00", NEW_YORK, "no_answer"), visit("2026-01-10T15:00", NEW_YORK)];
    expect(claim("us-federal", NEW_YORK, "2026-01-11T14:00", history)).toEqual({ allowed: true });
  });
});

describe("us-ma: contacts in 7 days", () => {
  const twoVisits = [visit("2026-01-05T11:00", NEW_YORK), visit("2026-01-07T11:00", NEW_YORK)];

  it("refuses a third contact in 7 days, call or visit, until the first leaves the 7 days", () => {
    for (const kind of ["call", "visit"] as const) {
      const verdict = refused(claim("us-ma", NEW_YORK, "2026-01-09T11:00", twoVisits, { kind }));
      expect(verdict.rule).toBe("contacts_per_7_days");
      expect(verdict.allowedFrom).toBe(iso("2026-01-12T11:00", NEW_YORK));
      expect(verdict.message).toBe(
        "2 contacts with the borrower in the last 7 days (at most 2 under the rule pack)",
      );
    }
  });

  it("counts conversations and visits that found the borrower, not a visit to an empty home", () => {
    const history = [call("2026-01-02T11:00", NEW_YORK, "promise"), visit("2026-01-07T11:00", NEW_YORK)];
    expect(refused(claim("us-ma", NEW_YORK, "2026-01-08T11:00", history, { kind: "visit" })).rule).toBe(
      "contacts_per_7_days",
    );
    const notHome = [visit("2026-01-05T11:00", NEW_YORK, "not_home"), visit("2026-01-07T11:00", NEW_YORK)];
    expect(claim("us-ma", NEW_YORK, "2026-01-09T11:00", notHome)).toEqual({ allowed: true });
  });

  it("keeps the federal rules, checked before its own", () => {
    const history = [
      call("2026-01-07T11:00", NEW_YORK, "right_party_contact"),
      visit("2026-01-08T11:00", NEW_YORK),
    ];
    const verdict = refused(claim("us-ma", NEW_YORK, "2026-01-09T11:00", history));
    expect(verdict.rule).toBe("quiet_after_conversation");
    expect(verdict.allowedFrom).toBe(iso("2026-01-14T11:00", NEW_YORK));
  });
});

describe("visits", () => {
  it("ignore the call limits of every pack", () => {
    const cnDay = [
      ...callsOn("2026-03-10", SHANGHAI, 3, "promise"),
      ...callsOn("2026-03-10", SHANGHAI, 6, "no_answer", OTHER),
    ];
    expect(claim("cn", SHANGHAI, "2026-03-10T18:00", cnDay, { kind: "visit" })).toEqual({ allowed: true });
    const week = [
      ...dailyCalls("2026-01-05T10:00", NEW_YORK, 7),
      call("2026-01-11T12:00", NEW_YORK, "refused"),
    ];
    expect(claim("us-federal", NEW_YORK, "2026-01-11T15:00", week, { kind: "visit" })).toEqual({
      allowed: true,
    });
  });
});

describe("allowedFrom", () => {
  it("is when every rule passes, not only the one named", () => {
    // The per-number limit frees at 08:00 on the 11th, but the 7-day limit holds the call until 10:00.
    const rules = callRulesOf("cn", { attemptsPer7DaysPerDebt: 7 });
    const history = [
      call("2026-03-04T10:00", SHANGHAI, "no_answer"),
      ...callsOn("2026-03-10", SHANGHAI, 6, "busy"),
    ];
    const verdict = refused(claim(rules, SHANGHAI, "2026-03-10T16:00", history));
    expect(verdict.rule).toBe("attempts_per_number_per_day");
    expect(verdict.allowedFrom).toBe(iso("2026-03-11T10:00", SHANGHAI));
  });

  it("rounds up to the next whole second", () => {
    const history = [
      { at: "2026-01-05T15:00:00.250Z", kind: "call" as const, number: NUMBER, result: "promise" as const },
    ];
    expect(refused(claim("us-federal", NEW_YORK, "2026-01-08T10:00", history)).allowedFrom).toBe(
      "2026-01-12T15:00:01Z",
    );
  });

  it("refuses to judge an unreadable history or an unknown zone", () => {
    const bad = [{ at: "yesterday", kind: "call" as const, result: "busy" as const }];
    expect(() => claim("cn", SHANGHAI, "2026-03-10T10:00", bad)).toThrow(RangeError);
    expect(() => claim("cn", SHANGHAI, "2026-03-10T10:00", [], { timeZone: "Mars/Olympus" })).toThrow(
      RangeError,
    );
  });
});

describe("urgency", () => {
  const now = new Date("2026-03-10T06:00:00Z");
  const item = (id: string, over: Partial<WorkUrgencyInput>) => ({
    id,
    daysPastDue: 10,
    balance: { amount: "1000.00", currency: "CNY" },
    brokenPromises: 0,
    dueAt: "2026-03-09T00:00:00Z",
    ...over,
  });
  const items = [
    item("plain", {}),
    item("older", { dueAt: "2026-03-01T00:00:00Z" }),
    item("twin", {}),
    item("richer", { balance: { amount: "1000.01", currency: "CNY" } }),
    item("promises", { brokenPromises: 2 }),
    item("later", { daysPastDue: 30 }),
    item("callback", { daysPastDue: 1, callbackDueAt: "2026-03-10T06:00:00Z" }),
    item("callback-not-yet", { daysPastDue: 60, callbackDueAt: "2026-03-10T07:00:00Z" }),
  ];

  it("puts a due callback first, then days past due, broken promises, balance, older due time, input order", () => {
    expect(byUrgency(items, now).map((i) => i.id)).toEqual([
      "callback",
      "callback-not-yet",
      "later",
      "promises",
      "richer",
      "older",
      "plain",
      "twin",
    ]);
  });

  it("is deterministic and leaves its input alone", () => {
    const reversed = [...items].reverse();
    const order = byUrgency(reversed, now).map((i) => i.id);
    expect(order.slice(0, 6)).toEqual([
      "callback",
      "callback-not-yet",
      "later",
      "promises",
      "richer",
      "older",
    ]);
    expect(order.slice(6)).toEqual(["twin", "plain"]);
    expect(reversed[0]?.id).toBe("callback-not-yet");
  });

  it("compares amounts across currencies by number alone", () => {
    const mixed = [
      item("usd", { balance: { amount: "100", currency: "USD" } }),
      item("cny", { balance: { amount: "500", currency: "CNY" } }),
    ];
    expect(byUrgency(mixed, now).map((i) => i.id)).toEqual(["cny", "usd"]);
  });

  it("scores never against the order", () => {
    const scores = byUrgency(items, now).map((i) => urgencyScore(i, now));
    for (let i = 1; i < scores.length; i++) expect(scores[i - 1]).toBeGreaterThanOrEqual(scores[i] as number);
    expect(urgencyScore(item("callback", { callbackDueAt: "2026-03-10T05:00:00Z" }), now)).toBeGreaterThan(
      urgencyScore(item("far", { daysPastDue: 99_999, brokenPromises: 999 }), now),
    );
  });
});
