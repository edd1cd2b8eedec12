import { randomBytes } from "node:crypto";
import * as z from "zod";
import { loanId } from "../../contracts/requests.ts";
import { TENANT_SCOPE } from "../../domain/audit-chain.ts";
import { EXPORT_FORMATS } from "../../domain/audit-export.ts";
import { BusinessRuleError, NotFoundError } from "../../domain/errors.ts";
import { toInstant } from "../../domain/time.ts";
import { CONTENT_TYPES, manifestJson } from "../../formats/audit-export-files.ts";
import { EXPORT_URL_SECONDS } from "../../ports/export-sink.ts";
import { exportAudit } from "../../usecases/audit-export.ts";
import type { ApiDeps } from "../deps.ts";
import { json, parseWith } from "../http.ts";
import type { Route } from "../route.ts";

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
        // A loan of another tenant answers exactly like a loan that does not exist. TENANT_SCOPE is the caller's
        // own tenant-level chain (policy and key changes): every tenant has one.
        if (
          request.loanId !== undefined &&
          request.loanId !== TENANT_SCOPE &&
          !(await deps.cases.get(principal.tenantId, request.loanId))
        ) {
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
          () => manifestJson(lines.manifest()),
        );
        // The links are signed now, for EXPORT_URL_SECONDS; the answer states it on the business clock.
        const expiresAt = toInstant(new Date(deps.clock.now().getTime() + EXPORT_URL_SECONDS * 1000));
        return json(200, {
          url: delivered.url,
          manifestUrl: delivered.manifestUrl,
          expiresAt,
          bytes: delivered.bytes,
          manifest: lines.manifest(),
        });
      },
    },
  ];
}
