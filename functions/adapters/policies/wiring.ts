import { SQSClient } from "@aws-sdk/client-sqs";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { LambdaConfig } from "../../config.ts";
import { DependencyUnavailableError } from "../../domain/errors.ts";
import type { PolicyJobQueue, PolicyJobStore } from "../../ports/policy-jobs.ts";
import type { Clock } from "../../ports.ts";
import type { ApplicationDeps } from "../../usecases/policy-application.ts";
import { awsRepositories, awsWorkflow } from "../aws.ts";
import { CLIENT_TIMEOUTS } from "../client-config.ts";
import { asDependencyError } from "../dependency-errors.ts";
import { openCasePages } from "../dynamo/case-queries.ts";
import { DynamoPolicyJobStore } from "../dynamo/policy-jobs.ts";
import type { TableNames } from "../dynamo/tables.ts";
import { SqsPolicyJobQueue } from "./sqs-policy-job-queue.ts";

/** What the API needs to start policy applications; undefined where no queue is configured (in_flight: 422). */
export function policyApplications(
  config: LambdaConfig,
  client: DynamoDBDocumentClient,
  tables: TableNames,
): { jobs: PolicyJobStore; queue: PolicyJobQueue } | undefined {
  if (!config.POLICY_APPLY_QUEUE_URL) return undefined;
  return {
    jobs: new DynamoPolicyJobStore(client, tables),
    queue: new SqsPolicyJobQueue(new SQSClient(CLIENT_TIMEOUTS), config.POLICY_APPLY_QUEUE_URL),
  };
}

/** The page runner's ports: cases, policies, the workflow, the job records, the queue and the pace. */
export function applicationRunner(config: LambdaConfig, clock: Clock): ApplicationDeps {
  const { client, tables, cases, policies } = awsRepositories(config);
  const applications = policyApplications(config, client, tables);
  if (!applications) throw new Error("invalid configuration: POLICY_APPLY_QUEUE_URL is required");
  return {
    ...applications,
    policies,
    cases,
    workflow: awsWorkflow(config),
    clock,
    openCases: openCasePages(client, tables.stateTable),
    pace: { casesPerSecond: config.POLICY_APPLY_RATE, pageSize: config.POLICY_APPLY_PAGE_SIZE },
    horizonDays: config.WORKFLOW_HORIZON_DAYS,
    isUnavailable: (error) => asDependencyError(error) instanceof DependencyUnavailableError,
  };
}
