import { applicationJobId, policyId, policyUpdateSchema, toPolicyRules } from "../../contracts/requests.ts";
import { getPolicy, InvalidPolicyError, policyHistory, putPolicy } from "../../usecases/policies.ts";
import { getApplication } from "../../usecases/policy-application.ts";
import type { ApiDeps } from "../deps.ts";
import { HttpError, json, parseWith } from "../http.ts";
import type { Route } from "../route.ts";

/**
 * Ops routes: versioned dunning policies, and the jobs that apply a version to running loans. Every read and write
 * is scoped to the caller's tenant.
 */
export function opsRoutes(deps: ApiDeps): Route[] {
  const policyParam = (params: Record<string, string>) => parseWith(policyId, params.policyId, "policyId");
  return [
    {
      method: "GET",
      path: "/v1/policies/{policyId}",
      roles: ["ops"],
      async handle({ principal, params }) {
        return json(200, await getPolicy(deps, principal, policyParam(params)));
      },
    },
    {
      method: "PUT",
      path: "/v1/policies/{policyId}",
      roles: ["ops"],
      async handle({ principal, params, body }) {
        const id = policyParam(params);
        const request = parseWith(policyUpdateSchema, body);
        if (request.id !== undefined && request.id !== id) {
          throw new HttpError(400, "VALIDATION_FAILED", "the body's id is not the policy in the path", [
            { path: "id", message: `must be "${id}" (the path's policy id) or left out` },
          ]);
        }
        const rules = toPolicyRules(request);
        const { policy, info, application } = await putPolicy(deps, principal, id, {
          rules,
          applyTo: request.applyTo,
          ...(request.comment !== undefined ? { comment: request.comment } : {}),
        }).catch(refuseInvalid);
        const stored = { ...policy, ...info, id: policy.id };
        // In flight: the version is stored and its job queued; the running loans move in the background.
        return application
          ? json(202, { ...stored, job: { id: application.id, status: application.status } })
          : json(201, stored);
      },
    },
    {
      method: "GET",
      path: "/v1/policies/{policyId}/applications/{jobId}",
      roles: ["ops"],
      async handle({ principal, params }) {
        const jobId = parseWith(applicationJobId, params.jobId, "jobId");
        return json(200, await getApplication(deps, principal, policyParam(params), jobId));
      },
    },
    {
      method: "GET",
      path: "/v1/policies/{policyId}/versions",
      roles: ["ops"],
      async handle({ principal, params }) {
        return json(200, await policyHistory(deps, principal, policyParam(params)));
      },
    },
  ];
}

/** A policy the domain refuses is a bad request naming each offending field; nothing was stored. */
function refuseInvalid(error: unknown): never {
  if (error instanceof InvalidPolicyError) {
    throw new HttpError(400, "VALIDATION_FAILED", error.message, error.issues);
  }
  throw error;
}
