import { chromium, type Browser, type LaunchOptions } from 'playwright-core';

/**
 * The one way Sandtrap starts a browser: Debian's Chromium, headless, with the background services
 * that would phone home (component updates, sync, QUIC probes) turned off. Playwright's own
 * browser download is not used: the report must render in the browser the hosts already patch.
 */

/** Where Debian's `chromium` package installs the browser. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Launch options for Chromium. `--no-sandbox` because the container runs as root, where Chromium's
 * sandbox cannot start; the pages it renders carry no script (see the report's CSP).
 */
export const CHROMIUM_LAUNCH_OPTIONS: LaunchOptions = {
  executablePath: CHROMIUM_PATH,
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

/** Starts Chromium with {@link CHROMIUM_LAUNCH_OPTIONS}; the caller closes it. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch(CHROMIUM_LAUNCH_OPTIONS);
}
