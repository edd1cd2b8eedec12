import { readFileSync } from "node:fs";
import { type CfnElement, Stack, Validations } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { beforeAll, describe, expect, it } from "vitest";
import { AUDIT_TABLE, STATE_TABLE, type TableSchema } from "../../functions/adapters/dynamo/schema.ts";
import { buildApp, type DunningApp } from "../../infra/aws/build-app.ts";
import type { DunningFunction } from "../../infra/aws/dunning-function.ts";
import { DELIVERY_EVENT_TYPES, WORKFLOW_ASL_PATH } from "../../infra/aws/service-stack.ts";
import {
  actionsOf,
  flat,
  resourcesOf,
  SKIP_BUNDLING,
  type Statement,
  statementsByRole,
} from "./template-helpers.ts";

const STATE_TABLE_ARN =
  /^arn:<AWS::Partition>:dynamodb:<AWS::Region>:<AWS::AccountId>:table\/loan-dunning-state(\/index\/\*)?$/;
const AUDIT_TABLE_ARN = /:table\/loan-dunning-audit(\/|$)/;
const AUDIT_MUTATIONS = ["dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"];
const EXPORT_BUCKET_NAME = "loan-dunning-exports-<AWS::AccountId>-<AWS::Region>";
const EXPORT_OBJECTS = (prefix: string) => `arn:<AWS::Partition>:s3:::${EXPORT_BUCKET_NAME}/${prefix}*`;
const HANDOFF_TOPIC_ARN =
  "arn:<AWS::Partition>:sns:<AWS::Region>:<AWS::AccountId>:loan-dunning-legal-handoffs";
const CONFIGURATION_SET_NAME = "loan-dunning-email";
const CONFIGURATION_SET_ARN = `arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:configuration-set/${CONFIGURATION_SET_NAME}`;
const DELIVERY_TOPIC_ARN =
  "arn:<AWS::Partition>:sns:<AWS::Region>:<AWS::AccountId>:loan-dunning-delivery-events";
const AUDIT_ITEM_ACTIONS = ["dynamodb:PutItem", "dynamodb:Query"];
const STREAM_READS = [
  "dynamodb:DescribeStream",
  "dynamodb:GetRecords",
  "dynamodb:GetShardIterator",
  "dynamodb:ListStreams",
];
/** S3 actions no role may hold: removing objects or versions (exports go by lifecycle, hand-offs are kept). */
const S3_DESTRUCTIVE = ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutLifecycleConfiguration"];

