import { SESClient, SendEmailCommand } from "@aws-sdk/client-ses";
import { SFNClient, StartExecutionCommand, StopExecutionCommand } from "@aws-sdk/client-sfn";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { SesEmailSender } from "../../functions/adapters/senders/ses-sender.ts";
import { SnsSmsSender } from "../../functions/adapters/senders/sns-sender.ts";
import { StepFunctionsWorkflow } from "../../functions/adapters/step-functions.ts";
import { ProviderThrottledError } from "../../functions/domain/errors.ts";
import type { OutgoingMessage } from "../../functions/ports.ts";

const ses = mockClient(SESClient);
const sns = mockClient(SNSClient);
const sfn = mockClient(SFNClient);

beforeEach(() => {
  ses.reset();
  sns.reset();
  sfn.reset();
});

const message = (channel: "sms" | "email"): OutgoingMessage => ({
  tenantId: "demo",
  loanId: "L-1001",
  step: "soft_1",
  stage: "soft_collection",
  channel,
  locale: "zh-CN",
  to: channel === "sms" ? "+8613800138000" : "li.wei@example.com",
  ...(channel === "email" ? { subject: "还款提醒" } : {}),
  body: "正文",
});

function awsError(name: string): Error {
  const error = new Error(name);
  error.name = name;
  return error;
}

describe("SES email sender", () => {
  it("sends plain UTF-8 text from the configured address and returns the message id", async () => {
    ses.on(SendEmailCommand).resolves({ MessageId: "ses-1" });
    const result = await new SesEmailSender(new SESClient({}), "dunning@lender.example").send(
      message("email"),
    );
    expect(result).toEqual({ providerMessageId: "ses-1" });
    expect(ses.commandCalls(SendEmailCommand)[0]?.args[0].input).toEqual({
      Source: "dunning@lender.example",
      Destination: { ToAddresses: ["li.wei@example.com"] },
      Message: {
        Subject: { Data: "还款提醒", Charset: "UTF-8" },
        Body: { Text: { Data: "正文", Charset: "UTF-8" } },
      },
      Tags: [
        { Name: "tenant", Value: "demo" },
        { Name: "step", Value: "soft_1" },
        { Name: "loan", Value: "L-1001" },
      ],
    });
  });

  it("turns SES throttling into ProviderThrottledError and passes other errors through", async () => {
    const sender = new SesEmailSender(new SESClient({}), "dunning@lender.example");
    ses.on(SendEmailCommand).rejects(awsError("Throttling"));
    await expect(sender.send(message("email"))).rejects.toBeInstanceOf(ProviderThrottledError);
    ses.on(SendEmailCommand).rejects(awsError("MessageRejected"));
    await expect(sender.send(message("email"))).rejects.toMatchObject({ name: "MessageRejected" });
  });
});

describe("SNS SMS sender", () => {
  it("publishes a transactional SMS straight to the phone number", async () => {
    sns.on(PublishCommand).resolves({ MessageId: "sns-1" });
    const result = await new SnsSmsSender(new SNSClient({}), "LENDER").send(message("sms"));
    expect(result).toEqual({ providerMessageId: "sns-1" });
    expect(sns.commandCalls(PublishCommand)[0]?.args[0].input).toEqual({
      PhoneNumber: "+8613800138000",
      Message: "正文",
      MessageAttributes: {
        "AWS.SNS.SMS.SMSType": { DataType: "String", StringValue: "Transactional" },
        "AWS.SNS.SMS.SenderID": { DataType: "String", StringValue: "LENDER" },
      },
    });
  });

  it("retries only what may succeed later", async () => {
    const sender = new SnsSmsSender(new SNSClient({}));
    sns.on(PublishCommand).rejects(awsError("ThrottledException"));
    await expect(sender.send(message("sms"))).rejects.toBeInstanceOf(ProviderThrottledError);
    sns.on(PublishCommand).rejects(awsError("InvalidParameter"));
    await expect(sender.send(message("sms"))).rejects.toMatchObject({ name: "InvalidParameter" });
  });
});

