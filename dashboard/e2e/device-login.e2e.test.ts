import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, openBrowser } from './browser.ts';
import { type DevStack, loginCode, startDev } from './dev-start.ts';

// The page at /device where a person approves `airlock login` (ADR 0170), in
// a real Chromium against `./dev start`. The CLI's side is its two HTTP calls
// (start, poll), made as the CLI makes them. What matters here is what the
// page shows before anyone clicks Approve: the code, who asked and from where,
// and what approving grants — a phished code should look wrong.

let dev: DevStack;
let browser: Browser;
let page: Page;
let orgId: string | undefined;

interface Started {
  deviceCode: string;
  userCode: string;
  verificationUriComplete: string;
}

const CLI_AGENT = 'airlock-cli/0.1.0 (node 24; linux)';

async function startCliLogin(hostname: string): Promise<Started> {
  const reply = await fetch(`${dev.url}/api/auth/device`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': CLI_AGENT },
    body: JSON.stringify({ client: { name: 'airlock CLI', version: '0.1.0', hostname, platform: 'linux' } }),
  });
  expect(reply.status, await reply.clone().text()).toBe(200);
  return (await reply.json()) as Started;
}

async function poll(deviceCode: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const reply = await fetch(`${dev.url}/api/auth/device/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': CLI_AGENT },
    body: JSON.stringify({ deviceCode }),
  });
  return { status: reply.status, body: (await reply.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  dev = await startDev();
  browser = await openBrowser();
  page = browser.page;
});

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
});

describe('approving a CLI login in the dashboard', () => {
  it('logs in with the code from the mail sink', async () => {
    await page.goto(dev.url);
    await page.waitForURL(/\/login/);
    await page.getByRole('textbox', { name: 'Email' }).fill(dev.email);
    const since = Date.now() - 1000;
    await page.getByRole('button', { name: 'Email me a code' }).click();
    const code = await loginCode(dev.mailUrl, dev.email, since);
    await page.getByRole('textbox', { name: 'Login code' }).fill(code);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/\/orgs\/org_[0-9A-Z]+$/);
    orgId = /\/orgs\/(org_[0-9A-Z]+)/.exec(page.url())?.[1];
    expect(orgId).toBeDefined();
    // Before logging in, the app's /api/me is a 401 by design; only what follows counts.
    browser.problems.splice(0);
  });

  it('shows the code, the client, where it came from and what approving grants — and approves nothing by itself', async () => {
    const started = await startCliLogin('build-box-7');
    await page.goto(started.verificationUriComplete.replace(/^https?:\/\/[^/]+/, dev.url));
    await expect.poll(() => page.title()).toBe('Approve CLI login · Airlock');
    // The link fills the code in, but the person still confirms it.
    expect(await page.getByRole('textbox', { name: 'Code' }).inputValue()).toBe(started.userCode);
    expect((await poll(started.deviceCode)).body.error).toBe('authorization_pending');
    const pollAt = Date.now();
    await page.getByRole('button', { name: 'Continue' }).click();

    const request = page.getByRole('region', { name: 'The login request' });
    await page
      .getByRole('heading', { level: 1, name: `Approve CLI login: code ${started.userCode}` })
      .waitFor();
    const text = (await request.textContent()) ?? '';
    expect(text).toContain(`shows ${started.userCode}`);
    expect(text).toContain('airlock CLI 0.1.0 on build-box-7 (linux)');
    expect(text).toContain(CLI_AGENT);
    expect(text).toMatch(/acts as\s+[^\s]+@[^\s]+\s+with your role \(owner\) in\s+Local\s+for\s+90 days/);
    expect(text).toContain('revoke it any time');
    await browser.shot('device-01-request');

    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByText('Approved. Your terminal is logged in').waitFor();
    // RFC 8628: polls at least `interval` (5 s) apart, or the answer is slow_down.
    await new Promise((r) => setTimeout(r, Math.max(0, pollAt + 5500 - Date.now())));
    const granted = await poll(started.deviceCode);
    expect(granted.status, JSON.stringify(granted.body.detail)).toBe(200);
    expect(granted.body).toMatchObject({ orgId, email: dev.email });
    expect(String(granted.body.token)).toMatch(/^alk_/);
  });

  it('refuses a code nobody started on the field, and a denied login gets no token', async () => {
    await page.goto(`${dev.url}/device`);
    await page.getByRole('textbox', { name: 'Code' }).fill('bbbb-bbbb');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByText('no CLI login is waiting for this code').waitFor();

    const started = await startCliLogin('not-my-laptop');
    await page.getByRole('textbox', { name: 'Code' }).fill(started.userCode.toLowerCase());
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.getByText('Denied. The terminal that asked gets no access.').waitFor();
    const outcome = await poll(started.deviceCode);
    expect(outcome.status).toBe(400);
    expect(outcome.body.error).toBe('access_denied');
    expect(browser.problems.filter((p) => !p.includes('422'))).toEqual([]);
  });
});
