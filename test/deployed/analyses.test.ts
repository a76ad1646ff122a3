import { describe, expect, it } from 'vitest';
import {
  isEventOf,
  reanalysisEvent,
  reanalysisName,
  waitForAnalysis,
  type AnalysisTarget,
} from '../../deployed/analyses';
import { type Call, fakeClients, SHA, STACK } from './fakes';

describe('waiting for an analysis', () => {
  const upload: AnalysisTarget = {
    bucket: 'ingest',
    key: 'mail/invoice.js',
    versionId: 'v1',
    etag: '"e1"',
    uploadIds: ['v1'],
    startedAt: new Date('2026-11-22T17:00:00Z'),
  };
  const terminal = {
    bucket: 'ingest',
    key: 'mail/invoice.js',
    versionId: 'v1',
    status: 'verdict',
    sha256: SHA,
    verdict: 'malicious',
    score: 92,
    cached: false,
    at: 1,
  };
  const instant = { sleep: async () => undefined, pollMs: 1 };

  it('ends when the record of the upload says verdict', async () => {
    let polls = 0;
    const clients = fakeClients({
      GetCommand: () => ({
        Item: ++polls < 3 ? { ...terminal, status: 'analyzing' } : { ...terminal, uploadId: 'v1' },
      }),
    });
    expect(await waitForAnalysis(clients, STACK, upload, { timeoutMs: 60_000, ...instant })).toEqual({
      status: 'verdict',
      record: { ...terminal, uploadId: 'v1' },
    });
  });

  it('follows the execution of the upload when the event keyed the record by sequencer (no version-id in the event)', async () => {
    const calls: Call[] = [];
    const event = {
      'detail-type': 'Object Created',
      source: 'aws.s3',
      detail: { bucket: { name: 'ingest' }, object: { key: 'mail/invoice.js', etag: 'e1', sequencer: '0066' } },
    };
    const clients = fakeClients(
      {
        GetCommand: (input) => ({
          Item: (input.Key as { pk: string }).pk.endsWith('#0066') ? { ...terminal, uploadId: '0066' } : undefined,
        }),
        ListExecutionsCommand: () => ({
          executions: [
            { executionArn: 'arn:x:other', startDate: new Date('2026-11-22T17:00:01Z') },
            { executionArn: 'arn:x:mine', startDate: new Date('2026-11-22T17:00:01Z') },
          ],
        }),
        DescribeExecutionCommand: (input) =>
          input.executionArn === 'arn:x:mine'
            ? { status: 'RUNNING', input: JSON.stringify(event) }
            : {
                status: 'SUCCEEDED',
                input: JSON.stringify({ ...event, detail: { ...event.detail, object: { key: 'other' } } }),
              },
      },
      calls,
    );
    const end = await waitForAnalysis(clients, STACK, upload, { timeoutMs: 60_000, ...instant });
    expect(end).toMatchObject({ status: 'verdict', record: { uploadId: '0066' } });
    expect(calls.filter((c) => c.command === 'DescribeExecutionCommand')).toHaveLength(2);
  });

  it("follows Triage's alias of an upload recorded by sequencer, ignoring an alias older than the upload", async () => {
    const calls: Call[] = [];
    const started = upload.startedAt.getTime();
    for (const [aliasAt, found] of [
      [started + 2_000, true],
      [started - 3_600_000, false],
    ] as const) {
      const clients = fakeClients(
        {
          GetCommand: (input) => {
            const pk = (input.Key as { pk: string }).pk;
            if (pk === 'ALIAS#ingest/mail/invoice.js#e1') return { Item: { uploadId: '0066', at: aliasAt } };
            return { Item: pk.endsWith('#0066') ? { ...terminal, uploadId: '0066' } : undefined };
          },
          ListExecutionsCommand: () => ({ executions: [] }),
        },
        calls,
      );
      const end = await waitForAnalysis(clients, STACK, upload, { timeoutMs: 50, ...instant });
      if (found) expect(end).toMatchObject({ status: 'verdict', record: { uploadId: '0066' } });
      else expect(end).toMatchObject({ status: 'timeout', started: false });
    }
  });

  it('fails when the execution ended without a terminal record', async () => {
    const clients = fakeClients({
      GetCommand: () => ({}),
      DescribeExecutionCommand: () => ({
        status: 'FAILED',
        name: 'reanalyze-x',
        error: 'ObjectNotFound',
        cause: 's3://ingest/mail/invoice.js no longer exists',
        stopDate: new Date(5),
      }),
    });
    const end = await waitForAnalysis(
      clients,
      STACK,
      { ...upload, uploadIds: ['reanalysis:reanalyze-x'], executionArn: 'arn:x:reanalyze-x' },
      { timeoutMs: 60_000, ...instant },
    );
    expect(end).toEqual({
      status: 'failed',
      reason: 'ObjectNotFound',
      error: 'execution reanalyze-x ended FAILED: s3://ingest/mail/invoice.js no longer exists',
      at: 5,
    });
  });

  it('gives up at the deadline, telling once that nothing has started', async () => {
    let now = 0;
    const told: string[] = [];
    const clients = fakeClients({ GetCommand: () => ({}), ListExecutionsCommand: () => ({ executions: [] }) });
    const end = await waitForAnalysis(clients, STACK, upload, {
      timeoutMs: 120_000,
      notStartedAfterMs: 60_000,
      onNotStarted: (m) => told.push(m),
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    });
    expect(end).toEqual({ status: 'timeout', waitedMs: 120_000, started: false });
    expect(told).toEqual([
      expect.stringMatching(
        /^no analysis of s3:\/\/ingest\/mail\/invoice\.js has started after \d+ s \(is the key under the stack's ingest prefix\?\)$/,
      ),
    ]);
  });

  it('recognises the event of an upload by version or ETag, never a reanalysis', () => {
    const event = (object: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      JSON.stringify({
        'detail-type': 'Object Created',
        source: 'aws.s3',
        detail: { bucket: { name: 'ingest' }, object: { key: 'mail/invoice.js', ...object } },
        ...extra,
      });
    expect(isEventOf(event({ 'version-id': 'v1' }), upload)).toBeDefined();
    expect(isEventOf(event({ etag: 'e1' }), upload)).toBeDefined();
    expect(isEventOf(event({ etag: 'e2' }), upload)).toBeUndefined();
    expect(isEventOf(event({ 'version-id': 'v1' }, { sandtrap: { reanalyze: true } }), upload)).toBeUndefined();
    expect(isEventOf('not json', upload)).toBeUndefined();
  });

  it('names reanalysis executions within Step Functions limits', () => {
    const name = reanalysisName(SHA, new Date());
    expect(name).toMatch(/^reanalyze-a{16}-[0-9a-z]+-[0-9a-f]{8}$/);
    expect(name.length).toBeLessThanOrEqual(80);
    expect(() =>
      reanalysisEvent({ bucket: 'ingest', key: '', versionId: null }, 'eu-west-1', '1', new Date()),
    ).toThrow();
  });
});