/** Whether an IAM action pattern (`*`, `s3:*`, `s3:Delete*`…) covers a concrete action. */
const covers = (pattern: string, action: string) =>
  new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`, "i").test(action);

let built: DunningApp;
let data: Template;
let service: Template;
let serviceRoles: Map<string, Statement[]>;
let dataRoles: Map<string, Statement[]>;

/** Logical id of an L2 construct's CloudFormation resource. */
const idOf = (construct: IConstruct) =>
  Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement);
const logicalId = (fn: DunningFunction) => idOf(fn);
const roleId = (fn: DunningFunction) => idOf(fn.executionRole);
const functions = () => {
  const s = built.service;
  return {
    api: s.apiFunction,
    plan: s.planFunction,
    send: s.sendFunction,
    handOff: s.handOffFunction,
    recordFailure: s.recordFailureFunction,
    delivery: s.deliveryFunction,
  };
};

beforeAll(() => {
  built = buildApp({ context: SKIP_BUNDLING });
  // Synthesis runs the cdk-nag AwsSolutions plugin and throws on any unacknowledged finding.
  built.app.synth();
  data = Template.fromStack(built.data);
  service = Template.fromStack(built.service);
  serviceRoles = statementsByRole(service);
  dataRoles = statementsByRole(data);
});

describe("data stack", () => {
  const tables: [string, TableSchema][] = [
    ["loan-dunning-state", STATE_TABLE],
    ["loan-dunning-audit", AUDIT_TABLE],
  ];

  it.each(tables)(
    "%s: keys from schema.ts, on-demand, PITR, deletion protection, CMK, retained",
    (name, schema) => {
      const keyId = idOf(built.data.dataKey);
      data.hasResource("AWS::DynamoDB::Table", {
        DeletionPolicy: "Retain",
        UpdateReplacePolicy: "Retain",
        Properties: Match.objectLike({
          TableName: name,
          KeySchema: [
            { AttributeName: schema.partitionKey.name, KeyType: "HASH" },
            { AttributeName: schema.sortKey.name, KeyType: "RANGE" },
          ],
          BillingMode: "PAY_PER_REQUEST",
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          DeletionProtectionEnabled: true,
          SSESpecification: {
            SSEEnabled: true,
            SSEType: "KMS",
            KMSMasterKeyId: { "Fn::GetAtt": [keyId, "Arn"] },
          },
        }),
      });
    },
  );

  it.each(tables)("%s: global secondary indexes are exactly those of schema.ts", (name, schema) => {
    const [table] = Object.values(
      data.findResources("AWS::DynamoDB::Table", { Properties: { TableName: name } }),
    );
    expect(table?.Properties.GlobalSecondaryIndexes).toEqual(
      schema.indexes.map((index) => ({
        IndexName: index.name,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: "HASH" },
          { AttributeName: index.sortKey, KeyType: "RANGE" },
        ],
        Projection:
          index.projection?.type === "INCLUDE"
            ? { ProjectionType: "INCLUDE", NonKeyAttributes: index.projection.attributes }
            : { ProjectionType: "ALL" },
      })),
    );
  });

  it("projects into the sparse open-cases index only what the aging report reads, no borrower data", () => {
    const [table] = Object.values(
      data.findResources("AWS::DynamoDB::Table", { Properties: { TableName: "loan-dunning-state" } }),
    );
    const indexes = (table?.Properties.GlobalSecondaryIndexes ?? []) as {
      IndexName: string;
      Projection: unknown;
    }[];
    const index = indexes
      .filter((candidate) => candidate.IndexName === "openByDueDate")
      .map((candidate) => candidate.Projection);
    expect(index).toEqual([
      { ProjectionType: "INCLUDE", NonKeyAttributes: ["status", "dueDate", "balance", "agingTimeZone"] },
    ]);
  });

  it("has one customer-managed key, rotated and retained", () => {
    data.resourceCountIs("AWS::KMS::Key", 1);
    data.hasResource("AWS::KMS::Key", { DeletionPolicy: "Retain", Properties: { EnableKeyRotation: true } });
  });

  it("denies every principal the actions that would rewrite or remove an audit entry", () => {
    const [audit] = Object.values(
      data.findResources("AWS::DynamoDB::Table", { Properties: { TableName: "loan-dunning-audit" } }),
    );
    const statements: Statement[] = audit?.Properties.ResourcePolicy.PolicyDocument.Statement ?? [];
    const deny = statements.find((s) => s.Effect === "Deny");
    expect(deny).toMatchObject({ Principal: { AWS: "*" }, Resource: "*" });
    expect(deny && actionsOf(deny)).toEqual(expect.arrayContaining(AUDIT_MUTATIONS));
  });
});

describe("export bucket", () => {
  const bucketId = () => idOf(built.data.exportBucket);
  const logsId = () => idOf(built.data.accessLogsBucket);
  const bucket = () => data.toJSON().Resources[bucketId()];
  const bucketPolicy = (id: string): Statement[] => {
    const [policy] = Object.values(
      data.findResources("AWS::S3::BucketPolicy", { Properties: { Bucket: { Ref: id } } }),
    );
    return policy?.Properties.PolicyDocument.Statement ?? [];
  };

  it("is named per account and region, encrypted with the data key (SSE-KMS), versioned and retained", () => {
    expect(flat(bucket().Properties.BucketName)).toBe(EXPORT_BUCKET_NAME);
    expect(bucket()).toMatchObject({ DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain" });
    expect(bucket().Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [
        {
          BucketKeyEnabled: true,
          ServerSideEncryptionByDefault: {
            SSEAlgorithm: "aws:kms",
            KMSMasterKeyID: { "Fn::GetAtt": [idOf(built.data.dataKey), "Arn"] },
          },
        },
      ],
    });
    expect(bucket().Properties.VersioningConfiguration).toEqual({ Status: "Enabled" });
  });

  it("blocks all public access and enforces bucket-owner object ownership (no ACLs), logs bucket too", () => {
    for (const id of [bucketId(), logsId()]) {
      const props = data.toJSON().Resources[id].Properties;
      expect(props.PublicAccessBlockConfiguration, id).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(props.OwnershipControls, id).toEqual({ Rules: [{ ObjectOwnership: "BucketOwnerEnforced" }] });
    }
  });

  it("denies every request without TLS (or below TLS 1.2), on the bucket and its objects, logs bucket too", () => {
    for (const id of [bucketId(), logsId()]) {
      const denies = bucketPolicy(id).filter((s) => s.Effect === "Deny");
      const onBucketAndObjects = [`<${id}.Arn>`, `<${id}.Arn>/*`];
      const insecure = denies.find(
        (s) => JSON.stringify(s.Condition) === '{"Bool":{"aws:SecureTransport":"false"}}',
      );
      expect(insecure, id).toMatchObject({ Action: "s3:*", Principal: { AWS: "*" } });
      expect(insecure && resourcesOf(insecure).sort(), id).toEqual(onBucketAndObjects);
      const oldTls = denies.find(
        (s) => JSON.stringify(s.Condition) === '{"NumericLessThan":{"s3:TlsVersion":1.2}}',
      );
      expect(oldTls && resourcesOf(oldTls).sort(), id).toEqual(onBucketAndObjects);
    }
  });

  it("expires exports/ after 7 days — current and noncurrent versions — and keeps handoffs/", () => {
    const rules = bucket().Properties.LifecycleConfiguration.Rules as Record<string, unknown>[];
    expect(rules).toContainEqual(
      expect.objectContaining({
        Prefix: "exports/",
        Status: "Enabled",
        ExpirationInDays: 7,
        NoncurrentVersionExpiration: { NoncurrentDays: 1 },
      }),
    );
    // Nothing that removes data applies to handoffs/: every expiring rule is limited to exports/.
    for (const rule of rules) {
      const removesData =
        "ExpirationInDays" in rule || "NoncurrentVersionExpiration" in rule || "ExpirationDate" in rule;
      if (removesData) expect(rule.Prefix).toBe("exports/");
      expect(rule.Filter).toBeUndefined();
    }
  });

  it("writes server access logs to a separate SSE-S3 bucket that only S3 log delivery for this bucket may write", () => {
    expect(bucket().Properties.LoggingConfiguration).toEqual({
      DestinationBucketName: { Ref: logsId() },
      LogFilePrefix: "export-bucket/",
    });
    expect(logsId()).not.toBe(bucketId());
    const logs = data.toJSON().Resources[logsId()];
    expect(logs.DeletionPolicy).toBe("Retain");
    expect(logs.Properties.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([
      { ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } },
    ]);
    const allows = bucketPolicy(logsId()).filter((s) => s.Effect === "Allow");
    // One delivery grant per logged bucket: the export bucket and the import bucket.
    expect(allows).toEqual(
      [bucketId(), idOf(built.data.importBucket)].map((source) =>
        expect.objectContaining({
          Action: "s3:PutObject",
          Principal: { Service: "logging.s3.amazonaws.com" },
          Condition: expect.objectContaining({
            ArnLike: { "aws:SourceArn": { "Fn::GetAtt": [source, "Arn"] } },
          }),
        }),
      ),
    );
  });
});

describe("legal hand-off topic", () => {
  const topicId = () => idOf(built.data.handOffTopic);

  it("is named, encrypted with the data key and retained", () => {
    data.resourceCountIs("AWS::SNS::Topic", 1);
    expect(data.toJSON().Resources[topicId()]).toMatchObject({
      DeletionPolicy: "Retain",
      Properties: {
        TopicName: "loan-dunning-legal-handoffs",
        KmsMasterKeyId: { "Fn::GetAtt": [idOf(built.data.dataKey), "Arn"] },
      },
    });
  });

  it("refuses publishing without TLS, to every principal", () => {
    const [policy] = Object.values(data.findResources("AWS::SNS::TopicPolicy"));
    expect(policy?.Properties.Topics).toEqual([{ Ref: topicId() }]);
    expect(policy?.Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({
        Effect: "Deny",
        Principal: "*",
        Action: "sns:Publish",
        Resource: { Ref: topicId() },
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      }),
    );
  });
});

describe("functions", () => {
  it("are the six dunning functions, the two import functions, the reconciler and the trail metrics, all with the defaults", () => {
    const lambdas = service.findResources("AWS::Lambda::Function");
    const dunning = new Set(Object.values(functions()).map(logicalId));
    const imports = [
      built.service.importFunction,
      built.service.importConsumerFunction,
      built.service.reconcilerFunction,
      built.service.trailMetricsFunction,
    ].map((fn) => logicalId(fn as DunningFunction));
    expect(Object.keys(lambdas).sort()).toEqual([...dunning, ...imports].sort());
    const logGroups = service.findResources("AWS::Logs::LogGroup");
    for (const [id, fn] of Object.entries(lambdas)) {
      const props = fn.Properties;
      expect(Number(/^nodejs(\d+)\.x$/.exec(props.Runtime)?.[1])).toBeGreaterThanOrEqual(22);
      expect(props.Architectures).toEqual(["arm64"]);
      expect(props.TracingConfig).toEqual({ Mode: "Active" });
      expect(props.Environment.Variables).toMatchObject({
        NODE_OPTIONS: "--enable-source-maps",
        POWERTOOLS_SERVICE_NAME: "loan-dunning",
      });
      if (dunning.has(id)) {
        expect(props.MemorySize).toBe(512);
        expect(props.Timeout).toBeLessThanOrEqual(90);
        expect(props.Environment.Variables).toMatchObject({
          STATE_TABLE: "loan-dunning-state",
          AUDIT_TABLE: "loan-dunning-audit",
        });
      }
      const logGroup = logGroups[props.LoggingConfig.LogGroup.Ref];
      expect(logGroup?.Properties.RetentionInDays).toBe(30);
    }
  });

  it("map to the api and steps handlers", () => {
    const handlers = Object.fromEntries(
      Object.entries(functions()).map(([name, fn]) => [
        name,
        service.toJSON().Resources[logicalId(fn)].Properties.Handler,
      ]),
    );
    expect(handlers).toEqual({
      api: "index.handler",
      plan: "index.plan",
      send: "index.send",
      handOff: "index.handOff",
      recordFailure: "index.recordFailure",
      delivery: "index.handler",
    });
  });

  it("give the API function the state machine ARN and only the send function a sender", () => {
    const env = (fn: DunningFunction) =>
      service.toJSON().Resources[logicalId(fn)].Properties.Environment.Variables;
    const { api, plan, send, handOff, delivery } = functions();
    const stateMachineId = idOf(built.service.stateMachine);
    expect(env(api).STATE_MACHINE_ARN).toEqual({ Ref: stateMachineId });
    expect(env(send).EMAIL_FROM).toBe("no-reply@example.com");
    expect(env(send).SES_CONFIGURATION_SET).toBe(CONFIGURATION_SET_NAME);
    for (const fn of [api, plan, handOff, delivery]) {
      expect(env(fn).EMAIL_FROM).toBeUndefined();
      expect(env(fn).SES_CONFIGURATION_SET).toBeUndefined();
    }
  });

  it("give every function the export bucket, and only the API and hand-off functions the hand-off topic", () => {
    const env = (fn: DunningFunction) =>
      service.toJSON().Resources[logicalId(fn)].Properties.Environment.Variables;
    const { api, plan, send, handOff, delivery } = functions();
    for (const fn of [api, plan, send, handOff]) expect(flat(env(fn).EXPORT_BUCKET)).toBe(EXPORT_BUCKET_NAME);
    for (const fn of [api, handOff]) expect(flat(env(fn).HANDOFF_TOPIC_ARN)).toBe(HANDOFF_TOPIC_ARN);
    for (const fn of [plan, send]) expect(env(fn).HANDOFF_TOPIC_ARN).toBeUndefined();
    // The delivery function records events against the case: the tables, nothing else.
    expect(env(delivery)).toEqual({
      STATE_TABLE: "loan-dunning-state",
      AUDIT_TABLE: "loan-dunning-audit",
      POWERTOOLS_SERVICE_NAME: "loan-dunning",
      NODE_OPTIONS: "--enable-source-maps",
    });
  });
});

describe("workflow", () => {
  const asl = readFileSync(WORKFLOW_ASL_PATH, "utf8");

  it("is a Standard state machine defined by workflows/dunning.asl.json", () => {
    const [machine] = Object.values(service.findResources("AWS::StepFunctions::StateMachine"));
    expect(machine?.Properties.StateMachineType).toBe("STANDARD");
    const definition = JSON.parse(machine?.Properties.DefinitionString);
    expect(definition).toEqual(JSON.parse(asl));
    expect(Object.keys(definition.States)).toEqual(
      expect.arrayContaining([
        "Pre-due reminders: send",
        "Soft collection: send",
        "Legal hand-off: hand over",
      ]),
    );
  });

  it("substitutes every placeholder with the matching task function", () => {
    const placeholders = [...new Set([...asl.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]))].sort();
    const { plan, send, handOff, recordFailure } = functions();
    const expected = {
      PlanFunctionArn: { "Fn::GetAtt": [logicalId(plan), "Arn"] },
      SendStepFunctionArn: { "Fn::GetAtt": [logicalId(send), "Arn"] },
      HandOffFunctionArn: { "Fn::GetAtt": [logicalId(handOff), "Arn"] },
      RecordFailureFunctionArn: { "Fn::GetAtt": [logicalId(recordFailure), "Arn"] },
    };
    expect(placeholders).toEqual(Object.keys(expected).sort());
    service.hasResourceProperties("AWS::StepFunctions::StateMachine", { DefinitionSubstitutions: expected });
  });

  it("logs every event without execution data, and is traced", () => {
    const [machine] = Object.values(service.findResources("AWS::StepFunctions::StateMachine"));
    const logging = machine?.Properties.LoggingConfiguration;
    expect(logging).toMatchObject({ Level: "ALL", IncludeExecutionData: false });
    const destination = logging.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn["Fn::GetAtt"][0];
    expect(service.toJSON().Resources[destination].Properties.RetentionInDays).toBe(30);
    expect(machine?.Properties.TracingConfiguration).toEqual({ Enabled: true });
  });

  it("has a role that can invoke exactly the four task functions, and nothing else in Lambda", () => {
    const role = idOf(built.service.stateMachine.role);
    const lambdaStatements = (serviceRoles.get(role) ?? []).filter((s) =>
      actionsOf(s).some((a) => a.startsWith("lambda:") || a === "*"),
    );
    expect(lambdaStatements.flatMap(actionsOf)).toEqual(["lambda:InvokeFunction"]);
    const { plan, send, handOff, recordFailure } = functions();
    expect(lambdaStatements.flatMap(resourcesOf).sort()).toEqual(
      [plan, send, handOff, recordFailure].map((fn) => `<${logicalId(fn)}.Arn>`).sort(),
    );
  });
});

describe("the reconciler", () => {
  it("runs every five minutes, may start and stop this workflow's executions, and reports its metric", () => {
    const reconciler = built.service.reconcilerFunction;
    service.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "rate(5 minutes)",
      State: "ENABLED",
      Targets: [{ Arn: { "Fn::GetAtt": [logicalId(reconciler), "Arn"] } }],
    });
    const statements = serviceRoles.get(roleId(reconciler)) ?? [];
    const states = statements.filter((s) => actionsOf(s).some((a) => a.startsWith("states:")));
    expect(states.flatMap(actionsOf).sort()).toEqual(["states:StartExecution", "states:StopExecution"]);
    const env = service.toJSON().Resources[logicalId(reconciler)].Properties.Environment.Variables;
    expect(env).toMatchObject({
      POWERTOOLS_METRICS_NAMESPACE: "LoanDunning",
      STATE_TABLE: "loan-dunning-state",
    });
  });
});

describe("least privilege", () => {
  const allowStatements = () => [...serviceRoles.values()].flat().filter((s) => s.Effect === "Allow");

  it("keeps API-key hashes out of reach of every role but the API's", () => {
    const { api } = functions();
    const denies = (role: string) =>
      (serviceRoles.get(role) ?? []).filter(
        (s) =>
          s.Effect === "Deny" &&
          JSON.stringify(s.Condition ?? {}).includes('"dynamodb:LeadingKeys":["KEY#*"]') &&
          actionsOf(s).includes("dynamodb:GetItem") &&
          actionsOf(s).includes("dynamodb:PutItem"),
      );
    const withStateTable = [...serviceRoles.keys()].filter((role) =>
      (serviceRoles.get(role) ?? []).some(
        (s) => s.Effect === "Allow" && resourcesOf(s).some((r) => STATE_TABLE_ARN.test(r)),
      ),
    );
    expect(withStateTable.length).toBeGreaterThan(5);
    for (const role of withStateTable) {
      expect(denies(role).length, role).toBe(role === roleId(api) ? 0 : 1);
    }
  });

  it("lets no role update, delete or batch-write audit entries", () => {
    for (const statement of allowStatements()) {
      const mutates = actionsOf(statement).some(
        (a) =>
          AUDIT_MUTATIONS.includes(a) || a === "dynamodb:*" || a === "*" || a.startsWith("dynamodb:PartiQL"),
      );
      if (!mutates) continue;
      // Anything that may mutate items is scoped to the state table (and its indexes), never to audit or `*`.
      for (const resource of resourcesOf(statement)) expect(resource).toMatch(STATE_TABLE_ARN);
    }
    for (const statement of allowStatements()) {
      const onAudit = resourcesOf(statement).some((r) => AUDIT_TABLE_ARN.test(r) || r === "*");
      if (onAudit) {
        const dynamo = actionsOf(statement).filter((a) => a.startsWith("dynamodb:") || a === "*");
        // Items: append and query only. The stream (business metrics) is read-only by nature.
        const streamOnly = resourcesOf(statement).every((r) => r.includes("/stream/") || r === "*");
        const allowed = streamOnly ? [...AUDIT_ITEM_ACTIONS, ...STREAM_READS] : AUDIT_ITEM_ACTIONS;
        expect(dynamo.filter((a) => !allowed.includes(a))).toEqual([]);
      }
    }
  });

  it("gives every function PutItem and Query on the audit table, and only those", () => {
    for (const fn of Object.values(functions())) {
      const onAudit = (serviceRoles.get(roleId(fn)) ?? []).filter((s) =>
        resourcesOf(s).some((r) => AUDIT_TABLE_ARN.test(r)),
      );
      expect(new Set(onAudit.flatMap(actionsOf))).toEqual(new Set(["dynamodb:PutItem", "dynamodb:Query"]));
      const put = onAudit.filter((s) => actionsOf(s).includes("dynamodb:PutItem"));
      expect(put.flatMap(resourcesOf)).toEqual([
        "arn:<AWS::Partition>:dynamodb:<AWS::Region>:<AWS::AccountId>:table/loan-dunning-audit",
      ]);
    }
  });

  it("lets the API control executions and the steps only start the next one of this state machine", () => {
    const stateMachineId = idOf(built.service.stateMachine);
    const { api, delivery, ...others } = functions();
    const states = (fn: DunningFunction) =>
      (serviceRoles.get(roleId(fn)) ?? []).filter((s) => actionsOf(s).some((a) => a.startsWith("states:")));
    expect(states(api).map((s) => [actionsOf(s).sort(), resourcesOf(s)])).toEqual([
      [["states:StartExecution"], [`<${stateMachineId}>`]],
      [
        ["states:DescribeExecution", "states:StopExecution"],
        [`arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<${stateMachineId}.Name>:*`],
      ],
    ]);
    // A plan longer than an execution's life continues in a new execution: StartExecution, nothing else.
    for (const fn of Object.values(others)) {
      expect(states(fn).map((s) => [actionsOf(s), resourcesOf(s)])).toEqual([
        [
          ["states:StartExecution"],
          ["arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine:loan-dunning-workflow"],
        ],
      ]);
    }
    // The delivery function is no workflow task: no Step Functions at all.
    expect(states(delivery)).toEqual([]);
  });

  it("lets only the send function send: SES as the sender identity through the configuration set, SNS for SMS", () => {
    const { send, ...others } = functions();
    // Publishing to the legal hand-off topic is not sending to a borrower (see the hand-off topic test).
    const sending = (fn: DunningFunction) =>
      (serviceRoles.get(roleId(fn)) ?? []).filter(
        (s) =>
          s.Effect === "Allow" &&
          actionsOf(s).some((a) => /^(ses|sns):/.test(a)) &&
          !resourcesOf(s).every((r) => r === HANDOFF_TOPIC_ARN),
      );
    const [ses, sns] = [
      sending(send).find((s) => actionsOf(s).includes("ses:SendEmail")),
      sending(send).find((s) => actionsOf(s).includes("sns:Publish")),
    ];
    expect(ses && actionsOf(ses)).toEqual(["ses:SendEmail"]);
    expect(ses && resourcesOf(ses).sort()).toEqual(
      [
        "arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:identity/example.com",
        "arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:identity/no-reply@example.com",
        CONFIGURATION_SET_ARN,
      ].sort(),
    );
    expect(ses?.Condition).toEqual({ StringEquals: { "ses:FromAddress": "no-reply@example.com" } });
    expect(sns && actionsOf(sns)).toEqual(["sns:Publish"]);
    for (const fn of Object.values(others)) expect(sending(fn)).toEqual([]);
  });

  /** Every Allow on S3 of a role, as `action resource` pairs. */
  const s3Grants = (statements: Statement[]) =>
    statements
      .filter((s) => s.Effect === "Allow")
      .flatMap((s) =>
        actionsOf(s)
          .filter((a) => a.startsWith("s3:") || a === "*")
          .flatMap((a) => resourcesOf(s).map((r) => `${a} ${r}`)),
      )
      .sort();

  it("grants exactly: API put/get/abort on exports/*, put/get on handoffs/*; hand-off step put on handoffs/*", () => {
    const { api, plan, send, handOff, delivery } = functions();
    const grants = (fn: DunningFunction) => s3Grants(serviceRoles.get(roleId(fn)) ?? []);
    expect(grants(api)).toEqual(
      [
        `s3:AbortMultipartUpload ${EXPORT_OBJECTS("exports/")}`,
        `s3:GetObject ${EXPORT_OBJECTS("exports/")}`,
        `s3:GetObject ${EXPORT_OBJECTS("handoffs/")}`,
        `s3:PutObject ${EXPORT_OBJECTS("exports/")}`,
        `s3:PutObject ${EXPORT_OBJECTS("handoffs/")}`,
      ].sort(),
    );
    expect(grants(handOff)).toEqual([`s3:PutObject ${EXPORT_OBJECTS("handoffs/")}`]);
    expect(grants(plan)).toEqual([]);
    expect(grants(send)).toEqual([]);
    expect(grants(delivery)).toEqual([]);
    const { importFunction, importConsumerFunction } = built.service;
    expect(grants(importFunction as DunningFunction)).toEqual([
      "s3:GetObject arn:<AWS::Partition>:s3:::loan-dunning-imports-<AWS::AccountId>-<AWS::Region>/imports/*",
    ]);
    expect(grants(importConsumerFunction as DunningFunction)).toEqual([]);
    // Any other role in either stack (state machine, API Gateway logging…) has no S3 at all.
    const functionRoles = new Set(
      [
        ...Object.values(functions()),
        importFunction as DunningFunction,
        importConsumerFunction as DunningFunction,
      ].map(roleId),
    );
    for (const [role, statements] of [...serviceRoles, ...dataRoles]) {
      if (!functionRoles.has(role)) expect(s3Grants(statements), role).toEqual([]);
    }
  });

  it("lets no role delete objects or versions, or hold a wildcard S3 action", () => {
    for (const [role, statements] of [...serviceRoles, ...dataRoles]) {
      for (const statement of statements.filter((s) => s.Effect === "Allow")) {
        for (const action of actionsOf(statement)) {
          for (const destructive of S3_DESTRUCTIVE)
            expect(covers(action, destructive), `${role} ${action}`).toBe(false);
          if (action.startsWith("s3:")) expect(action, role).not.toContain("*");
        }
      }
    }
    // Resource policies: the buckets' own policies allow nothing but S3 log delivery writing access logs.
    for (const policy of Object.values(data.findResources("AWS::S3::BucketPolicy"))) {
      for (const statement of (policy.Properties.PolicyDocument.Statement as Statement[]).filter(
        (s) => s.Effect === "Allow",
      )) {
        expect(actionsOf(statement)).toEqual(["s3:PutObject"]);
      }
    }
  });

  it("lets only the API and hand-off functions publish to the legal hand-off topic", () => {
    const reaches = (s: Statement) =>
      actionsOf(s).some((a) => covers(a, "sns:Publish")) &&
      resourcesOf(s).some((r) => covers(r, HANDOFF_TOPIC_ARN));
    const publishers = [...serviceRoles]
      .filter(([, statements]) => {
        const allowed = statements.some((s) => s.Effect === "Allow" && reaches(s));
        const denied = statements.some((s) => s.Effect === "Deny" && reaches(s));
        return allowed && !denied;
      })
      .map(([role]) => role)
      .sort();
    const { api, handOff, send } = functions();
    expect(publishers).toEqual([roleId(api), roleId(handOff)].sort());
    // The publishers' grant names exactly that topic; the send function's SMS `*` is denied the topic explicitly.
    for (const fn of [api, handOff]) {
      const sns = (serviceRoles.get(roleId(fn)) ?? []).filter((s) =>
        actionsOf(s).some((a) => a.startsWith("sns:")),
      );
      expect(sns.map((s) => [s.Effect, actionsOf(s), resourcesOf(s)])).toEqual([
        ["Allow", ["sns:Publish"], [HANDOFF_TOPIC_ARN]],
      ]);
    }
    // The send function publishes SMS only: every topic ARN (the legal and the delivery-events topics among them)
    // is denied, so it cannot forge a hand-off notice or an SES delivery event.
    const sendDenies = (serviceRoles.get(roleId(send)) ?? []).filter(
      (s) => s.Effect === "Deny" && actionsOf(s).some((a) => a.startsWith("sns:")),
    );
    expect(sendDenies.map((s) => [actionsOf(s), resourcesOf(s)])).toEqual([
      [["sns:Publish"], ["arn:<AWS::Partition>:sns:*:*:*"]],
    ]);
    for (const topic of [HANDOFF_TOPIC_ARN, DELIVERY_TOPIC_ARN]) {
      expect(covers(resourcesOf(sendDenies[0] as Statement)[0] as string, topic), topic).toBe(true);
    }
  });

  it("lets the API and hand-off functions use the data key that encrypts the objects and the topic", () => {
    const dataKeyId = idOf(built.data.dataKey);
    for (const fn of [functions().api, functions().handOff]) {
      const onKey = (serviceRoles.get(roleId(fn)) ?? []).filter(
        (s) => s.Effect === "Allow" && resourcesOf(s).some((r) => r.includes(dataKeyId)),
      );
      expect(onKey.flatMap(resourcesOf)).toHaveLength(1);
      expect(onKey.flatMap(actionsOf)).toEqual(
        expect.arrayContaining(["kms:GenerateDataKey*", "kms:Decrypt"]),
      );
    }
  });

  it("attaches no managed policies to the function roles", () => {
    for (const fn of Object.values(functions())) {
      expect(service.toJSON().Resources[roleId(fn)].Properties.ManagedPolicyArns).toBeUndefined();
    }
  });
});

