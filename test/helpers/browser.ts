// The real browser of the sign-in tests: Debian's Chromium launched one way, and the steps a person takes on
// the platform's pages (log in, be signed in already, Allow, copy the code).

import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { until } from './engine.js';

/** Flags for a headless Chromium in a container: no sandbox or GPU, and none of its own network traffic. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-dev-shm-usage',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
}

/**
 * A browser context in which `accountId` is already signed in to a test platform, whose login reads the
 * `test_account` cookie.
 */
export async function contextSignedInAs(browser: Browser, origin: string, accountId: string): Promise<BrowserContext> {
  const context = await browser.newContext();
  const { hostname } = new URL(origin);
  await context.addCookies([{ name: 'test_account', value: accountId, domain: hostname, path: '/', httpOnly: true }]);
  return context;
}

/** Opens `url` (an authorize address), logs in on the platform's login page and stops on the consent page. */
export async function logInOnPlatform(
  page: Page,
  url: string,
  account: { email: string; password: string },
): Promise<void> {
  await page.goto(url);
  await page.getByLabel('Email').fill(account.email);
  await page.getByLabel('Password').fill(account.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Allow' }).waitFor();
}

/** Clicks Allow on the consent page and returns the code the next page shows for copying (#code). */
export async function allowAndReadCode(page: Page): Promise<string> {
  await page.getByRole('button', { name: 'Allow' }).click();
  return (await page.locator('#code').textContent())?.trim() ?? '';
}

/** Waits for what `probe` finds (a callback the browser made, say): `until`, typed for a probe that finds or not. */
export async function waitForFound<T>(probe: () => T | undefined, what: string): Promise<T> {
  // until resolves only with a truthy value, so what it returns is a found T.
  return (await until(probe, what)) as T;
}
