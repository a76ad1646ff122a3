import { describe, expect, it } from 'vitest';
import { describeRules } from './rule-table';
import { judgeTrace } from '../judge';
import { HOME, network, SAMPLE, Trace } from './trace';
import { sample } from './trace-script';

/**
 * Credential access: each rule names the sub-technique its evidence proves (searching for files
 * is T1552.001/.004 as much as reading them), and process listers reading /proc stay discovery.
 */

const EACCES = '-1 EACCES (Permission denied)';

describe('searching for credentials without reading them', () => {
  it.each([
    [
      'find ~/.aws -name credentials',
      ['find', `${HOME}/.aws`, '-name', 'credentials'],
      'dataHarvesting.credential-file-search',
      'T1552.001',
    ],
    [
      'find / -iname "*.netrc"',
      ['find', '/', '-iname', '*.netrc'],
      'dataHarvesting.credential-file-search',
      'T1552.001',
    ],
    ['find / -name id_rsa', ['find', '/', '-name', 'id_rsa'], 'dataHarvesting.key-file-search', 'T1552.004'],
    [
      'find ~ -name "*.pem"',
      ['find', HOME, '-type', 'f', '-name', '*.pem'],
      'dataHarvesting.key-file-search',
      'T1552.004',
    ],
    ['locate id_ed25519', ['locate', 'id_ed25519'], 'dataHarvesting.key-file-search', 'T1552.004'],
    ['find ~ -name .gnupg', ['find', HOME, '-name', '.gnupg'], 'dataHarvesting.key-file-search', 'T1552.004'],
    [
      'find / -name msal_token_cache.json',
      ['find', '/', '-name', 'msal_token_cache.json'],
      'dataHarvesting.credential-file-search',
      'T1552.001',
    ],
    [
      'find / -name application_default_credentials.json',
      ['find', '/', '-name', 'application_default_credentials.json'],
      'dataHarvesting.credential-file-search',
      'T1552.001',
    ],
  ])('%s', (_, argv, id, technique) => {
    const ids = new Trace().run(701, `/usr/bin/${argv[0]}`, argv).ids();
    expect(ids.get(id)).toEqual([technique]);
  });

  it.each([
    ['sources of a build', ['find', '.', '-name', '*.c']],
    ['old logs', ['find', '/var/log/app', '-name', '*.log', '-mtime', '+7']],
    ['a config file', ['find', '.', '-name', 'config.json']],
  ])('finding %s is not', (_, argv) => {
    const ids = new Trace().run(701, '/usr/bin/find', argv).ids();
    expect(ids.has('dataHarvesting.credential-file-search')).toBe(false);
    expect(ids.has('dataHarvesting.key-file-search')).toBe(false);
  });

  it.each([
    ['grep -r password /etc', ['grep', '-r', 'password', '/etc']],
    ['grep -ri "pass\\|secret\\|token" ~', ['grep', '-ri', 'pass\\|secret\\|token', HOME]],
    ['grep -e API_KEY in named files', ['grep', '-n', '-e', 'api_key', 'settings.py', 'app.env']],
    ['rg token', ['rg', '-i', 'token', HOME]],
  ])('%s is T1552.001, not password-hash dumping', (_, argv) => {
    const ids = new Trace().run(701, `/usr/bin/${argv[0]}`, argv).ids();
    expect(ids.get('dataHarvesting.secret-grep')).toEqual(['T1552.001']);
    expect(ids.has('dataHarvesting.password-hashes')).toBe(false);
  });

  it.each([
    ['filtering a pipe', ['grep', 'token']],
    ['searching code for a function', ['grep', '-rn', 'parse_args', 'src']],
  ])('grep %s is not', (_, argv) => {
    expect(new Trace().run(701, '/usr/bin/grep', argv).ids().has('dataHarvesting.secret-grep')).toBe(false);
  });
});

