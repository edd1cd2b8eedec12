import { randomBytes } from "node:crypto";
import { DateTime } from "luxon";
import type { ExecutionRecord } from "../infra/local/engine.ts";
import { startLocalStack } from "../infra/local/stack.ts";
import { loanRequest } from "../test/support/fixtures.ts";
import { jsonClient, log } from "./http.ts";
import { CNY, expectStatus, ZONE } from "./path-scripts.ts";
import { taskKinds } from "./workflow.ts";

/** AWS Step Functions keeps at most this many events in one Standard execution's history. */
export const HISTORY_EVENT_LIMIT = 25_000;
const DAY_MS = 86_400_000;
const INSTALLMENT = "100.00";
/** Days after its due date the missed installment is paid: soft collection runs for it, then the payment cures. */
const MISSED_PAID_AFTER_DAYS = 5;

/** One execution of the loan, as its history would read on AWS. */
export interface ExecutionFigures {
  name: string;
  status: string;
  states: number;
  retries: number;
  /** Send and HandOff tasks entered. */
  steps: number;
  taskCalls: number;
  /** Estimated history events (see historyEventsOf). */
  historyEvents: number;
  /** Virtual days from its start to its end (to the end of the run while it still runs). */
  openDays: number;
  /** Ended by handing over to the next execution of its generation (the `continue` phase). */
  handedOver: boolean;
}

export interface InstallmentRun {
  installments: number;
  /** 1-based number of the installment paid late, then cured. */
  missed: number;
  executions: ExecutionFigures[];
  finalStatus: string;
  messages: { email: number; sms: number; softCollection: number };
  /** Wall-clock seconds the loan's life took on this machine. */
  seconds: number;
}

/**
 * History events of a Standard execution: ExecutionStarted and its end; Entered and Exited for every state; and per
 * Lambda invocation (retries included) Scheduled, Started and Succeeded or Failed. A stopped execution's last state
 * never exits, so this is an upper bound by one.
 */
export function historyEventsOf(e: Pick<ExecutionRecord, "states" | "taskCalls">): number {
  return 2 + 2 * e.states.length + 3 * e.taskCalls;
}

/** A monthly schedule of `count` installments from mid-February, every one of INSTALLMENT. */
function monthlySchedule(count: number) {
  const first = DateTime.fromISO("2026-02-15", { zone: ZONE });
  return Array.from({ length: count }, (_, k) => ({
    dueDate: first.plus({ months: k }).toISODate() as string,
    amount: CNY(INSTALLMENT),
  }));
}

/**
 * A loan of `count` monthly installments lives its whole life through the HTTP API of an in-process stack on a
 * frozen virtual clock: subscribed, every installment paid the day before it falls due except installment
 * `missed`, paid five days late (soft collection, then a cure), until paid in full. Each execution's states,
 * invocations and open time come from the local engine, which runs the real ASL.
 */
export async function measureInstallmentLoan(
  dynamoEndpoint: string,
  count: number,
  missed: number,
): Promise<InstallmentRun> {
  const began = performance.now();
  const stack = await startLocalStack({
    clockStart: new Date("2026-01-05T00:00:00Z"),
    frozen: true,
    port: 0,
    dynamoEndpoint,
    tablePrefix: `bench-installments-${randomBytes(3).toString("hex")}-`,
  });
  try {
    const lender = jsonClient(stack.url, stack.keys.lender);
    const local = jsonClient(stack.url);
    const advanceTo = (instant: DateTime) =>
      expectStatus(local("POST", "/local/clock/advance", { to: instant.toUTC().toISO() }), 200);
    const loanId = `bench-installments-${randomBytes(3).toString("hex")}`;
    const schedule = monthlySchedule(count);
    const body = loanRequest(loanId, { dueDate: undefined, amountDue: undefined, schedule });
    await expectStatus(lender("POST", "/v1/loans", body), 201);
    for (const [index, { dueDate }] of schedule.entries()) {
      const due = DateTime.fromISO(dueDate, { zone: ZONE }).set({ hour: 12 });
      await advanceTo(
        index + 1 === missed ? due.plus({ days: MISSED_PAID_AFTER_DAYS }) : due.minus({ days: 1 }),
      );
      const payment = { type: "payment", amount: CNY(INSTALLMENT) };
      await expectStatus(lender("POST", `/v1/loans/${loanId}/events`, payment), 200);
      if ((index + 1) % 6 === 0) log(`installments: ${index + 1} of ${count} paid`);
    }
    const last = DateTime.fromISO(schedule.at(-1)?.dueDate as string, { zone: ZONE });
    await advanceTo(last.plus({ days: 60 }));
    await stack.engine.settle();
    const finalStatus = (await lender("GET", `/v1/loans/${loanId}`)).body.status as string;
    const messages = stack.outbox.list({ loanId });
    const kinds = taskKinds();
    const endMs = stack.clock.nowMs();
    const executions = stack.engine
      .allExecutions()
      .filter((e) => (e.input as { loanId?: string }).loanId === loanId)
      .map(
        (e): ExecutionFigures => ({
          name: e.name,
          status: e.status,
          states: e.states.length,
          retries: e.retries,
          steps: e.states.filter((s) => kinds.get(s) === "step").length,
          taskCalls: e.taskCalls,
          historyEvents: historyEventsOf(e),
          openDays: ((e.endedAtMs ?? endMs) - e.startedAtMs) / DAY_MS,
          handedOver: e.states.includes("Continued in a new execution"),
        }),
      );
    return {
      installments: count,
      missed,
      executions,
      finalStatus,
      messages: {
        email: messages.filter((m) => m.channel === "email").length,
        sms: messages.filter((m) => m.channel === "sms").length,
        softCollection: messages.filter((m) => m.stage === "soft_collection").length,
      },
      seconds: (performance.now() - began) / 1000,
    };
  } finally {
    await stack.stop();
  }
}
