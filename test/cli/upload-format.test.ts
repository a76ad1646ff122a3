import { describe, expect, it } from 'vitest';
import { formatSubmissions, ProgressBar, progressLine, submissionJson } from '../../cli/upload-format';
import { SHA } from '../deployed/fakes';

describe('upload output', () => {
  it('draws the progress bar in place on a terminal and only start and end elsewhere', () => {
    expect(progressLine('a.bin', 512, 1024)).toBe('a.bin  [############------------]  50%  512 B / 1.0 KB');
    const tty: string[] = [];
    let now = 0;
    const bar = new ProgressBar({ write: (t) => tty.push(String(t)), isTTY: true }, 'a.bin', () => now);
    bar.update(0, 2048);
    now += 10;
    bar.update(1024, 2048);
    now += 200;
    bar.update(2048, 2048);
    bar.finish();
    expect(tty).toEqual([
      '\ra.bin  [------------------------]   0%  0 B / 2.0 KB',
      '\ra.bin  [########################] 100%  2.0 KB / 2.0 KB',
      '\n',
    ]);
    const log: string[] = [];
    const plain = new ProgressBar({ write: (t) => log.push(String(t)) }, 'a.bin');
    for (const sent of [0, 1024, 2048]) plain.update(sent, 2048);
    expect(log).toEqual(['a.bin: uploading 2.0 KB\n', 'a.bin: uploaded 2.0 KB\n']);
  });

  it('prints each upload with its key and version', () => {
    const json = { file: 'x.bin', bucket: 'ingest', key: 'in/x.bin', versionId: 'v9', size: 2048, sha256: SHA };
    const submission = { ...json, startedAt: new Date() };
    expect(formatSubmissions([submission])).toBe(
      `FILE   KEY                   VERSION  SIZE    SHA256\nx.bin  s3://ingest/in/x.bin  v9       2.0 KB  ${SHA}\n`,
    );
    // The JSON line is the upload but for when it started.
    expect(submissionJson(submission)).toEqual(json);
  });
});