describe('reading credential stores', () => {
  it('reading /etc/shadow is T1003.008, the refused attempt too', () => {
    expect(new Trace().open(SAMPLE, '/etc/shadow').ids().get('dataHarvesting.password-hashes')).toEqual(['T1003.008']);
    expect(
      new Trace().open(SAMPLE, '/etc/shadow', 'O_RDONLY', EACCES).ids().get('dataHarvesting.password-hashes'),
    ).toEqual(['T1003.008']);
    expect(new Trace().open(SAMPLE, '/etc/passwd').ids().has('dataHarvesting.password-hashes')).toBe(false);
  });

  it.each([
    [`${HOME}/.ssh/id_rsa`, 'dataHarvesting.ssh-keys', 'T1552.004'],
    [`${HOME}/.gnupg/private-keys-v1.d/ABCD.key`, 'dataHarvesting.ssh-keys', 'T1552.004'],
    [`${HOME}/.aws/credentials`, 'dataHarvesting.cloud-credentials', 'T1552.001'],
    [`${HOME}/.bash_history`, 'dataHarvesting.shell-history', 'T1552.003'],
    [`${HOME}/.ash_history`, 'dataHarvesting.shell-history', 'T1552.003'],
    [`${HOME}/.mozilla/firefox/abc.default/logins.json`, 'dataHarvesting.browser-credentials', 'T1555.003'],
    [`${HOME}/.config/google-chrome/Default/Login Data`, 'dataHarvesting.browser-credentials', 'T1555.003'],
    [`${HOME}/.config/chromium/Default/Cookies`, 'dataHarvesting.browser-cookies', 'T1539'],
    [`${HOME}/.local/share/keyrings/login.keyring`, 'dataHarvesting.password-store', 'T1555'],
  ])('reading %s is %s', (path, id, technique) => {
    expect(new Trace().open(SAMPLE, path).ids().get(id)).toEqual([technique]);
  });

  it.each([
    `${HOME}/.ssh/id_rsa.pub`,
    `${HOME}/.ssh/known_hosts`,
    `${HOME}/.mozilla/firefox/abc.default/prefs.js`,
    `${HOME}/.config/google-chrome/Default/Preferences`,
    `${HOME}/.gnupg/pubring.kbx`,
  ])('reading %s raises nothing', (path) => {
    expect(new Trace().open(SAMPLE, path).ids().size).toBe(0);
  });

  it('secret-tool lookup is T1555; secret-tool store is not a harvest', () => {
    const run = (verb: string) =>
      new Trace().run(701, '/usr/bin/secret-tool', ['secret-tool', verb, 'service', 'x']).ids();
    expect(run('lookup').get('dataHarvesting.password-store')).toEqual(['T1555']);
    expect(run('store').has('dataHarvesting.password-store')).toBe(false);
  });
});

describe('process memory and environments', () => {
  it('reading /proc/<pid>/mem of another process is T1003.007; its own is not', () => {
    expect(new Trace().open(SAMPLE, '/proc/4242/mem').ids().get('dataHarvesting.process-memory')).toEqual([
      'T1003.007',
    ]);
    expect(new Trace().open(SAMPLE, `/proc/${SAMPLE}/mem`).ids().has('dataHarvesting.process-memory')).toBe(false);
  });

  it("another process's environment is T1552 for the sample's own code", () => {
    expect(new Trace().open(SAMPLE, '/proc/1/environ').ids().get('dataHarvesting.process-environment')).toEqual([
      'T1552',
    ]);
  });

  it('ps reading every process (environments included, `ps e`) is low process discovery only', () => {
    const trace = new Trace().run(701, '/bin/ps', ['ps', 'auxe']);
    for (const pid of [1, 12, 40, 77, 90, 120]) {
      trace.open(701, `/proc/${pid}/stat`).open(701, `/proc/${pid}/status`).open(701, `/proc/${pid}/cmdline`);
      trace.open(701, `/proc/${pid}/environ`).open(701, `/proc/${pid}/cgroup`);
    }
    const { behavior } = judgeTrace(trace.text());
    expect(behavior.dataHarvesting.map((i) => [i.id, i.severity, i.attack])).toEqual([
      ['dataHarvesting.process-discovery', 'low', ['T1057']],
    ]);
  });

  it('a few /proc reads are not even discovery', () => {
    const trace = new Trace().run(701, '/usr/bin/pgrep', ['pgrep', 'nginx']).open(701, '/proc/1/cmdline');
    expect(trace.ids().has('dataHarvesting.process-discovery')).toBe(false);
  });

  it('reading the socket tables is low T1049; reading its own status is nothing', () => {
    expect(new Trace().open(SAMPLE, '/proc/net/tcp').ids().get('dataHarvesting.network-discovery')).toEqual(['T1049']);
    const own = judgeTrace(new Trace().open(SAMPLE, `/proc/${SAMPLE}/status`).text());
    expect(own.behavior.dataHarvesting).toEqual([]);
  });
});

