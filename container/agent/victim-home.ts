import { randomBytes, randomInt } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, lchown, lutimes, mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { SandboxOwner } from './prepare';

/**
 * The sample's home as an ordinary user's: shell start-up files and history, a git identity, SSH,
 * cloud, registry and cluster credentials, a browser profile and a folder of documents. A sample
 * that looks for something to steal, to encrypt or to persist in finds what it would find on a
 * real machine, and the trace shows it looking.
 *
 * Every credential is a decoy made for this run: the right shape (an AWS key id starts with AKIA,
 * a private key is an OpenSSH PEM block), random content that unlocks nothing. The agent writes
 * the home before the sample exists, into the directory it has just made, creating each entry
 * exclusively and never following a link; none of it is in the trace, so none of it counts as the
 * sample's file activity, and it is not among the files placed for the sample. It is a few KiB.
 */

/** The person the home belongs to, as the files name them. */
const OWNER_NAME = 'Alex Morgan';
const OWNER_LOGIN = 'alex';
const OWNER_EMAIL = 'alex.morgan@example.test';

/** One entry of the home: a directory, or a file with its content. */
interface Entry {
  path: string;
  mode: number;
  content?: string;
}

/** Random characters from `alphabet`. */
function randomText(alphabet: string, length: number): string {
  return Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join('');
}

const UPPER_BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const SECRET_KEY = `${ALPHANUMERIC}/+`;

/** Base64 of random bytes after a fixed prefix, wrapped at `width` characters (0: one line). */
function base64Block(prefix: Buffer, randomLength: number, width = 0): string {
  const text = Buffer.concat([prefix, randomBytes(randomLength)]).toString('base64');
  if (width === 0) return text;
  return text.match(new RegExp(`.{1,${width}}`, 'g'))?.join('\n') ?? text;
}

function awsKeyPair(): { id: string; secret: string } {
  return { id: `AKIA${randomText(UPPER_BASE32, 16)}`, secret: randomText(SECRET_KEY, 40) };
}

/** An OpenSSH private key's shape: the armour, the format's magic, random bytes. Unusable. */
function decoyPrivateKey(): string {
  // The format's magic, "none" cipher and kdf, one key: the first line reads as a real key's does.
  const header = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    Buffer.from('000000046e6f6e65000000046e6f6e650000000000000001', 'hex'),
  ]);
  const body = base64Block(header, 940, 70);
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${body}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

/** The public half's shape: an ssh-rsa key blob with e=65537 and a random modulus. */
function decoyPublicKey(): string {
  const header = Buffer.from('000000077373682d727361000000030100010000018100', 'hex');
  return `ssh-rsa ${base64Block(header, 384)} ${OWNER_LOGIN}@workstation\n`;
}

function hostKey(): string {
  return `ssh-ed25519 ${base64Block(Buffer.from('0000000b7373682d6564323535313900000020', 'hex'), 32)}`;
}

