import { describe, expect, it } from 'vitest';
import { BEHAVIOR_KEYS } from '../../../../lambdas/core/contracts/detonation-report';
import {
  escapeHtml,
  escapeText,
  html,
  revealInvisible,
  safeHref,
  SafeHtml,
} from '../../../../lambdas/core/report/html-escape';
import type { Behavior } from '../../../../lambdas/core/contracts/detonation-report';
import { renderHtmlReport, REPORT_CSP, type HtmlReportInput } from '../../../../lambdas/core/report/html-report';
import {
  benignTriageOnly,
  detonatedDropper,
  GENERATED_AT,
  hostileSample,
  multiVendorMalicious,
  PAYLOADS,
} from '../../../fixtures/reports/documents';

/** Every tag of a document, with its attributes; whatever is not a tag is text. */
interface Tag {
  name: string;
  closing: boolean;
  attributes: Map<string, string>;
}

const TAG = /<(\/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s=>/"']+(?:="[^"]*")?)*)\s*\/?>/g;

function tags(doc: string): Tag[] {
  return [...doc.matchAll(TAG)].map((m) => ({
    name: (m[2] as string).toLowerCase(),
    closing: m[1] === '/',
    attributes: new Map(
      [...(m[3] ?? '').matchAll(/([^\s=]+)(?:="([^"]*)")?/g)].map((a) => [
        (a[1] as string).toLowerCase(),
        decode(a[2] ?? ''),
      ]),
    ),
  }));
}

