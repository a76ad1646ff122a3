import { posix } from 'node:path';
import type { Observation } from '../observations';
import { SHELLS } from './provenance';
import {
  actorIs,
  commandLine,
  execName,
  isLoopback,
  numberArg,
  plainAddress,
  procPid,
  provenance,
  reads,
  readsInHome,
  rule,
  type Rule,
  type RuleContext,
} from './rule';

const PROC_OTHER = /^\/proc\/(\d+|\*)\//;
/** Process listers: reading every process's /proc files is what they are for (discovery, not harvesting). */
const PROCESS_LISTERS = new Set([
  'ps',
  'pgrep',
  'pkill',
  'pidof',
  'top',
  'htop',
  'atop',
  'pstree',
  'w',
  'killall',
  'lsof',
  'fuser',
]);
/** The instance metadata services: the link-local address, its IPv6 form and the names that lead to it. */
const METADATA_ADDRESS = /^169\.254\.(169\.254|170\.2)$|^fd00:ec2::254$/i;
const METADATA_TEXT = /\b169\.254\.(169\.254|170\.2)\b|\bmetadata\.google\.internal\b|\bfd00:ec2::254\b/i;

/** Names of files that hold credentials, as searches spell them (`-name credentials`, `*.netrc`). */
const CREDENTIAL_FILE_NAMES =
  /^\**\.?(credentials(\.db|\.json)?|\.?netrc|\.?git-credentials|\.?pgpass|\.?my\.cnf|passwords?(\.txt)?|\.?htpasswd|\.?env|wp-config\.php|shadow|secrets?(\.\w+)?|.*\.kdbx|token\w*|access_?tokens\.(json|db)|msal_token_cache\.(json|bin)|azureProfile\.json|TokenCache\.dat|application_default_credentials\.json)\**$/i;
/** Names of private key files. */
const KEY_FILE_NAMES =
  /^\**\.?(id_[a-z0-9_]*|.*\.(pem|key|p12|pfx|ppk|jks|keystore)|identity|authorized_keys|\.?gnupg|secring|private-keys-v1\.d)\**$/i;
/** Words a search for credentials in file contents looks for. */
const SECRET_WORDS = /pass(word|wd)?|secret|token|api[_-]?key|credential|private key|aws_access_key/i;
/** Shell and tool history files. */
const HISTORY_FILE =
  /^\.((bash|zsh|sh|ash|mysql|psql|sqlite|python|node_repl|irb|rediscli)_?history|zhistory|histfile|lesshst)$/;
const FILE_FINDERS = new Set(['find', 'locate', 'mlocate', 'plocate', 'fd', 'fdfind']);
const CONTENT_SEARCHERS = new Set(['grep', 'egrep', 'fgrep', 'rg', 'ag', 'ack', 'git']);

/** The names a `find`/`locate` exec searches for: the values of its name tests, or locate's patterns. */
function searchedNames(o: Observation): string[] {
  if (o.type !== 'exec' || !FILE_FINDERS.has(execName(o) ?? '')) return [];
  if (execName(o) !== 'find') return o.argv.slice(1).filter((a) => !a.startsWith('-'));
  const names: string[] = [];
  o.argv.forEach((arg, i) => {
    const value = o.argv[i + 1];
    if (/^-(i?name|i?path|i?wholename|i?regex)$/.test(arg) && value !== undefined) names.push(posix.basename(value));
  });
  return names;
}

/**
 * True when an exec searches files (not a pipe) for secret words: `grep -ri password ~`,
 * `grep "pass\|token" *.conf`. `ps aux | grep token` reads a pipe and names no file.
 */
function searchesForSecrets(o: Observation): boolean {
  if (o.type !== 'exec') return false;
  const name = execName(o) ?? '';
  if (!CONTENT_SEARCHERS.has(name) || (name === 'git' && o.argv[1] !== 'grep')) return false;
  const args = o.argv.slice(name === 'git' ? 2 : 1);
  const patterns: string[] = [];
  const operands: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '-e' || arg === '--regexp') patterns.push(args[++i] ?? '');
    else if (arg.startsWith('--regexp=')) patterns.push(arg.slice(9));
    else if (!arg.startsWith('-')) operands.push(arg);
  }
  if (patterns.length === 0 && operands.length > 0) patterns.push(operands.shift() as string);
  const recursive =
    name !== 'grep' || args.some((a) => /^-[a-zA-Z]*[rR]|^--(recursive|dereference-recursive)$/.test(a));
  // Searching shell histories for typed passwords is the history rule's (T1552.003).
  if (!recursive && operands.length > 0 && operands.every((f) => HISTORY_FILE.test(posix.basename(f)))) return false;
  return (recursive || operands.length > 0) && patterns.some((p) => SECRET_WORDS.test(p));
}

