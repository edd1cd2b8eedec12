import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import type { APIGatewayProxyEvent } from "aws-lambda";
import { beforeAll, describe, expect, it } from "vitest";
import { makeConsoleHandler } from "../../functions/console/app.ts";
import { buildConsoleAssets, CONSOLE_FILES } from "../../web/console/build.ts";

/** The ops console as built and served: its size, and how the console function answers each path. */
let dir: string;
let serve: ReturnType<typeof makeConsoleHandler>;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "console-"));
  buildConsoleAssets(dir);
  serve = makeConsoleHandler(dir);
}, 60_000);

const get = (path: string, headers: Record<string, string> = {}, httpMethod = "GET") =>
  serve({
    httpMethod,
    path,
    headers,
    requestContext: { path: `/prod${path}` },
  } as unknown as APIGatewayProxyEvent);

describe("the built console", () => {
  it("is one page, one script and one stylesheet, the script well under 300 KB gzipped", () => {
    const script = readFileSync(join(dir, "app.js"));
    expect(gzipSync(script).length).toBeLessThan(300 * 1024);
    for (const file of CONSOLE_FILES) expect(readFileSync(join(dir, file)).length).toBeGreaterThan(0);
    // No asset from anywhere else: the page names its two files only.
    expect(readFileSync(join(dir, "index.html"), "utf8")).not.toMatch(/(src|href)="(https?:)?\/\//);
  });
});

describe("the console function", () => {
  it("answers the page for the console's own routes and its files by name, with a strict policy", async () => {
    for (const path of ["/console/", "/console/loans", "/console/loans/a-loan"]) {
      const page = await get(path);
      expect(page.statusCode).toBe(200);
      expect(page.headers?.["content-type"]).toBe("text/html; charset=utf-8");
      expect(page.body).toContain('<div id="app">');
    }
    const script = await get("/console/app.js");
    expect(script.headers?.["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(script.headers?.["content-security-policy"]).toContain("default-src 'none'");
    expect(script.headers?.["content-security-policy"]).toContain("connect-src 'self'");
  });

  it("sends /console to /console/ under the stage's prefix, revalidates by ETag, and only reads", async () => {
    expect(await get("/console")).toMatchObject({ statusCode: 301, headers: { location: "/prod/console/" } });
    const first = await get("/console/app.css");
    const again = await get("/console/app.css", { "if-none-match": String(first.headers?.etag) });
    expect(again).toMatchObject({ statusCode: 304, body: "" });
    expect((await get("/console/", {}, "POST")).statusCode).toBe(405);
  });
});
