import { Aws, RemovalPolicy } from "aws-cdk-lib";
import {
  AccessLogFormat,
  EndpointType,
  LambdaRestApi,
  LogGroupLogDestination,
  MethodLoggingLevel,
} from "aws-cdk-lib/aws-apigateway";
import { LogGroup } from "aws-cdk-lib/aws-logs";
import { CfnWebACL, CfnWebACLAssociation } from "aws-cdk-lib/aws-wafv2";
import type { Construct } from "constructs";
import { AUDIT_TABLE } from "../../../functions/adapters/dynamo/schema.ts";
import { EXPORT_RETENTION_DAYS } from "../data-stack.ts";
import { DunningFunction, LOG_RETENTION } from "../dunning-function.ts";
import { acknowledge } from "./acknowledge.ts";
import { type CaseData, grantObjects } from "./case-data.ts";
import { StackPart } from "./stack-part.ts";
import type { Workflow } from "./workflow.ts";

/** The API's one stage: its URLs end in `/prod/…`. */
export const API_STAGE_NAME = "prod";

export interface HttpApiProps {
  /** The REST API is named after the prefix. */
  namePrefix: string;
  serviceName: string;
  caseData: CaseData;
  workflow: Workflow;
  /** Attach a regional WAF web ACL to the API stage. */
  webAcl: boolean;
}

/**
 * The HTTP API: a regional REST API proxying every request to one Lambda, where authentication (Bearer API keys)
 * and validation (zod) happen — loans, policies, the audit trail, exports and legal notices. The borrowers' page
 * has a route of its own on the same stage (`/p/`, constructs/portal.ts).
 */
export class HttpApi extends StackPart {
  readonly apiFunction: DunningFunction;
  readonly api: LambdaRestApi;
  /**
   * The stage's public base URL (`https://<api id>.execute-api.<region>.<suffix>/prod`), built from the API's id
   * alone: it refers to neither the stage nor the deployment, so a function the API's methods depend on (through
   * the state machine) may carry it without a dependency cycle.
   */
  readonly stageUrl: string;

