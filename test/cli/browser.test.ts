import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BrowserNotFoundError, findChromium } from '../../cli/browser';

/** A directory holding executable stand-ins of the given names. */
function binDir(...names: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'sandtrap-bin-'));
  for (const name of names) {
    writeFileSync(join(dir, name), '#!/bin/sh\n');
    chmodSync(join(dir, name), 0o755);
  }
  return dir;
}

describe('finding the browser for --pdf', () => {
  it('takes CHROMIUM_PATH first', () => {
    const dir = binDir('my-chrome', 'chromium');
    expect(findChromium({ CHROMIUM_PATH: join(dir, 'my-chrome'), PATH: dir })).toBe(join(dir, 'my-chrome'));
  });

  it('refuses a CHROMIUM_PATH that is not an executable rather than fall back silently', () => {
    expect(() => findChromium({ CHROMIUM_PATH: '/no/such/chromium', PATH: binDir('chromium') })).toThrow(
      'CHROMIUM_PATH=/no/such/chromium is not an executable file',
    );
  });

  it('looks up chromium, chromium-browser, google-chrome on PATH, in that order', () => {
    const chrome = binDir('google-chrome');
    const browser = binDir('chromium-browser');
    expect(findChromium({ PATH: `${chrome}:${browser}` })).toBe(join(browser, 'chromium-browser'));
    expect(findChromium({ PATH: chrome })).toBe(join(chrome, 'google-chrome'));
  });

  it('says in one line that there is none', () => {
    const error = (() => {
      try {
        findChromium({ PATH: binDir() });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(BrowserNotFoundError);
    expect((error as Error).message).toBe(
      'no browser to render the PDF: none of chromium, chromium-browser, google-chrome is on PATH; install Chromium or set CHROMIUM_PATH',
    );
  });
});