/**
 * True for a read the process went for, rather than one a tree walk (`grep -r password ~`,
 * `find / -size +1M`) made in passing: the walk is judged by its command line (secret-grep,
 * credential-file-search), not by every file it opened on the way.
 */
function targeted(o: Observation, c: RuleContext): boolean {
  return !provenance(c).walking(o.pid);
}

/** True for a command that prints the clipboard (xclip -o, xsel -o, wl-paste). */
function readsClipboard(o: Observation): boolean {
  if (o.type !== 'exec') return false;
  const name = execName(o) ?? '';
  const args = o.argv.slice(1);
  if (name === 'xclip') return args.some((a) => /^-o(ut)?$/.test(a));
  // xsel prints the selection unless told to set it (-i, -a, -c, -d, -k and their long forms).
  if (name === 'xsel')
    return !args.some((a) =>
      /^(-[a-zA-Z]*[iacdkx][a-zA-Z]*|--(input|append|clear|delete|keep|exchange)|-h|--help)$/.test(a),
    );
  return name === 'wl-paste' || name === 'pbpaste';
}

/** True for a command that captures the screen (xwd -root, import -window root, scrot, ffmpeg x11grab). */
function capturesScreen(o: Observation): boolean {
  if (o.type !== 'exec') return false;
  const name = execName(o) ?? '';
  const args = o.argv.slice(1);
  if (name === 'xwd') return args.includes('-root');
  if (name === 'import') return args.some((a, i) => a === '-window' && args[i + 1] === 'root');
  if (/^(ffmpeg|avconv)$/.test(name))
    return args.some((a, i) => a === '-f' && /^(x11grab|kmsgrab|fbdev)$/.test(args[i + 1] ?? ''));
  return (
    /^(scrot|gnome-screenshot|maim|grim|spectacle|xfce4-screenshooter|flameshot)$/.test(name) &&
    !args.some((a) => /^(-h|--help|-v|--version)$/.test(a))
  );
}

/** A prompt hook that copies every command line somewhere (`PROMPT_COMMAND='history 1 | logger'`). */
const PROMPT_LOGGER = /^PROMPT_COMMAND=.*(\bhistory\b|\blogger\b|>>|\bcurl\b|\bnc\b|\bwget\b)/;

/** Options that protect an archive with a password (zip -P/-e, 7z -p, rar -p/-hp). */
function encryptsArchive(o: Observation): boolean {
  if (o.type !== 'exec') return false;
  const name = execName(o) ?? '';
  const args = o.argv.slice(1);
  if (name === 'zip') return args.some((a) => /^(-P|-e|--password|--encrypt|-[a-zA-Z]*e[a-zA-Z]*)$/.test(a));
  if (/^(7z|7za|7zz|7zr)$/.test(name)) return args[0] === 'a' && args.some((a) => /^-p./.test(a) || a === '-p');
  if (name === 'rar') return args[0] === 'a' && args.some((a) => /^-h?p/.test(a));
  return false;
}

