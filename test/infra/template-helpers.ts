import type { Template } from "aws-cdk-lib/assertions";

/** Context that skips esbuild: template assertions must not depend on the handlers' current contents. */
export const SKIP_BUNDLING = { "aws:cdk:bundling-stacks": [] };

export interface Statement {
  Effect: "Allow" | "Deny";
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, unknown>;
  Sid?: string;
}

/**
 * Renders a CloudFormation value as one string so ARNs can be matched by pattern:
 * Fn::Join is joined, Ref becomes `<Id>`, Fn::GetAtt becomes `<Id.Attr>` (as cdk-nag writes them), anything else is JSON.
 */
export function flat(value: unknown): string {
  if (typeof value === "string") return value;
  if (value && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (Array.isArray(o["Fn::Join"])) {
      const [separator, parts] = o["Fn::Join"] as [string, unknown[]];
      return parts.map(flat).join(separator);
    }
    if (typeof o.Ref === "string") return `<${o.Ref}>`;
    if (Array.isArray(o["Fn::GetAtt"])) return `<${(o["Fn::GetAtt"] as string[]).join(".")}>`;
  }
  return JSON.stringify(value);
}

export const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** Every identity-policy statement in the template, keyed by the logical id of the role it applies to. */
export function statementsByRole(template: Template): Map<string, Statement[]> {
  const byRole = new Map<string, Statement[]>();
  const add = (role: string, statements: Statement[]) => {
    byRole.set(role, [...(byRole.get(role) ?? []), ...statements]);
  };
  for (const [id, role] of Object.entries(template.findResources("AWS::IAM::Role"))) {
    add(id, []);
    for (const policy of list(role.Properties?.Policies) as {
      PolicyDocument: { Statement: Statement[] };
    }[]) {
      add(id, policy.PolicyDocument.Statement);
    }
  }
  for (const policy of Object.values(template.findResources("AWS::IAM::Policy"))) {
    for (const role of list(policy.Properties.Roles) as { Ref: string }[]) {
      add(role.Ref, policy.Properties.PolicyDocument.Statement);
    }
  }
  return byRole;
}

export const actionsOf = (statement: Statement): string[] => list(statement.Action);
export const resourcesOf = (statement: Statement): string[] => list(statement.Resource).map(flat);
