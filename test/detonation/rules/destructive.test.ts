import { describe, expect, it } from 'vitest';
import { describeRules } from './rule-table';
import { judgeTrace } from '../judge';
import { HOME, SAMPLE, Trace } from './trace';

/**
 * Impact: destroying, overwriting or encrypting data the sample did not make, stopping services,
 * wiping disks, exhausting the process table. Housekeeping (a job deleting its own scratch files,
 * encrypted backups of its own archives, fresh disk images from /dev/zero) stays silent. The
 * rename pattern of encryption is covered in encryption-pattern.test.ts.
 */

const docs = (n: number) => Array.from({ length: n }, (_, i) => `${HOME}/docs/report${i}.odt`);

describe('deletion', () => {
  it('deleting twenty files it did not create is T1485', () => {
    const trace = new Trace();
    for (const f of docs(20)) trace.unlink(SAMPLE, f);
    expect(trace.ids().get('destructive.mass-delete')).toEqual(['T1485']);
  });

  it('a data job deleting the scratch files it wrote is not', () => {
    const trace = new Trace().call(SAMPLE, `mkdir("${HOME}/tmp", 0755)`);
    const scratch = Array.from({ length: 30 }, (_, i) => `${HOME}/tmp/part${i}.csv`);
    for (const f of scratch) trace.create(SAMPLE, f);
    for (const f of scratch) trace.unlink(SAMPLE, f);
    trace.call(SAMPLE, `rmdir("${HOME}/tmp")`);
    expect(trace.ids().has('destructive.mass-delete')).toBe(false);
  });

  it("removing the lock files a tool linked into place (gpg's) is not", () => {
    const trace = new Trace();
    for (let i = 0; i < 25; i++) {
      const temp = `${HOME}/.gnupg/.#lk0x${i}.vm.${SAMPLE}x`;
      trace.create(SAMPLE, temp);
      trace.call(SAMPLE, `link("${temp}", "${HOME}/.gnupg/pubring${i}.kbx.lock")`);
      trace.unlink(SAMPLE, temp).unlink(SAMPLE, `${HOME}/.gnupg/pubring${i}.kbx.lock`);
    }
    expect(trace.ids().has('destructive.mass-delete')).toBe(false);
  });

  it('clearing caches and scratch directories is not', () => {
    const trace = new Trace();
    for (let i = 0; i < 15; i++) trace.unlink(SAMPLE, `${HOME}/.cache/pip/http/${i}`);
    for (let i = 0; i < 15; i++) trace.unlink(SAMPLE, `/tmp/build-${i}.o`);
    for (let i = 0; i < 15; i++) trace.unlink(SAMPLE, `${HOME}/app/node_modules/x/${i}.js`);
    expect(trace.ids().has('destructive.mass-delete')).toBe(false);
  });
});

describe('overwriting contents', () => {
  it.each([
    [
      'dd from /dev/zero over a file it wrote',
      (t: Trace) =>
        t.create(SAMPLE, `${HOME}/data.db`).run(701, '/bin/dd', ['dd', 'if=/dev/zero', 'of=data.db', 'conv=notrunc']),
    ],
    [
      'dd from /dev/urandom over a document',
      (t: Trace) => t.run(701, '/bin/dd', ['dd', 'if=/dev/urandom', `of=${HOME}/docs/plan.docx`, 'bs=1k', 'count=8']),
    ],
    ['shred of a document', (t: Trace) => t.run(701, '/usr/bin/shred', ['shred', '-n', '3', `${HOME}/docs/plan.docx`])],
  ])('%s is T1485', (_, steps) => {
    expect(steps(new Trace()).ids().get('destructive.overwrite')).toEqual(['T1485']);
  });

  it.each([
    ['a fresh disk image', ['dd', 'if=/dev/zero', 'of=disk.img', 'bs=1M', 'count=16']],
    ['a copy between files', ['dd', `if=${HOME}/a.bin`, `of=${HOME}/b.bin`]],
    ['shred -u of its own temporary key', ['shred', '-u', `${HOME}/tmp.key`]],
    ['shred -fuz (flags combined) of its own temporary key', ['shred', '-fuz', `${HOME}/tmp.key`]],
    ['shred of a log (covering tracks, not destroying data)', ['shred', '/var/log/app.log']],
    ['shred -u of a dropped file in /tmp (covering tracks)', ['shred', '-u', '/tmp/victim-shred.txt']],
  ])('%s is not', (_, argv) => {
    const ids = new Trace().create(SAMPLE, `${HOME}/tmp.key`).run(701, `/bin/${argv[0]}`, argv).ids();
    expect(ids.has('destructive.overwrite')).toBe(false);
  });
});

