import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { DEFAULT_POLICY, type Policy } from "../../domain/policy.ts";
import type { PolicyRepository } from "../../ports.ts";
import { isConditionalCheckFailed } from "./errors.ts";
import { keys } from "./schema.ts";

/**
 * Policy versions per tenant, each an immutable item holding the policy as a map. The built-in default
 * policy (version 1) answers for every tenant until the tenant stores versions of its own.
 */
export class DynamoPolicyRepository implements PolicyRepository {
  private readonly stateTable: string;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    tables: { stateTable: string },
  ) {
    this.stateTable = tables.stateTable;
  }

  /** The given version, or the newest when none is given. */
  async get(tenantId: string, policyId: string, version?: number): Promise<Policy | null> {
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

  private async exact(tenantId: string, policyId: string, version: number): Promise<Policy | null> {
    if (!Number.isInteger(version) || version < 1) return null;
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.stateTable, Key: keys.policyVersion(tenantId, policyId, version) }),
    );
    return (Item?.policy as Policy | undefined) ?? null;
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