describe('the cloud instance metadata service', () => {
  it('a connection to 169.254.169.254 is T1552.005', () => {
    const ids = new Trace().ids(network([{ address: '169.254.169.254', port: 80 }]));
    expect(ids.get('dataHarvesting.metadata-endpoint')).toEqual(['T1552.005']);
  });

  it('resolving metadata.google.internal is T1552.005', () => {
    const ids = new Trace().ids(network([], [{ name: 'metadata.google.internal' }]));
    expect(ids.get('dataHarvesting.metadata-endpoint')).toEqual(['T1552.005']);
  });

  it('a command aimed at the metadata address is T1552.005 even when the guard refuses the connection', () => {
    const ids = new Trace()
      .run(701, '/usr/bin/curl', ['curl', 'http://169.254.169.254/latest/meta-data/iam/security-credentials/'])
      .ids();
    expect(ids.get('dataHarvesting.metadata-request')).toEqual(['T1552.005']);
  });

  it('other link-free addresses and names are not', () => {
    const ids = new Trace()
      .run(701, '/usr/bin/curl', ['curl', 'http://service.example.test/health'])
      .ids(
        network(
          [{ address: '127.10.0.3', port: 80, name: 'service.example.test' }],
          [{ name: 'service.example.test' }],
        ),
      );
    expect(ids.has('dataHarvesting.metadata-endpoint')).toBe(false);
    expect(ids.has('dataHarvesting.metadata-request')).toBe(false);
  });

  it('a loopback service without a name is low local-service discovery (T1046)', () => {
    expect(new Trace().connect(SAMPLE, '127.0.0.1', 6379).ids().get('dataHarvesting.local-services')).toEqual([
      'T1046',
    ]);
    // A named host's address from the fake resolver: the guard's record names it, the trace's own line does not.
    const named = new Trace()
      .connect(SAMPLE, '127.10.0.3', 6379)
      .ids(network([{ address: '127.10.0.3', port: 6379, name: 'cache.example.test' }]));
    expect(named.has('dataHarvesting.local-services')).toBe(false);
  });
});

describe('walks and shells are judged by what they were asked to do', () => {
  it('grep -r over the home passes the decoy keys and credentials: a secret search (T1552.001), not reads of each', () => {
    const ids = new Trace()
      .run(701, '/usr/bin/grep', ['grep', '-ri', 'password', HOME])
      .open(701, `${HOME}/.ssh/id_rsa`)
      .open(701, `${HOME}/.aws/credentials`)
      .open(701, `${HOME}/.bash_history`)
      .open(701, '/etc/shadow', 'O_RDONLY', EACCES)
      .ids();
    expect(ids.get('dataHarvesting.secret-grep')).toEqual(['T1552.001']);
    for (const id of ['ssh-keys', 'cloud-credentials', 'shell-history', 'password-hashes'])
      expect(ids.has(`dataHarvesting.${id}`)).toBe(false);
  });

  it('du walking the home reads nothing into credential access; cat of the key it names does', () => {
    const walked = new Trace().run(701, '/usr/bin/du', ['du', '-sh', HOME]).open(701, `${HOME}/.ssh/id_rsa`).ids();
    expect(walked.size).toBe(0);
    const aimed = new Trace()
      .run(701, '/usr/bin/du', ['du', '-sh', HOME])
      .run(702, '/usr/bin/cat', ['cat', `${HOME}/.ssh/id_rsa`])
      .open(702, `${HOME}/.ssh/id_rsa`)
      .ids();
    expect(aimed.get('dataHarvesting.ssh-keys')).toEqual(['T1552.004']);
  });

  it('grep for passwords in a history file is T1552.003, not a general secret search', () => {
    const ids = new Trace()
      .run(701, '/usr/bin/grep', ['grep', '-iE', 'pass|token', `${HOME}/.bash_history`])
      .open(701, `${HOME}/.bash_history`)
      .ids();
    expect(ids.get('dataHarvesting.shell-history')).toEqual(['T1552.003']);
    expect(ids.has('dataHarvesting.secret-grep')).toBe(false);
  });

  it('an interactive shell loading its history is the shell; cat of the history is T1552.003', () => {
    const interactive = new Trace().run(701, '/bin/bash', ['bash', '-i']).open(701, `${HOME}/.bash_history`).ids();
    expect(interactive.has('dataHarvesting.shell-history')).toBe(false);
    const script = new Trace()
      .run(701, '/bin/bash', ['bash', '-c', 'cat ~/.bash_history'])
      .open(701, `${HOME}/.bash_history`)
      .ids();
    expect(script.get('dataHarvesting.shell-history')).toEqual(['T1552.003']);
  });
});

