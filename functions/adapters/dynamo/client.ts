import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { CLIENT_TIMEOUTS } from "../client-config.ts";

export interface DynamoClientOptions {
  /** A DynamoDB Local (or other non-AWS) endpoint; undefined means the regional AWS endpoint. */
  endpoint?: string;
  region?: string;
  /** In place of CLIENT_TIMEOUTS: the embedded stack gives its own client the sandboxes' local settings. */
  timeouts?: { connectionTimeout: number; requestTimeout: number; maxAttempts: number };
}

const LOCAL_REGION = "us-east-1";
/** DynamoDB Local checks that credentials are present, not what they are. */
const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };

/** Any explicit endpoint outside amazonaws.com is DynamoDB Local (localhost, a container name...). */
export function isLocalEndpoint(endpoint: string | undefined): endpoint is string {
  if (!endpoint) return false;
  try {
    return !/(^|\.)amazonaws\.com(\.cn)?$/.test(new URL(endpoint).hostname);
  } catch {
    return false;
  }
}

/**
 * The one way the adapters get a DynamoDB client. On AWS the region and credentials come from the Lambda
 * environment; against DynamoDB Local they are fixed, so tables are found whatever the shell's AWS profile is.
 */
export function makeDocumentClient(options: DynamoClientOptions = {}): DynamoDBDocumentClient {
  const local = isLocalEndpoint(options.endpoint);
  const { timeouts } = options;
  const base = new DynamoDBClient({
    ...(timeouts
      ? {
          requestHandler: { ...CLIENT_TIMEOUTS.requestHandler, ...timeouts },
          maxAttempts: timeouts.maxAttempts,
        }
      : CLIENT_TIMEOUTS),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(local
      ? { region: options.region ?? LOCAL_REGION, credentials: LOCAL_CREDENTIALS }
      : options.region
        ? { region: options.region }
        : {}),
  });
  return DynamoDBDocumentClient.from(base, { marshallOptions: { removeUndefinedValues: true } });
}
