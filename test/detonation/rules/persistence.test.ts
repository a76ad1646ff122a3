import { describeRules, type RuleCases } from './rule-table';
import { HOME } from './trace-script';

/**
 * Persistence rules: each raises its own ATT&CK sub-technique on what the sample does (attempts
 * refused to the sandbox user included), and stays silent on the everyday look-alike.
 */

const RULES: RuleCases[] = [
  {
    id: 'persistence.cron',
    attack: ['T1053.003'],
    positive: [
      ['installs a crontab from a file', (s) => s.run(['crontab', `${HOME}/job.cron`])],
      ['edits the crontab from stdin', (s) => s.run(['crontab', '-'])],
      ["installs root's crontab", (s) => s.run(['crontab', '-u', 'root', `${HOME}/job.cron`])],
      ['writes /etc/cron.d', (s) => s.write('/etc/cron.d/job', false)],
      ['writes the spool file directly', (s) => s.write('/var/spool/cron/crontabs/sandbox', false)],
    ],
    benign: [
      ['lists the crontab', (s) => s.run(['crontab', '-l'])],
      ["lists another user's crontab", (s) => s.run(['crontab', '-u', 'root', '-l'])],
      ['reads /etc/crontab', (s) => s.read('/etc/crontab')],
    ],
  },
  {
    id: 'persistence.shell-init',
    attack: ['T1546.004'],
    positive: [
      ['appends to ~/.bashrc', (s) => s.append(`${HOME}/.bashrc`)],
      ['writes ~/.shrc', (s) => s.append(`${HOME}/.shrc`)],
      ['writes ~/.zshrc', (s) => s.append(`${HOME}/.zshrc`)],
      ['writes ~/.profile', (s) => s.append(`${HOME}/.profile`)],
      ['writes /etc/profile.d', (s) => s.write('/etc/profile.d/z.sh', false)],
    ],
    benign: [
      ['a build writes a .profile in its own build tree', (s) => s.write(`${HOME}/build/skel/.profile`)],
      ['installs into a local prefix', (s) => s.write(`${HOME}/.local/etc/profile.d/tool.sh`)],
      ['reads ~/.bashrc', (s) => s.read(`${HOME}/.bashrc`)],
    ],
  },
  {
    id: 'persistence.systemd',
    attack: ['T1543.002'],
    positive: [
      ['writes a system service', (s) => s.write('/etc/systemd/system/updater.service', false)],
      ['writes a user service', (s) => s.write(`${HOME}/.config/systemd/user/updater.service`)],
      ['enables a user service', (s) => s.run(['systemctl', '--user', 'enable', 'updater.service'])],
    ],
    benign: [
      ['asks for a service status', (s) => s.run(['systemctl', 'status', 'nginx'])],
      ['installs a unit into a local prefix', (s) => s.write(`${HOME}/.local/lib/systemd/system/tool.service`)],
      ['writes a timer (the timer rule)', (s) => s.write(`${HOME}/.config/systemd/user/u.timer`)],
    ],
  },
  {
    id: 'persistence.systemd-timer',
    attack: ['T1053.006'],
    positive: [
      ['writes a system timer', (s) => s.write('/etc/systemd/system/updater.timer', false)],
      ['writes a user timer', (s) => s.write(`${HOME}/.config/systemd/user/updater.timer`)],
      ['enables a timer', (s) => s.run(['systemctl', '--user', 'enable', '--now', 'updater.timer'])],
      [
        'makes a transient calendar timer',
        (s) => s.run(['systemd-run', '--user', '--on-calendar=hourly', '/bin/true']),
      ],
    ],
    benign: [
      ['lists timers', (s) => s.run(['systemctl', 'list-timers'])],
      ['runs a command in a transient unit now', (s) => s.run(['systemd-run', '--user', '--wait', '/bin/true'])],
    ],
  },
  {
    id: 'persistence.rc-scripts',
    attack: ['T1037.004'],
    positive: [
      ['writes rc.local', (s) => s.append('/etc/rc.local', false)],
      ['writes rc.common', (s) => s.append('/etc/rc.common', false)],
      ['writes an init.d script', (s) => s.write('/etc/init.d/updater', false)],
      ['registers an init script', (s) => s.run(['update-rc.d', 'updater', 'defaults'])],
    ],
    benign: [['reads an init script', (s) => s.read('/etc/init.d/ssh')]],
  },
  {
    id: 'persistence.udev-rule',
    attack: ['T1546.017'],
    positive: [['writes a udev rule', (s) => s.write('/etc/udev/rules.d/99-x.rules', false)]],
    benign: [['reads the udev rules', (s) => s.read('/lib/udev/rules.d/60-block.rules')]],
  },
  {
    id: 'persistence.ssh-keys',
    attack: ['T1098.004'],
    positive: [['appends an authorized key', (s) => s.append(`${HOME}/.ssh/authorized_keys`)]],
    benign: [
      ['writes known_hosts', (s) => s.append(`${HOME}/.ssh/known_hosts`)],
      ['reads authorized_keys', (s) => s.read(`${HOME}/.ssh/authorized_keys`)],
    ],
  },
  {
    id: 'persistence.preload',
    attack: ['T1574.006'],
    positive: [['writes /etc/ld.so.preload', (s) => s.append('/etc/ld.so.preload', false)]],
    benign: [['the dynamic linker reads it', (s) => s.read('/etc/ld.so.preload', false)]],
  },
  {
    id: 'persistence.autostart',
    attack: ['T1547.013'],
    positive: [['writes an autostart entry', (s) => s.write(`${HOME}/.config/autostart/u.desktop`)]],
    benign: [['writes an application entry', (s) => s.write(`${HOME}/.local/share/applications/u.desktop`)]],
  },
  {
    id: 'persistence.at-job',
    attack: ['T1053.002'],
    positive: [
      ['schedules with at', (s) => s.run(['at', 'now', '+', '1', 'minute'])],
      ['schedules with batch', (s) => s.run(['batch'])],
    ],
    benign: [
      ['lists the at queue', (s) => s.run(['at', '-l'])],
      ['runs atq', (s) => s.run(['atq'])],
    ],
  },
  {
    id: 'persistence.create-account',
    attack: ['T1136.001'],
    positive: [
      ['runs useradd', (s) => s.run(['useradd', '-m', 'svc'])],
      ['tries adduser, absent', (s) => s.run(['adduser', 'svc'], null, false)],
    ],
    benign: [['looks an account up', (s) => s.run(['id', 'svc'])]],
  },
  {
    id: 'persistence.add-to-group',
    attack: ['T1098.007'],
    positive: [
      ['adds a user to sudo with usermod', (s) => s.run(['usermod', '-aG', 'sudo', 'svc'])],
      ['adds a user to docker with gpasswd', (s) => s.run(['gpasswd', '-a', 'svc', 'docker'])],
      ['adds a user to a group with adduser', (s) => s.run(['adduser', 'svc', 'wheel'])],
    ],
    benign: [
      ['lists groups', (s) => s.run(['groups'])],
      ['changes a shell with usermod', (s) => s.run(['usermod', '-s', '/bin/zsh', 'svc'])],
    ],
  },
  {
    id: 'persistence.modify-account',
    attack: ['T1098'],
    positive: [
      ['sets a password with chpasswd', (s) => s.run(['chpasswd'])],
      ['changes a login shell', (s) => s.run(['chsh', '-s', '/bin/sh', 'svc'])],
    ],
    benign: [['adds to a group (the group rule)', (s) => s.run(['usermod', '-aG', 'sudo', 'svc'])]],
  },
  {
    id: 'persistence.kernel-module',
    attack: ['T1547.006'],
    positive: [
      ['runs insmod', (s) => s.run(['insmod', `${HOME}/r.ko`])],
      ['runs modprobe', (s) => s.run(['modprobe', 'r'])],
      [
        'calls finit_module',
        (s) => s.call('finit_module(3</run/home/r.ko>, "", 0)', '-1 EPERM (Operation not permitted)'),
      ],
      ['lists a module to load at boot', (s) => s.append('/etc/modules-load.d/r.conf', false)],
    ],
    benign: [
      ['lists modules', (s) => s.run(['lsmod'])],
      ['a dry run of modprobe', (s) => s.run(['modprobe', '-n', 'r'])],
    ],
  },
  {
    id: 'persistence.pam',
    attack: ['T1556.003'],
    positive: [
      ['adds a line to /etc/pam.d/common-auth', (s) => s.append('/etc/pam.d/common-auth', false)],
      ['installs a PAM module', (s) => s.write('/lib/x86_64-linux-gnu/security/pam_unix2.so', false)],
      [
        'writes pam.d through sed -i',
        (s) => s.run(['sed', '-i', 's/^auth/auth sufficient pam_permit.so\n&/', '/etc/pam.d/sshd']),
      ],
    ],
    benign: [
      ['reads its PAM configuration', (s) => s.read('/etc/pam.d/common-auth')],
      ['writes a file named like pam.d in its home', (s) => s.write(`${HOME}/pam.d/notes`)],
    ],
  },
];

describeRules(RULES);
