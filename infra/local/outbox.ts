import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, readFileSync } from "node:fs";
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

/** The outbox journal's file name in a stack's data folder. */
export const OUTBOX_JOURNAL = "outbox.jsonl";

/** One line of the outbox journal: a message handed over, or its delivery reported to the trail. */
type JournalLine = { sent: OutboxMessage } | { reported: string };

/**
 * Stands in for SES and SNS on one machine: keeps what they would have delivered, in send order. With a journal
 * file (a stack with a data folder) it outlives a crash as a provider does: what it took is still listed after a
 * restart, and a message whose delivery was not yet reported is reported then (see reportPending).
 */
export class Outbox implements MessageSender {
  private readonly messages: OutboxMessage[] = [];
  /** Messages whose delivery has not been reported to the audit trail yet (see delivery-reports.ts). */
  private unreported: OutboxMessage[] = [];

  private readonly run = randomBytes(4).toString("hex");

  constructor(
    private readonly clock: Clock,
    private readonly journal?: string,
  ) {
    if (!journal || !existsSync(journal)) return;
    const reported = new Set<string>();
    for (const line of readFileSync(journal, "utf8").split("\n")) {
      if (!line) continue;
      let entry: JournalLine;
      try {
        entry = JSON.parse(line) as JournalLine;
      } catch {
        continue; // a line cut short by the crash: its message never left (send appends before it returns)
      }
      if ("sent" in entry) this.messages.push(entry.sent);
      else reported.add(entry.reported);
    }
    this.unreported = this.messages.filter((m) => !reported.has(m.id));
  }

  private record(line: JournalLine): void {
    if (this.journal) appendFileSync(this.journal, `${JSON.stringify(line)}\n`, { mode: 0o600 });
  }

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
    this.record({ sent: stored });
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

  /** Every message still to be reported, whatever its loan (after a restart). */
  takeAllUnreported(): OutboxMessage[] {
    const taken = this.unreported;
    this.unreported = [];
    return taken;
  }

  /** Gives back a message whose report could not be recorded: the next report for its loan tries again. */
  returnUnreported(message: OutboxMessage): void {
    this.unreported.push(message);
  }

  /** Notes that a message's delivery is on the trail, so a restart does not report it again. */
  markReported(message: OutboxMessage): void {
    this.record({ reported: message.id });
  }

  list(filter: { loanId?: string; channel?: string } = {}): OutboxMessage[] {
    return this.messages.filter(
      (m) =>
        (!filter.loanId || m.loanId === filter.loanId) && (!filter.channel || m.channel === filter.channel),
    );
  }
}
