import { type SESClient, SendEmailCommand } from "@aws-sdk/client-ses";
import type { MessageSender, OutgoingMessage } from "../../ports.ts";
import { asProviderError } from "./provider-errors.ts";

/** Email through Amazon SES, plain text, UTF-8. */
export class SesEmailSender implements MessageSender {
  constructor(
    private readonly ses: SESClient,
    private readonly from: string,
    private readonly configurationSet?: string,
  ) {}

  async send(message: OutgoingMessage): Promise<{ providerMessageId: string }> {
    if (message.channel !== "email") throw new Error(`SES cannot send ${message.channel}`);
    try {
      const result = await this.ses.send(
        new SendEmailCommand({
          Source: this.from,
          Destination: { ToAddresses: [message.to] },
          Message: {
            Subject: { Data: message.subject ?? "", Charset: "UTF-8" },
            Body: { Text: { Data: message.body, Charset: "UTF-8" } },
          },
          ...(this.configurationSet ? { ConfigurationSetName: this.configurationSet } : {}),
          Tags: [
            { Name: "tenant", Value: tagValue(message.tenantId) },
            { Name: "step", Value: tagValue(message.step) },
          ],
        }),
      );
      return { providerMessageId: result.MessageId ?? "" };
    } catch (error) {
      throw asProviderError(error, "ses");
    }
  }
}

/** SES tag values allow only letters, digits, _ and -. */
function tagValue(value: string): string {
  return value.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 256);
}
