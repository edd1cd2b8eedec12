import { beforeAll, describe, expect, it } from "vitest";
import { DynamoBorrowerContactStore } from "../../functions/adapters/dynamo/borrower-contacts.ts";
import { borrowerRef } from "../../functions/domain/borrower-contacts.ts";
import { ConcurrentUpdateError } from "../../functions/domain/errors.ts";
import type { CaseRepository } from "../../functions/ports.ts";
import { type FreshTables, freshTables } from "../support/dynamo.ts";
import { harness, invokeSend, PER_BORROWER_POLICY, subscribedLoan, TENANT } from "./claim-race-harness.ts";

/**
 * Two loans of one borrower (a policy with caps per borrower) whose send tasks run at the same instant, on
 * DynamoDB Local: the reservation on
 * the borrower's record is conditional on its version, so exactly one of them takes the day's SMS.
 */

let db: FreshTables;

beforeAll(async () => {
  db = await freshTables();
});

const phoneOf = (n: number) => `+86137${String(n).padStart(8, "0")}`;

describe("per-borrower caps under concurrent sends (DynamoDB Local)", () => {
  it("two loans of one phone sending at once: one SMS between them, both emails, each reserved once", async () => {
    const rounds = 10;
    await Promise.all(
      Array.from({ length: rounds }, async (_, round) => {
        const h = harness(db, [0, 2, 5]);
        const phone = phoneOf(round);
        const inputs = [
          await subscribedLoan(h, "pair", phone, PER_BORROWER_POLICY),
          await subscribedLoan(h, "pair", phone, PER_BORROWER_POLICY),
        ];
        const outcomes = await Promise.all(inputs.map((input) => invokeSend(h.stepDeps, input, [0, 1, 3])));
        expect(outcomes.map((o) => o.kind)).toEqual(["returned", "returned"]);

        const sent = h.sender.log.map((m) => m.channel).sort();
        expect(sent).toEqual(["email", "email", "sms"]);
        const suppressed = await Promise.all(
          inputs.map(async (input) =>
            (await h.cases.auditTrail(TENANT, input.loanId)).filter((e) => e.type === "channel_suppressed"),
          ),
        );
        expect(suppressed.flat().map((e) => e.data)).toEqual([
          { step: "soft_1", channel: "sms", rule: "sms_daily_cap" },
        ]);

        const ref = borrowerRef(TENANT, { phone }) as string;
        const record = await new DynamoBorrowerContactStore(db.client, db).get(TENANT, ref);
        expect(record.contacts.map((c) => c.channel).sort()).toEqual(["email", "email", "sms"]);
      }),
    );
  });

  it("a reservation followed by a lost case claim is not counted again when the send is retried", async () => {
    const h = harness(db);
    const phone = phoneOf(999);
    const input = await subscribedLoan(h, "retry", phone, PER_BORROWER_POLICY);
    // The first claim loses a race with a lender event after the reservation was written.
    let lost = false;
    const cases: CaseRepository = Object.create(h.cases);
    cases.update = async (current, change, at) => {
      if (!lost && change.events.some((e) => e.type === "step_started")) {
        lost = true;
        throw new ConcurrentUpdateError("lost to a lender event");
      }
      return h.cases.update(current, change, at);
    };
    const outcome = await invokeSend({ ...h.stepDeps, cases }, input);
    expect(outcome).toMatchObject({ kind: "returned", attempts: 2 });
    expect(h.sender.log.map((m) => m.channel)).toEqual(["sms", "email"]);

    const ref = borrowerRef(TENANT, { phone }) as string;
    const record = await new DynamoBorrowerContactStore(db.client, db).get(TENANT, ref);
    expect(record.contacts.map((c) => `${c.loanId}/${c.step}/${c.channel}`)).toEqual([
      `${input.loanId}/soft_1/sms`,
      `${input.loanId}/soft_1/email`,
    ]);
    expect(record.version).toBe(1);
  });
});
