import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { AuditEvent } from "../../domain/audit-chain.ts";
import type { Strategy } from "../../domain/strategies/strategy.ts";
import type { ActiveStrategy, StrategyStore } from "../../ports/strategies.ts";
import { keys } from "./schema.ts";
import type { TableNames } from "./tables.ts";
import { TenantAuditLog, TenantWriteConflictError, type TransactItem } from "./tenant-audit.ts";

/** Strategy versions kept per process: a tenant has a few strategies, each a few KB. */
const CACHED_VERSIONS = 64;

/**
 * Strategy versions per tenant, each an immutable item in the state table, and the tenant's active strategy as an
 * item of its own. Every change goes with its entry in the tenant's audit chain, in one transaction.
 */
export class DynamoStrategyStore implements StrategyStore {
  private readonly audit: TenantAuditLog;
  /** Versions never change, so each is read once per process (a re-assessment reads the case's version). */
  private readonly versions = new Map<string, Strategy>();

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tables: Pick<TableNames, "stateTable" | "auditTable">,
  ) {
    this.audit = new TenantAuditLog(client, tables);
  }

  async get(tenantId: string, strategyId: string, version?: number): Promise<Strategy | null> {
    if (version === undefined) return this.latest(tenantId, strategyId);
    const key = `${tenantId}\u0000${strategyId}\u0000${version}`;
    const cached = this.versions.get(key);
    if (cached) return cached;
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tables.stateTable,
        Key: keys.strategyVersion(tenantId, strategyId, version),
      }),
    );
    const strategy = (Item?.strategy as Strategy | undefined) ?? null;
    if (strategy) {
      if (this.versions.size >= CACHED_VERSIONS) this.versions.clear();
      this.versions.set(key, strategy);
    }
    return strategy;
  }

  async putVersion(
    tenantId: string,
    strategy: Strategy,
    audit: AuditEvent,
    active?: ActiveStrategy | null,
  ): Promise<boolean> {
    const table = this.tables.stateTable;
    const writes: TransactItem[] = [
      {
        Put: {
          TableName: table,
          Item: { ...keys.strategyVersion(tenantId, strategy.id, strategy.version), strategy },
          ConditionExpression: "attribute_not_exists(pk)",
        },
      },
    ];
    if (active)
      writes.push({ Put: { TableName: table, Item: { ...keys.activeStrategy(tenantId), ...active } } });
    if (active === null) writes.push({ Delete: { TableName: table, Key: keys.activeStrategy(tenantId) } });
    try {
      await this.audit.record(tenantId, [audit], writes, strategy.createdAt);
      return true;
    } catch (error) {
      if (error instanceof TenantWriteConflictError) return false;
      throw error;
    }
  }

  async active(tenantId: string): Promise<ActiveStrategy | null> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tables.stateTable, Key: keys.activeStrategy(tenantId) }),
    );
    return Item ? { id: String(Item.id), since: String(Item.since), by: String(Item.by) } : null;
  }

  private async latest(tenantId: string, strategyId: string): Promise<Strategy | null> {
    const { pk } = keys.strategyVersion(tenantId, strategyId, 0);
    const { Items } = await this.client.send(
      new QueryCommand({
        TableName: this.tables.stateTable,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :v)",
        ExpressionAttributeValues: { ":pk": pk, ":v": "V#" },
        ScanIndexForward: false,
        Limit: 1,
      }),
    );
    return (Items?.[0]?.strategy as Strategy | undefined) ?? null;
  }
}
