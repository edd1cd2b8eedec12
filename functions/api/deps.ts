import type { AuditReader } from "../ports/audit.ts";
import type { ExportSink } from "../ports/export-sink.ts";
import type { PolicyJobQueue, PolicyJobStore } from "../ports/policy-jobs.ts";
import type { PortfolioReadModel } from "../ports/reports.ts";
import type { TenantSettingsStore } from "../ports/send-pacing.ts";
import type { SimulationQueue, SimulationStore } from "../ports/simulations.ts";
import type { PlacementStore, WorkItemStore } from "../ports/work.ts";
import type { ApiKeyStore, IdempotencyStore, PolicyVersionStore } from "../ports.ts";
import type { LenderDeps } from "../usecases/lender.ts";
import type { WebhookAdminDeps } from "../usecases/webhooks/endpoints.ts";

export interface ApiDeps extends LenderDeps {
  /** Policies as versioned data: ops read, change and list them. */
  policies: PolicyVersionStore;
  keys: ApiKeyStore;
  idempotency: IdempotencyStore;
  /** The portfolio report's counts: the case indexes and the trail's daily counters. */
  portfolio: PortfolioReadModel;
  /** The tenant's settings (send rates, the payment page). */
  settings: TenantSettingsStore;
  /** The embedded stack takes lenders' pages on http://127.0.0.1 or localhost (a payment page); AWS never does. */
  allowLoopback?: boolean;
  /** The compliance audit export; unset where no export bucket is configured (the route answers 422). */
  exports?: { reader: AuditReader; sink: ExportSink };
  /**
   * Policy applications (`applyTo: "in_flight"`): their jobs and the queue their pages go by; unset where no queue
   * is configured (an in-flight change answers 422, an application is not found).
   */
  applications?: { jobs: PolicyJobStore; queue: PolicyJobQueue };
  /** What-if simulations: their jobs and the queue that starts them; unset where no queue is configured (422). */
  simulations?: { jobs: SimulationStore; queue: SimulationQueue };
  /** The collection team's work items; unset where not wired (the work routes answer 422). */
  work?: WorkItemStore;
  /** Placements of cases with outside agencies (with the work list). */
  placements?: PlacementStore;
  /** Lender webhooks; unset where no delivery queue and secret key are configured (the routes answer 422). */
  webhooks?: WebhookAdminDeps;
}
