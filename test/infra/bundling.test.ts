import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { DunningFunction } from "../../infra/aws/dunning-function.ts";
import { buildBundle, bundleFile } from "../../infra/lambda-bundles.ts";

// Bundles a fixture (not the real handlers, which change independently) with the product's esbuild options and
// runs the output under plain Node the way Lambda does: ES module, CommonJS deps, source-mapped stack traces.
const FIXTURE = fileURLToPath(new URL("./fixtures/esm-bundle-handler.ts", import.meta.url));

let bundleDir: string;

beforeAll(() => {
  bundleDir = buildBundle(FIXTURE);
});

function runFixture(): unknown {
  const url = pathToFileURL(bundleFile(bundleDir)).href;
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
  return JSON.parse(output);
}

describe("Lambda bundles", () => {
  it("are ES modules that define require, with an external source map", () => {
    const code = readFileSync(bundleFile(bundleDir), "utf8");
    expect(
      code.startsWith("import{createRequire}from'node:module';const require=createRequire(import.meta.url);"),
    ).toBe(true);
    expect(code).toContain("//# sourceMappingURL=index.mjs.map");
    expect(existsSync(join(bundleDir, "index.mjs.map"))).toBe(true);
  });

  it("run under Node with CommonJS dependencies, source-mapped stack traces and class names intact", () => {
    expect(runFixture()).toEqual({
      program: "fixture",
      stackHasSourceMap: true,
      errorName: "FixtureRuleError",
      className: "FixtureRuleError",
    });
  });

  it("are cached by content: the same sources give the same directory without a rebuild", () => {
    expect(buildBundle(FIXTURE)).toBe(bundleDir);
  });

  it("are what the CDK app deploys: a DunningFunction's asset is the bundle directory", () => {
    const stack = new Stack(new App(), "Bundling");
    const fn = new DunningFunction(stack, "Plan", {
      function: "plan",
      description: "bundling check",
      environment: {},
      serviceName: "loan-dunning",
    });
    expect(fn.bundleDir).toBe(buildBundle("steps"));
    Template.fromStack(stack).hasResourceProperties("AWS::Lambda::Function", { Handler: "index.plan" });
  });
});
