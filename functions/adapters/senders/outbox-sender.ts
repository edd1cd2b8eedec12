import { ProviderThrottledError } from "../../domain/errors.ts";
import type { MessageSender, OutgoingMessage } from "../../ports.ts";

/**
 * The embedded stack's delivery edge: hands each message to its outbox over HTTP, where SES and SNS would take
 * it on AWS. The outbox refusing for now (429, 503) reads as a provider throttling, as SES's would.
 */
export class OutboxSender implements MessageSender {
  constructor(private readonly url: string) {}

  async send(message: OutgoingMessage): Promise<{ providerMessageId: string }> {
    const response = await fetch(this.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(message),
    });
    if (response.status === 429 || response.status === 503) {
      throw new ProviderThrottledError(`outbox: ${response.status}`);
    }
    if (!response.ok) throw new Error(`outbox refused the message: ${response.status}`);
    return (await response.json()) as { providerMessageId: string };
  }
}
