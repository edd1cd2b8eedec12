import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { ConcurrentUpdateError } from "../../domain/errors.ts";
import type { PortalLink } from "../../domain/portal.ts";
import type { PortalLinkStore } from "../../ports/portal.ts";
import { toPortalLink } from "./case-items.ts";
import { isConditionalCheckFailed } from "./errors.ts";
import { keys } from "./schema.ts";

const HOUR_MS = 60 * 60 * 1000;

/**
 * Portal links live in the state table under the hash of their token (written with the case change that issued
 * them); the attempts of an address are counted per hour in an item that expires with it.
 */
export class DynamoPortalLinkStore implements PortalLinkStore {
  private readonly stateTable: string;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    tables: { stateTable: string },
  ) {
    this.stateTable = tables.stateTable;
  }

  async get(tokenHash: string): Promise<PortalLink | null> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.stateTable, Key: keys.portalLink(tokenHash), ConsistentRead: true }),
    );
    return Item ? toPortalLink(Item) : null;
  }

  async save(tokenHash: string, previous: PortalLink, next: PortalLink): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.stateTable,
          Key: keys.portalLink(tokenHash),
          UpdateExpression: "SET failures = :failures, lockedUntil = :locked, #session = :session",
          // The state the decision was made on: a wrong answer counted meanwhile makes this one count again.
          ConditionExpression: "failures = :previousFailures AND lockedUntil = :previousLocked",
          ExpressionAttributeNames: { "#session": "session" },
          ExpressionAttributeValues: {
            ":failures": next.failures,
            ":locked": next.lockedUntil,
            ":session": next.session,
            ":previousFailures": previous.failures,
            ":previousLocked": previous.lockedUntil,
          },
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw new ConcurrentUpdateError("the link changed meanwhile");
      throw error;
    }
  }

  async countAttempt(addressHash: string, now: Date): Promise<number> {
    const hour = Math.floor(now.getTime() / HOUR_MS);
    const { Attributes } = await this.client.send(
      new UpdateCommand({
        TableName: this.stateTable,
        Key: keys.portalAttempts(addressHash, hour),
        UpdateExpression: "ADD tries :one SET expiresAt = :expires",
        ExpressionAttributeValues: { ":one": 1, ":expires": Math.ceil(((hour + 2) * HOUR_MS) / 1000) },
        ReturnValues: "UPDATED_NEW",
      }),
    );
    return Number(Attributes?.tries ?? 1);
  }
}
