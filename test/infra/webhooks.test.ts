import { isDeepStrictEqual } from "node:util";
import { Stack } from "aws-cdk-lib";
import type { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import type { DunningApp } from "../../infra/aws/build-app.ts";
import {
  type LenderWebhooks,
  WEBHOOK_BATCH_SIZE,
  WEBHOOK_MAX_CONCURRENCY,
  WEBHOOK_MAX_RECEIVES,
} from "../../infra/aws/constructs/webhooks.ts";
import type { DunningFunction } from "../../infra/aws/dunning-function.ts";
import { idOf, logicalId, roleId, synthesizeApp } from "./synthesized-app.ts";
import { actionsOf, flat, resourcesOf, type Statement } from "./template-helpers.ts";

/** Lender webhooks on AWS: audit stream → announce function → delivery queue → deliver function → lenders. */
let built: DunningApp;
let data: Template;
let service: Template;
let serviceRoles: Map<string, Statement[]>;

beforeAll(() => {
  ({ built, data, service, serviceRoles } = synthesizeApp());
});

const webhooks = () => built.service.webhooks as LenderWebhooks;
const resource = (id: string) => service.toJSON().Resources[id];
const env = (fn: DunningFunction): Record<string, unknown> =>
  resource(logicalId(fn)).Properties.Environment.Variables;
const statementsOf = (fn: DunningFunction) => serviceRoles.get(roleId(fn)) ?? [];
const mappingsOf = (fn: DunningFunction) =>
  Object.values(service.findResources("AWS::Lambda::EventSourceMapping"))
    .map((m) => m.Properties)
    .filter((p) => p.FunctionName?.Ref === logicalId(fn));
/** Every Allow a role holds on a resource, as actions. */
const allowedOn = (fn: DunningFunction, matches: (resource: string) => boolean) =>
  statementsOf(fn)
    .filter((s) => s.Effect === "Allow" && resourcesOf(s).some(matches))
    .flatMap(actionsOf)
    .sort();
const AUDIT_TABLE = /:table\/loan-dunning-audit(\/|$)/;
/** The ARN of the data stack's webhook secrets key, as the service stack reads it: the data stack's output of it. */
const secretsKeyArn = () => {
  const keyArn = { "Fn::GetAtt": [idOf(webhooks().secretKey), "Arn"] };
  const outputs = Object.entries(data.toJSON().Outputs ?? {}) as [string, { Value: unknown }][];
  const names = outputs.filter(([, output]) => isDeepStrictEqual(output.Value, keyArn)).map(([name]) => name);
  expect(names).toHaveLength(1);
  return {
    "Fn::GetStackOutput": {
      StackName: built.data.stackName,
      Region: { Ref: "AWS::Region" },
      OutputName: names[0],
    },
  };
};

describe("the announce function", () => {
  it("reads new audit entries only (INSERT) from the stream, bisecting and retrying, failures to a DLQ", () => {
    const { announceFunction, announceDeadLetterQueue } = webhooks();
    const mappings = mappingsOf(announceFunction);
    expect(mappings).toHaveLength(1);
    const [mapping] = mappings;
    expect(mapping).toMatchObject({
      StartingPosition: "LATEST",
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify({ eventName: ["INSERT"] }) }] },
      BisectBatchOnFunctionError: true,
      DestinationConfig: {
        OnFailure: { Destination: { "Fn::GetAtt": [idOf(announceDeadLetterQueue), "Arn"] } },
      },
    });
    expect(mapping.MaximumRetryAttempts).toBeGreaterThan(0);
    expect(flat(mapping.EventSourceArn)).toMatch(/AuditTable\w*StreamArn/);
  });

  it("queries the audit trail without writing to it, uses the state table and queues lines", () => {
    const { announceFunction, queue } = webhooks();
    const onAudit = statementsOf(announceFunction).filter(
      (s) => s.Effect === "Allow" && resourcesOf(s).some((r) => AUDIT_TABLE.test(r)),
    );
    expect(onAudit.flatMap(actionsOf)).toEqual(["dynamodb:Query"]);
    expect(allowedOn(announceFunction, (r) => r.endsWith(":table/loan-dunning-state"))).toEqual(
      expect.arrayContaining([
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
      ]),
    );
    expect(allowedOn(announceFunction, (r) => r === `<${idOf(queue)}.Arn>`)).toEqual(["sqs:SendMessage"]);
  });
});

