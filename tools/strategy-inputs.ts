/**
 * What `npm run simulate -- --strategy <file> --policies <dir>` reads: a strategy (the body of a strategy as ops
 * write it: rules, optionally a description, id and version), checked as the product checks one, and the policies it
 * names, each from `<dir>/<id>.json` and checked as `--policy` checks one.
 */
import { readdir, readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { InvalidArgumentError } from "commander";
import * as z from "zod";
import type { Policy } from "../functions/domain/policy.ts";
import type { Strategy, StrategyRules } from "../functions/domain/strategies/strategy.ts";
import { validateStrategy } from "../functions/domain/strategies/strategy-validation.ts";
import {
  type CustomerMix,
  DEFAULT_CUSTOMER_MIX,
  mixLabel,
  parseCustomerMix,
} from "../simulator/customers.ts";
import { matchesEveryLoan } from "../simulator/lines.ts";
import type { StrategySettings } from "../simulator/settings.ts";
import { type StrategyRunReport, segmentTable } from "../simulator/strategy-report.ts";
import { fromCaller } from "./cli-io.ts";
import { loadPolicy } from "./simulation-inputs.ts";

/** The policy loans no rule matches run, when the policies folder has it. */
export const DEFAULT_POLICY_ID = "default";

const range = z.strictObject({ min: z.number().optional(), max: z.number().optional() });
const values = z.array(z.string());

/** The shape of a strategy file; the values are checked by validateStrategy, with their paths. */
const strategyFile = z.strictObject({
  id: z
    .string()
    .regex(/^[a-z0-9_-]{1,40}$/, "1–40 of a–z, 0–9, _ and -")
    .optional(),
  version: z.number().int().min(1).optional(),
  description: z.string().max(500).optional(),
  createdAt: z.string().optional(),
  createdBy: z.string().optional(),
  rules: z.array(
    z.strictObject({
      segment: z.string(),
      // Loose: a condition the product does not know is named by validateStrategy, with the ones it does.
      when: z
        .looseObject({
          score: range.optional(),
          grade: values.optional(),
          product: values.optional(),
          amount: z
            .strictObject({ currency: z.string(), min: z.string().optional(), max: z.string().optional() })
            .optional(),
          daysPastDue: range.optional(),
          customerType: values.optional(),
          brokenPromises: range.optional(),
          timeZone: values.optional(),
          country: values.optional(),
        })
        .optional(),
      policyId: z.string().optional(),
      split: z
        .array(z.strictObject({ arm: z.string(), policyId: z.string(), percent: z.number() }))
        .optional(),
    }),
  ),
});

const listIssues = (issues: { path: string; message: string }[]) =>
  issues.map((i) => `${i.path} ${i.message}`.trim()).join("; ");

/** The ids of the policies a folder holds: its `<id>.json` files. */
async function policyIds(dir: string): Promise<Set<string>> {
  let names: string[];
  try {
    names = await readdir(fromCaller(dir));
  } catch (error) {
    throw new Error(`--policies ${dir}: cannot read the folder`, { cause: error });
  }
  return new Set(
    names.filter((name) => name.endsWith(".json")).map((name) => name.slice(0, -".json".length)),
  );
}

async function readStrategy(file: string, start: string): Promise<Strategy> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(fromCaller(file), "utf8"));
  } catch (error) {
    throw new Error(`${file}: not a readable JSON file`, { cause: error });
  }
  const parsed = strategyFile.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
    throw new Error(`${file}: not a valid strategy: ${listIssues(issues)}`);
  }
  const { id, version, description, rules } = parsed.data;
  return {
    id: id ?? basename(file).replace(/\.json$/, ""),
    version: version ?? 1,
    createdAt: `${start}T00:00:00Z`,
    createdBy: "simulation",
    ...(description !== undefined ? { description } : {}),
    rules: rules as StrategyRules["rules"],
  };
}

/** Every policy a strategy names, in the order it first names them. */
function namedPolicies(strategy: StrategyRules): string[] {
  const ids = strategy.rules.flatMap((rule) => [
    ...(rule.policyId !== undefined ? [rule.policyId] : []),
    ...(rule.split ?? []).map((arm) => arm.policyId),
  ]);
  return [...new Set(ids)];
}

/**
 * The strategy and its policies, each checked; the folder's default policy, when it has one, runs the loans no rule
 * matches (when a rule can leave any unmatched). Throws with every problem of the first file that has any.
 */
export async function loadStrategy(
  file: string,
  dir: string,
  start: string,
): Promise<{ settings: StrategySettings; policies: { label: string; policy: Policy }[] }> {
  const strategy = await readStrategy(file, start);
  const known = await policyIds(dir);
  const issues = validateStrategy(strategy, known);
  if (issues.length > 0) {
    const held = known.size > 0 ? [...known].sort().join(", ") : "none";
    throw new Error(`${file}: not a valid strategy: ${listIssues(issues)} (policies in ${dir}: ${held})`);
  }
  // A last rule without conditions leaves no loan to the default policy.
  const fallback =
    known.has(DEFAULT_POLICY_ID) && !matchesEveryLoan(strategy) ? DEFAULT_POLICY_ID : undefined;
  const ids = [...new Set([...namedPolicies(strategy), ...(fallback ? [fallback] : [])])];
  const policies: { label: string; policy: Policy }[] = [];
  for (const id of ids) {
    const path = join(dir, `${id}.json`);
    const loaded = await loadPolicy(path);
    // The file name is the id the strategy knows the policy by: a different id inside would name another policy.
    if (loaded.policy.id !== id)
      throw new Error(`${path}: its id is "${loaded.policy.id}"; a policy's file is named <id>.json`);
    policies.push({ label: id, policy: loaded.policy });
  }
  return {
    settings: { strategy, ...(fallback ? { fallbackPolicyId: fallback } : {}) },
    policies,
  };
}

/** `--segment-mix temporary=0.6,malicious=0.2,…` on the command line. */
export function customerMix(value: string): CustomerMix {
  try {
    return parseCustomerMix(value);
  } catch (error) {
    throw new InvalidArgumentError(
      `${(error as Error).message} (expected e.g. ${mixLabel(DEFAULT_CUSTOMER_MIX)})`,
    );
  }
}

/** The segment table on stdout, under the strategy's name. */
export function printSegments(report: StrategyRunReport): void {
  const { strategy } = report;
  const unmatched = strategy.unmatchedPolicyId
    ? `; loans no rule matches run "${strategy.unmatchedPolicyId}"`
    : "";
  process.stdout.write(`strategy "${strategy.id}" v${strategy.version} by segment and arm${unmatched}:\n`);
  for (const line of segmentTable(report.bySegment)) process.stdout.write(`  ${line}\n`);
}