describe("provider throttling", () => {
  const email = {
    Source: "dunning@lender.example",
    Destination: { ToAddresses: ["li.wei@example.com"] },
    Message: {
      Subject: { Data: "还款提醒", Charset: "UTF-8" },
      Body: { Text: { Data: "正文", Charset: "UTF-8" } },
    },
    ConfigurationSetName: "loan-dunning-email",
    Tags: [
      { Name: "tenant", Value: "demo" },
      { Name: "step", Value: "soft_1" },
      { Name: "loan", Value: "L-1001" },
    ],
  };
  const sms = {
    PhoneNumber: "+8613800138000",
    Message: "正文",
    MessageAttributes: { "AWS.SNS.SMS.SMSType": { DataType: "String", StringValue: "Transactional" } },
  };

  it.each([
    ["Throttling", "Throttling"],
    ["MaxSendingRateExceeded", "MaxSendingRateExceeded"],
    // An error the client does not model keeps SES's words only.
    ["SESServiceException", "Maximum sending rate exceeded."],
  ])("reads SES %s (%s) as ProviderThrottledError, having asked exactly once", async (name, text) => {
    const error = awsError(name);
    error.message = text;
    ses.on(SendEmailCommand).rejects(error);
    const sender = new SesEmailSender(new SESClient({}), "dunning@lender.example", "loan-dunning-email");
    await expect(sender.send(message("email"))).rejects.toMatchObject({
      name: "ProviderThrottledError",
      message: `ses: ${name}`,
    });
    expect(ses.commandCalls(SendEmailCommand).map((call) => call.args[0].input)).toEqual([email]);
  });

  it.each(["Throttled", "ThrottledException", "ThrottlingException"])(
    "reads SNS %s as ProviderThrottledError, having asked exactly once",
    async (name) => {
      sns.on(PublishCommand).rejects(awsError(name));
      const sender = new SnsSmsSender(new SNSClient({}));
      await expect(sender.send(message("sms"))).rejects.toMatchObject({
        name: "ProviderThrottledError",
        message: `sns: ${name}`,
      });
      expect(sns.commandCalls(PublishCommand).map((call) => call.args[0].input)).toEqual([sms]);
    },
  );
});

describe("Step Functions workflow control", () => {
  const arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:dunning";
  const ref = { tenantId: "demo", loanId: "L-1001", generation: 2 };

  it("starts one execution per (tenant, loan, generation) with a deterministic name", async () => {
    sfn.on(StartExecutionCommand).resolves({});
    await new StepFunctionsWorkflow(new SFNClient({}), arn).start(ref);
    const input = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(input?.stateMachineArn).toBe(arn);
    expect(input?.name).toMatch(/^L-1001-[0-9a-f]{16}-g2$/);
    expect(JSON.parse(input?.input ?? "")).toEqual({
      ...ref,
      startedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    });
  });

  it("starts a new case's execution at its planned first action, without the plan in the name", async () => {
    sfn.on(StartExecutionCommand).resolves({});
    const planned = {
      startedAt: "2026-01-05T00:00:00Z",
      next: { phase: "pre_due", at: "2026-01-08T02:00:00Z", step: "pre_due_7" },
    };
    await new StepFunctionsWorkflow(new SFNClient({}), arn).start({ ...ref, planned });
    const input = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(input?.name).toMatch(/^L-1001-[0-9a-f]{16}-g2$/);
    expect(JSON.parse(input?.input ?? "")).toEqual({
      ...ref,
      startedAt: planned.startedAt,
      next: planned.next,
    });
  });

  it("treats an existing execution of the same name as already started", async () => {
    sfn.on(StartExecutionCommand).rejects(awsError("ExecutionAlreadyExists"));
    await expect(new StepFunctionsWorkflow(new SFNClient({}), arn).start(ref)).resolves.toBeUndefined();
  });

  it("stops the execution by its ARN and ignores one that is gone", async () => {
    sfn.on(StopExecutionCommand).resolves({});
    const workflow = new StepFunctionsWorkflow(new SFNClient({}), arn);
    await workflow.stop(ref);
    expect(sfn.commandCalls(StopExecutionCommand)[0]?.args[0].input.executionArn).toMatch(
      /^arn:aws:states:eu-west-1:123456789012:execution:dunning:L-1001-[0-9a-f]{16}-g2$/,
    );
    sfn.on(StopExecutionCommand).rejects(awsError("ExecutionDoesNotExist"));
    await expect(workflow.stop(ref)).resolves.toBeUndefined();
  });
});
