import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ArnFormat, Stack } from "aws-cdk-lib";
import { Effect, Policy, PolicyStatement } from "aws-cdk-lib/aws-iam";
import { LogGroup } from "aws-cdk-lib/aws-logs";
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from "aws-cdk-lib/aws-stepfunctions";
import type { Construct } from "constructs";
import { DunningFunction, LOG_RETENTION } from "../dunning-function.ts";
import { acknowledge, wildcardResource } from "./acknowledge.ts";
import { type CaseData, grantObjects } from "./case-data.ts";
import { StackPart } from "./stack-part.ts";

/** The one workflow definition: the state machine deploys it, the embedded runtime executes it. */
export const WORKFLOW_ASL_PATH = fileURLToPath(
  new URL("../../../workflows/dunning.asl.json", import.meta.url),
);

export interface WorkflowProps {
  /** The state machine is named `<namePrefix>-workflow`. */
  namePrefix: string;
  serviceName: string;
  caseData: CaseData;
  /** Sender address for email; the SES permission is scoped to it and its domain. */
  emailFrom: string;
  /** Alphanumeric SMS sender id, where the destination country supports one. */
  smsSenderId?: string;
  /** The SES configuration set every email goes through (its name and ARN). */
  configurationSetName: string;
  configurationSetArn: string;
}

/**
 * The per-loan workflow: the Standard state machine built from workflows/dunning.asl.json, and the four task
 * functions it invokes (plan, send, hand off, record a failure), each with exactly the permissions its step needs.
 */
