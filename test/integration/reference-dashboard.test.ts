// The dashboard web app's refusals over real HTTP: signed out, another account's files, bad versions and paths,
// forged or cross-site forms, a restore whose name was taken meanwhile; no inline script on any page, and nothing
// of the platform's shell on a site's host.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE_CSP } from '../../server-endpoints/reference/pages.js';
import { startPlatform, type TestAccount, type TestPlatform } from '../helpers/engine.js';
import { call, cookieOf, form, hiddenInputs, postLogin, type Reply } from '../helpers/reference.js';

describe('the dashboard refuses what it must', () => {
  let platform: TestPlatform;
  let ada: TestAccount;
  let bob: TestAccount;
  let host: string;
  const cookies: Record<string, string> = {};

  beforeAll(async () => {
    platform = await startPlatform([{ email: 'ada@example.com' }, { email: 'bob@example.com' }]);
    [ada, bob] = platform.accounts as [TestAccount, TestAccount];
    host = `localhost:${platform.server.port}`;
    for (const account of [ada, bob]) {
      const reply = await postLogin(platform.url, { email: account.email, password: account.password });
      cookies[account.email] = cookieOf(reply);
    }
    const put = async (account: TestAccount, kind: 'site' | 'upload', key: string, text: string, base = 0) => {
      const reply = await platform.put(account, kind, key, text, { baseVersion: base });
      expect(reply.status).toBeLessThan(300);
    };
    await put(ada, 'site', 'hello', '<p>one</p>');
    await put(ada, 'site', 'hello', '<p>two</p>', 1);
    await put(ada, 'site', 'gone', '<p>gone</p>');
    await put(ada, 'upload', 'docs/a.png', 'not really a png');
    await platform.deleteSite(ada, 'gone');
  }, 60_000);

  afterAll(async () => {
    await platform?.close();
  });

  const get = (path: string, who?: TestAccount): Promise<Reply> =>
    call(platform.url, { path, host, headers: who ? { cookie: cookies[who.email] ?? '' } : {} });
  const post = (path: string, who: TestAccount, fields: Record<string, string>, origin = `http://${host}`) =>
    call(platform.url, {
      method: 'POST',
      path,
      host,
      headers: { cookie: cookies[who.email] ?? '', origin, 'content-type': 'application/x-www-form-urlencoded' },
      body: form(fields),
    });
  const csrfOf = async (who: TestAccount): Promise<string> => hiddenInputs((await get('/', who)).text).csrf ?? '';

  it('sends a signed-out browser to the login, and refuses its forms', async () => {
    for (const path of [
      '/dashboard/files',
      '/dashboard/files/docs',
      '/dashboard/deleted',
      '/dashboard/sites/hello/edit',
    ]) {
      const reply = await get(path);
      expect(reply.status).toBe(303);
      expect(reply.headers.location).toBe(`/login?next=${encodeURIComponent(path)}`);
    }
    expect((await get('/dashboard/image/docs/a.png')).status).toBe(401);
    const refused = await call(platform.url, {
      method: 'POST',
      path: '/dashboard/deleted/gone/restore',
      host,
      headers: { origin: `http://${host}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: form({ csrf: 'x' }),
    });
    expect(refused.status).toBe(401);
  });

  it('never shows or changes another account files, versions or deleted sites', async () => {
    const csrf = await csrfOf(bob);
    expect((await get('/dashboard/files/docs/a.png', bob)).status).toBe(404);
    expect((await get('/dashboard/files/hello.html', bob)).status).toBe(404);
    expect((await get('/dashboard/image/docs/a.png', bob)).status).toBe(404);
    expect((await get('/dashboard/uploads/delete?path=docs%2Fa.png', bob)).status).toBe(404);
    expect((await post('/dashboard/uploads/delete', bob, { csrf, path: 'docs/a.png' })).status).toBe(404);
    expect((await get('/dashboard/sites/hello/versions/1/compare', bob)).status).toBe(404);
    expect((await post('/dashboard/sites/hello/versions/1/restore', bob, { csrf })).status).toBe(404);
    expect((await get('/dashboard/sites/hello/delete', bob)).status).toBe(404);
    expect((await get('/dashboard/sites/hello/edit', bob)).status).toBe(404);
    expect((await post('/dashboard/deleted/gone/restore', bob, { csrf })).status).toBe(404);
    expect((await get('/dashboard/deleted', bob)).text).toContain('id="no-deleted"');
    expect(await platform.remote(ada, 'upload', 'docs/a.png')).toBe('not really a png');
    expect(await platform.remote(ada, 'site', 'hello')).toBe('<p>two</p>');
  });

  it('answers bad versions and paths with a clear 404 page', async () => {
    for (const path of [
      '/dashboard/sites/hello/versions/0/compare',
      '/dashboard/sites/hello/versions/abc/compare',
      '/dashboard/sites/hello/versions/99/compare',
      '/dashboard/sites/Not-A-Name/versions/1/compare',
      '/dashboard/files/nothing/here',
      '/dashboard/files/a%2Fb',
      '/dashboard/files/..%2F..%2Fetc',
    ]) {
      const reply = await get(path, ada);
      expect({ path, status: reply.status }).toEqual({ path, status: 404 });
      expect(reply.text).toMatch(/<p class="error" id="error">[^<]+<\/p>/);
    }
    // A notice echoes only a platform path, escaped; anything else in the query shows nothing.
    const forged = await get('/dashboard/files?deleted=%3Cb%3Ecall%20us%3C%2Fb%3E', ada);
    expect(forged.status).toBe(200);
    expect(forged.text).not.toContain('id="notice"');
    expect(forged.text).not.toContain('call us');
    const real = await get('/dashboard/files?deleted=docs%2Fold.txt', ada);
    expect(real.text).toContain('<p id="notice">Deleted &quot;docs/old.txt&quot;.</p>');
    const restore = await post('/dashboard/sites/hello/versions/99/restore', ada, { csrf: await csrfOf(ada) });
    expect(restore.status).toBe(404);
    expect(await platform.remote(ada, 'site', 'hello')).toBe('<p>two</p>');
  });

  it('refuses a restore with a forged token or from another origin, and writes nothing', async () => {
    const csrf = await csrfOf(ada);
    expect((await post('/dashboard/sites/hello/versions/1/restore', ada, { csrf: 'forged' })).status).toBe(403);
    const crossSite = await post('/dashboard/sites/hello/versions/1/restore', ada, { csrf }, 'http://evil.example');
    expect(crossSite.status).toBe(403);
    expect((await post('/dashboard/deleted/gone/restore', ada, { csrf: 'forged' })).status).toBe(403);
    expect(await platform.remote(ada, 'site', 'hello')).toBe('<p>two</p>');
    expect(await platform.remote(ada, 'site', 'gone')).toBeNull();
  });

  it('says so when a deleted site name was taken by another account meanwhile, and keeps it restorable', async () => {
    expect((await platform.put(bob, 'site', 'gone', '<p>bob now</p>')).status).toBe(201);
    const reply = await post('/dashboard/deleted/gone/restore', ada, { csrf: await csrfOf(ada) });
    expect(reply.status).toBe(409);
    expect(reply.text).toContain('Another account holds this site name.');
    expect((await get('/dashboard/deleted', ada)).text).toContain('data-deleted-site="gone"');
    expect(await platform.remote(bob, 'site', 'gone')).toBe('<p>bob now</p>');
  });

  it('has no inline script on any page, and loads nothing of the shell on a site host', async () => {
    const pages = [
      '/',
      '/dashboard/files',
      '/dashboard/files/docs/a.png',
      '/dashboard/sites/hello',
      '/dashboard/sites/hello/versions/1/compare',
      '/dashboard/sites/hello/delete',
      '/dashboard/deleted',
      '/dashboard/uploads/delete?path=docs%2Fa.png',
      '/dashboard/offline',
      '/login',
      '/dashboard/files/nothing',
    ];
    for (const path of pages) {
      // The login page is seen signed out (signed in, it goes on to `next`).
      const reply = await get(path, path === '/login' ? undefined : ada);
      expect({ path, csp: reply.headers['content-security-policy'] }).toEqual({ path, csp: PAGE_CSP });
      const scripts = [...reply.text.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
      expect({ path, scripts }).toEqual({ path, scripts: ['<script src="/app.js" defer>'] });
    }
    for (const path of ['/sw.js', '/app.css', '/app.js', '/manifest.webmanifest', '/assets/icon-192.png', '/nope']) {
      const reply = await call(platform.url, { path, host: `hello.localhost:${platform.server.port}` });
      expect({ path, status: reply.status }).toEqual({ path, status: 404 });
      expect(reply.headers['content-security-policy']).not.toContain('script-src');
      expect(reply.text).not.toContain('/app.js');
    }
  });
});
