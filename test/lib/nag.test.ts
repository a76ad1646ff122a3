import { describe, expect, it } from 'vitest';
import { App } from 'aws-cdk-lib';
import { SandtrapStack } from '../../lib/sandtrap-stack';
import { nagSuppressions, unsuppressedNagFindings } from './nag';

describe('cdk-nag AwsSolutions', () => {
  it('reports no unsuppressed finding on the full stack, and every suppression has a reason', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new SandtrapStack(app, 'Sandtrap', {
      config: { settings: { vendors: [{ id: 'cape', baseUrl: 'https://cape.example.org/apiv2/' }] } },
    });
    expect(unsuppressedNagFindings(stack)).toEqual([]);
    const suppressions = nagSuppressions(stack);
    expect(suppressions.length).toBeGreaterThan(0);
    for (const s of suppressions) expect(s.reason.length, s.id).toBeGreaterThan(40);
  });
});
