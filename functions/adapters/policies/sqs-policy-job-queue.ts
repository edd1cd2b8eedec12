import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { ApplicationMessage } from "../../domain/policy-application.ts";
import type { PolicyJobQueue } from "../../ports/policy-jobs.ts";

/** Page messages of policy applications on their SQS queue; the delay is how the job keeps its pace. */
export class SqsPolicyJobQueue implements PolicyJobQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(message: ApplicationMessage, delaySeconds: number): Promise<void> {
    const { tenantId, policyId, version, jobId, cursor } = message;
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        // Only the message's own fields, in a fixed order, whatever else the caller's object carries.
        MessageBody: JSON.stringify({ tenantId, policyId, version, jobId, ...(cursor ? { cursor } : {}) }),
        DelaySeconds: delaySeconds,
      }),
    );
  }
}
