import { describe, expect, it } from 'vitest';
import { documentOf, failureOf } from '../../cli/outcome';
import type { ObjectStatus } from '../../deployed/analyses';
import { DOCUMENT, fakeClients, objectBody, RECORD, sdkError, SHA, STACK, VERDICT_ITEM } from '../deployed/fakes';

describe('how a deployed analysis ended', () => {
  it('explains a wait that ended without a verdict', () => {
    const object = { bucket: 'ingest', key: 'k', versionId: 'v1', sha256: SHA };
    expect(failureOf({ status: 'timeout', waitedMs: 90_400, started: true }, object, 0)).toEqual({
      ...object,
      reason: 'Timeout',
      error: `no verdict after 90 s; the analysis is still running (see later with \`sandtrap status ${SHA}\`)`,
      failedAt: '1970-01-01T00:00:00.000Z',
    });
    expect(failureOf({ status: 'timeout', waitedMs: 5_000, started: false }, object, 0).error).toBe(
      "no analysis started within 5 s (is the key under the stack's ingest prefix?)",
    );
    expect(
      failureOf({ status: 'failed', reason: 'EmptyObject', error: 'the analysis failed (EmptyObject)', at: 0 }, object),
    ).toMatchObject({ reason: 'EmptyObject', failedAt: '1970-01-01T00:00:00.000Z' });
  });

  const record: ObjectStatus = {
    bucket: 'ingest',
    key: 'again/invoice.js',
    versionId: 'v2',
    uploadId: 'v2',
    status: 'verdict',
    sha256: SHA,
    cached: true,
    quarantinedTo: { bucket: 'quarantine', key: 'again/invoice.js', versionId: 'q1' },
    at: 1,
  };

  it("tells the content's verdict.json which upload it is about, and whether the verdict was cached", async () => {
    const stored = { ...DOCUMENT, quarantinedTo: { bucket: 'quarantine', key: 'mail/invoice.js', versionId: 'q0' } };
    const clients = fakeClients({ GetObjectCommand: () => objectBody(JSON.stringify(stored)) });
    expect(await documentOf(clients, STACK, { status: 'verdict', record })).toEqual({
      ...DOCUMENT,
      key: 'again/invoice.js',
      versionId: 'v2',
      cached: true,
      quarantinedTo: record.quarantinedTo,
    });
    const { quarantinedTo: _, ...notQuarantined } = record;
    expect(await documentOf(clients, STACK, { status: 'verdict', record: notQuarantined })).not.toHaveProperty(
      'quarantinedTo',
    );
  });

  it('falls back to the DynamoDB record where the reports bucket has no verdict.json', async () => {
    const clients = fakeClients({
      GetObjectCommand: () => Promise.reject(sdkError('NoSuchKey', 'The specified key does not exist.', 404)),
      GetCommand: () => ({ Item: VERDICT_ITEM }),
    });
    const document = await documentOf(clients, STACK, { status: 'verdict', record });
    expect(document).toMatchObject({ sha256: SHA, verdict: RECORD.verdict, key: 'again/invoice.js', cached: true });
  });

  it('refuses a verdict record without a sha256', async () => {
    const { sha256: _, ...noSha } = record;
    await expect(documentOf(fakeClients({}), STACK, { status: 'verdict', record: noSha })).rejects.toThrow(
      's3://ingest/again/invoice.js has a verdict but no sha256',
    );
  });
});
