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
            { Name: "loan", Value: encodeLoanTag(message.loanId) },
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

/**
 * Loan ids may hold `.` and `:`, which SES tag values do not allow; the delivery function reads the loan
 * back from this tag, so the encoding is reversible: `_` → `_u`, `.` → `_d`, `:` → `_c` (a 128-character
 * id stays within the 256-character limit).
 */
export function encodeLoanTag(loanId: string): string {
  return loanId.replace(/[_.:]/g, (c) => (c === "_" ? "_u" : c === "." ? "_d" : "_c"));
}

/** The loan id from a `loan` tag value; null when the value is not one `encodeLoanTag` produces. */
export function decodeLoanTag(value: string): string | null {
  if (!/^(?:[A-Za-z0-9-]|_[udc])+$/.test(value)) return null;
  return value.replace(/_[udc]/g, (e) => (e === "_u" ? "_" : e === "_d" ? "." : ":"));
}
