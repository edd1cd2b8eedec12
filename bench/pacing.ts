import { randomBytes } from "node:crypto";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { DateTime } from "luxon";
import { makeDocumentClient } from "../functions/adapters/dynamo/client.ts";
import { DEFAULT_POLICY, findStep } from "../functions/domain/policy.ts";
import { startLocalStack } from "../infra/local/stack.ts";
import { loanRequest } from "../test/support/fixtures.ts";
import { jsonClient, log, patientClient } from "./http.ts";
import { expectStatus, ZONE } from "./path-scripts.ts";

/** What a burst of loans due at the same minute did under a tenant's SMS rate. */
export interface PacingRun {
  loans: number;
  rate: number;
  window: { start: string; end: string };
  sms: number;
  /** The most SMS handed to the provider in any one second. */
  maxPerSecond: number;
  /** SMS whose borrower-local time lies outside the contact window. */
  outsideWindow: number;
  /** `step_deferred` entries with rule `send_capacity`. */
  deferrals: number;
  /** Seconds from the first SMS to the last. */
  spreadSeconds: number;
  /** Send task invocations per loan (a step with no room at once wakes again at its place). */
  sendInvocationsPerLoan: number;
  /** Task retries of every execution (any error: under a burst, DynamoDB Local answers late). */
  retries: number;
  /** Wall-clock seconds: subscribing, and running the day on the virtual clock. */
  subscribeSeconds: number;
  runSeconds: number;
}

const BATCH = 500;
const POLICY = "paced-bench";

/**
 * `loans` loans whose one SMS step (D−3, 10:00 Shanghai time) falls due in the same minute, under a tenant
 * paced at `rate` SMS a second and the contact window 08:00–21:00 (or to `windowEnd`): an in-process local stack on a
 * frozen virtual clock, the day run through `POST /local/clock/advance`, the outbox and the audit table read.
 */
export async function measurePacing(
  dynamoEndpoint: string,
  loans: number,
  rate: number,
  windowEnd?: string,
): Promise<PacingRun> {
  const tablePrefix = `bench-paced-${randomBytes(3).toString("hex")}-`;
  const stack = await startLocalStack({
    clockStart: new Date("2026-01-05T00:00:00Z"),
    frozen: true,
    port: 0,
    dynamoEndpoint,
    tablePrefix,
  });
  try {
    const lender = jsonClient(stack.url, stack.keys.lender);
    const ops = jsonClient(stack.url, stack.keys.ops);
    // A slice of the clock with thousands of sends in it takes minutes to run.
    const local = patientClient(stack.url);
    const { id: _id, version: _version, templates: _templates, ...rules } = DEFAULT_POLICY;
    // An earlier end of the window leaves what does not fit for the next day's opening (`send_capacity`).
    const contactWindow = { ...rules.contactWindow, ...(windowEnd ? { end: windowEnd } : {}) };
    const policy = { ...rules, contactWindow, steps: [findStep(DEFAULT_POLICY, "pre_due_3")] };
    await expectStatus(ops("PUT", `/v1/policies/${POLICY}`, policy), 201);
    await expectStatus(ops("PUT", "/v1/settings", { sendRates: { sms: rate } }), 200);
    const began = performance.now();
    const tag = randomBytes(3).toString("hex");
    for (let first = 0; first < loans; first += BATCH) {
      const batch = Array.from({ length: Math.min(BATCH, loans - first) }, (_, i) =>
        loanRequest(`paced-${tag}-${first + i}`, { policyId: POLICY }),
      );
      await expectStatus(lender("POST", "/v1/loans:batch", { loans: batch }), 207);
      log(`paced: ${Math.min(loans, first + BATCH)} of ${loans} loans subscribed`);
    }
    const subscribeSeconds = (performance.now() - began) / 1000;
    const invocations = stack.lambdas.send.invocations;
    const ran = performance.now();
    // D−3 of 2026-01-15 is 2026-01-12, 10:00 local (02:00Z); a slice at a time, to show progress.
    const end = DateTime.fromISO("2026-01-14T00:00:00Z");
    for (let at = DateTime.fromISO("2026-01-12T01:59:00Z"); at < end; at = at.plus({ minutes: 10 })) {
      await expectStatus(local("POST", "/local/clock/advance", { to: at.toUTC().toISO() }), 200);
      const out = stack.outbox.list({ channel: "sms" }).length;
      log(`paced: clock at ${at.toUTC().toISO()}, ${out} SMS out`);
      if (out >= loans) break;
    }
    await expectStatus(local("POST", "/local/clock/advance", { to: end.toUTC().toISO() }), 200);
    const runSeconds = (performance.now() - ran) / 1000;
    const sms = stack.outbox.list({ channel: "sms" });
    const perSecond = new Map<string, number>();
    for (const m of sms) perSecond.set(m.sentAt, (perSecond.get(m.sentAt) ?? 0) + 1);
    const instants = sms.map((m) => Date.parse(m.sentAt));
    const window = policy.contactWindow;
    const outside = sms.filter((m) => {
      const local = DateTime.fromISO(m.sentAt).setZone(ZONE).toFormat("HH:mm");
      return local < window.start || local >= window.end;
    });
    return {
      loans,
      rate,
      window,
      sms: sms.length,
      maxPerSecond: Math.max(0, ...perSecond.values()),
      outsideWindow: outside.length,
      deferrals: await capacityDeferrals(dynamoEndpoint, `${tablePrefix}dunning-audit`),
      spreadSeconds: instants.length ? (Math.max(...instants) - Math.min(...instants)) / 1000 : 0,
      sendInvocationsPerLoan: (stack.lambdas.send.invocations - invocations) / loans,
      retries: stack.engine.allExecutions().reduce((n, e) => n + e.retries, 0),
      subscribeSeconds,
      runSeconds,
    };
  } finally {
    await stack.stop();
  }
}

/** `step_deferred` entries with rule `send_capacity` in the audit table. */
async function capacityDeferrals(endpoint: string, table: string): Promise<number> {
  const client = makeDocumentClient({ endpoint });
  let count = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: table,
        FilterExpression: "#type = :deferred AND #data.#rule = :rule",
        ExpressionAttributeNames: { "#type": "type", "#data": "data", "#rule": "rule" },
        ExpressionAttributeValues: { ":deferred": "step_deferred", ":rule": "send_capacity" },
        Select: "COUNT",
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    count += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start);
  return count;
}
