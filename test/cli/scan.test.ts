import { describe, expect, it } from 'vitest';
import { defaultStateFile, ScanOptionsSchema } from '../../cli/commands/scan';
import { connectWith, fakeClients } from '../deployed/fakes';
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
      'sandtrap: s3://someone-elses-bucket is not watched by stack Sandtrap (its bucket is ingest)',
    ]);
  });
});
