import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import type { MessageSender, OutgoingMessage } from "../../ports.ts";
import { asProviderError } from "./provider-errors.ts";

/** SMS straight to the borrower's phone through Amazon SNS, as a transactional message. */
export class SnsSmsSender implements MessageSender {
  constructor(
    private readonly sns: SNSClient,
    private readonly senderId?: string,
  ) {}

  async send(message: OutgoingMessage): Promise<{ providerMessageId: string }> {
    if (message.channel !== "sms") throw new Error(`SNS cannot send ${message.channel}`);
    try {
      const result = await this.sns.send(
        new PublishCommand({
          PhoneNumber: message.to,
          Message: message.body,
          MessageAttributes: {
            "AWS.SNS.SMS.SMSType": { DataType: "String", StringValue: "Transactional" },
            ...(this.senderId
              ? { "AWS.SNS.SMS.SenderID": { DataType: "String", StringValue: this.senderId } }
              : {}),
          },
        }),
      );
      return { providerMessageId: result.MessageId ?? "" };
    } catch (error) {
      throw asProviderError(error, "sns");
    }
  }
}
