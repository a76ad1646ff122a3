import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DetonationReport, Execution } from '../../lambdas/core/contracts/detonation-report';
import { detonateThrough, detonatorsUnderTest } from '../redteam/harness';
import { PresignedStandIn } from './harness';

/**
 * The victim a sample meets, detonated for real through each detonator (the host box and, where a
 * Docker engine answers, the image): the admin tools tradecraft calls are on the PATH and answer
 * like the real ones, their argv is in the report, the home is lived in, and attempts (a refused
 * write, a failed exec, a PATH search) are evidence like successes.
 */

/** Tools, how the sample calls them, where they are found and the status they answer a non-root user with. */
const TOOLS: { label: string; command: string; path: RegExp; status: number | null }[] = [
  { label: 'sudo', command: 'sudo -n true', path: /^\/usr\/local\/bin\/sudo$/, status: 0 },
  { label: 'su', command: 'su -c id root', path: /^\/usr\/local\/bin\/su$/, status: 1 },
  { label: 'crontab', command: 'crontab -l', path: /^\/usr\/local\/bin\/crontab$/, status: 1 },
  { label: 'systemctl', command: 'systemctl start sshd-backdoor', path: /^\/usr\/local\/bin\/systemctl$/, status: 1 },
  { label: 'service', command: 'service ssh status', path: /^\/usr\/local\/sbin\/service$/, status: 0 },
  { label: 'useradd', command: 'useradd -m -s /bin/bash eve', path: /^\/usr\/local\/sbin\/useradd$/, status: 1 },
  { label: 'usermod', command: 'usermod -aG sudo eve', path: /^\/usr\/local\/sbin\/usermod$/, status: 1 },
  { label: 'userdel', command: 'userdel eve', path: /^\/usr\/local\/sbin\/userdel$/, status: 1 },
  { label: 'groupadd', command: 'groupadd staff2', path: /^\/usr\/local\/sbin\/groupadd$/, status: 1 },
  { label: 'groupdel', command: 'groupdel staff2', path: /^\/usr\/local\/sbin\/groupdel$/, status: 1 },
  { label: 'adduser', command: 'adduser eve', path: /^\/usr\/local\/sbin\/adduser$/, status: 1 },
  { label: 'passwd', command: 'passwd', path: /^\/usr\/local\/bin\/passwd$/, status: 10 },
  { label: 'chpasswd', command: 'chpasswd', path: /^\/usr\/local\/sbin\/chpasswd$/, status: 1 },
  { label: 'setenforce', command: 'setenforce 0', path: /^\/usr\/local\/sbin\/setenforce$/, status: 1 },
  { label: 'getenforce', command: 'getenforce', path: /^\/usr\/local\/sbin\/getenforce$/, status: 0 },
  { label: 'auditctl', command: 'auditctl -D', path: /^\/usr\/local\/sbin\/auditctl$/, status: 4 },
  { label: 'insmod', command: 'insmod ./rootkit.ko', path: /^\/usr\/local\/sbin\/insmod$/, status: 1 },
  { label: 'modprobe', command: 'modprobe rootkit', path: /^\/usr\/local\/sbin\/modprobe$/, status: 1 },
  { label: 'rmmod', command: 'rmmod rootkit', path: /^\/usr\/local\/sbin\/rmmod$/, status: 1 },
  { label: 'lsmod', command: 'lsmod', path: /^\/usr\/local\/bin\/lsmod$/, status: 0 },
  { label: 'iptables', command: 'iptables -F', path: /^\/usr\/local\/sbin\/iptables$/, status: 4 },
  { label: 'ip6tables', command: 'ip6tables -P INPUT ACCEPT', path: /^\/usr\/local\/sbin\/ip6tables$/, status: 4 },
  { label: 'iptables-save', command: 'iptables-save', path: /^\/usr\/local\/sbin\/iptables-save$/, status: 4 },
  { label: 'nft', command: 'nft flush ruleset', path: /^\/usr\/local\/sbin\/nft$/, status: 1 },
  { label: 'ufw', command: 'ufw disable', path: /^\/usr\/local\/sbin\/ufw$/, status: 1 },
  { label: 'at', command: 'at now + 1 minute', path: /^\/usr\/local\/bin\/at$/, status: 0 },
  { label: 'batch', command: 'batch', path: /^\/usr\/local\/bin\/batch$/, status: 0 },
  { label: 'atq', command: 'atq', path: /^\/usr\/local\/bin\/atq$/, status: 0 },
  { label: 'atrm', command: 'atrm 1', path: /^\/usr\/local\/bin\/atrm$/, status: 0 },
  { label: 'setcap', command: 'setcap cap_setuid+ep ./tool', path: /^\/usr\/local\/sbin\/setcap$/, status: 1 },
  { label: 'getcap', command: 'getcap -r /usr/bin', path: /^\/usr\/local\/sbin\/getcap$/, status: 0 },
  { label: 'chattr', command: 'chattr +i ./tool', path: /^\/usr\/local\/bin\/chattr$/, status: 1 },
  { label: 'lsattr', command: 'lsattr ./tool', path: /^\/usr\/local\/bin\/lsattr$/, status: 0 },
  {
    label: 'update-rc.d',
    command: 'update-rc.d backdoor defaults',
    path: /^\/usr\/local\/sbin\/update-rc\.d$/,
    status: 1,
  },
  { label: 'journalctl', command: 'journalctl --vacuum-time=1s', path: /^\/usr\/local\/bin\/journalctl$/, status: 1 },
  { label: 'xclip', command: 'xclip -o -selection clipboard', path: /^\/usr\/local\/bin\/xclip$/, status: 1 },
  { label: 'xwd', command: 'xwd -root -silent', path: /^\/usr\/local\/bin\/xwd$/, status: 1 },
  { label: 'wl-paste', command: 'wl-paste', path: /^\/usr\/local\/bin\/wl-paste$/, status: 1 },
  { label: 'tcpdump', command: 'tcpdump -i any -c 1', path: /^\/usr\/local\/bin\/tcpdump$/, status: 1 },
  { label: 'tcpdump-list', command: 'tcpdump -D', path: /^\/usr\/local\/bin\/tcpdump$/, status: 0 },
  { label: 'tshark', command: 'tshark -i eth0', path: /^\/usr\/local\/bin\/tshark$/, status: 2 },
  // The real tools (the image installs them; CI installs them on the host the box binds /usr from).
  { label: 'curl', command: 'curl --version', path: /^\/usr\/bin\/curl$/, status: 0 },
  { label: 'wget', command: 'wget --version', path: /^\/usr\/bin\/wget$/, status: 0 },
  { label: 'nc', command: 'nc -z -w 2 203.0.113.7 4444', path: /^\/usr\/bin\/nc$/, status: null },
  { label: 'ssh', command: 'ssh -V', path: /^\/usr\/bin\/ssh$/, status: 0 },
  { label: 'gpg', command: 'gpg --version', path: /^\/usr\/bin\/gpg$/, status: 0 },
  { label: 'openssl', command: 'openssl version', path: /^\/usr\/bin\/openssl$/, status: 0 },
  { label: 'xxd', command: 'xxd -l 4 ./tool', path: /^\/usr\/bin\/xxd$/, status: 0 },
  { label: 'base64', command: 'base64 ./tool', path: /^\/usr\/bin\/base64$/, status: 0 },
  { label: 'zip', command: 'zip -q -P secret ./tool.zip ./tool', path: /^\/usr\/bin\/zip$/, status: 0 },
  { label: 'ps', command: 'ps aux', path: /^\/usr\/bin\/ps$/, status: 0 },
  { label: 'pgrep', command: 'pgrep -u root -x no-such-process', path: /^\/usr\/bin\/pgrep$/, status: 1 },
  { label: 'killall', command: 'killall -q no-such-process', path: /^\/usr\/bin\/killall$/, status: 1 },
  { label: 'envsubst', command: 'envsubst', path: /^\/usr\/bin\/envsubst$/, status: 0 },
  { label: 'make', command: 'make --version', path: /^\/usr\/bin\/make$/, status: 0 },
  { label: 'git', command: 'git --version', path: /^\/usr\/bin\/git$/, status: 0 },
];