describe("the delivery queue and the deliver function", () => {
  it("feeds the deliver function ten lines at a time, at bounded concurrency, reporting failed lines", () => {
    const { deliverFunction, queue } = webhooks();
    expect(mappingsOf(deliverFunction)).toEqual([
      expect.objectContaining({
        EventSourceArn: { "Fn::GetAtt": [idOf(queue), "Arn"] },
        BatchSize: WEBHOOK_BATCH_SIZE,
        FunctionResponseTypes: ["ReportBatchItemFailures"],
        ScalingConfig: { MaximumConcurrency: WEBHOOK_MAX_CONCURRENCY },
      }),
    ]);
    expect(WEBHOOK_BATCH_SIZE).toBe(10);
  });

  it("is encrypted, outlives the retries and hides a line for six deliver timeouts, then dead-letters it", () => {
    const { deliverFunction, queue, deadLetterQueue } = webhooks();
    const timeout = resource(logicalId(deliverFunction)).Properties.Timeout as number;
    const props = resource(idOf(queue)).Properties;
    expect(props.KmsMasterKeyId).toBeDefined();
    expect(props.VisibilityTimeout).toBeGreaterThanOrEqual(6 * timeout);
    expect(props.MessageRetentionPeriod).toBe(4 * 24 * 3600);
    expect(props.RedrivePolicy).toEqual({
      deadLetterTargetArn: { "Fn::GetAtt": [idOf(deadLetterQueue), "Arn"] },
      maxReceiveCount: WEBHOOK_MAX_RECEIVES,
    });
  });

  it("keeps dead letters 14 days, encrypted, and refuses every queue's use without TLS", () => {
    const { queue, deadLetterQueue, announceDeadLetterQueue } = webhooks();
    for (const dlq of [deadLetterQueue, announceDeadLetterQueue]) {
      expect(resource(idOf(dlq)).Properties).toMatchObject({
        MessageRetentionPeriod: 14 * 24 * 3600,
        KmsMasterKeyId: expect.anything(),
      });
    }
    const policies = Object.values(service.findResources("AWS::SQS::QueuePolicy"));
    for (const q of [queue, deadLetterQueue, announceDeadLetterQueue]) {
      const policy = policies.find((p) => JSON.stringify(p.Properties.Queues).includes(idOf(q)));
      expect(policy?.Properties.PolicyDocument.Statement, idOf(q)).toContainEqual(
        expect.objectContaining({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
      );
    }
  });

  it("lets the deliver function consume and re-queue lines, and append to the audit trail (PutItem, Query) only", () => {
    const { deliverFunction, queue } = webhooks();
    expect(allowedOn(deliverFunction, (r) => r === `<${idOf(queue)}.Arn>`)).toEqual(
      expect.arrayContaining([
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:ReceiveMessage",
        "sqs:SendMessage",
      ]),
    );
    // Disabling an endpoint that kept failing appends an entry to the tenant's chain.
    expect(allowedOn(deliverFunction, (r) => AUDIT_TABLE.test(r))).toEqual([
      "dynamodb:PutItem",
      "dynamodb:Query",
    ]);
    expect(allowedOn(deliverFunction, (r) => r.endsWith(":table/loan-dunning-state"))).toEqual(
      expect.arrayContaining(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]),
    );
  });

  it("raises an alarm into the ops topic when either dead-letter queue holds a message", () => {
    const { deadLetterQueue, announceDeadLetterQueue } = webhooks();
    const opsTopic = idOf(built.service.operations.opsTopic);
    const alarms = Object.values(service.findResources("AWS::CloudWatch::Alarm")).map((a) => a.Properties);
    for (const dlq of [deadLetterQueue, announceDeadLetterQueue]) {
      const onQueue = alarms.filter(
        (a) =>
          a.MetricName === "ApproximateNumberOfMessagesVisible" &&
          JSON.stringify(a.Dimensions).includes(idOf(dlq)),
      );
      expect(onQueue, idOf(dlq)).toEqual([
        expect.objectContaining({ Threshold: 1, AlarmActions: [{ Ref: opsTopic }] }),
      ]);
    }
  });
});

describe("endpoint secrets", () => {
  /** The data stack's secrets key as the service stack names it: an output of the data stack. */
  const isKeyArn = (r: string) => r === flat(secretsKeyArn());
  /** The KMS actions a function may use on the secrets key, with their conditions. */
  const onSecretsKey = (fn: DunningFunction) =>
    statementsOf(fn).filter(
      (s) =>
        s.Effect === "Allow" &&
        actionsOf(s).some((a) => a.startsWith("kms:") || a === "*") &&
        resourcesOf(s).some((r) => isKeyArn(r) || r === "*"),
    );

  it("are sealed with the data stack's key (retained with the data), not one of the stateless service stack", () => {
    const { secretKey } = webhooks();
    expect(secretKey).toBe(built.data.webhookSecretsKey);
    expect(Stack.of(secretKey)).toBe(built.data);
    expect(idOf(secretKey)).not.toBe(idOf(built.data.dataKey));
    expect(service.toJSON().Resources[idOf(secretKey)]).toBeUndefined();
    const serviceKeys = Object.values(service.findResources("AWS::KMS::Key"));
    expect(serviceKeys.map((k) => k.Properties.Description)).not.toContainEqual(
      expect.stringMatching(/webhook/i),
    );
  });

  it("are sealed by the API (Encrypt only) and opened by the deliver function (Decrypt only), per tenant", () => {
    const { announceFunction, deliverFunction } = webhooks();
    const api = built.service.httpApi.apiFunction;
    const tenantContext = { Null: { "kms:EncryptionContext:tenantId": "false" } };
    expect(onSecretsKey(api).map((s) => [actionsOf(s), s.Condition])).toEqual([
      [["kms:Encrypt"], tenantContext],
    ]);
    expect(onSecretsKey(deliverFunction).map((s) => [actionsOf(s), s.Condition])).toEqual([
      [["kms:Decrypt"], tenantContext],
    ]);
    expect(onSecretsKey(announceFunction)).toEqual([]);
    // No other role reaches the key through its identity policy.
    const holders = [...serviceRoles]
      .filter(([, statements]) =>
        statements.some((s) => s.Effect === "Allow" && resourcesOf(s).some(isKeyArn)),
      )
      .map(([role]) => role)
      .sort();
    expect(holders).toEqual([roleId(api), roleId(deliverFunction)].sort());
  });
});

describe("function environments", () => {
  it("tell each function the queue, and only the API and the deliver function the secrets key", () => {
    const { announceFunction, deliverFunction, queue } = webhooks();
    const api = built.service.httpApi.apiFunction;
    const queueUrl = { Ref: idOf(queue) };
    const keyArn = secretsKeyArn();
    const tables = { STATE_TABLE: "loan-dunning-state", AUDIT_TABLE: "loan-dunning-audit" };
    expect(env(announceFunction)).toMatchObject({ ...tables, WEBHOOK_QUEUE_URL: queueUrl });
    expect(env(announceFunction).WEBHOOK_SECRET_KEY_ARN).toBeUndefined();
    expect(env(deliverFunction)).toMatchObject({
      ...tables,
      WEBHOOK_QUEUE_URL: queueUrl,
      WEBHOOK_SECRET_KEY_ARN: keyArn,
    });
    expect(env(api)).toMatchObject({ WEBHOOK_QUEUE_URL: queueUrl, WEBHOOK_SECRET_KEY_ARN: keyArn });
    expect(allowedOn(api, (r) => r === `<${idOf(queue)}.Arn>`)).toEqual(["sqs:SendMessage"]);
  });

  it("never let a deployed function reach loopback addresses or use the embedded stack's local key", () => {
    const lambdas = Object.entries(service.findResources("AWS::Lambda::Function"));
    expect(lambdas.length).toBeGreaterThan(10);
    for (const [id, fn] of lambdas) {
      const variables = Object.keys(fn.Properties.Environment?.Variables ?? {});
      expect(variables, id).not.toContain("WEBHOOK_ALLOW_LOOPBACK");
      expect(variables, id).not.toContain("LOCAL_WEBHOOK_SECRET_KEY");
    }
  });
});
