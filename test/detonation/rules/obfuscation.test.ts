import { HOME } from './trace-script';
import { describeRules } from './rule-table';

/**
 * Defence evasion on files: system programs copied under other names, names ending in a space,
 * packing, padding and permission changes, each against the everyday look-alike (an installer
 * linking python3 as python, unpacking with upx -d, growing a disk image, chmod of its own script).
 */
describeRules([
  {
    id: 'evasion.renamed-utility',
    attack: ['T1036.003'],
    positive: [
      ['copies /bin/sh to /tmp/crond', (s) => s.run(['cp', '/bin/sh', '/tmp/crond'])],
      ['copies curl to a hidden name', (s) => s.run(['cp', '-p', '/usr/bin/curl', `${HOME}/.cache/kworker`])],
    ],
    benign: [
      ['copies python3 as python', (s) => s.run(['cp', '/usr/bin/python3', `${HOME}/venv/bin/python`])],
      ['copies a tool into a directory', (s) => s.run(['cp', '/usr/bin/jq', `${HOME}/bin/`])],
      ['copies its own build output', (s) => s.run(['cp', `${HOME}/build/app`, `${HOME}/bin/app-1.2`])],
      ['backs up a system tool with a suffix', (s) => s.run(['cp', '/usr/bin/env', '/tmp/env.bak'])],
    ],
  },
  {
    id: 'evasion.trailing-space',
    attack: ['T1036.006'],
    positive: [
      ['writes a file whose name ends in a space', (s) => s.write('/tmp/invoice.txt ')],
      ['runs one', (s) => s.run(['/tmp/invoice.txt '])],
    ],
    benign: [['writes a file with a space inside its name', (s) => s.write(`${HOME}/my notes.txt`)]],
  },
  {
    id: 'evasion.packer',
    attack: ['T1027.002'],
    positive: [['packs a binary with upx', (s) => s.run(['upx', '-9', '-o', '/tmp/p', `${HOME}/a.out`])]],
    benign: [
      ['unpacks with upx -d', (s) => s.run(['upx', '-d', `${HOME}/tool`])],
      ['asks upx for its version', (s) => s.run(['upx', '--version'])],
    ],
  },
  {
    id: 'evasion.binary-padding',
    attack: ['T1027.001'],
    positive: [
      ['grows a binary by one byte with truncate', (s) => s.run(['truncate', '-s', '+1', '/tmp/evil'])],
      ['appends a zero with dd in a shell', (s) => s.run(['sh', '-c', 'dd if=/dev/zero bs=1 count=1 >> /tmp/evil'])],
      [
        'appends with dd oflag=append',
        (s) => s.run(['dd', 'if=/dev/urandom', 'of=/tmp/evil', 'bs=1', 'count=4', 'oflag=append', 'conv=notrunc']),
      ],
    ],
    benign: [
      ['grows a disk image', (s) => s.run(['truncate', '-s', '+1G', `${HOME}/vm/disk.img`])],
      ['empties a log file with truncate', (s) => s.run(['truncate', '-s', '0', `${HOME}/app.log`])],
      ['makes a swap file with dd', (s) => s.run(['dd', 'if=/dev/zero', 'of=/tmp/swapfile', 'bs=1M', 'count=8'])],
    ],
  },
  {
    id: 'evasion.file-permissions',
    attack: ['T1222.002'],
    positive: [
      ['clears the immutable bit of a crontab', (s) => s.run(['chattr', '-i', '/var/spool/cron/root'])],
      ['locks a file immutable', (s) => s.run(['chattr', '+ia', `${HOME}/.ssh/authorized_keys`])],
      ['makes /etc/passwd world-writable', (s) => s.run(['chmod', '666', '/etc/passwd'])],
      ['gives itself a system binary', (s) => s.run(['chown', 'sandbox', '/usr/bin/passwd'])],
      ['changes a system file mode directly', (s) => s.chmod('/etc/shadow', '0644')],
    ],
    benign: [
      ['lists attributes with lsattr', (s) => s.run(['lsattr', '/etc/passwd'])],
      ['makes its own script executable', (s) => s.run(['chmod', '+x', `${HOME}/build.sh`])],
      ['hands its build tree to a user', (s) => s.run(['chown', '-R', 'app:app', `${HOME}/dist`])],
      ['sets the mode of a tool it installed in /usr/local', (s) => s.run(['chmod', '755', '/usr/local/bin/tool'])],
    ],
  },
  {
    id: 'evasion.double-extension',
    attack: ['T1036.007'],
    positive: [
      ['writes report.pdf.sh', (s) => s.write('/tmp/report.pdf.sh')],
      ['runs it', (s) => s.run(['/tmp/report.pdf.sh'])],
      ['runs invoice.doc.py with python', (s) => s.run(['python3', `${HOME}/invoice.doc.py`])],
    ],
    benign: [
      ['writes a compressed tarball', (s) => s.write(`${HOME}/dist/app-1.2.tar.gz`)],
      ['runs a script with a version in its name', (s) => s.run(['sh', `${HOME}/install-1.2.sh`])],
    ],
  },
  {
    id: 'evasion.type-masquerading',
    attack: ['T1036.008'],
    positive: [
      ['runs a shell script named image.png', (s) => s.run(['sh', '/tmp/image.png'])],
      ['runs a program named notes.pdf', (s) => s.run(['/tmp/notes.pdf'])],
    ],
    benign: [
      ['opens a picture with a viewer', (s) => s.run(['xdg-open', `${HOME}/image.png`])],
      ['converts a PDF with python -m', (s) => s.run(['python3', '-m', 'pdfminer', `${HOME}/a.pdf`])],
    ],
  },
  {
    id: 'evasion.permission-change',
    attack: ['T1222.002'],
    positive: [
      [
        'changes the owner of a file',
        (s) => s.call('fchownat(AT_FDCWD, "/tmp/atomic", 0, 0, 0)', '-1 EPERM (Operation not permitted)'),
      ],
      ['opens up a file it did not make', (s) => s.chmod('/tmp/atomics/x', '0777')],
    ],
    benign: [
      ['makes the script it wrote executable', (s) => s.write('/tmp/w/run.sh').chmod('/tmp/w/run.sh', '0755')],
      ['asks chown for its version (no call)', (s) => s.run(['chown', '--version'])],
    ],
  },
]);

describeRules([
  {
    id: 'evasion.root-certificate',
    attack: ['T1553.004'],
    positive: [
      ['copies a CA into the RHEL anchors', (s) => s.run(['cp', 'rootCA.crt', '/etc/pki/ca-trust/source/anchors/'])],
      ['writes a CA for update-ca-certificates', (s) => s.write('/usr/local/share/ca-certificates/evil.crt', false)],
      ['runs update-ca-trust', (s) => s.run(['update-ca-trust'])],
    ],
    benign: [
      ['reads the system bundle', (s) => s.read('/etc/ssl/certs/ca-certificates.crt')],
      ['lists trust anchors', (s) => s.run(['trust', 'list'])],
    ],
  },
  {
    id: 'evasion.set-clock',
    attack: ['T1070.006'],
    positive: [
      ['sets the date to 1971', (s) => s.run(['date', '010100001971'])],
      ['sets the date with -s', (s) => s.run(['date', '-s', '2001-01-01 00:00'])],
      ['sets the time with timedatectl', (s) => s.run(['timedatectl', 'set-time', '2001-01-01'])],
    ],
    benign: [
      ['formats the date', (s) => s.run(['date', '+%m%d%H%M%Y'])],
      ['prints a given date', (s) => s.run(['date', '-d', '20240101', '+%s'])],
    ],
  },
]);
