import { Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import type { RestApi } from "aws-cdk-lib/aws-apigateway";
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import { PolicyStatement, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import { Topic } from "aws-cdk-lib/aws-sns";
import type { Queue } from "aws-cdk-lib/aws-sqs";
import type { StateMachine } from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import { EXECUTIONS_STOPPED_BY_PRODUCT, WORKFLOWS_RESTARTED } from "../../../functions/metrics.ts";
import type { DunningFunction } from "../dunning-function.ts";

export interface OperationsProps {
  namePrefix: string;
  metricsNamespace: string;
  stateMachine: StateMachine;
  api: RestApi;
  /** Every function, by a short name used in alarm names. */
  functions: Record<string, DunningFunction>;
  /** Functions whose errors route the workflow (a paid case ends a step with an error): alarmed on rate. */
  workflowTasks: string[];
  deadLetterQueues: Record<string, Queue>;
  configurationSetName: string;
  /** Alarm when SMS spend this month passes this many US dollars. */
  smsMonthlyBudgetUsd: number;
}

/** The CloudWatch namespace of the product's own metrics (Powertools Metrics). */
export const METRICS_NAMESPACE = "LoanDunning";

const FIVE_MINUTES = Duration.minutes(5);

/**
 * What an operator watches: alarms into one encrypted ops topic, and a dashboard. Each alarm's name says what
 * happened; the README's runbook says what to do about it.
 */
export class DunningOperations extends Construct {
  readonly opsTopic: Topic;
  readonly alarms: Alarm[] = [];
  readonly dashboard: Dashboard;
  private readonly alarmAction: SnsAction;
  private readonly namePrefix: string;

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    this.namePrefix = props.namePrefix;
    this.opsTopic = this.createTopic(`${props.namePrefix}-ops-alarms`);
    this.alarmAction = new SnsAction(this.opsTopic);
    this.alarmWorkflow(props);
    this.alarmFunctions(props);
    this.alarmDelivery(props);
    this.alarm("api-5xx", props.api.metricServerError({ period: FIVE_MINUTES, statistic: "Sum" }), 1, {
      description: "The API answered 5xx: client mistakes are 4xx, so each of these is ours.",
    });
    this.dashboard = this.buildDashboard(props);
  }

  /** The ops topic, encrypted: CloudWatch may publish to an encrypted topic only with a key that lets it. */
  private createTopic(topicName: string): Topic {
    const key = new Key(this, "OpsAlarmsKey", {
      description: "Encrypts the loan dunning ops alarms topic",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(30),
    });
    key.addToResourcePolicy(
      new PolicyStatement({
        sid: "AllowCloudWatchAlarmsToPublish",
        principals: [new ServicePrincipal("cloudwatch.amazonaws.com")],
        actions: ["kms:GenerateDataKey*", "kms:Decrypt"],
        resources: ["*"],
        conditions: {
          StringEquals: {
            "kms:EncryptionContext:aws:sns:topicArn": Stack.of(this).formatArn({
              service: "sns",
              resource: topicName,
            }),
          },
        },
      }),
    );
    return new Topic(this, "OpsAlarms", {
      topicName,
      displayName: "Loan dunning: operations alarms",
      masterKey: key,
      enforceSSL: true,
    });
  }

  /** One alarm `<prefix>-<name>` into the ops topic, on the first breaching period. */
  private alarm(
    name: string,
    metric: IMetric,
    threshold: number,
    options: Partial<AlarmOptions> = {},
  ): Alarm {
    const created = new Alarm(this, name, {
      alarmName: `${this.namePrefix}-${name}`,
      alarmDescription: options.description ?? `${name}: see the README runbook`,
      metric,
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: options.comparison ?? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: options.missing ?? TreatMissingData.NOT_BREACHING,
    });
    created.addAlarmAction(this.alarmAction);
    this.alarms.push(created);
    return created;
  }

  /** Executions that failed, timed out or were aborted from outside, and a reconciler gone silent. */
  private alarmWorkflow(props: OperationsProps): void {
    const sm = props.stateMachine;
    this.alarm("executions-failed", sm.metricFailed({ period: FIVE_MINUTES, statistic: "Sum" }), 1, {
      description:
        "A loan's execution ended FAILED: its case is flagged (attention) and audited (workflow_failed).",
    });
    this.alarm("executions-timed-out", sm.metricTimedOut({ period: FIVE_MINUTES, statistic: "Sum" }), 1);
    // The product stops executions itself (a payment, a re-plan); only aborts beyond those are news.
    const stoppedByProduct = new Metric({
      namespace: props.metricsNamespace,
      metricName: EXECUTIONS_STOPPED_BY_PRODUCT,
      dimensionsMap: { service: "loan-dunning" },
      statistic: "Sum",
      period: Duration.minutes(15),
    });
    this.alarm(
      "executions-aborted-outside-product",
      new MathExpression({
        expression: "aborted - FILL(stopped, 0)",
        usingMetrics: {
          aborted: sm.metricAborted({ period: Duration.minutes(15), statistic: "Sum" }),
          stopped: stoppedByProduct,
        },
        period: Duration.minutes(15),
        label: "Executions aborted other than by the product",
      }),
      1,
    );
    this.alarm(
      "stalled-workflows-restarted",
      new Metric({
        namespace: props.metricsNamespace,
        metricName: WORKFLOWS_RESTARTED,
        dimensionsMap: { service: "loan-dunning" },
        statistic: "Sum",
        period: Duration.minutes(15),
      }),
      1,
      {
        description:
          "The reconciler restarted cases whose execution was lost; no data means the reconciler itself is not running.",
        missing: TreatMissingData.BREACHING,
      },
    );
  }

  /** Every function and dead-letter queue. */
  private alarmFunctions(props: OperationsProps): void {
    // Throttles everywhere; errors where none are expected, on rate where errors route the workflow.
    for (const [name, fn] of Object.entries(props.functions)) {
      this.alarm(`${name}-throttles`, fn.metricThrottles({ period: FIVE_MINUTES, statistic: "Sum" }), 1);
      if (props.workflowTasks.includes(name)) {
        this.alarm(
          `${name}-error-rate`,
          new MathExpression({
            expression: "IF(invocations >= 20, 100 * errors / invocations, 0)",
            usingMetrics: {
              errors: fn.metricErrors({ period: Duration.minutes(15), statistic: "Sum" }),
              invocations: fn.metricInvocations({ period: Duration.minutes(15), statistic: "Sum" }),
            },
            period: Duration.minutes(15),
            label: `${name}: % of invocations ending in an error`,
          }),
          50,
        );
      } else {
        this.alarm(`${name}-errors`, fn.metricErrors({ period: FIVE_MINUTES, statistic: "Sum" }), 1);
      }
    }
    for (const [name, queue] of Object.entries(props.deadLetterQueues)) {
      this.alarm(
        `${name}-dead-letters`,
        queue.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES, statistic: "Maximum" }),
        1,
      );
    }
  }

  /** SES reputation of the configuration set, SMS success and spend. */
  private alarmDelivery(props: OperationsProps): void {
    const ses = (metricName: string) =>
      new Metric({
        namespace: "AWS/SES",
        metricName,
        dimensionsMap: { "ses:configuration-set": props.configurationSetName },
        statistic: "Average",
        period: Duration.hours(1),
      });
    this.alarm("ses-bounce-rate", ses("Reputation.BounceRate"), 0.05, {
      description: "More than 5% of email bounces: SES reviews accounts above 10%.",
    });
    this.alarm("ses-complaint-rate", ses("Reputation.ComplaintRate"), 0.001, {
      description: "More than 0.1% of email is reported as spam: SES reviews accounts above 0.5%.",
    });
    const sms = (metricName: string, statistic: string) =>
      new Metric({ namespace: "AWS/SNS", metricName, statistic, period: Duration.hours(1) });
    this.alarm("sms-success-rate", sms("SMSSuccessRate", "Average"), 0.9, {
      comparison: ComparisonOperator.LESS_THAN_THRESHOLD,
      description: "Fewer than 90% of SMS delivered in the last hour.",
    });
    this.alarm("sms-spend", sms("SMSMonthToDateSpentUSD", "Maximum"), props.smsMonthlyBudgetUsd * 0.8, {
      description: `SMS spend this month passed 80% of the ${props.smsMonthlyBudgetUsd} USD budget.`,
    });
  }

  private buildDashboard(props: OperationsProps): Dashboard {
    const sm = props.stateMachine;
    const fns = Object.entries(props.functions);
    const dashboard = new Dashboard(this, "Dashboard", { dashboardName: `${props.namePrefix}-operations` });
    dashboard.addWidgets(
      new TextWidget({
        markdown: `# ${props.namePrefix}\nAlarms publish to the ops topic; the README runbook says what each means.`,
        width: 24,
        height: 2,
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: "Executions",
        left: [
          sm.metricStarted(),
          sm.metricSucceeded(),
          sm.metricFailed(),
          sm.metricAborted(),
          sm.metricTimedOut(),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: "API",
        left: [props.api.metricCount(), props.api.metricClientError(), props.api.metricServerError()],
        right: [props.api.metricLatency({ statistic: "p99" })],
        width: 12,
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({ title: "Lambda errors", left: fns.map(([, fn]) => fn.metricErrors()), width: 8 }),
      new GraphWidget({
        title: "Lambda throttles",
        left: fns.map(([, fn]) => fn.metricThrottles()),
        width: 8,
      }),
      new GraphWidget({
        title: "Lambda duration p99",
        left: fns.map(([, fn]) => fn.metricDuration({ statistic: "p99" })),
        width: 8,
      }),
    );
    dashboard.addWidgets(...this.outcomeWidgets(props));
    return dashboard;
  }

  /** What the product achieves (business metrics from the trail) and whether its messages arrive. */
  private outcomeWidgets(props: OperationsProps): GraphWidget[] {
    // Business metrics carry their own dimensions (channel and stage, rule): a search shows every series.
    const business = (metricName: string, dimensions: string[] = []) =>
      new MathExpression({
        expression: `SEARCH('{${[props.metricsNamespace, "service", ...dimensions].join(",")}} MetricName="${metricName}"', 'Sum', 3600)`,
        label: metricName,
        period: Duration.hours(1),
      });
    return [
      new GraphWidget({
        title: "Messages sent, deferrals, hand-offs, payments after contact",
        left: [
          business("MessagesSent", ["channel", "stage"]),
          business("StepsDeferred", ["rule"]),
          business("HandOffs"),
          business("PaymentsAfterContact"),
          business("StalledWorkflowsRestarted"),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: "Delivery: SES reputation, SMS success and spend",
        left: [
          new Metric({
            namespace: "AWS/SES",
            metricName: "Reputation.BounceRate",
            dimensionsMap: { "ses:configuration-set": props.configurationSetName },
          }),
          new Metric({
            namespace: "AWS/SES",
            metricName: "Reputation.ComplaintRate",
            dimensionsMap: { "ses:configuration-set": props.configurationSetName },
          }),
          new Metric({ namespace: "AWS/SNS", metricName: "SMSSuccessRate" }),
        ],
        right: [
          new Metric({ namespace: "AWS/SNS", metricName: "SMSMonthToDateSpentUSD", statistic: "Maximum" }),
        ],
        width: 12,
      }),
    ];
  }
}

interface AlarmOptions {
  description: string;
  comparison: ComparisonOperator;
  missing: TreatMissingData;
}
