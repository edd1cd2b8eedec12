import { describe, expect, it } from "vitest";
import { asDependencyError } from "../../functions/adapters/dependency-errors.ts";
import { CaseNotCollectableError, DependencyUnavailableError } from "../../functions/domain/errors.ts";

const sdkError = (name: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(`${name} happened`), { name, ...extra });

describe("errors a step hands to the workflow", () => {
  it.each([
    ["ProvisionedThroughputExceededException", {}],
    ["ThrottlingException", {}],
    ["RequestLimitExceeded", {}],
    ["InternalServerError", {}],
    ["TimeoutError", {}],
    ["SomethingNew", { $metadata: { httpStatusCode: 503 } }],
    ["SomethingRetryable", { $retryable: {} }],
    ["Error", { code: "ECONNRESET" }],
  ])(
    "a DynamoDB or AWS failure (%s) becomes DependencyUnavailableError, which the ASL retries",
    (name, extra) => {
      const error = asDependencyError(sdkError(name, extra));
      expect(error).toBeInstanceOf(DependencyUnavailableError);
      expect((error as Error).name).toBe("DependencyUnavailableError");
      expect((error as Error).message).toContain(name);
    },
  );

  it("leaves business errors and defects as they are", () => {
    const business = new CaseNotCollectableError("case is paid");
    expect(asDependencyError(business)).toBe(business);
    const defect = new TypeError("x is undefined");
    expect(asDependencyError(defect)).toBe(defect);
    const refused = sdkError("ValidationException", { $metadata: { httpStatusCode: 400 } });
    expect(asDependencyError(refused)).toBe(refused);
  });
});
