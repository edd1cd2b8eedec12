/** Value shapes both the entry lines and the manifest are held to. */

export const HEX64 = /^[0-9a-f]{64}$/;

/** The stored form of `at`: UTC, whole seconds, `Z` (toInstant). */
export const WHOLE_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
