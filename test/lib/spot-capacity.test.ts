import { describe, expect, it } from 'vitest';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { parseSandtrapConfig, type SandtrapConfigInput } from '../../lib/config';
import { SandtrapStack } from '../../lib/sandtrap-stack';
import { ECS_CAPACITY_ERRORS, ECS_SERVICE_ERRORS, STATES } from '../../lib/workflow';
import { allStates } from '../../local/definition';
import { type CfnTemplate, localPlanOf } from '../../local/template';

interface RunTaskState {
  Type: string;
  Resource: string;
  Next?: string;
  TimeoutSeconds?: number;
  Parameters: { LaunchType?: string; CapacityProviderStrategy?: unknown; PlatformVersion?: string };
  Retry?: { ErrorEquals: string[]; JitterStrategy?: string }[];
  Catch?: { ErrorEquals: string[]; Next: string; ResultPath?: string }[];
}

function synth(config: SandtrapConfigInput): { template: Template; states: Map<string, RunTaskState> } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const template = Template.fromStack(new SandtrapStack(app, 'Sandtrap', { config }));
  const states = allStates(localPlanOf(template.toJSON() as CfnTemplate).definition as never);
  return { template, states: states as unknown as Map<string, RunTaskState> };
}

describe('detonationTask.capacity in the configuration', () => {
  it('defaults to on-demand and accepts spot', () => {
    expect(parseSandtrapConfig({}).detonationTask.capacity).toBe('on-demand');
    expect(parseSandtrapConfig({ detonationTask: { imageUri: 'x' } }).detonationTask.capacity).toBe('on-demand');
    expect(parseSandtrapConfig({ detonationTask: { capacity: 'spot' } }).detonationTask.capacity).toBe('spot');
  });

  it('refuses any other capacity, naming the field', () => {
    for (const capacity of ['SPOT', 'fargate-spot', 'ondemand', 1])
      expect(() => parseSandtrapConfig({ detonationTask: { capacity } })).toThrow(/detonationTask\.capacity/);
  });
});

describe('the detonation task on Fargate Spot', () => {
  const spot = synth({ detonationTask: { capacity: 'spot' } });

  it('runs RunDetonation on the FARGATE_SPOT capacity provider, with no launch type', () => {
    const run = spot.states.get(STATES.runDetonation);
    expect(run).toMatchObject({ Resource: 'arn:aws:states:::ecs:runTask.sync', Next: STATES.collectDetonation });
    expect(run?.Parameters.CapacityProviderStrategy).toEqual([{ CapacityProvider: 'FARGATE_SPOT', Weight: 1 }]);
    expect(run?.Parameters).not.toHaveProperty('LaunchType');
    expect(run?.Parameters.PlatformVersion).toBe('1.4.0');
    expect(spot.states.get(STATES.prepareDetonation)?.Next).toBe(STATES.runDetonation);
  });

  it('retries only ECS service faults on Spot, and catches a failed run and no Spot capacity to the on-demand run, in $.spotAttempt', () => {
    const run = spot.states.get(STATES.runDetonation);
    expect(run?.Retry).toEqual([expect.objectContaining({ ErrorEquals: ECS_SERVICE_ERRORS })]);
    expect(run?.Catch).toEqual([
      {
        ErrorEquals: ['States.TaskFailed', ...ECS_CAPACITY_ERRORS],
        ResultPath: '$.spotAttempt',
        Next: STATES.prepareDetonationOnDemand,
      },
      // States.TaskFailed matches every error but a timeout, which ends the engine as failed.
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATES.engineFailed },
    ]);
  });

  it('prepares the on-demand run afresh (new URLs, nonce and report key in $.detonation), then runs it', () => {
    const prepare = spot.states.get(STATES.prepareDetonation);
    const again = spot.states.get(STATES.prepareDetonationOnDemand);
    expect(again).toMatchObject({ ResultPath: '$.detonation', Next: STATES.runDetonationOnDemand });
    expect(again?.Resource).toBe(prepare?.Resource);
    expect(again?.Parameters).toEqual(prepare?.Parameters);
    expect(again?.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATES.engineFailed }]);
  });

  it("runs RunDetonationOnDemand as today's task: Fargate launch type, capacity waits with jitter, then Collect; its failures end the engine", () => {
    const onDemand = spot.states.get(STATES.runDetonationOnDemand);
    expect(onDemand).toMatchObject({ Resource: 'arn:aws:states:::ecs:runTask.sync', Next: STATES.collectDetonation });
    expect(onDemand?.Parameters.LaunchType).toBe('FARGATE');
    expect(onDemand?.Parameters).not.toHaveProperty('CapacityProviderStrategy');
    expect(onDemand?.Retry).toEqual([
      expect.objectContaining({
        ErrorEquals: [...ECS_SERVICE_ERRORS, ...ECS_CAPACITY_ERRORS],
        IntervalSeconds: 30,
        JitterStrategy: 'FULL',
      }),
    ]);
    expect(onDemand?.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATES.engineFailed },
    ]);
    // The two runs differ in their capacity only: same task, cluster, network, overrides and timeout.
    const { CapacityProviderStrategy: _spot, ...spotParameters } = spot.states.get(STATES.runDetonation)!.Parameters;
    const { LaunchType: _onDemand, ...onDemandParameters } = onDemand!.Parameters;
    expect(spotParameters).toEqual(onDemandParameters);
    expect(onDemand?.TimeoutSeconds).toBe(spot.states.get(STATES.runDetonation)?.TimeoutSeconds);
  });

  it('associates the FARGATE and FARGATE_SPOT capacity providers with the cluster', () => {
    spot.template.hasResourceProperties('AWS::ECS::ClusterCapacityProviderAssociations', {
      CapacityProviders: ['FARGATE', 'FARGATE_SPOT'],
    });
  });

  it('grants the state machine nothing new: RunTask on the task definition, and StopTask and DescribeTasks', () => {
    const ecsActions = (template: Template) =>
      Object.values(template.findResources('AWS::IAM::Policy'))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[] }[])
        .flatMap((s) => [s.Action].flat())
        .filter((a) => a.startsWith('ecs:'))
        .sort();
    expect(ecsActions(spot.template)).toEqual(['ecs:DescribeTasks', 'ecs:RunTask', 'ecs:StopTask']);
  });

  it('leaves the on-demand workflow and cluster as they were without Spot', () => {
    const onDemand = synth({});
    const run = onDemand.states.get(STATES.runDetonation);
    expect(run?.Parameters.LaunchType).toBe('FARGATE');
    expect(run?.Parameters).not.toHaveProperty('CapacityProviderStrategy');
    expect(run?.Retry).toEqual([
      expect.objectContaining({ ErrorEquals: [...ECS_SERVICE_ERRORS, ...ECS_CAPACITY_ERRORS] }),
    ]);
    expect(run?.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATES.engineFailed }]);
    expect(onDemand.states.has(STATES.runDetonationOnDemand)).toBe(false);
    onDemand.template.resourceCountIs('AWS::ECS::ClusterCapacityProviderAssociations', 0);
    // Saying on-demand is the same as saying nothing.
    const said = synth({ detonationTask: { capacity: 'on-demand' } });
    expect(said.template.toJSON()).toEqual(onDemand.template.toJSON());
  });
});
