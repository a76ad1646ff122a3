import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { GetBucketPolicyCommand, GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TAG_SCORE, TAG_VERDICT, VerdictDocumentSchema } from '../../lambdas/core/schemas';
import { createE2eClients, destroyE2eClients, type E2eClients } from './harness/aws';
import type { E2eContext } from './harness/context';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'sandtrap.mjs');
const provided = inject('e2e') as E2eContext | undefined;
const ctx = provided ?? ({} as E2eContext);

function sandtrap(args: string[], timeoutMs = 90_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...ctx.env }, timeout: timeoutMs }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

describe.skipIf(!provided)('verdict actions of a deployed stack with quarantine and read-blocking on (MiniStack)', () => {
  let clients: E2eClients;
  let maliciousFile: string;
  let content: Buffer;

  beforeAll(() => {
    clients = createE2eClients(ctx.endpoint);
    const nonce = randomUUID();
    maliciousFile = join(mkdtempSync(join(tmpdir(), 'sandtrap-e2e-actions-')), `invoice-${nonce.slice(0, 8)}.js`);
    writeFileSync(maliciousFile, `// SANDTRAP-TEST-MALICIOUS ${nonce}\nconsole.log('inert test marker');\n`);
    content = readFileSync(maliciousFile);
  });

  afterAll(() => destroyE2eClients(clients));

  it('moves a malicious upload into the quarantine bucket with its content and verdict tags, and out of the ingest bucket', async () => {
    const result = await sandtrap(['submit', maliciousFile, '--wait', '--json', '--prefix', 'e2e/actions/', '--stack', ctx.guardedStackName]);
    expect(result.code, result.stderr).toBe(0);
    const document = VerdictDocumentSchema.parse(JSON.parse(result.stdout.trim().split('\n')[0] ?? '{}'));
    expect(document).toMatchObject({ bucket: ctx.guardedStack.ingestBucket, key: `e2e/actions/${basename(maliciousFile)}`, verdict: 'malicious' });
    const quarantined = document.quarantinedTo;
    expect(quarantined, 'the verdict names where the object went').toBeDefined();
    expect(quarantined?.bucket).not.toBe(ctx.guardedStack.ingestBucket);
    expect(quarantined?.key).toBe(document.key);

    // Gone from the ingest bucket: the analysed version no longer exists there.
    await expect(clients.s3.send(new HeadObjectCommand({ Bucket: document.bucket, Key: document.key, VersionId: document.versionId ?? undefined }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: expect.any(Number) },
    });
    // In quarantine: the same bytes, tagged with the verdict.
    const object = await clients.s3.send(new GetObjectCommand({ Bucket: quarantined?.bucket, Key: quarantined?.key, VersionId: quarantined?.versionId ?? undefined }));
    const bytes = Buffer.from(await object.Body!.transformToByteArray());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(createHash('sha256').update(content).digest('hex'));
    const { TagSet = [] } = await clients.s3.send(new GetObjectTaggingCommand({ Bucket: quarantined?.bucket, Key: quarantined?.key, VersionId: quarantined?.versionId ?? undefined }));
    expect(Object.fromEntries(TagSet.map((t) => [t.Key, t.Value]))).toMatchObject({ [TAG_VERDICT]: 'malicious', [TAG_SCORE]: String(document.score) });
  });

  it('deploys the read-blocking bucket policy: no reads of ingest objects not tagged benign, except by the pipeline and the admin role', async () => {
    // Deployed, not enforced here: MiniStack applies bucket policies to callers of the bucket's own
    // account only under AUTH=true (see the README's e2e section).
    const { Policy } = await clients.s3.send(new GetBucketPolicyCommand({ Bucket: ctx.guardedStack.ingestBucket }));
    const statements = (JSON.parse(Policy ?? '{}') as { Statement: { Sid?: string; Effect: string; Action: string | string[]; Condition?: Record<string, Record<string, unknown>> }[] }).Statement;
    const blocking = statements.find((s) => s.Sid === 'DenyReadUntilVerdictBenign');
    expect(blocking).toMatchObject({ Effect: 'Deny', Action: expect.arrayContaining(['s3:GetObject', 's3:GetObjectVersion']) });
    expect(blocking?.Condition?.StringNotEquals).toEqual({ [`s3:ExistingObjectTag/${TAG_VERDICT}`]: 'benign' });
    expect(JSON.stringify(blocking?.Condition?.ArnNotLike)).toContain('arn:aws:iam::000000000000:role/e2e-admin');
  });
});
