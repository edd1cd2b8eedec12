import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { expiresAtOf, type SimulationProgress } from "../../domain/simulation-job.ts";
import type { SimulationJob, SimulationRef, SimulationStore } from "../../ports/simulations.ts";
import { isConditionalCheckFailed } from "./errors.ts";
import { keys } from "./schema.ts";

/** The stored attributes of a job besides its keys (`status`, `input`, `report`… are reserved words, hence names). */
const FIELDS = [
  "id",
  "status",
  "progress",
  "startedAt",
  "finishedAt",
  "requestedBy",
  "input",
  "report",
  "chartSvg",
  "failure",
] as const;

const keyOf = (ref: SimulationRef) => keys.simulation(ref.tenantId, ref.id);

function toJob(item: Record<string, unknown>): SimulationJob {
  const job: Record<string, unknown> = {};
  for (const field of FIELDS) if (item[field] !== undefined) job[field] = item[field];
  if (typeof job.report === "string") job.report = JSON.parse(job.report);
  return job as unknown as SimulationJob;
}

/**
 * Simulation jobs in the state table (`T#<tenant>#SIMULATION#<id>` / `SIMULATION`), removed by the table's time to
 * live some days after they started. Every change after the first write is conditional on the job still running, so
 * a message delivered twice never ends a job twice.
 */
export class DynamoSimulationStore implements SimulationStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tables: { stateTable: string },
  ) {}

  async create(tenantId: string, job: SimulationJob): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tables.stateTable,
        Item: { ...keyOf({ tenantId, id: job.id }), tenantId, ...job, expiresAt: expiresAtOf(job.startedAt) },
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
  }

  async get(ref: SimulationRef): Promise<SimulationJob | null> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tables.stateTable, Key: keyOf(ref), ConsistentRead: true }),
    );
    return Item ? toJob(Item) : null;
  }

  async progress(ref: SimulationRef, progress: SimulationProgress): Promise<void> {
    await this.whileRunning(ref, { progress });
  }

  succeed(ref: SimulationRef, outcome: Parameters<SimulationStore["succeed"]>[1]): Promise<boolean> {
    const { report, chartSvg, progress, at } = outcome;
    // As its JSON text: the report reads back exactly as the simulator wrote it (a DynamoDB map keeps no key order).
    const text = JSON.stringify(report);
    return this.whileRunning(ref, { status: "succeeded", progress, report: text, chartSvg, finishedAt: at });
  }

  async fail(ref: SimulationRef, failure: string, at: string): Promise<void> {
    await this.whileRunning(ref, { status: "failed", failure, finishedAt: at });
  }

  /** Sets the given attributes on condition that the job is running; false when it was not (nothing written). */
  private async whileRunning(ref: SimulationRef, values: Record<string, unknown>): Promise<boolean> {
    const names = Object.keys(values);
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tables.stateTable,
          Key: keyOf(ref),
          UpdateExpression: `SET ${names.map((name) => `#${name} = :${name}`).join(", ")}`,
          ConditionExpression: "#status = :running",
          ExpressionAttributeNames: Object.fromEntries(
            [...names, "status"].map((name) => [`#${name}`, name]),
          ),
          ExpressionAttributeValues: {
            ...Object.fromEntries(names.map((name) => [`:${name}`, values[name]])),
            ":running": "running",
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}
