import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileHandoffPublisher, S3SnsHandoffPublisher } from "../../functions/adapters/handoff-publishers.ts";
import { appendToChain, EMPTY_CHAIN } from "../../functions/domain/audit-chain.ts";
import { buildHandoffPackage, type HandoffPackage } from "../../functions/domain/handoff-package.ts";
import { DEFAULT_POLICY } from "../../functions/domain/policy.ts";
import { handOff } from "../../functions/domain/step-lifecycle.ts";
import { renderHandoffHtml } from "../../functions/formats/handoff-html.ts";
import { ACTOR, newCase, TENANT } from "./fixtures.ts";

const s3 = mockClient(S3Client);
const sns = mockClient(SNSClient);
const BUCKET = "loan-dunning-exports";
const TOPIC = "arn:aws:sns:ap-east-1:123456789012:loan-dunning-handoffs";

beforeEach(() => {
  s3.reset();
  sns.reset();
});

function samplePackage(): HandoffPackage {
  const subscribed = newCase();
  const change = handOff(subscribed, "2026-02-14T02:00:00.000Z", new Date("2026-02-14T02:00:00Z"));
  const chain = appendToChain(
    { tenantId: TENANT, loanId: subscribed.loanId },
    EMPTY_CHAIN,
    [{ type: "loan_subscribed", actor: ACTOR, data: {} }, ...change.events],
    "2026-02-14T02:00:00.000Z",
  );
  return buildHandoffPackage({
    loanCase: { ...change.next, audit: chain.head },
    policies: [DEFAULT_POLICY],
    audit: chain.entries,
    now: new Date("2026-02-14T02:00:05Z"),
  });
}

describe("S3 + SNS hand-off publisher", () => {
  it("puts the JSON and the HTML under handoffs/<tenant>/<loanId> and notifies with ids and keys only", async () => {
    s3.on(PutObjectCommand).resolves({});
    sns.on(PublishCommand).resolves({ MessageId: "sns-1" });
    const pkg = samplePackage();
    const html = renderHandoffHtml(pkg);

    const location = await new S3SnsHandoffPublisher(
      new S3Client({}),
      new SNSClient({}),
      BUCKET,
      TOPIC,
    ).publish(pkg, html);

    expect(location).toEqual({
      kind: "s3",
      container: BUCKET,
      json: `handoffs/${TENANT}/loan-1.json`,
      html: `handoffs/${TENANT}/loan-1.html`,
      notificationId: "sns-1",
    });
    const puts = s3.commandCalls(PutObjectCommand).map((call) => call.args[0].input);
    expect(puts).toEqual([
      {
        Bucket: BUCKET,
        Key: `handoffs/${TENANT}/loan-1.json`,
        Body: JSON.stringify(pkg),
        ContentType: "application/json; charset=utf-8",
        Metadata: { "package-sha256": pkg.packageHash },
      },
      {
        Bucket: BUCKET,
        Key: `handoffs/${TENANT}/loan-1.html`,
        Body: html,
        ContentType: "text/html; charset=utf-8",
        Metadata: { "package-sha256": pkg.packageHash },
      },
    ]);
    const publishes = sns.commandCalls(PublishCommand).map((call) => call.args[0].input);
    expect(publishes).toEqual([
      {
        TopicArn: TOPIC,
        Message: JSON.stringify({
          type: "handoff_published",
          tenantId: TENANT,
          loanId: "loan-1",
          reason: "policy",
          handedOffAt: "2026-02-14T02:00:00.000Z",
          packageHash: pkg.packageHash,
          bucket: BUCKET,
          json: `handoffs/${TENANT}/loan-1.json`,
          html: `handoffs/${TENANT}/loan-1.html`,
        }),
        MessageAttributes: {
          tenantId: { DataType: "String", StringValue: TENANT },
          reason: { DataType: "String", StringValue: "policy" },
        },
      },
    ]);
    // No PII in the notification: no name, phone, email or amount.
    const message = publishes[0]?.Message ?? "";
    const { borrower } = pkg.loan;
    for (const pii of [borrower.name, borrower.phone, borrower.email, pkg.balance.total.amount]) {
      expect(message).not.toContain(pii);
    }
  });

  it("does not notify when a put fails", async () => {
    s3.on(PutObjectCommand).rejects(new Error("AccessDenied"));
    const publisher = new S3SnsHandoffPublisher(new S3Client({}), new SNSClient({}), BUCKET, TOPIC);
    const pkg = samplePackage();
    await expect(publisher.publish(pkg, "<html></html>")).rejects.toThrow("AccessDenied");
    expect(sns.commandCalls(PublishCommand)).toEqual([]);
  });

  it("reads a package back from its key, and null when there is none", async () => {
    const pkg = samplePackage();
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: `handoffs/${TENANT}/loan-1.json` }).resolves({
      // What the SDK's stream offers the adapter.
      Body: { transformToString: async () => JSON.stringify(pkg) } as never,
    });
    const missing = new Error("missing");
    missing.name = "NoSuchKey";
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: `handoffs/${TENANT}/other.json` }).rejects(missing);
    const publisher = new S3SnsHandoffPublisher(new S3Client({}), new SNSClient({}), BUCKET, TOPIC);
    expect(await publisher.read(TENANT, "loan-1")).toEqual(pkg);
    expect(await publisher.read(TENANT, "other")).toBeNull();
  });

  it("refuses ids that would leave the handoffs/ prefix", async () => {
    const publisher = new S3SnsHandoffPublisher(new S3Client({}), new SNSClient({}), BUCKET, TOPIC);
    await expect(publisher.read(TENANT, "../exports/x")).rejects.toThrow(/safe path segment/);
    expect(s3.commandCalls(GetObjectCommand)).toEqual([]);
  });
});

describe("file hand-off publisher", () => {
  let folder: string;
  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), "handoffs-"));
  });
  afterEach(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it("writes <folder>/<tenant>/<loanId>.json and .html and reads the package back", async () => {
    const pkg = samplePackage();
    const publisher = new FileHandoffPublisher(folder);
    const location = await publisher.publish(pkg, "<!DOCTYPE html><p>x</p>");
    expect(location).toEqual({
      kind: "file",
      container: folder,
      json: join(folder, TENANT, "loan-1.json"),
      html: join(folder, TENANT, "loan-1.html"),
    });
    expect(JSON.parse(await readFile(location.json, "utf8"))).toEqual(pkg);
    expect(await readFile(location.html, "utf8")).toBe("<!DOCTYPE html><p>x</p>");
    expect(await publisher.read(TENANT, "loan-1")).toEqual(pkg);
    expect(await publisher.read(TENANT, "nothing")).toBeNull();
  });
});
