import type { DynamoWorkflowWakes } from "../../functions/adapters/dynamo/wake-index.ts";
import { DEFAULT_HORIZON_DAYS, wakeableFrom } from "../../functions/domain/workflow-horizon.ts";
import { STALLED_AFTER_MS } from "../../functions/usecases/workflow-health.ts";
import type { LocalWorkflowEngine } from "./engine.ts";
import type { LocalLambda } from "./lambda-runtime.ts";

/** As often as the reconciler runs on AWS (its EventBridge schedule). */
const RECONCILE_EVERY_MS = 5 * 60_000;
/** The EventBridge scheduled event the reconciler gets on AWS. */
const scheduledEvent = (nowMs: number) => ({
  version: "0",
  "detail-type": "Scheduled Event",
  source: "aws.events",
  time: new Date(nowMs).toISOString(),
  detail: {},
});
/** The stack's horizon: its option, else WORKFLOW_HORIZON_DAYS as the functions read it, else the default. */
export function horizonDaysOf(options: { horizonDays?: number }): number {
  if (options.horizonDays !== undefined) return options.horizonDays;
  const fromEnv = process.env.WORKFLOW_HORIZON_DAYS;
  return fromEnv && /^\d+$/.test(fromEnv) ? Number(fromEnv) : DEFAULT_HORIZON_DAYS;
}

/**
 * The reconciler runs on the stack's clock. On AWS it runs every few minutes and mostly finds nothing; here it
 * runs when it can find something: five minutes after the earliest wake of any case passes the grace, or when the
 * earliest parked case comes within the horizon (the waker is part of it). Like its schedule, it runs at most
 * once every five virtual minutes; and the index is read at most that often too, and after every run (a running
 * clock asks four times a second).
 */
export function scheduleReconciler(
  engine: LocalWorkflowEngine,
  wakes: DynamoWorkflowWakes,
  reconciler: LocalLambda,
  horizonDays: number,
) {
  let lastRunMs = Number.NEGATIVE_INFINITY;
  let known: { atMs: number; dueMs: number | null } | undefined;
  const dueOf = async (): Promise<number | null> => {
    const [earliest, parked] = await Promise.all([wakes.earliest(), wakes.earliestParked()]);
    const dues = [
      ...(earliest ? [Date.parse(earliest) + STALLED_AFTER_MS + RECONCILE_EVERY_MS] : []),
      ...(parked ? [wakeableFrom(Date.parse(parked), horizonDays)] : []),
    ];
    return dues.length > 0 ? Math.min(...dues) : null;
  };
  engine.schedule({
    nextAt: async (nowMs) => {
      if (!known || nowMs - known.atMs >= RECONCILE_EVERY_MS) known = { atMs: nowMs, dueMs: await dueOf() };
      if (known.dueMs === null) return null;
      return Math.max(nowMs, known.dueMs, lastRunMs + RECONCILE_EVERY_MS);
    },
    run: async (nowMs) => {
      lastRunMs = nowMs;
      known = undefined;
      await reconciler.invoke(scheduledEvent(nowMs));
    },
  });
}
