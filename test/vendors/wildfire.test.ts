import { describe, expect, it } from 'vitest';
import { parseSettings } from '../../lambdas/core/config/runtime-config';
import { WildfireConnector } from '../../lambdas/vendors/wildfire';
import { WildfireEmulator } from '../../emulators/wildfire';
import { TestClock, standaloneConnector, sample as testSample, readAll as text, useEmulator } from './support';

const sample = (content: string, fileName = 'invoice.exe') => testSample(content, fileName);

let unique = 0;
/** Every test uploads new content: WildFire remembers a sample and its verdict by hash. */
const content = (marker = '') => `MZ test sample ${++unique} ${Date.now()} ${marker}`;

describe('WildfireConnector against the WildFire emulator', () => {
  const clock = new TestClock(Date.parse('2026-11-22T12:00:00Z'));
  const emulator = new WildfireEmulator({
    clock,
    apiKey: 'wf-key',
    queueSeconds: 60,
    runSeconds: 240,
    processingSeconds: 60,
  });
  let connector: WildfireConnector;
  const config = (extra = {}) =>
    parseSettings({ vendors: [{ id: 'wildfire', baseUrl: emulator.baseUrl, requestTimeoutMs: 500, ...extra }] })
      .vendors[0]!;

  useEmulator(emulator, () => {
    connector = new WildfireConnector({ config: config(), credentials: 'wf-key', clock: clock });
  });

  it('submits, polls the verdict while it is −100, then reads the XML report and scores grayware as suspicious', async () => {
    const verdictsAsked = () => emulator.count('/publicapi/get/verdict');
    const asked = verdictsAsked();
    const upload = sample(content('SANDTRAP-TEST-SUSPICIOUS'));
    const id = await connector.submit(upload);
    expect(id).toBe(upload.sha256);
    expect(connector.initialWaitSeconds()).toBe(300);
    expect(await connector.status(id)).toEqual({ done: false, failed: false, state: 'pending' });
    await expect(connector.report(id)).rejects.toMatchObject({ name: 'TransientError' });
    clock.advance(200);
    expect(await connector.status(id)).toMatchObject({ done: false, state: 'pending' });
    clock.advance(160);
    expect(await connector.status(id)).toEqual({ done: true, failed: false, state: 'grayware' });
    // Each of the three polls asked for the verdict.
    expect(verdictsAsked() - asked).toBe(3);

    const report = await connector.report(id);
    expect(report).toMatchObject({ contentType: 'application/xml', extension: 'xml' });
    const xml = await text(report);
    expect(xml).toContain(`<sha256>${id}</sha256>`);
    expect(connector.score(xml)).toEqual({
      score: 45,
      verdict: 'suspicious',
      native: { value: 'grayware', scale: 'WildFire report malware (no/grayware/phishing/yes)' },
    });
    expect(connector.score(await connector.verdict(id))).toEqual({
      score: 45,
      verdict: 'suspicious',
      native: { value: 2, scale: 'WildFire verdict code' },
    });

    const pdf = await connector.pdfReport(id);
    expect(pdf).toMatchObject({ contentType: 'application/pdf', extension: 'pdf' });
    expect(await text(pdf)).toMatch(/^%PDF-/);
    expect(await connector.delete()).toBe(false);
  });

  it('scores a malware report 100 and a benign one 0', async () => {
    const bad = await connector.submit(sample(content('SANDTRAP-TEST-MALICIOUS')));
    const good = await connector.submit(sample(content()));
    clock.advance(400);
    expect(connector.score(await text(await connector.report(bad)))).toMatchObject({
      score: 100,
      verdict: 'malicious',
      native: { value: 'yes' },
    });
    expect(connector.score(await text(await connector.report(good)))).toMatchObject({
      score: 0,
      verdict: 'benign',
      native: { value: 'no' },
    });
  });

  it('scores the verdict it is given, not the one the last status() saw (sandboxapi kept it in the instance)', async () => {
    const bad = await connector.submit(sample(content('SANDTRAP-TEST-MALICIOUS')));
    clock.advance(400);
    expect(await connector.status(bad)).toMatchObject({ done: true, state: 'malware' });
    expect(connector.score(0)).toMatchObject({ score: 0, verdict: 'benign' });
    expect(connector.score(1)).toMatchObject({ score: 100, verdict: 'malicious' });
  });

  it('maps 419 to QuotaExceededError resetting at the next UTC midnight, 413 to too large, 418 to unsupported', async () => {
    emulator.setFault('quota', 1);
    await expect(connector.submit(sample(content()))).rejects.toMatchObject({
      name: 'QuotaExceededError',
      resetAt: '2026-11-23T00:00:00.000Z',
    });
    emulator.setFault('oversize', 1);
    await expect(connector.submit(sample(content()))).rejects.toMatchObject({ name: 'SampleTooLargeError' });
    emulator.setFault('unsupported', 1);
    await expect(connector.submit(sample(content()))).rejects.toMatchObject({ name: 'UnsupportedFileError' });
  });

  it('is told of a spent quota by 419 on a verdict poll too: WildFire has no 429, so there is no rate-limited answer', async () => {
    const id = await connector.submit(sample(content()));
    emulator.setFault('quota', 1);
    await expect(connector.status(id)).rejects.toMatchObject({
      name: 'QuotaExceededError',
      resetAt: '2026-11-23T00:00:00.000Z',
    });
    expect(() => emulator.setFault('rate-limited')).toThrow(/wildfire has no rate-limited fault/);
  });

  it('serves the PDF report as application/octet-stream with a file name, as pan-python expects, and the connector labels it PDF', async () => {
    const id = await connector.submit(sample(content('SANDTRAP-TEST-MALICIOUS')));
    clock.advance(400);
    // pan-python lib/pan/wfapi.py: `if content_type == 'application/octet-stream': return self.__set_stream_response(...)`
    // and __set_stream_response needs the Content-Disposition file name.
    const form = new FormData();
    form.append('apikey', 'wf-key');
    form.append('hash', id);
    form.append('format', 'pdf');
    const raw = await fetch(`${emulator.baseUrl}get/report`, { method: 'POST', body: form });
    expect(raw.headers.get('content-type')).toBe('application/octet-stream');
    expect(raw.headers.get('content-disposition')).toBe(`attachment; filename=${id}.pdf`);
    await raw.arrayBuffer();
    const pdf = await connector.pdfReport(id);
    expect(pdf).toMatchObject({ contentType: 'application/pdf', extension: 'pdf' });
    expect(await text(pdf)).toMatch(/^%PDF-/);
  });

  it('refuses a bad key on a status poll with AuthError', async () => {
    emulator.setFault('bad-key', 1);
    await expect(connector.status('b'.repeat(64))).rejects.toMatchObject({ name: 'AuthError' });
  });
});

