import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/**
 * Kernel objects a sample leaves behind when it is killed: SysV shared memory, semaphores and
 * message queues, and the keys in its uid's keyrings. Killing every process does not free them;
 * they outlive the run and, since the next detonation may run as the same uid, the next sample
 * could read them. They are removed after each run (and before, in case an agent died mid-run).
 */

/** One SysV IPC object. */
export interface SysvObject {
  kind: 'shm' | 'sem' | 'msg';
  id: number;
  /** Resident bytes (shared memory) or queued bytes (message queues). */
  bytes: number;
  /** Processes attached (shared memory). */
  attached: number;
}

const IPCRM_FLAG: Record<SysvObject['kind'], string> = { shm: '-m', sem: '-s', msg: '-q' };
const ID_COLUMN: Record<SysvObject['kind'], string> = { shm: 'shmid', sem: 'semid', msg: 'msqid' };
const BYTES_COLUMN: Record<SysvObject['kind'], string | null> = { shm: 'rss', sem: null, msg: 'cbytes' };

function natural(text: string | undefined): number | null {
  return text !== undefined && /^\d{1,15}$/.test(text) ? Number(text) : null;
}

/**
 * The SysV objects of `uid` in this IPC namespace: owned or created by it (the owner can hand an
 * object to another uid with IPC_SET; the creator stays).
 */
export async function sysvObjectsOfUid(uid: number): Promise<SysvObject[]> {
  const out: SysvObject[] = [];
  for (const kind of ['shm', 'sem', 'msg'] as const) {
    let text: string;
    try {
      text = await readFile(`/proc/sysvipc/${kind}`, 'latin1');
    } catch {
      continue; // no SysV IPC in this kernel
    }
    const [header = '', ...rows] = text.split('\n');
    const columns = header.trim().split(/\s+/);
    const at = (name: string | null) => (name === null ? -1 : columns.indexOf(name));
    const [idAt, uidAt, cuidAt, bytesAt, attachedAt] = [
      at(ID_COLUMN[kind]),
      at('uid'),
      at('cuid'),
      at(BYTES_COLUMN[kind]),
      at('nattch'),
    ];
    for (const row of rows) {
      const fields = row.trim().split(/\s+/);
      const id = natural(fields[idAt]);
      if (id === null) continue;
      if (natural(fields[uidAt]) !== uid && natural(fields[cuidAt]) !== uid) continue;
      out.push({
        kind,
        id,
        bytes: bytesAt < 0 ? 0 : (natural(fields[bytesAt]) ?? 0),
        attached: attachedAt < 0 ? 0 : (natural(fields[attachedAt]) ?? 0),
      });
    }
  }
  return out;
}

function runQuietly(command: string, args: readonly string[]): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'ignore', env: { PATH: '/usr/bin:/bin' } });
    child.on('error', () => resolve(null));
    child.on('close', (code) => resolve(code));
  });
}

/**
 * Removes the uid's SysV objects; returns those still there afterwards (an attached segment goes
 * when its last process does, so this runs after the sweep).
 */
export async function removeSysvObjects(uid: number, ipcrm: string): Promise<SysvObject[]> {
  const objects = await sysvObjectsOfUid(uid);
  if (objects.length === 0) return [];
  // One ipcrm for all: it goes on past ids that vanished meanwhile.
  await runQuietly(
    ipcrm,
    objects.flatMap((o) => [IPCRM_FLAG[o.kind], String(o.id)]),
  );
  return sysvObjectsOfUid(uid);
}

/** keyctl's system call number per architecture (there is no wrapper in Node). */
const KEYCTL_SYSCALL: Partial<Record<NodeJS.Architecture, number>> = { x64: 250, arm64: 219 };
const KEYCTL_CLEAR = 7;
const KEY_SPEC_USER_KEYRING = -4;
const KEY_SPEC_USER_SESSION_KEYRING = -5;

/**
 * Empties the uid's user and user-session keyrings. They belong to the uid, not to a process, and
 * live on after every process of it has ended, so a key one sample adds there is readable by the
 * next sample run as that uid. Clearing needs the uid's own credentials: a short perl (the image
 * ships it for samples) calls keyctl(KEYCTL_CLEAR) as that uid. Returns false when it could not
 * (no perl, an unknown architecture, or keyctl refused, as Docker's default seccomp profile does,
 * which also keeps samples from using keyrings at all).
 */
export async function clearKeyrings(uid: number, setpriv: string, perl: string): Promise<boolean> {
  const nr = KEYCTL_SYSCALL[process.arch];
  if (nr === undefined) return false;
  const script = [KEY_SPEC_USER_KEYRING, KEY_SPEC_USER_SESSION_KEYRING]
    .map((ring) => `syscall(${nr}, ${KEYCTL_CLEAR}, ${ring}) == 0 or exit 1;`)
    .join(' ');
  const code = await runQuietly(setpriv, [
    `--reuid=${uid}`,
    `--regid=${uid}`,
    '--clear-groups',
    '--no-new-privs',
    '--',
    perl,
    '-e',
    script,
  ]);
  return code === 0;
}
