import { execFile } from "node:child_process";
import { statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import type { CfnFunction } from "aws-cdk-lib/aws-lambda";
import type { Asset } from "aws-cdk-lib/aws-s3-assets";
import { median } from "./report.ts";

const run = promisify(execFile);

export interface DeployedFunction {
  id: string;
  /** `index.<export>`, as CDK configures it. */
  handler: string;
  memoryMb: number;
  architecture: string;
  /** The staged bundle folder (index.mjs and its source map), when bundling ran. */
  bundleDir?: string;
  assetHash?: string;
  nodeOptions?: string;
}

/**
 * The product's Lambda functions as the CDK app defines them. With `bundleTo`, the app is synthesized into that
 * folder and each function's staged code (the bundle of infra/lambda-bundles.ts) is measured there.
 */
export async function deployedFunctions(bundleTo?: string): Promise<DeployedFunction[]> {
  const { buildApp } = await import("../infra/aws/build-app.ts");
  const { DunningFunction } = await import("../infra/aws/dunning-function.ts");
  const { app, service } = buildApp({
    ...(bundleTo ? { outdir: bundleTo } : {}),
    context: bundleTo ? {} : { "aws:cdk:bundling-stacks": [] },
  });
  const functions: DeployedFunction[] = [];
  for (const construct of service.node.findAll()) {
    if (!(construct instanceof DunningFunction)) continue;
    const cfn = construct.node.defaultChild as CfnFunction;
    const code = construct.node.tryFindChild("Code") as Asset | undefined;
    const environment = (cfn.environment as { variables?: Record<string, string> } | undefined)?.variables;
    functions.push({
      id: construct.node.id,
      handler: String(cfn.handler),
      memoryMb: Number(cfn.memorySize ?? 128),
      architecture: (cfn.architectures ?? ["x86_64"]).join(","),
      ...(bundleTo && code ? { bundleDir: join(app.outdir, code.assetPath), assetHash: code.assetHash } : {}),
      ...(environment?.NODE_OPTIONS ? { nodeOptions: environment.NODE_OPTIONS } : {}),
    });
  }
  return functions;
}

export interface BundleMeasure {
  functions: string[];
  handlerExport: string;
  codeBytes: number;
  sourceMapBytes: number;
  initMs: { samples: number[]; median: number | null };
  importMs: { samples: number[]; median: number | null };
}

/** Configuration a cold start reads and validates (config.ts); values only need to be well formed. */
const COLD_START_ENV = {
  AWS_REGION: "us-east-1",
  AWS_DEFAULT_REGION: "us-east-1",
  STATE_TABLE: "loan-dunning-state",
  AUDIT_TABLE: "loan-dunning-audit",
  STATE_MACHINE_ARN: "arn:aws:states:us-east-1:123456789012:stateMachine:loan-dunning-workflow",
  EMAIL_FROM: "no-reply@example.com",
  HANDOFF_TOPIC_ARN: "arn:aws:sns:us-east-1:123456789012:loan-dunning-handoffs",
  IMPORT_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/loan-dunning-imports",
  POWERTOOLS_SERVICE_NAME: "loan-dunning",
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
};

/**
 * One cold start: a fresh Node process imports the bundle. `initMs` runs from the process's time origin
 * (its start) to the module evaluated, as Lambda's init phase covers runtime start and module load;
 * `importMs` is the import alone.
 */
async function coldStart(bundle: string, handlerExport: string, nodeOptions: string | undefined) {
  const url = pathToFileURL(join(bundle, "index.mjs")).href;
  const script = [
    "const t0 = performance.now();",
    `const m = await import(${JSON.stringify(url)});`,
    "const t1 = performance.now();",
    `if (typeof m[${JSON.stringify(handlerExport)}] !== "function") throw new Error("no handler export");`,
    "process.stdout.write(JSON.stringify({ init: t1, importMs: t1 - t0 }));",
  ].join("\n");
  const { stdout } = await run(
    process.execPath,
    [...(nodeOptions ? nodeOptions.split(/\s+/) : []), "--input-type=module", "-e", script],
    { env: { PATH: process.env.PATH ?? "", ...COLD_START_ENV } },
  );
  return JSON.parse(stdout) as { init: number; importMs: number };
}

/** Size and cold init of each distinct bundle (functions sharing an entry share a bundle). */
export async function measureBundles(functions: DeployedFunction[], runs: number): Promise<BundleMeasure[]> {
  const byAsset = new Map<string, DeployedFunction[]>();
  for (const fn of functions) {
    if (!fn.bundleDir || !fn.assetHash) continue;
    byAsset.set(fn.assetHash, [...(byAsset.get(fn.assetHash) ?? []), fn]);
  }
  const measures: BundleMeasure[] = [];
  for (const group of byAsset.values()) {
    const first = group[0] as DeployedFunction;
    const dir = first.bundleDir as string;
    const handlerExport = first.handler.split(".").at(-1) as string;
    const init: number[] = [];
    const imports: number[] = [];
    for (let i = 0; i < runs; i++) {
      const sample = await coldStart(dir, handlerExport, first.nodeOptions);
      init.push(sample.init);
      imports.push(sample.importMs);
    }
    const size = (file: string) => {
      try {
        return statSync(join(dir, file)).size;
      } catch {
        return 0;
      }
    };
    measures.push({
      functions: group.map((fn) => fn.id),
      handlerExport: group.map((fn) => fn.handler.split(".").at(-1)).join(", "),
      codeBytes: size("index.mjs"),
      sourceMapBytes: size("index.mjs.map"),
      initMs: { samples: init, median: median(init) },
      importMs: { samples: imports, median: median(imports) },
    });
  }
  return measures;
}
