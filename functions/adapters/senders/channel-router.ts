import type { Channel } from "../../domain/policy.ts";
import type { MessageSender, OutgoingMessage } from "../../ports.ts";

/** One sender per channel behind the single MessageSender port. */
export class ChannelRouter implements MessageSender {
  constructor(private readonly byChannel: Record<Channel, MessageSender>) {}

  send(message: OutgoingMessage) {
    return this.byChannel[message.channel].send(message);
  }
}
