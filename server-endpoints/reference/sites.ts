// Serving sites and their uploads to browsers: by path (`/<name>/...`) and on their own host (`<name>.localhost`).

import type { Context, MiddlewareHandler } from 'hono';
import type { BlankEnv } from 'hono/types';
import { checkPath, checkSiteName, type Entry, folderOf, joinPath } from '../../protocol/index.js';
import type { SyncStorage } from '../types.js';
import { errorHtml, noSuchSite } from './respond.js';

const SUBDOMAIN_HOST = /^([a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?)\.localhost(?::\d{1,5})?$/;

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

function siteResponse(c: Context, content: Buffer, entry: Entry, contentType: string): Response {
  c.header('Content-Type', contentType);
  c.header('X-Content-Type-Options', 'nosniff');
  c.header('Cache-Control', 'no-cache');
  c.header('ETag', `"${entry.sha256 ?? ''}"`);
  return c.body(new Uint8Array(content), 200);
}

/** The account that holds a site name; null for a name that breaks the rules or that nobody holds. */
async function ownerOf(storage: SyncStorage, name: string): Promise<string | null> {
  return checkSiteName(name).ok ? await storage.siteOwner(name) : null;
}

export async function serveSite(storage: SyncStorage, c: Context, name: string): Promise<Response> {
  const owner = await ownerOf(storage, name);
  const file = owner ? await storage.readFile(owner, { kind: 'site', key: name }) : null;
  if (!file || file.entry.deleted) return noSuchSite(c, name);
  return siteResponse(c, file.content, file.entry, 'text/html; charset=utf-8');
}

/** An upload of the site's owner: next to the site (its folder) first, then from the account root. */
export async function serveUpload(
  storage: SyncStorage,
  c: Context,
  name: string,
  encodedPath: string,
): Promise<Response> {
  const path = uploadPathOf(encodedPath);
  const owner = await ownerOf(storage, name);
  if (!owner) return noSuchSite(c, name);
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

/** `/<name>/<rest>`: the site itself when `rest` is empty, else one of its uploads. */
export function serveByPath(storage: SyncStorage, c: Context<BlankEnv, '/:name/*'>): Promise<Response> {
  const name = c.req.param('name');
  const pathname = new URL(c.req.url).pathname;
  const rest = pathname.slice(pathname.indexOf('/', 1) + 1);
  return rest === '' ? serveSite(storage, c, name) : serveUpload(storage, c, name, rest);
}

/**
 * Sites on their own host: `http://<name>.localhost:<port>/` and its uploads. Mounted before every other route so
 * no platform route shadows a site; only the site's own save goes on to the routes.
 */
export function siteHost(storage: SyncStorage): MiddlewareHandler {
  return async (c, next) => {
    const name = subdomainSite(c.req.header('host'));
    if (name === null) return next();
    if (c.req.method === 'POST' && new URL(c.req.url).pathname === `/save/${name}`) return next();
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      return errorHtml(c, 405, 'Not allowed', 'Sites are read with GET; saves go to POST /save/<name>.');
    }
    const pathname = new URL(c.req.url).pathname;
    if (pathname === '/' || pathname === '') return serveSite(storage, c, name);
    return serveUpload(storage, c, name, pathname.slice(1));
  };
}
