import { type DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import type { AuditEvent } from "../../domain/audit-chain.ts";
import { ConcurrentUpdateError } from "../../domain/errors.ts";
import { knownRates } from "../../domain/send-pacing.ts";
import { DEFAULT_TENANT_SETTINGS, type TenantSettings } from "../../domain/tenant-settings.ts";
import type { TenantSettingsStore } from "../../ports/send-pacing.ts";
import { keys } from "./schema.ts";
import { TenantAuditLog, TenantWriteConflictError } from "./tenant-audit.ts";

/**
 * A tenant's settings: one item in the state table under the tenant's key prefix, replaced as a whole at each
 * change, conditional on the version read, with its `settings_changed` entry in the tenant's own audit chain
 * in the same transaction.
 */
export class DynamoTenantSettingsStore implements TenantSettingsStore {
  private readonly stateTable: string;
  /** Changes are audited; absent where only reads are needed (the send task has no audit table to write). */
  private readonly audit: TenantAuditLog | null;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    tables: { stateTable: string; auditTable?: string },
  ) {
    this.stateTable = tables.stateTable;
    this.audit = tables.auditTable
      ? new TenantAuditLog(client, { stateTable: tables.stateTable, auditTable: tables.auditTable })
      : null;
  }

  async get(tenantId: string): Promise<TenantSettings> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.stateTable,
        Key: keys.tenantSettings(tenantId),
        ConsistentRead: true,
      }),
    );
    if (!Item) return DEFAULT_TENANT_SETTINGS;
    return {
      sendRates: knownRates((Item.sendRates ?? {}) as Record<string, unknown>),
      paymentUrlTemplate: typeof Item.paymentUrlTemplate === "string" ? Item.paymentUrlTemplate : null,
      version: Number(Item.version),
      updatedAt: typeof Item.updatedAt === "string" ? Item.updatedAt : null,
      updatedBy: typeof Item.updatedBy === "string" ? Item.updatedBy : null,
    };
  }

  async put(tenantId: string, previous: TenantSettings, next: TenantSettings, audit: AuditEvent) {
    if (!this.audit) throw new Error("settings changes need the audit table");
    const condition =
      previous.version === 0
        ? { ConditionExpression: "attribute_not_exists(pk)" }
        : {
            ConditionExpression: "#version = :version",
            ExpressionAttributeNames: { "#version": "version" },
            ExpressionAttributeValues: { ":version": previous.version },
          };
    try {
      await this.audit.record(
        tenantId,
        [audit],
        [
          {
            Put: {
              TableName: this.stateTable,
              Item: { ...keys.tenantSettings(tenantId), tenantId, ...next, version: previous.version + 1 },
              ...condition,
            },
          },
        ],
        next.updatedAt ?? undefined,
      );
    } catch (error) {
      if (error instanceof TenantWriteConflictError) {
        throw new ConcurrentUpdateError("the tenant's settings changed meanwhile; read them again");
      }
      throw error;
    }
  }
}
