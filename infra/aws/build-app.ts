import { readFileSync } from "node:fs";
import { App, type Environment, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { DunningDataStack } from "./data-stack.ts";
import { DunningServiceStack } from "./service-stack.ts";

export const DEFAULT_EMAIL_FROM = "no-reply@example.com";

export interface DunningAppProps {
  /** Sender address for email (context `emailFrom`). */
  emailFrom?: string;
  /** Alphanumeric SMS sender id (context `smsSenderId`). */
  smsSenderId?: string;
  /** Attach a WAF web ACL to the API (context `webAcl`, default true). */
  webAcl?: boolean;
  /** SMS budget in US dollars a month; the spend alarm fires at 80% (context `smsMonthlyBudgetUsd`, default 1000). */
  smsMonthlyBudgetUsd?: number;
  /** Cases a policy application re-plans per second (context `policyApplyRate`; the function's default, 50). */
  policyApplyRate?: number;
  /** The borrowers' page's public base, e.g. the lender's domain (context `portalBaseUrl`; default: the stage URL). */
  portalBaseUrl?: string;
  /** Prefix of stack and table names (context `namePrefix`, default `loan-dunning`). */
  namePrefix?: string;
  env?: Environment;
  /** Extra context, on top of cdk.json's (tests). */
  context?: Record<string, unknown>;
  outdir?: string;
}

export interface DunningApp {
  app: App;
  data: DunningDataStack;
  service: DunningServiceStack;
}

/**
 * Builds the whole app — data stack, service stack and the cdk-nag AwsSolutions checks that run at synth — so the
 * CLI entry (app.ts) and the tests synthesise exactly the same thing. cdk.json's context (feature flags) is applied
 * here too, so an in-process synth behaves like `cdk synth`.
 */
export function buildApp(props: DunningAppProps = {}): DunningApp {
  const app = new App({
    context: { ...readCdkJsonContext(), ...props.context },
    analyticsReporting: false,
    ...(props.outdir ? { outdir: props.outdir } : {}),
  });
  const setting = (key: string): string | undefined => {
    const value: unknown = app.node.tryGetContext(key);
    return value === undefined || value === null || value === "" ? undefined : String(value);
  };

  const emailFrom = props.emailFrom ?? setting("emailFrom") ?? DEFAULT_EMAIL_FROM;
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(emailFrom)) {
    throw new Error(`emailFrom must be an email address, got "${emailFrom}"`);
  }
  const smsSenderId = props.smsSenderId ?? setting("smsSenderId");
  if (smsSenderId !== undefined && !/^[A-Za-z0-9 ]{1,11}$/.test(smsSenderId)) {
    throw new Error(`smsSenderId must be 1-11 letters, digits or spaces, got "${smsSenderId}"`);
  }
  const webAcl = props.webAcl ?? setting("webAcl") !== "false";
  const smsBudget = props.smsMonthlyBudgetUsd ?? Number(setting("smsMonthlyBudgetUsd") ?? 1000);
  if (!Number.isFinite(smsBudget) || smsBudget <= 0) {
    throw new Error(`smsMonthlyBudgetUsd must be a positive number of US dollars, got "${smsBudget}"`);
  }
  const applyRate = props.policyApplyRate ?? optionalNumber(setting("policyApplyRate"));
  if (applyRate !== undefined && !(applyRate > 0 && applyRate <= 100)) {
    throw new Error(
      `policyApplyRate must be a number of cases a second above 0 and up to 100, got "${applyRate}"`,
    );
  }
  const portalBaseUrl = props.portalBaseUrl ?? setting("portalBaseUrl");
  // The page's cookies are Secure: links over plain HTTP would never keep a session.
  const isHttps = (url: string) => URL.canParse(url) && new URL(url).protocol === "https:";
  if (portalBaseUrl !== undefined && !isHttps(portalBaseUrl)) {
    throw new Error(`portalBaseUrl must be an https:// URL, got "${portalBaseUrl}"`);
  }
  const prefix = props.namePrefix ?? setting("namePrefix") ?? "loan-dunning";
  const stackProps = props.env ? { env: props.env } : {};

  const data = new DunningDataStack(app, "Data", {
    ...stackProps,
    stackName: `${prefix}-data`,
    description:
      "Loan dunning: state and audit tables, export and import buckets, legal hand-off topic, the key that encrypts them and the webhook secrets key (retained)",
    tableNamePrefix: prefix,
  });
  const service = new DunningServiceStack(app, "Service", {
    ...stackProps,
    stackName: `${prefix}-service`,
    description: "Loan dunning: API, workflow and functions (stateless)",
    stateTableName: data.stateTableName,
    auditTableName: data.auditTableName,
    auditStreamArn: data.auditTable.tableStreamArn as string,
    exportBucketName: data.exportBucketName,
    importBucketName: data.importBucketName,
    handOffTopicName: data.handOffTopicName,
    dataKey: data.dataKey,
    webhookSecretsKey: data.webhookSecretsKey,
    emailFrom,
    ...(smsSenderId ? { smsSenderId } : {}),
    webAcl,
    ...(portalBaseUrl ? { portalBaseUrl } : {}),
    namePrefix: prefix,
    smsMonthlyBudgetUsd: smsBudget,
    ...(applyRate !== undefined ? { policyApplyRate: applyRate } : {}),
  });
  service.addStackDependency(data, "tables, bucket, topic and keys are referenced by name");

  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, data, service };
}

const optionalNumber = (value: string | undefined) => (value === undefined ? undefined : Number(value));

function readCdkJsonContext(): Record<string, unknown> {
  const file = new URL("../../cdk.json", import.meta.url);
  const json = JSON.parse(readFileSync(file, "utf8")) as { context?: Record<string, unknown> };
  return json.context ?? {};
}
