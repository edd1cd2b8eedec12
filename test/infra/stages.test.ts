import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../infra/aws/build-app.ts";
import { SKIP_BUNDLING } from "./template-helpers.ts";

/** Properties that set a physical name (or one derived from the stage) on the resources the app creates. */
const NAME_PROPERTIES = [
  "TableName",
  "BucketName",
  "TopicName",
  "QueueName",
  "StateMachineName",
  "Name",
  "FunctionName",
  "LogGroupName",
  "RoleName",
  "AliasName",
  "DashboardName",
  "AlarmName",
];

function physicalNames(namePrefix: string): Map<string, string> {
  const { data, service } = buildApp({ context: SKIP_BUNDLING, namePrefix });
  const names = new Map<string, string>();
  for (const stack of [data, service]) {
    names.set(`${stack.stackName} (stack)`, stack.stackName);
    const template = Template.fromStack(stack).toJSON() as {
      Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
    };
    for (const [id, resource] of Object.entries(template.Resources)) {
      for (const property of NAME_PROPERTIES) {
        const value = resource.Properties?.[property];
        if (typeof value === "string") names.set(`${resource.Type} ${id}.${property}`, value);
      }
    }
  }
  return names;
}

describe("stages side by side", () => {
  it("two name prefixes share no physical name, and each name carries its prefix", () => {
    const staging = physicalNames("staging");
    const prod = physicalNames("prod");
    const prodNames = new Set(prod.values());
    const shared = [...staging.entries()].filter(([, name]) => prodNames.has(name));
    expect(shared).toEqual([]);
    expect([...staging.values()].every((name) => name.includes("staging"))).toBe(true);
    // The state machine, the SES configuration set, the delivery topic and the REST API are among them.
    expect([...staging.values()]).toEqual(
      expect.arrayContaining([
        "staging-workflow",
        "staging-email",
        "staging-delivery-events",
        "staging",
        "staging-data",
        "staging-service",
      ]),
    );
  });
});
