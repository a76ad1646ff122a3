import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { prepareWorkRoot } from '../../container/agent/detonate';
import { leaseSandboxUser } from '../../container/agent/sandbox-user';

describe('the work root', () => {
  let dir = '';
  afterEach(() => rm(dir, { recursive: true, force: true }));

  // On a fresh host the uid lock directory was made first, with its parent at 0700: every sample
  // then failed to enter its home (`Permission denied`) and each run ended `error`.
  it('is traversable for the sandbox user even when a uid lock created it first', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sandtrap-root-'));
    const root = join(dir, 'work');
    const lease = await leaseSandboxUser(join(root, 'uids'));
    await lease.release();
    expect((await stat(root)).mode & 0o777).toBe(0o700);
    await prepareWorkRoot(root);
    expect((await stat(root)).mode & 0o777).toBe(0o711);
    expect((await stat(join(root, 'uids'))).mode & 0o777).toBe(0o700);
  });
});
