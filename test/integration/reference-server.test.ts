// The reference platform server over real HTTP on 127.0.0.1: login, dashboard and delete, site and upload
// serving by path and by `<name>.localhost`, the platform save endpoint, and the access log.

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Entry } from '../../protocol/index.js';
import { signToken } from '../../server-endpoints/auth/tokens.js';
import { openAccountStore } from '../../server-endpoints/reference/accounts.js';
import {
  openReferenceStores,
  type ReferenceServer,
  startReferenceServer,
} from '../../server-endpoints/reference/server.js';
import { call, cookieOf, form, postLogin, type Reply, sha256, signInDevice } from '../helpers/reference.js';
import { unescapeHtml } from './server-auth-helpers.js';

const PASSWORD = 'correct horse battery';

describe('reference platform server', () => {
  let dir: string;
  let server: ReferenceServer;
  let base: string;
  let hostPort: string;
  const logLines: string[] = [];
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hc-reference-'));
    // Seed the data folder through the stores, exactly as the admin commands do, before the server opens it.
    const stores = await openReferenceStores(dir);
    try {
      const alice = await stores.accounts.create({ email: 'Alice@Example.com', password: PASSWORD, plan: 'paid' });
      const bob = await stores.accounts.create({ email: 'bob@example.com', password: PASSWORD, plan: 'paid' });
      ids.alice = alice.id;
      ids.bob = bob.id;
      await stores.accounts.create({ email: 'dave@example.com', password: PASSWORD, plan: 'paid' });
      const limits = { maxSites: null, maxStorageBytes: null };
      const write = (accountId: string, kind: 'site' | 'upload', key: string, path: string, text: string) => {
        const content = Buffer.from(text);
        return stores.storage.writeFile({
          accountId,
          kind,
          key,
          path,
          content,
          sha256: sha256(content),
          baseVersion: 0,
          modifiedAtMs: Date.now(),
          limits,
        });
      };
      await write(alice.id, 'site', 'hello', 'hello.html', '<h1>Hello from Alice</h1>');
      await write(alice.id, 'site', 'journal', 'blog/journal.html', '<h1>Journal</h1><img src="pic.png">');
      await write(alice.id, 'site', 'doomed', 'doomed.html', '<p>delete me</p>');
      await write(alice.id, 'upload', 'blog/pic.png', 'blog/pic.png', 'PNG-IN-BLOG');
      await write(alice.id, 'upload', 'logo.svg', 'logo.svg', '<svg xmlns="http://www.w3.org/2000/svg"/>');
      await write(alice.id, 'upload', 'docs/read me.txt', 'docs/read me.txt', 'spaces in a path');
      await write(bob.id, 'site', 'bobsite', 'bobsite.html', '<p>Bob</p>');
    } finally {
      await stores.close();
    }
    server = await startReferenceServer({ port: 0, dataDir: dir, log: (line) => logLines.push(line) });
    base = server.url;
    hostPort = `127.0.0.1:${server.port}`;
  });

  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A GET on a site's own host, as a browser at http://<name>.localhost:<port> sends it. */
  function site(name: string, path: string): Promise<Reply> {
    return call(base, { path, host: `${name}.localhost:${server.port}` });
  }

  const login = (email: string, password = PASSWORD, next = '/'): Promise<Reply> =>
    postLogin(base, { email, password, next });

  async function cookieFor(email: string): Promise<string> {
    const reply = await login(email);
    expect(reply.status).toBe(303);
    return cookieOf(reply);
  }

  const tokenFor = async (email: string): Promise<string> => signInDevice(base, await cookieFor(email));

  async function allChanges(token: string, cursor = '0'): Promise<{ entries: Entry[]; cursor: string }> {
    const entries: Entry[] = [];
    let at = cursor;
    for (;;) {
      const reply = await call(base, {
        path: `/sync/changes?cursor=${encodeURIComponent(at)}`,
        headers: { authorization: `Bearer ${token}` },
      });
      expect(reply.status).toBe(200);
      const page = JSON.parse(reply.text) as { entries: Entry[]; cursor: string; hasMore: boolean };
      entries.push(...page.entries);
      at = page.cursor;
      if (!page.hasMore) return { entries, cursor: at };
    }
  }

  function csrfOf(html: string): string {
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
    expect(csrf).toBeTruthy();
    return unescapeHtml(csrf ?? '');
  }

  describe('login', () => {
    it('shows a form with email and password inputs', async () => {
      const page = await call(base, { path: '/login?next=%2Fdashboard%2Fsites%2Fhello' });
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.text).toContain('name="email"');
      expect(page.text).toContain('name="password"');
      expect(page.text).toContain('value="/dashboard/sites/hello"');
      expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    });

    it('signs in with the right password (email in any case) and redirects to next with an HttpOnly cookie', async () => {
      const reply = await login('ALICE@example.COM', PASSWORD, '/dashboard/sites/hello?x=1');
      expect(reply.status).toBe(303);
      expect(reply.headers.location).toBe('/dashboard/sites/hello?x=1');
      const setCookie = String(reply.headers['set-cookie']);
      expect(setCookie).toMatch(/^hc_session=[A-Za-z0-9_-]+;/);
      expect(setCookie).toContain('HttpOnly');
      expect(setCookie).toContain('SameSite=Lax');
      expect(setCookie).toContain('Path=/');
      const home = await call(base, { path: '/', headers: { cookie: cookieOf(reply) } });
      expect(home.text).toContain('Alice@Example.com');
    });

    it('refuses a wrong password with a clear error and no cookie', async () => {
      const reply = await login('alice@example.com', 'wrong password!');
      expect(reply.status).toBe(401);
      expect(reply.headers['set-cookie']).toBeUndefined();
      expect(reply.text).toContain('That email and password do not match an account.');
      const unknown = await login('nobody@example.com', PASSWORD);
      expect(unknown.status).toBe(401);
      expect(unknown.text).toContain('That email and password do not match an account.');
    });

    it('never redirects to another origin, whatever next says', async () => {
      for (const next of [
        'https://evil.example/',
        '//evil.example/x',
        '/\\evil.example',
        '\\\\evil.example',
        'javascript:alert(1)',
        '/%0d%0aSet-Cookie:x=1',
        ' //evil.example',
      ]) {
        const reply = await login('alice@example.com', PASSWORD, next);
        expect(reply.status).toBe(303);
        const location = String(reply.headers.location);
        expect(location.startsWith('/')).toBe(true);
        expect(location.startsWith('//')).toBe(false);
        expect(new URL(location, base).origin).toBe(base);
        expect(location).not.toContain('\r');
      }
      const page = await call(base, { path: `/login?next=${encodeURIComponent('https://evil.example/')}` });
      expect(page.text).toContain('name="next" value="/"');
    });

    it('refuses a login form posted from another origin', async () => {
      const reply = await call(base, {
        method: 'POST',
        path: '/login',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
        body: form({ email: 'alice@example.com', password: PASSWORD, next: '/' }),
      });
      expect(reply.status).toBe(403);
      expect(reply.headers['set-cookie']).toBeUndefined();
    });

    it('signs out: the cookie stops working', async () => {
      const cookie = await cookieFor('alice@example.com');
      const home = await call(base, { path: '/', headers: { cookie } });
      const out = await call(base, {
        method: 'POST',
        path: '/logout',
        headers: { cookie, origin: base, 'content-type': 'application/x-www-form-urlencoded' },
        body: form({ csrf: csrfOf(home.text) }),
      });
      expect(out.status).toBe(303);
      const after = await call(base, { path: '/', headers: { cookie } });
      expect(after.text).toContain('id="login-link"');
      expect(after.text).not.toContain('Alice@Example.com');
    });
  });

  describe('dashboard', () => {
    it('shows a login link when signed out', async () => {
      const home = await call(base, { path: '/' });
      expect(home.status).toBe(200);
      expect(home.text).toContain('href="/login"');
    });

    it("lists the account's own sites with links, and no one else's", async () => {
      const cookie = await cookieFor('alice@example.com');
      const home = await call(base, { path: '/', headers: { cookie } });
      expect(home.status).toBe(200);
      for (const name of ['hello', 'journal', 'doomed']) {
        expect(home.text).toContain(`href="/${name}"`);
        expect(home.text).toContain(`href="/dashboard/sites/${name}"`);
        expect(home.text).toContain(`http://${name}.localhost:${server.port}/`);
      }
      expect(home.text).toContain('blog/journal.html');
      expect(home.text).not.toContain('bobsite');
    });

    it("shows a site's versions, and 404 for another account's site", async () => {
      const cookie = await cookieFor('alice@example.com');
      const page = await call(base, { path: '/dashboard/sites/hello', headers: { cookie } });
      expect(page.status).toBe(200);
      expect(page.text).toContain('Current: <a href="/hello">v1</a>');
      const foreign = await call(base, { path: '/dashboard/sites/bobsite', headers: { cookie } });
      expect(foreign.status).toBe(404);
      const signedOut = await call(base, { path: '/dashboard/sites/hello' });
      expect(signedOut.status).toBe(303);
      expect(signedOut.headers.location).toBe('/login?next=%2Fdashboard%2Fsites%2Fhello');
    });

    it('refuses a delete without the CSRF token or from another origin', async () => {
      const cookie = await cookieFor('alice@example.com');
      const noToken = await call(base, {
        method: 'POST',
        path: '/dashboard/sites/doomed/delete',
        headers: { cookie, origin: base, 'content-type': 'application/x-www-form-urlencoded' },
        body: form({ csrf: 'forged' }),
      });
      expect(noToken.status).toBe(403);
      const home = await call(base, { path: '/', headers: { cookie } });
      const crossSite = await call(base, {
        method: 'POST',
        path: '/dashboard/sites/doomed/delete',
        headers: { cookie, origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
        body: form({ csrf: csrfOf(home.text) }),
      });
      expect(crossSite.status).toBe(403);
      expect((await site('doomed', '/')).status).toBe(200);
    });

    it('deletes a site: it stops being served and a tombstone reaches clients through the change feed', async () => {
      const token = await tokenFor('alice@example.com');
      const before = await allChanges(token);
      expect(before.entries.some((e) => e.kind === 'site' && e.name === 'doomed')).toBe(true);

      const cookie = await cookieFor('alice@example.com');
      const home = await call(base, { path: '/', headers: { cookie } });
      const deleted = await call(base, {
        method: 'POST',
        path: '/dashboard/sites/doomed/delete',
        headers: { cookie, origin: base, 'content-type': 'application/x-www-form-urlencoded' },
        body: form({ csrf: csrfOf(home.text) }),
      });
      expect(deleted.status).toBe(303);
      expect(deleted.headers.location).toBe('/?deleted=doomed');

      const after = await allChanges(token, before.cursor);
      const tombstone = after.entries.find((e) => e.kind === 'site' && e.name === 'doomed');
      expect(tombstone?.deleted).toBe(true);
      expect((await site('doomed', '/')).status).toBe(404);
      expect((await call(base, { path: '/doomed' })).status).toBe(404);
      const listing = await call(base, { path: '/', headers: { cookie } });
      expect(listing.text).not.toContain('href="/doomed"');
    });
  });

  describe('site serving', () => {
    it('serves a site only on its own host; /<name> and /<name>/ on the platform origin redirect there', async () => {
      for (const path of ['/hello', '/hello/']) {
        const reply = await call(base, { path });
        expect(reply.status).toBe(302);
        expect(reply.headers.location).toBe(`http://hello.localhost:${server.port}/`);
        expect(reply.text).not.toContain('Hello from Alice');
      }
      // The query never travels: a code sent to a loopback /callback on this port must not reach a site "callback".
      const withQuery = await call(base, { path: '/hello?code=K&state=S' });
      expect(withQuery.headers.location).toBe(`http://hello.localhost:${server.port}/`);
    });

    it('serves a site at http://<name>.localhost:<port>/ by its Host header', async () => {
      const reply = await call(base, { path: '/', host: `hello.localhost:${server.port}` });
      expect(reply.status).toBe(200);
      expect(reply.headers['content-type']).toMatch(/^text\/html/);
      expect(reply.text).toBe('<h1>Hello from Alice</h1>');
      const other = await call(base, { path: '/', host: `bobsite.localhost:${server.port}` });
      expect(other.text).toBe('<p>Bob</p>');
    });

    it("serves the owner's uploads next to the site first, then from the account root", async () => {
      // journal lives in blog/: its relative "pic.png" is blog/pic.png, as when the file is opened from disk.
      const sub = await site('journal', '/pic.png');
      expect(sub.status).toBe(200);
      expect(sub.headers['content-type']).toBe('image/png');
      expect(sub.text).toBe('PNG-IN-BLOG');
      expect(sub.headers['content-security-policy']).toBeUndefined();
      const byPath = await call(base, { path: '/journal/pic.png' });
      expect(byPath.status).toBe(302);
      expect(byPath.headers.location).toBe(`http://journal.localhost:${server.port}/pic.png`);
      const rooted = await site('hello', '/blog/pic.png');
      expect(rooted.text).toBe('PNG-IN-BLOG');
      const svg = await site('hello', '/logo.svg');
      expect(svg.headers['content-type']).toBe('image/svg+xml');
      expect(svg.headers['x-content-type-options']).toBe('nosniff');
      // An SVG is a document with scripts when opened: it runs none, on an opaque origin.
      expect(svg.headers['content-security-policy']).toBe('sandbox');
      const encoded = await site('hello', '/docs/read%20me.txt');
      expect(encoded.status).toBe(200);
      expect(encoded.text).toBe('spaces in a path');
      const redirected = await call(base, { path: '/hello/docs/read%20me.txt' });
      expect(redirected.headers.location).toBe(`http://hello.localhost:${server.port}/docs/read%20me.txt`);
    });

    it("never serves another account's upload through a site", async () => {
      expect((await site('bobsite', '/logo.svg')).status).toBe(404);
    });

    it('answers 404 pages for unknown sites, uploads and hostile paths', async () => {
      for (const path of ['/nosuchsite', '/hello/..%2f..%2fetc/passwd', '/UPPER', '/a--b', '/nosuchsite/x.png']) {
        const reply = await call(base, { path });
        expect(reply.status).toBe(404);
        expect(reply.headers['content-type']).toMatch(/^text\/html/);
      }
      expect((await site('hello', '/nothing.png')).status).toBe(404);
      expect((await site('hello', '/..%2f..%2fetc/passwd')).status).toBe(404);
      // A name with a bidi override is echoed escaped, never raw (it would show "photoexe.jpg").
      const spoofed = await site('hello', '/photo%E2%80%AEgpj.exe');
      expect(spoofed.status).toBe(404);
      expect(spoofed.text).toContain('photo\\u202egpj.exe');
      expect(spoofed.text).not.toContain('\u202e');
      const unknownHost = await call(base, { path: '/', host: `nosuchsite.localhost:${server.port}` });
      expect(unknownHost.status).toBe(404);
      expect(unknownHost.text).toContain('There is no site named');
    });

    it('serves no platform page and no sync endpoint on a site host', async () => {
      for (const host of [`hello.localhost:${server.port}`, `www.localhost:${server.port}`]) {
        for (const path of ['/login', '/sync/authorize?x=1', '/sync/health', '/dashboard/sites/hello']) {
          const reply = await call(base, { path, host });
          expect(reply.status).toBe(404);
          expect(reply.text).not.toContain('name="password"');
        }
      }
    });

    it('keeps the sync endpoints reachable next to the site routes', async () => {
      const health = await call(base, { path: '/sync/health' });
      expect(health.status).toBe(200);
      expect(JSON.parse(health.text)).toEqual({ ok: true });
    });
  });

  describe('the platform save endpoint', () => {
    const save = (name: string, body: string, headers: Record<string, string>): Promise<Reply> =>
      call(base, { method: 'POST', path: `/save/${name}`, headers: { 'content-type': 'text/html', ...headers }, body });

    it("saves the owner's new HTML with a backup; the new version reaches clients through the change feed", async () => {
      const token = await tokenFor('alice@example.com');
      const before = await allChanges(token);
      const cookie = await cookieFor('alice@example.com');
      const reply = await save('hello', '<h1>Hello, saved from the browser</h1>', { cookie, origin: base });
      expect(reply.status).toBe(200);
      const saved = JSON.parse(reply.text) as { entry: Entry };
      expect(saved.entry.version).toBe(2);
      expect(saved.entry.sha256).toBe(sha256('<h1>Hello, saved from the browser</h1>'));

      expect((await site('hello', '/')).text).toBe('<h1>Hello, saved from the browser</h1>');
      const versions = await call(base, {
        path: '/sync/sites/hello/versions',
        headers: { authorization: `Bearer ${token}` },
      });
      const list = (JSON.parse(versions.text) as { versions: { sha256: string }[] }).versions;
      expect(list.map((v) => v.sha256)).toContain(sha256('<h1>Hello from Alice</h1>'));
      const page = await call(base, { path: '/dashboard/sites/hello', headers: { cookie } });
      expect(page.text).toContain('data-version="1"');
      const old = await call(base, { path: '/dashboard/sites/hello/versions/1', headers: { cookie } });
      expect(old.status).toBe(200);
      expect(old.text).toBe('<h1>Hello from Alice</h1>');
      // Shown, never run on the platform's origin.
      expect(old.headers['content-security-policy']).toBe('sandbox');
      const foreign = await call(base, { path: '/dashboard/sites/bobsite/versions/1', headers: { cookie } });
      expect(foreign.status).toBe(404);

      const after = await allChanges(token, before.cursor);
      const change = after.entries.find((e) => e.kind === 'site' && e.name === 'hello');
      expect(change?.version).toBe(2);
      expect(change?.sha256).toBe(saved.entry.sha256);
    });

    it('accepts the custom header instead of an Origin (a script or curl on this origin)', async () => {
      const cookie = await cookieFor('alice@example.com');
      const reply = await save('hello', '<h1>via header</h1>', { cookie, 'x-hyperclay-save': '1' });
      expect(reply.status).toBe(200);
      expect((await site('hello', '/')).text).toBe('<h1>via header</h1>');
    });

    it('refuses a save with no cookie, from another account, from another origin, or with neither Origin nor header', async () => {
      const alice = await cookieFor('alice@example.com');
      const bob = await cookieFor('bob@example.com');
      const noCookie = await save('hello', 'x', { origin: base });
      expect(noCookie.status).toBe(401);
      expect(JSON.parse(noCookie.text).error.code).toBe('unauthorized');
      const otherAccount = await save('hello', 'x', { cookie: bob, origin: base });
      expect(otherAccount.status).toBe(404);
      const crossOrigin = await save('hello', 'x', { cookie: alice, origin: 'https://evil.example' });
      expect(crossOrigin.status).toBe(403);
      const nullOrigin = await save('hello', 'x', { cookie: alice, origin: 'null' });
      expect(nullOrigin.status).toBe(403);
      const bare = await save('hello', 'x', { cookie: alice });
      expect(bare.status).toBe(403);
      expect(JSON.parse(bare.text).error.message).toContain('X-Hyperclay-Save');
      expect((await site('hello', '/')).text).not.toBe('x');
    });

    it('answers bad names and unknown sites with JSON errors', async () => {
      const cookie = await cookieFor('alice@example.com');
      const bad = await save('Bad..Name', 'x', { cookie, origin: base });
      expect(bad.status).toBe(400);
      expect(JSON.parse(bad.text).error.code).toBe('invalid_name');
      const missing = await save('nosuchsite', 'x', { cookie, origin: base });
      expect(missing.status).toBe(404);
      expect(JSON.parse(missing.text).error.code).toBe('not_found');
    });
  });

  describe('plans and limits', () => {
    it('gives the sync client the account limits and usage in /sync/me', async () => {
      const token = await tokenFor('bob@example.com');
      const me = await call(base, { path: '/sync/me', headers: { authorization: `Bearer ${token}` } });
      expect(me.status).toBe(200);
      const body = JSON.parse(me.text) as { user: { email: string; plan: string }; limits: unknown; usage: unknown };
      expect(body.user).toMatchObject({ email: 'bob@example.com', plan: 'paid' });
      expect(body.limits).toMatchObject({ maxSites: 10, maxStorageBytes: null, maxFileBytes: 20971520 });
      expect(body.usage).toMatchObject({ sites: 1 });
    });

    it('refuses a platform save past the storage quota set by the admin, and keeps the content', async () => {
      const admin = openAccountStore({ dir });
      try {
        admin.update('bob@example.com', { maxStorageBytes: 20 });
        const cookie = await cookieFor('bob@example.com');
        const reply = await call(base, {
          method: 'POST',
          path: '/save/bobsite',
          headers: { cookie, origin: base, 'content-type': 'text/html' },
          body: '<p>Bob, now much longer than twenty bytes</p>',
        });
        expect(reply.status).toBe(403);
        expect(JSON.parse(reply.text).error.code).toBe('storage_limit_reached');
        expect((await site('bobsite', '/')).text).toBe('<p>Bob</p>');
      } finally {
        admin.update('bob@example.com', { maxStorageBytes: null });
        admin.close();
      }
    });

    it('refuses a save body over 20 MiB with 413 too_large', async () => {
      const cookie = await cookieFor('alice@example.com');
      const reply = await call(base, {
        method: 'POST',
        path: '/save/hello',
        headers: { cookie, origin: base, 'content-type': 'text/html' },
        body: Buffer.alloc(20 * 1024 * 1024 + 1, 0x61),
      });
      expect(reply.status).toBe(413);
      expect(JSON.parse(reply.text).error.code).toBe('too_large');
    });
  });

  describe('data folder and log', () => {
    it('keeps the token secret readable by its owner only', async () => {
      const info = await stat(join(dir, 'token-secret'));
      expect(info.mode & 0o777).toBe(0o600);
    });

    it('writes one access-log line per request, without query strings', async () => {
      const marker = `marker${randomBytes(4).toString('hex')}`;
      await call(base, { path: `/${marker}?code=SECRETCODE&state=s` });
      const line = logLines.find((l) => l.includes(marker));
      expect(line).toMatch(new RegExp(`^GET /${marker} 404 \\d+ ms$`));
      expect(logLines.join('\n')).not.toContain('SECRETCODE');
      expect(logLines.join('\n')).not.toContain(PASSWORD);
      expect(logLines.some((l) => /^GET hello\.localhost\/ 200 \d+ ms$/.test(l))).toBe(true);
      expect(hostPort).toContain('127.0.0.1');
    });
  });

  it('close() lets a running long-poll end before the stores close (no error logged)', async () => {
    const closeDir = await mkdtemp(join(tmpdir(), 'hc-reference-close-'));
    const lines: string[] = [];
    try {
      const stores = await openReferenceStores(closeDir);
      const account = await stores.accounts.create({ email: 'erin@example.com', password: PASSWORD });
      const sid = await stores.authStore.createConnection(account.id, 'test');
      const { token } = signToken(stores.tokenSecret, { sub: account.id, sid }, Date.now());
      await stores.close();
      const second = await startReferenceServer({ port: 0, dataDir: closeDir, log: (line) => lines.push(line) });
      const auth = { authorization: `Bearer ${token}` };
      const first = await call(second.url, { path: '/sync/changes?cursor=0', headers: auth });
      const { cursor } = JSON.parse(first.text) as { cursor: string };
      // A raw request, to know when its bytes have left; a health round trip after that means the server has
      // read the poll too (one event loop, bytes in arrival order), so the poll is in its handler when close() runs.
      let sent: () => void = () => {};
      const flushed = new Promise<void>((r) => {
        sent = r;
      });
      const poll = new Promise<Error | number>((done) => {
        const req = httpRequest(new URL(`/sync/changes?cursor=${cursor}&wait=30`, second.url), {
          headers: auth,
          agent: false,
        });
        req.on('response', (res) => done(res.statusCode ?? 0));
        req.on('error', (error) => done(error));
        req.on('finish', () => sent());
        req.end();
      });
      await flushed;
      expect((await call(second.url, { path: '/sync/health' })).status).toBe(200);
      await second.close();
      expect(await poll).toBeInstanceOf(Error);
      expect(lines.filter((line) => line.includes('error'))).toEqual([]);
      expect(lines.filter((line) => line.startsWith('GET /sync/changes '))).toHaveLength(2);
    } finally {
      await rm(closeDir, { recursive: true, force: true });
    }
  });
});
