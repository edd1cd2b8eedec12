import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { Channel } from "../../domain/channels.ts";
import {
  firstPlaceFrom,
  minuteCapacity,
  minuteOf,
  PACING_RETENTION_SECONDS,
  slotSecond,
} from "../../domain/send-pacing.ts";
import type { SendPacingStore } from "../../ports/send-pacing.ts";
import { isConditionalCheckFailed } from "./errors.ts";
import { keys } from "./schema.ts";

/**
 * Places of paced sending in the state table. One counter item per (tenant, channel, minute): a place is one
 * conditional `ADD n 1` that answers the new count, refused once the minute holds rate × 60, so concurrent
 * senders on any number of Lambdas never share a place. A minute keeps the rate it began with (`rate` on the
 * item): a sender holding another rate finds it full, so a rate change takes effect from the next minute. A
 * hint item per (tenant, channel) names the first minute not known to be full, so senders start there rather
 * than walking the full ones. Items expire (`expiresAt`) a few days after their minute.
 */
export class DynamoSendPacingStore implements SendPacingStore {
  private readonly stateTable: string;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    tables: { stateTable: string },
  ) {
    this.stateTable = tables.stateTable;
  }

  async reserve(request: {
    tenantId: string;
    channel: Channel;
    rate: number;
    fromSecond: number;
    untilSecond: number;
  }): Promise<number | null> {
    const { tenantId, channel, rate, fromSecond, untilSecond } = request;
    const capacity = minuteCapacity(rate);
    let minute = Math.max(minuteOf(fromSecond), await this.firstOpenMinute(tenantId, channel));
    for (; minute * 60 < untilSecond; minute++) {
      const first = firstPlaceFrom(minute, fromSecond, rate);
      const place = await this.take(tenantId, channel, minute, rate, first);
      if (place === null || place >= capacity) await this.markFull(tenantId, channel, minute);
      if (place === null) continue;
      const second = slotSecond(minute, place, rate);
      // Places only get later within a minute and across minutes: past the end, nothing earlier is left.
      return second < untilSecond ? second : null;
    }
    return null;
  }

  /** The hint: read eventually consistent, as a stale one only costs a refused write per full minute. */
  private async firstOpenMinute(tenantId: string, channel: Channel): Promise<number> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.stateTable, Key: keys.paceHint(tenantId, channel) }),
    );
    return typeof Item?.minute === "number" ? Item.minute : 0;
  }

  /**
   * Takes a place of `minute` numbered `first` or later; null when the minute is full (or runs at another
   * rate). Normally one write: the next place. In the minute under way, when the count is still behind the
   * current second, the count jumps to `first` (the places skipped are in the past and stay unused); a jump
   * someone else made first falls back to the next place.
   */
  private async take(
    tenantId: string,
    channel: Channel,
    minute: number,
    rate: number,
    first: number,
  ): Promise<number | null> {
    const key = keys.paceMinute(tenantId, channel, minute);
    const expiresAt = minute * 60 + PACING_RETENTION_SECONDS;
    if (first > 1) {
      const jumped = await this.update({
        TableName: this.stateTable,
        Key: key,
        UpdateExpression: "SET #n = :first, #rate = :rate, expiresAt = :ttl",
        ConditionExpression: "attribute_not_exists(#n) OR (#n < :first AND #rate = :rate)",
        ExpressionAttributeNames: { "#n": "n", "#rate": "rate" },
        ExpressionAttributeValues: { ":first": first, ":rate": rate, ":ttl": expiresAt },
      });
      if (jumped !== null) return jumped;
    }
    return this.update({
      TableName: this.stateTable,
      Key: key,
      UpdateExpression: "SET #rate = :rate, expiresAt = :ttl ADD #n :one",
      ConditionExpression: "attribute_not_exists(#n) OR (#n < :capacity AND #rate = :rate)",
      ExpressionAttributeNames: { "#n": "n", "#rate": "rate" },
      ExpressionAttributeValues: {
        ":one": 1,
        ":capacity": minuteCapacity(rate),
        ":rate": rate,
        ":ttl": expiresAt,
      },
    });
  }

  /** The count after a conditional update; null when its condition failed. */
  private async update(input: ConstructorParameters<typeof UpdateCommand>[0]): Promise<number | null> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({ ...input, ReturnValues: "UPDATED_NEW" }),
      );
      return Number(Attributes?.n);
    } catch (error) {
      if (isConditionalCheckFailed(error)) return null;
      throw error;
    }
  }

  /** Moves the hint past a full minute; a hint already further on stays. */
  private async markFull(tenantId: string, channel: Channel, minute: number): Promise<void> {
    const next = minute + 1;
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.stateTable,
          Key: keys.paceHint(tenantId, channel),
          UpdateExpression: "SET #minute = :next, expiresAt = :ttl",
          ConditionExpression: "attribute_not_exists(#minute) OR #minute < :next",
          ExpressionAttributeNames: { "#minute": "minute" },
          ExpressionAttributeValues: { ":next": next, ":ttl": next * 60 + PACING_RETENTION_SECONDS },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }
}
