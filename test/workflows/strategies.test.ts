import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../../infra/local/stack.ts";
import { type apiClient, loanRequest } from "./client.ts";
import { startTestStack } from "./test-stack.ts";

/**
 * Strategies over HTTP on the embedded stack: segments choose each new loan's policy, a 50/50 split between a
 * champion and a challenger, sticky arms, a reclassification that moves a running case to another policy without
 * sending anything twice, the per-arm report against the audit trail, and invalid strategies refused.
 */
let stack: LocalStack;
let lender: ReturnType<typeof apiClient>;
let ops: ReturnType<typeof apiClient>;
let local: ReturnType<typeof apiClient>;
const run = randomBytes(3).toString("hex");

interface Loan {
  loanId: string;
  policy: { id: string; version: number };
  segment: {
    strategy: { segment: string; arm: string; policyId: string; strategy: { version: number } } | null;
  };
}

/** A subscription that names no policy: the tenant's strategy chooses. */
function unpinned(loanId: string, overrides: Record<string, unknown> = {}) {
  const { policyId: _named, ...request } = loanRequest(loanId, overrides);
  return request;
}

const policyFile = (name: string) => {
  const { comment: _comment, ...rules } = JSON.parse(readFileSync(`examples/${name}`, "utf8"));
  return { ...rules, applyTo: "new_loans" };
};

const STRATEGY = {
  description: "by risk and kind of borrower",
  active: true,
  rules: [
    { segment: "vip", when: { score: { min: 700 } }, policyId: "gentle" },
    { segment: "malicious", when: { customerType: ["malicious"] }, policyId: "fast-legal" },
    {
      segment: "trial",
      when: { product: ["trial"] },
      split: [
        { arm: "champion", policyId: "default", percent: 50 },
        { arm: "challenger", policyId: "gentle", percent: 50 },
      ],
    },
    { segment: "rest", policyId: "default" },
  ],
};

beforeAll(async () => {
  ({ stack, lender, ops, local } = await startTestStack(`strat-${run}-`));
  expect((await ops.call("PUT", "/v1/policies/gentle", policyFile("policy-gentle.json"))).status).toBe(201);
  expect((await ops.call("PUT", "/v1/policies/fast-legal", policyFile("policy-firm.json"))).status).toBe(201);
});

afterAll(async () => {
  await stack?.stop();
});

