import { accessSync, constants, mkdirSync } from 'node:fs';
import { homedir, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/**
 * Where Sandtrap keeps what it builds once and reuses (the static engine's third-party wheels, the
 * local runtime's synthesized plans), every entry named by a hash of what it was made from: never
 * inside the package's own directory, which an installed package may not be allowed to write (a
 * global install, a read-only image), and which a reinstall would wipe anyway.
 *
 * `SANDTRAP_CACHE_DIR` when set; otherwise `sandtrap` in the user's cache directory
 * (`XDG_CACHE_HOME`, or `~/.cache`); otherwise, when that cannot be made (no home, a read-only one),
 * a per-user directory under the system's temporary directory.
 */
export function sandtrapCacheDir(): string {
  const configured = process.env.SANDTRAP_CACHE_DIR;
  if (configured) return ensureDir(configured);
  const xdg = process.env.XDG_CACHE_HOME;
  // The XDG specification ignores a relative XDG_CACHE_HOME.
  const userCache = xdg?.startsWith('/') ? xdg : join(homedir(), '.cache');
  const candidates = [join(userCache, 'sandtrap'), join(tmpdir(), `sandtrap-cache-${safeUserName()}`)];
  for (const dir of candidates) {
    try {
      return ensureDir(dir);
    } catch {
      // Not writable: the next one.
    }
  }
  throw new Error(`No writable cache directory for Sandtrap (tried ${candidates.join(', ')}); set SANDTRAP_CACHE_DIR`);
}

function ensureDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  accessSync(dir, constants.W_OK);
  return dir;
}

function safeUserName(): string {
  try {
    return userInfo().username.replace(/[^\w.-]/g, '_') || String(process.getuid?.() ?? 'user');
  } catch {
    return String(process.getuid?.() ?? 'user');
  }
}
