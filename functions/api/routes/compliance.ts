import { randomBytes } from "node:crypto";
import * as z from "zod";
import { CONTENT_TYPES, EXPORT_FORMATS } from "../../domain/audit-export-format.ts";
import { BusinessRuleError, NotFoundError } from "../../domain/errors.ts";
import { exportAudit } from "../../usecases/audit-export.ts";
import type { ApiDeps } from "../app.ts";
import { json, parseWith } from "../http.ts";
import type { Route } from "../route.ts";
import { loanId } from "../schemas.ts";

/** The longest range one export may cover. */
export const MAX_EXPORT_DAYS = 366;
const DAY_MS = 24 * 60 * 60 * 1000;

const instant = z.iso.datetime({
  offset: true,
  message: "must be an ISO 8601 timestamp such as 2026-01-01T00:00:00Z",
});

export const exportQuerySchema = z
  .object({
    from: instant,
    to: instant,
    format: z.enum(EXPORT_FORMATS).default("jsonl"),
    loanId: loanId.optional(),
  })
  .superRefine((query, ctx) => {
    const from = Date.parse(query.from);
    const to = Date.parse(query.to);
    if (!(from < to)) ctx.addIssue({ code: "custom", path: ["to"], message: "must be after from" });
    else if (to - from > MAX_EXPORT_DAYS * DAY_MS) {
      ctx.addIssue({
        code: "custom",
        path: ["to"],
        message: `the range may span at most ${MAX_EXPORT_DAYS} days`,
      });
    }
  });

/** `audit-<from>-<to>[-<loanId>]-<random>.<ext>`: unguessable, one safe path segment. */
function exportName(query: z.infer<typeof exportQuerySchema>): string {
  const compact = (iso: string) => new Date(iso).toISOString().replace(/[-:]|\.\d+/g, "");
  const loan = query.loanId ? `-${query.loanId.replaceAll(":", "_")}` : "";
  return `audit-${compact(query.from)}-${compact(query.to)}${loan}-${randomBytes(12).toString("hex")}.${query.format}`;
}

/** Compliance routes (audit export). */
export function complianceRoutes(deps: ApiDeps): Route[] {
  return [
    {
      method: "GET",
      path: "/v1/audit/export",
      roles: ["compliance"],
      async handle({ principal, query }) {
        const request = parseWith(exportQuerySchema, query);
        const exports = deps.exports;
        if (!exports) {
          throw new BusinessRuleError(
            "EXPORT_NOT_CONFIGURED",
            "audit exports are not configured for this deployment (EXPORT_BUCKET is not set)",
          );
        }
        // A loan of another tenant answers exactly like a loan that does not exist.
        if (request.loanId !== undefined && !(await deps.cases.get(principal.tenantId, request.loanId))) {
          throw new NotFoundError(`loan ${request.loanId} not found`);
        }
        const lines = exportAudit({ reader: exports.reader, clock: deps.clock }, principal, request);
        const delivered = await exports.sink.deliver(
          {
            tenantId: principal.tenantId,
            name: exportName(request),
            contentType: CONTENT_TYPES[request.format],
          },
          lines,
        );
        return json(200, { ...delivered, manifest: lines.manifest() });
      },
    },
  ];
}