async function allLoans(): Promise<Loan[]> {
  const loans: Loan[] = [];
  let cursor: string | null = null;
  do {
    const page: { status: number; body: { items: Loan[]; nextCursor: string | null } } = await lender.get(
      `/v1/loans?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
    );
    expect(page.status).toBe(200);
    loans.push(...page.body.items);
    cursor = page.body.nextCursor;
  } while (cursor);
  return loans;
}

describe("strategies", () => {
  it("refuses invalid strategies with the paths at fault, and stores nothing", async () => {
    const bad = [
      {
        rules: [
          {
            segment: "all",
            split: [
              { arm: "champion", policyId: "default", percent: 60 },
              { arm: "b", policyId: "gentle", percent: 30 },
            ],
          },
        ],
        path: "rules[0].split",
      },
      { rules: [{ segment: "all", policyId: "no-such-policy" }], path: "rules[0].policyId" },
      {
        rules: [
          { segment: "all", policyId: "default" },
          { segment: "late", when: { daysPastDue: { min: 30 } }, policyId: "gentle" },
        ],
        path: "rules[1]",
      },
    ];
    for (const { rules, path } of bad) {
      const answer = await ops.call("PUT", "/v1/strategies/broken", { rules });
      expect(answer.status, JSON.stringify(answer.body)).toBe(400);
      expect(answer.body.error.code).toBe("VALIDATION_FAILED");
      const paths = (answer.body.error.details as { path: string }[]).map((d) => d.path);
      expect(
        paths.some((p) => p.startsWith(path)),
        `${paths} should name ${path}`,
      ).toBe(true);
    }
    expect((await ops.get("/v1/strategies/broken")).status).toBe(404);
    // A lender may read strategies but not change them.
    expect((await lender.call("PUT", "/v1/strategies/broken", STRATEGY)).status).toBe(403);
  });

  it("gives each new loan the policy of its segment, splits a segment 50/50 and keeps every loan on its arm", async () => {
    const stored = await ops.call("PUT", "/v1/strategies/main", STRATEGY);
    expect(stored.status, JSON.stringify(stored.body)).toBe(201);
    expect(stored.body).toMatchObject({ id: "main", version: 1, active: true });
    // The same rules again store nothing new.
    expect((await ops.call("PUT", "/v1/strategies/main", STRATEGY)).status).toBe(200);

    const vip = (await lender.post("/v1/loans", unpinned(`vip-${run}`, { risk: { score: 820, grade: "A" } })))
      .body;
    const plain = (await lender.post("/v1/loans", unpinned(`plain-${run}`, { risk: { score: 400 } }))).body;
    const named = (await lender.post("/v1/loans", loanRequest(`named-${run}`, { risk: { score: 900 } })))
      .body;
    expect(vip.policy.id).toBe("gentle");
    expect(vip.segment.strategy).toMatchObject({ segment: "vip", arm: "champion", policyId: "gentle" });
    expect(plain.policy.id).toBe("default");
    expect(plain.segment.strategy).toMatchObject({ segment: "rest" });
    // A loan that names its policy keeps it, whatever its segment.
    expect(named.policy.id).toBe("default");
    expect(named.segment.strategy).toBeNull();

    const trial = Array.from({ length: 1000 }, (_, i) =>
      // Due in June: parked beyond the workflow's horizon, so a thousand loans cost no execution yet.
      unpinned(`trial-${run}-${i}`, { product: "trial", risk: { score: 300 }, dueDate: "2026-06-30" }),
    );
    for (const loans of [trial.slice(0, 500), trial.slice(500)]) {
      const answer = await lender.post("/v1/loans:batch", { loans });
      expect(answer.status).toBe(207);
      expect(answer.body.results.filter((r: { outcome: string }) => r.outcome !== "created")).toEqual([]);
    }
    const arms = async () =>
      new Map(
        (await allLoans())
          .filter((loan) => loan.segment.strategy?.segment === "trial")
          .map((loan) => [loan.loanId, loan.segment.strategy?.arm]),
      );
    const before = await arms();
    expect(before.size).toBe(1000);
    const champions = [...before.values()].filter((arm) => arm === "champion").length;
    expect(champions).toBeGreaterThanOrEqual(450);
    expect(champions).toBeLessThanOrEqual(550);
    const loans = await allLoans();
    for (const loan of loans.filter((l) => l.segment.strategy?.segment === "trial")) {
      expect(loan.policy.id).toBe(loan.segment.strategy?.arm === "champion" ? "default" : "gentle");
    }

    // The challenger wins: promoted, it is what new trial loans run; running ones stay on their arm.
    const promoted = await ops.post("/v1/strategies/main:promote", { segment: "trial", arm: "challenger" });
    expect(promoted.status, JSON.stringify(promoted.body)).toBe(201);
    expect(promoted.body.version).toBe(2);
    const late = (
      await lender.post(
        "/v1/loans",
        unpinned(`trial-late-${run}`, { product: "trial", dueDate: "2026-06-30" }),
      )
    ).body;
    expect(late.policy.id).toBe("gentle");
    expect(late.segment.strategy).toMatchObject({ arm: "champion", strategy: { version: 2 } });
    // An assessment that leaves a case in its segment does not move it off its arm.
    for (const loanId of [...before.keys()].slice(0, 10)) {
      const answer = await lender.post(`/v1/loans/${loanId}/events`, {
        type: "customer_type_assessed",
        customerType: "temporary",
      });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    }
    const after = await arms();
    for (const [loanId, arm] of before) expect(after.get(loanId), loanId).toBe(arm);
  });

  it("moves a case assessed malicious to the fast policy without sending anything twice", async () => {
    const loanId = `turn-${run}`;
    const subscribed = await lender.post("/v1/loans", unpinned(loanId, { risk: { score: 500 } }));
    expect(subscribed.body.policy.id).toBe("default");
    // D−7 email and D−3 SMS of the default policy go out.
    expect((await local.post("/local/clock/advance", { to: "2026-01-12T06:00:00Z" })).status).toBe(200);
    const assessed = await lender.post(`/v1/loans/${loanId}/events`, {
      type: "customer_type_assessed",
      customerType: "malicious",
      reason: "promised twice, paid nothing, changed phone",
    });
    expect(assessed.status, JSON.stringify(assessed.body)).toBe(200);
    expect(assessed.body.policy.id).toBe("fast-legal");
    expect(assessed.body.segment).toMatchObject({
      customerType: "malicious",
      strategy: { segment: "malicious", policyId: "fast-legal" },
    });
    expect((await local.post("/local/clock/advance", { to: "2026-01-18T06:00:00Z" })).status).toBe(200);

    const trail = (await lender.get(`/v1/loans/${loanId}/audit`)).body.entries as {
      type: string;
      at: string;
      data: Record<string, unknown>;
    }[];
    const moved = trail.find((e) => e.type === "strategy_reassigned");
    expect(moved?.data).toMatchObject({
      cause: "customer_type_assessed",
      from: { segment: "rest", policy: { id: "default" } },
      to: { segment: "malicious", policy: { id: "fast-legal" } },
    });
    const sent = trail.filter((e) => e.type === "message_sent");
    const keys = sent.map((e) => `${e.data.step}:${e.data.channel}`);
    // Nothing twice: the D−3 SMS both policies have went out once, under the policy in force then.
    expect(new Set(keys).size, keys.join(" ")).toBe(keys.length);
    expect(
      keys.filter((k) => k === "pre_due_3:sms"),
      trail.map((e) => e.type).join(" "),
    ).toHaveLength(1);
    const afterMove = sent.filter((e) => e.at > (moved?.at ?? ""));
    expect(afterMove.length).toBeGreaterThan(0);
    for (const message of afterMove) expect(message.data.policy).toMatchObject({ id: "fast-legal" });
    const outbox = (await local.get(`/local/outbox?loanId=${loanId}`)).body.messages as unknown[];
    expect(outbox).toHaveLength(sent.length);
  });

  it("reports each arm's figures as the audit trails give them", async () => {
    const report = await ops.get("/v1/reports/strategies?strategy=main");
    expect(report.status, JSON.stringify(report.body)).toBe(200);
    const arms = report.body.arms as {
      segment: string;
      arm: string;
      loans: number;
      messagesPerLoan: number;
    }[];
    const trial = arms.filter((a) => a.segment === "trial");
    expect(trial.reduce((sum, a) => sum + a.loans, 0)).toBe(1001);
    // None of them is 30 days old yet: no comparison is made, and the report says why.
    const challenger = trial.find((a) => a.arm === "challenger") as { versusChampion?: unknown };
    expect(challenger.versusChampion).toBeUndefined();
    expect((report.body.notes as string[]).join(" ")).toMatch(/trial/);

    // The vip segment's messages per loan, counted again from its loan's own trail.
    const vip = arms.find((a) => a.segment === "vip");
    const trail = (await lender.get(`/v1/loans/vip-${run}/audit`)).body.entries as { type: string }[];
    expect(vip?.loans).toBe(1);
    expect(vip?.messagesPerLoan).toBe(trail.filter((e) => e.type === "message_sent").length);
    expect(vip?.messagesPerLoan).toBeGreaterThan(0);

    const refused = await ops.get("/v1/reports/strategies?strategy=main&from=2026-02-01&to=2026-01-01");
    expect(refused.status).toBe(400);
  });
  it("places a case anew when a lapsed promise moves it into another segment", async () => {
    const lapsed = { segment: "lapsed", when: { brokenPromises: { min: 1 } }, policyId: "fast-legal" };
    const stored = await ops.call("PUT", "/v1/strategies/main", {
      ...STRATEGY,
      rules: [lapsed, ...STRATEGY.rules],
    });
    expect(stored.status, JSON.stringify(stored.body)).toBe(201);
    const loanId = `lapse-${run}`;
    const subscribed = await lender.post("/v1/loans", unpinned(loanId, { dueDate: "2026-01-25" }));
    expect(subscribed.body.segment.strategy).toMatchObject({ segment: "rest", policyId: "default" });
    const promise = await lender.post(`/v1/loans/${loanId}/events`, {
      type: "promise_to_pay",
      amount: { amount: "100.00", currency: "CNY" },
      promisedDate: "2026-01-20",
    });
    expect(promise.status, JSON.stringify(promise.body)).toBe(200);
    // The promise lapses on the 20th; it is reviewed at the next opening of the window, and the case re-placed.
    expect((await local.post("/local/clock/advance", { to: "2026-01-22T06:00:00Z" })).status).toBe(200);
    const loan = (await lender.get(`/v1/loans/${loanId}`)).body;
    expect(loan.policy.id).toBe("fast-legal");
    expect(loan.segment).toMatchObject({ brokenPromises: 1, strategy: { segment: "lapsed" } });
    const trail = (await lender.get(`/v1/loans/${loanId}/audit`)).body.entries as {
      type: string;
      data: Record<string, unknown>;
    }[];
    expect(trail.map((e) => e.type)).toEqual(
      expect.arrayContaining(["promise_broken", "strategy_reassigned"]),
    );
    expect(trail.find((e) => e.type === "strategy_reassigned")?.data).toMatchObject({
      cause: "segment_changed",
      to: { segment: "lapsed", policy: { id: "fast-legal" } },
    });
    const keys = trail
      .filter((e) => e.type === "message_sent")
      .map((e) => `${e.data.step}:${e.data.channel}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