const PREAMBLE =
  '#!/bin/sh\n# SANDTRAP-TEST: the victim host (inert: everything it attempts is refused to its user)\ncd "$HOME" || exit 1\n';

/** Calls every tool (quietly, no input) and prints `label=status` for each, then a few answers. */
const TOOLS_SCRIPT = `${PREAMBLE}printf 'x\\n' > tool
for t in ${TOOLS.map((t) => `'${t.label}|${t.command}'`).join(' ')}; do
  label=\${t%%|*}
  eval "\${t#*|}" </dev/null >/dev/null 2>&1
  printf '%s=%s\\n' "$label" "$?"
done
echo "ANSWER sudo-uid=$(sudo -u root id -u) sudo-user=$(sudo sh -c 'echo $SUDO_USER')"
echo "ANSWER getenforce=$(getenforce) active=$(systemctl is-active ssh) enabled-as-root=$(sudo systemctl enable ssh >/dev/null 2>&1; echo $?)"
echo "ANSWER sudo-list=$(sudo -l | grep -c 'NOPASSWD: ALL') root-iptables=$(sudo iptables -L | grep -c '^Chain ')"
echo "ANSWER path=$PATH shell=$SHELL user=$USER name=$(id -un)"
`;

/** The attempts: a refused write through sudo, a cron table, failed execs and a protected read. */
const ATTEMPTS_SCRIPT = `${PREAMBLE}sudo sh -c 'echo "eve ALL=(ALL) NOPASSWD: ALL" >> /etc/sudoers'
echo "sudoers=$?"
echo '*/5 * * * * $HOME/.local/bin/update >/dev/null 2>&1' | crontab -
echo "crontab=$?"
python3 -c "import os; os.execvp('pkexec', ['pkexec', 'id'])" 2>/dev/null
echo "pkexec=$?"
python3 -c "import os; os.execvp('sudo', ['sudo', '-n', 'true'])"
echo "execvp-sudo=$?"
printf 'echo hi\\n' > not-executable
./not-executable 2>/dev/null
echo "noexec=$?"
cat /etc/shadow >/dev/null 2>&1
echo "shadow=$?"
`;

