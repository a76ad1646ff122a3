import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtmlReport, REPORT_CSP, type HtmlReportInput } from '../../../../lambdas/core/report/html-report';
import { CHROMIUM_PATH, launchChromium } from '../../../../cli/browser';
import { htmlToPdf } from '../../../../cli/pdf';
import {
  benignTriageOnly,
  detonatedDropper,
  hostileSample,
  multiVendorMalicious,
  oneSecondDetonation,
  PAYLOADS,
  staticOnly,
  XSS_MARKER,
} from '../../../fixtures/reports/documents';

/**
 * The report in a real browser: it renders, shows its verdict, prints, and a hostile sample's
 * markup neither runs nor loads anything. Without Chromium these tests skip locally; in CI
 * (`CI` set) they must run, so a missing browser fails there instead of passing silently.
 */
const skip = !existsSync(CHROMIUM_PATH) && !process.env.CI;

/** Where the multi-vendor screenshot goes, for a person to look at. */
const SCREENSHOT = '/tmp/sandtrap-report.png';

/** The banner colours of the report's stylesheet, by verdict. */
const BANNER_RGB = {
  malicious: [0xb4, 0x23, 0x18],
  suspicious: [0xb5, 0x47, 0x08],
  benign: [0x06, 0x76, 0x47],
  unknown: [0x47, 0x54, 0x67],
};

interface Opened {
  page: Page;
  url: string;
  requests: string[];
  /** Why each failed request failed, by URL: `csp` when the page's policy refused it. */
  failures: Map<string, string>;
  console: string[];
  dialogs: string[];
  errors: string[];
}

/** The few DOM globals the page functions below use: the project compiles without the DOM library. */
interface PageElement {
  tagName: string;
  className: string;
  getBoundingClientRect(): { right: number };
  closest(selector: string): PageElement | null;
  id: string;
}
interface PageText {
  textContent: string | null;
  parentElement: PageElement | null;
}
declare const document: {
  documentElement: { clientWidth: number; scrollWidth: number };
  body: unknown;
  elementFromPoint(x: number, y: number): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement>;
  createTreeWalker(root: unknown, whatToShow: number): { nextNode(): PageText | null };
  createRange(): { selectNodeContents(node: unknown): void; getClientRects(): Iterable<{ width: number }> };
};

/** Decodes the 8-bit, non-interlaced RGB(A) PNGs Chromium's screenshots are into raw pixels. */
function decodePng(png: Buffer): { width: number; height: number; channels: number; data: Buffer } {
  expect(png.subarray(0, 8).toString('latin1')).toBe('\x89PNG\r\n\x1a\n');
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const body = png.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      expect([body[8], body[12]]).toEqual([8, 0]); // 8 bits per channel, not interlaced
      channels = ({ 2: 3, 6: 4 } as Record<number, number>)[body[9] as number] ?? 0;
      expect(channels).toBeGreaterThan(0);
    } else if (type === 'IDAT') idat.push(body);
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const data = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const value = raw[y * (stride + 1) + 1 + x] as number;
      const a = x >= channels ? (data[y * stride + x - channels] as number) : 0;
      const b = y > 0 ? (data[(y - 1) * stride + x] as number) : 0;
      const c = x >= channels && y > 0 ? (data[(y - 1) * stride + x - channels] as number) : 0;
      const p = a + b - c;
      const paeth =
        Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
          ? a
          : Math.abs(p - b) <= Math.abs(p - c)
            ? b
            : c;
      const predictor = [0, a, b, (a + b) >> 1, paeth][filter as number] ?? 0;
      data[y * stride + x] = (value + predictor) & 0xff;
    }
  }
  return { width, height, channels, data };
}

function pixels(png: Buffer): PixelStats {
  const { width, height, channels, data } = decodePng(png);
  const counts = new Map<number, number>();
  const exact = new Map<number, [number, number, number]>();
  for (let i = 0; i < data.length; i += channels) {
    const [r, g, b] = [data[i] as number, data[i + 1] as number, data[i + 2] as number];
    const key = ((r >> 4) << 8) | ((g >> 4) << 4) | (b >> 4);
    counts.set(key, (counts.get(key) ?? 0) + 1);
    if (!exact.has(key)) exact.set(key, [r, g, b]);
  }
  const [dominantKey, dominantCount] = [...counts].reduce((m, e) => (e[1] > m[1] ? e : m));
  return {
    width,
    height,
    colours: counts.size,
    dominantShare: dominantCount / (width * height),
    dominant: exact.get(dominantKey) as [number, number, number],
  };
}

