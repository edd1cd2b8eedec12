import { Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import { PolicyStatement, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import { ConfigurationSet, EmailSendingEvent, EventDestination } from "aws-cdk-lib/aws-ses";
import { Topic } from "aws-cdk-lib/aws-sns";
import { LambdaSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import type { Construct } from "constructs";
import { DunningFunction } from "../dunning-function.ts";
import type { CaseData } from "./case-data.ts";
import { StackPart } from "./stack-part.ts";

/** The SES events the delivery function records: what happened to each email after SES accepted it. */
export const DELIVERY_EVENT_TYPES = [
  EmailSendingEvent.DELIVERY,
  EmailSendingEvent.BOUNCE,
  EmailSendingEvent.COMPLAINT,
  EmailSendingEvent.REJECT,
];

export interface DeliveryEventsProps {
  /** Prefix of the configuration set's and the topic's names. */
  namePrefix: string;
  serviceName: string;
  caseData: CaseData;
}

/**
 * What happens to each email after SES accepted it: SES → configuration set → encrypted topic → delivery function,
 * which records delivery, bounce, complaint and reject events against the case.
 */
export class DeliveryEvents extends StackPart {
  /** Every email is sent through this configuration set, which publishes its events to `topic`. */
  readonly configurationSet: ConfigurationSet;
  /** Fixed, so the send function's SES permission can name the configuration set's ARN. */
  readonly configurationSetName: string;
  readonly configurationSetArn: string;
  readonly topic: Topic;
  /** Encrypts `topic`; SES may use it for this configuration set only. */
  readonly key: Key;
  readonly deliveryFunction: DunningFunction;

  constructor(scope: Construct, id: string, props: DeliveryEventsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.configurationSetName = `${props.namePrefix}-email`;
    this.configurationSetArn = stack.formatArn({
      service: "ses",
      resource: "configuration-set",
      resourceName: this.configurationSetName,
    });
    // A key of its own (not the data key): SES gets to use exactly this key, and only for this configuration set.
    // The topic holds events only in flight, so the key goes with the stateless stack.
    this.key = new Key(this, "DeliveryEventsKey", {
      description: "Encrypts the SES delivery events topic of the loan dunning service",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(30),
    });
    // Fixed name: the key policy names the topic, and a token would make key and topic depend on each other.
    const topicName = `${props.namePrefix}-delivery-events`;
    // Publishing to an encrypted topic: SES needs a data key (GenerateDataKey*) and Decrypt on the topic's key —
    // only with this topic's SNS encryption context. Which SES resource may publish is the topic policy's job
    // (the event destination scopes it to this configuration set).
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: "AllowSesToPublishDeliveryEvents",
        principals: [new ServicePrincipal("ses.amazonaws.com")],
        actions: ["kms:GenerateDataKey*", "kms:Decrypt"],
        resources: ["*"],
        conditions: {
          StringEquals: {
            "kms:EncryptionContext:aws:sns:topicArn": stack.formatArn({
              service: "sns",
              resource: topicName,
            }),
          },
        },
      }),
    );
    this.topic = new Topic(this, "DeliveryEventsTopic", {
      topicName,
      displayName: "Loan dunning: email delivery events",
      masterKey: this.key,
      enforceSSL: true,
    });
    this.configurationSet = new ConfigurationSet(this, "EmailConfigurationSet", {
      configurationSetName: this.configurationSetName,
      reputationMetrics: true,
    });
    // The event destination also adds the topic policy that lets SES publish (scoped to this configuration set).
    this.configurationSet.addEventDestination("DeliveryEvents", {
      destination: EventDestination.snsTopic(this.topic),
      events: DELIVERY_EVENT_TYPES,
    });
    this.deliveryFunction = new DunningFunction(this, "DeliveryFunction", {
      function: "delivery",
      description: "Records SES delivery, bounce, complaint and reject events against the case",
      environment: props.caseData.tableEnvironment,
      serviceName: props.serviceName,
    });
    props.caseData.grantCaseData(this.deliveryFunction);
    this.topic.addSubscription(new LambdaSubscription(this.deliveryFunction));
  }
}
