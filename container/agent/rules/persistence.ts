import { execName, rule, writes, writesInHome, type Rule } from './rule';

/** Persistence: the sample arranges to run again (cron, systemd, rc scripts, shell start-up, keys, preload). */
export const persistenceRules: Rule[] = [
  rule({
    key: 'persistence',
    id: 'persistence.cron',
    title: 'Installs a cron job',
    severity: 'high',
    attack: ['T1053.003'],
    match: (o) =>
      writes(o, /^\/(etc\/cron(tab$|\.d\/|\.(hourly|daily|weekly|monthly)\/)|var\/spool\/cron\/)/) ||
      (execName(o) === 'crontab' &&
        o.type === 'exec' &&
        !o.argv.slice(1).every((a) => a === '-l' || a.startsWith('-u'))),
  }),
  rule({
    key: 'persistence',
    id: 'persistence.shell-init',
    title: 'Modifies a shell start-up file',
    severity: 'high',
    attack: ['T1546.004'],
    match: (o, c) =>
      writesInHome(
        o,
        c,
        /^\.(bashrc|bash_profile|bash_login|bash_logout|profile|zshrc|zprofile|zlogin|kshrc|cshrc|tcshrc)$/,
      ) || writes(o, /^\/etc\/(profile$|profile\.d\/|bash\.bashrc$|zsh\/|environment$)/),
  }),
  rule({
    key: 'persistence',
    id: 'persistence.systemd',
    title: 'Creates or enables a systemd unit',
    severity: 'high',
    attack: ['T1543.002'],
    match: (o, c) =>
      writes(o, /^\/(etc|lib|usr\/lib|run)\/systemd\/(system|user)\//) ||
      writesInHome(o, c, /^\.config\/systemd\/user\//) ||
      (execName(o) === 'systemctl' &&
        o.type === 'exec' &&
        o.argv.some((a) => a === 'enable' || a === 'link' || a === 'daemon-reload')),
  }),
  rule({
    key: 'persistence',
    id: 'persistence.rc-scripts',
    title: 'Modifies boot or rc scripts',
    severity: 'high',
    attack: ['T1037.004'],
    match: (o) =>
      writes(o, /^\/etc\/(rc\.local$|init\.d\/|rc[0-6S]\.d\/|inittab$)/) ||
      ['update-rc.d', 'chkconfig'].includes(execName(o) ?? ''),
  }),
  rule({
    key: 'persistence',
    id: 'persistence.ssh-keys',
    title: 'Adds an SSH authorized key',
    severity: 'high',
    attack: ['T1098.004'],
    match: (o, c) => writesInHome(o, c, /^\.ssh\/authorized_keys2?$/) || writes(o, /^\/etc\/ssh\/sshd_config/),
  }),
  rule({
    key: 'persistence',
    id: 'persistence.preload',
    title: 'Registers a library for preloading into every process',
    severity: 'critical',
    attack: ['T1574.006'],
    match: (o) => writes(o, /^\/etc\/ld\.so\.(preload|conf(\.d\/.*)?)$/),
  }),
  rule({
    key: 'persistence',
    id: 'persistence.autostart',
    title: 'Adds a desktop autostart entry',
    severity: 'high',
    attack: ['T1547.013'],
    match: (o, c) => writesInHome(o, c, /^\.config\/autostart\//) || writes(o, /^\/etc\/xdg\/autostart\//),
  }),
  rule({
    key: 'persistence',
    id: 'persistence.at-job',
    title: 'Schedules an at job',
    severity: 'medium',
    attack: ['T1053.002'],
    match: (o) => ['at', 'batch'].includes(execName(o) ?? '') || writes(o, /^\/var\/spool\/cron\/atjobs\//),
  }),
];
