import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import * as z from "zod";
import { CLIENT_TIMEOUTS } from "../adapters/client-config.ts";
import { makeObjectImporter } from "./object-import.ts";

/** Lambda entry: an S3 "Object Created" event (via EventBridge) on the imports bucket → queued batches. */
const env = z.object({ IMPORT_QUEUE_URL: z.url() }).parse(process.env);

export const handler = makeObjectImporter({
  s3: new S3Client(CLIENT_TIMEOUTS),
  sqs: new SQSClient(CLIENT_TIMEOUTS),
  queueUrl: env.IMPORT_QUEUE_URL,
});
