import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { chromium, type Browser, type LaunchOptions } from 'playwright-core';

/**
 * The one way Sandtrap starts a browser: the machine's own Chromium (or Chrome), headless, with the
 * background services that would phone home (component updates, sync, QUIC probes) turned off.
 * Playwright's own browser download is not used: the report must render in the browser the hosts
 * already patch.
 */

/** Where Debian's `chromium` package installs the browser (the container's, and most hosts'). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** The names the browser goes by on PATH, in the order they are tried. */
export const BROWSER_NAMES = ['chromium', 'chromium-browser', 'google-chrome'] as const;

/** No browser to render with: one line that says where Sandtrap looked and how to point it at one. */
export class BrowserNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BrowserNotFoundError';
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The browser to render with: `CHROMIUM_PATH` when set (and then only it: a wrong setting is an
 * error, not a silent fallback), else the first of chromium, chromium-browser, google-chrome on PATH.
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.CHROMIUM_PATH;
  if (configured) {
    if (isExecutable(configured)) return configured;
    throw new BrowserNotFoundError(`CHROMIUM_PATH=${configured} is not an executable file`);
  }
  const dirs = (env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const name of BROWSER_NAMES) for (const dir of dirs) if (isExecutable(join(dir, name))) return join(dir, name);
  throw new BrowserNotFoundError(
    `no browser to render the PDF: none of ${BROWSER_NAMES.join(', ')} is on PATH; install Chromium or set CHROMIUM_PATH`,
  );
}

/**
 * Launch options for Chromium. `--no-sandbox` because the container runs as root, where Chromium's
 * sandbox cannot start; the pages it renders carry no script (see the report's CSP).
 */
export const CHROMIUM_LAUNCH_OPTIONS: LaunchOptions = {
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
};

/** Starts the browser {@link findChromium} finds with {@link CHROMIUM_LAUNCH_OPTIONS}; the caller closes it. */
export function launchChromium(env: NodeJS.ProcessEnv = process.env): Promise<Browser> {
  return chromium.launch({ ...CHROMIUM_LAUNCH_OPTIONS, executablePath: findChromium(env) });
}
