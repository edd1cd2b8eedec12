/**
 * What the simulator's commands (`npm run simulate`, `npm run capacity`) read the same way: numbers and dates on
 * the command line, a policy file, a payment model, and a progress bar on a terminal.
 */
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import cliProgress from "cli-progress";
import { InvalidArgumentError } from "commander";
import { policyUpdateSchema, toPolicyRules } from "../functions/contracts/requests.ts";
import type { Policy } from "../functions/domain/policy.ts";
import { type PolicyRules, validatePolicy } from "../functions/domain/policy-validation.ts";
import { templatesOf } from "../functions/domain/templates.ts";
import { DEFAULT_PAYMENT_MODEL, type PaymentModel, paymentModelIssues } from "../simulator/payments.ts";
import { fromCaller } from "./cli-io.ts";

export const integer = (min: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected a whole number ≥ ${min}`);
  return n;
};

export function share(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !(n >= 0 && n <= 1))
    throw new InvalidArgumentError("expected a share from 0 to 1");
  return n;
}

export function date(value: string): string {
  const ms = Date.parse(`${value}T00:00:00Z`);
  // A real calendar day: 2026-02-30 parses, as 2026-03-02, so compare the way back too.
  if (
    !/^\d{4}-\d{2}-\d{2}$/.test(value) ||
    Number.isNaN(ms) ||
    new Date(ms).toISOString().slice(0, 10) !== value
  ) {
    throw new InvalidArgumentError("expected a date such as 2026-03-02");
  }
  return value;
}

/** A policy file: a PUT /v1/policies body (id and version optional), checked as the API checks it. */
export async function loadPolicy(file: string): Promise<{ label: string; policy: Policy }> {
  // Paths are the caller's (npm runs this from the package root), as are all the paths below.
  const parsed = policyUpdateSchema.safeParse(JSON.parse(await readFile(fromCaller(file), "utf8")));
  const rules = parsed.success ? withTemplates(toPolicyRules(parsed.data)) : null;
  const problems = rules
    ? validatePolicy(rules)
    : (parsed.error?.issues ?? []).map((i) => ({ path: i.path.join("."), message: i.message }));
  if (!rules || !parsed.data || problems.length > 0) {
    throw new Error(
      `${file}: not a valid policy: ${problems.map((i) => `${i.path} ${i.message}`.trim()).join("; ")}`,
    );
  }
  const label = basename(file).replace(/\.json$/, "");
  return {
    label,
    policy: { id: parsed.data.id ?? label, version: parsed.data.version ?? 1, ...rules },
  };
}

/** As a new policy stored through the API: without templates of its own it sends the built-in texts. */
const withTemplates = (rules: PolicyRules): PolicyRules => ({
  ...rules,
  templates: templatesOf(rules),
});

export async function loadPayments(file: string | undefined): Promise<PaymentModel> {
  if (!file) return DEFAULT_PAYMENT_MODEL;
  const model = JSON.parse(await readFile(fromCaller(file), "utf8")) as unknown;
  const issues = paymentModelIssues(model);
  if (issues.length > 0) throw new Error(`${file}: ${issues.join("; ")}`);
  return model as PaymentModel;
}

/** A progress bar on stderr when it is a terminal; nothing otherwise. */
export function progressBar(enabled: boolean, tool: string, counted: string) {
  if (!enabled || !process.stderr.isTTY) return { update: (_d: number, _t: number) => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      format: `${tool} [{bar}] {percentage}% | {value}/{total} ${counted} | {eta_formatted} left`,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done: number, total: number) {
      if (!started) {
        bar.start(total, 0);
        started = true;
      }
      bar.update(done);
    },
    stop: () => started && bar.stop(),
  };
}
