import { copyFileSync, mkdirSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildSync } from "esbuild";

/**
 * The ops console: one script and one stylesheet built by esbuild from `web/console/src` and the packages npm
 * installed (Preact, preact-iso, uPlot) — nothing fetched at build or run time — plus its one page.
 */
const HERE = fileURLToPath(new URL("./", import.meta.url));
const REPO = resolve(HERE, "../..");

/** The files of the built console, as the console function serves them. */
export const CONSOLE_FILES = ["index.html", "app.js", "app.css"] as const;

/** Builds the console into `outDir`; answers the repository files it was built from (for the bundle cache). */
export function buildConsoleAssets(outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const result = buildSync({
    entryPoints: { app: join(HERE, "src/main.tsx") },
    outdir: outDir,
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    jsx: "automatic",
    jsxImportSource: "preact",
    // The audit chain and the export verifier hash with node:crypto; in the page, with the same code over a shim.
    alias: { "node:crypto": join(HERE, "src/crypto-shim.ts") },
    minify: true,
    sourcemap: false,
    legalComments: "none",
    metafile: true,
    logLevel: "silent",
  });
  copyFileSync(join(HERE, "index.html"), join(outDir, "index.html"));
  const inputs = Object.keys(result.metafile?.inputs ?? {}).map((file) => resolve(REPO, file));
  return [...inputs, join(HERE, "index.html")].map((file) => relative(REPO, file));
}
