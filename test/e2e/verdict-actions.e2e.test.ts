import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import {
  AttachRolePolicyCommand,
  CreateAccessKeyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  IAMClient,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
} from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  TAG_SCORE,
  TAG_VERDICT,
  VerdictDocumentSchema,
  type VerdictDocument,
} from '../../lambdas/core/contracts/pipeline';
import { VerdictStore } from '../../lambdas/core/store/verdict-store';
import { createE2eClients, destroyE2eClients, e2eClientConfig, type E2eClients } from './harness/aws';
import { runSandtrap } from './harness/cli';
import type { E2eContext } from './harness/context';

const provided = inject('e2e') as E2eContext | undefined;
const ctx = provided ?? ({} as E2eContext);
/** The admin role the guarded stack's configuration names (test/e2e/global-setup.ts). */
const ADMIN_ROLE = 'e2e-admin';

/** Runs the `sandtrap` CLI against the guarded stack's IAM-enforcing MiniStack. */
const sandtrap = (args: string[], timeoutMs?: number) => runSandtrap(ctx.guardedEnv, args, timeoutMs);

async function submitAndWait(file: string, prefix: string): Promise<VerdictDocument> {
  const result = await sandtrap([
    'submit',
    file,
    '--wait',
    '--json',
    '--prefix',
    prefix,
    '--stack',
    ctx.guardedStackName,
  ]);
  expect(result.code, result.stderr).toBe(0);
  return VerdictDocumentSchema.parse(JSON.parse(result.stdout.trim().split('\n')[0] ?? '{}'));
}

/** The HTTP status of a GetObject, 200 when it is allowed. */
async function readStatus(clients: E2eClients, bucket: string, key: string): Promise<number> {
  try {
    const object = await clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    await object.Body?.transformToByteArray();
    return 200;
  } catch (error) {
    return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 0;
  }
}

