/**
 * Applying a new policy version to the cases already running on the policy (`applyTo: "in_flight"`): a job that
 * goes over the tenant's open cases one page at a time, each page a queue message of its own, paced below the
 * Step Functions quotas. What is here is the job's bookkeeping, with no I/O: its record, how a page counts, what
 * a (possibly repeated) message should do, and how long to wait before the next page.
 */

export type ApplicationStatus = "running" | "done" | "failed";

/** The job as ops see it (GET /v1/policies/{policyId}/applications/{jobId}). */
export interface PolicyApplication {
  id: string;
  policyId: string;
  version: number;
  status: ApplicationStatus;
  /** Open cases of the policy the job went over (cases with legal are left where they are, and not counted). */
  total: number;
  /** Of those, the ones on the new version (or a later one) once their page was done. */
  moved: number;
  /** Of those, the ones the job could not move. total = moved + failed. */
  failed: number;
  startedAt: string;
  finishedAt: string | null;
}

/** The job as it is stored: its view plus what it needs to go on, which is never shown. */
export interface ApplicationProgress extends PolicyApplication {
  /** Who changed the policy: the actor of every `policy_applied` entry the job writes. */
  actor: string;
  /** Where the next page starts in the open-case index ("" before the first page). */
  cursor: string;
  /** Where the last counted page started; absent before the first page is counted. */
  lastFrom?: string;
  /** The cursor whose page message is known to be queued. */
  sent?: string;
  /**
   * Until when (epoch ms on the business clock) the invocation that counted the last page may still queue the
   * next one; after it, a redelivered message of that page queues it instead.
   */
  sendBy: number;
}

/** One page message: the job, and where its page starts (absent: the first page). */
export interface ApplicationMessage {
  tenantId: string;
  policyId: string;
  version: number;
  jobId: string;
  cursor?: string;
}

/** Receives of one page message before it goes to the dead-letter queue (the job then ends `failed`). */
export const APPLY_MAX_RECEIVES = 5;
/** The pace and page size when the deployment sets none (POLICY_APPLY_RATE, POLICY_APPLY_PAGE_SIZE). */
export const DEFAULT_APPLY_RATE = 50;
export const DEFAULT_APPLY_PAGE_SIZE = 100;
/** The longest delay SQS gives a message. */
const MAX_DELAY_SECONDS = 900;

/** One job per policy version, so its id follows from the version: a version is applied in flight at most once. */
export const applicationId = (version: number) => `apply-v${version}`;

/** A new job, created with the version it applies. */
export function startApplication(
  policyId: string,
  version: number,
  changed: { at: string; by: string },
): ApplicationProgress {
  return {
    id: applicationId(version),
    policyId,
    version,
    status: "running",
    total: 0,
    moved: 0,
    failed: 0,
    startedAt: changed.at,
    finishedAt: null,
    actor: changed.by,
    cursor: "",
    sendBy: 0,
  };
}

export function applicationView(progress: ApplicationProgress): PolicyApplication {
  const { id, policyId, version, status, total, moved, failed, startedAt, finishedAt } = progress;
  return { id, policyId, version, status, total, moved, failed, startedAt, finishedAt };
}

/**
 * What became of one case of a page: moved by this page, found already on the version (or a later one: moved by
 * an earlier attempt at the page, or a newer job), not moved, or not the job's (another policy, with legal, closed).
 */
export type CaseOutcome = "moved" | "already" | "failed" | "skipped";

export interface PageCounts {
  total: number;
  moved: number;
  failed: number;
}

/**
 * A page's counts. A case an earlier, uncounted attempt at the page moved is found on the version and counted as
 * moved here: the page is counted once (see decideMessage), so each case of it is too.
 */
export function countPage(outcomes: readonly CaseOutcome[]): PageCounts {
  const moved = outcomes.filter((o) => o === "moved" || o === "already").length;
  const failed = outcomes.filter((o) => o === "failed").length;
  return { total: moved + failed, moved, failed };
}

export type MessageDecision =
  | { kind: "work"; from: string }
  | { kind: "resend"; cursor: string }
  | { kind: "drop"; reason: string };

/**
 * What a page message should do, given the job as stored. The job's cursor names the one page still to count:
 * a message for it works the page. A message for the page counted last, whose writer did not note the next message
 * queued in its time, queues that message (the writer died between counting and queueing). Anything else — a
 * repeat of a counted page, a job that ended — changes nothing.
 */
export function decideMessage(
  job: ApplicationProgress | null,
  message: Pick<ApplicationMessage, "version" | "cursor">,
  nowMs: number,
): MessageDecision {
  if (!job || job.version !== message.version) return { kind: "drop", reason: "no such job" };
  if (job.status !== "running") return { kind: "drop", reason: `the job is ${job.status}` };
  const from = message.cursor ?? "";
  if (from === job.cursor) return { kind: "work", from };
  const writerGone = from === job.lastFrom && job.sent !== job.cursor && nowMs >= job.sendBy;
  return writerGone
    ? { kind: "resend", cursor: job.cursor }
    : { kind: "drop", reason: "page already counted" };
}

/**
 * Seconds to hold the next page back so that the job stays at `casesPerSecond` re-planned cases (one StopExecution
 * and one StartExecution each): the time the page's cases are worth at that rate, less the time the page took.
 */
export function pageDelaySeconds(replanned: number, elapsedMs: number, casesPerSecond: number): number {
  const seconds = Math.ceil(replanned / casesPerSecond - elapsedMs / 1000);
  return Math.min(Math.max(seconds, 0), MAX_DELAY_SECONDS);
}
