import { DynamoDBClient, CreateTableCommand, DescribeTableCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { DynamoDBStreamsClient, DescribeStreamCommand, GetShardIteratorCommand, GetRecordsCommand } from "@aws-sdk/client-dynamodb-streams";
import { startDynamoDbLocal } from "/work/main/infra/local/dynamodb-local.ts";
const d = await startDynamoDbLocal();
const cfg = { endpoint: d.endpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } };
const c = new DynamoDBClient(cfg); const s = new DynamoDBStreamsClient(cfg);
await c.send(new CreateTableCommand({ TableName: "ttt", BillingMode: "PAY_PER_REQUEST", AttributeDefinitions: [{AttributeName:"pk",AttributeType:"S"}], KeySchema:[{AttributeName:"pk",KeyType:"HASH"}], StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_IMAGE" } }));
const t = await c.send(new DescribeTableCommand({ TableName: "ttt" }));
console.log(t.Table?.LatestStreamArn, t.Table?.StreamSpecification);
const arn = t.Table!.LatestStreamArn!;
let desc = await s.send(new DescribeStreamCommand({ StreamArn: arn }));
console.log(JSON.stringify(desc.StreamDescription?.Shards));
for (let i = 0; i < 3; i++) await c.send(new PutItemCommand({ TableName: "ttt", Item: { pk: { S: "a" + i }, b: { B: new Uint8Array([1,2]) } } }));
desc = await s.send(new DescribeStreamCommand({ StreamArn: arn }));
console.log(JSON.stringify(desc.StreamDescription?.Shards));
const shard = desc.StreamDescription!.Shards![0]!.ShardId!;
const it = await s.send(new GetShardIteratorCommand({ StreamArn: arn, ShardId: shard, ShardIteratorType: "TRIM_HORIZON" }));
let r = await s.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator, Limit: 2 }));
console.log(r.Records?.length, r.Records?.[0], r.NextShardIterator?.slice(0, 40));
r = await s.send(new GetRecordsCommand({ ShardIterator: r.NextShardIterator, Limit: 2 }));
console.log(r.Records?.length);
const nx = r.NextShardIterator;
r = await s.send(new GetRecordsCommand({ ShardIterator: nx }));
console.log("empty", r.Records?.length, !!r.NextShardIterator);
await c.send(new PutItemCommand({ TableName: "ttt", Item: { pk: { S: "z" } } }));
r = await s.send(new GetRecordsCommand({ ShardIterator: r.NextShardIterator }));
console.log("after put", r.Records?.length);
// reuse old iterator?
try { r = await s.send(new GetRecordsCommand({ ShardIterator: nx })); console.log("reuse old", r.Records?.length); } catch (e) { console.log("reuse err", (e as Error).name); }
try { await s.send(new GetRecordsCommand({ ShardIterator: "garbage" })); } catch (e) { console.log("garbage err", (e as Error).name); }
await d.stop();
