/** The ways a message reaches a borrower. */
export type Channel = "sms" | "email";
export const CHANNELS: readonly Channel[] = ["sms", "email"];

/** The languages messages are written in. */
export type Locale = "zh-CN" | "en-US";
export const LOCALES: readonly Locale[] = ["zh-CN", "en-US"];
