// The window over the real app when the account's plan lapses while it syncs: the engine's 402 at the next request
// signs the device out, forgets the token, and shows the subscription message on the Sync screen (SPEC.md "Errors").

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAccountStore } from '../../server-endpoints/reference/accounts.js';
import { dataPaths } from '../../server-endpoints/reference/server.js';
import { NOTICE_TEXT } from '../../sync-engine/status.js';
import { startPlatform, type TestAccount, type TestPlatform, until } from '../helpers/engine.js';
import {
  openSyncingApp,
  redLine,
  screenshot,
  signInFromWindow,
  sitePlatformHolds,
  startWindowHarness,
  type WindowHarness,
} from './renderer-harness.js';

let harness: WindowHarness;
let platform: TestPlatform;
let cy: TestAccount;
const temp = mkdtempSync(join(tmpdir(), 'hc-desktop-plan-'));

beforeAll(async () => {
  [harness, platform] = await Promise.all([startWindowHarness(), startPlatform([{ email: 'cy@example.com' }])]);
  cy = platform.accounts[0]!;
});
afterAll(async () => {
  await harness?.close();
  await platform?.close();
  rmSync(temp, { recursive: true, force: true });
});

describe('the desktop app when the plan lapses', () => {
  it('the plan lapsing while syncing (402) returns the window to Sync with the subscription message', async () => {
    const app = await openSyncingApp(harness, platform, { home: join(temp, 'home'), pollSeconds: 0.3 });
    await signInFromWindow(harness, app, cy);
    writeFileSync(join(app.home, 'Hyperclay', 'paid.html'), '<p>paid</p>');
    await until(
      async () => (await sitePlatformHolds(platform, cy, 'paid')) === '<p>paid</p>',
      'paid.html on the platform',
    );
    // The platform's admin moves the account to the free plan (the server notices within its auth cache's 5 s).
    const accounts = openAccountStore({ dir: dataPaths(platform.dataDir).accounts });
    accounts.update(cy.email, { plan: 'free' });
    accounts.close();
    await app.page.getByRole('button', { name: 'Sync', exact: true }).waitFor({ timeout: 15_000 });
    expect(await redLine(app.page)).toBe(NOTICE_TEXT.subscription_required);
    expect(app.settings.tokens.account()).toBeNull();
    await screenshot(app.page, 'sync-7-subscription-required');
    await app.controller.shutdown();
    await app.close();
  });
});