describe("email delivery events", () => {
  const topicId = () => idOf(built.service.deliveryEventsTopic);
  const keyId = () => idOf(built.service.deliveryEventsKey);

  it("has a configuration set whose only event destination is the topic, for exactly the four event types", () => {
    service.resourceCountIs("AWS::SES::ConfigurationSet", 1);
    service.hasResourceProperties("AWS::SES::ConfigurationSet", { Name: CONFIGURATION_SET_NAME });
    const destinations = Object.values(service.findResources("AWS::SES::ConfigurationSetEventDestination"));
    expect(destinations).toHaveLength(1);
    const [destination] = destinations;
    expect(destination?.Properties.ConfigurationSetName).toEqual({
      Ref: idOf(built.service.configurationSet),
    });
    const event = destination?.Properties.EventDestination;
    expect(event).toMatchObject({ Enabled: true, SnsDestination: { TopicARN: { Ref: topicId() } } });
    expect([...event.MatchingEventTypes].sort()).toEqual(["bounce", "complaint", "delivery", "reject"]);
    expect([...DELIVERY_EVENT_TYPES].sort()).toEqual([...event.MatchingEventTypes].sort());
    for (const other of ["CloudWatchDestination", "EventBridgeDestination", "KinesisFirehoseDestination"])
      expect(event[other]).toBeUndefined();
  });

  it("publishes to a topic encrypted with its own rotated key, that refuses publishing without TLS", () => {
    // This topic and the ops alarms topic.
    service.resourceCountIs("AWS::SNS::Topic", 2);
    expect(service.toJSON().Resources[topicId()].Properties).toMatchObject({
      TopicName: "loan-dunning-delivery-events",
      KmsMasterKeyId: { "Fn::GetAtt": [keyId(), "Arn"] },
    });
    service.hasResourceProperties("AWS::KMS::Key", { EnableKeyRotation: true });
    const [policy] = Object.values(service.findResources("AWS::SNS::TopicPolicy"));
    expect(policy?.Properties.Topics).toEqual([{ Ref: topicId() }]);
    expect(policy?.Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({
        Effect: "Deny",
        Principal: "*",
        Action: "sns:Publish",
        Resource: { Ref: topicId() },
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      }),
    );
  });

  it("lets SES publish to the topic for this configuration set only, and use the topic's key", () => {
    const [policy] = Object.values(service.findResources("AWS::SNS::TopicPolicy"));
    const statements: Statement[] = policy?.Properties.PolicyDocument.Statement ?? [];
    const allows = statements.filter((s) => s.Effect === "Allow");
    expect(allows).toHaveLength(1);
    const [allow] = allows;
    expect(allow).toMatchObject({ Action: "sns:Publish", Principal: { Service: "ses.amazonaws.com" } });
    const conditions = allow?.Condition?.StringEquals as Record<string, unknown>;
    // CDK names the configuration set by its Ref, which is its (fixed) name.
    expect(flat(conditions["AWS:SourceArn"])).toBe(
      CONFIGURATION_SET_ARN.replace(CONFIGURATION_SET_NAME, `<${idOf(built.service.configurationSet)}>`),
    );
    expect(flat(conditions["AWS:SourceAccount"])).toBe("<AWS::AccountId>");
    // The key: SES may generate data keys and decrypt, and only in the encryption context of this topic.
    const keyStatements = service.toJSON().Resources[keyId()].Properties.KeyPolicy.Statement as (Statement & {
      Principal: unknown;
    })[];
    const forSes = keyStatements.filter((s) => JSON.stringify(s.Principal).includes("ses.amazonaws.com"));
    expect(forSes).toHaveLength(1);
    expect(forSes[0]?.Effect).toBe("Allow");
    expect(actionsOf(forSes[0] as Statement).sort()).toEqual(["kms:Decrypt", "kms:GenerateDataKey*"]);
    const context = (forSes[0]?.Condition?.StringEquals ?? {}) as Record<string, unknown>;
    expect(flat(context["kms:EncryptionContext:aws:sns:topicArn"])).toBe(DELIVERY_TOPIC_ARN);
    expect(DELIVERY_TOPIC_ARN).toBe(
      `arn:<AWS::Partition>:sns:<AWS::Region>:<AWS::AccountId>:${service.toJSON().Resources[topicId()].Properties.TopicName}`,
    );
  });

  it("delivers the topic's events to the delivery function, and only to it", () => {
    const delivery = logicalId(functions().delivery);
    const subscriptions = Object.values(service.findResources("AWS::SNS::Subscription"));
    expect(subscriptions.map((s) => s.Properties)).toEqual([
      expect.objectContaining({
        Protocol: "lambda",
        TopicArn: { Ref: topicId() },
        Endpoint: { "Fn::GetAtt": [delivery, "Arn"] },
      }),
    ]);
    service.hasResourceProperties("AWS::Lambda::Permission", {
      Action: "lambda:InvokeFunction",
      FunctionName: { "Fn::GetAtt": [delivery, "Arn"] },
      Principal: "sns.amazonaws.com",
      SourceArn: { Ref: topicId() },
    });
  });

  it("gives the delivery function the case data of the workflow tasks: state read/write, audit append and query, data key", () => {
    const { delivery, plan } = functions();
    const shape = (fn: DunningFunction) =>
      (serviceRoles.get(roleId(fn)) ?? [])
        .filter((s) => actionsOf(s).some((a) => a.startsWith("dynamodb:") || a.startsWith("kms:")))
        .map((s) => [s.Effect, actionsOf(s).sort(), resourcesOf(s).sort()]);
    expect(shape(delivery).length).toBeGreaterThan(0);
    expect(shape(delivery)).toEqual(shape(plan));
  });
});

