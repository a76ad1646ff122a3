import { describe, expect, it } from 'vitest';
import { App } from 'aws-cdk-lib';
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
});
