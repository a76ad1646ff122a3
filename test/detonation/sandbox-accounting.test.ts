import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, link, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clearKeyrings, removeSysvObjects, sysvObjectsOfUid } from '../../container/agent/kernel-objects';
import { type MeterReading, limitsBroken } from '../../container/agent/sandbox-meter';
import { measureSandbox } from '../../container/agent/sandbox-usage';
import { leaseSandboxUser, type SandboxUser } from '../../container/agent/sandbox-user';
import { storageOfUid } from '../../container/agent/storage';
import { processesOfUid } from '../../container/agent/procfs';
import { removeLeftovers, removeTree, sweepUid, tool, widerThan } from '../../container/agent/run';

/**
 * The accounting behind the whole-sample limits, measured on real processes of a leased sandbox
 * uid: memory and CPU summed over a tree, storage by ownership with a cap that fails closed, and
 * the kernel objects a run leaves.
 */

const MiB = 1024 * 1024;
/** The lock directory detonations lease from: a uid leased here is used by nothing else meanwhile. */
const UID_LOCKS = '/var/lib/sandtrap/uids';

let user: SandboxUser;
let scratch: string;
const started: ChildProcess[] = [];

/** Starts `argv` as the sandbox uid and resolves once it printed `ready`. */
function asSandbox(argv: string[], wrapper: string[] = []): Promise<ChildProcess> {
  const child = spawn(
    wrapper[0] ?? tool('setpriv'),
    [
      ...wrapper.slice(1),
      ...(wrapper.length > 0 ? [tool('setpriv')] : []),
      `--reuid=${user.uid}`,
      `--regid=${user.uid}`,
      '--clear-groups',
      '--',
      ...argv,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], cwd: scratch },
  );
  started.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`exited with ${code} before it was ready: ${out}`)));
  });
}

const python = (code: string) => ['/usr/bin/python3', '-c', code];

beforeAll(async () => {
  user = await leaseSandboxUser(UID_LOCKS);
  scratch = await mkdtemp('/var/lib/sandtrap/accounting-');
  await chown(scratch, user.uid, user.uid);
});

afterEach(async () => {
  await sweepUid(user.uid);
  started.length = 0;
  // Orphans killed by the sweep are zombies until init reaps them; the next test counts processes.
  await expect.poll(async () => (await processesOfUid(user.uid, { zombies: true })).length, { timeout: 5000 }).toBe(0);
});

afterAll(async () => {
  await sweepUid(user.uid);
  await removeSysvObjects(user.uid, tool('ipcrm'));
  await removeTree(scratch);
  await user.release();
});

describe('the whole tree of the sandbox uid', () => {
  it('sums memory over processes that each stay small', async () => {
    // Four processes of 16 MiB, allocated after the fork (private pages, not shared with the parent).
    await asSandbox(
      python(`
import os, time
for _ in range(3):
    if os.fork() == 0:
        block = bytearray(b"z") * (16 << 20); time.sleep(30)
block = bytearray(b"z") * (16 << 20)
time.sleep(0.5); print("ready", flush=True); time.sleep(30)`),
    );
    const usage = await measureSandbox(user.uid, null);
    expect(usage.processes).toHaveLength(4);
    expect(usage.tasks).toBe(4);
    expect(usage.memoryBytes).toBeGreaterThan(4 * 16 * MiB);
    // No single process came near it: only the sum sees 64 MiB.
    expect(usage.vmPeakBytes).toBeLessThan(64 * MiB);
  });

  it('keeps the CPU time of a child that has ended', async () => {
    await asSandbox(
      python(`
import os, time
pid = os.fork()
if pid == 0:
    end = time.process_time() + 0.6
    while time.process_time() < end: pass
    os._exit(0)
os.waitpid(pid, 0)
print("ready", flush=True); time.sleep(30)`),
    );
    const usage = await measureSandbox(user.uid, null);
    expect(usage.processes).toHaveLength(1);
    expect(usage.cpuSeconds).toBeGreaterThanOrEqual(0.55);
  });

  it('counts threads and zombies as tasks, as RLIMIT_NPROC does', async () => {
    await asSandbox(
      python(`
import os, threading, time
for _ in range(3): threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
os.fork() or os._exit(0)
time.sleep(0.3); print("ready", flush=True); time.sleep(30)`),
    );
    const usage = await measureSandbox(user.uid, null);
    // The parent may still be between its print and its sleep (R) when measured.
    const [live, zombie] = usage.processes.map((p) => p.state).sort();
    expect(['R', 'S']).toContain(live);
    expect(zombie).toBe('Z');
    expect(usage.processes).toHaveLength(2);
    expect(usage.tasks).toBe(5);
  });
});