describe('WildfireConnector.score', () => {
  const config = parseSettings({
    vendors: [{ id: 'wildfire', baseUrl: 'https://wildfire.paloaltonetworks.com/publicapi/' }],
  }).vendors[0]!;
  const connector = standaloneConnector(WildfireConnector, config, 'key');

  it('maps every final verdict code per the normalisation table', () => {
    const scores = Object.fromEntries([0, 1, 2, 4, 5].map((code) => [code, connector.score(code)]));
    expect(scores).toEqual({
      0: { score: 0, verdict: 'benign', native: { value: 0, scale: 'WildFire verdict code' } },
      1: { score: 100, verdict: 'malicious', native: { value: 1, scale: 'WildFire verdict code' } },
      2: { score: 45, verdict: 'suspicious', native: { value: 2, scale: 'WildFire verdict code' } },
      4: { score: 85, verdict: 'malicious', native: { value: 4, scale: 'WildFire verdict code' } },
      5: { score: 100, verdict: 'malicious', native: { value: 5, scale: 'WildFire verdict code' } },
    });
  });

  it('keeps pending and error codes unknown, never zero', () => {
    for (const code of [-100, -101, -102, -103]) {
      expect(connector.score(code)).toEqual({
        score: null,
        verdict: 'unknown',
        native: { value: code, scale: 'WildFire verdict code' },
      });
    }
  });

  it('reads the get/verdict XML and the report XML', () => {
    const verdict =
      '<?xml version="1.0" encoding="UTF-8"?><wildfire><get-verdict-info><sha256>' +
      'c'.repeat(64) +
      '</sha256><md5></md5><verdict>4</verdict></get-verdict-info></wildfire>';
    expect(connector.score(verdict)).toMatchObject({ score: 85, verdict: 'malicious', native: { value: 4 } });
    const report =
      '<?xml version="1.0" encoding="UTF-8"?><wildfire><version>2.0</version><file_info><file_signer>None</file_signer><malware>grayware</malware>' +
      '<sha1></sha1><filetype>PDF</filetype><sha256>' +
      'd'.repeat(64) +
      '</sha256><md5>4b41a3475132bd861b30a878e30aa56a</md5><size>3028</size></file_info>' +
      '<task_info><report><version>2.0</version><platform>100</platform><software>PDF Static Analyzer</software><malware>no</malware><summary/></report></task_info></wildfire>';
    // The file-level verdict wins over a task that saw nothing.
    expect(connector.score(report)).toMatchObject({ score: 45, verdict: 'suspicious', native: { value: 'grayware' } });
  });

  it('refuses what is not a WildFire verdict or report, such as the empty answer to a pending report', () => {
    expect(() =>
      connector.score('<?xml version="1.0" encoding="UTF-8"?><response><version>2.0</version></response>'),
    ).toThrow(/unexpected XML/);
    expect(() => connector.score('<wildfire><file_info>')).toThrow(/not well-formed XML/);
    expect(() => connector.score({ verdict: 1 })).toThrow(/not WildFire XML/);
  });
});
