import type { SimulationMessage } from "../../functions/domain/simulation-job.ts";
import type { SimulationJob, SimulationQueue, SimulationStore } from "../../functions/ports/simulations.ts";

/**
 * Simulation jobs in memory, changed under the conditions DynamoDB checks (only while running), and the queue as a
 * list of the messages sent (nothing runs them unless a test does).
 */
export function memorySimulations(): {
  jobs: SimulationStore & { all: Map<string, SimulationJob> };
  queue: SimulationQueue & { sent: SimulationMessage[] };
} {
  const all = new Map<string, SimulationJob>();
  const key = (tenantId: string, id: string) => `${tenantId}/${id}`;
  const whileRunning = (tenantId: string, id: string, change: Partial<SimulationJob>): boolean => {
    const job = all.get(key(tenantId, id));
    if (job?.status !== "running") return false;
    all.set(key(tenantId, id), structuredClone({ ...job, ...change }));
    return true;
  };
  const sent: SimulationMessage[] = [];
  return {
    jobs: {
      all,
      async create(tenantId, job) {
        if (all.has(key(tenantId, job.id))) throw new Error(`simulation ${job.id} exists`);
        all.set(key(tenantId, job.id), structuredClone(job));
      },
      async get({ tenantId, id }) {
        const job = all.get(key(tenantId, id));
        return job ? structuredClone(job) : null;
      },
      async progress({ tenantId, id }, progress) {
        whileRunning(tenantId, id, { progress });
      },
      async succeed({ tenantId, id }, { report, chartSvg, progress, at }) {
        return whileRunning(tenantId, id, {
          status: "succeeded",
          report,
          chartSvg,
          progress,
          finishedAt: at,
        });
      },
      async fail({ tenantId, id }, failure, at) {
        whileRunning(tenantId, id, { status: "failed", failure, finishedAt: at });
      },
    },
    queue: { sent, send: async (message) => void sent.push(message) },
  };
}
