import { createHash } from "node:crypto";

/**
 * The text of a message as sent, kept apart from the audit trail so the trail (and the webhooks derived from it)
 * never carries the borrower's name, while the people who look after the loan can still read what went out. The
 * trail's `message_sent` holds the copy's SHA-256: a copy that was altered no longer matches its entry, and a
 * copy that is deleted leaves the chain intact.
 *
 * A portal link's token is a credential (only its hash is ever stored), so the copy, and the hash the trail holds,
 * name the link by its public id in place of the token. Anyone holding the message as received can check it
 * against the trail by making the same replacement.
 */
export interface MessageCopy {
  /** SHA-256 (hex) of `${subject ?? ""}\n${body}`: the `contentSha256` of the message's `message_sent` entry. */
  contentSha256: string;
  subject?: string;
  body: string;
}

/** How the copy names a link in place of its token. */
export const linkPlaceholder = (linkId: string) => `[link ${linkId}]`;

/** The SHA-256 the trail records for a message's text. */
export function contentSha256(content: { subject?: string; body: string }): string {
  return createHash("sha256")
    .update(`${content.subject ?? ""}\n${content.body}`)
    .digest("hex");
}

/** The copy of a message as it is kept, with the link's token (if the message carries one) replaced by its id. */
export function messageCopy(
  content: { subject?: string; body: string },
  link?: { token: string; linkId: string },
): MessageCopy {
  const redact = (text: string) => (link ? text.replaceAll(link.token, linkPlaceholder(link.linkId)) : text);
  const kept = {
    ...(content.subject !== undefined ? { subject: redact(content.subject) } : {}),
    body: redact(content.body),
  };
  return { contentSha256: contentSha256(kept), ...kept };
}

/** Whether a stored copy still hashes to what it claims (and so to the trail entry naming that hash). */
export function copyIsIntact(copy: MessageCopy): boolean {
  return contentSha256(copy) === copy.contentSha256;
}
