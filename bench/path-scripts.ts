import type { DateTime } from "luxon";
import { exampleBorrower, loanRequest } from "../test/support/fixtures.ts";
import type { JsonResponse } from "./http.ts";

/** The workflow paths measured one loan at a time, in the order they are reported. */
export const PATHS = ["paid_before_due", "paid_in_soft_collection", "promise_kept", "to_legal"] as const;
export type PathName = (typeof PATHS)[number];

export const PATH_TITLES: Record<PathName, string> = {
  paid_before_due: "Paid before due",
  paid_in_soft_collection: "Paid in soft collection",
  promise_kept: "Promise to pay kept",
  to_legal: "To legal",
};

/** The borrower's time zone, in which the scripts count days. */
export const ZONE = exampleBorrower().timeZone;
export const CNY = (amount: string) => ({ amount, currency: "CNY" });

/** The tests' example loan (CNY 1250.00, its borrower in ZONE), due on `dueDate`. */
export const loanBody = (loanId: string, dueDate: string) => loanRequest(loanId, { dueDate });

export interface PathDriver {
  /** An API call, metered as API work. */
  api(method: string, path: string, body?: unknown): Promise<JsonResponse>;
  advanceTo(instant: DateTime): Promise<void>;
  today(): Promise<DateTime>;
}

const at = (date: DateTime, days: number, time: string) => {
  const [hour, minute] = time.split(":").map(Number);
  return date.plus({ days }).set({ hour: hour ?? 0, minute: minute ?? 0 });
};

/** Each path as a lender and borrower would walk it: subscribe, let time pass, pay or promise. */
export const SCRIPTS: Record<PathName, (loanId: string, d: PathDriver) => Promise<void>> = {
  async paid_before_due(loanId, d) {
    const due = (await d.today()).plus({ days: 14 });
    await expectStatus(d.api("POST", "/v1/loans", loanBody(loanId, due.toISODate() as string)), 201);
    await d.advanceTo(at(due, -2, "12:00"));
    await expectStatus(
      d.api("POST", `/v1/loans/${loanId}/events`, { type: "payment", amount: CNY("1250.00") }),
      200,
    );
    await d.advanceTo(at(due, 60, "12:00"));
  },
  async paid_in_soft_collection(loanId, d) {
    const due = (await d.today()).plus({ days: 10 });
    await expectStatus(d.api("POST", "/v1/loans", loanBody(loanId, due.toISODate() as string)), 201);
    await d.advanceTo(at(due, 5, "12:00"));
    await expectStatus(
      d.api("POST", `/v1/loans/${loanId}/events`, { type: "payment", amount: CNY("1250.00") }),
      200,
    );
    await d.advanceTo(at(due, 60, "12:00"));
  },
  async promise_kept(loanId, d) {
    const due = (await d.today()).plus({ days: 10 });
    await expectStatus(d.api("POST", "/v1/loans", loanBody(loanId, due.toISODate() as string)), 201);
    await d.advanceTo(at(due, 2, "12:00"));
    await expectStatus(
      d.api("POST", `/v1/loans/${loanId}/events`, {
        type: "promise_to_pay",
        amount: CNY("1250.00"),
        promisedDate: due.plus({ days: 6 }).toISODate(),
      }),
      200,
    );
    await d.advanceTo(at(due, 5, "12:00"));
    await expectStatus(
      d.api("POST", `/v1/loans/${loanId}/events`, { type: "payment", amount: CNY("1250.00") }),
      200,
    );
    await d.advanceTo(at(due, 40, "12:00"));
  },
  async to_legal(loanId, d) {
    const due = (await d.today()).plus({ days: 10 });
    await expectStatus(d.api("POST", "/v1/loans", loanBody(loanId, due.toISODate() as string)), 201);
    await d.advanceTo(at(due, 60, "12:00"));
  },
};

export async function expectStatus(response: Promise<JsonResponse>, status: number): Promise<JsonResponse> {
  const res = await response;
  if (res.status !== status) {
    throw new Error(`expected HTTP ${status}, got ${res.status}: ${JSON.stringify(res.body)}`);
  }
  return res;
}
