import { Stack } from "aws-cdk-lib";
import { LambdaIntegration, type Method } from "aws-cdk-lib/aws-apigateway";
import type { Construct } from "constructs";
import { DunningFunction } from "../dunning-function.ts";
import { acknowledge, TRACING_IS_UNSCOPED } from "./acknowledge.ts";
import type { HttpApi } from "./api.ts";
import { StackPart } from "./stack-part.ts";

export interface OpsConsoleProps {
  serviceName: string;
  /** The REST API whose stage serves the console at `/console/`. */
  httpApi: HttpApi;
  /** The audit export bucket: the console downloads exports from it (pre-signed links) to verify them. */
  exportBucketName: string;
}

/**
 * The ops console: its page, script and stylesheet, served by a function of their own at `/console/` on the API's
 * stage. Served from the API rather than from a bucket behind a CDN: the page then shares the API's origin, so
 * the key it holds is only ever sent back where it came from (no CORS to open), and it gets the stage's
 * throttling, access logs and web ACL. The files are a few tens of KB and revalidated with ETags.
 */
export class OpsConsole extends StackPart {
  readonly consoleFunction: DunningFunction;
  readonly methods: Method[];

  constructor(scope: Construct, id: string, props: OpsConsoleProps) {
    super(scope, id);
    // Static files only: no table, queue or topic, so no grant beyond its own logs.
    this.consoleFunction = new DunningFunction(this, "ConsoleFunction", {
      function: "console",
      description:
        "Ops console: the page, script and stylesheet (the data comes from the API with the user's key)",
      environment: {
        CONSOLE_CONNECT_SRC: `https://${props.exportBucketName}.s3.${Stack.of(scope).region}.${Stack.of(scope).urlSuffix}`,
      },
      serviceName: props.serviceName,
    });
    acknowledge(this.consoleFunction.executionRole, "AwsSolutions-IAM5[Resource::*]", TRACING_IS_UNSCOPED);
    this.methods = this.route(props.httpApi);
  }

  /** `GET /console` and `GET /console/{proxy+}`: no authorizer — the files are public, the data is not. */
  private route(httpApi: HttpApi): Method[] {
    const integration = new LambdaIntegration(this.consoleFunction);
    const root = httpApi.api.root.addResource("console");
    const methods = [
      root.addMethod("GET", integration),
      root.addProxy({ defaultIntegration: integration, anyMethod: false }).addMethod("GET", integration),
    ];
    acknowledge(
      methods,
      "AwsSolutions-APIG4",
      "The ops console's static files: public like any web page; every API call it makes carries the user's key.",
    );
    acknowledge(
      methods,
      "AwsSolutions-COG4",
      "The ops console's static files; the console signs in with an API key, checked by the API's own authorizer.",
    );
    return methods;
  }
}
