/**
 * Table layout shared by the CDK stack and the embedded stack's table creation, so both places run the
 * same keys and indexes. Every key starts with the tenant: nothing is addressable without it.
 */

/** Which attributes an index copies besides the keys: every one (the default), or the listed ones only. */
export type IndexProjection = { type: "ALL" } | { type: "INCLUDE"; attributes: string[] };

export interface IndexSchema {
  name: string;
  partitionKey: string;
  sortKey: string;
  /** ALL when unset. The table's and the index's keys are always projected. */
  projection?: IndexProjection;
}

export interface TableSchema {
  partitionKey: { name: string; type: "S" | "N" };
  sortKey: { name: string; type: "S" | "N" };
  indexes: IndexSchema[];
  /** Epoch-seconds attribute DynamoDB deletes expired items by (DynamoDB Local stores it but never deletes). */
  timeToLiveAttribute?: string;
  /** The table's stream: what is derived from its writes (webhooks, metrics) reads it. */
  stream?: "NEW_IMAGE";
}

const LIST_PROJECTION: IndexProjection = { type: "INCLUDE", attributes: ["attention"] };

/** Cases, idempotency records, API keys (hashed), policy versions and per-borrower contact records. */
export const STATE_TABLE: TableSchema = {
  partitionKey: { name: "pk", type: "S" },
  sortKey: { name: "sk", type: "S" },
  indexes: [
    // All cases of a tenant, newest last: gsi1pk = tenant, gsi1sk = createdAt#loanId. The list indexes hold the
    // keys and the attention flag the list filters on, nothing else: a write that changes neither (every step's)
    // costs them nothing, where a copy of the whole case would be rewritten with it. The list reads the cases.
    { name: "byTenant", partitionKey: "gsi1pk", sortKey: "gsi1sk", projection: LIST_PROJECTION },
    // Cases of a tenant in one status: gsi2pk = tenant#status, gsi2sk = createdAt#loanId.
    { name: "byStatus", partitionKey: "gsi2pk", sortKey: "gsi2sk", projection: LIST_PROJECTION },
    // Sparse: only open cases (active, on_hold, legal) carry gsi3pk = tenant, gsi3sk = dueDate#loanId, so the
    // aging report reads exactly the open cases. It projects what the report needs and no borrower PII.
    {
      name: "openByDueDate",
      partitionKey: "gsi3pk",
      sortKey: "gsi3sk",
      projection: { type: "INCLUDE", attributes: ["status", "dueDate", "balance", "agingTimeZone"] },
    },
    // Sparse: only cases a workflow should act on (active, or on hold until a date, not flagged) carry
    // gsi4pk = WAKE#<shard>, gsi4sk = wakeAt#tenant#loanId, so the reconciler reads the overdue ones in time order.
    // Spread over WAKE_SHARDS partitions so no single key takes every write of a large book.
    {
      name: "byWake",
      partitionKey: "gsi4pk",
      sortKey: "gsi4sk",
      projection: { type: "INCLUDE", attributes: ["tenantId", "loanId", "generation"] },
    },
  ],
  // Idempotency records expire after a day; a borrower's contact record once its last contact can no longer count.
  timeToLiveAttribute: "expiresAt",
};

/** The append-only audit trail: one item per entry, sk = sequence number within the case's chain. */
export const AUDIT_TABLE: TableSchema = {
  partitionKey: { name: "pk", type: "S" },
  sortKey: { name: "seq", type: "N" },
  indexes: [
    // Every entry of a tenant in time order, for exports: gsi1pk = tenant, gsi1sk = at#loanId#seq.
    { name: "byTenantTime", partitionKey: "gsi1pk", sortKey: "gsi1sk" },
  ],
  // Every new entry, to the lender webhooks and the business metrics.
  stream: "NEW_IMAGE",
};

/** Partitions of the byWake index. */
export const WAKE_SHARDS = 8;

export const MESSAGE_COPY_PREFIX = "MSG#";

