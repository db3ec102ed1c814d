// The reference platform's own routes: login and logout, the dashboard (sites, versions, delete), the
// platform save endpoint of self-saving sites, and serving sites and uploads by path and by `<name>.localhost`.

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { Hono } from 'hono';
import {
  checkPath,
  checkSiteName,
  type Entry,
  ERROR_STATUS,
  type ErrorCode,
  errorBody,
  folderOf,
  joinPath,
  MAX_FILE_BYTES,
} from '../../protocol/index.js';
import type { Account, SyncStorage } from '../types.js';
import {
  type AccountStore,
  emailKey,
  SESSION_COOKIE,
  SESSION_LIFETIME_MS,
  safeReturnPath,
  sessionCookie,
} from './accounts.js';
import { dashboardPage, errorPage, loginPage, PAGE_CSP, signedOutHome, versionsPage } from './pages.js';

export interface PlatformOptions {
  accounts: AccountStore;
  storage: SyncStorage;
  /** Key for the dashboard's CSRF tokens (derived per login session). */
  csrfKey: string;
  /** The port sites are served on, for `http://<name>.localhost:<port>/` links; null when unknown. */
  port: () => number | null;
  log: (line: string) => void;
}

const MAX_FORM_BYTES = 64 * 1024;
const MAX_LOGIN_FAILURES = 10;
const LOGIN_THROTTLE_MS = 60_000;
/** A request header a cross-site HTML form cannot send (and a cross-origin script only after a CORS preflight we never grant). */
export const SAVE_HEADER = 'X-Hyperclay-Save';
const SUBDOMAIN_HOST = /^([a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?)\.localhost(?::\d{1,5})?$/;

class PlatformError extends Error {
  constructor(
    readonly code: ErrorCode | 'forbidden',
    message: string,
  ) {
    super(message);
  }
  get status(): number {
    return this.code === 'forbidden' ? 403 : ERROR_STATUS[this.code];
  }
}

/** The site a `<name>.localhost[:port]` Host header names, or null for the platform's own host. */
export function subdomainSite(host: string | undefined): string | null {
  const match = host ? SUBDOMAIN_HOST.exec(host.toLowerCase()) : null;
  if (!match?.[1]) return null;
  return checkSiteName(match[1]).ok ? match[1] : null;
}

const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  htm: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  json: 'application/json',
  txt: 'text/plain; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  xml: 'application/xml',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  avif: 'image/avif',
  ico: 'image/x-icon',
  pdf: 'application/pdf',
  woff: 'font/woff',
  woff2: 'font/woff2',
  ttf: 'font/ttf',
  otf: 'font/otf',
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  ogg: 'audio/ogg',
  mp4: 'video/mp4',
  webm: 'video/webm',
  wasm: 'application/wasm',
  zip: 'application/zip',
};

export function contentTypeOf(path: string): string {
  const dot = path.lastIndexOf('.');
  const ext = dot === -1 ? '' : path.slice(dot + 1).toLowerCase();
  return CONTENT_TYPES[ext] ?? 'application/octet-stream';
}

/** Reads a body up to `max` bytes; more is `413 too_large` without buffering the rest. */
async function readBody(request: Request, max: number): Promise<Buffer> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > max) throw new PlatformError('too_large', `The body is over ${max} bytes.`);
  if (!request.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let total = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel();
      throw new PlatformError('too_large', `The body is over ${max} bytes.`);
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks);
}

async function readForm(request: Request): Promise<URLSearchParams> {
  const type = request.headers.get('content-type') ?? '';
  if (!type.startsWith('application/x-www-form-urlencoded')) {
    throw new PlatformError('bad_request', 'This form must be sent as application/x-www-form-urlencoded.');
  }
  return new URLSearchParams((await readBody(request, MAX_FORM_BYTES)).toString('utf8'));
}

/** The origin this request was addressed to, as a browser on this host would spell it. */
function ownOrigin(request: Request): string | null {
  const host = request.headers.get('host');
  return host ? `${new URL(request.url).protocol}//${host.toLowerCase()}` : null;
}

