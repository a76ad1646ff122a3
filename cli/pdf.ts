import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launchChromium } from './browser';

/**
 * Prints an HTML report to PDF with Chromium, as an analyst's print-to-PDF would. The page is
 * loaded from a file, like a report opened from disk; script is off and every request other than
 * the file itself is aborted, on top of the report's own CSP, because the report holds sample data.
 */
export async function htmlToPdf(html: string, outFile: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  // The browser first: without one there is nothing to clean up, and the error says where it looked.
  const browser = await launchChromium(env);
  const dir = await mkdtemp(join(tmpdir(), 'sandtrap-pdf-'));
  try {
    const file = join(dir, 'report.html');
    await writeFile(file, html, 'utf8');
    const url = pathToFileURL(file).href;
    const context = await browser.newContext({ javaScriptEnabled: false });
    await context.route('**/*', (route) =>
      route.request().url() === url ? route.continue() : route.abort('blockedbyclient'),
    );
    const page = await context.newPage();
    await page.goto(url, { waitUntil: 'load' });
    await page.pdf({ path: outFile, preferCSSPageSize: true, printBackground: true });
  } finally {
    await browser.close();
    await rm(dir, { recursive: true, force: true });
  }
}
