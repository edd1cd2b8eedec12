import { createHash, randomBytes } from "node:crypto";
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { makeDocumentClient } from "../../functions/adapters/dynamo/client.ts";
import { keys } from "../../functions/adapters/dynamo/schema.ts";
import type { LocalStack } from "../../infra/local/stack.ts";
import { type apiClient, loanRequest } from "./client.ts";
import { startTestStack } from "./test-stack.ts";

/**
 * The text of every message sent is kept beside the trail, its link's token replaced by the link's id; the trail
 * holds the text's hash, and the timeline shows the text with the verdict of that hash.
 */
let stack: LocalStack;
let lender: ReturnType<typeof apiClient>;
let local: ReturnType<typeof apiClient>;
const prefix = `texts-${randomBytes(4).toString("hex")}-`;
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

beforeAll(async () => {
  ({ stack, lender, local } = await startTestStack(prefix));
});

afterAll(async () => {
  await stack?.stop();
});

interface TimelineAnswer {
  entries: { type: string; data: Record<string, unknown> }[];
  texts: Record<string, { subject?: string; body: string; intact: boolean }>;
}

describe("message texts on the timeline", () => {
  it("shows what each message said, its link named by id, and flags a text altered since", async () => {
    const loanId = `texts-${randomBytes(3).toString("hex")}`;
    expect((await lender.post("/v1/loans", loanRequest(loanId, { dueDate: "2026-01-15" }))).status).toBe(201);
    // D−7 email and D−3 SMS of the default policy.
    await local.post("/local/clock/advance", { to: "2026-01-13T00:00:00Z" });
    const outbox = (await local.get(`/local/outbox?loanId=${loanId}`)).body.messages as {
      channel: string;
      subject?: string;
      body: string;
    }[];
    expect(outbox.map((m) => m.channel)).toEqual(["email", "sms"]);

    const timeline = (await lender.get(`/v1/loans/${loanId}/timeline`)).body as TimelineAnswer;
    const sent = timeline.entries.filter((e) => e.type === "message_sent");
    expect(sent).toHaveLength(2);
    for (const [index, entry] of sent.entries()) {
      const message = outbox[index];
      if (!message) throw new Error("a message sent is missing from the outbox");
      const token = /\/p\/([A-Za-z0-9_-]{43})/.exec(message.body)?.[1];
      if (!token) throw new Error(`no portal link in ${message.body}`);
      // The kept text is the text sent, the token replaced by the link's public id.
      const redact = (text: string) => text.replaceAll(token, `[link ${sha256(token).slice(0, 16)}]`);
      const hash = entry.data.contentSha256 as string;
      const kept = timeline.texts[hash];
      expect(kept).toEqual({
        ...(message.subject !== undefined ? { subject: redact(message.subject) } : {}),
        body: redact(message.body),
        intact: true,
      });
      expect(kept?.body).not.toContain(token);
      expect(sha256(`${kept?.subject ?? ""}\n${kept?.body}`)).toBe(hash);
    }
    // The audit trail itself carries neither the text nor the borrower's name.
    expect(JSON.stringify(timeline.entries)).not.toContain("Li Wei");

    // A text altered in the store no longer matches the hash its trail entry names.
    const hash = sent[1]?.data.contentSha256 as string;
    await makeDocumentClient({ endpoint: inject("dynamoEndpoint") }).send(
      new UpdateCommand({
        TableName: `${prefix}dunning-state`,
        Key: keys.messageCopy("demo", loanId, hash),
        UpdateExpression: "SET #body = :body",
        ExpressionAttributeNames: { "#body": "body" },
        ExpressionAttributeValues: { ":body": "Nothing is owed." },
      }),
    );
    const after = (await lender.get(`/v1/loans/${loanId}/timeline`)).body as TimelineAnswer;
    expect(after.texts[hash]).toMatchObject({ body: "Nothing is owed.", intact: false });
  });
});
