import { describe, expect, it } from 'vitest';
import { describeRules, type RuleCases } from './rule-table';
import { HOME, SAMPLE_PID, sample, type TraceScript } from './trace-script';

/**
 * Defence-evasion rules: each raises its own ATT&CK sub-technique on what the sample does
 * (attempts refused to the sandbox user included), and stays silent on the everyday look-alike:
 * process listers reading /proc, log rotation, builds and installs.
 */

/** `ps` run by the sample: it reads every process's status and cgroup, its own and the sample's. */
const ps = (s: TraceScript) => {
  s.fork().exec('/usr/bin/ps', ['ps', '-ef']);
  const self = s.pid;
  return s
    .read(`/proc/${self}/status`)
    .read(`/proc/${SAMPLE_PID}/status`)
    .read(`/proc/${SAMPLE_PID}/cgroup`)
    .read('/proc/1/cgroup')
    .as();
};

const RULES: RuleCases[] = [
  {
    id: 'evasion.debugger-check',
    attack: ['T1622'],
    positive: [
      ['calls ptrace(PTRACE_TRACEME)', (s) => s.call('ptrace(PTRACE_TRACEME)', '-1 EPERM (Operation not permitted)')],
      ['reads its own status (TracerPid)', (s) => s.read('/proc/self/status')],
      ['reads its parent sample status from a child', (s) => s.fork().read(`/proc/${SAMPLE_PID}/status`)],
    ],
    benign: [
      ['runs ps', ps],
      ['runs pgrep', (s) => s.fork().exec('/usr/bin/pgrep', ['pgrep', 'x']).read('/proc/self/status')],
    ],
  },
  {
    id: 'evasion.sandbox-check',
    attack: ['T1497.001'],
    positive: [
      ['looks for /.dockerenv', (s) => s.call('access("/.dockerenv", F_OK)', '0')],
      ['reads /proc/1/cgroup', (s) => s.read('/proc/1/cgroup')],
      ['reads the DMI product name', (s) => s.read('/sys/class/dmi/id/product_name')],
    ],
    benign: [
      ['runs ps', ps],
      ['reads its own cgroup to size itself, as Node, Java and Go do', (s) => s.read('/proc/self/cgroup')],
    ],
  },
  {
    id: 'evasion.self-deletion',
    attack: ['T1070.004'],
    positive: [['deletes its own file', (s) => s.unlink(`${HOME}/s`)]],
    benign: [['deletes a temporary file', (s) => s.write(`${HOME}/tmp.txt`).unlink(`${HOME}/tmp.txt`)]],
  },
  {
    id: 'evasion.clear-system-logs',
    attack: ['T1070.002'],
    positive: [
      ['empties /var/log/auth.log', (s) => s.write('/var/log/auth.log', false)],
      ['truncates wtmp', (s) => s.truncate('/var/log/wtmp', false)],
      ['deletes syslog', (s) => s.unlink('/var/log/syslog', false)],
      ['links a log to /dev/null', (s) => s.run(['ln', '-sf', '/dev/null', '/var/log/auth.log'])],
      ['vacuums the journal', (s) => s.run(['journalctl', '--vacuum-time=1s'])],
      ["empties root's mail spool", (s) => s.write('/var/spool/mail/root', false)],
      ['zeroes syslog with dd', (s) => s.run(['dd', 'if=/dev/zero', 'of=/var/log/syslog', 'count=1'])],
    ],
    benign: [
      ['rotates its own log', (s) => s.append(`${HOME}/app.log`).rename(`${HOME}/app.log`, `${HOME}/app.log.1`)],
      ['truncates a log it created', (s) => s.append(`${HOME}/app.log`).write(`${HOME}/app.log`)],
      ['reads /var/log/syslog', (s) => s.read('/var/log/syslog', false)],
      ['copies syslog aside with dd', (s) => s.run(['dd', 'if=/var/log/syslog', `of=${HOME}/syslog.copy`])],
    ],
  },
  {
    id: 'evasion.clear-history',
    attack: ['T1070.003'],
    positive: [
      ['empties ~/.bash_history', (s) => s.write(`${HOME}/.bash_history`)],
      ['deletes ~/.zsh_history', (s) => s.unlink(`${HOME}/.zsh_history`)],
      [
        'links ~/.bash_history to /dev/null',
        (s) => s.unlink(`${HOME}/.bash_history`).symlink('/dev/null', `${HOME}/.bash_history`),
      ],
      ['runs history -c', (s) => s.run(['bash', '-c', 'history -c; id'])],
    ],
    benign: [
      ['reads ~/.bash_history', (s) => s.read(`${HOME}/.bash_history`)],
      ['runs history (listing)', (s) => s.run(['bash', '-c', 'history | tail'])],
      ['only stops history being kept (T1562.003)', (s) => s.run(['sh', '-c', 'unset HISTFILE; id'])],
    ],
  },
  {
    id: 'evasion.impair-history',
    attack: ['T1562.003'],
    positive: [
      ['runs a shell with HISTFILE=/dev/null', (s) => s.run(['bash', '-i'], ['HISTFILE=/dev/null', 'PATH=/bin'])],
      ['unsets HISTFILE in a command string', (s) => s.run(['sh', '-c', 'unset HISTFILE; id'])],
      ['turns history off with set +o history', (s) => s.run(['bash', '-c', 'set +o history; id'])],
      ['exports HISTCONTROL=ignoreboth', (s) => s.run(['whoami'], ['HISTCONTROL=ignoreboth', 'PATH=/bin'])],
      ['exports HISTFILESIZE=0', (s) => s.run(['whoami'], ['HISTFILESIZE=0', 'PATH=/bin'])],
      ['exports a HISTIGNORE pattern', (s) => s.run(['groups'], ['HISTIGNORE=ls*:rm*:ssh*', 'PATH=/bin'])],
    ],
    benign: [
      ['exports HISTCONTROL=ignoredups', (s) => s.run(['whoami'], ['HISTCONTROL=ignoredups', 'PATH=/bin'])],
      ['exports a large HISTSIZE', (s) => s.run(['whoami'], ['HISTSIZE=10000', 'PATH=/bin'])],
      ['prints HISTFILE', (s) => s.run(['sh', '-c', 'echo $HISTFILE'])],
    ],
  },
  {
    id: 'evasion.secure-delete',
    attack: ['T1070.004'],
    positive: [
      ['shreds a tool it wrote', (s) => s.write(`${HOME}/loader`).run(['shred', '-u', '-z', `${HOME}/loader`])],
      ['shreds its own tools, flags combined', (s) => s.write(`${HOME}/.kit/scan`).run(['shred', '-fuz', '.kit/scan'])],
      ['shreds a file in /tmp (a dropped tool)', (s) => s.run(['shred', '-u', '/tmp/victim-shred.txt'])],
    ],
    benign: [
      [
        "shreds the victim's document (destruction, T1485, not hiding a trace)",
        (s) => s.run(['shred', '-u', `${HOME}/Documents/plan.docx`]),
      ],
      ['removes a file with rm', (s) => s.run(['rm', '-f', `${HOME}/loader`])],
      ['shreds a disk (wiping, not hiding a file)', (s) => s.run(['shred', '-n', '1', '/dev/sdb'])],
    ],
  },
  {
    id: 'evasion.timestomp',
    attack: ['T1070.006'],
    positive: [
      ['copies times from /bin/ls', (s) => s.run(['touch', '-r', '/bin/ls', `${HOME}/loader`])],
      ['sets a date', (s) => s.run(['touch', '-d', '2019-01-01 00:00', `${HOME}/loader`])],
      ['sets a stamp', (s) => s.run(['touch', '-a', '-m', '-t', '201901010000', `${HOME}/loader`])],
      [
        'backdates a tool it just dropped to match /bin (its own file counts)',
        (s) => s.write('/tmp/.x/kworker').run(['touch', '-r', '/bin/bash', '/tmp/.x/kworker']),
      ],
    ],
    benign: [
      ['touches a stamp file', (s) => s.run(['touch', `${HOME}/build/.stamp`])],
      ['touches without creating', (s) => s.run(['touch', '-c', `${HOME}/build/out.o`])],
      ['reads a date with date -d (not touch)', (s) => s.run(['date', '-d', '10 days ago', '+%s'])],
    ],
  },
  {
    id: 'evasion.disable-logging',
    attack: ['T1562.006', 'T1562.001'],
    positive: [
      ['stops rsyslog', (s) => s.run(['systemctl', 'stop', 'rsyslog'])],
      ['stops syslog through service', (s) => s.run(['service', 'rsyslog', 'stop'])],
      ['rewrites the journald configuration', (s) => s.write('/etc/systemd/journald.conf', false)],
    ],
    benign: [
      ['restarts rsyslog', (s) => s.run(['systemctl', 'restart', 'rsyslog'])],
      ['stops its own service', (s) => s.run(['systemctl', '--user', 'stop', 'myapp'])],
    ],
  },
  {
    id: 'evasion.disable-audit',
    attack: ['T1562.012'],
    positive: [
      ['turns auditing off', (s) => s.run(['auditctl', '-e', '0'])],
      ['deletes the audit rules', (s) => s.run(['auditctl', '-D'])],
      ['stops auditd', (s) => s.run(['systemctl', 'stop', 'auditd'])],
      ['removes auditd from the OpenRC runlevels', (s) => s.run(['rc-update', 'del', 'auditd'])],
      ['kills auditd by name', (s) => s.run(['pkill', 'auditd'])],
      ['rewrites the audit rules', (s) => s.write('/etc/audit/rules.d/audit.rules', false)],
    ],
    benign: [
      ['lists the audit rules', (s) => s.run(['auditctl', '-l'])],
      ['asks for the audit status', (s) => s.run(['service', 'auditd', 'status'])],
    ],
  },
  {
    id: 'evasion.disable-security-tools',
    attack: ['T1562.001'],
    positive: [
      ['sets SELinux permissive', (s) => s.run(['setenforce', '0'])],
      ['writes the SELinux configuration', (s) => s.write('/etc/selinux/config', false)],
      ['stops AppArmor', (s) => s.run(['systemctl', 'disable', 'apparmor'])],
      [
        "turns Defender's real-time protection off",
        (s) => s.run(['mdatp', 'config', 'real-time-protection', '--value', 'disabled']),
      ],
      ['turns ASLR off', (s) => s.run(['sysctl', '-w', 'kernel.randomize_va_space=0'])],
      ['writes randomize_va_space', (s) => s.write('/proc/sys/kernel/randomize_va_space', false)],
      ['stops the Carbon Black sensor (old init)', (s) => s.run(['service', 'cbdaemon', 'stop'])],
      ['turns the Carbon Black sensor off at boot', (s) => s.run(['chkconfig', 'off', 'cbdaemon'])],
      [
        'edits the SELinux configuration with sed -i',
        (s) => s.run(['sed', '-i', 's/enforcing/disabled/', '/etc/selinux/config']),
      ],
    ],
    benign: [
      ['asks for the SELinux mode', (s) => s.run(['getenforce'])],
      ['sets SELinux enforcing', (s) => s.run(['setenforce', '1'])],
      ['asks Defender for its health', (s) => s.run(['mdatp', 'health'])],
      ['reads the ASLR setting', (s) => s.run(['sysctl', 'kernel.randomize_va_space'])],
      ['reads the SELinux configuration with sed', (s) => s.run(['sed', '-n', '/^SELINUX=/p', '/etc/selinux/config'])],
    ],
  },
  {
    id: 'evasion.impair-forensics',
    attack: ['T1562.001'],
    positive: [
      ['drops the page cache', (s) => s.write('/proc/sys/vm/drop_caches', false)],
      ['drops the page cache through sysctl', (s) => s.run(['sysctl', '-w', 'vm.drop_caches=3'])],
      ['turns all swap off', (s) => s.run(['swapoff', '-a'])],
    ],
    benign: [
      ['reads memory figures', (s) => s.run(['free', '-m'])],
      ['lists swap', (s) => s.run(['swapon', '--show'])],
      ['reads the drop_caches setting', (s) => s.read('/proc/sys/vm/drop_caches')],
    ],
  },
  {
    id: 'evasion.disable-firewall',
    attack: ['T1562.004'],
    positive: [
      ['disables ufw', (s) => s.run(['ufw', 'disable'])],
      ['flushes iptables', (s) => s.run(['iptables', '-F'])],
      ['accepts everything', (s) => s.run(['iptables', '-P', 'INPUT', 'ACCEPT'])],
      ['flushes nftables', (s) => s.run(['nft', 'flush', 'ruleset'])],
      ['stops firewalld', (s) => s.run(['systemctl', 'stop', 'firewalld'])],
      ['turns ufw logging off', (s) => s.run(['ufw', 'logging', 'off'])],
      ['disables pf', (s) => s.run(['pfctl', '-d'])],
      ['stops the pf service', (s) => s.run(['service', 'pf', 'stop'])],
    ],
    benign: [
      ['lists iptables rules', (s) => s.run(['iptables', '-L', '-n'])],
      ['asks ufw for its status', (s) => s.run(['ufw', 'status'])],
      ['adds a deny rule (a change, not a disable)', (s) => s.run(['ufw', 'prepend', 'deny', 'from', '1.2.3.4'])],
    ],
  },
  {
    id: 'evasion.modify-firewall',
    attack: ['T1562.004'],
    positive: [
      ['prepends a ufw rule', (s) => s.run(['ufw', 'prepend', 'deny', 'from', '1.2.3.4'])],
      [
        'deletes an iptables rule',
        (s) => s.run(['iptables', '-D', 'OUTPUT', '-p', 'tcp', '--dport', '21', '-j', 'DROP']),
      ],
      ['appends to ufw user.rules', (s) => s.append('/etc/ufw/user.rules', false)],
      ['edits /etc/default/ufw with sed -i', (s) => s.run(['sed', '-i', 's/IPV6=yes/IPV6=no/', '/etc/default/ufw'])],
      ['opens a port in firewalld', (s) => s.run(['firewall-cmd', '--add-port=4444/tcp'])],
    ],
    benign: [
      ['lists ufw rules numbered', (s) => s.run(['ufw', 'status', 'numbered'])],
      ['checks for an iptables rule', (s) => s.run(['iptables', '-C', 'INPUT', '-j', 'ACCEPT'])],
      ['reads the ufw log', (s) => s.read('/var/log/ufw.log')],
      ['lists nftables', (s) => s.run(['nft', 'list', 'ruleset'])],
    ],
  },
  {
    id: 'evasion.masquerading',
    attack: ['T1036.004'],
    positive: [
      ['names itself a kernel worker', (s) => s.call('prctl(PR_SET_NAME, "kworker/0:2")', '0')],
      ['runs with argv[0] in brackets', (s) => s.fork().exec(`${HOME}/x`, ['[kthreadd]'])],
      ['runs a program as sshd', (s) => s.fork().exec(`${HOME}/x`, ['sshd', '-D'])],
    ],
    benign: [
      ['names a worker thread', (s) => s.call('prctl(PR_SET_NAME, "worker-3")', '0')],
      ['runs sshd as itself', (s) => s.fork().exec('/usr/sbin/sshd', ['sshd', '-t'])],
    ],
  },
  {
    id: 'evasion.system-name',
    attack: ['T1036.005'],
    positive: [
      ['runs a dropped program named kworker', (s) => s.write('/tmp/kworker').fork().exec('/tmp/kworker', ['kworker'])],
      ['runs a program named sshd from its home', (s) => s.fork().exec(`${HOME}/.cache/sshd`, ['sshd'])],
    ],
    benign: [
      ['runs the real sshd', (s) => s.fork().exec('/usr/sbin/sshd', ['sshd', '-t'])],
      ['runs a program of its own', (s) => s.fork().exec(`${HOME}/build/app`, ['app'])],
    ],
  },
  {
    id: 'evasion.dot-directory',
    attack: ['T1036.005'],
    positive: [
      ['makes a "..." directory in its home', (s) => s.mkdir(`${HOME}/...`)],
      ['makes a ".. " directory in /tmp', (s) => s.mkdir('/tmp/.. ')],
      ['runs a shell copied into "..."', (s) => s.fork().exec(`${HOME}/.../sh`, ['sh', '-c', 'id'])],
    ],
    benign: [
      ['makes a dot directory', (s) => s.mkdir(`${HOME}/.config`)],
      ['runs a program through ../', (s) => s.fork().exec(`${HOME}/build/../bin/tool`, ['tool'])],
    ],
  },
  {
    id: 'evasion.hidden-path',
    attack: ['T1564.001'],
    positive: [
      ['makes a dot directory in /tmp', (s) => s.mkdir('/tmp/.cache-x')],
      ['writes a dot file in /dev/shm', (s) => s.write('/dev/shm/.x')],
    ],
    benign: [
      ['makes ~/.cache', (s) => s.mkdir(`${HOME}/.cache`)],
      ['makes a "..." directory (masquerading, T1036.005)', (s) => s.mkdir(`${HOME}/...`)],
      ['makes a plain directory in /tmp', (s) => s.mkdir('/tmp/build-1')],
      ['makes the X socket directory', (s) => s.mkdir('/tmp/.X11-unix', false)],
      ['makes a Rust tempfile directory', (s) => s.mkdir('/tmp/.tmpA1b2C3')],
      ['starts a headless Chromium', (s) => s.mkdir('/tmp/.org.chromium.Chromium.x4Zq9T')],
    ],
  },
  {
    id: 'evasion.decode-to-shell',
    attack: ['T1140'],
    positive: [
      ['pipes base64 -d into sh in one command', (s) => s.run(['sh', '-c', 'echo aWQK | base64 -d | sh'])],
      ['runs base64 -d and a stdin-fed sh as a pipeline', (s) => s.run(['base64', '-d']).run(['sh'])],
      ['starts the shell before the decoder', (s) => s.run(['bash', '-s']).run(['base64', '--decode'])],
      ['pipes xxd -r into bash', (s) => s.run(['xxd', '-r', '-p']).run(['bash'])],
    ],
    benign: [
      ['decodes to a file, runs a script much later', (s) => s.run(['base64', '-d']).pause(30).run(['sh'])],
      ['decodes and runs a named script', (s) => s.run(['base64', '-d']).run(['sh', `${HOME}/build.sh`])],
      ['encodes and pipes to a shell', (s) => s.run(['sh', '-c', 'base64 file | sh'])],
    ],
  },
  {
    id: 'evasion.decode-to-python',
    attack: ['T1140'],
    positive: [
      [
        'execs a base64-decoded string',
        (s) => s.run(['python3', '-c', 'import base64;exec(base64.b64decode("cHJpbnQoMSk="))']),
      ],
      ['pipes base64 -d into python3', (s) => s.run(['base64', '-d']).run(['python3'])],
    ],
    benign: [
      ['decodes base64 to print it', (s) => s.run(['python3', '-c', 'import base64;print(base64.b64decode("eA=="))'])],
      ['runs a script', (s) => s.run(['base64', '-d']).run(['python3', `${HOME}/tool.py`])],
    ],
  },
  {
    id: 'evasion.fileless',
    attack: ['T1620'],
    positive: [['runs a program from a memfd', (s) => s.fork().exec('/proc/self/fd/3', ['x'])]],
    benign: [['runs a program from disk', (s) => s.fork().exec('/usr/bin/id', ['id'])]],
  },
  {
    id: 'evasion.agent-probe',
    attack: ['T1497.001'],
    positive: [['reads the agent', (s) => s.read('/opt/sandtrap/agent.js', false)]],
    benign: [
      ['reads /opt of its own', (s) => s.read('/opt/tool/lib.js', false)],
      [
        'walks /opt looking for credential files',
        (s) => s.fork().exec('/usr/bin/find', ['find', '/opt', '-name', 'credentials']).read('/opt/sandtrap', false),
      ],
    ],
  },
];

describeRules(RULES);

describe('benign context for the evasion rules', () => {
  it('raises nothing on ps, pgrep and top listing processes', () => {
    const s = ps(sample());
    s.fork().exec('/usr/bin/top', ['top', '-b', '-n1']);
    s.read(`/proc/${s.pid}/status`).read(`/proc/${SAMPLE_PID}/status`).read(`/proc/${SAMPLE_PID}/cgroup`);
    expect([...s.judge().keys()]).toEqual([]);
  });

  it('raises nothing on log rotation (six generations)', () => {
    const s = sample().append(`${HOME}/app.log`);
    for (let n = 5; n >= 1; n--) s.rename(`${HOME}/app.log.${n}`, `${HOME}/app.log.${n + 1}`);
    s.rename(`${HOME}/app.log`, `${HOME}/app.log.1`).append(`${HOME}/app.log`);
    expect([...s.judge().keys()].filter((id) => id.startsWith('evasion.'))).toEqual([]);
  });
});