/** Every entry, parents before children. */
function entries(): Entry[] {
  const main = awsKeyPair();
  const production = awsKeyPair();
  const profile = `${randomText('abcdefghijklmnopqrstuvwxyz0123456789', 8)}.default-release`;
  const registryAuth = Buffer.from(`${OWNER_LOGIN}:${randomText(ALPHANUMERIC, 24)}`).toString('base64');
  const encrypted = () => base64Block(Buffer.from('303a0410f8000000000000000000000000000001', 'hex'), 24);
  return [
    {
      path: '.profile',
      mode: 0o644,
      content:
        '# ~/.profile: executed by the command interpreter for login shells.\n' +
        'if [ -n "$BASH_VERSION" ] && [ -f "$HOME/.bashrc" ]; then\n    . "$HOME/.bashrc"\nfi\n' +
        'if [ -d "$HOME/.local/bin" ]; then\n    PATH="$HOME/.local/bin:$PATH"\nfi\n',
    },
    {
      path: '.bashrc',
      mode: 0o644,
      content:
        '# ~/.bashrc: executed by bash(1) for non-login shells.\n' +
        'case $- in\n    *i*) ;;\n      *) return;;\nesac\n' +
        'HISTCONTROL=ignoreboth\nHISTSIZE=1000\nHISTFILESIZE=2000\nshopt -s histappend checkwinsize\n' +
        "PS1='\\u@\\h:\\w\\$ '\n" +
        "alias ll='ls -alF'\nalias la='ls -A'\nalias k='kubectl'\n" +
        'export EDITOR=vim\nexport AWS_PROFILE=default\n',
    },
    {
      path: '.bash_history',
      mode: 0o600,
      content: [
        'sudo apt update && sudo apt upgrade -y',
        'systemctl status nginx',
        'sudo systemctl restart nginx',
        'journalctl -u nginx --since today | tail -50',
        'df -h',
        'free -m',
        'ssh web01',
        'scp backup-2026-11-30.tar.gz backup:/srv/backups/',
        'cd ~/projects/billing-api && git pull',
        'docker compose up -d',
        'docker ps',
        'kubectl get pods -n staging',
        'kubectl logs deploy/billing-api -n staging --tail=100',
        'aws s3 ls s3://acme-backups-example/',
        'aws sts get-caller-identity --profile prod',
        'crontab -l',
        'sudo tail -f /var/log/syslog',
        'vim ~/.ssh/config',
        'psql -h db.example.test -U billing billing',
        'htop',
        'history | grep ssh',
        '',
      ].join('\n'),
    },
    {
      path: '.gitconfig',
      mode: 0o644,
      content:
        `[user]\n\tname = ${OWNER_NAME}\n\temail = ${OWNER_EMAIL}\n[core]\n\teditor = vim\n` +
        '[pull]\n\trebase = true\n[credential]\n\thelper = store\n',
    },
    {
      path: '.git-credentials',
      mode: 0o600,
      content: `https://${OWNER_LOGIN}:ghp_${randomText(ALPHANUMERIC, 36)}@git.example.test\n`,
    },
    { path: '.ssh', mode: 0o700 },
    { path: '.ssh/id_rsa', mode: 0o600, content: decoyPrivateKey() },
    { path: '.ssh/id_rsa.pub', mode: 0o644, content: decoyPublicKey() },
    {
      path: '.ssh/known_hosts',
      mode: 0o644,
      content: ['web01.example.test', 'backup.example.test', 'git.example.test']
        .map((host) => `${host} ${hostKey()}\n`)
        .join(''),
    },
    {
      path: '.ssh/config',
      mode: 0o600,
      content:
        'Host web01\n    HostName web01.example.test\n    User deploy\n    IdentityFile ~/.ssh/id_rsa\n\n' +
        'Host backup\n    HostName backup.example.test\n    User backup\n    Port 2222\n',
    },
    { path: '.aws', mode: 0o755 },
    {
      path: '.aws/credentials',
      mode: 0o600,
      content:
        `[default]\naws_access_key_id = ${main.id}\naws_secret_access_key = ${main.secret}\n\n` +
        `[prod]\naws_access_key_id = ${production.id}\naws_secret_access_key = ${production.secret}\n`,
    },
    {
      path: '.aws/config',
      mode: 0o644,
      content: '[default]\nregion = eu-west-1\noutput = json\n\n[profile prod]\nregion = us-east-1\n',
    },
    { path: '.docker', mode: 0o700 },
    {
      path: '.docker/config.json',
      mode: 0o600,
      content: `${JSON.stringify({ auths: { 'registry.example.test': { auth: registryAuth } } }, null, '\t')}\n`,
    },
    { path: '.kube', mode: 0o700 },
    {
      path: '.kube/config',
      mode: 0o600,
      content: [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- cluster:',
        `    certificate-authority-data: ${base64Block(Buffer.alloc(0), 48)}`,
        '    server: https://k8s.example.test:6443',
        '  name: staging',
        'contexts:',
        '- context:',
        '    cluster: staging',
        `    user: ${OWNER_LOGIN}`,
        '  name: staging',
        'current-context: staging',
        'users:',
        `- name: ${OWNER_LOGIN}`,
        '  user:',
        `    token: ${randomText(ALPHANUMERIC, 48)}`,
        '',
      ].join('\n'),
    },
    { path: '.mozilla', mode: 0o700 },
    { path: '.mozilla/firefox', mode: 0o700 },
    {
      path: '.mozilla/firefox/profiles.ini',
      mode: 0o644,
      content: `[Profile0]\nName=default-release\nIsRelative=1\nPath=${profile}\nDefault=1\n\n[General]\nStartWithLastProfile=1\nVersion=2\n`,
    },
    { path: `.mozilla/firefox/${profile}`, mode: 0o700 },
    {
      path: `.mozilla/firefox/${profile}/prefs.js`,
      mode: 0o600,
      content:
        'user_pref("browser.startup.homepage", "https://intranet.example.test/");\n' +
        'user_pref("signon.rememberSignons", true);\n',
    },
    {
      path: `.mozilla/firefox/${profile}/logins.json`,
      mode: 0o600,
      content: `${JSON.stringify({
        nextId: 3,
        logins: ['https://intranet.example.test', 'https://mail.example.test'].map((hostname, index) => ({
          id: index + 1,
          hostname,
          encryptedUsername: encrypted(),
          encryptedPassword: encrypted(),
          encType: 1,
        })),
        version: 3,
      })}\n`,
    },
    { path: '.config', mode: 0o755 },
    { path: '.config/htop', mode: 0o755 },
    { path: '.config/htop/htoprc', mode: 0o644, content: 'fields=0 48 17 18 38 39 40 2 46 47 49 1\nsort_key=46\n' },
    { path: 'Documents', mode: 0o755 },
    ...documents().map(([name, content]) => ({ path: `Documents/${name}`, mode: 0o644, content })),
  ];
}

