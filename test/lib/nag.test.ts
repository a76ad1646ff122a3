import { describe, expect, it } from 'vitest';
import { App, Aspects } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import cdkNag from 'cdk-nag';
import { SandtrapStack } from '../../lib/sandtrap-stack';

describe('cdk-nag AwsSolutions', () => {
  it('reports no unsuppressed finding on the full stack, and every suppression has a reason', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new SandtrapStack(app, 'Sandtrap', {
      config: { settings: { vendors: [{ id: 'cape', baseUrl: 'https://cape.example.org/apiv2/' }] } },
    });
    Aspects.of(stack).add(new cdkNag.AwsSolutionsChecks({ verbose: true }));
    const annotations = Annotations.fromStack(stack);
    const findings = [
      ...annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
      ...annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
    ];
    expect(findings.map((f) => `${f.id}: ${String(f.entry.data).split('\n')[0]}`)).toEqual([]);
    const suppressions =
      (stack.templateOptions.metadata?.cdk_nag as { rules_to_suppress: { id: string; reason: string }[] } | undefined)
        ?.rules_to_suppress ?? [];
    expect(suppressions.length).toBeGreaterThan(0);
    for (const s of suppressions) expect(s.reason.length, s.id).toBeGreaterThan(40);
  });
});
