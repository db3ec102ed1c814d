// The window in real Chromium: renderer/ served over 127.0.0.1, its preload API bridged (page.exposeFunction) to the
// real app controller through the real typed IPC wrappers, on a fake engine. SPEC.md "The desktop app".

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOTICE_TEXT } from '../../sync-engine/status.js';
import { callbackLink, FakeBackend, GOOD_CODE, ORIGIN } from '../unit/desktop-fake-backend.js';
import { screenshot as shot, startWindowHarness, visibleButtons, type WindowHarness } from './renderer-harness.js';

const GREEN = 'rgb(31, 157, 85)';
const GREY = 'rgb(138, 143, 152)';
const AMBER = 'rgb(180, 83, 9)';
const RED = 'rgb(209, 44, 44)';

let harness: WindowHarness;
beforeAll(async () => {
  harness = await startWindowHarness();
});
afterAll(async () => {
  await harness?.close();
});

async function openWindow(backend = new FakeBackend()) {
  return { ...(await harness.openWindow(backend, ORIGIN)), backend };
}

describe('the window', () => {
  it('signed out: a single Sync button; click -> "Finish signing in in your browser" with the paste-code field', async () => {
    const { page, opened, backend, close } = await openWindow();
    expect(await visibleButtons(page)).toEqual(['Sync']);
    // The button is not alone: the window says whose it is.
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Hyperclay Sync');
    expect(await page.getByRole('heading', { name: 'Hyperclay Sync' }).isVisible()).toBe(true);
    await expect.poll(() => page.locator('#notice').isVisible()).toBe(false);
    await shot(page, '1-signed-out');

    await page.getByRole('button', { name: 'Sync', exact: true }).click();
    await page.getByText('Finish signing in in your browser').waitFor();
    const field = page.getByLabel('Paste code');
    expect(await field.isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: 'Sign in' }).isVisible()).toBe(true);
    expect(opened).toHaveLength(1);
    expect(opened[0]).toContain('/sync/authorize?');
    expect(backend.calls).toEqual(['beginSignIn']);
    await shot(page, '2-waiting-for-browser');
    await close();
  });

  it('a wrong code shows the red line and keeps the field; the right code -> Sync: On in green', async () => {
    const { page, close } = await openWindow();
    await page.getByRole('button', { name: 'Sync', exact: true }).click();
    await page.getByLabel('Paste code').fill('wrong-code-12345');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const notice = page.locator('#notice');
    await expect.poll(() => notice.textContent()).toBe('That code is wrong or expired. Click Sync to get a new one.');
    expect(await notice.evaluate((el) => getComputedStyle(el).color)).toBe(RED);
    expect(await page.getByLabel('Paste code').isVisible()).toBe(true);

    await page.getByLabel('Paste code').fill(GOOD_CODE);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const toggle = page.getByRole('button', { name: 'Sync: On' });
    await toggle.waitFor();
    expect(await toggle.getAttribute('aria-pressed')).toBe('true');
    expect(await toggle.evaluate((el) => getComputedStyle(el).backgroundColor)).toBe(GREEN);
    expect(await visibleButtons(page)).toEqual(['Sync: On', 'Log out']);
    expect(await notice.isVisible()).toBe(false);
    await shot(page, '3-sync-on');
    await close();
  });

  it('the deep link arriving while waiting turns the window to Sync: On', async () => {
    const { page, controller, backend, close } = await openWindow();
    await page.getByRole('button', { name: 'Sync', exact: true }).click();
    await page.getByText('Finish signing in in your browser').waitFor();
    await controller.handleDeepLink(callbackLink(backend.pendingState!));
    await page.getByRole('button', { name: 'Sync: On' }).waitFor();
    await close();
  });

  it('Sync: On -> click -> Sync: Off in grey -> click -> Sync: On', async () => {
    const { page, backend, controller, close } = await openWindow();
    await controller.signIn();
    await controller.submitCode(GOOD_CODE);
    await page.getByRole('button', { name: 'Sync: On' }).click();
    const off = page.getByRole('button', { name: 'Sync: Off' });
    await off.waitFor();
    expect(await off.getAttribute('aria-pressed')).toBe('false');
    expect(await off.evaluate((el) => getComputedStyle(el).backgroundColor)).toBe(GREY);
    expect(backend.syncOn).toBe(false);
    await shot(page, '4-sync-off');
    await off.click();
    await page.getByRole('button', { name: 'Sync: On' }).waitFor();
    expect(backend.calls.slice(-2)).toEqual(['setSyncOn:false', 'setSyncOn:true']);
    await close();
  });

  it('the site limit shows the red quota line, and only then', async () => {
    const { page, backend, controller, close } = await openWindow();
    await controller.signIn();
    await controller.submitCode(GOOD_CODE);
    await page.getByRole('button', { name: 'Sync: On' }).waitFor();
    expect(await page.locator('#notice').isVisible()).toBe(false);
    backend.reachSiteLimit();
    const line = page.getByRole('alert');
    await expect.poll(() => line.textContent()).toBe("You've run out of sites. We can't sync any more sites.");
    expect(await line.evaluate((el) => getComputedStyle(el).color)).toBe(RED);
    expect(await visibleButtons(page)).toEqual(['Sync: On', 'Log out']);
    await shot(page, '5-quota');
    backend.status.noticeCleared();
    await expect.poll(() => page.locator('#notice').isVisible()).toBe(false);
    await close();
  });

  it('on but not syncing (offline, needing attention): Sync: On in the needs-attention look, never green', async () => {
    const { page, backend, controller, close } = await openWindow();
    await controller.signIn();
    await controller.submitCode(GOOD_CODE);
    const toggle = page.getByRole('button', { name: 'Sync: On' });
    await expect.poll(() => toggle.evaluate((el) => getComputedStyle(el).backgroundColor)).toBe(GREEN);
    controller.setOsOnline(false);
    await expect.poll(() => toggle.evaluate((el) => getComputedStyle(el).backgroundColor)).toBe(AMBER);
    expect(await toggle.getAttribute('aria-pressed')).toBe('true');
    expect(await visibleButtons(page)).toEqual(['Sync: On', 'Log out']);
    await shot(page, '8-offline-attention');
    controller.setOsOnline(true);
    await expect.poll(() => toggle.evaluate((el) => getComputedStyle(el).backgroundColor)).toBe(GREEN);
    backend.status.needsAttention({ code: 'delete_brake', text: NOTICE_TEXT.delete_brake });
    await expect.poll(() => toggle.evaluate((el) => getComputedStyle(el).backgroundColor)).toBe(AMBER);
    expect(await page.getByRole('alert').textContent()).toBe(NOTICE_TEXT.delete_brake);
    // The red line is the toggle's description for a screen reader.
    expect(await toggle.getAttribute('aria-describedby')).toBe('notice');
    await shot(page, '9-needs-attention');
    // Switched off, it is grey whatever else is wrong.
    await toggle.click();
    const off = page.getByRole('button', { name: 'Sync: Off' });
    await expect.poll(() => off.evaluate((el) => getComputedStyle(el).backgroundColor)).toBe(GREY);
    await close();
  });

  it('the subscription and outdated-client messages take the same red line', async () => {
    const { page, backend, controller, close } = await openWindow();
    await controller.signIn();
    await controller.submitCode(GOOD_CODE);
    backend.status.needsAttention({ code: 'client_outdated', text: NOTICE_TEXT.client_outdated });
    await expect.poll(() => page.getByRole('alert').textContent()).toBe(NOTICE_TEXT.client_outdated);
    backend.loseSubscription();
    await page.getByRole('button', { name: 'Sync', exact: true }).waitFor();
    await expect.poll(() => page.getByRole('alert').textContent()).toBe(NOTICE_TEXT.subscription_required);
    await shot(page, '6-subscription-required');
    await close();
  });

  it('Log out returns to the Sync button', async () => {
    const { page, backend, controller, close } = await openWindow();
    await controller.signIn();
    await controller.submitCode(GOOD_CODE);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('button', { name: 'Sync', exact: true }).waitFor();
    expect(await visibleButtons(page)).toEqual(['Sync']);
    expect(backend.calls).toContain('logOut');
    await close();
  });

  it('works from the keyboard alone, focus following each screen', async () => {
    const { page, backend, close } = await openWindow();
    const focused = () => page.evaluate(() => document.activeElement?.id ?? '');
    await expect.poll(focused).toBe('sync-button');
    await page.keyboard.press('Enter');
    await expect.poll(focused).toBe('code-input');
    await page.keyboard.type(GOOD_CODE);
    await page.keyboard.press('Enter');
    await expect.poll(focused).toBe('sync-toggle');
    await page.keyboard.press('Space');
    await page.getByRole('button', { name: 'Sync: Off' }).waitFor();
    await page.keyboard.press('Tab');
    await expect.poll(focused).toBe('logout-button');
    await page.keyboard.press('Enter');
    await expect.poll(focused).toBe('sync-button');
    expect(backend.calls).toEqual(['beginSignIn', 'completeSignIn', 'setSyncOn:false', 'logOut']);
    await close();
  });

  it('the page runs no inline script (strict CSP)', async () => {
    const { page, close } = await openWindow();
    const csp = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
    expect(csp).toContain("script-src 'self'");
    await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.__injected = true;';
      document.body.append(script);
      const img = document.createElement('img');
      img.setAttribute('src', 'x');
      img.setAttribute('onerror', 'window.__injected = true');
      document.body.append(img);
    });
    await page.waitForLoadState('load');
    expect(await page.evaluate(() => window.__injected === true)).toBe(false);
    await close();
  });
});
