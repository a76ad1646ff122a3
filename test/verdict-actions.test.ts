import { describe, expect, it } from 'vitest';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { getObjectTags } from '../lambdas/core/store/objects';
import { DETAIL_TYPE_VERDICT, SampleVerdictDetailSchema, TAG_VERDICT } from '../lambdas/core/contracts/pipeline';
import { sessionsOfRoleArn } from '../lib/read-blocking';
import { SandtrapStack } from '../lib/sandtrap-stack';
import { CapeEmulator } from '../emulators/cape';
import { startVendorHarness } from './support';

const ADMIN = 'arn:aws:iam::123456789012:role/SecurityAnalyst';

describe('acting on verdicts', () => {
  it('names the sessions of an admin role by its name, without its path', () => {
    expect(sessionsOfRoleArn('arn:aws:iam::123456789012:role/soc/tier2/Analyst')).toBe(
      'arn:aws:sts::123456789012:assumed-role/Analyst/*',
    );
    expect(sessionsOfRoleArn('arn:aws-cn:iam::123456789012:role/Analyst')).toBe(
      'arn:aws-cn:sts::123456789012:assumed-role/Analyst/*',
    );
    expect(sessionsOfRoleArn('arn:aws:iam::123456789012:user/alice')).toBeUndefined();
  });

  it('denies reading unverdicted or non-benign objects to everyone but the pipeline and admin roles', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new SandtrapStack(app, 'Blocking', {
      config: { actions: { readBlocking: { enabled: true, adminRoleArns: [ADMIN] } } },
    });
    const policies = Object.values(Template.fromStack(stack).findResources('AWS::S3::BucketPolicy'));
    const deny = policies
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .find((s: { Sid?: string }) => s.Sid === 'DenyReadUntilVerdictBenign');
    expect(deny).toMatchObject({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: ['s3:GetObject', 's3:GetObjectVersion'],
    });
    expect(deny.Condition.StringNotEquals).toEqual({ 's3:ExistingObjectTag/sandtrap:verdict': 'benign' });
    const allowed = deny.Condition.ArnNotLike['aws:PrincipalArn'] as unknown[];
    expect(allowed).toContain(ADMIN);
    // The role's sessions too, for emulators that evaluate aws:PrincipalArn as the session's ARN.
    expect(allowed).toContain('arn:aws:sts::123456789012:assumed-role/SecurityAnalyst/*');
    // Every pipeline function's role and its sessions may still read (Triage hashes, vendors stream, detonation presigns).
    const functions = Object.keys(stack.workflow.functions).length;
    const tokens = allowed.filter((a) => typeof a === 'object').map((a) => JSON.stringify(a));
    expect(tokens.filter((t) => t.includes('"Arn"'))).toHaveLength(functions);
    expect(tokens.filter((t) => t.includes(':assumed-role/'))).toHaveLength(functions);
  });

  describe('quarantine, through the local state machine', () => {
    it('moves a malicious object, with its tags, to the quarantine bucket and says where in the event', async () => {
      const q = await startVendorHarness(
        (clock) => new CapeEmulator({ clock, queueSeconds: 5, processingSeconds: 10 }),
        {},
        {},
        {},
        { actions: { quarantine: { enabled: true } } },
      );
      try {
        const quarantine = q.pipeline.plan.buckets.all.find((b) => b.includes('quarantine'));
        expect(quarantine).toBeDefined();
        const bad = await q.pipeline.upload({ key: 'mail/bad.js', body: '// SANDTRAP-TEST-MALICIOUS' });
        const good = await q.pipeline.upload({ key: 'mail/good.js', body: '// nothing to see' });
        await q.pipeline.run(bad);
        await q.pipeline.run(good);
        const details = q.pipeline.events(DETAIL_TYPE_VERDICT).map((e) => SampleVerdictDetailSchema.parse(e.detail));
        const badDetail = details.find((d) => d.key === 'mail/bad.js');
        expect(badDetail).toMatchObject({
          verdict: 'malicious',
          quarantinedTo: { bucket: quarantine, key: 'mail/bad.js' },
        });
        expect(details.find((d) => d.key === 'mail/good.js')?.quarantinedTo).toBeUndefined();
        const s3 = q.pipeline.clients.s3;
        await expect(
          s3.send(new HeadObjectCommand({ Bucket: q.pipeline.plan.buckets.ingest, Key: 'mail/bad.js' })),
        ).rejects.toMatchObject({ name: 'NotFound' });
        expect((await getObjectTags(s3, { bucket: quarantine as string, key: 'mail/bad.js' }))[TAG_VERDICT]).toBe(
          'malicious',
        );
        await expect(
          s3.send(new HeadObjectCommand({ Bucket: q.pipeline.plan.buckets.ingest, Key: 'mail/good.js' })),
        ).resolves.toBeDefined();
      } finally {
        await q.stop();
      }
    }, 120_000);
  });
});
