import { Duration, RemovalPolicy } from "aws-cdk-lib";
import { Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Architecture, Code, Function as LambdaFunction, Runtime, Tracing } from "aws-cdk-lib/aws-lambda";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { buildBundle, LAMBDA_FUNCTIONS, type LambdaName } from "../lambda-bundles.ts";

/** The newest Node.js runtime aws-cdk-lib knows; cdk-nag's L1 rule wants the latest of the family. */
export const LAMBDA_RUNTIME = Runtime.NODEJS_24_X;
export const LOG_RETENTION = RetentionDays.ONE_MONTH;

export interface DunningFunctionProps {
  /** Which of the product's functions this is: its bundle, handler, timeout and memory (lambda-bundles.ts). */
  function: LambdaName;
  description: string;
  environment: Record<string, string>;
  /** Powertools service name, shared by every function of the product. */
  serviceName: string;
}

/**
 * The one set of defaults every Lambda in the product gets: latest Node runtime on arm64, the bundle the
 * embedded stack and the tests run (built once by lambda-bundles.ts, deployed as it is), source maps, active
 * tracing, and an explicit log group with retention.
 *
 * Each function has its own role with no managed policies: log writes are granted on its own log group only,
 * and callers add exactly the data permissions the function needs.
 */
export class DunningFunction extends LambdaFunction {
  /** The function's own role (a sibling construct, since the function needs it before `super`). */
  readonly executionRole: Role;
  /** The directory deployed as the function's code: the same files the embedded stack loads. */
  readonly bundleDir: string;

  constructor(scope: Construct, id: string, props: DunningFunctionProps) {
    const spec = LAMBDA_FUNCTIONS[props.function];
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: LOG_RETENTION,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: `Execution role of ${id}: ${props.description}`,
    });
    const bundleDir = buildBundle(spec.bundle);
    super(scope, id, {
      code: Code.fromAsset(bundleDir),
      handler: `index.${spec.handler}`,
      description: props.description,
      runtime: LAMBDA_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: spec.memoryMb,
      timeout: Duration.seconds(spec.timeoutSeconds),
      tracing: Tracing.ACTIVE,
      logGroup,
      role,
      environment: {
        ...props.environment,
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        NODE_OPTIONS: "--enable-source-maps",
      },
    });
    this.executionRole = role;
    this.bundleDir = bundleDir;
    logGroup.grantWrite(role);
  }
}
