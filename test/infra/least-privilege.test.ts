import type { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import type { DunningApp } from "../../infra/aws/build-app.ts";
import type { PortfolioImport } from "../../infra/aws/constructs/portfolio-import.ts";
import type { DunningFunction } from "../../infra/aws/dunning-function.ts";
import {
  CONFIGURATION_SET_ARN,
  DELIVERY_TOPIC_ARN,
  dunningFunctions,
  EXPORT_BUCKET_NAME,
  HANDOFF_TOPIC_ARN,
  idOf,
  roleId,
  synthesizeApp,
} from "./synthesized-app.ts";
import { actionsOf, resourcesOf, type Statement } from "./template-helpers.ts";

const STATE_TABLE_ARN =
  /^arn:<AWS::Partition>:dynamodb:<AWS::Region>:<AWS::AccountId>:table\/loan-dunning-state(\/index\/\*)?$/;
const AUDIT_TABLE_ARN = /:table\/loan-dunning-audit(\/|$)/;
const AUDIT_MUTATIONS = ["dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"];
const EXPORT_OBJECTS = (prefix: string) => `arn:<AWS::Partition>:s3:::${EXPORT_BUCKET_NAME}/${prefix}*`;
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

beforeAll(() => {
  ({ built, data, service, serviceRoles, dataRoles } = synthesizeApp());
});
const functions = () => dunningFunctions(built);
const allowStatements = () => [...serviceRoles.values()].flat().filter((s) => s.Effect === "Allow");

describe("least privilege: tables", () => {
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
});

describe("least privilege: the workflow and sending", () => {
  it("lets the API control executions and the steps only start the next one of this state machine", () => {
    const stateMachineId = idOf(built.service.workflow.stateMachine);
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
});

describe("least privilege: objects", () => {
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
    const { importFunction, consumerFunction } = built.service.portfolioImport as PortfolioImport;
    expect(grants(importFunction)).toEqual([
      "s3:GetObject arn:<AWS::Partition>:s3:::loan-dunning-imports-<AWS::AccountId>-<AWS::Region>/imports/*",
    ]);
    expect(grants(consumerFunction)).toEqual([]);
    // Any other role in either stack (state machine, API Gateway logging…) has no S3 at all.
    const functionRoles = new Set(
      [...Object.values(functions()), importFunction, consumerFunction].map(roleId),
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
});

describe("least privilege: topics, keys and managed policies", () => {
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
