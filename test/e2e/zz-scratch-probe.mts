import { createClients } from '/work/main/lambdas/core/clients';
import { PutObjectCommand, GetObjectTaggingCommand } from '@aws-sdk/client-s3';
import { SFNClient, ListExecutionsCommand, DescribeExecutionCommand, GetExecutionHistoryCommand } from '@aws-sdk/client-sfn';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { readFileSync } from 'node:fs';
const out = JSON.parse(readFileSync('/tmp/st-explore/outputs.json','utf8')).Sandtrap;
const { s3, ddb } = createClients();
const sfn = new SFNClient({ endpoint: process.env.AWS_ENDPOINT_URL });
const put = await s3.send(new PutObjectCommand({ Bucket: out.IngestBucketName, Key: 'probe/a.txt', Body: 'hello SANDTRAP-TEST-MALICIOUS ' + Date.now() }));
console.log('put', put.VersionId, put.ETag);
const t0 = Date.now();
let arn: string | undefined;
while (Date.now() - t0 < 30000) {
  const l = await sfn.send(new ListExecutionsCommand({ stateMachineArn: out.StateMachineArn }));
  const e = l.executions?.[0];
  if (e && e.status !== 'RUNNING') { arn = e.executionArn; break; }
  await new Promise(r => setTimeout(r, 300));
}
console.log('done in', Date.now() - t0);
const d = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
console.log(d.status, d.input, d.output?.slice(0, 300), d.error, d.cause);
const items = await ddb.send(new ScanCommand({ TableName: out.VerdictTableName }));
console.log(JSON.stringify(items.Items?.map(i => ({pk: i.pk, sk: i.sk, status: i.status, verdict: i.verdict})), null, 0));
console.log(JSON.stringify((await s3.send(new GetObjectTaggingCommand({ Bucket: out.IngestBucketName, Key: 'probe/a.txt' }))).TagSet));