function decode(s: string): string {
  return s.replace(
    /&(lt|gt|quot|#39|amp);/g,
    (_, e: string) => ({ lt: '<', gt: '>', quot: '"', '#39': "'", amp: '&' })[e] as string,
  );
}

/** The text a reader sees: tags removed, entities decoded. */
function visibleText(doc: string): string {
  return decode(doc.replace(/<style>[\s\S]*?<\/style>/, '').replace(TAG, ' '));
}

/** The only outside pages a report links to besides vendor reports: ATT&CK technique and tactic pages. */
const ATTACK_PAGE = /^https:\/\/attack\.mitre\.org\/(techniques\/T\d{4}(\/\d{3})?|tactics\/TA\d{4})\/$/;

/** The elements a report may contain: no script, no embedding, no image or stylesheet that loads. */
const ALLOWED_TAGS = new Set(
  'html head meta link title style body main div span header nav a section h2 h3 dl dt dd table colgroup col thead tbody tr th td p code pre strong br ul ol li article footer figure figcaption svg g rect text polygon polyline circle line'.split(
    ' ',
  ),
);

describe('escapeHtml', () => {
  it('escapes the characters that end text or a quoted attribute', () => {
    expect(escapeHtml(`<a href="x" title='y'>&amp;</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;',
    );
  });

  it('turns script, attribute-breaking and style-closing payloads into inert text', () => {
    expect(escapeHtml(`<script>alert(1)</script>`)).toBe('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(escapeHtml(`"><img src=x onerror=alert(1)>`)).toBe('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
    expect(escapeHtml(`</style>`)).toBe('&lt;/style&gt;');
  });

  it('leaves printable Unicode alone', () => {
    expect(escapeHtml('Grüße_請求書_🦠.pdf')).toBe('Grüße_請求書_🦠.pdf');
  });
});

describe('revealInvisible', () => {
  it.each([
    ['shows a direction override by its code point', 'invoice\u202Efdp.exe', 'invoice[U+202E]fdp.exe'],
    [
      'shows zero-width and control characters by their code point',
      'a\u200Bb\u0000c\u001B[31md\uFEFF',
      'a[U+200B]b[U+0000]c[U+001B][31md[U+FEFF]',
    ],
    ['keeps tabs and line breaks, and astral characters whose surrogates are paired', 'a\tb\nc\r\n🦠', 'a\tb\nc\r\n🦠'],
    ['replaces lone surrogates, which cannot be written as UTF-8', 'x\uD800y\uDC00', 'x[U+D800]y[U+DC00]'],
  ])('%s', (_, input, expected) => {
    expect(revealInvisible(input)).toBe(expected);
  });

  it('is applied before escaping by escapeText', () => {
    expect(escapeText('<\u202E>')).toBe('&lt;[U+202E]&gt;');
  });
});

describe('safeHref', () => {
  it('keeps absolute http and https URLs, normalised', () => {
    expect(safeHref('https://vendor.example/report/1?x=1')).toBe('https://vendor.example/report/1?x=1');
    expect(safeHref('  HTTP://Vendor.Example/a ')).toBe('http://vendor.example/a');
  });

  it.each([
    ['javascript:alert(1)'],
    [' JaVaScRiPt:alert(1)'],
    ['java\tscript:alert(1)'],
    ['data:text/html,<script>alert(1)</script>'],
    ['vbscript:msgbox(1)'],
    ['file:///etc/passwd'],
    ['//evil.example/x'],
    ['/relative/path'],
    ['not a url'],
    [''],
  ])('refuses %j', (url) => {
    expect(safeHref(url)).toBeNull();
  });

  it('percent-encodes quotes and angle brackets, so the href cannot break out of its attribute', () => {
    const href = safeHref(`https://vendor.example/r?q="><script>alert(1)</script>`);
    expect(href).not.toBeNull();
    expect(href).not.toMatch(/["<>]/);
  });
});

describe('html tag', () => {
  it('escapes interpolated strings and numbers but keeps markup it built', () => {
    const inner = html`<b>${'<i>'}</b>`;
    expect(html`<p title="${'"x"'}">${inner}${42}</p>`.value).toBe('<p title="&quot;x&quot;"><b>&lt;i&gt;</b>42</p>');
  });

  it('joins lists and renders nothing for null, undefined and booleans', () => {
    expect(html`${['<a>', html`<br>`, null, undefined, false, true]}`.value).toBe('&lt;a&gt;<br>');
  });

  it('cannot be forged: markup is only made by the tag', () => {
    expect(
      () =>
        new (SafeHtml as unknown as new (key: symbol, value: string) => SafeHtml)(Symbol('trusted markup'), '<script>'),
    ).toThrow(TypeError);
  });
});

describe('renderHtmlReport', () => {
  it('lists the vendors a disclosure rule withheld, and says when an analyst released the file', () => {
    const input = multiVendorMalicious();
    input.document = {
      ...input.document,
      reason: 'released',
      withheld: [{ engine: 'triage', reason: 'disclosure', source: '*/hr/<b>' }],
    };
    const doc = renderHtmlReport(input);
    expect(doc).toContain('withheld by the disclosure rule of <code>*/hr/&lt;b&gt;</code>');
    expect(doc).toContain('not sent');
    expect(doc).toContain('released by an analyst (sandtrap release)');
    expect(renderHtmlReport(multiVendorMalicious())).not.toContain('not sent');
  });

  it('declares a strict Content-Security-Policy and no script', () => {
    const doc = renderHtmlReport(detonatedDropper());
    const meta = tags(doc).find(
      (t) => t.name === 'meta' && t.attributes.get('http-equiv') === 'Content-Security-Policy',
    );
    expect(meta?.attributes.get('content')).toBe(REPORT_CSP);
    for (const directive of ["default-src 'none'", "style-src 'unsafe-inline'", 'img-src data:'])
      expect(REPORT_CSP).toContain(directive);
    expect(REPORT_CSP).not.toMatch(/script-src/);
    expect(doc).not.toMatch(/<script/i);
    expect(doc.indexOf('Content-Security-Policy')).toBeLessThan(doc.indexOf('<title>'));
  });

  it.each([
    ['benign triage-only', benignTriageOnly],
    ['multi-vendor malicious', multiVendorMalicious],
    ['detonated dropper', detonatedDropper],
    ['hostile sample', hostileSample],
  ])('%s: every "<" opens an allowed tag, no handler attribute, nothing that loads', (_, build) => {
    const input = build();
    const doc = renderHtmlReport(input);
    const found = tags(doc);
    expect(doc.match(/</g)?.length).toBe(found.length + 1); // + <!DOCTYPE html>
    const allowedLinks = new Set(Object.values(input.reportLinks ?? {}).flatMap((u) => safeHref(u) ?? []));
    for (const tag of found) {
      expect(ALLOWED_TAGS, tag.name).toContain(tag.name);
      for (const [name, value] of tag.attributes) {
        expect(name).not.toMatch(/^on/);
        expect(['src', 'srcset', 'action', 'formaction', 'background', 'poster', 'xlink:href']).not.toContain(name);
        if (name === 'href') {
          if (tag.name === 'link') expect(value).toBe('data:,');
          else if (!value.startsWith('#') && !ATTACK_PAGE.test(value)) expect(allowedLinks).toContain(value);
        } else if (name !== 'xmlns') expect(value).not.toMatch(/https?:|javascript:/i);
      }
    }
    const style = /<style>([\s\S]*?)<\/style>/.exec(doc)?.[1] ?? '';
    expect(style).not.toMatch(/url\(|@import|@font-face/i);
  });

  it('shows the payloads of a hostile sample as text, without any of them becoming markup', () => {
    const doc = renderHtmlReport(hostileSample());
    for (const payload of PAYLOADS) expect(doc).not.toContain(payload);
    expect(doc.match(/<\/style>/g)).toHaveLength(1);
    expect(doc).toContain('&lt;script&gt;console.log(&#39;XSS-MARKER&#39;)&lt;/script&gt;');
    expect(doc).toContain('&quot;&gt;&lt;img src=x onerror=&quot;console.log(&#39;XSS-MARKER&#39;)&quot;&gt;');
    const text = visibleText(doc);
    for (const payload of PAYLOADS) expect(text).toContain(payload);
    expect(text).toContain('[U+202E]fdp.exe');
  });

  it('escapes the file name in the page title', () => {
    const input = hostileSample();
    input.document.key = `uploads/"><img src=x onerror=alert(1)>.exe`;
    expect(/<title>([^<]*)<\/title>/.exec(renderHtmlReport(input))?.[1]).toBe(
      'MALICIOUS · &quot;&gt;&lt;img src=x onerror=alert(1)&gt;.exe · Sandtrap report',
    );
  });

  it('links a vendor report only when its URL is http(s), escaped in the attribute', () => {
    const doc = renderHtmlReport(hostileSample());
    const hrefs = tags(doc)
      .filter((t) => {
        const href = t.attributes.get('href') ?? '';
        return t.name === 'a' && !t.closing && !href.startsWith('#') && !ATTACK_PAGE.test(href);
      })
      .map((t) => t.attributes);
    expect(hrefs).toHaveLength(1);
    expect(hrefs[0]?.get('href')).toBe(safeHref(hostileSample().reportLinks?.falcon ?? ''));
    expect(hrefs[0]?.get('rel')).toBe('noopener noreferrer');
    expect(doc).not.toMatch(/href="\s*javascript:/i);
    expect(doc.match(/link withheld \(not http\/https\)/g)).toHaveLength(2);
  });

  it('keeps the referrer from reaching vendors, so a presigned report URL does not leak', () => {
    expect(renderHtmlReport(multiVendorMalicious())).toContain('<meta name="referrer" content="no-referrer">');
  });

  it('renders Unicode file names as they are', () => {
    const input = benignTriageOnly();
    input.document.key = 'inbox/Grüße_請求書_🦠.pdf';
    const doc = renderHtmlReport(input);
    expect(doc).toContain('<meta charset="utf-8">');
    expect(doc).toContain('Grüße_請求書_🦠.pdf');
  });

  it('has every section for a detonated sample, with the data of each', () => {
    const input = detonatedDropper();
    const doc = renderHtmlReport(input);
    const text = visibleText(doc);
    for (const id of ['triage', 'engines', 'detonation', 'behavior', 'timeline', 'processes', 'files', 'network'])
      expect(doc).toContain(`<section id="${id}">`);
    expect(text).toMatch(/MALICIOUS\s+Score\s+98\s*\/100/);
    for (const fact of [
      input.document.sha256,
      input.document.sha1,
      input.document.md5,
      'text/x-shellscript',
      '2.8 KiB (2,874 bytes)',
      'ci-artifacts/build-4411/update.sh',
      '2024-06-01 10:01:20 UTC',
    ])
      expect(text).toContain(fact);
    for (const label of [
      'Persistence',
      'Privilege escalation',
      'Defence evasion',
      'Data harvesting',
      'Network',
      'Destructive',
      'Execution',
      'Cryptomining',
    ])
      expect(text).toContain(label);
    for (const key of BEHAVIOR_KEYS)
      for (const indicator of input.detonation?.behavior[key] ?? []) {
        expect(text).toContain(indicator.title);
        for (const id of indicator.attack) expect(text).toContain(id);
        for (const line of indicator.evidence) expect(text).toContain(line);
      }
    expect(text).toContain('first seen +2.38 s');
    // The tree nests: the miner's child sits in a list inside the miner's item.
    expect(doc).toMatch(/<span class="pid">105<\/span>[\s\S]*?<ul><li><div class="proc"><span class="pid">106<\/span>/);
    expect(text).toContain("'[kswapd0]' -o stratum+tcp://pool.supportxmr.com:3333");
    for (const network of [
      'pool.supportxmr.com',
      'POST 185.225.74.9:80/api/report?id=ab12',
      'pastebin.com',
      'DNS only to the fake resolver',
    ])
      expect(text).toContain(network);
    expect(text).toContain('Showing 8 of 31 paths; the agent left out the rest.');
  });

  it('draws every process once, even when a malformed report makes parents a cycle', () => {
    const input = detonatedDropper();
    const d = input.detonation!;
    const base = d.processes.items[0]!;
    const cycle = [
      { ...base, pid: 300, ppid: 301 },
      { ...base, pid: 301, ppid: 300 },
    ];
    input.detonation = {
      ...d,
      processes: { items: [...d.processes.items, ...cycle], count: d.processes.count + 2, truncated: false },
    };
    const doc = renderHtmlReport(input);
    for (const p of input.detonation.processes.items)
      expect(doc.split(`<span class="pid">${p.pid}</span>`)).toHaveLength(2);
  });

  it('draws the timeline as inline SVG with resource lines and indicator markers', () => {
    const doc = renderHtmlReport(detonatedDropper());
    const svg = /<svg [\s\S]*?<\/svg>/.exec(doc)?.[0] ?? '';
    expect(svg.match(/<polyline /g)).toHaveLength(3);
    expect(svg).toMatch(/Indicators \(9\)/);
    expect(svg.match(/class="m-ind /g)).toHaveLength(9);
    expect(svg).toContain('<title>+0.62 s critical: Runs a file it downloaded (execution.download-exec)</title>');
    expect(visibleText(doc)).toContain('4 indicators carry no trace timestamp and are not placed.');
  });

  it('says plainly what a triage-only report lacks', () => {
    const text = visibleText(renderHtmlReport(benignTriageOnly()));
    expect(text).toContain('UNKNOWN');
    expect(text).toContain('No engine produced a score, so the verdict is unknown, not benign.');
    expect(text).toContain('No engine analysed this sample: the verdict comes from triage only.');
    expect(text).toContain(
      'The detonation did not run for this sample: there is no behaviour, timeline, process tree, file or network activity to show.',
    );
  });

  it('says so when a detonation ran but saw nothing', () => {
    const input = detonatedDropper();
    const d = input.detonation!;
    const none = { items: [], count: 0, truncated: false };
    input.detonation = {
      ...d,
      processes: none,
      executions: none,
      fileOperations: none,
      resourceUsage: none,
      network: { dnsQueries: none, connections: none, httpRequests: none, tlsServerNames: none, payloads: none },
      staticStrings: { urls: none, ipAddresses: none },
      behavior: Object.fromEntries(BEHAVIOR_KEYS.map((k) => [k, []])) as unknown as typeof d.behavior,
      output: { bytes: 0, tail: '' },
      score: 0,
      verdict: 'benign',
    };
    const text = visibleText(renderHtmlReport(input));
    for (const message of [
      'No indicators were raised under any behaviour key.',
      'No resource samples or timed events were recorded.',
      'No processes were recorded.',
      'No file activity was recorded in the watched directories.',
      'No DNS queries.',
      'No connection attempts.',
      'No HTTP requests.',
      'No TLS handshakes.',
      'No URLs or IP addresses among the printable strings.',
      'The sample wrote nothing to stdout or stderr.',
    ])
      expect(text).toContain(message);
  });

  it('shows the engines with native and normalised scores, reasons and report links', () => {
    const input = multiVendorMalicious();
    const doc = renderHtmlReport(input);
    const text = visibleText(doc);
    expect(text).toMatch(
      /CrowdStrike Falcon Sandbox\s+falcon\s+completed\s+malicious\s+100\s+100\s+\(threat score 0–100\)\s+Emotet loader/,
    );
    expect(text).toMatch(/Hatching Triage\s+triage\s+timed out\s+unknown\s+no score/);
    expect(text).toContain('daily submission quota of 500 reached');
    expect(doc).toContain(
      `<a href="${input.reportLinks?.joe}" rel="noopener noreferrer" target="_blank">vendor report</a>`,
    );
    // OPSWAT has no link: its stored report key is shown instead, the hash it repeats shortened.
    expect(text).toContain(`reports/${input.document.sha256.slice(0, 8)}…/opswat/bzI0MDYwMW.json.gz`);
  });

  it("shows each vendor's findings in its row: families, its strongest signatures with severity, ATT&CK ids", () => {
    const text = visibleText(renderHtmlReport(multiVendorMalicious()));
    expect(text).toMatch(
      /Emotet loader: process hollowing, credential theft\s+Emotet\s+Injects into a remote process\s+\(critical\)\s*;\s*Reads browser credential stores\s+\(high\)\s*;\s*Contacts a known C2 domain\s+\(high\)\s+and 1 more\s+T1055\.012 T1555\.003/,
    );
    // The weakest signature is left to the verdict document.
    expect(text).not.toContain('Queries the volume serial number');
  });

  it("links the vendor's own page from its findings, https only, when no link came with the report", () => {
    const input = multiVendorMalicious();
    delete input.reportLinks?.vmray;
    const link = input.document.engineResults.find((e) => e.engine === 'vmray')?.findings?.reportUrl;
    expect(renderHtmlReport(input)).toContain(
      `<a href="${link?.replace(/&/g, '&amp;')}" rel="noopener noreferrer" target="_blank">vendor report</a>`,
    );
    const vmray = input.document.engineResults.find((e) => e.engine === 'vmray');
    if (vmray?.findings) vmray.findings.reportUrl = 'javascript:alert(1)';
    const doc = renderHtmlReport(input);
    expect(doc).not.toMatch(/href="\s*javascript:/i);
    expect(visibleText(doc)).toContain('link withheld (not http/https)');
  });

  it('reads behaviour from the verdict document when the detonation report is not attached', () => {
    const input = detonatedDropper();
    delete input.detonation;
    input.document.behavior = {
      ...input.document.behavior,
      persistence: [...(input.document.behavior?.persistence ?? []), { not: 'an indicator' }],
    };
    const text = visibleText(renderHtmlReport(input));
    expect(text).toContain('Installs a crontab entry');
    expect(text).toContain('The behaviour below comes from the verdict document.');
    expect(text).toContain('Left out 1 behaviour entry of the verdict document that could not be read as indicators.');
  });

  it('is pure: the same input gives the same bytes, dated by generatedAt', () => {
    const a = renderHtmlReport(detonatedDropper());
    expect(renderHtmlReport(detonatedDropper())).toBe(a);
    expect(a).toContain(`Generated ${GENERATED_AT.toISOString().slice(0, 19).replace('T', ' ')} UTC`);
  });
});

describe('renderHtmlReport: behaviour by ATT&CK tactic', () => {
  /** The behaviour section of a report. */
  function behaviorOf(doc: string): string {
    return /<section id="behavior">[\s\S]*?<\/section>/.exec(doc)?.[0] ?? '';
  }

  /** Each group's heading text and the rule ids of its indicators, in page order. */
  function groupsOf(doc: string): [string, string[]][] {
    return behaviorOf(doc)
      .split('<div class="group">')
      .slice(1)
      .map((group) => [
        visibleText(/<h3[^>]*>([\s\S]*?)<\/h3>/.exec(group)?.[1] ?? '')
          .replace(/\s+/g, ' ')
          .trim(),
        [...group.matchAll(/<code class="muted">([^<]*)<\/code>/g)].map((m) => m[1] as string),
      ]);
  }

  function withBehavior(build: () => HtmlReportInput, edit: (b: Behavior) => void): HtmlReportInput {
    const input = build();
    const d = input.detonation!;
    const behavior = structuredClone(d.behavior);
    edit(behavior);
    input.detonation = { ...d, behavior };
    return input;
  }

  it('groups indicators by tactic in kill-chain order, each indicator once, most severe first', () => {
    expect(groupsOf(renderHtmlReport(detonatedDropper()))).toEqual([
      ['Execution TA0002 · 1 indicator', ['execution.download-exec']],
      ['Persistence TA0003 · 2 indicators', ['persistence.cron', 'persistence.shell-init']],
      ['Privilege Escalation TA0004 · 1 indicator', ['privilegeEscalation.sudo']],
      ['Defense Evasion TA0005 · 3 indicators', ['destructive.log-wipe', 'evasion.masquerade', 'evasion.self-delete']],
      ['Credential Access TA0006 · 2 indicators', ['dataHarvesting.ssh-keys', 'dataHarvesting.shadow']],
      ['Command and Control TA0011 · 2 indicators', ['network.pastebin', 'network.blocked-resolver']],
      ['Impact TA0040 · 2 indicators', ['cryptomining.stratum', 'cryptomining.cpu']],
    ]);
  });

  it('says how indicators are filed, and names the other tactics of a multi-tactic technique', () => {
    const text = visibleText(behaviorOf(renderHtmlReport(detonatedDropper()))).replace(/\s+/g, ' ');
    expect(text).toContain(
      'Each indicator is listed once, under the tactic its behaviour key stands for; other tactics its techniques serve follow "also".',
    );
    expect(text).toContain('Indicators by ATT&CK tactic (Enterprise v18), in kill-chain order.');
    // The cron entry is filed under Persistence, its behaviour key, not Execution, its first tactic.
    expect(text).toMatch(
      /Installs a crontab entry persistence\.cron Persistence ATT&CK T1053\.003 Scheduled Task\/Job: Cron · also Execution, Privilege Escalation ·/,
    );
  });

  it('links the kill-chain strip to the groups, in the same order', () => {
    const doc = behaviorOf(renderHtmlReport(detonatedDropper()));
    const strip = /<ol class="killchain">([\s\S]*?)<\/ol>/.exec(doc)?.[1] ?? '';
    const targets = [...strip.matchAll(/href="#([^"]+)"/g)].map((m) => m[1]);
    expect(targets).toEqual(
      ['TA0002', 'TA0003', 'TA0004', 'TA0005', 'TA0006', 'TA0011', 'TA0040'].map((t) => `tactic-${t}`),
    );
    for (const target of targets) expect(doc).toContain(`<h3 id="${target}">`);
  });

  it('links each technique id to its ATT&CK page, named in its title', () => {
    const found = tags(renderHtmlReport(detonatedDropper())).filter(
      (t) => t.name === 'a' && t.attributes.get('class') === 'technique',
    );
    expect(found.map((t) => t.attributes.get('href'))).toContain('https://attack.mitre.org/techniques/T1053/003/');
    const cron = found.find((t) => t.attributes.get('href') === 'https://attack.mitre.org/techniques/T1053/003/');
    expect(Object.fromEntries(cron!.attributes)).toEqual({
      class: 'technique',
      href: 'https://attack.mitre.org/techniques/T1053/003/',
      title: 'Scheduled Task/Job: Cron',
      rel: 'noopener noreferrer',
      target: '_blank',
    });
    expect(
      found
        .find((t) => t.attributes.get('href') === 'https://attack.mitre.org/techniques/T1105/')
        ?.attributes.get('title'),
    ).toBe('Ingress Tool Transfer');
    // One link per id an indicator carries: 13 indicators, three of them with two ids.
    expect(found).toHaveLength(16);
    const tacticLink = tags(renderHtmlReport(detonatedDropper())).find(
      (t) => t.attributes.get('class') === 'tactic-id',
    );
    expect(tacticLink?.attributes.get('href')).toBe('https://attack.mitre.org/tactics/TA0002/');
  });

  it('puts unmapped techniques and indicators without one in groups of their own, last', () => {
    const input = withBehavior(detonatedDropper, (b) => {
      b.network[0]!.attack = ['T9999'];
      b.network[1]!.attack = [];
      b.persistence[1]!.attack = ['T1546.099'];
    });
    const groups = groupsOf(renderHtmlReport(input));
    expect(groups.slice(-2)).toEqual([
      ['Unmapped (techniques the report cannot place in a tactic) · 1 indicator', ['network.blocked-resolver']],
      ['No ATT&CK technique · 1 indicator', ['network.pastebin']],
    ]);
    // A sub-technique the catalogue lacks is placed by its parent's tactics and still linked.
    expect(groups[1]).toEqual(['Persistence TA0003 · 2 indicators', ['persistence.cron', 'persistence.shell-init']]);
    const doc = renderHtmlReport(input);
    expect(doc).toContain('href="https://attack.mitre.org/techniques/T1546/099/"');
    expect(doc).toContain('href="https://attack.mitre.org/techniques/T9999/"');
    expect(visibleText(doc).replace(/\s+/g, ' ')).toContain(
      'T1546.099 Event Triggered Execution (sub-technique not in the catalogue)',
    );
  });

  it('escapes a malformed technique id from report data and does not link it', () => {
    const payload = `"><script>alert(1)</script>`;
    const input = withBehavior(hostileSample, (b) => {
      b.execution[0]!.attack = [payload, 'T1105'];
    });
    const doc = renderHtmlReport(input);
    expect(doc).not.toContain(payload);
    expect(doc).toContain('<code>&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</code>');
    const attackLinks = tags(doc)
      .flatMap((t) => t.attributes.get('href') ?? [])
      .filter((h) => h.includes('attack.mitre.org'));
    for (const href of attackLinks) expect(href).toMatch(ATTACK_PAGE);
    expect(attackLinks).toContain('https://attack.mitre.org/techniques/T1105/');
    // The valid id still places the indicator: T1105 is Command and Control only.
    expect(groupsOf(doc).find(([heading]) => heading.startsWith('Command and Control'))?.[1]).toEqual([
      'execution.download-exec',
      'network.pastebin',
      'network.blocked-resolver',
    ]);
  });
});

describe('the packet capture in the detonation section', () => {
  function captured(captureKey: string): HtmlReportInput {
    const input = detonatedDropper();
    const detonation = input.detonation as NonNullable<HtmlReportInput['detonation']>;
    detonation.capabilities = {
      ...detonation.capabilities,
      pcap: 'captured',
      pcapFile: { bytes: 4321, packets: 37, conversations: 4, attributed: 3, truncated: true },
    };
    const result = input.document.engineResults.find((e) => e.engine === 'detonation');
    if (result) result.captureKey = captureKey;
    return input;
  }
  const factOf = (doc: string) => /<dt>Packet capture<\/dt>\s*<dd>(.*?)<\/dd>/s.exec(doc)?.[1] ?? '';

  it('links the file beside the report by its key, with what it holds and that it was truncated', () => {
    const input = captured('');
    const key = `reports/${input.document.sha256}/detonation/task-7f3a.pcap`;
    const doc = renderHtmlReport(captured(key));
    const fact = factOf(doc);
    expect(fact).toContain('<a href="detonation/task-7f3a.pcap" download>task-7f3a.pcap</a>');
    expect(fact).toContain(`<code class="small">${key}</code>`);
    expect(visibleText(fact)).toMatch(/37 packets, .*3 of 4 conversations.*truncated/);
  });

  it('shows a key outside the report folder as text only, never as a link', () => {
    const fact = factOf(renderHtmlReport(captured('reports/other/../../x.pcap')));
    expect(fact).not.toContain('<a ');
    expect(fact).toContain('<code class="small">reports/other/../../x.pcap</code>');
    const sha256 = captured('').document.sha256;
    expect(factOf(renderHtmlReport(captured(`reports/${sha256}/../../x.pcap`)))).not.toContain('<a ');
  });

  it('says why there is no capture, and when none was asked for', () => {
    const input = detonatedDropper();
    const detonation = input.detonation as NonNullable<HtmlReportInput['detonation']>;
    detonation.capabilities = {
      ...detonation.capabilities,
      pcap: 'unsupported',
      pcapReason: 'pcap was asked for but not captured: no upload URL was given for it',
    };
    expect(visibleText(factOf(renderHtmlReport(input)))).toContain(
      'not captured: pcap was asked for but not captured: no upload URL',
    );
    expect(visibleText(factOf(renderHtmlReport(detonatedDropper())))).toBe('not asked for');
  });
});
