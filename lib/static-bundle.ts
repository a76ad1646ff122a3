import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { sandtrapCacheDir } from './cache-dir';

/** The platform a static-engine bundle is built for: its third-party wheels are chosen for it. */
export interface StaticBundleTarget {
  readonly architecture: 'arm64' | 'x86_64';
  /** `major.minor`, e.g. '3.12'. */
  readonly pythonVersion: string;
}

/** The deployed function's platform: Lambda python3.12 on arm64 (Amazon Linux 2023, glibc 2.34). */
export const LAMBDA_STATIC_TARGET: StaticBundleTarget = { architecture: 'arm64', pythonVersion: '3.12' };

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const STATIC_DIR = join(ROOT, 'static');
const PACKAGE_DIR = join(STATIC_DIR, 'sandtrap_static');
const RULES_DIR = join(STATIC_DIR, 'rules');
const REQUIREMENTS = join(STATIC_DIR, 'requirements.txt');
const BUILDER_SOURCE = fileURLToPath(import.meta.url);

/**
 * Packages the Lambda Python runtime provides (boto3 and what only boto3 needs): left out of the pip
 * resolution. Should another dependency need one of them, pip still installs it, at the pinned
 * version if requirements.txt pins it (the pins are passed as constraints).
 */
const RUNTIME_PROVIDED = new Set([
  'boto3',
  'botocore',
  's3transfer',
  'jmespath',
  'python-dateutil',
  'six',
  'urllib3',
  'awscrt',
]);

/** Removed from the installed tree whatever pulled them in: the runtime's own copies are used. */
const NEVER_SHIPPED = ['boto3', 'botocore', 's3transfer'];

/** glibc of Lambda's Amazon Linux 2023: no wheel may need a newer one. */
const MANYLINUX_TAGS = ['manylinux2014', 'manylinux_2_28', 'manylinux_2_34'];

const PIP_STDERR_TAIL_LINES = 40;

function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

function checkTarget(target: StaticBundleTarget): void {
  if (target.architecture !== 'arm64' && target.architecture !== 'x86_64') {
    throw new Error(`Static bundle: unsupported architecture ${JSON.stringify(target.architecture)}`);
  }
  if (!/^3\.\d{1,2}$/.test(target.pythonVersion)) {
    throw new Error(`Static bundle: pythonVersion must be "3.N", not ${JSON.stringify(target.pythonVersion)}`);
  }
}

/** pip's `--platform` values for a target: manylinux2014 (glibc 2.17), 2_28 and 2_34 on its machine. */
export function manylinuxPlatforms(target: StaticBundleTarget): string[] {
  const machine = target.architecture === 'arm64' ? 'aarch64' : 'x86_64';
  return MANYLINUX_TAGS.map((tag) => `${tag}_${machine}`);
}

/** Files under `dir` (relative paths, sorted, `/`-separated), without bytecode. */
function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  const walk = (current: string) => {
    for (const name of readdirSync(current).sort()) {
      if (name === '__pycache__' || name.endsWith('.pyc')) continue;
      const path = join(current, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.push(relative(dir, path).split('\\').join('/'));
    }
  };
  walk(dir);
  return files;
}

/** Identifies the third-party tree: the target, the requirements and this builder. */
function dependenciesHash(target: StaticBundleTarget): string {
  return createHash('sha256')
    .update(JSON.stringify({ architecture: target.architecture, pythonVersion: target.pythonVersion }))
    .update('\0')
    .update(readFileSync(REQUIREMENTS))
    .update('\0')
    .update(readFileSync(BUILDER_SOURCE))
    .digest('hex');
}

/**
 * Identifies a bundle: the engine's sources (`static/sandtrap_static`), the bundled rules
 * (`static/rules`), the requirements, this builder and the target.
 */
