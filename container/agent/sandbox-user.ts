import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { processesOfUid } from './procfs';

/**
 * Sandbox uids. Each detonation needs a uid of its own: RLIMIT_NPROC counts every process of a uid,
 * and the final sweep kills every process of it, so two detonations sharing one would limit and
 * kill each other. In the Fargate task there is one detonation and the first uid is taken; on a
 * host running several (the tests, the local runtime) the lock directory hands out the others.
 */

/** The first sandbox uid (the image's `sandbox` user). */
export const FIRST_SANDBOX_UID = 10001;
/** How many sandbox uids there are, from FIRST_SANDBOX_UID on. */
export const SANDBOX_UID_SPAN = 64;

/** A uid held for one detonation. */
export interface SandboxUser {
  uid: number;
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the first free uid from FIRST_SANDBOX_UID on. A lock is a directory (mkdir is atomic) with
 * the owner's pid inside; a lock whose owner died is taken over.
 */
export async function leaseSandboxUser(lockDir: string): Promise<SandboxUser> {
  await mkdir(lockDir, { recursive: true, mode: 0o700 });
  for (let uid = FIRST_SANDBOX_UID; uid < FIRST_SANDBOX_UID + SANDBOX_UID_SPAN; uid++) {
    const lock = join(lockDir, String(uid));
    try {
      await mkdir(lock);
    } catch {
      const owner = Number(await readFile(join(lock, 'pid'), 'utf8').catch(() => 'NaN'));
      // No pid file yet: its owner is between mkdir and writeFile; leave it alone.
      if (Number.isNaN(owner) || alive(owner)) continue;
      await rm(lock, { recursive: true, force: true });
      try {
        await mkdir(lock);
      } catch {
        continue;
      }
    }
    await writeFile(join(lock, 'pid'), String(process.pid));
    // A uid whose last holder's processes are still there (even as zombies not yet reaped) is not
    // free: the kernel still counts them against RLIMIT_NPROC, and the next sample could not fork.
    if ((await processesOfUid(uid, { zombies: true })).length > 0) {
      await rm(lock, { recursive: true, force: true });
      continue;
    }
    return { uid, release: () => rm(lock, { recursive: true, force: true }) };
  }
  throw new Error(`no free sandbox uid in ${FIRST_SANDBOX_UID}..${FIRST_SANDBOX_UID + SANDBOX_UID_SPAN - 1}`);
}
