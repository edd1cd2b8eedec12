import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { App, Stack } from "aws-cdk-lib";
import type { Asset } from "aws-cdk-lib/aws-s3-assets";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DunningFunction } from "../../infra/aws/dunning-function.ts";

// Bundles a fixture (not the real handlers, which change independently) with the DunningFunction settings and
// runs the output under plain Node the way Lambda does: ES module, CommonJS deps, source-mapped stack traces.
const FIXTURE = fileURLToPath(new URL("./fixtures/esm-bundle-handler.ts", import.meta.url));

let outdir: string;
let bundleDir: string;

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), "dunning-bundling-"));
  const stack = new Stack(new App({ outdir }), "Bundling");
  const fn = new DunningFunction(stack, "Fixture", {
    entry: FIXTURE,
    handler: "handler",
    description: "bundling fixture",
    environment: {},
    serviceName: "loan-dunning",
  });
  // NodejsFunction bundles while it is constructed; the staged asset is the bundle directory.
  bundleDir = join(outdir, (fn.node.findChild("Code") as Asset).assetPath);
});

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe("DunningFunction bundling", () => {
  it("emits an ES module that defines require, with an external source map", () => {
    const code = readFileSync(join(bundleDir, "index.mjs"), "utf8");
    expect(
      code.startsWith("import{createRequire}from'node:module';const require=createRequire(import.meta.url);"),
    ).toBe(true);
    expect(code).toContain("//# sourceMappingURL=index.mjs.map");
    expect(existsSync(join(bundleDir, "index.mjs.map"))).toBe(true);
  });

  it("runs under Node with CommonJS dependencies and source-mapped stack traces", () => {
    const url = pathToFileURL(join(bundleDir, "index.mjs")).href;
    const output = execFileSync(
      process.execPath,
      [
        "--enable-source-maps",
        "--input-type=module",
        "-e",
        `const m = await import(${JSON.stringify(url)}); process.stdout.write(JSON.stringify(await m.handler()));`,
      ],
      { encoding: "utf8" },
    );
    expect(JSON.parse(output)).toEqual({ program: "fixture", stackHasSourceMap: true });
  });
});
