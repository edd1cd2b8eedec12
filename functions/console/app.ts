import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";

/** The console's files and how each is served; every other path under /console/ is the page (its own routes). */
const CONTENT_TYPES: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "app.css": "text/css; charset=utf-8",
};

/**
 * Same origin as the API, and where audit exports are downloaded from (their pre-signed links, on AWS): the key the
 * console holds is only ever sent to the API it came from.
 * uPlot sets element styles from script (CSSOM), which `style-src 'self'` allows; its canvases need no images.
 */
function securityHeaders(connectSources: readonly string[]) {
  return {
    "content-security-policy":
      `default-src 'none'; script-src 'self'; style-src 'self'; connect-src ${["'self'", ...connectSources].join(" ")}; ` +
      "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  };
}

interface Asset {
  body: string;
  type: string;
  etag: string;
}

/**
 * Serves the built console from `assetsDir` (read once, at cold start). The files are revalidated on every load
 * (`no-cache` with an ETag), so a deploy is seen at once and an unchanged file costs a 304.
 */
export function makeConsoleHandler(assetsDir: string, connectSources: readonly string[] = []) {
  const SECURITY_HEADERS = securityHeaders(connectSources);
  const assets = new Map<string, Asset>();
  for (const [name, type] of Object.entries(CONTENT_TYPES)) {
    const body = readFileSync(join(assetsDir, name), "utf8");
    assets.set(name, {
      body,
      type,
      etag: `"${createHash("sha256").update(body).digest("hex").slice(0, 32)}"`,
    });
  }
  return async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    if (event.httpMethod !== "GET" && event.httpMethod !== "HEAD") {
      return { statusCode: 405, headers: { allow: "GET, HEAD", ...SECURITY_HEADERS }, body: "" };
    }
    const path = event.path.replace(/\/+$/, "");
    if (path === "/console" && !event.path.endsWith("/")) {
      // The page's files are addressed relative to /console/: the stage's own prefix is kept (AWS).
      const shown = event.requestContext?.path ?? event.path;
      return { statusCode: 301, headers: { location: `${shown}/`, ...SECURITY_HEADERS }, body: "" };
    }
    const name = path.slice(path.lastIndexOf("/") + 1);
    const asset = assets.get(name in CONTENT_TYPES && name !== "index.html" ? name : "index.html") as Asset;
    const headers = {
      "content-type": asset.type,
      "cache-control": "no-cache",
      etag: asset.etag,
      ...SECURITY_HEADERS,
    };
    const given = event.headers?.["if-none-match"] ?? event.headers?.["If-None-Match"];
    if (given === asset.etag) return { statusCode: 304, headers, body: "" };
    return { statusCode: 200, headers, body: event.httpMethod === "HEAD" ? "" : asset.body };
  };
}
