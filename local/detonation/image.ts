import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The detonation image on the local Docker engine: its tag names the content it was built from, so
 * a cached image is reused exactly as long as nothing it contains changed (CI machines keep tags
 * between runs), and a stale one is never run.
 */

/** The repository root: the image's build context. */
export const BUILD_CONTEXT = fileURLToPath(new URL('../..', import.meta.url));
const DOCKERFILE = 'container/Dockerfile';

/** The base of every stage of the Dockerfile, made from Debian's packages (nothing is pulled from a registry). */
export const BASE_IMAGE = 'local/debian:trixie';
const BASE_SUITE = 'trixie';

/** The repository name of the detonation image; the tag is a digest of its inputs. */
export const IMAGE_REPOSITORY = 'sandtrap-detonation';

/**
 * What the Dockerfile copies, as `.dockerignore` lets it through: a change anywhere here gives a new
 * tag, and nothing else does (the build installs from container/agent-deps/, not from the project's
 * package.json and lock, so a dependency the image does not hold leaves the tag alone). Kept in step
 * with the Dockerfile's COPY lines and `.dockerignore` by test/detonation/agent-deps.test.ts.
 */
export const IMAGE_INPUTS: readonly string[] = ['container', 'lambdas/core', '.dockerignore'];

/** Output of a build step kept for the error message. */
const OUTPUT_TAIL_BYTES = 4096;

function filesUnder(path: string): string[] {
  const full = join(BUILD_CONTEXT, path);
  if (!existsSync(full)) return [];
  if (!statSync(full).isDirectory()) return [path];
  return readdirSync(full, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(BUILD_CONTEXT, join(entry.parentPath, entry.name)).split(sep).join('/'));
}

/** The files of {@link IMAGE_INPUTS}, relative to the build context with `/` separators, sorted. */
export function imageInputFiles(): string[] {
  return IMAGE_INPUTS.flatMap(filesUnder).sort();
}

/** Digest of the build inputs and of the base image's id (a rebuilt base gives a new tag too). */
export function imageInputsDigest(baseImageId: string): string {
  const hash = createHash('sha256').update(`base ${baseImageId}\n`);
  for (const file of imageInputFiles()) {
    const content = readFileSync(join(BUILD_CONTEXT, file));
    hash.update(`${file}\n${content.length}\n`).update(content);
  }
  return hash.digest('hex').slice(0, 20);
}

function docker(args: string[], timeout = 10_000): { ok: boolean; stdout: string } {
  const result = spawnSync('docker', args, { encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'ignore'] });
  return { ok: result.status === 0, stdout: result.stdout ?? '' };
}

/** Whether a Docker engine answers. */
export function dockerEngineAnswers(): boolean {
  return docker(['info', '--format', '{{.ServerVersion}}'], 5_000).ok;
}

/** The id of a local image, or undefined when it is absent. */
export function localImageId(reference: string): string | undefined {
  const { ok, stdout } = docker(['image', 'inspect', '--format', '{{.Id}}', reference]);
  return ok ? stdout.trim() : undefined;
}

/** The tag the image has for the current sources, or undefined while the base image is missing. */
export function detonationImageTag(): string | undefined {
  const base = localImageId(BASE_IMAGE);
  return base ? `${IMAGE_REPOSITORY}:${imageInputsDigest(base)}` : undefined;
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '/usr/bin:/bin').split(':').some((dir) => dir && existsSync(join(dir, command)));
}

/** Why the image can be neither found nor built here, or undefined when it can. */
export function detonationImageUnavailable(): string | undefined {
  const tag = detonationImageTag();
  if (tag && localImageId(tag)) return undefined;
  if (!existsSync(join(BUILD_CONTEXT, DOCKERFILE))) return `${DOCKERFILE} is missing`;
  if (!tag && !onPath('mmdebstrap'))
    return `neither the base image ${BASE_IMAGE} nor mmdebstrap to build it (apt-get install mmdebstrap)`;
  return undefined;
}

/** Runs a shell-free command, keeping the tail of its output for the error; `log` gets it live. */
function runStep(command: string, args: string[], log?: (chunk: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: BUILD_CONTEXT, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      log?.(text);
      tail = (tail + text).slice(-OUTPUT_TAIL_BYTES);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args[0]} failed (${code}):\n${tail}`)),
    );
  });
}

/**
 * The base image from Debian's packages: a minimal trixie file system (mmdebstrap) imported as an
 * image. The pipe runs in bash (for pipefail), with constants only on its command line.
 */
async function buildBaseImage(log?: (chunk: string) => void): Promise<void> {
  await runStep(
    'bash',
    ['-c', `set -o pipefail; mmdebstrap --variant=minbase ${BASE_SUITE} - | docker import - ${BASE_IMAGE}`],
    log,
  );
  if (!localImageId(BASE_IMAGE)) throw new Error(`mmdebstrap | docker import did not produce ${BASE_IMAGE}`);
}

/** Debian's place for locally added CA certificates (`update-ca-certificates` reads it). */
const LOCAL_CA_DIR = '/usr/local/share/ca-certificates';
/** A build argument must fit in one argv string (the kernel's limit is 128 KiB). */
const MAX_CA_ARG_BYTES = 100 * 1024;

/**
 * The machine's locally added CA certificates, for the build's npm download: where a TLS-intercepting
 * proxy sits between this machine and the registry, its CA is there. Empty when there are none.
 */
export function localCaCertificates(dir = LOCAL_CA_DIR): string {
  if (!existsSync(dir)) return '';
  const pems = readdirSync(dir)
    .filter((name) => name.endsWith('.crt'))
    .sort()
    .map((name) => readFileSync(join(dir, name), 'utf8'))
    .filter((pem) => pem.includes('-----BEGIN CERTIFICATE-----'));
  const all = pems.join('\n');
  return Buffer.byteLength(all) <= MAX_CA_ARG_BYTES ? all : '';
}

let building: Promise<string> | undefined;

/**
 * The detonation image's tag, built first when it is missing (the base image too). One build per
 * process however many detonations ask at once; Docker's layer cache makes a rebuild after a small
 * change cheap.
 */
export function ensureDetonationImage(log?: (chunk: string) => void): Promise<string> {
  building ??= (async () => {
    if (!localImageId(BASE_IMAGE)) await buildBaseImage(log);
    const tag = detonationImageTag();
    if (!tag) throw new Error(`${BASE_IMAGE} is missing`);
    if (!localImageId(tag)) {
      await runStep(
        'docker',
        [
          'build',
          '--build-arg',
          `BASE_IMAGE=${BASE_IMAGE}`,
          '--build-arg',
          `EXTRA_CA_CERTS=${localCaCertificates()}`,
          '-t',
          tag,
          '-f',
          DOCKERFILE,
          BUILD_CONTEXT,
        ],
        log,
      );
    }
    return tag;
  })();
  building.catch(() => {
    building = undefined;
  });
  return building;
}
