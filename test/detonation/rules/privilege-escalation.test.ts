import { describe, expect, it } from 'vitest';
import { describeRules, type RuleCases } from './rule-table';
import { HOME, sample } from './trace-script';

/**
 * Privilege-escalation rules: each raises its own ATT&CK sub-technique on what the sample does
 * (attempts refused to the sandbox user included), and stays silent on the everyday look-alike.
 */

const RULES: RuleCases[] = [
  {
    id: 'privilegeEscalation.setuid-bit',
    attack: ['T1548.001'],
    positive: [
      ['sets 04755 with chmod(2)', (s) => s.chmod(`${HOME}/helper`, '04755')],
      ['runs chmod u+s', (s) => s.run(['chmod', 'u+s', `${HOME}/helper`])],
      ['runs chmod g+s', (s) => s.run(['chmod', 'g+s', `${HOME}/helper`])],
      ['runs chmod 4755', (s) => s.run(['chmod', '4755', '/usr/bin/find'])],
    ],
    benign: [
      ['runs chmod +x', (s) => s.run(['chmod', '+x', `${HOME}/build.sh`])],
      ['runs chmod 0755', (s) => s.run(['chmod', '0755', `${HOME}/build.sh`])],
      ['sets the sticky bit on a shared directory', (s) => s.run(['chmod', '1777', `${HOME}/shared`])],
      ['sets 0755 with chmod(2)', (s) => s.chmod(`${HOME}/build.sh`, '0755')],
    ],
  },
  {
    id: 'privilegeEscalation.setuid-search',
    attack: ['T1548.001'],
    positive: [
      ['finds setuid programs', (s) => s.run(['find', '/', '-perm', '-4000', '-type', 'f'])],
      ['finds setgid programs symbolically', (s) => s.run(['find', '/usr/bin', '-perm', '-g=s'])],
      ['finds either bit', (s) => s.run(['find', '/', '-perm', '/6000'])],
    ],
    benign: [
      ['finds world-writable files', (s) => s.run(['find', '/srv', '-perm', '-o+w'])],
      ['finds files by an ordinary mode', (s) => s.run(['find', '.', '-perm', '644'])],
    ],
  },
  {
    id: 'privilegeEscalation.capabilities',
    attack: ['T1548.001'],
    positive: [['gives python cap_setuid', (s) => s.run(['setcap', 'cap_setuid+ep', `${HOME}/python3`])]],
    benign: [['lists capabilities with getcap', (s) => s.run(['getcap', '-r', '/usr/bin'])]],
  },
  {
    id: 'privilegeEscalation.sudo',
    attack: ['T1548.003'],
    positive: [
      ['runs a command through sudo', (s) => s.run(['sudo', 'cat', '/etc/shadow'])],
      ['runs su', (s) => s.run(['su', '-c', 'id', 'root'])],
    ],
    benign: [
      ['asks sudo for its version', (s) => s.run(['sudo', '--version'])],
      ['only probes the cache (the caching rule)', (s) => s.run(['sudo', '-n', 'true'])],
    ],
  },
  {
    id: 'privilegeEscalation.sudo-caching',
    attack: ['T1548.003'],
    positive: [
      ['refreshes the cached credentials', (s) => s.run(['sudo', '-v'])],
      ['asks non-interactively whether sudo would run', (s) => s.run(['sudo', '-n', 'true'])],
    ],
    benign: [['runs a command through sudo (the sudo rule)', (s) => s.run(['sudo', 'apt-get', 'update'])]],
  },
  {
    id: 'privilegeEscalation.sudo-timestamp',
    attack: ['T1548.003'],
    positive: [
      ['reads the timestamp directory', (s) => s.read('/run/sudo/ts/sandbox', false)],
      ['forges a timestamp file', (s) => s.write('/var/run/sudo/ts/sandbox', false)],
    ],
    benign: [
      [
        'runs sudo, which reads its own timestamp',
        (s) => s.fork().exec('/usr/bin/sudo', ['sudo', 'id']).read('/run/sudo/ts/sandbox', false),
      ],
    ],
  },
  {
    id: 'privilegeEscalation.sudoers',
    attack: ['T1548.003'],
    positive: [
      ['writes /etc/sudoers.d', (s) => s.write('/etc/sudoers.d/svc', false)],
      ['appends to /etc/sudoers', (s) => s.append('/etc/sudoers', false)],
      ['runs visudo', (s) => s.run(['visudo', '-f', '/etc/sudoers.d/svc'])],
    ],
    benign: [['reads /etc/sudoers', (s) => s.read('/etc/sudoers', false)]],
  },
  {
    id: 'privilegeEscalation.sudoers-read',
    attack: ['T1548.003'],
    positive: [
      ['tries to read /etc/sudoers and is refused', (s) => s.read('/etc/sudoers', false)],
      ['reads a drop-in of /etc/sudoers.d', (s) => s.read('/etc/sudoers.d/90-cloud-init-users')],
      [
        'cats the sudoers file',
        (s) => s.fork().exec('/usr/bin/cat', ['cat', '/etc/sudoers']).read('/etc/sudoers', false),
      ],
    ],
    benign: [
      [
        'runs sudo, which reads its rules itself',
        (s) => s.fork().exec('/usr/bin/sudo', ['sudo', 'id']).read('/etc/sudoers'),
      ],
      ["reads sudo's plugin configuration", (s) => s.read('/etc/sudo.conf')],
    ],
  },
  {
    id: 'privilegeEscalation.account-files',
    attack: ['T1136.001'],
    positive: [['appends to /etc/passwd', (s) => s.append('/etc/passwd', false)]],
    benign: [
      ['reads /etc/passwd (every getpwnam does)', (s) => s.read('/etc/passwd')],
      [
        'runs usermod, which rewrites the file (judged by what it was asked)',
        (s) => s.fork().exec('/usr/sbin/usermod', ['usermod', '-L', 'bob']).append('/etc/passwd', false).as(),
      ],
    ],
  },
  {
    id: 'privilegeEscalation.root-uid',
    attack: ['T1548'],
    positive: [['calls setuid(0)', (s) => s.call('setuid(0)', '-1 EPERM (Operation not permitted)')]],
    benign: [['drops to its own uid', (s) => s.call('setuid(10001)', '0')]],
  },
  {
    id: 'privilegeEscalation.kernel-surface',
    attack: ['T1068'],
    positive: [
      ['unshares a user namespace', (s) => s.call('unshare(CLONE_NEWUSER)', '-1 EPERM (Operation not permitted)')],
    ],
    benign: [['unshares nothing of note', (s) => s.call('unshare(CLONE_FILES)', '0')]],
  },
  {
    id: 'privilegeEscalation.container-socket',
    attack: ['T1611'],
    positive: [
      [
        'connects to the Docker socket',
        (s) =>
          s.call(
            'connect(3<UNIX:[99]>, {sa_family=AF_UNIX, sun_path="/var/run/docker.sock"}, 110)',
            '-1 ENOENT (No such file or directory)',
          ),
      ],
    ],
    benign: [
      [
        'connects to the D-Bus socket',
        (s) =>
          s.call(
            'connect(3<UNIX:[99]>, {sa_family=AF_UNIX, sun_path="/run/dbus/system_bus_socket"}, 110)',
            '-1 ENOENT (No such file or directory)',
          ),
      ],
    ],
  },
];

describeRules(RULES);

describe('severity of sudo use', () => {
  it('keeps sudo itself low (installers probe it, admin scripts run through it); what runs through it is judged', () => {
    const probe = sample().run(['sudo', '-n', 'true']).judgeAll();
    expect(probe.find((i) => i.id === 'privilegeEscalation.sudo-caching')?.severity).toBe('low');
    expect(probe.every((i) => i.severity === 'low')).toBe(true);
    const restart = sample().run(['sudo', 'systemctl', 'restart', 'nginx']).judgeAll();
    expect(restart.find((i) => i.id === 'privilegeEscalation.sudo')?.severity).toBe('low');
    const run = sample().run(['sudo', 'cat', '/etc/shadow']).read('/etc/shadow', false).judgeAll();
    expect(run.find((i) => i.id === 'privilegeEscalation.sudo')?.severity).toBe('low');
    expect(run.find((i) => i.id === 'dataHarvesting.password-hashes')?.severity).toBe('high');
  });
});
