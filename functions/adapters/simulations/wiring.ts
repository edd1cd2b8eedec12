import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { LambdaConfig } from "../../config.ts";
import { DependencyUnavailableError } from "../../domain/errors.ts";
import type { SimulationMessage } from "../../domain/simulation-job.ts";
import type { SimulationQueue, SimulationStore } from "../../ports/simulations.ts";
import type { Clock } from "../../ports.ts";
import type { SimulationRunDeps } from "../../usecases/simulation-run.ts";
import { awsRepositories } from "../aws.ts";
import { CLIENT_TIMEOUTS } from "../client-config.ts";
import { asDependencyError } from "../dependency-errors.ts";
import { openCaseReader } from "../dynamo/open-case-reader.ts";
import { DynamoSimulationStore } from "../dynamo/simulation-store.ts";
import type { TableNames } from "../dynamo/tables.ts";

/** A job's one message on the simulation queue: the simulation function takes it from there. */
export class SqsSimulationQueue implements SimulationQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send({ tenantId, simulationId }: SimulationMessage): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify({ tenantId, simulationId }),
      }),
    );
  }
}

/** What the API needs to start and read simulations; undefined where no queue is configured (a start: 422). */
export function simulationJobs(
  config: LambdaConfig,
  client: DynamoDBDocumentClient,
  tables: TableNames,
): { jobs: SimulationStore; queue: SimulationQueue } | undefined {
  if (!config.SIMULATION_QUEUE_URL) return undefined;
  return {
    jobs: new DynamoSimulationStore(client, tables),
    queue: new SqsSimulationQueue(new SQSClient(CLIENT_TIMEOUTS), config.SIMULATION_QUEUE_URL),
  };
}

/** The simulation function's ports: the job records, the open cases, the clock. */
export function simulationRunner(config: LambdaConfig, clock: Clock): SimulationRunDeps {
  const { client, tables } = awsRepositories(config);
  return {
    jobs: new DynamoSimulationStore(client, tables),
    openCases: openCaseReader(client, tables.stateTable),
    clock,
    isUnavailable: (error) => asDependencyError(error) instanceof DependencyUnavailableError,
  };
}
