import { describe, expect, it } from 'vitest';
import { ObjectCreatedEventSchema } from '../../lambdas/core/contracts/pipeline';
import { reanalyze } from '../../cli/commands/reanalyze';
import {
  type Call,
  connectWith,
  DOCUMENT,
  fakeClients,
  type Handler,
  objectBody,
  SHA,
  STACK,
  VERDICT_ITEM,
} from '../deployed/fakes';
import { runCli, runCommand } from './fake-io';

/** The stack's answers to a reanalysis: the stored verdict, a started execution, then `status` for its record. */
function stackAnswering(record?: Record<string, unknown>): Record<string, Handler> {
  return {
    GetCommand: (input) =>
      (input.Key as { pk: string }).pk === `SAMPLE#${SHA}`
        ? { Item: VERDICT_ITEM }
        : {
            Item: record ? { bucket: 'ingest', key: 'mail/invoice.js', versionId: 'v1', at: 7, ...record } : undefined,
          },
    StartExecutionCommand: (input) => ({
      executionArn: `arn:aws:states:eu-west-1:123456789012:execution:Analysis:${String(input.name)}`,
      startDate: new Date(),
    }),
    GetObjectCommand: () => objectBody(JSON.stringify(DOCUMENT)),
    DescribeExecutionCommand: () => ({ status: 'RUNNING' }),
  };
}

describe('sandtrap reanalyze', () => {
  it('starts an execution with the Object Created event of the analysed upload plus sandtrap.reanalyze', async () => {
    const calls: Call[] = [];
    const result = await runCli(['reanalyze', SHA, '--json'], {
      connect: connectWith(fakeClients(stackAnswering(), calls)),
    });
    expect(result.code).toBe(0);
    const start = calls.find((c) => c.command === 'StartExecutionCommand')?.input as {
      stateMachineArn: string;
      name: string;
      input: string;
    };
    expect(start.stateMachineArn).toBe(STACK.stateMachineArn);
    const event = JSON.parse(start.input);
    expect(ObjectCreatedEventSchema.parse(event)).toMatchObject({
      detail: { bucket: { name: 'ingest' }, object: { key: 'mail/invoice.js', 'version-id': 'v1' } },
      sandtrap: { reanalyze: true },
    });
    expect(event).toMatchObject({
      source: 'aws.s3',
      'detail-type': 'Object Created',
      account: '123456789012',
      region: 'eu-west-1',
      resources: ['arn:aws:s3:::ingest'],
    });
    expect(JSON.parse(result.stdout)).toEqual({
      bucket: 'ingest',
      key: 'mail/invoice.js',
      versionId: 'v1',
      sha256: SHA,
      executionArn: expect.stringMatching(new RegExp(`:${start.name}$`)),
    });
  });

  it('says in a line which execution started, without --json', async () => {
    const result = await runCommand(
      reanalyze,
      { sha256: SHA },
      { connect: connectWith(fakeClients(stackAnswering())) },
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(
        `^reanalysis of ${SHA} started: arn:aws:states:eu-west-1:123456789012:execution:Analysis:reanalyze-\\S+\\n$`,
      ),
    );
    expect(result.stderr).toBe('');
  });

  it('with --wait prints the new verdict, exit 0', async () => {
    const calls: Call[] = [];
    const record = { status: 'verdict', sha256: SHA, verdict: 'malicious', score: 92, cached: false };
    const result = await runCommand(
      reanalyze,
      { sha256: SHA, wait: true, json: true },
      { connect: connectWith(fakeClients(stackAnswering(record), calls)) },
    );
    expect(result.code).toBe(0);
    // Every JSON line names what it is about: here the stored object reanalysed.
    expect(JSON.parse(result.stdout)).toEqual({
      file: `s3://${DOCUMENT.bucket}/${DOCUMENT.key}`,
      ...DOCUMENT,
      cached: false,
    });
    expect(result.stderr).toMatch(/^reanalysis started: arn:aws:states:\S+:reanalyze-\S+\n$/);
  });

  it('with --wait exits 2 and prints the failure when the analysis fails', async () => {
    const calls: Call[] = [];
    const record = { status: 'failed', reason: 'EmptyObject' };
    const result = await runCommand(
      reanalyze,
      { sha256: SHA, wait: true, json: true },
      { connect: connectWith(fakeClients(stackAnswering(record), calls)) },
    );
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toEqual({
      file: 's3://ingest/mail/invoice.js',
      failed: true,
      sha256: SHA,
      bucket: 'ingest',
      key: 'mail/invoice.js',
      versionId: 'v1',
      reason: 'EmptyObject',
      error: 'the analysis failed (EmptyObject)',
      failedAt: new Date(7).toISOString(),
    });
  });

  it('rejects a malformed sha256, then a bad --timeout, before connecting', async () => {
    const seen: { stack?: string }[] = [];
    const connect = connectWith(fakeClients({}), seen);
    expect(await runCommand(reanalyze, { sha256: 'abc123', wait: true, timeout: '0' }, { connect })).toEqual({
      code: 1,
      stdout: '',
      stderr: 'sandtrap: "abc123" is not a sha256 (64 hex digits)\n',
    });
    expect((await runCli(['reanalyze', SHA, '--wait', '--timeout', '1.5'], { connect })).stderr).toBe(
      'sandtrap: --timeout must be a whole number of seconds from 1 to 86400, not "1.5"\n',
    );
    expect(seen).toEqual([]);
  });
});
