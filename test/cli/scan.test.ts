import { describe, expect, it } from 'vitest';
import { defaultStateFile, ScanOptionsSchema } from '../../cli/commands/scan';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stackFromOutputs } from '../../deployed/stack';
import { connectWith, fakeClients, STACK } from '../deployed/fakes';
import { runCli } from './fake-io';

describe('sandtrap scan', () => {
  it('takes s3://bucket/prefix, a bounded rate and a maximum', () => {
    expect(ScanOptionsSchema.parse({ target: 's3://ingest/old/' })).toMatchObject({
      target: { bucket: 'ingest', prefix: 'old/' },
      rate: 10,
    });
    expect(ScanOptionsSchema.parse({ target: 's3://ingest', rate: '2.5', max: '40' })).toMatchObject({
      target: { bucket: 'ingest', prefix: '' },
      rate: 2.5,
      max: 40,
    });
    expect(ScanOptionsSchema.safeParse({ target: 'ingest/old' }).error?.issues[0]?.message).toBe(
      '"ingest/old" is not an s3://bucket/prefix URI',
    );
    expect(ScanOptionsSchema.safeParse({ target: 's3://ingest', rate: '500' }).error?.issues[0]?.message).toBe(
      '--rate is at most 100 analyses a second',
    );
    expect(ScanOptionsSchema.safeParse({ target: 's3://ingest', max: '0' }).success).toBe(false);
    // One state file per bucket and prefix.
    expect(defaultStateFile('ingest', 'old/')).toMatch(/^sandtrap-scan-ingest-[0-9a-f]{8}\.json$/);
    expect(defaultStateFile('ingest', 'old/')).not.toBe(defaultStateFile('ingest', 'new/'));
  });

  it('refuses a bucket the stack does not watch, in one line, before listing anything', async () => {
    const result = await runCli(['scan', 's3://someone-elses-bucket/'], { connect: connectWith(fakeClients({})) });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      'sandtrap: s3://someone-elses-bucket is not watched by stack Sandtrap (its buckets: ingest)',
    ]);
  });

  it('scans an attached source under its prefixes, and refuses a wider scan naming the prefixes', async () => {
    const stack = { ...STACK, sources: [...STACK.sources, { bucket: 'team-uploads', prefixes: ['incoming/'] }] };
    const listed: Record<string, unknown>[] = [];
    const clients = fakeClients({
      ListObjectsV2Command: (input) => {
        listed.push(input);
        return { Contents: [], IsTruncated: false };
      },
    });
    const connect = async () => ({ clients, stack, close: () => {} });
    const dir = mkdtempSync(join(tmpdir(), 'sandtrap-scan-'));
    const wide = await runCli(['scan', 's3://team-uploads/', '--state', join(dir, 'wide.json')], { connect });
    expect(wide.code).toBe(1);
    expect(wide.stderr.trim().split('\n')).toEqual([
      'sandtrap: s3://team-uploads/ is outside what stack Sandtrap analyses there: scan under s3://team-uploads/incoming/',
    ]);
    expect(listed).toEqual([]);
    const narrow = await runCli(['scan', 's3://team-uploads/incoming/2025/', '--state', join(dir, 'narrow.json')], {
      connect,
    });
    expect(narrow.code, narrow.stderr).toBe(0);
    expect(listed.map((i) => [i.Bucket, i.Prefix])).toEqual([['team-uploads', 'incoming/2025/']]);
  });
});

describe("a deployed stack's sources output", () => {
  const outputs = (extra: Record<string, string>) =>
    Object.entries({
      IngestBucketName: 'ingest',
      ReportsBucketName: 'reports',
      VerdictTableName: 'verdicts',
      StateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:A',
      FrontStateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:F',
      VerdictBusName: 'sandtrap',
      ...extra,
    }).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue }));

  it('lists every source, falls back to the ingest bucket for a stack that predates sources, and refuses a malformed list', () => {
    const sources = [
      { bucket: 'ingest', prefixes: [''] },
      { bucket: 'team-uploads', prefixes: ['incoming/'] },
    ];
    expect(
      stackFromOutputs('S', 'CREATE_COMPLETE', outputs({ SourceBuckets: JSON.stringify(sources) })).sources,
    ).toEqual(sources);
    expect(stackFromOutputs('S', 'CREATE_COMPLETE', outputs({})).sources).toEqual([
      { bucket: 'ingest', prefixes: [''] },
    ]);
    for (const bad of ['not json', '[{"bucket":"UPPER","prefixes":[""]}]', '[{"bucket":"ok-bucket","prefixes":[]}]'])
      expect(() => stackFromOutputs('S', 'CREATE_COMPLETE', outputs({ SourceBuckets: bad }))).toThrow(
        /^stack S: output SourceBuckets is not a list of source buckets/,
      );
  });
});
