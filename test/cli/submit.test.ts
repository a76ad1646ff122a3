import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { humanBytes } from '../../cli/format';
import { submit } from '../../cli/commands/submit';
import { DEFAULT_WAIT_SECONDS } from '../../cli/stack-options';
import { type Call, connectWith, DOCUMENT, fakeClients, fakeS3, type S3Request, SHA, STACK } from '../deployed/fakes';
import { runCli, runCommand } from './fake-io';

const FILE = 'package.json';
const BYTES = readFileSync(FILE);
const FILE_SHA = createHash('sha256').update(BYTES).digest('hex');

/** A stack whose ingest bucket takes uploads and whose table answers each upload's record with `record`. */
function stackWith(record?: Record<string, unknown>) {
  const objects = new Map([[`reports/reports/${SHA}/verdict.json`, Buffer.from(JSON.stringify(DOCUMENT))]]);
  const requests: S3Request[] = [];
  const calls: Call[] = [];
  const clients = {
    ...fakeClients(
      {
        GetCommand: () => ({
          Item: record && { bucket: STACK.ingestBucket, key: `in/${FILE}`, versionId: 'v1', at: 7, ...record },
        }),
      },
      calls,
    ),
    s3: fakeS3(objects, requests),
  };
  const closed = { count: 0 };
  return { connect: connectWith(clients, [], closed), objects, requests, calls, closed };
}

describe('sandtrap submit', () => {
  it('uploads each file under the prefix and prints where it went, progress on stderr', async () => {
    const stack = stackWith();
    const result = await runCommand(submit, { files: [FILE], prefix: 'in/' }, { connect: stack.connect });
    expect(result.code).toBe(0);
    const [header, row, end] = result.stdout.split('\n');
    expect(header?.split(/\s+/)).toEqual(['FILE', 'KEY', 'VERSION', 'SIZE', 'SHA256']);
    expect(row?.split(/\s{2,}/)).toEqual([FILE, `s3://ingest/in/${FILE}`, 'v1', humanBytes(BYTES.length), FILE_SHA]);
    expect(end).toBe('');
    expect(result.stderr).toBe(
      `${FILE}: uploading ${humanBytes(BYTES.length)}\n${FILE}: uploaded ${humanBytes(BYTES.length)}\n`,
    );
    expect(stack.objects.get(`ingest/in/${FILE}`)).toEqual(BYTES);
    expect(stack.closed.count).toBe(1);
  });

  it('prints one JSON line per upload with --json, nothing on stderr with -q', async () => {
    const stack = stackWith();
    const result = await runCli(['submit', FILE, '--json', '-q'], { connect: stack.connect });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(result.stdout)).toEqual({
      file: FILE,
      bucket: 'ingest',
      key: FILE,
      versionId: 'v1',
      size: BYTES.length,
      sha256: FILE_SHA,
      etag: '"etag-1"',
    });
  });

  it('with --wait prints the verdict of each upload instead, exit 0', async () => {
    const stack = stackWith({ status: 'verdict', sha256: SHA, verdict: 'malicious', score: 92, cached: true });
    const result = await runCommand(
      submit,
      { files: [FILE], prefix: 'in/', wait: true, json: true },
      { connect: stack.connect },
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ file: FILE, ...DOCUMENT, key: `in/${FILE}`, cached: true });
    expect(result.stderr.split('\n')).toEqual([
      `${FILE}: uploading ${humanBytes(BYTES.length)}`,
      `${FILE}: uploaded ${humanBytes(BYTES.length)}`,
      `${FILE}: s3://ingest/in/${FILE} version v1 sha256 ${FILE_SHA}`,
      `waiting for the verdict (up to ${DEFAULT_WAIT_SECONDS} s)`,
      `${FILE}: malicious`,
      '',
    ]);
  });

  it('with --wait exits 2 and prints the failure when an analysis fails', async () => {
    const stack = stackWith({ status: 'failed', reason: 'EmptyObject' });
    const result = await runCommand(
      submit,
      { files: [FILE], prefix: 'in/', wait: true, quiet: true },
      { connect: stack.connect },
    );
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(new RegExp(`^FILE\\s+VERDICT.*\\n${FILE}\\s+FAILED\\s+-\\s+-\\s+-\\s+EmptyObject`));
    expect(result.stdout).toContain(`${FILE}: the analysis failed (EmptyObject)`);
    expect(result.stderr).toBe('');
  });

  it('rejects a missing file, a bad --timeout and an absolute --prefix before connecting', async () => {
    const seen: { stack?: string }[] = [];
    const connect = connectWith(fakeClients({}), seen);
    const error = async (args: string[]) => {
      const result = await runCli(args, { connect });
      expect(result.code).toBe(1);
      return result.stderr;
    };
    expect(await error(['submit', 'no-such-file.bin'])).toBe('sandtrap: no-such-file.bin: not a readable file\n');
    expect(await error(['submit', 'README.md', '--wait', '--timeout', '0'])).toBe(
      'sandtrap: --timeout must be a whole number of seconds from 1 to 86400, not "0"\n',
    );
    expect(await error(['submit', 'README.md', '--prefix', '/uploads/'])).toBe(
      'sandtrap: the prefix must not start with "/" (S3 keys have no leading slash)\n',
    );
    expect(seen).toEqual([]);
  });
});
