import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import { Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Architecture, Runtime, Tracing } from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";

/** The newest Node.js runtime aws-cdk-lib knows; cdk-nag's L1 rule wants the latest of the family. */
export const LAMBDA_RUNTIME = Runtime.NODEJS_24_X;
export const LOG_RETENTION = RetentionDays.ONE_MONTH;
/** Bundling resolves dependencies from the repository root, whatever the caller's working directory. */
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface DunningFunctionProps {
  /** Absolute path of the source file (inside the repository). */
  entry: string;
  /** Exported handler name in `entry`. */
  handler: string;
  description: string;
  environment: Record<string, string>;
  /** Powertools service name, shared by every function of the product. */
  serviceName: string;
  timeout?: Duration;
  memorySize?: number;
}

/**
 * The one set of defaults every Lambda in the product gets: latest Node runtime on arm64, an ESM bundle built by
 * the local esbuild (no Docker), source maps, active tracing, and an explicit log group with retention.
 *
 * Each function has its own role with no managed policies: log writes are granted on its own log group only,
 * and callers add exactly the data permissions the function needs.
 */
export class DunningFunction extends NodejsFunction {
  /** The function's own role (a sibling construct, since NodejsFunction needs it before `super`). */
  readonly executionRole: Role;

  constructor(scope: Construct, id: string, props: DunningFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: LOG_RETENTION,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: `Execution role of ${id}: ${props.description}`,
    });
    super(scope, id, {
      entry: props.entry,
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, "package-lock.json"),
      handler: props.handler,
      description: props.description,
      runtime: LAMBDA_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: Tracing.ACTIVE,
      logGroup,
      role,
      environment: {
        ...props.environment,
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        NODE_OPTIONS: "--enable-source-maps",
      },
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        mainFields: ["module", "main"],
        // CommonJS dependencies bundled into an ES module still call `require` for Node built-ins.
        banner: "import{createRequire}from'node:module';const require=createRequire(import.meta.url);",
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // Ship the SDK version the code was tested with instead of whatever the runtime has preinstalled.
        bundleAwsSDK: true,
      },
    });
    this.executionRole = role;
    logGroup.grantWrite(role);
  }
}
