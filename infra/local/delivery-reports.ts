import { logger } from "../../functions/logger.ts";
import type { CaseRepository, Clock } from "../../functions/ports.ts";
import { recordDelivery } from "../../functions/usecases/delivery.ts";
import type { ExecutionState } from "../../functions/usecases/workflow-steps.ts";
import type { Outbox } from "./outbox.ts";

/**
 * The outbox "delivers" every message it accepts; this reports it, as SES events do on AWS. It wraps the
 * send task: once the step has returned (or failed) — so its `message_sent` entries are on the trail —
 * each message the outbox took for that loan is recorded as `delivered`, before the task's result goes
 * back to the engine. The engine counts a task as pending until then, so `POST /local/clock/advance`
 * returns only after the delivery entries are written, and their order in the trail is fixed.
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
      for (const message of deps.outbox.takeUnreported(state.tenantId, state.loanId)) {
        await recordDelivery(deps, {
          tenantId: message.tenantId,
          loanId: message.loanId,
          providerMessageId: message.id,
          channel: message.channel,
          status: "delivered",
          occurredAt: message.sentAt,
        }).catch((error: unknown) => {
          // It must not fail the step that sent the message, nor be lost: the loan's next report retries it.
          deps.outbox.returnUnreported(message);
          logger.warn("local delivery report not recorded yet", {
            tenantId: message.tenantId,
            loanId: message.loanId,
            providerMessageId: message.id,
            error: (error as Error).name,
          });
        });
      }
    }
  };
}
