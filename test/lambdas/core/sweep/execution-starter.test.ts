import { describe, expect, it } from 'vitest';
import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { StepFunctionsStarter } from '../../../../lambdas/core/sweep/execution-starter';

const ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:Analysis';

/** An SFN client that records StartExecution calls and answers with `answer`. */
function sfn(answer: () => Promise<unknown>) {
  const sent: StartExecutionCommand[] = [];
  const client = {
    async send(command: StartExecutionCommand) {
      sent.push(command);
      return answer();
    },
  };
  return { client: client as unknown as SFNClient, sent };
}

describe('StepFunctionsStarter', () => {
  it('starts a named execution of the state machine with the input as JSON', async () => {
    const { client, sent } = sfn(async () => ({ executionArn: 'arn:x' }));
    expect(await new StepFunctionsStarter(ARN, client).startExecution('redrive-1', { a: [1] })).toBe('started');
    expect(sent).toHaveLength(1);
    expect(sent[0]).toBeInstanceOf(StartExecutionCommand);
    expect(sent[0]?.input).toEqual({ stateMachineArn: ARN, name: 'redrive-1', input: '{"a":[1]}' });
  });

  it('answers exists when the name was used before', async () => {
    const { client } = sfn(() => Promise.reject(Object.assign(new Error('used'), { name: 'ExecutionAlreadyExists' })));
    expect(await new StepFunctionsStarter(ARN, client).startExecution('redrive-1', {})).toBe('exists');
  });

  it('passes every other error on', async () => {
    const { client } = sfn(() =>
      Promise.reject(Object.assign(new Error('slow down'), { name: 'ThrottlingException' })),
    );
    await expect(new StepFunctionsStarter(ARN, client).startExecution('redrive-1', {})).rejects.toMatchObject({
      name: 'ThrottlingException',
    });
  });
});
