import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { AuditEvent } from "../../domain/audit-chain.ts";
import { DEFAULT_POLICY, type Policy } from "../../domain/policy.ts";
import type { ApplicationProgress } from "../../domain/policy-application.ts";
import type { PolicyVersionInfo, PolicyVersionStore } from "../../ports.ts";
import { isConditionalCheckFailed } from "./errors.ts";
import { applicationItem } from "./policy-jobs.ts";
import { queryAll } from "./query-all.ts";
import { keys } from "./schema.ts";
import { TenantAuditLog, TenantWriteConflictError } from "./tenant-audit.ts";

/** Policy versions a process keeps: far more than the versions its cases run on at once, a few MB at most. */
export const CACHED_POLICY_VERSIONS = 256;

/**
 * Policy versions per tenant, each an immutable item holding the policy as a map. The built-in default
 * policy (version 1) answers for every tenant until the tenant stores versions of its own.
 */
export class DynamoPolicyRepository implements PolicyVersionStore {
  private readonly stateTable: string;
  /** Policy changes are audited in the tenant's chain; absent where only reads are needed (no audit table). */
  private readonly audit: TenantAuditLog | null;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    tables: { stateTable: string; auditTable?: string },
    options: { now?: () => Date } = {},
  ) {
    this.stateTable = tables.stateTable;
    this.audit = tables.auditTable
      ? new TenantAuditLog(client, { stateTable: tables.stateTable, auditTable: tables.auditTable }, options)
      : null;
  }

  async history(tenantId: string, policyId: string): Promise<PolicyVersionInfo[]> {
    const { pk } = keys.policyVersion(tenantId, policyId, 0);
    const infos: PolicyVersionInfo[] = [];
    const items = queryAll<{ info?: PolicyVersionInfo; policy?: { version?: unknown } }>(this.client, {
      TableName: this.stateTable,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :v)",
      ExpressionAttributeValues: { ":pk": pk, ":v": "V#" },
      ProjectionExpression: "#info, #policy.#version",
      ExpressionAttributeNames: { "#info": "info", "#policy": "policy", "#version": "version" },
      ScanIndexForward: false,
    });
    for await (const item of items) {
      const version = Number(item.policy?.version);
      infos.push(
        item.info ?? {
          version,
          changedAt: "1970-01-01T00:00:00.000Z",
          changedBy: "unknown",
          comment: null,
          applyTo: "new_loans",
          changes: [],
        },
      );
    }
    return infos;
  }

  async putVersion(
    tenantId: string,
    policy: Policy,
    info: PolicyVersionInfo,
    audit: AuditEvent,
    job?: ApplicationProgress,
  ): Promise<boolean> {
    if (!this.audit) throw new Error("policy changes need the audit table");
    const put = (Item: Record<string, unknown>) => ({
      Put: { TableName: this.stateTable, Item, ConditionExpression: "attribute_not_exists(pk)" },
    });
    try {
      // The entry carries the instant the version was made (the use case's business clock), as a case's do.
      await this.audit.record(
        tenantId,
        [audit],
        [
          put({ ...keys.policyVersion(tenantId, policy.id, policy.version), policy, info }),
          ...(job ? [put(applicationItem(tenantId, job))] : []),
        ],
        info.changedAt,
      );
      return true;
    } catch (error) {
      if (error instanceof TenantWriteConflictError) return false;
      throw error;
    }
  }

  /** The given version, or the newest when none is given. */
  async get(tenantId: string, policyId: string, version?: number): Promise<Policy | null> {
    // The built-in default is version 1 and never stored (a change to it is stored as version 2 onwards).
    if (policyId === DEFAULT_POLICY.id && version === DEFAULT_POLICY.version) return DEFAULT_POLICY;
    const stored =
      version === undefined
        ? await this.latest(tenantId, policyId)
        : await this.exact(tenantId, policyId, version);
    if (stored) return stored;
    const builtIn =
      policyId === DEFAULT_POLICY.id && (version === undefined || version === DEFAULT_POLICY.version);
    return builtIn ? DEFAULT_POLICY : null;
  }

  /** Stores a new version; versions are immutable, so storing one twice returns false. */
  async put(tenantId: string, policy: Policy): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.stateTable,
          Item: { ...keys.policyVersion(tenantId, policy.id, policy.version), policy },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /**
   * Stored versions never change, so each is read once per process: every workflow step and every loan in a
   * list needs its case's policy version. The least recently used beyond CACHED_POLICY_VERSIONS are let go.
   */
  private readonly versions = new Map<string, Promise<Policy | null>>();

  /** Concurrent reads of one version (a burst of steps waking together) share the read in flight. */
  private exact(tenantId: string, policyId: string, version: number): Promise<Policy | null> {
    if (!Number.isInteger(version) || version < 1) return Promise.resolve(null);
    const key = `${tenantId}\u0000${policyId}\u0000${version}`;
    const cached = this.versions.get(key);
    if (cached) {
      this.versions.delete(key);
      this.versions.set(key, cached);
      return cached;
    }
    const read = this.client
      .send(
        new GetCommand({ TableName: this.stateTable, Key: keys.policyVersion(tenantId, policyId, version) }),
      )
      .then(({ Item }) => (Item?.policy as Policy | undefined) ?? null);
    this.versions.set(key, read);
    const [oldest] = this.versions.keys();
    if (this.versions.size > CACHED_POLICY_VERSIONS && oldest !== undefined) this.versions.delete(oldest);
    // Only a stored version is kept: a failed read, or one not there (yet), is read again next time.
    read.then(
      (policy) => {
        if (!policy && this.versions.get(key) === read) this.versions.delete(key);
      },
      () => {
        if (this.versions.get(key) === read) this.versions.delete(key);
      },
    );
    return read;
  }

  private async latest(tenantId: string, policyId: string): Promise<Policy | null> {
    const { pk } = keys.policyVersion(tenantId, policyId, 0);
    const { Items } = await this.client.send(
      new QueryCommand({
        TableName: this.stateTable,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :v)",
        ExpressionAttributeValues: { ":pk": pk, ":v": "V#" },
        ScanIndexForward: false,
        Limit: 1,
      }),
    );
    return (Items?.[0]?.policy as Policy | undefined) ?? null;
  }
}
