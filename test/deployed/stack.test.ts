import { describe, expect, it } from 'vitest';
import { NotASandtrapStackError, StackNotFoundError } from '../../deployed/errors';
import { findStack } from '../../deployed/stack';
import { fakeClients, sdkError, STACK } from './fakes';

describe('finding the stack', () => {
  const outputs = Object.entries({
    IngestBucketName: 'ingest',
    ReportsBucketName: 'reports',
    VerdictTableName: 'verdicts',
    StateMachineArn: STACK.stateMachineArn,
    FrontStateMachineArn: STACK.stateMachineArn.replace(':Analysis', ':Front'),
    VerdictBusName: 'sandtrap',
  }).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue }));

  it('reads the pipeline from the outputs', async () => {
    const clients = fakeClients({
      DescribeStacksCommand: () => ({ Stacks: [{ StackStatus: 'CREATE_COMPLETE', Outputs: outputs }] }),
    });
    expect(await findStack(clients, 'Sandtrap')).toEqual(STACK);
  });

  it('says the stack is not there, naming the region', async () => {
    const clients = fakeClients({
      DescribeStacksCommand: () =>
        Promise.reject(sdkError('ValidationError', 'Stack with id Sandtrap does not exist', 400)),
    });
    await expect(findStack(clients, 'Sandtrap')).rejects.toThrow(new StackNotFoundError('Sandtrap', 'eu-west-1'));
    await expect(findStack(clients, 'Sandtrap')).rejects.toThrow(
      'stack Sandtrap not found in eu-west-1 (deploy it with `npx cdk deploy`, or name it with --stack or SANDTRAP_STACK)',
    );
  });

  it('says which outputs a stack that is not Sandtrap lacks', async () => {
    const clients = fakeClients({
      DescribeStacksCommand: () => ({ Stacks: [{ StackStatus: 'UPDATE_COMPLETE', Outputs: outputs.slice(0, 2) }] }),
    });
    const error = await findStack(clients, 'Other').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotASandtrapStackError);
    expect((error as Error).message).toBe(
      'stack Other (UPDATE_COMPLETE) has no output VerdictTableName, StateMachineArn, FrontStateMachineArn, VerdictBusName: not a deployed Sandtrap stack',
    );
  });

  it('reads a stack without an ingest bucket of its own from the sources it lists, and refuses one with neither', async () => {
    const sources = [
      { bucket: 'team-uploads', prefixes: ['incoming/', 'mail/'] },
      { bucket: 'build-artefacts', prefixes: [''] },
    ];
    const withSources = [
      ...outputs.filter((o) => o.OutputKey !== 'IngestBucketName'),
      { OutputKey: 'SourceBuckets', OutputValue: JSON.stringify(sources) },
    ];
    const found = await findStack(
      fakeClients({
        DescribeStacksCommand: () => ({ Stacks: [{ StackStatus: 'CREATE_COMPLETE', Outputs: withSources }] }),
      }),
      'Sandtrap',
    );
    expect(found.ingestBucket).toBeUndefined();
    expect(found.sources).toEqual(sources);
    const neither = outputs.filter((o) => o.OutputKey !== 'IngestBucketName');
    const error = await findStack(
      fakeClients({
        DescribeStacksCommand: () => ({ Stacks: [{ StackStatus: 'CREATE_COMPLETE', Outputs: neither }] }),
      }),
      'Other',
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotASandtrapStackError);
    expect((error as Error).message).toContain('has no output IngestBucketName');
    const empty = [...neither, { OutputKey: 'SourceBuckets', OutputValue: '[]' }];
    await expect(
      findStack(
        fakeClients({
          DescribeStacksCommand: () => ({ Stacks: [{ StackStatus: 'CREATE_COMPLETE', Outputs: empty }] }),
        }),
        'Empty',
      ),
    ).rejects.toThrow('stack Empty: it has no ingest bucket and lists no source bucket, so nothing reaches it');
  });
});
