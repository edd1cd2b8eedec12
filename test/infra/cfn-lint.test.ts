import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildApp } from "../../infra/aws/build-app.ts";

// AWS's CloudFormation linter on the templates `cdk synth` writes. Installed on the build machines, not by npm:
// where it is missing the test says so and skips, rather than passing quietly.
const installed = spawnSync("cfn-lint", ["--version"], { encoding: "utf8" }).status === 0;
if (!installed) console.warn("cfn-lint is not installed: the CloudFormation lint test is skipped");

const outdir = mkdtempSync(join(tmpdir(), "dunning-cfn-lint-"));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe.skipIf(!installed)("cfn-lint", () => {
  it("finds nothing in the synthesized templates", () => {
    buildApp({ outdir }).app.synth();
    const templates = readdirSync(outdir)
      .filter((file) => file.endsWith(".template.json"))
      .map((file) => join(outdir, file));
    expect(templates.length).toBe(2);
    // W3005: CDK adds an explicit DependsOn from each function to its role's policy, which a GetAtt already implies.
    const lint = spawnSync("cfn-lint", ["--ignore-checks", "W3005", "--", ...templates], {
      encoding: "utf8",
    });
    expect(lint.stdout + lint.stderr).toBe("");
    expect(lint.status).toBe(0);
  }, 120_000);
});
