import { Aspects, type Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import cdkNag from 'cdk-nag';

interface NagSuppression {
  id: string;
  reason: string;
}

/** Runs cdk-nag's AwsSolutions pack on a stack and returns what it found unsuppressed, one line a finding. */
export function unsuppressedNagFindings(stack: Stack): string[] {
  Aspects.of(stack).add(new cdkNag.AwsSolutionsChecks({ verbose: true }));
  const annotations = Annotations.fromStack(stack);
  return [
    ...annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
    ...annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
  ].map((f) => `${f.id}: ${String(f.entry.data).split('\n')[0]}`);
}

/** Every cdk-nag suppression of a stack, those on the stack and those on its resources. */
export function nagSuppressions(stack: Stack): NagSuppression[] {
  const onStack =
    (stack.templateOptions.metadata?.cdk_nag as { rules_to_suppress: NagSuppression[] } | undefined)
      ?.rules_to_suppress ?? [];
  const resources = (
    Template.fromStack(stack).toJSON() as {
      Resources: Record<string, { Metadata?: { cdk_nag?: { rules_to_suppress: NagSuppression[] } } }>;
    }
  ).Resources;
  return [...onStack, ...Object.values(resources).flatMap((r) => r.Metadata?.cdk_nag?.rules_to_suppress ?? [])];
}