describe('encryption with general tools', () => {
  const gpgThenRemove = (victim: string, before = (t: Trace) => t) =>
    before(new Trace())
      .run(701, '/usr/bin/gpg', ['gpg', '--batch', '-c', victim])
      .open(701, '/usr/lib/x86_64-linux-gnu/libgcrypt.so.20')
      .open(701, `${HOME}/.gnupg/pubring.kbx`)
      .open(701, victim)
      .create(701, `${victim}.gpg`)
      .run(702, '/bin/rm', ['rm', victim])
      .unlink(702, victim);

  it('encrypting a file and removing the original is T1486 (high)', () => {
    const { behavior } = judgeTrace(gpgThenRemove(`${HOME}/docs/plan.docx`).text());
    expect(behavior.destructive.find((i) => i.id === 'destructive.encrypt-and-remove')).toMatchObject({
      severity: 'high',
      attack: ['T1486'],
    });
  });

  it('openssl enc into a new file, then rm of the original, is T1486 too', () => {
    const victim = `${HOME}/docs/a.xlsx`;
    const ids = new Trace()
      .run(701, '/usr/bin/openssl', [
        'openssl',
        'enc',
        '-aes-256-cbc',
        '-pbkdf2',
        '-in',
        victim,
        '-out',
        `${victim}.enc`,
      ])
      .open(701, '/usr/lib/ssl/openssl.cnf')
      .open(701, victim)
      .create(701, `${victim}.enc`)
      .unlink(SAMPLE, victim)
      .ids();
    expect(ids.get('destructive.encrypt-and-remove')).toEqual(['T1486']);
    expect(ids.get('destructive.encrypt-tool')).toEqual(['T1486']);
  });

  it('an encrypted backup of an archive it packed itself, the archive then removed, is only low context', () => {
    const backup = `${HOME}/backup.tar.gz`;
    const { behavior } = judgeTrace(
      gpgThenRemove(backup, (t) =>
        t.run(700 + 9, '/bin/tar', ['tar', 'czf', backup, 'data']).create(709, backup),
      ).text(),
    );
    expect(behavior.destructive.map((i) => [i.id, i.severity])).toEqual([['destructive.encrypt-tool', 'low']]);
  });

  it('decrypting or verifying is not encryption', () => {
    for (const argv of [
      ['gpg', '--decrypt', 'a.gpg'],
      ['gpg', '--verify', 'a.sig'],
      ['openssl', 'enc', '-d', '-aes-256-cbc', '-in', 'a.enc'],
    ]) {
      expect(new Trace().run(701, `/usr/bin/${argv[0]}`, argv).ids().has('destructive.encrypt-tool')).toBe(false);
    }
  });

  it('a ransom note is T1486; a README is not', () => {
    expect(new Trace().create(SAMPLE, `${HOME}/docs/HOW_TO_DECRYPT.txt`).ids().get('destructive.ransom-note')).toEqual([
      'T1486',
    ]);
    expect(new Trace().create(SAMPLE, `${HOME}/README.md`).ids().has('destructive.ransom-note')).toBe(false);
  });
});

describe('disks', () => {
  it.each([
    ['a write open of a disk', (t: Trace) => t.open(SAMPLE, '/dev/sda', 'O_WRONLY', '-1 EACCES (Permission denied)')],
    ['dd onto a disk', (t: Trace) => t.run(701, '/bin/dd', ['dd', 'if=/dev/urandom', 'of=/dev/sdb', 'bs=1M'])],
    ['shred of a disk', (t: Trace) => t.run(701, '/usr/bin/shred', ['shred', '-n', '1', '/dev/nvme0n1'])],
  ])('%s is disk content wipe (T1561.001)', (_, steps) => {
    expect(steps(new Trace()).ids().get('destructive.disk-wipe')).toEqual(['T1561.001']);
  });

  it.each([
    ['wipefs', ['wipefs', '-a', '/dev/sda']],
    ['mkfs', ['mkfs.ext4', '/dev/sdb1']],
    ['zeroing the boot sector', ['dd', 'if=/dev/zero', 'of=/dev/sda', 'bs=512', 'count=1']],
    ['sgdisk --zap-all', ['sgdisk', '--zap-all', '/dev/sda']],
  ])('%s is disk structure wipe (T1561.002)', (_, argv) => {
    expect(new Trace().run(701, `/sbin/${argv[0]}`, argv).ids().get('destructive.disk-structure-wipe')).toEqual([
      'T1561.002',
    ]);
  });

  it('writing /dev/null and listing partitions are not', () => {
    const ids = new Trace()
      .open(SAMPLE, '/dev/null', 'O_WRONLY|O_CREAT|O_TRUNC')
      .run(701, '/bin/dd', ['dd', 'if=/dev/zero', 'of=/dev/null', 'count=1'])
      .run(702, '/sbin/parted', ['parted', '/dev/sda', 'print'])
      .ids();
    expect(ids.has('destructive.disk-wipe')).toBe(false);
    expect(ids.has('destructive.disk-structure-wipe')).toBe(false);
  });
});

