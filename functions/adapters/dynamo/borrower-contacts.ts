import { type DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { BorrowerContact } from "../../domain/borrower-contacts.ts";
import { CONTACT_MEMORY_MS } from "../../domain/contact-rules.ts";
import { ConcurrentUpdateError } from "../../domain/errors.ts";
import type { BorrowerContactRecord, BorrowerContactStore } from "../../ports/borrower-contacts.ts";
import { isConditionalCheckFailed } from "./errors.ts";
import { keys } from "./schema.ts";

/**
 * One item per borrower in the state table, holding the contacts of the last days across their loans. Every
 * write is a Put conditional on the version read, so two loans of one borrower cannot both take the last
 * SMS of a day.
 */
export class DynamoBorrowerContactStore implements BorrowerContactStore {
  private readonly stateTable: string;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    tables: { stateTable: string },
  ) {
    this.stateTable = tables.stateTable;
  }

  async get(tenantId: string, borrowerRef: string): Promise<BorrowerContactRecord> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.stateTable,
        Key: keys.borrowerContacts(tenantId, borrowerRef),
        ConsistentRead: true,
      }),
    );
    if (!Item) return { contacts: [], version: 0 };
    return { contacts: (Item.contacts ?? []) as BorrowerContact[], version: Item.version as number };
  }

  async put(
    tenantId: string,
    borrowerRef: string,
    expectedVersion: number,
    contacts: BorrowerContact[],
  ): Promise<void> {
    const latest = Math.max(0, ...contacts.map((c) => Date.parse(c.at)));
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.stateTable,
          Item: {
            ...keys.borrowerContacts(tenantId, borrowerRef),
            contacts,
            version: expectedVersion + 1,
            // DynamoDB deletes the record once none of its contacts can count towards a cap any more.
            expiresAt: Math.ceil((latest + CONTACT_MEMORY_MS) / 1000),
          },
          ...(expectedVersion === 0
            ? { ConditionExpression: "attribute_not_exists(pk)" }
            : {
                ConditionExpression: "#version = :expected",
                ExpressionAttributeNames: { "#version": "version" },
                ExpressionAttributeValues: { ":expected": expectedVersion },
              }),
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) {
        throw new ConcurrentUpdateError("the borrower's contacts changed since they were read; re-read them");
      }
      throw error;
    }
  }
}
