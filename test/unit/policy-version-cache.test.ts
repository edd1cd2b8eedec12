import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import {
  CACHED_POLICY_VERSIONS,
  DynamoPolicyRepository,
} from "../../functions/adapters/dynamo/policy-repository.ts";
import { DEFAULT_POLICY } from "../../functions/domain/policy.ts";

/** A client that answers every read with a stored version of "gentle" and counts the reads. */
function countingClient() {
  const reads: string[] = [];
  const client = {
    async send(command: { input: { Key?: { sk?: string }; KeyConditionExpression?: string } }) {
      reads.push(command.input.Key?.sk ?? "latest");
      const version = Number(command.input.Key?.sk?.replace(/\D/g, "") || 1);
      const policy = { ...DEFAULT_POLICY, id: "gentle", version };
      return command.input.Key ? { Item: { policy } } : { Items: [{ policy }] };
    },
  };
  return { reads, client: client as unknown as DynamoDBDocumentClient };
}

describe("policy versions read by a process", () => {
  it("reads a stored version once, keeps the ones in use, lets the least recently used go", async () => {
    const { reads, client } = countingClient();
    const policies = new DynamoPolicyRepository(client, { stateTable: "state" });
    await policies.get("acme", "gentle", 1);
    await policies.get("acme", "gentle", 1);
    expect(reads).toHaveLength(1);
    // Version 1 stays in use while more versions than the process keeps come and go.
    for (let version = 2; version <= CACHED_POLICY_VERSIONS + 1; version++) {
      await policies.get("acme", "gentle", version);
      await policies.get("acme", "gentle", 1);
    }
    expect(reads).toHaveLength(CACHED_POLICY_VERSIONS + 1);
    await policies.get("acme", "gentle", 2);
    expect(reads).toHaveLength(CACHED_POLICY_VERSIONS + 2);
    // The newest version is always read: a tenant may have stored another since.
    await policies.get("acme", "gentle");
    await policies.get("acme", "gentle");
    expect(reads.filter((read) => read === "latest")).toHaveLength(2);
  });
});
