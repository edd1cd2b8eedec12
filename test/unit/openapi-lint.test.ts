import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

/**
 * The OpenAPI document through the two common linters, with the repo's own configuration: Redocly CLI with its
 * recommended ruleset (redocly.yaml, findings accepted one by one in .redocly.lint-ignore.yaml) and Spectral
 * with spectral:oas (.spectral.yaml). Any error or warning fails. Both run from node_modules and need no network.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DOCUMENT = "openapi/openapi.json";

/** The `bin` entry of an installed package, run with this Node. */
function binOf(pkg: string, name: string): string {
  const dir = join(ROOT, "node_modules", pkg);
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
    bin: Record<string, string>;
  };
  const bin = manifest.bin[name];
  if (!bin) throw new Error(`${pkg} has no bin ${name}`);
  return join(dir, bin);
}

/** Runs a linter to its end; a non-zero exit is not an error here (the findings are read from its output). */
async function run(script: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  try {
    return await promisify(execFile)(process.execPath, [script, ...args], {
      cwd: ROOT,
      maxBuffer: 64 * 1024 * 1024,
      env: {
        ...process.env,
        // Neither linter is to reach out: no usage reports, no look-up of newer releases.
        REDOCLY_TELEMETRY: "off",
        REDOCLY_SUPPRESS_UPDATE_NOTICE: "true",
        NO_COLOR: "1",
      },
    });
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    if (typeof failed.stdout !== "string") throw error;
    return { stdout: failed.stdout, stderr: failed.stderr ?? "" };
  }
}

describe("the OpenAPI document under the linters", () => {
  it("has no error and no warning from Redocly CLI (recommended ruleset)", async () => {
    const { stdout, stderr } = await run(binOf("@redocly/cli", "redocly"), [
      "lint",
      "--config",
      "redocly.yaml",
      "--format",
      "json",
      DOCUMENT,
    ]);
    const report = JSON.parse(stdout.slice(stdout.indexOf("{"))) as {
      totals?: { errors: number; warnings: number };
      problems?: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[];
    };
    expect(report.totals, stderr).toBeDefined();
    const problems = (report.problems ?? []).map(
      (p) => `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`,
    );
    expect(problems).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });

  it("has no error, warning, info or hint from Spectral (spectral:oas)", async () => {
    const { stdout, stderr } = await run(binOf("@stoplight/spectral-cli", "spectral"), [
      "lint",
      "--ruleset",
      ".spectral.yaml",
      "--format",
      "json",
      "--fail-severity",
      "hint",
      DOCUMENT,
    ]);
    const start = stdout.indexOf("[");
    expect(start, `no JSON report from Spectral: ${stdout}${stderr}`).toBeGreaterThanOrEqual(0);
    const results = JSON.parse(stdout.slice(start, stdout.lastIndexOf("]") + 1)) as {
      code: string;
      severity: number;
      message: string;
      path: string[];
    }[];
    expect(results.map((r) => `${r.code} at ${r.path.join(".")}: ${r.message}`)).toEqual([]);
  });
});