interface PixelStats {
  width: number;
  height: number;
  /** Distinct colours, each channel cut to 4 bits so anti-aliasing noise does not count. */
  colours: number;
  /** Share of the pixels that have the most common colour. */
  dominantShare: number;
  dominant: [number, number, number];
}

describe.skipIf(skip)('the HTML report in Chromium', () => {
  let browser: Browser;
  let dir: string;

  beforeAll(async () => {
    browser = await launchChromium();
    dir = await mkdtemp(join(tmpdir(), 'sandtrap-report-test-'));
  });

  afterAll(async () => {
    await browser?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Writes the page to a file and opens it, as an analyst would, recording everything it tries. */
  async function open(name: string, content: string): Promise<Opened> {
    const file = join(dir, `${name}.html`);
    await writeFile(file, content, 'utf8');
    const url = pathToFileURL(file).href;
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    // Nothing may reach the network even if a test fails; the request event still records the attempt.
    await context.route(/^(?!file:)/, (route) => route.abort('blockedbyclient'));
    const page = await context.newPage();
    const opened: Opened = { page, url, requests: [], failures: new Map(), console: [], dialogs: [], errors: [] };
    page.on('request', (r) => opened.requests.push(r.url()));
    page.on('requestfailed', (r) => opened.failures.set(r.url(), r.failure()?.errorText ?? ''));
    page.on('console', (m) => opened.console.push(m.text()));
    page.on('dialog', (d) => {
      opened.dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('pageerror', (e) => opened.errors.push(e.message));
    await page.goto(url, { waitUntil: 'load' });
    return opened;
  }

  const report = (name: string, input: HtmlReportInput) => open(name, renderHtmlReport(input));

  it.each([
    ['benign triage-only', benignTriageOnly],
    ['multi-vendor malicious', multiVendorMalicious],
    ['detonated dropper', detonatedDropper],
  ])('renders the %s report with its verdict visible in a banner of its colour', async (name, build) => {
    const input = build();
    const { page, url, requests, console, errors } = await report(name.replace(/\W+/g, '-'), input);

    const verdict = page.locator('header.banner .verdict');
    expect(await verdict.textContent()).toBe(input.document.verdict.toUpperCase());
    expect(await verdict.isVisible()).toBe(true);
    const box = await verdict.boundingBox();
    expect(box).not.toBeNull();
    expect(box!.y + box!.height).toBeLessThan(300);
    expect(box!.width).toBeGreaterThan(100);
    // Nothing is drawn over the verdict: the element at its centre is the verdict itself.
    const onTop = await page.evaluate(
      ([x, y]) => document.elementFromPoint(x as number, y as number)?.className,
      [box!.x + box!.width / 2, box!.y + box!.height / 2],
    );
    expect(onTop).toBe('verdict');

    const shot = await page.screenshot({ type: 'png' });
    const whole = pixels(shot);
    expect([whole.width, whole.height]).toEqual([1280, 900]);
    expect(shot.length).toBeGreaterThan(20_000);
    expect(whole.colours).toBeGreaterThan(40);
    expect(whole.dominantShare).toBeLessThan(0.9);

    const banner = (await page.locator('header.banner').boundingBox())!;
    const corner = pixels(
      await page.screenshot({
        type: 'png',
        clip: { x: banner.x + 6, y: banner.y + banner.height - 10, width: 8, height: 6 },
      }),
    );
    expect(corner.dominant).toEqual(BANNER_RGB[input.document.verdict]);

    const headings = await page.locator('section h2').allTextContents();
    expect(headings.slice(0, 3)).toEqual(['Sample', 'Engines', 'Detonation']);
    expect(requests).toEqual([url]);
    expect(console).toEqual([]);
    expect(errors).toEqual([]);
  });

  it("runs none of a hostile sample's markup, loads nothing and shows it as text", async () => {
    const { page, url, requests, console, dialogs, errors } = await report('hostile', hostileSample());
    expect(dialogs).toEqual([]);
    expect(console.filter((m) => m.includes(XSS_MARKER))).toEqual([]);
    // Not even a CSP refusal: escaping alone kept every payload from becoming an element.
    expect(console).toEqual([]);
    expect(errors).toEqual([]);
    expect(requests).toEqual([url]);
    expect(page.url()).toBe(url);
    expect(
      await page
        .locator(
          'script, img, iframe, object, embed, link[rel=stylesheet], meta[http-equiv=refresh], [onerror], [onload]',
        )
        .count(),
    ).toBe(0);
    const text = await page.locator('body').textContent();
    for (const payload of PAYLOADS) expect(text).toContain(payload);
    expect(await page.locator('#engines a[href^="https://vendor.example/"]').count()).toBe(1);
    expect(await page.locator('a[href^="javascript:" i]').count()).toBe(0);
  });

  it('shows behaviour by ATT&CK tactic with visible technique links, and loads none of them', async () => {
    const { page, url, requests, errors } = await report('tactics', detonatedDropper());
    const headings = await page.locator('#behavior h3').allTextContents();
    expect(headings.map((h) => h.replace(/\s+·.*$/, ''))).toEqual([
      'Execution TA0002',
      'Persistence TA0003',
      'Privilege Escalation TA0004',
      'Defense Evasion TA0005',
      'Credential Access TA0006',
      'Command and Control TA0011',
      'Impact TA0040',
    ]);
    const links = page.locator('#behavior a.technique');
    expect(await links.count()).toBe(16);
    const cron = page.locator('#behavior a.technique[href="https://attack.mitre.org/techniques/T1053/003/"]');
    expect(await cron.isVisible()).toBe(true);
    expect(await cron.getAttribute('title')).toBe('Scheduled Task/Job: Cron');
    // The kill-chain strip jumps within the page.
    await page.locator('.killchain a[href="#tactic-TA0040"]').click();
    expect(page.url()).toBe(`${url}#tactic-TA0040`);
    expect(requests).toEqual([url]);
    expect(errors).toEqual([]);
  });

  it('detects markup that does run, so the hostile test above can fail', async () => {
    const raw = await open(
      'control-raw',
      `<!DOCTYPE html><title>control</title>${PAYLOADS[0]}<img src="https://evil.example/pixel.gif">`,
    );
    expect(raw.console).toContain(XSS_MARKER);
    expect(raw.requests).toContain('https://evil.example/pixel.gif');
  });

  it("blocks inline script with the report's CSP even if escaping were bypassed", async () => {
    const guarded = await open(
      'control-csp',
      `<!DOCTYPE html><meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}"><title>control</title>${PAYLOADS[0]}<img src="https://evil.example/pixel.gif">`,
    );
    expect(guarded.console.filter((m) => m.includes(XSS_MARKER))).toEqual([]);
    expect(guarded.console.join('\n')).toMatch(/Content Security Policy/);
    // Chromium reports the image it refused as a request that failed with `csp`, before any network.
    expect(guarded.requests).toEqual([guarded.url, 'https://evil.example/pixel.gif']);
    expect(guarded.failures.get('https://evil.example/pixel.gif')).toBe('csp');
  });

  it.each([
    ['benign triage-only', benignTriageOnly],
    ['multi-vendor malicious', multiVendorMalicious],
    ['detonated dropper', detonatedDropper],
    ['hostile sample', hostileSample],
  ])('lays the %s report out within the printable width of A4', async (name, build) => {
    const { page } = await report(`print-${name.replace(/\W+/g, '-')}`, build());
    // A4 less the report's 10 mm side margins, at 96 px per inch.
    await page.setViewportSize({ width: Math.floor(((210 - 20) / 25.4) * 96), height: 1100 });
    await page.emulateMedia({ media: 'print' });
    const { width, overflowing } = await page.evaluate(() => ({
      width: document.documentElement.clientWidth,
      overflowing: [...document.querySelectorAll('body *')]
        .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
        .map((e) => `${e.tagName.toLowerCase()}.${e.className}`),
    }));
    expect(overflowing).toEqual([]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBe(width);
  });

  // A4 less the report's 10 mm side margins, at 96 px per inch: portrait, and landscape (297 mm).
  const PORTRAIT = Math.floor(((210 - 20) / 25.4) * 96);
  const LANDSCAPE = Math.floor(((297 - 20) / 25.4) * 96);

  it.each([
    ['benign triage-only', benignTriageOnly],
    ['multi-vendor malicious', multiVendorMalicious],
    ['detonated dropper', detonatedDropper],
    ['hostile sample', hostileSample],
    ['static-only', staticOnly],
    ['one-second detonation', oneSecondDetonation],
  ])('prints the %s report with no text squeezed into a column of a few letters', async (name, build) => {
    const { page } = await report(`columns-${name.replace(/\W+/g, '-')}`, build());
    await page.emulateMedia({ media: 'print' });
    for (const width of [PORTRAIT, LANDSCAPE]) {
      await page.setViewportSize({ width, height: 1100 });
      // Each run of text of 16 characters or more, with the number of lines it was laid out on.
      const squeezed = await page.evaluate(() => {
        const found: string[] = [];
        const walker = document.createTreeWalker(document.body, 4 /* NodeFilter.SHOW_TEXT */);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
          const text = (node.textContent ?? '').trim();
          if (text.length < 16 || node.parentElement?.closest('svg, style, title')) continue;
          const range = document.createRange();
          range.selectNodeContents(node);
          const lines = [...range.getClientRects()].filter((r) => r.width > 0).length;
          if (text.length / Math.max(lines, 1) < 8)
            found.push(`${node.parentElement?.closest('section')?.id}: ${text.slice(0, 40)} (${lines} lines)`);
        }
        return found;
      });
      expect(squeezed, `at ${width} px`).toEqual([]);
      const overflowing = await page.evaluate(() =>
        [...document.querySelectorAll('body *')]
          .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
          .map((e) => `${e.tagName.toLowerCase()}.${e.className}`),
      );
      expect(overflowing, `at ${width} px`).toEqual([]);
    }
  });

  it.each([
    ['detonation', detonatedDropper, 'Process tree'],
    ['vendor', multiVendorMalicious, 'Engines'],
    ['static-only', staticOnly, 'Static analysis'],
  ])(
    'saves a full-page screenshot of a %s verdict, with its indicators and recommendations',
    async (kind, build, own) => {
      const { page, url, requests, errors } = await report(`shot-${kind}`, build());
      const headings = await page.locator('section h2').allTextContents();
      expect(headings).toContain(own);
      expect(headings.slice(-2)).toEqual(['Indicators of compromise', 'Recommendations']);
      expect(await page.locator('#recommendations li.rec[data-rec="quarantine"]').isVisible()).toBe(true);
      expect(await page.locator('#iocs table.iocs tbody tr').count()).toBeGreaterThan(3);
      const shot = await page.screenshot({ type: 'png', fullPage: true, path: `/tmp/sandtrap-report-${kind}.png` });
      const stats = pixels(shot);
      expect(stats.height).toBeGreaterThan(900);
      expect(stats.colours).toBeGreaterThan(40);
      expect(requests).toEqual([url]);
      expect(errors).toEqual([]);
    },
  );

  it('draws a non-empty CPU and memory chart for a run of one second with one resource reading', async () => {
    const input = oneSecondDetonation();
    expect(input.detonation?.durationMs).toBe(1000);
    expect(input.detonation?.resourceUsage.items).toHaveLength(1);
    const { page } = await report('one-second', input);
    // The line colours of the stylesheet: CPU #7a3ee6, memory #0e7490.
    for (const [series, rgb] of [
      ['l-cpu', [0x7a, 0x3e, 0xe6]],
      ['l-mem', [0x0e, 0x74, 0x90]],
    ] as const) {
      const panel = page.locator(`#timeline g.${series} rect.panel`);
      await panel.scrollIntoViewIfNeeded();
      const box = (await panel.boundingBox())!;
      expect(box.width).toBeGreaterThan(500);
      const { width, height, channels, data } = decodePng(await page.screenshot({ type: 'png', clip: box }));
      let line = 0;
      for (let i = 0; i < width * height * channels; i += channels) {
        const close = [0, 1, 2].every((c) => Math.abs((data[i + c] as number) - (rgb[c] as number)) < 40);
        if (close) line++;
      }
      // A line across the panel, not a lone dot (a dot of radius 3 is some 30 pixels).
      expect(line, series).toBeGreaterThan(width / 2);
    }
    expect(await page.locator('#timeline figcaption').textContent()).toContain('One resource reading was taken');
  });

  it('prints to PDF', async () => {
    const { page } = await report('print', detonatedDropper());
    const pdf = await page.pdf({ format: 'A4', printBackground: true, preferCSSPageSize: true });
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(pdf.length).toBeGreaterThan(30_000);
  });

  it("writes a PDF with htmlToPdf, the CLI's --pdf", async () => {
    const out = join(dir, 'report.pdf');
    await htmlToPdf(renderHtmlReport(hostileSample()), out);
    const pdf = await readFile(out);
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(pdf.length).toBeGreaterThan(30_000);
  });

  it(`saves a full-page screenshot of the multi-vendor report to ${SCREENSHOT}`, async () => {
    const { page } = await report('screenshot', multiVendorMalicious());
    const shot = await page.screenshot({ type: 'png', fullPage: true, path: SCREENSHOT });
    const stats = pixels(shot);
    expect(stats.height).toBeGreaterThan(900);
    expect(stats.colours).toBeGreaterThan(40);
  });
});
