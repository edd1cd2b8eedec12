import type { CaseRepository, Clock } from "../../functions/ports.ts";
import { logger } from "../../functions/powertools.ts";
import { type DeliveryReport, recordDeliveries } from "../../functions/usecases/delivery.ts";
import type { ExecutionState } from "../../functions/usecases/workflow-steps.ts";
import type { Outbox, OutboxMessage } from "./outbox.ts";

/**
 * The outbox "delivers" every message it accepts; this reports it, as SES events do on AWS. It wraps the
 * send task: once the step has returned (or failed) — so its `message_sent` entries are on the trail —
 * the messages the outbox took for that loan are recorded as `delivered` (together, in one write), before the
 * task's result goes back to the engine. The engine counts a task as pending until then, so
 * `POST /local/clock/advance` returns only after the delivery entries are written, and their order in the
 * trail is fixed.
 */
export function reportingDeliveries(
  send: (input: ExecutionState) => Promise<unknown>,
  deps: { outbox: Outbox; cases: CaseRepository; clock: Clock },
) {
  return async (input: unknown): Promise<unknown> => {
    const state = input as ExecutionState;
    try {
      return await send(state);
    } finally {
      await report(deps.outbox.takeUnreported(state.tenantId, state.loanId), deps);
    }
  };
}

/**
 * Reports what the outbox took but never reported — messages sent just before the stack stopped or crashed —
 * as SES would still deliver their events after our side went down. Returns how many were recorded.
 */
export async function reportPending(deps: ReportDeps): Promise<number> {
  return report(deps.outbox.takeAllUnreported(), deps);
}

type ReportDeps = { outbox: Outbox; cases: CaseRepository; clock: Clock };

/** Each loan's messages in one write (a step's messages arrive together, as an SNS batch could bring them). */
async function report(messages: OutboxMessage[], deps: ReportDeps): Promise<number> {
  const byLoan = new Map<string, OutboxMessage[]>();
  for (const message of messages) {
    const loan = `${message.tenantId}\u0000${message.loanId}`;
    byLoan.set(loan, [...(byLoan.get(loan) ?? []), message]);
  }
  let recorded = 0;
  for (const loanMessages of byLoan.values()) {
    try {
      await recordDeliveries(deps, loanMessages.map(deliveredReport));
      for (const message of loanMessages) deps.outbox.markReported(message);
      recorded += loanMessages.length;
    } catch (error) {
      // It must not fail the step that sent the messages, nor be lost: the loan's next report (or the next start
      // on the same data) tries again; what did get recorded is then a duplicate, recorded once.
      for (const message of loanMessages) deps.outbox.returnUnreported(message);
      const [{ tenantId, loanId }] = loanMessages as [OutboxMessage];
      logger.warn("local delivery reports not recorded yet", {
        tenantId,
        loanId,
        providerMessageIds: loanMessages.map((message) => message.id),
        error: (error as Error).name,
      });
    }
  }
  return recorded;
}

const deliveredReport = (message: OutboxMessage): DeliveryReport => ({
  tenantId: message.tenantId,
  loanId: message.loanId,
  providerMessageId: message.id,
  channel: message.channel,
  status: "delivered",
  occurredAt: message.sentAt,
});
