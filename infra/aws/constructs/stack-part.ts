import { createHash } from "node:crypto";
import { type CfnElement, Names, type Stack } from "aws-cdk-lib";
import { Construct, type IConstruct } from "constructs";

/**
 * One concern of a stack — the workflow, the API, the import path… — as a construct of its own, so each can be read
 * (and changed) on its own. The grouping is for the reader only: a stack that allocates logical IDs with
 * flatLogicalId gives the resources inside a part the logical IDs they would have directly in the stack. Splitting
 * the stack into parts, or moving a resource from one part to another, therefore replaces nothing on deploy — and
 * the resources with fixed names (the state machine, the topics, the configuration set) could not even be replaced:
 * CloudFormation creates the new resource before it deletes the old one, and the name is taken.
 *
 * Two parts must not hold children with the same id: their resources would get the same logical ID, which fails
 * synthesis.
 */
export class StackPart extends Construct {}

const isPart = (scope: IConstruct): boolean => scope instanceof StackPart;

/**
 * The logical ID CDK would give `element` if no StackPart sat between it and `stack`. Construct ids that embed the
 * unique id of another construct (a Lambda permission `AllowEventRule<rule>`, an event source mapping
 * `SqsEventSource:<queue>`) get that construct's unique id as it would be outside the parts, too.
 */
export function flatLogicalId(stack: Stack, element: CfnElement): string {
  const scopes = element.node.scopes;
  const path = scopes.slice(scopes.indexOf(stack) + 1);
  const renames = uniqueIdsInParts(stack);
  return uniqueId(
    path
      .filter((scope) => !isPart(scope))
      .map((scope) => {
        let id = scope.node.id;
        for (const [inPart, flat] of renames) if (id.includes(inPart)) id = id.replace(inPart, flat);
        return id;
      }),
  );
}

const renamesCache = new WeakMap<Stack, { constructs: number; renames: Map<string, string> }>();

/** Unique id (Names.nodeUniqueId) → the same without parts, for every construct inside a part of `stack`. */
function uniqueIdsInParts(stack: Stack): Map<string, string> {
  const all = stack.node.findAll();
  const cached = renamesCache.get(stack);
  if (cached?.constructs === all.length) return cached.renames;
  const renames = new Map<string, string>();
  for (const construct of all) {
    const scopes = construct.node.scopes;
    if (!scopes.some(isPart)) continue;
    const flat = uniqueId(
      scopes
        .slice(1)
        .filter((scope) => !isPart(scope))
        .map((scope) => scope.node.id),
    );
    renames.set(Names.nodeUniqueId(construct.node), flat);
  }
  renamesCache.set(stack, { constructs: all.length, renames });
  return renames;
}

/**
 * CDK's unique id of a construct path (its `makeUniqueId`, which is not exported): the path's alphanumerics, then
 * the first 8 hex digits of the MD5 of the path. `Default` is left out of both, `Resource` of the readable part. The
 * algorithm cannot change in CDK without changing every deployed logical ID, so a copy stays in step.
 */
function uniqueId(components: string[]): string {
  const ids = components.filter((id) => id !== "Default");
  const alphanumeric = (s: string) => s.replace(/[^A-Za-z0-9]/g, "");
  if (ids.length === 1) {
    const candidate = alphanumeric(ids[0] as string);
    if (candidate.length <= 255) return candidate;
  }
  const hash = createHash("md5").update(ids.join("/")).digest("hex").slice(0, 8).toUpperCase();
  const readable: string[] = [];
  for (const id of ids) if (!readable.at(-1)?.endsWith(id)) readable.push(id);
  return (
    readable
      .filter((id) => id !== "Resource")
      .map(alphanumeric)
      .join("")
      .slice(0, 240) + hash
  );
}
