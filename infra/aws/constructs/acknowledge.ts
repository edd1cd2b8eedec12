import { Stack, Validations } from "aws-cdk-lib";
import type { IConstruct } from "constructs";

/** Why the X-Ray wildcard of active tracing is kept, on every traced function's role. */
export const TRACING_IS_UNSCOPED =
  "xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) support no resource-level scoping.";

/** Why the wildcard of an audit-stream consumer's role is kept: tracing, and listing the streams. */
export const STREAM_READ_IS_UNSCOPED =
  "dynamodb:ListStreams and the X-Ray tracing actions support no resource-level scoping; the stream read is scoped to the audit table's stream.";

/**
 * Keeps one cdk-nag finding on purpose: acknowledges `rule` (e.g. `AwsSolutions-SQS3`, or
 * `AwsSolutions-IAM5[Resource::…]` for one wildcard) with its reason on every construct given, so the finding
 * no longer fails synthesis there and the reason travels with the resources it concerns.
 */
export function acknowledge(
  constructs: IConstruct | readonly IConstruct[],
  rule: string,
  reason: string,
): void {
  for (const construct of Array.isArray(constructs) ? constructs : [constructs]) {
    Validations.of(construct).acknowledge({ id: rule, reason });
  }
}

/** The IAM5 rule id of one wildcard resource (an ARN, possibly with tokens), as cdk-nag reports it. */
export function wildcardResource(scope: IConstruct, arn: string): string {
  return `AwsSolutions-IAM5[Resource::${nagRendering(Stack.of(scope), arn)}]`;
}

/** A (possibly tokenised) string as cdk-nag writes it in a finding id: `<Ref>`, `<Id.Attr>`, joins flattened. */
function nagRendering(stack: Stack, value: string): string {
  const visit = (node: unknown): string => {
    if (typeof node === "string") return node;
    const o = (node ?? {}) as Record<string, unknown>;
    if (Array.isArray(o["Fn::Join"])) {
      const [separator, parts] = o["Fn::Join"] as [string, unknown[]];
      return parts.map(visit).join(separator);
    }
    if (Array.isArray(o["Fn::GetAtt"])) return `<${(o["Fn::GetAtt"] as string[]).join(".")}>`;
    if (typeof o.Ref === "string") return `<${o.Ref}>`;
    return JSON.stringify(node);
  };
  return visit(stack.resolve(value));
}