export function staticBundleHash(target: StaticBundleTarget): string {
  checkTarget(target);
  const hash = createHash('sha256').update(dependenciesHash(target));
  for (const [label, dir] of [
    ['sandtrap_static', PACKAGE_DIR],
    ['rules', RULES_DIR],
  ] as const) {
    for (const file of sourceFiles(dir)) {
      hash
        .update(`${label}/${file}\0`)
        .update(readFileSync(join(dir, file)))
        .update('\0');
    }
  }
  return hash.digest('hex');
}

/** Logical lines of a requirements file: continuations joined, comments removed, blanks dropped. */
function requirementLines(text: string): string[] {
  return text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.replace(/(^|\s)#.*$/, '').trim())
    .filter((line) => line.length > 0);
}

/**
 * Splits static/requirements.txt into what pip resolves (everything but {@link RUNTIME_PROVIDED})
 * and constraints (the pins of the runtime-provided packages). Relative `-r`/`-c` paths are made
 * absolute, since the filtered files are written elsewhere.
 */
function filteredRequirements(): { requirements: string; constraints: string } {
  const requirements: string[] = [];
  const constraints: string[] = [];
  for (const line of requirementLines(readFileSync(REQUIREMENTS, 'utf8'))) {
    const include = /^(-r|-c|--requirement|--constraint)(\s+|=)(\S+)(.*)$/.exec(line);
    if (include) {
      const path = include[3]!;
      requirements.push(`${include[1]} ${isAbsolute(path) ? path : resolve(STATIC_DIR, path)}${include[4]}`);
      continue;
    }
    const name = line.startsWith('-') ? undefined : /^([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(line)?.[1];
    if (name && RUNTIME_PROVIDED.has(normalizeName(name))) {
      // Constraints take a name and a version, without extras or hashes.
      const constraint = line
        .replace(/\[[^\]]*\]/, '')
        .replace(/\s--hash[=\s]\S+/g, '')
        .trim();
      constraints.push(constraint);
    } else {
      requirements.push(line);
    }
  }
  return { requirements: `${requirements.join('\n')}\n`, constraints: `${constraints.join('\n')}\n` };
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split(/\r?\n/).slice(-lines).join('\n');
}

/** Installs the third-party wheels for `target` into `dir` (which must not exist yet) with pip. */
function pipInstall(dir: string, target: StaticBundleTarget): void {
  const work = mkdtempSync(join(tmpdir(), 'sandtrap-static-req-'));
  try {
    const { requirements, constraints } = filteredRequirements();
    const requirementsFile = join(work, 'requirements.txt');
    const constraintsFile = join(work, 'constraints.txt');
    writeFileSync(requirementsFile, requirements);
    writeFileSync(constraintsFile, constraints);
    const args = [
      '-m',
      'pip',
      'install',
      '--target',
      dir,
      ...manylinuxPlatforms(target).flatMap((platform) => ['--platform', platform]),
      '--implementation',
      'cp',
      '--python-version',
      target.pythonVersion,
      '--only-binary=:all:',
      '--no-compile',
      '--no-input',
      '--disable-pip-version-check',
      '-r',
      requirementsFile,
      '-c',
      constraintsFile,
    ];
    const result = spawnSync('python3', args, {
      cwd: work,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      // --target conflicts with a configured --user; a configured require-virtualenv would refuse to run.
      env: { ...process.env, PIP_USER: '0', PIP_REQUIRE_VIRTUALENV: '0', PYTHONNOUSERSITE: '1' },
    });
    const command = `python3 ${args.join(' ')}`;
    if (result.error) {
      throw new Error(
        `Static bundle: could not run pip (${result.error.message}); python3 with pip is needed to build the static engine's Lambda bundle.\nCommand: ${command}`,
      );
    }
    if (result.status !== 0) {
      const output = tail(result.stderr || result.stdout || '', PIP_STDERR_TAIL_LINES);
      throw new Error(
        `Static bundle: pip install for ${target.architecture}/python${target.pythonVersion} failed (exit ${result.status ?? result.signal}).\nCommand: ${command}\nRequirements (static/requirements.txt without runtime-provided packages):\n${requirements}pip's stderr (last ${PIP_STDERR_TAIL_LINES} lines):\n${output}`,
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Removes from an installed tree what the runtime provides or must not ship: boto3 & co., scripts, bytecode. */
function prune(dir: string): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const distInfo = /^(.+?)-[^-]+\.(dist-info|egg-info)$/.exec(name);
    const pkg = normalizeName(distInfo ? distInfo[1]! : name);
    if (name === 'bin' || NEVER_SHIPPED.includes(pkg)) rmSync(path, { recursive: true, force: true });
  }
  const walk = (current: string) => {
    for (const name of readdirSync(current)) {
      const path = join(current, name);
      if (name === '__pycache__') rmSync(path, { recursive: true, force: true });
      else if (name.endsWith('.pyc')) rmSync(path, { force: true });
      else if (statSync(path).isDirectory()) walk(path);
    }
  };
  walk(dir);
}

/**
 * Where the third-party tree for `target` is cached: `static-bundle-<hash>` in Sandtrap's cache
 * directory ({@link sandtrapCacheDir}; not the package's own, which may be read-only once installed).
 */
export function staticDependenciesCacheDir(target: StaticBundleTarget): string {
  checkTarget(target);
  return join(sandtrapCacheDir(), `static-bundle-${dependenciesHash(target).slice(0, 24)}`);
}

/**
 * The third-party tree for `target`, from the cache ({@link staticDependenciesCacheDir}) or built
 * into it: pip installs into a temporary directory beside it, which is renamed into place once
 * complete, so a cache directory that exists is whole (and concurrent builds cannot mix).
 */
function dependencies(target: StaticBundleTarget): string {
  const cached = staticDependenciesCacheDir(target);
  if (existsSync(cached)) return cached;
  const building = mkdtempSync(join(dirname(cached), `${basename(cached)}.tmp-`));
  try {
    const site = join(building, 'site');
    pipInstall(site, target);
    prune(site);
    try {
      renameSync(site, cached);
    } catch (error) {
      // Another build finished first: its tree is the same.
      if (!existsSync(cached)) throw error;
    }
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
  return cached;
}

const withoutBytecode = (source: string) => basename(source) !== '__pycache__' && !source.endsWith('.pyc');

/**
 * Builds the static engine's Lambda bundle into `outputDir`: the third-party packages for `target`
 * (pip wheels for its manylinux platforms, without boto3 and what only boto3 needs, cached), the
 * `sandtrap_static/` package as it is and `rules/` beside it, where `yara_rules.BUNDLED_DIR` looks.
 * Synchronous, as CDK bundling is.
 */
export function buildStaticBundle(outputDir: string, target: StaticBundleTarget): void {
  checkTarget(target);
  const site = dependencies(target);
  mkdirSync(outputDir, { recursive: true });
  cpSync(site, outputDir, { recursive: true });
  cpSync(PACKAGE_DIR, join(outputDir, 'sandtrap_static'), { recursive: true, filter: withoutBytecode });
  cpSync(RULES_DIR, join(outputDir, 'rules'), { recursive: true, filter: withoutBytecode });
}

/**
 * The static engine's Lambda code: `static/` bundled by {@link buildStaticBundle} with the local pip
 * (no Docker), identified by {@link staticBundleHash}. Handler: `sandtrap_static.lambda_function.handler`.
 */
export function staticBundleCode(target: StaticBundleTarget = LAMBDA_STATIC_TARGET): lambda.Code {
  return lambda.Code.fromAsset(STATIC_DIR, {
    assetHash: staticBundleHash(target),
    assetHashType: AssetHashType.CUSTOM,
    bundling: {
      // Never used: the local build below always succeeds or throws.
      image: DockerImage.fromRegistry(`public.ecr.aws/sam/build-python${target.pythonVersion}`),
      local: {
        tryBundle(outputDir) {
          buildStaticBundle(outputDir, target);
          return true;
        },
      },
    },
  });
}
