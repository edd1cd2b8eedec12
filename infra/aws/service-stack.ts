import { type CfnElement, Stack, type StackProps } from "aws-cdk-lib";
import type { IKey } from "aws-cdk-lib/aws-kms";
import type { Construct } from "constructs";
import { HttpApi } from "./constructs/api.ts";
import { CaseData } from "./constructs/case-data.ts";
import { OpsConsole } from "./constructs/console.ts";
import { DeliveryEvents } from "./constructs/delivery-events.ts";
import { DunningOperations, METRICS_NAMESPACE } from "./constructs/operations.ts";
import { PolicyApplications } from "./constructs/policy-applications.ts";
import { BorrowerPortal } from "./constructs/portal.ts";
import { PortfolioImport } from "./constructs/portfolio-import.ts";
import { Reconciler } from "./constructs/reconciler.ts";
import { Simulations } from "./constructs/simulations.ts";
import { flatLogicalId } from "./constructs/stack-part.ts";
import { TrailMetrics } from "./constructs/trail-metrics.ts";
import { LenderWebhooks } from "./constructs/webhooks.ts";
import { Workflow } from "./constructs/workflow.ts";
import type { DunningFunction } from "./dunning-function.ts";

export interface DunningServiceStackProps extends StackProps {
  /** Physical names of the tables owned by the data stack. */
  stateTableName: string;
  auditTableName: string;
  /** Physical name of the data stack's export bucket (`exports/`, `handoffs/`). */
  exportBucketName: string;
  /** Physical name of the data stack's import bucket (`imports/<tenantId>/…`). */
  importBucketName?: string;
  /** The audit table's stream: every new entry, for the business metrics and the lender webhooks. */
  auditStreamArn?: string;
  /** Alarm when SMS spend this month passes 80% of this many US dollars (default 1000). */
  smsMonthlyBudgetUsd?: number;
  /** Name of the data stack's legal hand-off topic. */
  handOffTopicName: string;
  /** The key that encrypts the tables, the export bucket and the hand-off topic. */
  dataKey: IKey;
  /** The data stack's key that seals lenders' webhook endpoint secrets (stored in the state table). */
  webhookSecretsKey: IKey;
  /** Sender address for email; the SES permission is scoped to it and its domain. */
  emailFrom: string;
  /** Alphanumeric SMS sender id, where the destination country supports one. */
  smsSenderId?: string;
  /** The borrowers' page's public base for the links in messages (default: the API stage's URL). */
  portalBaseUrl?: string;
  /** Attach a regional WAF web ACL to the API stage (default true). */
  webAcl?: boolean;
  /** Powertools service name (default `loan-dunning`). */
  serviceName?: string;
  /** Cases a policy application re-plans per second (POLICY_APPLY_RATE); the function's default when unset. */
  policyApplyRate?: number;
  /** Prefix of every physical name this stack sets, so stages live side by side (default `loan-dunning`). */
  namePrefix?: string;
}

/**
 * The stateless half: the Lambda functions, the per-loan workflow and the HTTP API. It holds no data, so it can
 * be destroyed and redeployed without touching a case or an audit entry.
 *
 * Each concern is a construct of its own (infra/aws/constructs/); the stack only wires them together. The parts take
 * no part in logical IDs (see StackPart): every resource keeps the ID it had when the stack built it directly.
 */
export class DunningServiceStack extends Stack {
  /** The data stack's tables, export prefixes and hand-off topic, and the grants on them. */
  readonly caseData: CaseData;
  /** The state machine and its four task functions. */
  readonly workflow: Workflow;
  /** SES configuration set → encrypted topic → delivery function. */
  readonly deliveryEvents: DeliveryEvents;
  /** The REST API and its function. */
  readonly httpApi: HttpApi;
  /** The borrowers' page at `/p/` on the API's stage, and its function. */
  readonly portal: BorrowerPortal;
  readonly console: OpsConsole;
  /** Scheduled: restarts cases whose execution was lost. */
  readonly reconciler: Reconciler;
  /** Business metrics from the audit stream (absent without a stream). */
  readonly trailMetrics?: TrailMetrics;
  /** Audit stream → lender webhook deliveries → queue → signed POSTs (absent without a stream). */
  readonly webhooks?: LenderWebhooks;
  /** In-flight policy changes: the API queues a job's pages, the apply function moves running loans. */
  readonly policyApplications: PolicyApplications;
  /** What-if simulations: the API queues a job, the simulate function runs it and stores its report. */
  readonly simulations: Simulations;
  /** Portfolio uploads → queue → cases and workflows (absent without an import bucket). */
  readonly portfolioImport?: PortfolioImport;
  /** Alarms, the ops topic and the dashboard. */
  readonly operations: DunningOperations;

