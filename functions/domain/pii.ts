/** Masks contact data for evidence and exports: enough to recognise, not enough to reuse. */
export function maskPhone(phone: string): string {
  // Long numbers keep the country prefix and the last four digits; short ones only two at each end.
  const keep = phone.length > 10 ? 4 : 2;
  return `${phone.slice(0, keep)}${"*".repeat(Math.max(phone.length - 2 * keep, 3))}${phone.slice(-keep)}`;
}

export function maskEmail(email: string): string {
  const at = email.lastIndexOf("@");
  if (at <= 0) return "***";
  return `${email[0]}***${email.slice(at)}`;
}