  constructor(scope: Construct, id: string, props: HttpApiProps) {
    super(scope, id);
    this.apiFunction = this.createFunction(props);
    const accessLogs = new LogGroup(this, "ApiAccessLogs", { retention: LOG_RETENTION });
    this.api = new LambdaRestApi(this, "Api", {
      handler: this.apiFunction,
      // `proxy: true` would close the root to any other route; the same proxy is added below instead.
      proxy: false,
      restApiName: props.namePrefix,
      description: "Loan reminder and dunning API",
      endpointTypes: [EndpointType.REGIONAL],
      // Execution logging needs the account-level API Gateway CloudWatch role; kept when the stack goes.
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName: API_STAGE_NAME,
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields(),
        throttlingRateLimit: 200,
        throttlingBurstLimit: 400,
        loggingLevel: MethodLoggingLevel.ERROR,
        metricsEnabled: true,
        // Request/response bodies hold borrower data: never write them to execution logs.
        dataTraceEnabled: false,
        tracingEnabled: true,
      },
    });
    // What `proxy: true` builds: `/{proxy+}` and the root, ANY, to the API function (the same construct ids).
    this.api.root.addProxy();
    this.stageUrl = `https://${this.api.restApiId}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}/${API_STAGE_NAME}`;
    if (props.webAcl) {
      this.attachWebAcl();
    } else {
      acknowledge(
        this.api.deploymentStage,
        "AwsSolutions-APIG3",
        "WAF disabled for this deployment (webAcl=false): an organisation-wide web ACL is attached per environment.",
      );
    }
    this.acknowledgeDesign();
  }

  private createFunction({ caseData, workflow, serviceName }: HttpApiProps): DunningFunction {
    const fn = new DunningFunction(this, "ApiFunction", {
      function: "api",
      description: "HTTP API: loans, policies, audit trail",
      environment: {
        ...caseData.caseEnvironment,
        STATE_MACHINE_ARN: workflow.stateMachine.stateMachineArn,
        // Bankruptcy and cease-contact notices arrive through the API and hand the case off from there.
        HANDOFF_TOPIC_ARN: caseData.handOffTopicArn,
      },
      serviceName,
    });
    caseData.grantCaseData(fn, {
      auditIndexes: AUDIT_TABLE.indexes.map((index) => index.name),
      apiKeys: true,
    });
    // Audit exports: written (multipart for large ones, hence Abort), then fetched through pre-signed GETs signed
    // with this role. Hand-off packages: written and read back. No List, no Delete: exports expire by lifecycle.
    grantObjects(fn, {
      sid: "WriteAndShareAuditExports",
      actions: ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"],
      objects: caseData.exportObjects,
      reason: `Audit exports are written under generated keys below exports/ only (expired by lifecycle after ${EXPORT_RETENTION_DAYS} days).`,
    });
    grantObjects(fn, {
      sid: "WriteAndReadHandOffPackages",
      actions: ["s3:PutObject", "s3:GetObject"],
      objects: caseData.handOffObjects,
      reason: "Legal hand-off packages are written and read back under per-case keys below handoffs/ only.",
    });
    caseData.grantHandOffPublish(fn);
    workflow.grantStart(fn);
    workflow.grantExecutions(fn, "ControlWorkflowExecutions", [
      "states:StopExecution",
      "states:DescribeExecution",
    ]);
    return fn;
  }

  /** AWS's managed rule groups in front of the stage: common exploits and known bad inputs. */
  private attachWebAcl(): void {
    const managedRules = (
      name: string,
      priority: number,
      countOnly: string[] = [],
    ): CfnWebACL.RuleProperty => ({
      name,
      priority,
      overrideAction: { none: {} },
      statement: {
        managedRuleGroupStatement: {
          vendorName: "AWS",
          name,
          ruleActionOverrides: countOnly.map((rule) => ({ name: rule, actionToUse: { count: {} } })),
        },
      },
      visibilityConfig: { sampledRequestsEnabled: true, cloudWatchMetricsEnabled: true, metricName: name },
    });
    const webAcl = new CfnWebACL(this, "ApiWebAcl", {
      scope: "REGIONAL",
      defaultAction: { allow: {} },
      visibilityConfig: {
        sampledRequestsEnabled: true,
        cloudWatchMetricsEnabled: true,
        metricName: "ApiWebAcl",
      },
      rules: [
        // Count, not block: bodies past the 8 KB the rule inspects (API Gateway caps them at 10 MB and the Lambda
        // validates them) and server-side HTTP clients that send no User-Agent. The rest of the set blocks.
        managedRules("AWSManagedRulesCommonRuleSet", 0, ["SizeRestrictions_BODY", "NoUserAgent_HEADER"]),
        managedRules("AWSManagedRulesKnownBadInputsRuleSet", 1),
      ],
    });
    new CfnWebACLAssociation(this, "ApiWebAclAssociation", {
      resourceArn: this.api.deploymentStage.stageArn,
      webAclArn: webAcl.attrArn,
    });
  }

  /** The findings that follow from the API's design: authentication and validation live in the Lambda. */
  private acknowledgeDesign(): void {
    acknowledge(
      this.api.methods,
      "AwsSolutions-APIG4",
      "Callers authenticate with per-tenant API keys (Bearer), verified by the Lambda against hashed keys.",
    );
    acknowledge(
      this.api.methods,
      "AwsSolutions-COG4",
      "Machine-to-machine API for lenders' systems: API keys checked in the Lambda, no Cognito user pool.",
    );
    acknowledge(
      this.api,
      "AwsSolutions-APIG2",
      "Proxy integration: the Lambda validates every request body and query with zod schemas (400 on failure).",
    );
    const cloudWatchRole = this.api.node.tryFindChild("CloudWatchRole");
    if (cloudWatchRole) {
      acknowledge(
        cloudWatchRole,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
        "The AWS-managed policy is the documented role for API Gateway's account-level execution logging.",
      );
    }
  }
}