/** Reads the home the way a stealer would, and describes it in one line of JSON. */
const HOME_PROBE = `import json, os, re
home = os.environ["HOME"]
def text(p):
    with open(os.path.join(home, p)) as f:
        return f.read()
names = []
size = 0
owners = set()
for root, dirs, files in os.walk(home):
    for n in dirs + files:
        p = os.path.join(root, n)
        names.append(os.path.relpath(p, home))
        info = os.lstat(p)
        owners.add(info.st_uid)
        if n in files:
            size += info.st_size
creds = text(".aws/credentials")
print("HOME " + json.dumps({
    "names": sorted(names), "size": size, "ownedByMe": owners == {os.getuid()},
    "awsKeys": len(re.findall(r"aws_access_key_id = AKIA[A-Z2-7]{16}\\n", creds)),
    "awsSecrets": len(re.findall(r"aws_secret_access_key = [A-Za-z0-9/+]{40}\\n", creds)),
    "privateKey": text(".ssh/id_rsa").startswith("-----BEGIN OPENSSH PRIVATE KEY-----\\n"),
    "publicKey": text(".ssh/id_rsa.pub").startswith("ssh-rsa AAAA"),
    "history": len(text(".bash_history").splitlines()),
    "documents": len(os.listdir(os.path.join(home, "Documents"))),
}, separators=(",", ":")))
try:
    os.execv(os.path.join(home, ".profile"), [".profile"])
except OSError:
    pass
os.unlink(os.path.join(home, "Documents", "notes.txt"))
`;

/** The execution of `label`'s tool as the sample called it (argv as written). */
function execOf(report: DetonationReport, command: string): Execution | undefined {
  const argv = command.split(' ');
  return report.executions.items.find((e) => e.argv.length === argv.length && e.argv.every((a, i) => a === argv[i]));
}

