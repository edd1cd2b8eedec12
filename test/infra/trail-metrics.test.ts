import type { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import type { DunningApp } from "../../infra/aws/build-app.ts";
import type { TrailMetrics } from "../../infra/aws/constructs/trail-metrics.ts";
import { logicalId, roleId, synthesizeApp } from "./synthesized-app.ts";
import { actionsOf, resourcesOf, type Statement } from "./template-helpers.ts";

/** The trail-metrics function on AWS: the audit stream into business metrics and the portfolio's daily counters. */
let built: DunningApp;
let service: Template;
let serviceRoles: Map<string, Statement[]>;

beforeAll(() => {
  ({ built, service, serviceRoles } = synthesizeApp());
});

const trailMetrics = () => (built.service.trailMetrics as TrailMetrics).trailMetricsFunction;
const allows = () => (serviceRoles.get(roleId(trailMetrics())) ?? []).filter((s) => s.Effect === "Allow");
const STATE_TABLE = /:table\/loan-dunning-state(\/|$)/;
const AUDIT_TABLE = /:table\/loan-dunning-audit(\/|$)/;

describe("the trail-metrics function", () => {
  it("finds the tables in its environment, and the metrics namespace", () => {
    const fn = service.toJSON().Resources[logicalId(trailMetrics())];
    expect(fn.Properties.Environment.Variables).toMatchObject({
      STATE_TABLE: "loan-dunning-state",
      AUDIT_TABLE: "loan-dunning-audit",
      POWERTOOLS_METRICS_NAMESPACE: "LoanDunning",
    });
  });

  it("may only get and update state items by key (the counters, each loan's mark), and nothing on the audit table", () => {
    const onState = allows().filter((s) => resourcesOf(s).some((r) => STATE_TABLE.test(r)));
    expect(onState.flatMap(actionsOf).sort()).toEqual(["dynamodb:GetItem", "dynamodb:UpdateItem"]);
    expect(onState.flatMap(resourcesOf)).toEqual([
      "arn:<AWS::Partition>:dynamodb:<AWS::Region>:<AWS::AccountId>:table/loan-dunning-state",
    ]);
    // The audit trail reaches it through the stream only.
    expect(allows().filter((s) => resourcesOf(s).some((r) => AUDIT_TABLE.test(r)))).toEqual([]);
    const denies = (serviceRoles.get(roleId(trailMetrics())) ?? []).filter((s) => s.Effect === "Deny");
    expect(denies.map((s) => s.Sid)).toEqual(["NeverTouchApiKeys"]);
  });
});
