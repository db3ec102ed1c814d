// Serving sites and their uploads to browsers, only on each site's own host (`<name>.localhost`): user content never
// shares an origin with the platform's pages. `/<name>/...` on the platform's origin only redirects there.

import type { Context, MiddlewareHandler } from 'hono';
import { checkPath, checkSiteName, type Entry, encodePath, folderOf, joinPath } from '../../protocol/index.js';
import { safeReturnPath } from '../auth/return-path.js';
import type { StoredFile, SyncStorage } from '../types.js';
import { EDIT_SCRIPT_PATH, editScript, wantsEditor, withEditor } from './edit.js';
import { signedIn } from './guards.js';
import type { PlatformOptions } from './platform.js';
import { errorHtml, noSuchSite } from './respond.js';
import { isSiteSpace, siteOrigin, subdomainSite } from './site-origin.js';
import { ENTER_PATH, enterSite, ownerRedirect } from './site-pass.js';

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
  xhtml: 'application/xhtml+xml',
  xsl: 'application/xslt+xml',
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

/**
 * Types a browser runs as a document with scripts (HTML, SVG, XML and its kin), and unknown bytes: an upload of
 * one of these is served sandboxed, so even on its site's origin it runs no script and has an opaque origin.
 */
const ACTIVE_TYPE =
  /^(?:text\/html|image\/svg\+xml|application\/(?:xml|xhtml\+xml|xslt\+xml|octet-stream)|text\/xml)\b/;

export function isActiveType(contentType: string): boolean {
  return ACTIVE_TYPE.test(contentType);
}

export function contentTypeOf(path: string): string {
  const dot = path.lastIndexOf('.');
  const ext = dot === -1 ? '' : path.slice(dot + 1).toLowerCase();
  return CONTENT_TYPES[ext] ?? 'application/octet-stream';
}

/** Splits a URL path (still percent-encoded) into a checked platform path, or null when it breaks the rules. */
export function uploadPathOf(encoded: string): string | null {
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

function contentResponse(c: Context, content: Buffer, entry: Entry, contentType: string, sandbox: boolean): Response {
  c.header('Content-Type', contentType);
  c.header('X-Content-Type-Options', 'nosniff');
  c.header('Cache-Control', 'no-cache');
  c.header('ETag', `"${entry.sha256 ?? ''}"`);
  if (sandbox) c.header('Content-Security-Policy', 'sandbox');
  return c.body(new Uint8Array(content), 200);
}

/** A live site of this name and its owner; null for a name that breaks the rules, nobody holds, or deleted. */
async function liveSite(storage: SyncStorage, name: string): Promise<(StoredFile & { owner: string }) | null> {
  const owner = checkSiteName(name).ok ? await storage.siteOwner(name) : null;
  const file = owner ? await storage.readFile(owner, { kind: 'site', key: name }) : null;
  return owner && file && !file.entry.deleted ? { ...file, owner } : null;
}

async function serveSite(options: PlatformOptions, c: Context, name: string): Promise<Response> {
  const site = await liveSite(options.storage, name);
  if (!site) return noSuchSite(c, name);
  if (wantsEditor(options, c, name, site.owner)) {
    // Only the owner's browser ever gets this page; no cache keeps it for anyone else.
    c.header('Content-Type', 'text/html; charset=utf-8');
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Cache-Control', 'no-store');
    return c.body(new Uint8Array(withEditor(site.content)), 200);
  }
  // A site is the owner's app and runs on its own origin: not sandboxed.
  return contentResponse(c, site.content, site.entry, 'text/html; charset=utf-8', false);
}

/** An upload of the site's owner: next to the site (its folder) first, then from the account root. */
async function serveUpload(storage: SyncStorage, c: Context, name: string, encodedPath: string): Promise<Response> {
  const path = uploadPathOf(encodedPath);
  const site = await liveSite(storage, name);
  if (!site) return noSuchSite(c, name);
  if (!path) return errorHtml(c, 404, 'Not found', 'That upload path breaks the platform path rules.');
  const folder = folderOf(site.entry.path);
  const candidates = folder === '' ? [path] : [joinPath(folder, path), path];
  for (const candidate of candidates) {
    const checked = checkPath(candidate, 'file');
    if (!checked.ok) continue;
    const file = await storage.readFile(site.owner, { kind: 'upload', key: checked.value });
    if (!file || file.entry.deleted) continue;
    const type = contentTypeOf(checked.value);
    return contentResponse(c, file.content, file.entry, type, isActiveType(type));
  }
  return errorHtml(c, 404, 'Not found', `The site "${name}" has no upload at "${path}".`);
}

/**
 * `/<name>` and `/<name>/<upload path>` on the platform's origin: a redirect to the same path on the site's own
 * host, never the content. The owner, signed in here, goes through the site's pass exchange so the site can save
 * itself from there. The query is dropped: a sign-in redirect to a loopback `/callback` on this server's own port
 * must never hand its code to a site named "callback".
 */
export async function redirectToSiteHost(options: PlatformOptions, c: Context, name: string): Promise<Response> {
  const pathname = new URL(c.req.url).pathname;
  const slash = pathname.indexOf('/', 1);
  const rest = slash === -1 ? '' : pathname.slice(slash + 1);
  const site = await liveSite(options.storage, name);
  if (!site) return noSuchSite(c, name);
  const upload = rest === '' ? '' : uploadPathOf(rest);
  if (upload === null) return errorHtml(c, 404, 'Not found', 'That upload path breaks the platform path rules.');
  const target = `/${upload === '' ? '' : encodePath(upload)}`;
  const session = signedIn(options.accounts, c);
  c.header('Cache-Control', 'no-store');
  if (session?.account.id !== site.owner) return c.redirect(`${siteOrigin(options.port(), c, name)}${target}`, 302);
  return ownerRedirect(options, c, name, session.cookie, target);
}

/**
 * Sites on their own host: `http://<name>.localhost:<port>/` and its uploads. Mounted before every other route so
 * no platform route shadows a site, and no platform page is ever served on a site's host: only the site's own
 * save goes on to the routes.
 */
export function siteHost(options: PlatformOptions): MiddlewareHandler {
  return async (c, next) => {
    const host = c.req.header('host');
    const name = subdomainSite(host);
    if (name === null) {
      // A `*.localhost` host that names no valid site (`www.localhost`, `a--b.localhost`) is still not the platform.
      return isSiteSpace(host) ? errorHtml(c, 404, 'Not found', 'There is no site at this address.') : next();
    }
    const pathname = new URL(c.req.url).pathname;
    if (c.req.method === 'POST' && pathname === `/save/${name}`) return next();
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      return errorHtml(c, 405, 'Not allowed', 'Sites are read with GET; saves go to POST /save/<name>.');
    }
    if (pathname === ENTER_PATH) return enterSite(options.sitePassKey, name, c, safeReturnPath(c.req.query('to')));
    if (pathname === EDIT_SCRIPT_PATH) return editScript(c);
    if (pathname === '/' || pathname === '') return serveSite(options, c, name);
    return serveUpload(options.storage, c, name, pathname.slice(1));
  };
}
