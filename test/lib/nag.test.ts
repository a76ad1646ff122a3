import { describe, expect, it } from 'vitest';
import { App, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { SandtrapConfigInput } from '../../lib/config';
import { SandtrapStack } from '../../lib/sandtrap-stack';
import { nagSuppressions, unsuppressedNagFindings } from './nag';

const cape = { id: 'cape' as const, baseUrl: 'https://cape.example.org/apiv2/' };

/** The documented configurations (README, "Deploying"), each checked on its own. */
const CONFIGURATIONS: [string, SandtrapConfigInput][] = [
  ['a vendor, detonation and the static engine (defaults)', { settings: { vendors: [cape] } }],
  [
    'quarantine and read-blocking on',
    {
      settings: { vendors: [cape] },
      actions: {
        quarantine: { enabled: true },
        readBlocking: { enabled: true, adminRoleArns: ['arn:aws:iam::123456789012:role/admin'] },
      },
    },
  ],
  [
    "user rule packs in the user's own bucket and prefix",
    { settings: { static: { rulePacks: { bucket: 'acme-security-rules', prefix: 'yara/sandtrap/' } } } },
  ],
  [
    'the detonation task on Fargate Spot, on-demand when interrupted',
    { settings: { vendors: [cape] }, detonationTask: { capacity: 'spot' } },
  ],
  [
    'static engine and detonation off',
    { settings: { vendors: [cape], static: { enabled: false }, detonation: { enabled: false } } },
  ],
  [
    "the account's own buckets as sources: one SSE-KMS with prefixes and confidential, under read-blocking",
    {
      settings: { vendors: [cape] },
      actions: { readBlocking: { enabled: true } },
      sources: [
        {
          bucket: 'acme-mail-attachments',
          prefixes: ['inbound/', 'review/'],
          kmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
          confidential: true,
          readBlockingAppliedByOwner: true,
        },
        { bucket: 'acme-build-artefacts', readBlockingAppliedByOwner: true },
      ],
    },
  ],
  [
    'disclosure rules: a confidential source that reaches no vendor',
    { settings: { vendors: [cape], sources: [{ prefix: 'hr/', confidential: true }] } },
  ],
];

describe('cdk-nag AwsSolutions', () => {
  it.each(CONFIGURATIONS)('%s: no unsuppressed finding, and every suppression has a reason', (_, config) => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new SandtrapStack(app, 'Sandtrap', { config });
    expect(unsuppressedNagFindings(stack)).toEqual([]);
    const suppressions = nagSuppressions(stack);
    expect(suppressions.length).toBeGreaterThan(0);
    for (const s of suppressions) expect(s.reason.length, s.id).toBeGreaterThan(40);
  });

  it("the app's own event bus, log retention and KMS key: no unsuppressed finding", () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const shared = new Stack(app, 'Shared');
    const bus = events.EventBus.fromEventBusArn(
      shared,
      'SecurityBus',
      'arn:aws:events:us-east-1:123456789012:event-bus/security-events',
    );
    const stack = new SandtrapStack(app, 'Sandtrap', {
      config: { settings: { vendors: [cape] } },
      eventBus: bus,
      logRetention: logs.RetentionDays.ONE_YEAR,
      encryptionKey: new kms.Key(shared, 'DataKey', { enableKeyRotation: true }),
    });
    expect(unsuppressedNagFindings(stack)).toEqual([]);
  });
});
