import { conflictBackoff } from "../concurrency.ts";
import { ConcurrentUpdateError, NotFoundError } from "../domain/errors.ts";
import { isCollectable, type LoanCase } from "../domain/loan-case.ts";
import type { Policy } from "../domain/policy.ts";
import {
  type ApplicationMessage,
  type ApplicationProgress,
  applicationView,
  type CaseOutcome,
  countPage,
  decideMessage,
  type PolicyApplication,
  pageDelaySeconds,
} from "../domain/policy-application.ts";
import { toInstant } from "../domain/time.ts";
import type { ApplicationRef, OpenCasePages, PolicyJobQueue, PolicyJobStore } from "../ports/policy-jobs.ts";
import {
  type CaseRepository,
  type Clock,
  OPEN_STATUSES,
  type PolicyRepository,
  type Principal,
  type WorkflowControl,
} from "../ports.ts";
import { logger } from "../powertools.ts";
import { replannedCase, startReplanned, stopExecutionOf } from "./workflow-start.ts";

/** What the page runner needs. */
export interface ApplicationDeps {
  policies: PolicyRepository;
  cases: CaseRepository;
  workflow: WorkflowControl;
  clock: Clock;
  jobs: PolicyJobStore;
  queue: PolicyJobQueue;
  openCases: OpenCasePages;
  /** Re-planned cases per second each job keeps to, and open cases read per page. */
  pace: { casesPerSecond: number; pageSize: number };
  /** Days an execution may wait for a case's next action; beyond them a re-planned case parks (0: never). */
  horizonDays: number;
  /**
   * Whether a failure is a dependency's (DynamoDB, Step Functions out of reach): the page is worth trying again
   * later, where a failure of the case itself only counts it as not moved.
   */
  isUnavailable(error: unknown): boolean;
}

/** The invocation working a page: whether SQS delivered its message before, and how long it has left. */
export interface PageRuntime {
  retried: boolean;
  remainingMs(): number;
}

export type PageResult =
  | { kind: "counted"; total: number; moved: number; failed: number; done: boolean; delaySeconds: number }
  | { kind: "resent" }
  | { kind: "dropped"; reason: string };

/** Cases of a page worked at once: enough to hide the round trips, few enough to keep the page's burst short. */
const CASES_AT_ONCE = 4;
/** A page stops taking cases when its invocation has less than this left, so it counts what it did in time. */
const TIME_TO_FINISH_MS = 30_000;
/** Tries at one case that another writer keeps changing before it counts as not moved. */
const CASE_TRIES = 5;

const refOf = (message: ApplicationMessage): ApplicationRef => ({
  tenantId: message.tenantId,
  policyId: message.policyId,
  jobId: message.jobId,
});
const messageAt = (message: ApplicationMessage, cursor: string): ApplicationMessage => ({
  tenantId: message.tenantId,
  policyId: message.policyId,
  version: message.version,
  jobId: message.jobId,
  ...(cursor ? { cursor } : {}),
});

/** The job of a policy, as ops follow it; NotFoundError for a job the tenant's policy does not have. */
export async function getApplication(
  deps: { applications?: { jobs: PolicyJobStore } },
  principal: Principal,
  policyId: string,
  jobId: string,
): Promise<PolicyApplication> {
  const job = await deps.applications?.jobs.get({ tenantId: principal.tenantId, policyId, jobId });
  if (!job) throw new NotFoundError(`policy ${policyId} has no application ${jobId}`);
  return applicationView(job);
}

/**
 * Works one page message of a job: moves each open case of the page that runs on the job's policy below its
 * version to that version, counts the page (once, whatever SQS repeats), and queues the next page, held back to
 * keep the pace. See decideMessage for what a repeated or late message does.
 */
export async function applyPolicyPage(
  deps: ApplicationDeps,
  message: ApplicationMessage,
  runtime: PageRuntime,
): Promise<PageResult> {
  const ref = refOf(message);
  const job = await deps.jobs.get(ref);
  const decision = decideMessage(job, message, deps.clock.now().getTime());
  if (!job || decision.kind === "drop") {
    return { kind: "dropped", reason: decision.kind === "drop" ? decision.reason : "no such job" };
  }
  if (decision.kind === "resend") {
    const sendBy = deps.clock.now().getTime() + runtime.remainingMs();
    if (!(await deps.jobs.claimSend(ref, decision.cursor, job.sendBy, sendBy))) {
      return { kind: "dropped", reason: "the next page is queued by another invocation" };
    }
    await queueNext(deps, ref, messageAt(message, decision.cursor), 0);
    return { kind: "resent" };
  }
  const policy = await deps.policies.get(message.tenantId, message.policyId, message.version);
  if (!policy) {
    logger.error("policy application failed: its version is gone", { ...ref, version: message.version });
    await deps.jobs.fail(ref, toInstant(deps.clock.now()));
    return { kind: "dropped", reason: "the policy version is gone" };
  }
  return workPage(deps, { ref, job, policy, message }, runtime);
}