describe.skipIf(!provided)(
  'verdict actions of a deployed stack with quarantine and read-blocking on (MiniStack enforcing IAM)',
  () => {
    let root: E2eClients;
    let analyst: E2eClients;
    let admin: E2eClients;
    let uploader: E2eClients;
    const dir = mkdtempSync(join(tmpdir(), 'sandtrap-e2e-actions-'));
    const nonce = randomUUID();
    const sample = (name: string, content: string) => {
      const file = join(dir, `${nonce.slice(0, 8)}-${name}`);
      writeFileSync(file, `${content} ${nonce}\n`);
      return file;
    };

    beforeAll(async () => {
      root = createE2eClients(ctx.guardedEndpoint, { caFile: ctx.guardedCaFile });
      const config = e2eClientConfig(ctx.guardedEndpoint, { caFile: ctx.guardedCaFile });
      const iam = new IAMClient(config);
      const sts = new STSClient(config);
      const readIngest = JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: ['s3:GetObject', 's3:GetObjectVersion'],
            Resource: `arn:aws:s3:::${ctx.guardedStack.ingestBucket}/*`,
          },
        ],
      });
      // A non-admin principal whose own policy lets it read the ingest bucket: only the bucket policy stops it.
      await iam.send(new CreateUserCommand({ UserName: `analyst-${nonce.slice(0, 8)}` }));
      await iam.send(
        new PutUserPolicyCommand({
          UserName: `analyst-${nonce.slice(0, 8)}`,
          PolicyName: 'read-ingest',
          PolicyDocument: readIngest,
        }),
      );
      const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: `analyst-${nonce.slice(0, 8)}` }));
      analyst = createE2eClients(ctx.guardedEndpoint, {
        caFile: ctx.guardedCaFile,
        credentials: { accessKeyId: AccessKey!.AccessKeyId!, secretAccessKey: AccessKey!.SecretAccessKey! },
      });
      // The admin role the stack exempts, with the same identity policy, used through an assumed-role session.
      await iam.send(
        new CreateRoleCommand({
          RoleName: ADMIN_ROLE,
          AssumeRolePolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::000000000000:root' }, Action: 'sts:AssumeRole' },
            ],
          }),
        }),
      );
      const { Policy } = await iam.send(
        new CreatePolicyCommand({ PolicyName: `read-ingest-${nonce.slice(0, 8)}`, PolicyDocument: readIngest }),
      );
      await iam.send(new AttachRolePolicyCommand({ RoleName: ADMIN_ROLE, PolicyArn: Policy!.Arn! }));
      const { Credentials } = await sts.send(
        new AssumeRoleCommand({ RoleArn: `arn:aws:iam::000000000000:role/${ADMIN_ROLE}`, RoleSessionName: 'e2e' }),
      );
      admin = createE2eClients(ctx.guardedEndpoint, {
        caFile: ctx.guardedCaFile,
        credentials: {
          accessKeyId: Credentials!.AccessKeyId!,
          secretAccessKey: Credentials!.SecretAccessKey!,
          sessionToken: Credentials!.SessionToken!,
        },
      });
      // An uploader whose own policy lets it write objects and their tags: only the bucket policy stops it.
      const uploaderName = `uploader-${nonce.slice(0, 8)}`;
      await iam.send(new CreateUserCommand({ UserName: uploaderName }));
      await iam.send(
        new PutUserPolicyCommand({
          UserName: uploaderName,
          PolicyName: 'write-ingest',
          PolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Action: ['s3:PutObject', 's3:PutObjectTagging', 's3:GetObject', 's3:GetObjectTagging'],
                Resource: `arn:aws:s3:::${ctx.guardedStack.ingestBucket}/*`,
              },
            ],
          }),
        }),
      );
      const uploaderKey = (await iam.send(new CreateAccessKeyCommand({ UserName: uploaderName }))).AccessKey!;
      uploader = createE2eClients(ctx.guardedEndpoint, {
        caFile: ctx.guardedCaFile,
        credentials: { accessKeyId: uploaderKey.AccessKeyId!, secretAccessKey: uploaderKey.SecretAccessKey! },
      });
      iam.destroy();
      sts.destroy();
    });

    afterAll(() => {
      for (const clients of [root, analyst, admin, uploader]) if (clients) destroyE2eClients(clients);
    });

    it('moves a malicious upload into the quarantine bucket with its content and verdict tags, and out of the ingest bucket', async () => {
      const file = sample('invoice.js', '// SANDTRAP-TEST-MALICIOUS');
      const document = await submitAndWait(file, 'e2e/actions/');
      expect(document).toMatchObject({
        bucket: ctx.guardedStack.ingestBucket,
        key: `e2e/actions/${basename(file)}`,
        verdict: 'malicious',
      });
      const quarantined = document.quarantinedTo;
      expect(quarantined, 'the verdict names where the object went').toBeDefined();
      expect(quarantined?.bucket).not.toBe(ctx.guardedStack.ingestBucket);
      expect(quarantined?.key).toBe(document.key);

      // Gone from the ingest bucket: the analysed version no longer exists there.
      await expect(
        root.s3.send(
          new HeadObjectCommand({
            Bucket: document.bucket,
            Key: document.key,
            VersionId: document.versionId ?? undefined,
          }),
        ),
      ).rejects.toMatchObject({
        $metadata: { httpStatusCode: expect.any(Number) },
      });
      // In quarantine: the same bytes, tagged with the verdict.
      const object = await root.s3.send(
        new GetObjectCommand({
          Bucket: quarantined?.bucket,
          Key: quarantined?.key,
          VersionId: quarantined?.versionId ?? undefined,
        }),
      );
      const bytes = Buffer.from(await object.Body!.transformToByteArray());
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(
        createHash('sha256').update(readFileSync(file)).digest('hex'),
      );
      const { TagSet = [] } = await root.s3.send(
        new GetObjectTaggingCommand({
          Bucket: quarantined?.bucket,
          Key: quarantined?.key,
          VersionId: quarantined?.versionId ?? undefined,
        }),
      );
      expect(Object.fromEntries(TagSet.map((t) => [t.Key, t.Value]))).toMatchObject({
        [TAG_VERDICT]: 'malicious',
        [TAG_SCORE]: String(document.score),
      });
    });

    it('denies a non-admin principal reading an object until it is verdicted benign, and a suspicious one after its verdict; the admin role reads', async () => {
      const bucket = ctx.guardedStack.ingestBucket;
      // Read right after its upload: no verdict can be there yet (its analysis takes several vendor polls).
      const unverdicted = `e2e/unverdicted/${nonce}.txt`;
      await root.s3.send(new PutObjectCommand({ Bucket: bucket, Key: unverdicted, Body: `never analysed ${nonce}\n` }));
      expect(await readStatus(analyst, bucket, unverdicted)).toBe(403);

      const benign = await submitAndWait(sample('minutes.txt', 'minutes of the weekly meeting'), 'e2e/blocking/');
      const suspicious = await submitAndWait(sample('macro.txt', 'SANDTRAP-TEST-SUSPICIOUS'), 'e2e/blocking/');
      expect(benign.verdict).toBe('benign');
      expect(suspicious.verdict).not.toBe('benign');
      // The verdict tag opens the benign object to the same principal; the suspicious one stays closed.
      expect(await readStatus(analyst, bucket, benign.key)).toBe(200);
      expect(await readStatus(analyst, bucket, suspicious.key)).toBe(403);
      // The admin role (through an assumed-role session) and the account's pipeline are exempt.
      expect(await readStatus(admin, bucket, suspicious.key)).toBe(200);
    });

    it('denies an uploader tagging its own object benign: the object stays blocked', async () => {
      const bucket = ctx.guardedStack.ingestBucket;
      const key = `e2e/forged/${nonce}.txt`;
      await uploader.s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: `SANDTRAP-TEST-SUSPICIOUS ${nonce}\n` }),
      );
      await expect(
        uploader.s3.send(
          new PutObjectTaggingCommand({
            Bucket: bucket,
            Key: key,
            Tagging: { TagSet: [{ Key: TAG_VERDICT, Value: 'benign' }] },
          }),
        ),
      ).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
      const { TagSet = [] } = await root.s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
      expect(TagSet.find((t) => t.Key === TAG_VERDICT)?.Value).not.toBe('benign');
      expect(await readStatus(analyst, bucket, key)).toBe(403);
      expect(await readStatus(uploader, bucket, key)).toBe(403);
    });

    it('keeps all ten of an object’s own tags; its record says it carries no verdict tag, and it stays blocked', async () => {
      const bucket = ctx.guardedStack.ingestBucket;
      const key = `e2e/ten-tags/${nonce}.txt`;
      const owners = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`team-${i}`, `v${i}`]));
      const put = await root.s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: `minutes of the weekly meeting ${nonce}\n`,
          Tagging: new URLSearchParams(owners).toString(),
        }),
      );
      // The upload's terminal record. MiniStack's events carry no version id, so the pipeline keys the
      // record by S3's sequencer and Triage writes the alias (key and ETag to upload id) that finds it.
      const store = new VerdictStore(root.ddb, ctx.guardedStack.table);
      const etag = put.ETag!.replace(/"/g, '');
      let record: Record<string, unknown> | undefined;
      for (let i = 0; i < 120; i++) {
        const alias = await store.getUploadAlias({ bucket, key, etag });
        for (const uploadId of [put.VersionId, alias?.uploadId])
          if (uploadId) record = (await store.getObjectRecord({ bucket, key, uploadId })) ?? record;
        if (record?.status === 'verdict' || record?.status === 'failed') break;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
      expect(record).toMatchObject({
        status: 'verdict',
        verdict: 'benign',
        tagging: { status: 'untagged', reason: 'tag-limit' },
      });
      const { TagSet = [] } = await root.s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
      expect(Object.fromEntries(TagSet.map((t) => [t.Key, t.Value]))).toEqual(owners);
      // Benign, but the object does not say so: read-blocking keeps it closed rather than guess.
      expect(await readStatus(analyst, bucket, key)).toBe(403);
    }, 180_000);
  },
);