describe('storage by ownership', () => {
  it('counts what the uid owns, once per inode, and nothing of others', async () => {
    const dir = join(scratch, 'owned');
    await mkdir(dir);
    await writeFile(join(dir, 'big'), Buffer.alloc(2 * MiB, 1));
    await chown(join(dir, 'big'), user.uid, user.uid);
    await link(join(dir, 'big'), join(dir, 'big-again'));
    await writeFile(join(dir, 'roots'), Buffer.alloc(4 * MiB, 1)); // root's: not the sample's
    const use = await storageOfUid({ uid: user.uid, dirs: [dir], pids: [] });
    expect(use.capped).toBe(false);
    expect(use.diskBytes).toBeGreaterThanOrEqual(2 * MiB);
    expect(use.diskBytes).toBeLessThan(3 * MiB);
  });

  it('fails closed when many small files fill the walk, wherever the bytes are', async () => {
    const dir = join(scratch, 'hiding');
    await mkdir(join(dir, 'a-many'), { recursive: true });
    await mkdir(join(dir, 'z-bulk'));
    for (const sub of ['', 'a-many', 'z-bulk']) await chown(join(dir, sub), user.uid, user.uid);
    await Promise.all(
      Array.from({ length: 60 }, async (_, n) => {
        await writeFile(join(dir, 'a-many', String(n).padStart(3, '0')), '');
        await chown(join(dir, 'a-many', String(n).padStart(3, '0')), user.uid, user.uid);
      }),
    );
    await writeFile(join(dir, 'z-bulk', 'part'), Buffer.alloc(MiB, 1));
    await chown(join(dir, 'z-bulk', 'part'), user.uid, user.uid);
    expect(await storageOfUid({ uid: user.uid, dirs: [dir], pids: [], maxEntries: 50 })).toMatchObject({
      capped: true,
    });
    // Under the cap the same tree is measured, the bytes behind the small files included.
    const full = await storageOfUid({ uid: user.uid, dirs: [dir], pids: [], maxEntries: 100 });
    expect(full.capped).toBe(false);
    expect(full.diskBytes).toBeGreaterThanOrEqual(MiB);
  });

  it('fails closed on a tree nested deeper than a path can name', async () => {
    // Twenty levels of 250-character names: past PATH_MAX, where lstat by path gives up.
    await asSandbox(
      python(`
import os
os.mkdir("deep"); os.chdir("deep")
for _ in range(20):
    os.mkdir("d" * 250); os.chdir("d" * 250)
open("hidden", "wb").write(b"z" * (1 << 20))
print("ready", flush=True)`),
    );
    const use = await storageOfUid({ uid: user.uid, dirs: [join(scratch, 'deep')], pids: [] });
    expect(use.capped).toBe(true);
    // And the tree can still be removed (Node's own recursive rm gives up on it).
    await removeTree(join(scratch, 'deep'));
    expect(existsSync(join(scratch, 'deep'))).toBe(false);
  });

  it('counts a file the sample deleted but holds open', async () => {
    const child = await asSandbox(
      python(`
import os, time
f = open("vanishing", "wb"); os.unlink("vanishing")
f.write(b"z" * (3 << 20)); f.flush(); os.fsync(f.fileno())
print("ready", flush=True); time.sleep(30)`),
    );
    // No directory to walk: only the open file can show the bytes.
    const use = await storageOfUid({ uid: user.uid, dirs: [], pids: [child.pid as number] });
    expect(use.capped).toBe(false);
    expect(use.diskBytes).toBeGreaterThanOrEqual(3 * MiB);
  });

  it("counts a private tmpfs of the sample's mount namespace as memory, whatever it holds", async () => {
    // The guard gives a run its own tmpfs over /dev/shm this way; the sample fills it.
    const child = await asSandbox(
      python(`
import time
with open("/dev/shm/filler", "wb") as f: f.write(b"z" * (5 << 20))
print("ready", flush=True); time.sleep(30)`),
      [
        tool('unshare'),
        '--mount',
        '--propagation',
        'private',
        '--',
        '/bin/sh',
        '-c',
        'mount -t tmpfs -o size=16m tmpfs /dev/shm && exec "$@"',
        'sh',
      ],
    );
    // The sample process is the setpriv'd python, a child of nothing else: find it by uid.
    const pids = (await measureSandbox(user.uid, null)).processes.map((p) => p.pid);
    expect(pids.length).toBeGreaterThan(0);
    const use = await storageOfUid({ uid: user.uid, dirs: ['/dev/shm'], pids });
    expect(use.memoryBytes).toBeGreaterThanOrEqual(5 * MiB);
    expect(use.diskBytes).toBe(0);
    child.kill('SIGKILL');
  });
});