/** Refuses a request whose Origin header names another origin (a cross-site form or script). */
function requireSameOrigin(request: Request): void {
  const origin = request.headers.get('origin');
  if (origin === null) return;
  if (origin.toLowerCase() !== ownOrigin(request)) {
    throw new PlatformError('forbidden', 'This request came from another site and was refused.');
  }
}

function csrfFor(key: string, cookie: string): string {
  return createHmac('sha256', key).update(`csrf:${cookie}`).digest('base64url');
}

function csrfMatches(key: string, cookie: string, presented: string | null): boolean {
  if (!presented) return false;
  const expected = Buffer.from(csrfFor(key, cookie));
  const given = Buffer.from(presented);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

function pageResponse(c: Context, status: number, html: string): Response {
  c.header('Content-Security-Policy', PAGE_CSP);
  c.header('X-Frame-Options', 'DENY');
  c.header('Cache-Control', 'no-store');
  c.header('Referrer-Policy', 'same-origin');
  return c.html(html, status as 200);
}

function errorHtml(c: Context, status: number, title: string, message: string): Response {
  return pageResponse(c, status, errorPage(status, title, message));
}

function jsonError(c: Context, error: PlatformError): Response {
  // 'forbidden' (a CSRF refusal) is this endpoint's own code: PROTOCOL.md's table has none for it.
  const body =
    error.code === 'forbidden'
      ? { error: { code: 'forbidden', message: error.message } }
      : errorBody(error.code, error.message);
  return c.json(body, error.status as 400);
}

/** Splits a URL path (still percent-encoded) into a checked platform path, or null when it breaks the rules. */
function uploadPathOf(encoded: string): string | null {
  let decoded: string;
  try {
    const segments = encoded.split('/').map((segment) => decodeURIComponent(segment));
    // An encoded "/" inside a segment would change where segments split: not a path the platform holds.
    if (segments.some((segment) => segment.includes('/'))) return null;
    decoded = segments.join('/');
  } catch {
    return null;
  }
  const checked = checkPath(decoded, 'file');
  return checked.ok ? checked.value : null;
}

export interface Platform {
  /** Serves `<name>.localhost` hosts; mount before every other route so no platform route shadows a site. */
  siteHost: MiddlewareHandler;
  /** The platform's pages and the path-based sites; mount after the sync endpoints (`/:name/*` would match `/sync/...`). */
  routes: Hono;
}

export function createPlatform(options: PlatformOptions): Platform {
  const { accounts, storage, csrfKey } = options;
  const app = new Hono();
  // Wrong passwords per email (key): after MAX_LOGIN_FAILURES, that email waits LOGIN_THROTTLE_MS. Per instance.
  const loginFailures = new Map<string, { count: number; untilMs: number }>();

  function siteResponse(c: Context, content: Buffer, entry: Entry, contentType: string): Response {
    c.header('Content-Type', contentType);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Cache-Control', 'no-cache');
    c.header('ETag', `"${entry.sha256 ?? ''}"`);
    return c.body(new Uint8Array(content), 200);
  }

  async function serveSite(c: Context, name: string): Promise<Response> {
    const owner = checkSiteName(name).ok ? await storage.siteOwner(name) : null;
    const file = owner ? await storage.readFile(owner, { kind: 'site', key: name }) : null;
    if (!file || file.entry.deleted) return errorHtml(c, 404, 'Not found', `There is no site named "${name}".`);
    return siteResponse(c, file.content, file.entry, 'text/html; charset=utf-8');
  }

  /** An upload of the site's owner: next to the site (its folder) first, then from the account root. */
  async function serveUpload(c: Context, name: string, encodedPath: string): Promise<Response> {
    const path = uploadPathOf(encodedPath);
    const owner = checkSiteName(name).ok ? await storage.siteOwner(name) : null;
    if (!owner) return errorHtml(c, 404, 'Not found', `There is no site named "${name}".`);
    if (!path) return errorHtml(c, 404, 'Not found', 'That upload path breaks the platform path rules.');
    const site = await storage.readFile(owner, { kind: 'site', key: name });
    const folder = site && !site.entry.deleted ? folderOf(site.entry.path) : '';
    const candidates = folder === '' ? [path] : [joinPath(folder, path), path];
    for (const candidate of candidates) {
      const checked = checkPath(candidate, 'file');
      if (!checked.ok) continue;
      const file = await storage.readFile(owner, { kind: 'upload', key: checked.value });
      if (file && !file.entry.deleted) return siteResponse(c, file.content, file.entry, contentTypeOf(checked.value));
    }
    return errorHtml(c, 404, 'Not found', `The site "${name}" has no upload at "${path}".`);
  }

  function signedIn(c: Context): { account: Account; cookie: string } | null {
    const cookie = sessionCookie(c.req.raw);
    const account = cookie ? accounts.sessionAccount(cookie) : null;
    return account && cookie ? { account, cookie } : null;
  }

  async function allSites(accountId: string): Promise<{ sites: Entry[]; uploads: number }> {
    const sites: Entry[] = [];
    let uploads = 0;
    let continuation: string | null = null;
    // Bounded: a listing of more than 100 pages is not a dashboard's job.
    for (let page = 0; page < 100; page++) {
      const listing = await storage.listing(accountId, continuation, 1000);
      if (!listing) break;
      for (const entry of listing.entries) {
        if (entry.deleted) continue;
        if (entry.kind === 'site') sites.push(entry);
        else if (entry.kind === 'upload') uploads++;
      }
      if (listing.next === null) break;
      continuation = listing.next;
    }
    sites.sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''));
    return { sites, uploads };
  }

  app.get('/login', (c) => {
    const next = safeReturnPath(c.req.query('next'));
    if (signedIn(c)) return c.redirect(next, 303);
    return pageResponse(c, 200, loginPage({ next }));
  });

  app.post('/login', async (c) => {
    requireSameOrigin(c.req.raw);
    const form = await readForm(c.req.raw);
    const next = safeReturnPath(form.get('next'));
    const email = form.get('email') ?? '';
    const password = form.get('password') ?? '';
    if (email.trim() === '' || password === '') {
      return pageResponse(c, 400, loginPage({ next, email, error: 'Enter your email address and your password.' }));
    }
    const key = emailKey(email);
    const failures = loginFailures.get(key);
    if (failures && failures.count >= MAX_LOGIN_FAILURES && Date.now() < failures.untilMs) {
      options.log('login throttled');
      c.header('Retry-After', String(Math.ceil((failures.untilMs - Date.now()) / 1000)));
      return pageResponse(
        c,
        429,
        loginPage({ next, email, error: 'Too many wrong passwords for this email. Wait a minute, then try again.' }),
      );
    }
    const account = await accounts.verifyPassword(email, password);
    if (!account) {
      const count = failures && Date.now() < failures.untilMs ? failures.count + 1 : 1;
      loginFailures.set(key, { count, untilMs: Date.now() + LOGIN_THROTTLE_MS });
      // Bounded memory: forget the oldest email when too many are tracked.
      if (loginFailures.size > 10_000) loginFailures.delete(loginFailures.keys().next().value ?? '');
      options.log('login refused');
      return pageResponse(
        c,
        401,
        loginPage({ next, email, error: 'That email and password do not match an account.' }),
      );
    }
    loginFailures.delete(key);
    const cookie = accounts.startSession(account.id);
    c.header(
      'Set-Cookie',
      `${SESSION_COOKIE}=${cookie}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${Math.floor(SESSION_LIFETIME_MS / 1000)}`,
    );
    options.log(`login account=${account.id}`);
    return c.redirect(next, 303);
  });

  app.post('/logout', async (c) => {
    requireSameOrigin(c.req.raw);
    const session = signedIn(c);
    if (session) {
      const form = await readForm(c.req.raw);
      if (!csrfMatches(csrfKey, session.cookie, form.get('csrf'))) {
        return errorHtml(c, 403, 'Refused', 'This sign-out form is out of date. Reload the page and try again.');
      }
      accounts.endSession(session.cookie);
    }
    c.header('Set-Cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`);
    return c.redirect('/', 303);
  });

  app.get('/', async (c) => {
    const session = signedIn(c);
    if (!session) return pageResponse(c, 200, signedOutHome());
    const { account, cookie } = session;
    const [{ sites, uploads }, usage] = await Promise.all([allSites(account.id), storage.usage(account.id)]);
    const port = options.port();
    const deleted = c.req.query('deleted');
    return pageResponse(
      c,
      200,
      dashboardPage({
        account,
        sites,
        uploads,
        usage,
        csrf: csrfFor(csrfKey, cookie),
        subdomainUrl: (name) => (port === null ? null : `http://${name}.localhost:${port}/`),
        ...(deleted && checkSiteName(deleted).ok ? { notice: `Deleted the site "${deleted}".` } : {}),
      }),
    );
  });

  app.get('/dashboard/sites/:name', async (c) => {
    const session = signedIn(c);
    if (!session) return c.redirect(accounts.identity.loginUrl(new URL(c.req.url).pathname), 303);
    const name = c.req.param('name');
    if (!checkSiteName(name).ok) return errorHtml(c, 404, 'Not found', `There is no site named "${name}".`);
    const versions = await storage.versions(session.account.id, { kind: 'site', key: name });
    if (!versions) return errorHtml(c, 404, 'Not found', `You have no site named "${name}".`);
    const current = await storage.readFile(session.account.id, { kind: 'site', key: name });
    return pageResponse(c, 200, versionsPage({ name, current: current?.entry ?? null, versions }));
  });

  app.get('/dashboard/sites/:name/versions/:version', async (c) => {
    const session = signedIn(c);
    if (!session) return c.redirect(accounts.identity.loginUrl(new URL(c.req.url).pathname), 303);
    const name = c.req.param('name');
    const version = Number(c.req.param('version'));
    if (!checkSiteName(name).ok || !Number.isSafeInteger(version) || version < 1) {
      return errorHtml(c, 404, 'Not found', 'There is no such version.');
    }
    const content = await storage.readVersion(session.account.id, { kind: 'site', key: name }, version);
    if (!content) return errorHtml(c, 404, 'Not found', `The site "${name}" has no version ${version}.`);
    // An old version is shown, never run: on the platform's origin its scripts could act for the viewer.
    c.header('Content-Security-Policy', 'sandbox');
    c.header('Content-Type', 'text/html; charset=utf-8');
    c.header('X-Content-Type-Options', 'nosniff');
    return c.body(new Uint8Array(content), 200);
  });

  app.post('/dashboard/sites/:name/delete', async (c) => {
    requireSameOrigin(c.req.raw);
    const session = signedIn(c);
    if (!session) return errorHtml(c, 401, 'Sign in first', 'Sign in to delete a site.');
    const form = await readForm(c.req.raw);
    if (!csrfMatches(csrfKey, session.cookie, form.get('csrf'))) {
      return errorHtml(c, 403, 'Refused', 'This delete form is out of date. Reload the dashboard and try again.');
    }
    const name = c.req.param('name');
    if (!checkSiteName(name).ok) return errorHtml(c, 404, 'Not found', `There is no site named "${name}".`);
    const tombstone = await storage.deleteEntry(session.account.id, 'site', name);
    if (!tombstone) return errorHtml(c, 404, 'Not found', `You have no site named "${name}".`);
    options.log(`site deleted account=${session.account.id} site=${name}`);
    return c.redirect(`/?deleted=${encodeURIComponent(name)}`, 303);
  });

  // The platform's own save, as a self-saving site calls it: the new HTML as the body, owner only.
  app.post('/save/:name', async (c) => {
    try {
      const origin = c.req.header('origin');
      if (origin !== undefined) requireSameOrigin(c.req.raw);
      else if (c.req.header(SAVE_HEADER) === undefined) {
        throw new PlatformError('forbidden', `A save needs a same-origin Origin header or the ${SAVE_HEADER} header.`);
      }
      const session = signedIn(c);
      if (!session) throw new PlatformError('unauthorized', 'Sign in to the platform to save this site.');
      const name = c.req.param('name');
      const checked = checkSiteName(name);
      if (!checked.ok) throw new PlatformError('invalid_name', `"${name}" is not a site name: ${checked.message}.`);
      const { account } = session;
      const current = await storage.readFile(account.id, { kind: 'site', key: name });
      if (!current || current.entry.deleted) throw new PlatformError('not_found', `You have no site named "${name}".`);
      const content = await readBody(c.req.raw, MAX_FILE_BYTES);
      const result = await storage.writeFile({
        accountId: account.id,
        kind: 'site',
        key: name,
        path: current.entry.path,
        content,
        sha256: createHash('sha256').update(content).digest('hex'),
        baseVersion: null,
        modifiedAtMs: null,
        limits: { maxSites: account.maxSites, maxStorageBytes: account.maxStorageBytes },
      });
      switch (result.outcome) {
        case 'saved':
        case 'created':
        case 'unchanged':
          options.log(`site saved account=${account.id} site=${name} v${result.entry.version ?? 0} ${result.outcome}`);
          return c.json({ ok: true, outcome: result.outcome, entry: result.entry }, 200);
        case 'storage_limit_reached':
          throw new PlatformError(
            'storage_limit_reached',
            'This save would pass your storage quota. Delete something first.',
          );
        case 'site_limit_reached':
          throw new PlatformError('site_limit_reached', "You've run out of sites.");
        case 'conflict':
          throw new PlatformError('conflict', 'Another save won; reload the site and save again.');
        case 'path_conflict':
          throw new PlatformError('path_conflict', 'A folder is where this site should be.');
        case 'name_taken':
          throw new PlatformError('name_taken', 'Another account holds this site name.');
      }
    } catch (error) {
      if (error instanceof PlatformError) return jsonError(c, error);
      throw error;
    }
  });

  // Sites by path: `/<name>` (and `/<name>/`), uploads as `/<name>/<upload path>`.
  app.get('/:name', (c) => serveSite(c, c.req.param('name')));
  app.get('/:name/', (c) => serveSite(c, c.req.param('name')));
  app.get('/:name/*', (c) => {
    const name = c.req.param('name');
    const pathname = new URL(c.req.url).pathname;
    const rest = pathname.slice(pathname.indexOf('/', 1) + 1);
    return rest === '' ? serveSite(c, name) : serveUpload(c, name, rest);
  });

  // Sites on their own host: `http://<name>.localhost:<port>/` and its uploads. Checked before every other route.
  const siteHost: MiddlewareHandler = async (c, next) => {
    const name = subdomainSite(c.req.header('host'));
    if (name === null) return next();
    if (c.req.method === 'POST' && new URL(c.req.url).pathname === `/save/${name}`) return next();
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      return errorHtml(c, 405, 'Not allowed', 'Sites are read with GET; saves go to POST /save/<name>.');
    }
    const pathname = new URL(c.req.url).pathname;
    if (pathname === '/' || pathname === '') return serveSite(c, name);
    return serveUpload(c, name, pathname.slice(1));
  };

  app.onError((error, c) => {
    if (error instanceof PlatformError) return errorHtml(c, error.status, 'Refused', error.message);
    options.log(`error ${c.req.method} ${new URL(c.req.url).pathname}: ${error.message}`);
    return errorHtml(c, 500, 'Something went wrong', 'The server failed on this request. The log has the details.');
  });
  return { siteHost, routes: app };
}

export function notFoundPage(c: Context): Response {
  return errorHtml(c, 404, 'Not found', 'There is nothing at this address.');
}