  constructor(scope: Construct, id: string, props: DunningServiceStackProps) {
    super(scope, id, props);
    const serviceName = props.serviceName ?? "loan-dunning";
    const namePrefix = props.namePrefix ?? "loan-dunning";

    const caseData = new CaseData(this, "CaseData", {
      stateTableName: props.stateTableName,
      auditTableName: props.auditTableName,
      exportBucketName: props.exportBucketName,
      handOffTopicName: props.handOffTopicName,
      dataKey: props.dataKey,
    });
    this.caseData = caseData;
    this.deliveryEvents = new DeliveryEvents(this, "DeliveryEvents", { namePrefix, serviceName, caseData });
    const workflow = new Workflow(this, "Workflow", {
      namePrefix,
      serviceName,
      caseData,
      emailFrom: props.emailFrom,
      ...(props.smsSenderId ? { smsSenderId: props.smsSenderId } : {}),
      configurationSetName: this.deliveryEvents.configurationSetName,
      configurationSetArn: this.deliveryEvents.configurationSetArn,
    });
    this.workflow = workflow;
    this.httpApi = new HttpApi(this, "HttpApi", {
      namePrefix,
      serviceName,
      caseData,
      workflow,
      webAcl: props.webAcl ?? true,
    });
    this.portal = new BorrowerPortal(this, "Portal", {
      serviceName,
      caseData,
      workflow,
      httpApi: this.httpApi,
      ...(props.portalBaseUrl ? { baseUrl: props.portalBaseUrl } : {}),
    });
    this.portal.linkFrom(workflow.sendFunction);
    this.console = new OpsConsole(this, "Console", {
      serviceName,
      httpApi: this.httpApi,
      exportBucketName: props.exportBucketName,
    });
    this.reconciler = new Reconciler(this, "Reconciler", { serviceName, caseData, workflow });
    this.policyApplications = new PolicyApplications(this, "PolicyApplications", {
      serviceName,
      caseData,
      workflow,
      ...(props.policyApplyRate ? { casesPerSecond: props.policyApplyRate } : {}),
    });
    this.policyApplications.grantStartApplications(this.httpApi.apiFunction);
    this.simulations = new Simulations(this, "Simulations", { serviceName, caseData });
    this.simulations.grantStartSimulations(this.httpApi.apiFunction);
    if (props.auditStreamArn) {
      this.trailMetrics = new TrailMetrics(this, "TrailMetrics", {
        serviceName,
        caseData,
        auditTableName: props.auditTableName,
        auditStreamArn: props.auditStreamArn,
        dataKey: props.dataKey,
      });
      this.webhooks = new LenderWebhooks(this, "LenderWebhooks", {
        serviceName,
        caseData,
        auditStreamArn: props.auditStreamArn,
        secretKey: props.webhookSecretsKey,
      });
      this.webhooks.grantEndpointAdmin(this.httpApi.apiFunction);
    }
    if (props.importBucketName) {
      this.portfolioImport = new PortfolioImport(this, "PortfolioImport", {
        serviceName,
        importBucketName: props.importBucketName,
        caseData,
        workflow,
      });
    }
    this.operations = this.watch(namePrefix, props.smsMonthlyBudgetUsd ?? 1000);
  }

  /** What an operator watches: alarms into the ops topic, and a dashboard (README: runbook). */
  private watch(namePrefix: string, smsMonthlyBudgetUsd: number): DunningOperations {
    const { workflow, trailMetrics, webhooks, portfolioImport, policyApplications } = this;
    const functions: Record<string, DunningFunction> = {
      api: this.httpApi.apiFunction,
      portal: this.portal.portalFunction,
      plan: workflow.planFunction,
      send: workflow.sendFunction,
      "hand-off": workflow.handOffFunction,
      "record-failure": workflow.recordFailureFunction,
      delivery: this.deliveryEvents.deliveryFunction,
      reconciler: this.reconciler.reconcilerFunction,
      "policy-apply": policyApplications.applyFunction,
      simulate: this.simulations.simulateFunction,
      ...(trailMetrics ? { "trail-metrics": trailMetrics.trailMetricsFunction } : {}),
      ...(webhooks
        ? { "webhook-announce": webhooks.announceFunction, "webhook-deliver": webhooks.deliverFunction }
        : {}),
      ...(portfolioImport
        ? { import: portfolioImport.importFunction, "import-consumer": portfolioImport.consumerFunction }
        : {}),
    };
    return new DunningOperations(this, "Operations", {
      namePrefix,
      metricsNamespace: METRICS_NAMESPACE,
      stateMachine: workflow.stateMachine,
      api: this.httpApi.api,
      functions,
      workflowTasks: ["plan", "send", "hand-off"],
      deadLetterQueues: {
        "policy-applications": policyApplications.deadLetterQueue,
        simulations: this.simulations.deadLetterQueue,
        ...(portfolioImport ? { import: portfolioImport.deadLetterQueue } : {}),
        ...(trailMetrics ? { "trail-metrics": trailMetrics.deadLetterQueue } : {}),
        ...(webhooks
          ? {
              "webhook-announce": webhooks.announceDeadLetterQueue,
              "webhook-deliveries": webhooks.deadLetterQueue,
            }
          : {}),
      },
      configurationSetName: this.deliveryEvents.configurationSetName,
      smsMonthlyBudgetUsd,
    });
  }

  /** Resources inside the parts keep the logical IDs they would have directly in the stack (see StackPart). */
  protected override allocateLogicalId(element: CfnElement): string {
    return flatLogicalId(this, element);
  }
}