describe("API", () => {
  it("has a stage with throttling, access logging, execution logging metrics and tracing", () => {
    const [stage] = Object.values(service.findResources("AWS::ApiGateway::Stage"));
    expect(stage?.Properties.MethodSettings).toEqual([
      expect.objectContaining({
        HttpMethod: "*",
        ResourcePath: "/*",
        ThrottlingRateLimit: 200,
        ThrottlingBurstLimit: 400,
        LoggingLevel: "ERROR",
        MetricsEnabled: true,
        DataTraceEnabled: false,
      }),
    ]);
    expect(stage?.Properties.TracingEnabled).toBe(true);
    const access = stage?.Properties.AccessLogSetting;
    expect(access.Format).toContain("$context.requestId");
    const logGroup = /:log-group:<(\w+)>$/.exec(flat(access.DestinationArn))?.[1] ?? "";
    expect(service.toJSON().Resources[logGroup].Type).toBe("AWS::Logs::LogGroup");
    expect(service.toJSON().Resources[logGroup].Properties.RetentionInDays).toBe(30);
  });

  it("is a regional REST API without binary media types, proxying everything to the API function", () => {
    service.hasResourceProperties("AWS::ApiGateway::RestApi", {
      EndpointConfiguration: { Types: ["REGIONAL"] },
      BinaryMediaTypes: Match.absent(),
    });
    service.hasResourceProperties("AWS::ApiGateway::Resource", { PathPart: "{proxy+}" });
    const methods = Object.values(service.findResources("AWS::ApiGateway::Method"));
    expect(methods.map((m) => m.Properties.HttpMethod)).toEqual(["ANY", "ANY"]);
    for (const method of methods) {
      expect(method.Properties.Integration.Type).toBe("AWS_PROXY");
      expect(flat(method.Properties.Integration.Uri)).toContain(`<${logicalId(functions().api)}.Arn>`);
    }
  });

  it("has a WAF web ACL on its stage", () => {
    const stageId = idOf(built.service.api.deploymentStage);
    const [association] = Object.values(service.findResources("AWS::WAFv2::WebACLAssociation"));
    expect(flat(association?.Properties.ResourceArn)).toContain(`/stages/<${stageId}>`);
    service.hasResourceProperties("AWS::WAFv2::WebACL", { Scope: "REGIONAL", DefaultAction: { Allow: {} } });
  });
});

describe("cdk-nag", () => {
  it("finds nothing unacknowledged in either stack", () => {
    const report = new AwsSolutionsChecks().validateScope(built.app);
    const findings = report.violations.map((v) => ({
      rule: v.ruleName,
      at: v.violatingResources.map((r) => r.constructPath),
    }));
    expect(findings).toEqual([]);
  });

  it("has a specific reason for every acknowledgement", () => {
    const acknowledgements: { id: string; reason: string }[] = [];
    const visit = (construct: IConstruct) => {
      for (const entry of construct.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>))
          acknowledgements.push({ id, reason });
      }
      for (const child of construct.node.children) visit(child);
    };
    visit(built.app);
    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const { id, reason } of acknowledgements) {
      expect(id).toMatch(/AwsSolutions-[A-Z]+\d+/);
      expect(reason.length, id).toBeGreaterThan(40);
    }
  });
});