describeRules([
  {
    id: 'dataHarvesting.clipboard',
    attack: ['T1115'],
    positive: [
      ['prints the clipboard with xclip', (s) => s.run(['xclip', '-o', '-selection', 'clipboard'])],
      ['prints the selection with xsel', (s) => s.run(['xsel', '--clipboard'])],
      ['runs wl-paste', (s) => s.run(['wl-paste'])],
    ],
    benign: [
      ['puts text on the clipboard with xclip', (s) => s.run(['xclip', '-selection', 'clipboard'])],
      ['sets the selection with xsel -i', (s) => s.run(['xsel', '-ib'])],
    ],
  },
  {
    id: 'dataHarvesting.screen-capture',
    attack: ['T1113'],
    positive: [
      ['dumps the root window with xwd', (s) => s.run(['xwd', '-root', '-out', '/tmp/s.xwd'])],
      ['runs import -window root', (s) => s.run(['import', '-window', 'root', '/tmp/s.png'])],
      ['grabs X11 with ffmpeg', (s) => s.run(['ffmpeg', '-f', 'x11grab', '-i', ':0', '/tmp/s.mp4'])],
      ['runs scrot', (s) => s.run(['scrot', '/tmp/s.png'])],
    ],
    benign: [
      ['converts an image with import-like ImageMagick', (s) => s.run(['convert', 'a.png', 'b.jpg'])],
      ['transcodes a video with ffmpeg', (s) => s.run(['ffmpeg', '-i', 'in.mp4', 'out.webm'])],
      ['dumps one window by id with xwd', (s) => s.run(['xwd', '-id', '0x1200007'])],
    ],
  },
  {
    id: 'dataHarvesting.keylogging',
    attack: ['T1056.001'],
    positive: [
      ['reads a keyboard event device', (s) => s.read('/dev/input/event0', false)],
      ['runs logkeys', (s) => s.run(['logkeys', '--start', '--output', '/tmp/k.log'])],
      [
        'starts a shell whose prompt hook logs every command',
        (s) => s.run(['bash', '-i'], ['PROMPT_COMMAND=history 1 | logger -t cmd']),
      ],
      ['sets the hook in a command string', (s) => s.run(['sh', '-c', "export PROMPT_COMMAND='history 1 >> /tmp/.k'"])],
    ],
    benign: [
      [
        'starts a shell whose prompt hook sets the title',
        (s) => s.run(['bash', '-i'], ['PROMPT_COMMAND=echo -ne "\\033]0;x\\007"']),
      ],
      ['lists input devices', (s) => s.run(['xinput', 'list'])],
    ],
  },
  {
    id: 'dataHarvesting.archive-encrypted',
    attack: ['T1560.001'],
    positive: [
      ['packs files into a zip with a password', (s) => s.run(['zip', '-P', 'x', '/tmp/o.zip', `${HOME}/notes.txt`])],
      ['packs files into a 7z with a password', (s) => s.run(['7z', 'a', '-pSecret', '/tmp/o.7z', HOME])],
    ],
    benign: [
      ['packs a release zip', (s) => s.run(['zip', '-r', 'dist.zip', 'dist'])],
      ['lists a 7z archive', (s) => s.run(['7z', 'l', 'a.7z'])],
    ],
  },
]);

describe('the generic ~/.history', () => {
  it('read by cat is history harvesting (T1552.003)', () => {
    const s = sample();
    s.fork()
      .exec('/usr/bin/cat', ['cat', `${HOME}/.history`])
      .read(`${HOME}/.history`);
    expect(s.judge().get('dataHarvesting.shell-history')).toEqual(['T1552.003']);
  });
  it("opened by bash's own history builtin is not", () => {
    const s = sample();
    s.fork().exec('/bin/bash', ['bash', './x.sh']).read(`${HOME}/.history`, false);
    expect(s.judge().has('dataHarvesting.shell-history')).toBe(false);
  });
});