/** Credential access and collection: password hashes, keys, cloud and browser credentials, process memory, metadata endpoints. */
export const dataHarvestingRules: Rule[] = [
  rule({
    key: 'dataHarvesting',
    id: 'dataHarvesting.password-hashes',
    title: 'Reads password hashes (or tries to)',
    severity: 'high',
    attack: ['T1003.008'],
    // A refused open is the attempt: the sandbox user may not read /etc/shadow, a root sample could.
    match: (o, c) => reads(o, /^\/etc\/(shadow|gshadow|master\.passwd|security\/opasswd)-?$/) && targeted(o, c),
  }),
  rule({
    key: 'dataHarvesting',
    id: 'dataHarvesting.ssh-keys',
    title: 'Reads private keys (SSH, GnuPG, TLS)',
    severity: 'high',
    attack: ['T1552.004'],
    match: (o, c) =>
      targeted(o, c) &&
      (readsInHome(
        o,
        c,
        /^(\.ssh\/(id_[a-z0-9_]+|.*_key|identity)|\.gnupg\/(private-keys-v1\.d\/|secring\.gpg))$|^\.gnupg\/private-keys-v1\.d\//,
      ) ||
        reads(o, /^\/etc\/ssh\/ssh_host_.*_key$|^\/etc\/ssl\/private\//)),
  }),
  rule({
    key: 'dataHarvesting',
    id: 'dataHarvesting.cloud-credentials',
    title: 'Reads cloud, container or tool credentials',
    severity: 'high',
    attack: ['T1552.001'],
    match: (o, c) =>
      targeted(o, c) &&
      (readsInHome(
        o,
        c,
        /^(\.aws\/(credentials|config)|\.docker\/config\.json|\.kube\/config|\.config\/gcloud\/|\.azure\/|\.netrc|\.git-credentials|\.pgpass|\.my\.cnf)/,
      ) ||
        reads(o, /^\/(var\/run|run)\/secrets\//)),
  }),
  rule({
    key: 'dataHarvesting',
    id: 'dataHarvesting.credential-file-search',
    title: 'Searches the file system for credential files',
    severity: 'medium',
    attack: ['T1552.001'],
    match: (o) => searchedNames(o).some((name) => CREDENTIAL_FILE_NAMES.test(name)),
  }),
  rule({
    key: 'dataHarvesting',
    id: 'dataHarvesting.key-file-search',
    title: 'Searches the file system for private keys',
    severity: 'medium',
    attack: ['T1552.004'],
    match: (o) => searchedNames(o).some((name) => KEY_FILE_NAMES.test(name)),
  }),
  rule({
    key: 'dataHarvesting',
    id: 'dataHarvesting.secret-grep',
    title: 'Searches file contents for passwords, secrets or tokens',
    severity: 'medium',
    attack: ['T1552.001'],
    match: searchesForSecrets,
  }),
  rule({
    key: 'dataHarvesting',
    id: 'dataHarvesting.process-environment',
    title: "Reads other processes' environments",
    severity: 'high',
    // Environments hold tokens and keys; no sub-technique of T1552 names them.
    attack: ['T1552'],
    match: (o, c) => {
      if (!reads(o, /^\/proc\/[^/]+\/environ$/)) return false;
      if (PROCESS_LISTERS.has(posix.basename(o.exe ?? ''))) return false;
      const pid = Number(o.path.split('/')[2]);
      return Number.isInteger(pid) && !c.samplePids.has(pid);
    },
  }),
  rule({
    key: 'dataHarvesting',
    id: 'dataHarvesting.process-memory',
    title: "Reads another process's memory",
    severity: 'high',
    attack: ['T1003.007'],
    match: (o) =>
      (o.type === 'call' && o.name === 'process_vm_readv' && numberArg(o.args[0]) !== o.pid) ||
      (reads(o, /^\/proc\/\d+\/(task\/\d+\/)?mem$/) &&
        procPid(o.path) !== o.pid &&
        !PROCESS_LISTERS.has(posix.basename(o.exe ?? ''))),
  }),
  rule({
    key: 'dataHarvesting',
    id: 'dataHarvesting.browser-credentials',
    title: 'Reads saved browser passwords',
    severity: 'high',
    attack: ['T1555.003'],
    match: (o, c) =>
      targeted(o, c) &&
      readsInHome(
        o,
        c,
        /^(\.mozilla\/firefox\/[^/]+\/(logins\.json|key[34]\.db|signons\.sqlite)|\.config\/(google-chrome|chromium|BraveSoftware\/[^/]+|microsoft-edge|opera|vivaldi)\/[^/]+\/(Login Data|Web Data)(-journal)?)$/,
      ),
  }),
  rule({
    key: 'dataHarvesting',
    id: 'dataHarvesting.browser-cookies',
    title: 'Reads browser cookies',
    severity: 'medium',
    attack: ['T1539'],
    match: (o, c) =>
      targeted(o, c) &&
      readsInHome(
        o,
        c,
        /^(\.mozilla\/firefox\/[^/]+\/cookies\.sqlite|\.config\/(google-chrome|chromium|BraveSoftware\/[^/]+|microsoft-edge|opera|vivaldi)\/[^/]+\/(Network\/)?Cookies)$/,
      ),
  }),
  rule({
    key: 'dataHarvesting',
    id: 'dataHarvesting.password-store',
    title: 'Reads a keyring or password store',
    severity: 'high',
    // Linux keyrings have no sub-technique of their own.
    attack: ['T1555'],
    match: (o, c) =>
      targeted(o, c) &&
      (readsInHome(
        o,
        c,
        /^(\.local\/share\/keyrings\/.+|\.gnome2\/keyrings\/.+|\.password-store\/.+\.gpg|\.local\/share\/kwalletd\/.+|.*\.kdbx)$/,
      ) ||
        (o.type === 'exec' && execName(o) === 'secret-tool' && /^(lookup|search)$/.test(o.argv[1] ?? ''))),
  }),
  rule({
    key: 'dataHarvesting',
    id: 'dataHarvesting.metadata-endpoint',
    title: 'Contacts the cloud instance or task metadata endpoint',
    severity: 'critical',
    attack: ['T1552.005'],
    match: (o) =>
      (o.type === 'connect' && (/^169\.254\./.test(plainAddress(o.address)) || /^fd00:ec2:/i.test(o.address))) ||
      (o.type === 'dns' && /^metadata\.google\.internal\.?$/i.test(o.name)) ||
      (o.type === 'http' &&
        (METADATA_ADDRESS.test(o.host.replace(/:\d+$/, '')) || /^metadata\.google\.internal/i.test(o.host))),
  }),
  rule({
    key: 'dataHarvesting',
    id: 'dataHarvesting.metadata-request',
    title: 'Runs a command aimed at the cloud metadata endpoint',
    severity: 'high',
    attack: ['T1552.005'],
    match: (o) => o.type === 'exec' && METADATA_TEXT.test(commandLine(o)),
  }),
  rule({
    key: 'dataHarvesting',
    id: 'dataHarvesting.shell-history',
    title: 'Reads shell or tool history',
    severity: 'medium',
    attack: ['T1552.003'],
    // An interactive shell loads its own history as it starts (`bash -i` of a reverse shell does):
    // that is the shell, not a sample reading it.
    match: (o, c) =>
      (readsInHome(o, c, HISTORY_FILE) ||
        // ~/.history is also where a non-interactive bash's history builtin looks by itself.
        (readsInHome(o, c, /^\.history$/) && !actorIs(o, SHELLS))) &&
      targeted(o, c) &&
      !provenance(c).interactiveShell(o.pid),
  }),
  rule({
    key: 'dataHarvesting',
    id: 'dataHarvesting.clipboard',
    title: 'Reads the clipboard',
    severity: 'medium',
    attack: ['T1115'],
    match: readsClipboard,
  }),
  rule({
    key: 'dataHarvesting',
    id: 'dataHarvesting.screen-capture',
    title: 'Captures the screen',
    severity: 'medium',
    attack: ['T1113'],
    match: capturesScreen,
  }),
  rule({
    key: 'dataHarvesting',
    id: 'dataHarvesting.keylogging',
    title: 'Reads keyboard input devices or hooks the shell prompt to log commands',
    severity: 'high',
    attack: ['T1056.001'],
    match: (o) =>
      reads(o, /^\/dev\/input\/(event\d+|by-(id|path)\/.*kbd.*|mice)$/) ||
      (o.type === 'exec' &&
        (/^(logkeys|showkey)$/.test(execName(o) ?? '') ||
          (execName(o) === 'xinput' && (o.argv[1] === 'test' || o.argv[1] === 'test-xi2')) ||
          [...o.env, ...(commandLine(o).match(/\bPROMPT_COMMAND=.*/) ?? [])].some((e) => PROMPT_LOGGER.test(e)))),
  }),
  rule({
    key: 'dataHarvesting',
    id: 'dataHarvesting.archive-encrypted',
    title: 'Packs files into a password-protected archive',
    // Encrypted backups are made this way too: context, unless what goes in is credentials.
    severity: 'low',
    attack: ['T1560.001'],
    match: encryptsArchive,
  }),
  rule({
    key: 'dataHarvesting',
    id: 'dataHarvesting.process-discovery',
    title: 'Enumerates other processes',
    severity: 'low',
    attack: ['T1057'],
    match: (o, c) =>
      reads(o, /^\/proc\/\d+\/(cmdline|comm|stat|status|exe|environ|cgroup)$/) &&
      PROC_OTHER.test(o.path) &&
      !c.samplePids.has(Number(o.path.split('/')[2])),
    minimum: 5,
    distinct: (o) => (o.type === 'file' ? (o.path.split('/')[2] ?? '') : ''),
  }),
  rule({
    key: 'dataHarvesting',
    id: 'dataHarvesting.network-discovery',
    title: 'Reads the socket tables',
    severity: 'low',
    attack: ['T1049'],
    match: (o) => reads(o, /^\/proc\/(self\/|\d+\/)?net\/(tcp6?|udp6?|unix|raw)$/),
  }),
  rule({
    key: 'dataHarvesting',
    id: 'dataHarvesting.local-services',
    title: 'Connects to services on the loopback interface',
    severity: 'low',
    attack: ['T1046'],
    // The fake resolver's answers (127.10.x.y) stand for remote names: the trace's own record of
    // such a connect has no name, the guard's record of it has.
    match: (o) =>
      o.type === 'connect' &&
      o.protocol === 'tcp' &&
      o.hostname === null &&
      isLoopback(o.address) &&
      !plainAddress(o.address).startsWith('127.10.'),
  }),
];