export class Workflow extends StackPart {
  readonly planFunction: DunningFunction;
  readonly sendFunction: DunningFunction;
  readonly handOffFunction: DunningFunction;
  readonly recordFailureFunction: DunningFunction;
  /** The four functions the state machine invokes, in the order above. */
  readonly taskFunctions: DunningFunction[];
  readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: WorkflowProps) {
    super(scope, id);
    const { caseData, serviceName } = props;
    // The steps start the next execution of a plan that outlives one (a year); the state machine refers to the
    // step functions, so they know it by its fixed name rather than by a token (no dependency cycle).
    const stateMachineName = `${props.namePrefix}-workflow`;
    const stateMachineArn = Stack.of(this).formatArn({
      service: "states",
      resource: "stateMachine",
      resourceName: stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const environment = { ...caseData.caseEnvironment, STATE_MACHINE_ARN: stateMachineArn };

    // One bundle, four handlers (timeouts in lambda-bundles.ts).
    this.planFunction = new DunningFunction(this, "PlanFunction", {
      function: "plan",
      description: "Workflow task: re-reads the case and plans the next action",
      environment,
      serviceName,
    });
    this.sendFunction = new DunningFunction(this, "SendStepFunction", {
      function: "send",
      description: "Workflow task: claims a dunning step, sends it and records the evidence",
      environment: {
        ...environment,
        EMAIL_FROM: props.emailFrom,
        SES_CONFIGURATION_SET: props.configurationSetName,
        ...(props.smsSenderId ? { SMS_SENDER_ID: props.smsSenderId } : {}),
      },
      serviceName,
    });
    this.handOffFunction = new DunningFunction(this, "HandOffFunction", {
      function: "handOff",
      description: "Workflow task: hands the case over to legal",
      environment: { ...environment, HANDOFF_TOPIC_ARN: caseData.handOffTopicArn },
      serviceName,
    });
    this.recordFailureFunction = new DunningFunction(this, "RecordFailureFunction", {
      function: "recordFailure",
      description: "Workflow task: flags the case and audits a task that failed after its retries",
      environment,
      serviceName,
    });
    this.taskFunctions = [
      this.planFunction,
      this.sendFunction,
      this.handOffFunction,
      this.recordFailureFunction,
    ];
    this.grantTasks(props, stateMachineArn);
    this.stateMachine = this.createStateMachine(stateMachineName);
  }

  /** Lets a function start executions of the workflow (a new loan, a restarted case). */
  grantStart(fn: DunningFunction): void {
    this.stateMachine.grantStartExecution(fn);
  }

  /**
   * Lets a function act on any execution of the workflow: executions are one per loan, named at start time, so
   * the grant covers every execution of this one state machine.
   */
  grantExecutions(fn: DunningFunction, sid: string, actions: string[]): void {
    const executions = Stack.of(this).formatArn({
      service: "states",
      resource: "execution",
      resourceName: `${this.stateMachine.stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    fn.addToRolePolicy(new PolicyStatement({ sid, actions, resources: [executions] }));
    acknowledge(
      fn.executionRole,
      wildcardResource(this, executions),
      "Stop (or describe) any execution of this one state machine: executions are one per loan, named at start time.",
    );
  }

  private grantTasks(props: WorkflowProps, stateMachineArn: string): void {
    for (const fn of this.taskFunctions) {
      props.caseData.grantCaseData(fn);
      fn.addToRolePolicy(
        new PolicyStatement({
          sid: "ContinueInNewExecution",
          actions: ["states:StartExecution"],
          resources: [stateMachineArn],
        }),
      );
    }
    grantSending(this.sendFunction, props.emailFrom, props.configurationSetArn);
    grantObjects(this.handOffFunction, {
      sid: "WriteHandOffPackages",
      actions: ["s3:PutObject"],
      objects: props.caseData.handOffObjects,
      reason:
        "The hand-off step writes its package under a per-case key below handoffs/ only (PutObject, nothing else).",
    });
    props.caseData.grantHandOffPublish(this.handOffFunction);
  }

  private createStateMachine(stateMachineName: string): StateMachine {
    const logs = new LogGroup(this, "WorkflowLogs", { retention: LOG_RETENTION });
    const stateMachine = new StateMachine(this, "DunningWorkflow", {
      stateMachineName,
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromString(readFileSync(WORKFLOW_ASL_PATH, "utf8")),
      definitionSubstitutions: {
        PlanFunctionArn: this.planFunction.functionArn,
        SendStepFunctionArn: this.sendFunction.functionArn,
        HandOffFunctionArn: this.handOffFunction.functionArn,
        RecordFailureFunctionArn: this.recordFailureFunction.functionArn,
      },
      // Execution data carries borrower contact details; keep it out of the logs.
      logs: { destination: logs, level: LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: true,
    });
    // The ASL names the functions directly as Task resources, so CDK cannot infer the grant: give exactly these.
    stateMachine.addToRolePolicy(
      new PolicyStatement({
        sid: "InvokeWorkflowTasks",
        actions: ["lambda:InvokeFunction"],
        resources: this.taskFunctions.map((fn) => fn.functionArn),
      }),
    );
    acknowledge(
      stateMachine.role,
      "AwsSolutions-IAM5[Resource::*]",
      "Vended log delivery (logs:CreateLogDelivery etc.) and X-Ray tracing actions support no resource-level scoping.",
    );
    return stateMachine;
  }
}

/**
 * SES scoped to the sender identity (address or its domain, whichever is verified) and to that From address, plus
 * the configuration set every email goes through (SES authorises SendEmail against that resource too); and SMS.
 */
function grantSending(fn: DunningFunction, emailFrom: string, configurationSetArn: string): void {
  const stack = Stack.of(fn);
  const domain = emailFrom.slice(emailFrom.lastIndexOf("@") + 1);
  fn.addToRolePolicy(
    new PolicyStatement({
      sid: "SendEmailAsSender",
      actions: ["ses:SendEmail"],
      resources: [
        ...[domain, emailFrom].map((identity) =>
          stack.formatArn({ service: "ses", resource: "identity", resourceName: identity }),
        ),
        configurationSetArn,
      ],
      conditions: { StringEquals: { "ses:FromAddress": emailFrom } },
    }),
  );
  // Kept in its own policy so the wildcard acknowledgement below covers exactly this statement.
  const smsPolicy = new Policy(fn, "SmsPublishPolicy", {
    statements: [
      new PolicyStatement({ sid: "PublishSmsToPhoneNumbers", actions: ["sns:Publish"], resources: ["*"] }),
      // `*` above would include every topic — the legal hand-offs, the delivery events (a forged SES event): an SMS
      // straight to a phone number names no topic, so denying every topic ARN leaves exactly SMS.
      new PolicyStatement({
        sid: "NeverPublishToTopics",
        effect: Effect.DENY,
        actions: ["sns:Publish"],
        resources: [stack.formatArn({ service: "sns", region: "*", account: "*", resource: "*" })],
      }),
    ],
  });
  smsPolicy.attachToRole(fn.executionRole);
  acknowledge(
    smsPolicy,
    "AwsSolutions-IAM5[Resource::*]",
    "sns:Publish straight to a phone number (SMS) has no resource ARN to scope to; every topic ARN is denied.",
  );
}