describe('services and processes', () => {
  it.each([
    ['systemctl stop nginx', '/usr/bin/systemctl', ['systemctl', 'stop', 'nginx']],
    [
      'systemctl disable --now mariadb.service',
      '/usr/bin/systemctl',
      ['systemctl', 'disable', '--now', 'mariadb.service'],
    ],
    ['service mysql stop', '/usr/sbin/service', ['service', 'mysql', 'stop']],
    ['/etc/init.d/apache2 stop', '/etc/init.d/apache2', ['/etc/init.d/apache2', 'stop']],
    ['pkill -f postgres', '/usr/bin/pkill', ['pkill', '-f', 'postgres']],
    ['killall -9 mongod', '/usr/bin/killall', ['killall', '-9', 'mongod']],
    ['docker stop web', '/usr/bin/docker', ['docker', 'stop', 'web']],
  ])('%s is T1489', (_, path, argv) => {
    expect(new Trace().run(701, path, argv).ids().get('destructive.service-stop')).toEqual(['T1489']);
  });

  it.each([
    ['systemctl status nginx', ['systemctl', 'status', 'nginx']],
    ['stopping syslog (defence evasion, not service stop)', ['systemctl', 'stop', 'rsyslog']],
    ['pkill of its own worker', ['pkill', '-f', 'my_worker.py']],
    ['removing a test container', ['docker', 'rm', '-f', 'test-db']],
  ])('%s is not', (_, argv) => {
    expect(new Trace().run(701, `/usr/bin/${argv[0]}`, argv).ids().has('destructive.service-stop')).toBe(false);
  });

  it('kill -1 is T1489; killing one pid is not', () => {
    expect(new Trace().call(SAMPLE, 'kill(-1, SIGKILL)').ids().get('destructive.kill-all')).toEqual(['T1489']);
    expect(new Trace().call(SAMPLE, 'kill(4242, SIGTERM)').ids().has('destructive.kill-all')).toBe(false);
  });

  it('ten refused forks are a fork bomb (T1499); three are not', () => {
    const refused = (n: number) => {
      const t = new Trace();
      for (let i = 0; i < n; i++)
        t.call(SAMPLE, 'clone(child_stack=NULL, flags=SIGCHLD)', '-1 EAGAIN (Resource temporarily unavailable)');
      return t.ids();
    };
    expect(refused(10).get('destructive.fork-bomb')).toEqual(['T1499']);
    expect(refused(3).has('destructive.fork-bomb')).toBe(false);
  });

  it('fork-bomb code is T1499, whatever the function is called; an ordinary function is not', () => {
    const run = (code: string) => new Trace().run(701, '/bin/bash', ['bash', '-c', code]).ids();
    expect(run(':(){ :|:& };:').get('destructive.fork-bomb-code')).toEqual(['T1499']);
    expect(run('bomb() { bomb | bomb & }; bomb').get('destructive.fork-bomb-code')).toEqual(['T1499']);
    expect(run('f() { echo hi | cat; }; f').has('destructive.fork-bomb-code')).toBe(false);
  });
});

describeRules([
  {
    id: 'destructive.system-shutdown',
    attack: ['T1529'],
    positive: [
      ['runs shutdown -r now', (s) => s.run(['shutdown', '-r', 'now'])],
      ['runs reboot', (s) => s.run(['reboot'])],
      ['runs halt -p', (s) => s.run(['halt', '-p'])],
      ['runs systemctl poweroff', (s) => s.run(['systemctl', '--force', 'poweroff'])],
      ['switches to runlevel 0', (s) => s.run(['init', '0'])],
      ['writes to /proc/sysrq-trigger', (s) => s.write('/proc/sysrq-trigger', false)],
    ],
    benign: [
      ['cancels a pending shutdown', (s) => s.run(['shutdown', '-c'])],
      ['asks systemctl for status', (s) => s.run(['systemctl', 'status', 'reboot.target'])],
      ['asks reboot for help', (s) => s.run(['reboot', '--help'])],
    ],
  },
  {
    id: 'destructive.account-access-removal',
    attack: ['T1531'],
    positive: [
      ['locks an account', (s) => s.run(['passwd', '-l', 'alice'])],
      ['sets another user a password', (s) => s.run(['passwd', 'alice'])],
      ['expires an account', (s) => s.run(['usermod', '--expiredate', '1', 'alice'])],
      ['deletes a user', (s) => s.run(['userdel', '-r', 'alice'])],
    ],
    benign: [
      ['asks passwd for status', (s) => s.run(['passwd', '-S', 'alice'])],
      ['sets passwords through chpasswd (new accounts too)', (s) => s.run(['chpasswd'])],
      ['adds a user to a group', (s) => s.run(['usermod', '-aG', 'docker', 'alice'])],
      ['lists password ageing', (s) => s.run(['chage', '-l', 'alice'])],
    ],
  },
]);
