/**
 * Headless Chromium for the viewer's tests and README screenshots: Debian's `chromium` driven by
 * playwright-core (no downloaded browser). Every launch is bounded (launch, navigation and each action time
 * out) and the browser is closed whatever happens.
 *
 *   const skip = chromiumMissing();            // a reason to skip, or undefined
 *   await withPage(async (page) => { await page.goto(url); ... });
 *   await screenshot(url, 'docs/images/whisker.png', async (page) => { await page.getByRole(...).click(); });
 */
import { existsSync } from 'node:fs';
import { chromium, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';
/** Bound of the browser's start, of a navigation and of each action or expectation. */
const LAUNCH_TIMEOUT_MS = 30_000;
const ACTION_TIMEOUT_MS = 10_000;

/** Why the browser tests cannot run here (scripts/setup.sh installs Debian's chromium), or undefined. */
export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM_PATH)
    ? undefined
    : `${CHROMIUM_PATH} is missing (Debian package chromium; scripts/setup.sh installs it)`;
}

export interface PageOptions {
  readonly width?: number;
  readonly height?: number;
}

/** Runs `fn` with a fresh page of a headless Chromium, then closes the browser (also on failure). */
export async function withPage<T>(fn: (page: Page) => Promise<T>, opts: PageOptions = {}): Promise<T> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--no-sandbox', '--headless=new'],
    timeout: LAUNCH_TIMEOUT_MS,
  });
  try {
    const context = await browser.newContext({
      viewport: { width: opts.width ?? 1400, height: opts.height ?? 900 },
    });
    const page = await context.newPage();
    page.setDefaultTimeout(ACTION_TIMEOUT_MS);
    page.setDefaultNavigationTimeout(LAUNCH_TIMEOUT_MS);
    return await fn(page);
  } finally {
    await browser.close();
  }
}

/**
 * Saves a PNG of the page at `url` (full page) to `file`, after `prepare` (e.g. waiting for rows, opening a
 * flow's details). For the README's screenshots.
 */
export async function screenshot(
  url: string,
  file: string,
  prepare: (page: Page) => Promise<void> = async () => {},
  opts: PageOptions = {},
): Promise<void> {
  await withPage(async (page) => {
    await page.goto(url);
    await prepare(page);
    await page.screenshot({ path: file, fullPage: true });
  }, opts);
}
