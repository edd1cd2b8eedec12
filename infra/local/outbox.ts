import { randomBytes } from "node:crypto";
import type { Clock, MessageSender, OutgoingMessage } from "../../functions/ports.ts";

export interface OutboxMessage {
  id: string;
  tenantId: string;
  loanId: string;
  channel: "sms" | "email";
  to: string;
  subject?: string;
  body: string;
  sentAt: string;
  step: string;
  stage: string;
  locale: string;
}

/** Stands in for SES and SNS on one machine: keeps what they would have delivered, in send order. */
export class Outbox implements MessageSender {
  private readonly messages: OutboxMessage[] = [];
  /** Messages whose delivery has not been reported to the audit trail yet (see delivery-reports.ts). */
  private unreported: OutboxMessage[] = [];

  private readonly run = randomBytes(4).toString("hex");

  constructor(private readonly clock: Clock) {}

  async send(message: OutgoingMessage): Promise<{ providerMessageId: string }> {
    // Unique across restarts of the stack too: delivery reports are de-duplicated by this id.
    const id = `local-${this.run}-${String(this.messages.length + 1).padStart(8, "0")}`;
    const stored: OutboxMessage = {
      id,
      tenantId: message.tenantId,
      loanId: message.loanId,
      channel: message.channel,
      to: message.to,
      ...(message.subject !== undefined ? { subject: message.subject } : {}),
      body: message.body,
      sentAt: this.clock.now().toISOString(),
      step: message.step,
      stage: message.stage,
      locale: message.locale,
    };
    this.messages.push(stored);
    this.unreported.push(stored);
    return { providerMessageId: id };
  }

  /** Hands over (once) the messages sent for one loan whose delivery is still to be reported. */
  takeUnreported(tenantId: string, loanId: string): OutboxMessage[] {
    const taken = this.unreported.filter((m) => m.tenantId === tenantId && m.loanId === loanId);
    this.unreported = this.unreported.filter((m) => !taken.includes(m));
    return taken;
  }

  /** Gives back a message whose report could not be recorded: the next report for its loan tries again. */
  returnUnreported(message: OutboxMessage): void {
    this.unreported.push(message);
  }

  list(filter: { loanId?: string; channel?: string } = {}): OutboxMessage[] {
    return this.messages.filter(
      (m) =>
        (!filter.loanId || m.loanId === filter.loanId) && (!filter.channel || m.channel === filter.channel),
    );
  }
}