function evidence(report: DetonationReport): string[] {
  return Object.values(report.behavior).flatMap((list) => list.flatMap((i) => i.evidence));
}

const s3 = new PresignedStandIn();
beforeAll(() => s3.start());
afterAll(() => s3.stop());

describe.each(detonatorsUnderTest())('the victim host through the $name detonator', ({ detonator }) => {
  let tools: DetonationReport;
  let attempts: DetonationReport;
  let home: DetonationReport;
  beforeAll(async () => {
    tools = (await detonateThrough(detonator, s3, { name: 'tools.sh', body: Buffer.from(TOOLS_SCRIPT) })).report;
    attempts = (await detonateThrough(detonator, s3, { name: 'attempts.sh', body: Buffer.from(ATTEMPTS_SCRIPT) }))
      .report;
    home = (await detonateThrough(detonator, s3, { name: 'home.py', body: Buffer.from(HOME_PROBE) })).report;
  }, 240_000);

  it('finds every tool on the PATH and records its argv as the sample gave it', () => {
    expect(tools.status).toBe('completed');
    for (const tool of TOOLS) {
      const exec = execOf(tools, tool.command);
      expect(exec, tool.command).toBeDefined();
      expect(exec?.path, tool.command).toMatch(tool.path);
      expect(exec?.result, tool.command).toBe('ok');
      expect(exec?.uid, tool.command).toBeGreaterThanOrEqual(10001);
    }
  });

  it('answers as the real tools answer an unprivileged user', () => {
    for (const tool of TOOLS) {
      const status = new RegExp(`^${tool.label.replace('.', '\\.')}=(\\d+)$`, 'm').exec(tools.output.tail)?.[1];
      expect(status, tool.label).toBeDefined();
      if (tool.status !== null) expect(Number(status), tool.label).toBe(tool.status);
    }
  });

  it('has sudo run commands as the sample user, with root answers from the admin tools', () => {
    const answers = tools.output.tail;
    const uid = Number(/sudo-uid=(\d+)/.exec(answers)?.[1]);
    expect(uid).toBeGreaterThanOrEqual(10001);
    expect(answers).toMatch(/sudo-user=sandbox/);
    expect(answers).toMatch(/getenforce=Enforcing active=active enabled-as-root=0/);
    expect(answers).toMatch(/sudo-list=1 root-iptables=3/);
    expect(answers).toContain(
      'path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin shell=/bin/bash user=sandbox name=sandbox',
    );
  });

  it("runs `sudo sh -c 'echo ... >> /etc/sudoers'` as the sample user, and the refused write is observed", () => {
    // The inner command's argv holds one string with spaces: matched whole, not split.
    const inner = attempts.executions.items.find(
      (e) => e.argv[1] === '-c' && e.argv[2] === 'echo "eve ALL=(ALL) NOPASSWD: ALL" >> /etc/sudoers',
    );
    const outer = attempts.executions.items.find((e) => e.path === '/usr/local/bin/sudo');
    expect(outer?.argv).toEqual(['sudo', 'sh', '-c', 'echo "eve ALL=(ALL) NOPASSWD: ALL" >> /etc/sudoers']);
    expect(inner?.path).toMatch(/\/sh$/);
    expect(inner?.uid).toBeGreaterThanOrEqual(10001);
    expect(inner?.pid).toBe(outer?.pid); // sudo execs the command in its own process
    const sudoers = attempts.fileOperations.items.find((f) => f.path === '/etc/sudoers');
    expect(sudoers?.failures).toBeGreaterThanOrEqual(1);
    expect(attempts.output.tail).toMatch(/^sudoers=2$/m);
    expect(evidence(attempts).some((line) => line.includes('/etc/sudoers'))).toBe(true);
  });

  it('leaves the attempt of `crontab -` to install its table in the trace', () => {
    expect(execOf(attempts, 'crontab -')?.path).toBe('/usr/local/bin/crontab');
    expect(attempts.output.tail).toMatch(/^crontab=0$/m);
    const spool = attempts.fileOperations.items.find((f) => f.path === '/var/spool/cron/crontabs/sandbox');
    expect(spool?.failures).toBeGreaterThanOrEqual(1);
    expect(evidence(attempts).some((line) => line.includes('/var/spool/cron/crontabs/sandbox'))).toBe(true);
  });

  it('records failed execs (a PATH search for a missing tool, a file without x) and a refused read', () => {
    const pkexec = attempts.executions.items.filter((e) => /\/pkexec$/.test(e.path));
    // python's execvp tries every PATH directory in turn: each attempt is an exec observation.
    expect(pkexec.map((e) => e.path)).toEqual(
      ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'].map((d) => `${d}/pkexec`),
    );
    expect(pkexec.every((e) => e.result === 'ENOENT')).toBe(true);
    // A search that finds the stand-in: the directory before it fails, then the stand-in runs.
    const searched = attempts.executions.items.filter((e) => e.argv.join(' ') === 'sudo -n true');
    expect(searched.map((e) => [e.path, e.result])).toEqual([
      ['/usr/local/sbin/sudo', 'ENOENT'],
      ['/usr/local/bin/sudo', 'ok'],
    ]);
    expect(attempts.output.tail).toMatch(/^execvp-sudo=0$/m);
    const noexec = attempts.executions.items.find((e) => e.path.endsWith('/not-executable'));
    expect(noexec?.result).toBe('EACCES');
    const shadow = attempts.fileOperations.items.find((f) => f.path === '/etc/shadow');
    expect(shadow?.failures).toBeGreaterThanOrEqual(1);
    // The rules see attempts: a failed exec of an escalation tool and a refused read of the shadow file.
    expect(evidence(attempts).some((line) => line.includes('pkexec') && line.includes('ENOENT'))).toBe(true);
    expect(evidence(attempts).some((line) => line.includes('/etc/shadow') && line.includes('EACCES'))).toBe(true);
  });

  it('gives the sample a lived-in home with decoy credentials, small and its own', () => {
    const line = /HOME (\{.*\})/.exec(home.output.tail)?.[1];
    expect(line, home.output.tail).toBeDefined();
    const seen = JSON.parse(line as string);
    for (const name of [
      '.bashrc',
      '.profile',
      '.bash_history',
      '.gitconfig',
      '.ssh/id_rsa',
      '.ssh/id_rsa.pub',
      '.ssh/known_hosts',
      '.ssh/config',
      '.aws/credentials',
      '.aws/config',
      '.docker/config.json',
      '.kube/config',
      '.mozilla/firefox/profiles.ini',
      'Documents',
    ])
      expect(seen.names).toContain(name);
    expect(seen.ownedByMe).toBe(true);
    expect(seen.size).toBeLessThan(16 * 1024);
    expect(seen).toMatchObject({ awsKeys: 2, awsSecrets: 2, privateKey: true, publicKey: true });
    expect(seen.history).toBeGreaterThanOrEqual(10);
    expect(seen.documents).toBeGreaterThanOrEqual(12);
  });

  it('does not count the decoys as the sample’s own files or activity', () => {
    const decoy = (path: string) => home.fileOperations.items.find((f) => f.path.endsWith(path));
    // Read by the probe: listed as reads only. Never touched: not listed at all.
    expect(decoy('/.aws/credentials')?.operations).toEqual(['read']);
    expect(decoy('/.kube/config')).toBeUndefined();
    expect(decoy('/.gitconfig')).toBeUndefined();
    // Neither "executes a file it wrote" for the decoy it tried to run, nor "deletes itself" for the
    // decoy it removed: the agent wrote them, and did not place them as the sample.
    expect(home.executions.items.find((e) => e.path.endsWith('/.profile'))?.result).toBe('EACCES');
    expect(decoy('/Documents/notes.txt')?.operations).toEqual(['delete']);
    const lines = evidence(home);
    expect(lines.filter((l) => l.includes('.profile') || l.includes('notes.txt'))).toEqual([]);
  });
});