describe('limits of a reading', () => {
  const reading: MeterReading = {
    pids: [1],
    processes: 1,
    tasks: 1,
    cpuSeconds: 0,
    processMemoryBytes: 0,
    memoryBytes: 0,
    diskBytes: 0,
    storageCapped: false,
    vmPeakBytes: 0,
    cpusAllowed: new Map(),
  };
  const limits = { cpuSeconds: 10, memoryBytes: 100, processes: 64, diskBytes: 100 };

  it('names each limit a reading breaks, and a capped walk as a disk limit', () => {
    expect(limitsBroken(reading, limits)).toEqual([]);
    expect(limitsBroken({ ...reading, memoryBytes: 101 }, limits)).toEqual(['memory']);
    expect(limitsBroken({ ...reading, tasks: 64 }, limits)).toEqual(['processes']);
    expect(limitsBroken({ ...reading, diskBytes: 101 }, limits)).toEqual(['disk']);
    expect(limitsBroken({ ...reading, storageCapped: true }, limits)).toEqual(['disk']);
    expect(limitsBroken({ ...reading, cpuSeconds: 10 }, limits)).toEqual(['cpu']);
  });

  it('sees a widened affinity in the kernel CPU list, and refuses one it cannot parse', () => {
    expect(widerThan('0', 1)).toBe(false);
    expect(widerThan('0-1', 2)).toBe(false);
    expect(widerThan('0-1', 1)).toBe(true);
    expect(widerThan('0,3', 2)).toBe(true);
    expect(widerThan('', 1)).toBe(true);
    expect(widerThan('0-x', 1)).toBe(true);
  });
});

describe('kernel objects a run leaves', () => {
  it('removes the entries of the uid from shared directories, down into ones anyone may write to', async () => {
    const shared = join(scratch, 'shared');
    await mkdir(join(shared, 'open-to-all', 'nested'), { recursive: true });
    await chmod(shared, 0o1777);
    await chmod(join(shared, 'open-to-all'), 0o1777);
    const owned = [join(shared, 'left.lock'), join(shared, 'open-to-all', 'left.pid')];
    for (const path of owned) {
      await writeFile(path, 'marker');
      await chown(path, user.uid, user.uid);
    }
    await writeFile(join(shared, 'roots.lock'), 'keep');
    await removeLeftovers(user.uid, [shared]);
    expect(owned.filter((path) => existsSync(path))).toEqual([]);
    expect(existsSync(join(shared, 'roots.lock'))).toBe(true);
    expect(existsSync(join(shared, 'open-to-all', 'nested'))).toBe(true);
  });

  it("removes the uid's SysV shared memory, semaphores and message queues", async () => {
    await asSandbox([
      '/bin/sh',
      '-c',
      `${tool('ipcmk')} -M 4096 -p 0666 && ${tool('ipcmk')} -S 1 && ${tool('ipcmk')} -Q && echo ready`,
    ]).catch(
      () => undefined, // it exits right after printing
    );
    expect((await sysvObjectsOfUid(user.uid)).map((o) => o.kind).sort()).toEqual(['msg', 'sem', 'shm']);
    expect(await removeSysvObjects(user.uid, tool('ipcrm'))).toEqual([]);
    expect(await sysvObjectsOfUid(user.uid)).toEqual([]);
  });

  it.runIf(process.arch === 'x64')("empties the uid's user keyring, which outlives its processes", async () => {
    // add_key(2) is 248 and keyctl(2) 250 on x86_64; KEYCTL_SEARCH is 10, the user keyring -4.
    // perl's syscall passes strings by pointer and wants them in variables, not literals.
    const names = 'my ($type, $name, $payload) = ("user", "sandtrap-limits-probe", "marker");';
    const search = `${names} print syscall(250, 10, -4, $type, $name, 0) > 0 ? "found" : "absent";`;
    const perl = async (script: string) => {
      const child = spawn(
        tool('setpriv'),
        [`--reuid=${user.uid}`, `--regid=${user.uid}`, '--clear-groups', '--', tool('perl'), '-e', script],
        { stdio: ['ignore', 'pipe', 'ignore'] },
      );
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      await new Promise((resolve) => child.on('close', resolve));
      return out;
    };
    await perl(`${names} syscall(248, $type, $name, $payload, 6, -4) > 0 or die;`);
    // The key is there for a later process of the uid (the positive control)...
    expect(await perl(search)).toBe('found');
    expect(await clearKeyrings(user.uid, tool('setpriv'), tool('perl'))).toBe(true);
    // ...and gone once the keyrings are cleared.
    expect(await perl(search)).toBe('absent');
  });
});
