import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import madge from "madge";
import ts from "typescript";
import { describe, expect, it } from "vitest";

// The shape the code keeps as it grows: no import circles, no file or function too long to read at once, no
// block pasted where one piece of code could serve. Tests are exempt from the sizes, not from the rest.
const ROOT = new URL("../..", import.meta.url).pathname;
const SOURCE_FOLDERS = ["functions", "infra", "tools", "simulator", "bench"];
const MAX_FILE_LINES = 400;
const MAX_FUNCTION_LINES = 80;

function sourceFiles(): string[] {
  const listed = execFileSync(
    "git",
    ["ls-files", "--cached", "--others", "--exclude-standard", ...SOURCE_FOLDERS],
    {
      cwd: ROOT,
      encoding: "utf8",
    },
  );
  return listed.split("\n").filter((file) => /\.(ts|mts|mjs)$/.test(file));
}

describe("the shape of the code", () => {
  it("has no import circles", async () => {
    const graph = await madge(
      SOURCE_FOLDERS.map((folder) => join(ROOT, folder)),
      { baseDir: ROOT, fileExtensions: ["ts"], tsConfig: join(ROOT, "tsconfig.json") },
    );
    expect(graph.circular()).toEqual([]);
  }, 60_000);

  it("keeps the domain and the use cases free of adapters, entry points and AWS clients", () => {
    // The rules and the use cases reach the outside only through ports; the wiring is the handlers' job.
    const inner = ["functions/domain/", "functions/usecases/"];
    const outer = /^functions\/(adapters|api|steps|delivery|import|policies|reconciler|trail|webhooks)\//;
    const crossings: string[] = [];
    for (const file of sourceFiles().filter((f) => inner.some((folder) => f.startsWith(folder)))) {
      const text = readFileSync(join(ROOT, file), "utf8");
      for (const [, target = ""] of text.matchAll(/from "([^"]+)"/g)) {
        const resolved = target.startsWith(".")
          ? relative(ROOT, resolve(ROOT, dirname(file), target))
          : target;
        if (outer.test(resolved) || /^@aws-sdk\/|^@middy\//.test(resolved)) {
          crossings.push(`${file} imports ${target}`);
        }
      }
    }
    expect(crossings).toEqual([]);
  });

  it(`keeps every source file within ${MAX_FILE_LINES} lines and every function within ${MAX_FUNCTION_LINES}`, () => {
    const tooLong: string[] = [];
    for (const file of sourceFiles()) {
      const text = readFileSync(join(ROOT, file), "utf8");
      const lines = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
      if (lines > MAX_FILE_LINES) tooLong.push(`${file}: ${lines} lines`);
      const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
      const visit = (node: ts.Node) => {
        if (ts.isFunctionLike(node) && "body" in node && node.body) {
          const first = source.getLineAndCharacterOfPosition(node.getStart()).line;
          const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
          if (last - first + 1 > MAX_FUNCTION_LINES) {
            tooLong.push(`${file}:${first + 1}: a function of ${last - first + 1} lines`);
          }
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
    expect(tooLong).toEqual([]);
  });

  it("has no copied block that one piece of code could serve", () => {
    const out = mkdtempSync(join(tmpdir(), "jscpd-"));
    try {
      execFileSync(
        join(ROOT, "node_modules/.bin/jscpd"),
        [
          ...["--min-lines", "6", "--min-tokens", "60", "--format", "typescript,javascript"],
          ...["--ignore", "**/node_modules/**", "--reporters", "json", "--output", out, "--silent"],
          ...SOURCE_FOLDERS.map((folder) => join(ROOT, folder)),
        ],
        { cwd: ROOT, stdio: "pipe" },
      );
      const report = JSON.parse(readFileSync(join(out, "jscpd-report.json"), "utf8")) as {
        duplicates: {
          firstFile: { name: string; start: number };
          secondFile: { name: string; start: number };
        }[];
      };
      const copies = report.duplicates.map(
        (d) => `${d.firstFile.name}:${d.firstFile.start} ~ ${d.secondFile.name}:${d.secondFile.start}`,
      );
      expect(copies).toEqual([]);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});