/** A dozen ordinary documents, small. */
function documents(): [string, string][] {
  const pdf = (title: string) =>
    `%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n% ${title}\ntrailer << /Root 1 0 R >>\n%%EOF\n`;
  return [
    ['notes.txt', 'Renew the TLS certificate for intranet before 15 Jan.\nAsk Sam about the backup rotation.\n'],
    ['todo.txt', '- migrate billing-api to the new cluster\n- rotate the deploy key\n- quarterly access review\n'],
    [
      'meeting-2026-11-18.txt',
      'Attendees: Alex, Sam, Priya\nDecisions: freeze on 12 Dec, staging rebuild next sprint.\n',
    ],
    [
      'budget-2026.csv',
      'item,q1,q2,q3,q4\nhosting,4200,4200,4600,4600\nlicences,1800,0,0,1800\ntraining,500,500,0,900\n',
    ],
    [
      'contacts.csv',
      'name,email,phone\nSam Lee,sam.lee@example.test,555-0101\nPriya Shah,priya.shah@example.test,555-0102\n',
    ],
    ['inventory.csv', 'host,role,os\nweb01,nginx,debian 13\ndb01,postgres,debian 13\nbackup,rsync,debian 12\n'],
    ['invoice-1042.pdf', pdf('invoice 1042')],
    ['invoice-1043.pdf', pdf('invoice 1043')],
    ['contract-draft.docx', 'Service agreement between Example Ltd and the client (draft 3).\n'],
    ['quarterly-report.docx', 'Q3 report: uptime 99.95%, two incidents, both resolved within SLA.\n'],
    ['onboarding.md', '# Onboarding\n\n1. Request VPN access.\n2. Add your key to ~/.ssh/authorized_keys on web01.\n'],
    ['vpn-setup.txt', 'Gateway: vpn.example.test\nProfile: staff-split-tunnel\nMFA required since October.\n'],
  ];
}

/** The files' times: between a day and two months ago, a home in use for weeks. */
const DAY_SECONDS = 24 * 3600;
const AGE_SECONDS = 60 * DAY_SECONDS;

/**
 * Writes the lived-in home into `home`, which the agent has just made for this run and the sample
 * has not yet run in. Fails (rather than follow anything) when an entry already exists.
 */
export async function furnishHome(home: string, owner: SandboxOwner): Promise<void> {
  const list = entries();
  for (const entry of list) {
    const path = join(home, entry.path);
    if (entry.content === undefined) {
      await mkdir(path, { mode: entry.mode });
      await chmod(path, entry.mode);
    } else {
      const handle = await open(
        path,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        entry.mode,
      );
      try {
        await handle.writeFile(entry.content);
        await handle.chmod(entry.mode);
      } finally {
        await handle.close();
      }
    }
    await lchown(path, owner.uid, owner.gid);
  }
  // Children first: writing into a directory would make it new again.
  const now = Date.now() / 1000;
  for (const entry of list.reverse()) {
    const time = now - DAY_SECONDS - randomInt(AGE_SECONDS);
    await lutimes(join(home, entry.path), time, time);
  }
}
