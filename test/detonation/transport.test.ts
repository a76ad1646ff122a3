import { createHash } from 'node:crypto';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { downloadSample, TransferError, uploadReport } from '../../container/agent/fetch';
import type { DetonationReport } from '../../lambdas/core/contracts/detonation-report';

// The boxed detonators (host namespaces, Docker with no network) hand the agent files, not URLs.
describe('the agent transport over file: URLs', () => {
  afterEach(() => {
    delete process.env.ECS_CONTAINER_METADATA_URI_V4;
  });

  it('copies the sample with its digest and writes the report as JSON, both mode 0600', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'transport-'));
    const body = Buffer.from('#!/bin/sh\necho hello\n');
    await writeFile(join(dir, 'in'), body);
    const got = await downloadSample(pathToFileURL(join(dir, 'in')).href, join(dir, 'sample'), 1024);
    expect(got).toEqual({ sha256: createHash('sha256').update(body).digest('hex'), size: body.length });
    expect((await stat(join(dir, 'sample'))).mode & 0o777).toBe(0o600);
    await uploadReport(pathToFileURL(join(dir, 'report.json')).href, { status: 'completed' } as DetonationReport);
    expect(JSON.parse(await readFile(join(dir, 'report.json'), 'utf8'))).toEqual({ status: 'completed' });
  });

  it('refuses a sample over the size limit and file: URLs on AWS', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'transport-'));
    await writeFile(join(dir, 'in'), Buffer.alloc(2048));
    const url = pathToFileURL(join(dir, 'in')).href;
    await expect(downloadSample(url, join(dir, 'a'), 1024)).rejects.toBeInstanceOf(TransferError);
    process.env.ECS_CONTAINER_METADATA_URI_V4 = 'http://169.254.170.2/v4/x';
    await expect(downloadSample(url, join(dir, 'b'), 4096)).rejects.toThrow('refused on AWS');
  });
});