export const keys = {
  loanCase: (tenantId: string, loanId: string) => ({ pk: `T#${tenantId}#LOAN#${loanId}`, sk: "CASE" }),
  // Beside the case: the keys of changes it may take only once (a delivery report per message and status).
  onceMarker: (tenantId: string, loanId: string, onceKey: string) => ({
    pk: `T#${tenantId}#LOAN#${loanId}`,
    sk: `ONCE#${onceKey}`,
  }),
  auditPartition: (tenantId: string, loanId: string) => `T#${tenantId}#LOAN#${loanId}`,
  // Beside the case: the text of each message sent, by its hash (the trail's contentSha256).
  messageCopy: (tenantId: string, loanId: string, contentSha256: string) => ({
    pk: `T#${tenantId}#LOAN#${loanId}`,
    sk: `${MESSAGE_COPY_PREFIX}${contentSha256}`,
  }),
  idempotency: (tenantId: string, keyHash: string) => ({ pk: `T#${tenantId}#IDEM#${keyHash}`, sk: "IDEM" }),
  apiKey: (keyHash: string) => ({ pk: `KEY#${keyHash}`, sk: "KEY" }),
  // A borrower's portal link, found by the SHA-256 of its token as an API key is (the tenant is in the item).
  portalLink: (tokenHash: string) => ({ pk: `PORTAL#${tokenHash}`, sk: "LINK" }),
  // Verification attempts from one address (its hash) in one hour, across every link.
  portalAttempts: (addressHash: string, hour: number) => ({
    pk: `PORTAL-ADDR#${addressHash}#${hour}`,
    sk: "TRIES",
  }),
  strategyVersion: (tenantId: string, strategyId: string, version: number) => ({
    pk: `T#${tenantId}#STRATEGY#${strategyId}`,
    sk: `V#${String(version).padStart(8, "0")}`,
  }),
  // The collection team's calls and visits, all of a tenant's in one partition (the work list reads it).
  workItem: (tenantId: string, id: string) => ({ pk: `T#${tenantId}#WORK`, sk: `ITEM#${id}` }),
  placement: (tenantId: string, id: string) => ({ pk: `T#${tenantId}#PLACEMENT#${id}`, sk: "PLACEMENT" }),
  // Which strategy decides the tenant's new loans.
  activeStrategy: (tenantId: string) => ({ pk: `T#${tenantId}#STRATEGIES`, sk: "ACTIVE" }),
  policyVersion: (tenantId: string, policyId: string, version: number) => ({
    pk: `T#${tenantId}#POLICY#${policyId}`,
    sk: `V#${String(version).padStart(8, "0")}`,
  }),
  // A policy version's in-flight application job, beside the versions (the history reads only `V#` items).
  policyApplication: (tenantId: string, policyId: string, jobId: string) => ({
    pk: `T#${tenantId}#POLICY#${policyId}`,
    sk: `APPLY#${jobId}`,
  }),
  // A what-if simulation run through the API, in a partition of its own: the simulation function may update only
  // items whose key starts `T#<tenant>#SIMULATION#` (an IAM condition on the leading key).
  simulation: (tenantId: string, simulationId: string) => ({
    pk: `T#${tenantId}#SIMULATION#${simulationId}`,
    sk: "SIMULATION",
  }),
  // A borrower's recent contacts across their loans, for the frequency caps. `borrowerRef` is the SHA-256 of
  // tenant + phone/email (borrowerRef in the domain), so the key carries no PII.
  borrowerContacts: (tenantId: string, borrowerRef: string) => ({
    pk: `T#${tenantId}#BORROWER#${borrowerRef}`,
    sk: "CONTACTS",
  }),
  // Legal hand-offs: one partition per tenant, the status leads the sort key, so "pending" / "acknowledged"
  // is a Query on begins_with(sk, "<status>#") with no index; acknowledging moves the item (one transaction).
  handoffPartition: (tenantId: string) => `T#${tenantId}#HANDOFFS`,
  handoff: (tenantId: string, status: string, loanId: string) => ({
    pk: `T#${tenantId}#HANDOFFS`,
    sk: `${status}#${loanId}`,
  }),
  // The tenant's settings (send rates): one versioned item.
  tenantSettings: (tenantId: string) => ({ pk: `T#${tenantId}#SETTINGS`, sk: "SETTINGS" }),
  // Paced sending: the places taken in one minute of a channel, a key of its own per minute so a busy minute's
  // writes never share a partition with the next; and the first minute not known to be full.
  paceMinute: (tenantId: string, channel: string, minute: number) => ({
    pk: `T#${tenantId}#PACE#${channel}#${minute}`,
    sk: "PLACES",
  }),
  paceHint: (tenantId: string, channel: string) => ({ pk: `T#${tenantId}#PACE#${channel}`, sk: "HINT" }),
};
