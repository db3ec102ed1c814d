// What the dashboard changes reaches the account's synced folders, in real Chromium against the reference server
// with a real sync client: an upload deleted after its confirmation (a tombstone), a site deleted after its
// confirmation and restored, a version restored, and a site edited in the browser on its own origin and saved.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/engine.js';
import { call, form, hiddenInputs } from '../helpers/reference.js';
import { type DashboardWorld, HELLO_V1, HELLO_V2, screenshotAt, startDashboardWorld } from './dashboard-harness.js';

describe('dashboard changes reach the synced folders', { timeout: 90_000 }, () => {
  let world: DashboardWorld;
  const inFolder = (path: string) => join(world.client.folder, path);
  const contentOf = (path: string) => (existsSync(inFolder(path)) ? readFileSync(inFolder(path), 'utf8') : null);

  /** The change feed from `cursor` to its end, as a client reads it. */
  async function feed(
    cursor: string,
  ): Promise<{ entries: Array<{ path: string; deleted?: boolean }>; cursor: string }> {
    const entries: Array<{ path: string; deleted?: boolean }> = [];
    for (;;) {
      const reply = await world.platform.api(world.platform.accounts[0]!, `/sync/changes?cursor=${cursor}`);
      const page = (await reply.json()) as { entries: typeof entries; cursor: string; hasMore: boolean };
      entries.push(...page.entries);
      cursor = encodeURIComponent(page.cursor);
      if (!page.hasMore) return { entries, cursor };
    }
  }

  beforeAll(async () => {
    world = await startDashboardWorld();
  }, 120_000);

  afterAll(async () => {
    await world?.close();
  });

  it('deletes an upload only after its confirmation; the client gets the tombstone', async () => {
    const { page, origin, platform } = world;
    const account = platform.accounts[0]!;
    const before = await feed('0');
    await page.goto(`${origin}/dashboard/files/trash.txt`);
    await page.locator('#delete-upload').click();
    await page.locator('#confirm-delete').waitFor();
    expect(await page.locator('h1').textContent()).toBe('Delete "trash.txt"?');
    // Asking is not deleting; Cancel goes back to the file.
    expect(await platform.remote(account, 'upload', 'trash.txt')).toBe('throw me away\n');
    await page.locator('#cancel-delete').click();
    await page.locator('#delete-upload').waitFor();
    await page.locator('#delete-upload').click();
    await page.locator('#confirm-delete').click();
    expect(await page.locator('#notice').textContent()).toBe('Deleted "trash.txt".');
    expect(new URL(page.url()).pathname).toBe('/dashboard/files');
    await until(() => !existsSync(inFolder('trash.txt')), 'the client to delete trash.txt', 20_000);
    const after = await feed(before.cursor);
    expect(after.entries.filter((e) => e.path === 'trash.txt')).toMatchObject([{ deleted: true }]);
    expect(await page.locator('#tree li[data-path="trash.txt"]').count()).toBe(0);
  });

  it('refuses the delete form without its CSRF token or from another origin', async () => {
    const { platform, port } = world;
    const cookie = (await world.context.cookies()).find((c) => c.name === 'hc_session');
    const headers = { cookie: `hc_session=${cookie?.value}`, 'content-type': 'application/x-www-form-urlencoded' };
    const host = `localhost:${port}`;
    const confirm = await call(platform.url, {
      path: '/dashboard/uploads/delete?path=notes%2Fplain.txt',
      host,
      headers: { cookie: headers.cookie },
    });
    const fields = hiddenInputs(confirm.text);
    expect(fields).toEqual({ csrf: expect.any(String), path: 'notes/plain.txt' });
    const post = (body: Record<string, string>, origin: string) =>
      call(platform.url, {
        method: 'POST',
        path: '/dashboard/uploads/delete',
        host,
        headers: { ...headers, origin },
        body: form(body),
      });
    expect((await post({ ...fields, csrf: 'forged' }, `http://${host}`)).status).toBe(403);
    expect((await post(fields, 'http://evil.example')).status).toBe(403);
    expect((await post({ csrf: fields.csrf ?? '', path: '../etc/passwd' }, `http://${host}`)).status).toBe(404);
    expect(existsSync(inFolder('notes/plain.txt'))).toBe(true);
  });

  it('compares and restores a version; the restored content reaches the client as the newest version', async () => {
    const { page, origin } = world;
    expect(contentOf('hello.html')).toBe(HELLO_V2);
    await page.goto(`${origin}/dashboard/sites/hello`);
    await page.locator('tr[data-version="1"] a.compare').click();
    expect(await page.locator('#diff .del').allTextContents()).toEqual(['- <p>first draft</p>']);
    expect(await page.locator('#diff .add').allTextContents()).toEqual([
      '+ <p>second draft</p>',
      '+ <p>one more line</p>',
    ]);
    await page.goBack();
    await page.locator('tr[data-version="1"] button.restore').click();
    expect(await page.locator('#notice').textContent()).toBe('Restored v1 as the current version.');
    expect(await page.locator('body').textContent()).toContain('Current: v3');
    await until(() => contentOf('hello.html') === HELLO_V1, 'the client to get v1 back', 20_000);
    // The replaced content is a version in its turn: nothing was lost.
    expect(await page.locator('tr[data-version="2"]').count()).toBe(1);
  });

  it('deletes a site after its confirmation, lists it as deleted, and restores it to the client', async () => {
    const { page, origin } = world;
    const doomed = contentOf('doomed.html');
    expect(doomed).toContain('delete me');
    await page.goto(`${origin}/`);
    await page.locator('tr[data-site="doomed"] a.delete').click();
    expect(await page.locator('h1').textContent()).toBe('Delete the site "doomed"?');
    expect(existsSync(inFolder('doomed.html'))).toBe(true);
    await page.locator('#confirm-delete').click();
    expect(await page.locator('#notice').textContent()).toBe('Deleted the site "doomed".');
    await until(() => !existsSync(inFolder('doomed.html')), 'the client to delete doomed.html', 20_000);

    await page.locator('#nav-deleted').click();
    const listed = await page
      .locator('tr[data-deleted-site]')
      .evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset.deletedSite));
    expect(listed).toEqual(['doomed']);
    await screenshotAt(page, 'deleted', 390);
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.locator('tr[data-deleted-site="doomed"] button.restore').click();
    expect(await page.locator('#notice').textContent()).toBe('Restored the site "doomed".');
    expect(await page.locator('#no-deleted').count()).toBe(1);
    await until(() => contentOf('doomed.html') === doomed, 'the client to get doomed.html back', 20_000);
  });

  it('edits a site in the browser on its own origin; the save reaches the client without the editor', async () => {
    const { page, origin, port, platform } = world;
    await page.goto(`${origin}/`);
    await page.locator('tr[data-site="hello"] a.edit').click();
    await page.locator('#hyperclay-save').waitFor();
    expect(new URL(page.url()).origin).toBe(`http://hello.localhost:${port}`);
    expect(await page.evaluate(() => document.body.isContentEditable)).toBe(true);
    await page.locator('h1').click();
    await page.keyboard.press('End');
    await page.keyboard.type(' again, edited in the browser');
    await screenshotAt(page, 'edit', 390);
    await page.locator('#hyperclay-save').click();
    await expect.poll(() => page.locator('#hyperclay-edit-state').textContent()).toBe('Saved');
    const saved = await until(
      () => (contentOf('hello.html')?.includes('edited in the browser') ? contentOf('hello.html') : null),
      'the client to get the edit',
      20_000,
    );
    expect(saved).toContain('<h1>Hello again, edited in the browser</h1>');
    expect(saved).toContain('<p>first draft</p>');
    expect(saved).not.toMatch(/hyperclay|contenteditable/i);
    expect(saved?.startsWith('<!DOCTYPE html>')).toBe(true);

    // The editor is added for the owner's pass only: the same address without it is the plain site.
    const plain = await call(platform.url, { path: '/?edit', host: `hello.localhost:${port}` });
    expect(plain.status).toBe(200);
    expect(plain.text).not.toContain('hyperclay:edit.js');
    const stranger = await world.browser.newContext();
    try {
      const other = await stranger.newPage();
      await other.goto(`http://hello.localhost:${port}/?edit`);
      expect(await other.locator('h1').textContent()).toBe('Hello again, edited in the browser');
      expect(await other.locator('#hyperclay-save').count()).toBe(0);
      expect(await other.evaluate(() => document.body.isContentEditable)).toBe(false);
    } finally {
      await stranger.close();
    }
  });
});
