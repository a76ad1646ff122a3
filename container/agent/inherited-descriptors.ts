import { closeSync, readdirSync, readFileSync } from 'node:fs';

/**
 * Whatever started the agent may have left it descriptors without close-on-exec (a CI runner's
 * pipe, a shell's redirection); Node passes such descriptors on to every child, so the sample would
 * inherit them through the guard, strace and setpriv. Node and libuv open everything of their own
 * with O_CLOEXEC, so a descriptor above stderr without that flag at start-up can only be inherited:
 * it is closed before anything is spawned.
 */

const O_CLOEXEC = 0o2000000;

/** Closes every descriptor above 2 that is not close-on-exec; returns the ones it closed. */
export function closeInheritedDescriptors(fdinfo = '/proc/self/fdinfo'): number[] {
  const closed: number[] = [];
  let names: string[];
  try {
    names = readdirSync(fdinfo);
  } catch {
    // No /proc: nothing to enumerate; the sample's own checks will show what it got.
    return closed;
  }
  for (const name of names) {
    const fd = Number(name);
    if (!Number.isInteger(fd) || fd <= 2) continue;
    let flags: number;
    try {
      const match = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`${fdinfo}/${name}`, 'latin1'));
      if (!match) continue;
      flags = Number.parseInt(match[1] as string, 8);
    } catch {
      continue; // the directory listing's own descriptor, already closed
    }
    if (flags & O_CLOEXEC) continue;
    try {
      closeSync(fd);
      closed.push(fd);
    } catch {
      // gone already
    }
  }
  return closed;
}
