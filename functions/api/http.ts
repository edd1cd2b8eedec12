import type { APIGatewayProxyResult } from "aws-lambda";
import type * as z from "zod";
import { asDependencyError } from "../adapters/dependency-errors.ts";
import {
  BusinessRuleError,
  CaseStateConflictError,
  ConcurrentUpdateError,
  DependencyUnavailableError,
  DomainError,
  InputOutOfRangeError,
  LoanAlreadyExistsError,
  NotFoundError,
} from "../domain/errors.ts";

export type ErrorDetail = { path: string; message: string };

/** An HTTP-level refusal (auth, size, media type...), raised before any use case runs. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
    body: JSON.stringify(body),
  };
}

function errorBody(code: string, message: string, details: ErrorDetail[]) {
  return { error: { code, message, ...(details.length > 0 ? { details } : {}) } };
}

export function validationError(error: z.ZodError, prefix = ""): HttpError {
  const details = error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter(Boolean).join("."),
    message: issue.message,
  }));
  return new HttpError(400, "VALIDATION_FAILED", "the request is not valid", details);
}

export function parseWith<T extends z.ZodType>(schema: T, value: unknown, prefix = ""): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(result.error, prefix);
  return result.data;
}

const DOMAIN_STATUS: [new (...args: never[]) => DomainError, number][] = [
  [NotFoundError, 404],
  [LoanAlreadyExistsError, 409],
  [CaseStateConflictError, 409],
  [ConcurrentUpdateError, 409],
  [BusinessRuleError, 422],
  [InputOutOfRangeError, 400],
];

/** How long a client should wait before trying again after a 503. */
const RETRY_AFTER_SECONDS = 5;

/** Maps any error to the contract's error shape. Unknown errors become a bare 500 without details. */
export function errorResponse(error: unknown): { response: APIGatewayProxyResult; unexpected: boolean } {
  if (error instanceof HttpError) {
    return {
      response: json(error.statusCode, errorBody(error.code, error.message, error.details)),
      unexpected: false,
    };
  }
  if (error instanceof DomainError) {
    const status = DOMAIN_STATUS.find(([type]) => error instanceof type)?.[1];
    if (status) {
      return {
        response: json(status, errorBody(error.code, error.message, error.details)),
        unexpected: false,
      };
    }
  }
  // The store or another AWS dependency failed for now: the client may try again shortly; nothing was changed
  // (every write is one transaction).
  if (asDependencyError(error) instanceof DependencyUnavailableError) {
    return {
      response: json(
        503,
        errorBody(
          "SERVICE_UNAVAILABLE",
          "a service this API depends on is unavailable; try again shortly",
          [],
        ),
        { "retry-after": String(RETRY_AFTER_SECONDS) },
      ),
      unexpected: false,
    };
  }
  const statusCode = (error as { statusCode?: number }).statusCode;
  if (statusCode === 404) {
    return { response: json(404, errorBody("ROUTE_NOT_FOUND", "no such route", [])), unexpected: false };
  }
  return {
    response: json(500, errorBody("INTERNAL", "something went wrong on our side", [])),
    unexpected: true,
  };
}
