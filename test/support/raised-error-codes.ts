import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { errorResponse } from "../../functions/api/http.ts";
import { BusinessRuleError, CaseStateConflictError } from "../../functions/domain/errors.ts";

/**
 * The error codes the product raises, read from its sources where each error is built, with the HTTP status
 * the API answers it with. Codes that only come out of errorResponse's own mapping (e.g. NOT_FOUND for a
 * NotFoundError) are not written at a raise site and are not found here.
 */

/** The sources that raise coded errors: every module under functions/, and the local server. */
export function productSources(root: string): string[] {
  return readdirSync(join(root, "functions"), { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts"))
    .map((file) => readFileSync(join(root, "functions", file), "utf8"))
    .concat(readFileSync(join(root, "infra/local/server.ts"), "utf8"));
}

/** Code → HTTP status, for every code written out where an error is raised in these sources. */
export function codesRaisedIn(sources: string[]): Map<string, number> {
  const raised = new Map<string, number>();
  for (const source of sources) {
    for (const m of source.matchAll(/new (?:HttpError|LocalRouteError)\(\s*(\d{3}),\s*"([A-Z_]+)"/g)) {
      raised.set(m[2] as string, Number(m[1]));
    }
    for (const m of source.matchAll(/new BusinessRuleError\(\s*"([A-Z_]+)"/g)) {
      raised.set(
        m[1] as string,
        errorResponse(new BusinessRuleError(m[1] as string, "m")).response.statusCode,
      );
    }
    // A conflict with its own code names it as the last argument: new CaseStateConflictError(msg, details, "CODE").
    for (const args of callArguments(source, "new CaseStateConflictError(")) {
      const code = /,\s*"([A-Z][A-Z0-9_]*)"\s*,?\s*$/.exec(args)?.[1];
      if (code) {
        raised.set(code, errorResponse(new CaseStateConflictError("m", [], code)).response.statusCode);
      }
    }
  }
  return raised;
}

/** The argument text of each call `opening` (e.g. "new Foo(") in a source, by matching parentheses. */
export function callArguments(source: string, opening: string): string[] {
  const found: string[] = [];
  for (let at = source.indexOf(opening); at >= 0; at = source.indexOf(opening, at + 1)) {
    const start = at + opening.length;
    let depth = 1;
    let end = start;
    for (; end < source.length && depth > 0; end++) {
      if (source[end] === "(") depth++;
      else if (source[end] === ")") depth--;
    }
    found.push(source.slice(start, end - 1));
  }
  return found;
}