async function workPage(
  deps: ApplicationDeps,
  work: { ref: ApplicationRef; job: ApplicationProgress; policy: Policy; message: ApplicationMessage },
  runtime: PageRuntime,
): Promise<PageResult> {
  const { ref, job, policy, message } = work;
  const startedMs = deps.clock.now().getTime();
  const page = await deps.openCases.page(ref.tenantId, job.cursor, deps.pace.pageSize);
  const outcomes: CaseOutcome[] = [];
  let taken = 0;
  // Cases are taken in index order and every one taken is finished, so the cases worked are a prefix of the page.
  const lanes = Array.from({ length: CASES_AT_ONCE }, async () => {
    while (taken < page.items.length && runtime.remainingMs() > TIME_TO_FINISH_MS) {
      const index = taken++;
      const item = page.items[index];
      if (item) outcomes[index] = await applyToCase(deps, { ref, job, policy }, item.loanId, runtime.retried);
    }
  });
  // Every lane ends before the page does, even when one of them failed: nothing runs on after the invocation.
  const failure = (await Promise.allSettled(lanes)).find((lane) => lane.status === "rejected");
  if (failure) throw failure.reason;
  const worked = page.items.slice(0, taken);
  if (page.items.length > 0 && worked.length === 0) {
    throw new Error("policy application: no time left to work a single case of the page");
  }
  const counts = countPage(outcomes);
  const next = worked.at(-1)?.position ?? job.cursor;
  const done = !page.more && worked.length === page.items.length;
  const now = deps.clock.now();
  const sendBy = now.getTime() + runtime.remainingMs();
  const recorded = await deps.jobs.recordPage(ref, {
    from: job.cursor,
    next,
    counts,
    done,
    at: toInstant(now),
    sendBy,
  });
  if (!recorded) return { kind: "dropped", reason: "page already counted" };
  const replanned = outcomes.filter((o) => o === "moved").length;
  const delaySeconds = pageDelaySeconds(replanned, now.getTime() - startedMs, deps.pace.casesPerSecond);
  if (!done) await queueNext(deps, ref, messageAt(message, next), delaySeconds);
  return { kind: "counted", ...counts, done, delaySeconds };
}

async function queueNext(
  deps: ApplicationDeps,
  ref: ApplicationRef,
  next: ApplicationMessage,
  delaySeconds: number,
): Promise<void> {
  await deps.queue.send(next, delaySeconds);
  await deps.jobs.markSent(ref, next.cursor ?? "");
}

/**
 * Moves one case to the job's version, re-reading it after a concurrent change. A failure of a store or of Step
 * Functions that may pass is thrown, so the page is tried again (a case it had moved is then found on the version);
 * any other failure leaves the case where it is and counts it as not moved.
 */
async function applyToCase(
  deps: ApplicationDeps,
  { ref, job, policy }: { ref: ApplicationRef; job: ApplicationProgress; policy: Policy },
  loanId: string,
  retried: boolean,
): Promise<CaseOutcome> {
  for (let attempt = 1; attempt <= CASE_TRIES; attempt++) {
    const current = await deps.cases.get(ref.tenantId, loanId);
    if (!current || !OPEN_STATUSES.includes(current.status) || current.status === "legal") return "skipped";
    if (current.policy.id !== policy.id) return "skipped";
    if (current.policy.version >= policy.version) {
      // An attempt at this page that died may have moved the case and not started its new generation yet.
      if (retried && current.policy.version === policy.version) await startGeneration(deps, current);
      return "already";
    }
    try {
      await replan(deps, job.actor, current, policy);
      return "moved";
    } catch (error) {
      if (deps.isUnavailable(error)) throw error;
      if (!(error instanceof ConcurrentUpdateError)) {
        logger.error("policy not applied to a case", { loanId, jobId: job.id, error: error as Error });
        return "failed";
      }
      await conflictBackoff(attempt);
    }
  }
  logger.warn("policy not applied to a case that kept changing", { loanId, jobId: job.id });
  return "failed";
}

/**
 * Moves a case to `policy` as a new generation: the case (with the steps the new timing passes over, on the record)
 * and its `policy_applied` entry in one transaction, then the old execution stopped and the new one started at the
 * action planned from the stored case (re-entrant), so nothing already sent is sent again.
 */
export async function replan(
  deps: Pick<ApplicationDeps, "cases" | "workflow" | "clock" | "horizonDays">,
  actor: string,
  current: LoanCase,
  policy: Policy,
): Promise<void> {
  const nowDate = deps.clock.now();
  const now = toInstant(nowDate);
  const moved: LoanCase = {
    ...current,
    policy: { id: policy.id, version: policy.version },
    generation: current.generation + 1,
    updatedAt: now,
  };
  // A case whose new plan acts beyond the horizon (and has nothing in flight to settle) is stored parked: no
  // execution starts for it now, and the waker starts one as its action comes near.
  const change = replannedCase(moved, policy, "policy_applied", nowDate, deps.horizonDays);
  const stored = await deps.cases.update(
    current,
    {
      next: change.next,
      events: [
        {
          type: "policy_applied",
          actor,
          data: { policyId: policy.id, from: current.policy.version, to: policy.version },
        },
        ...change.events,
      ],
    },
    now,
  );
  await stopPreviousExecution(deps, current);
  if (isCollectable(stored)) await startReplanned(deps.workflow, stored, policy, nowDate);
}

const workflowRef = (c: LoanCase) => ({ tenantId: c.tenantId, loanId: c.loanId, generation: c.generation });

/**
 * Stops the execution of the generation a re-plan replaces: the one place a re-plan calls StopExecution. A parked
 * case has none, so re-planning it costs no StopExecution.
 */
async function stopPreviousExecution(
  deps: Pick<ApplicationDeps, "workflow">,
  previous: LoanCase,
): Promise<void> {
  await stopExecutionOf(deps.workflow, previous, workflowRef(previous));
}

/**
 * Starts the case's current generation unless it is parked; a name already started makes this a no-op
 * (StartExecution by name).
 */
async function startGeneration(deps: Pick<ApplicationDeps, "workflow">, loanCase: LoanCase): Promise<void> {
  if (isCollectable(loanCase) && !loanCase.parked) await deps.workflow.start(workflowRef(loanCase));
}
