import { type DynamoDBDocumentClient, paginateScan } from "@aws-sdk/lib-dynamodb";
import type { WorkflowControl } from "../../functions/ports.ts";

/**
 * After a restart on kept data (--data-dir), every case the workflow still has work for gets a fresh
 * execution of its current generation; the re-entrant workflow continues from the stored state and
 * settles any step a crash left in flight. On AWS, Step Functions keeps executions itself.
 */
export async function resumeOpenCases(
  client: DynamoDBDocumentClient,
  stateTable: string,
  workflow: WorkflowControl,
): Promise<number> {
  let resumed = 0;
  const pages = paginateScan(
    { client },
    {
      TableName: stateTable,
      // A parked case has no execution to resume: the waker starts one when its action comes near.
      FilterExpression:
        "sk = :case AND (#status = :active OR (#status = :onHold AND attribute_exists(#hold.#until))) AND (attribute_not_exists(#parked) OR #parked = :false)",
      ProjectionExpression: "tenantId, loanId, generation",
      ExpressionAttributeNames: {
        "#status": "status",
        "#hold": "hold",
        "#until": "until",
        "#parked": "parked",
      },
      ExpressionAttributeValues: {
        ":case": "CASE",
        ":active": "active",
        ":onHold": "on_hold",
        ":false": false,
      },
    },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      await workflow.start({ tenantId: item.tenantId, loanId: item.loanId, generation: item.generation });
      resumed++;
    }
  }
  return resumed;
}
