import type { AuditReader } from "../ports/audit.ts";
import type { ExportSink } from "../ports/export-sink.ts";
import type { ApiKeyStore, IdempotencyStore, PolicyVersionStore } from "../ports.ts";
import type { LenderDeps } from "../usecases/lender.ts";
import type { WebhookAdminDeps } from "../usecases/webhooks/endpoints.ts";

export interface ApiDeps extends LenderDeps {
  /** Policies as versioned data: ops read, change and list them. */
  policies: PolicyVersionStore;
  keys: ApiKeyStore;
  idempotency: IdempotencyStore;
  /** The compliance audit export; unset where no export bucket is configured (the route answers 422). */
  exports?: { reader: AuditReader; sink: ExportSink };
  /** Lender webhooks; unset where no delivery queue and secret key are configured (the routes answer 422). */
  webhooks?: WebhookAdminDeps;
}
