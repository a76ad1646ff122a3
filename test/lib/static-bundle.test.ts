import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, lstatSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildStaticBundle, LAMBDA_STATIC_TARGET, type StaticBundleTarget } from '../../lib/static-bundle';

// The first build downloads wheels with pip; later ones come from Sandtrap's cache directory (lib/cache-dir.ts).
const BUILD_TIMEOUT = 300_000;
/** Lambda's limit on a function's unzipped code and layers: 250 MB. */
const LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024;
/** glibc of Amazon Linux 2023, under Lambda's python3.12. */
const MAX_GLIBC: [number, number] = [2, 34];
const EM_AARCH64 = 183;
const SHT_GNU_VERNEED = 0x6ffffffe;

const tempDirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** Every file under `dir`: relative path → size (symbolic links count as their own size). */
function listFiles(dir: string): Map<string, number> {
  const files = new Map<string, number>();
  const walk = (current: string) => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.set(relative(dir, path), lstatSync(path).size);
    }
  };
  walk(dir);
  return new Map([...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function timedBuild(target: StaticBundleTarget, prefix: string): { dir: string; ms: number } {
  const dir = tempDir(prefix);
  const started = performance.now();
  buildStaticBundle(dir, target);
  return { dir, ms: performance.now() - started };
}

function isElf(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const magic = Buffer.alloc(4);
    return readSync(fd, magic, 0, 4, 0) === 4 && magic.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } finally {
    closeSync(fd);
  }
}

interface ElfInfo {
  machine: number;
  /** Version names required from shared libraries (.gnu.version_r), e.g. GLIBC_2.28. */
  requiredVersions: string[];
}

/** Reads an ELF64 little-endian file's machine and its required symbol versions (.gnu.version_r). */
function readElf(path: string): ElfInfo {
  const data = readFileSync(path);
  if (data[4] !== 2) throw new Error(`${path}: not a 64-bit ELF (EI_CLASS ${data[4]})`);
  if (data[5] !== 1) throw new Error(`${path}: not a little-endian ELF (EI_DATA ${data[5]})`);
  const machine = data.readUInt16LE(18);
  const shoff = Number(data.readBigUInt64LE(0x28));
  const shentsize = data.readUInt16LE(0x3a);
  const shnum = data.readUInt16LE(0x3c);
  const section = (index: number) => {
    const base = shoff + index * shentsize;
    return {
      type: data.readUInt32LE(base + 4),
      offset: Number(data.readBigUInt64LE(base + 24)),
      size: Number(data.readBigUInt64LE(base + 32)),
      link: data.readUInt32LE(base + 40),
      info: data.readUInt32LE(base + 44),
    };
  };
  const requiredVersions: string[] = [];
  for (let index = 0; index < shnum; index++) {
    const verneed = section(index);
    if (verneed.type !== SHT_GNU_VERNEED) continue;
    const strings = section(verneed.link);
    const stringAt = (offset: number) => {
      const start = strings.offset + offset;
      return data.toString('latin1', start, data.indexOf(0, start));
    };
    // Elf64_Verneed: vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32.
    let need = verneed.offset;
    for (let i = 0; i < verneed.info; i++) {
      const count = data.readUInt16LE(need + 2);
      // Elf64_Vernaux: vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32.
      let aux = need + data.readUInt32LE(need + 8);
      for (let j = 0; j < count; j++) {
        requiredVersions.push(stringAt(data.readUInt32LE(aux + 8)));
        const next = data.readUInt32LE(aux + 12);
        if (next === 0) break;
        aux += next;
      }
      const next = data.readUInt32LE(need + 12);
      if (next === 0) break;
      need += next;
    }
  }
  return { machine, requiredVersions };
}

function glibcAtMost(version: string, [major, minor]: [number, number]): boolean {
  const match = /^GLIBC_(\d+)\.(\d+)(?:\.\d+)?$/.exec(version);
  if (!match) throw new Error(`unexpected glibc version name ${version}`);
  const [ma, mi] = [Number(match[1]), Number(match[2])];
  return ma < major || (ma === major && mi <= minor);
}

/** A wheel tag (one expanded `python-abi-platform` triple) runs on CPython 3.12, aarch64, glibc <= 2.34. */
function tagRunsOnLambda(python: string, abi: string, platform: string): boolean {
  if (!platformRunsOnLambda(platform)) return false;
  const minor = /^(?:py|cp)3(\d*)$/.exec(python)?.[1];
  if (minor === undefined) return false; // py2, pp3..., another major
  const upTo312 = minor === '' || Number(minor) <= 12;
  if (abi === 'none') return upTo312 && (python.startsWith('py') || python === 'cp312' || platform === 'any');
  if (abi === 'abi3') return python.startsWith('cp') && upTo312;
  return python === 'cp312' && abi === 'cp312';
}

function platformRunsOnLambda(platform: string): boolean {
  if (platform === 'any' || platform === 'manylinux2014_aarch64') return true;
  const manylinux = /^manylinux_2_(\d+)_aarch64$/.exec(platform);
  return manylinux !== null && Number(manylinux[1]) <= MAX_GLIBC[1];
}

/** Expands a compressed tag (`py2.py3-none-any`) into its triples. */
function expandTag(tag: string): [string, string, string][] {
  const [pythons, abis, platforms] = tag.split('-').map((part) => part.split('.'));
  if (!pythons || !abis || !platforms) throw new Error(`malformed wheel tag ${tag}`);
  return pythons.flatMap((p) => abis.flatMap((a) => platforms.map((pl): [string, string, string] => [p, a, pl])));
}

function hostTarget(): StaticBundleTarget {
  const pythonVersion = execFileSync(
    'python3',
    ['-c', 'import sys;print(f"{sys.version_info[0]}.{sys.version_info[1]}")'],
    { encoding: 'utf8' },
  ).trim();
  const architecture = process.arch === 'arm64' ? 'arm64' : process.arch === 'x64' ? 'x86_64' : undefined;
  if (!architecture) throw new Error(`no static bundle target for host architecture ${process.arch}`);
  return { architecture, pythonVersion };
}

// Imports the engine from the bundle alone (-I: no user site, no PYTHON* variables, no cwd; -S: no
// site-packages) and analyses the test string given in two halves.
const ANALYSE_FROM_BUNDLE = `
import contextlib, json, sys
bundle, head, tail = sys.argv[1:4]
sys.path.insert(0, bundle)
import yara_x
import sandtrap_static
from sandtrap_static.analyze import analyze
with contextlib.redirect_stdout(sys.stderr):
    report = analyze((head + tail).encode(), "eicar.com")
print(json.dumps({"report": report, "yara_x": yara_x.__file__, "package": sandtrap_static.__file__}))
`;

afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe('static engine Lambda bundle (arm64, python3.12)', () => {
  let bundle: { dir: string; ms: number };
  let files: Map<string, number>;

  beforeAll(() => {
    bundle = timedBuild(LAMBDA_STATIC_TARGET, 'sandtrap-static-bundle-');
    files = listFiles(bundle.dir);
    console.log(`static bundle (arm64/3.12): first build in this run ${(bundle.ms / 1000).toFixed(1)} s`);
  }, BUILD_TIMEOUT);

  it('holds the package with the bundled rules beside it', () => {
    expect(files.has('sandtrap_static/__init__.py')).toBe(true);
    expect(files.has('sandtrap_static/analyze.py')).toBe(true);
    expect(files.has('rules/eicar.yar')).toBe(true);
    expect([...files.keys()].some((f) => f.startsWith('yara_x/'))).toBe(true);
    const bytecode = [...files.keys()].filter((f) => f.endsWith('.pyc') || f.split('/').includes('__pycache__'));
    expect(bytecode).toEqual([]);
  });

  it('leaves out what the Lambda runtime provides and what must not ship', () => {
    const topLevel = new Set([...files.keys()].map((f) => f.split('/')[0]!.toLowerCase()));
    const forbidden = [...topLevel].filter(
      (name) => /^(boto3|botocore|s3transfer)([-_.]|$)/.test(name) || name === 'bin' || name === 'requirements.txt',
    );
    expect(forbidden).toEqual([]);
  });

  it('has only aarch64 native code needing glibc <= 2.34', () => {
    const sharedObjects = [...files.keys()].filter((f) => /\.so(\.|$)/.test(f));
    expect(sharedObjects.length).toBeGreaterThan(0);
    const elfFiles = [...files.keys()].filter((f) => isElf(join(bundle.dir, f)));
    expect(sharedObjects.filter((f) => !elfFiles.includes(f))).toEqual([]);
    const problems: string[] = [];
    const glibcSeen = new Set<string>();
    for (const file of elfFiles) {
      const { machine, requiredVersions } = readElf(join(bundle.dir, file));
      if (machine !== EM_AARCH64) problems.push(`${file}: e_machine ${machine}, not AArch64 (${EM_AARCH64})`);
      for (const version of requiredVersions.filter((v) => v.startsWith('GLIBC_') && v !== 'GLIBC_PRIVATE')) {
        glibcSeen.add(version);
        if (!glibcAtMost(version, MAX_GLIBC)) problems.push(`${file}: needs ${version}`);
      }
    }
    expect(problems).toEqual([]);
    // The version parser found something (yara_x, cryptography and cffi all link against glibc).
    expect(glibcSeen.size).toBeGreaterThan(0);
    console.log(
      `static bundle: ${elfFiles.length} ELF files; glibc versions required: ${[...glibcSeen].sort().join(', ')}`,
    );
  });

  it('was installed from wheels that run on CPython 3.12, aarch64, manylinux <= 2_34', () => {
    const wheels = [...files.keys()].filter((f) => /^[^/]+\.dist-info\/WHEEL$/.test(f));
    expect(wheels.length).toBeGreaterThanOrEqual(5);
    const problems: string[] = [];
    for (const wheel of wheels) {
      const tags = readFileSync(join(bundle.dir, wheel), 'utf8')
        .split(/\r?\n/)
        .filter((line) => line.startsWith('Tag:'))
        .map((line) => line.slice(4).trim());
      const triples = tags.flatMap(expandTag);
      if (triples.length === 0) problems.push(`${wheel}: no Tag`);
      else if (!triples.some(([p, a, pl]) => tagRunsOnLambda(p, a, pl)))
        problems.push(`${wheel}: no tag runs on cp312/aarch64 (${tags.join(', ')})`);
      // A tag for another platform (x86_64, musllinux, newer glibc) means pip picked the wrong wheel.
      for (const [, , platform] of triples) {
        if (!platformRunsOnLambda(platform)) problems.push(`${wheel}: platform ${platform}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("fits Lambda's 250 MB unzipped limit", () => {
    const size = [...files.values()].reduce((sum, bytes) => sum + bytes, 0);
    console.log(`static bundle (arm64/3.12): ${(size / 1024 / 1024).toFixed(1)} MiB unzipped, ${files.size} files`);
    expect(size).toBeLessThan(LAMBDA_UNZIPPED_LIMIT);
  });

  it('is served from the cache on a second build, with the same files', () => {
    const again = timedBuild(LAMBDA_STATIC_TARGET, 'sandtrap-static-bundle-again-');
    console.log(`static bundle (arm64/3.12): cached build ${(again.ms / 1000).toFixed(2)} s`);
    expect(again.ms).toBeLessThan(5_000);
    expect([...listFiles(again.dir)]).toEqual([...files]);
  });
});

describe('static engine bundle for the host', () => {
  it(
    'analyses a file with the engine imported from the bundle alone',
    () => {
      const target = hostTarget();
      const { dir, ms } = timedBuild(target, 'sandtrap-static-bundle-host-');
      console.log(
        `static bundle (${target.architecture}/${target.pythonVersion}): built in ${(ms / 1000).toFixed(1)} s`,
      );
      const head = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$';
      const tail = 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
      const run = spawnSync('python3', ['-I', '-S', '-c', ANALYSE_FROM_BUNDLE, dir, head, tail], {
        cwd: tempDir('sandtrap-static-run-'),
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(run.status, `python3 failed:\n${run.stderr}`).toBe(0);
      const output = JSON.parse(run.stdout) as {
        report: { threats: { name: string }[]; errors: string[] };
        yara_x: string;
        package: string;
      };
      // Loaded from the bundle, not from some installed copy.
      expect(output.yara_x.startsWith(dir)).toBe(true);
      expect(output.package.startsWith(dir)).toBe(true);
      expect(output.report.errors).toEqual([]);
      expect(output.report.threats.map((threat) => threat.name)).toContain('EICAR-Test-File');
    },
    BUILD_TIMEOUT,
  );
});
