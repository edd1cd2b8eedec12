import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type BuildOptions, buildSync, version as esbuildVersion } from "esbuild";
import { buildConsoleAssets } from "../web/console/build.ts";

/**
 * The one definition of how a Lambda bundle is built. The CDK app deploys these directories as they are, and
 * the embedded stack and the tests load the very same files, so a bundling defect shows up on one machine.
 */
export const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));

/** The Lambda runtime's Node.js major version; esbuild targets it. */
export const LAMBDA_NODE_MAJOR = 24;

/** Every Lambda entry of the product, by the name its bundle goes by. */
export const LAMBDA_ENTRIES = {
  api: "functions/api/handler.ts",
  steps: "functions/steps/handler.ts",
  delivery: "functions/delivery/handler.ts",
  importObject: "functions/import/object-handler.ts",
  importQueue: "functions/import/queue-handler.ts",
  reconciler: "functions/reconciler/handler.ts",
  trailMetrics: "functions/trail/metrics-handler.ts",
  webhookAnnounce: "functions/webhooks/announce-handler.ts",
  webhookDeliver: "functions/webhooks/deliver-handler.ts",
  policyApply: "functions/policies/apply-handler.ts",
  portal: "functions/portal/handler.ts",
  simulate: "functions/simulation/handler.ts",
  console: "functions/console/handler.ts",
} as const;
export type BundleName = keyof typeof LAMBDA_ENTRIES;

export interface LambdaSpec {
  bundle: BundleName;
  /** The exported handler in the bundle. */
  handler: string;
  timeoutSeconds: number;
  memoryMb: number;
}

/**
 * Every Lambda function of the product: which bundle and handler it runs, its timeout and memory. The CDK app
 * deploys these settings and the embedded stack enforces the same timeout and heap limit.
 */
export const LAMBDA_FUNCTIONS = {
  // The workflow's tasks: their timeouts stay under the ASL's TimeoutSeconds, so a slow invocation surfaces as
  // Lambda.Unknown (which the Retry blocks know) rather than States.Timeout.
  plan: { bundle: "steps", handler: "plan", timeoutSeconds: 30, memoryMb: 512 },
  send: { bundle: "steps", handler: "send", timeoutSeconds: 90, memoryMb: 512 },
  handOff: { bundle: "steps", handler: "handOff", timeoutSeconds: 30, memoryMb: 512 },
  recordFailure: { bundle: "steps", handler: "recordFailure", timeoutSeconds: 30, memoryMb: 512 },
  // API Gateway gives up on the integration after 29 s.
  api: { bundle: "api", handler: "handler", timeoutSeconds: 25, memoryMb: 512 },
  delivery: { bundle: "delivery", handler: "handler", timeoutSeconds: 30, memoryMb: 512 },
  importObject: { bundle: "importObject", handler: "handler", timeoutSeconds: 600, memoryMb: 1024 },
  importQueue: { bundle: "importQueue", handler: "handler", timeoutSeconds: 120, memoryMb: 512 },
  reconciler: { bundle: "reconciler", handler: "handler", timeoutSeconds: 300, memoryMb: 512 },
  trailMetrics: { bundle: "trailMetrics", handler: "handler", timeoutSeconds: 60, memoryMb: 256 },
  // Audit stream → the loan's new lender events and their deliveries.
  webhookAnnounce: { bundle: "webhookAnnounce", handler: "handler", timeoutSeconds: 120, memoryMb: 512 },
  // Delivery queue → POSTs to lenders' endpoints, 10 s each at most, one line after the other.
  webhookDeliver: { bundle: "webhookDeliver", handler: "handler", timeoutSeconds: 180, memoryMb: 512 },
  // Policy application queue → one page of open cases moved to a new policy version (it stops taking cases 30 s
  // before its end, so a page always counts what it did).
  policyApply: { bundle: "policyApply", handler: "handler", timeoutSeconds: 120, memoryMb: 512 },
  portal: { bundle: "portal", handler: "handler", timeoutSeconds: 15, memoryMb: 512 },
  // Simulation queue → one what-if run, whole, in this thread: Lambda's longest timeout, and memory for a million
  // open cases held as loans (CPU grows with memory: a full vCPU from 1,769 MB).
  simulate: { bundle: "simulate", handler: "handler", timeoutSeconds: 900, memoryMb: 3008 },
  // Static files only: the ops console's page, script and stylesheet.
  console: { bundle: "console", handler: "handler", timeoutSeconds: 10, memoryMb: 256 },
} as const satisfies Record<string, LambdaSpec>;
export type LambdaName = keyof typeof LAMBDA_FUNCTIONS;

const BUNDLE_FILE = "index.mjs";

