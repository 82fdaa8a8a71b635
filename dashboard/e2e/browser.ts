import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { ROOT } from '../../local-dev/paths.ts';

// Debian's Chromium driven by playwright-core (browsers cannot be downloaded
// here), with a fresh profile per run and the flags that keep it quiet and
// offline. Screenshots go to .airlock/test-results/screenshots/ for review.

export const CHROMIUM = '/usr/bin/chromium';

export const SCREENSHOTS = join(
  process.env.AIRLOCK_STATE_DIR ?? join(ROOT, '.airlock'),
  'test-results',
  'screenshots',
);

export interface Browser {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Console errors and failed requests the page reported (for failure messages). */
  readonly problems: string[];
  shot(name: string): Promise<void>;
  close(): Promise<void>;
}

export async function openBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'airlock-chromium-'));
  mkdirSync(SCREENSHOTS, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
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
    viewport: { width: 1360, height: 900 },
    timeout: 60_000,
  });
  context.setDefaultTimeout(15_000);
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  return {
    context,
    page,
    problems,
    shot: async (name) => {
      await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
    },
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