/** The esbuild options of every bundle: one ES module with its dependencies, minified, names kept. */
export function bundleOptions(entry: string, outfile: string): BuildOptions {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    target: `node${LAMBDA_NODE_MAJOR}`,
    format: "esm",
    mainFields: ["module", "main"],
    // CommonJS dependencies bundled into an ES module still call `require` for Node built-ins.
    banner: { js: "import{createRequire}from'node:module';const require=createRequire(import.meta.url);" },
    minify: true,
    // Lambda reports `error.name` as the error type the workflow's Retry and Catch match on. The error classes
    // name themselves explicitly; keeping names also keeps every dependency's class names readable in traces.
    keepNames: true,
    sourcemap: "linked",
    sourcesContent: false,
    logLevel: "silent",
  };
}

interface Manifest {
  key: string;
  dir: string;
  /** Hashes of the repository files the bundle was built from (dependencies are covered by the lock file). */
  inputs: Record<string, string>;
}

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const cacheRoot = () =>
  process.env.DUNNING_BUNDLE_CACHE ?? join(REPO_ROOT, "node_modules", ".cache", "bundles");

/** What every bundle depends on besides its own source files: the options, esbuild and the locked dependencies. */
function baseKey(entry: string): string {
  const options = bundleOptions(entry, BUNDLE_FILE);
  const lock = readFileSync(join(REPO_ROOT, "package-lock.json"));
  return sha256(JSON.stringify({ options, esbuildVersion, lock: sha256(lock) }));
}

function stillValid(manifest: Manifest, key: string): boolean {
  if (manifest.key !== key || !existsSync(join(manifest.dir, BUNDLE_FILE))) return false;
  return Object.entries(manifest.inputs).every(([file, hash]) => {
    const path = join(REPO_ROOT, file);
    return existsSync(path) && sha256(readFileSync(path)) === hash;
  });
}

/**
 * Builds the named bundle (or an entry given by path) and returns the directory holding `index.mjs` and its
 * source map. Cached by content: rebuilt only when a source file it was built from, the options, esbuild or
 * the lock file changed. Safe when several processes ask at once: each writes its own directory and renames.
 */
export function buildBundle(nameOrEntry: BundleName | string): string {
  const entry = resolve(
    REPO_ROOT,
    nameOrEntry in LAMBDA_ENTRIES ? LAMBDA_ENTRIES[nameOrEntry as BundleName] : nameOrEntry,
  );
  const id = relative(REPO_ROOT, entry).replace(/[^A-Za-z0-9]+/g, "-");
  const root = cacheRoot();
  const manifestPath = join(root, `${id}.json`);
  const key = baseKey(entry);
  if (existsSync(manifestPath)) {
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as Manifest;
    if (stillValid(manifest, key)) return manifest.dir;
  }

  const staging = join(root, `.staging-${id}-${process.pid}-${Date.now()}`);
  mkdirSync(staging, { recursive: true });
  try {
    const buildStarted = Date.now();
    const result = buildSync({ ...bundleOptions(entry, join(staging, BUNDLE_FILE)), metafile: true });
    // The console's function serves the console itself: its files are built into the same directory.
    const assets =
      entry === resolve(REPO_ROOT, LAMBDA_ENTRIES.console) ? buildConsoleAssets(join(staging, "assets")) : [];
    const inputs: Record<string, string> = {};
    // A source saved while esbuild ran may differ from what it read: then the bundle is used but not cached.
    let changedDuringBuild = false;
    for (const file of [...Object.keys(result.metafile?.inputs ?? {}), ...assets]) {
      const path = resolve(REPO_ROOT, file);
      const rel = relative(REPO_ROOT, path);
      if (rel.startsWith("node_modules") || rel.startsWith("..")) continue;
      if (statSync(path).mtimeMs >= buildStarted - 1) changedDuringBuild = true;
      inputs[rel] = sha256(readFileSync(path));
    }
    const code = readFileSync(join(staging, BUNDLE_FILE));
    const built = assets.length > 0 ? sha256(code + JSON.stringify(inputs)) : sha256(code);
    const dir = join(root, `${id}-${built.slice(0, 16)}`);
    try {
      renameSync(staging, dir);
    } catch (error) {
      // Another process built the same bytes first.
      if (!existsSync(join(dir, BUNDLE_FILE))) throw error;
      rmSync(staging, { recursive: true, force: true });
    }
    if (changedDuringBuild) return dir;
    const partial = `${manifestPath}.${process.pid}`;
    writeFileSync(partial, JSON.stringify({ key, dir, inputs } satisfies Manifest));
    renameSync(partial, manifestPath);
    return dir;
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}

/** The file a bundle directory's handlers are loaded from. */
export const bundleFile = (dir: string) => join(dir, BUNDLE_FILE);
