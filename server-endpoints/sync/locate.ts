// Where a /sync request's entry lives: the site name, upload path or folder path in its URL (and X-Path),
// checked against the path rules of PROTOCOL.md before any storage call.

import type { Context } from 'hono';
import {
  checkPath,
  checkSiteName,
  decodePath,
  folderOf,
  HEADER,
  isSiteFile,
  platformSitePath,
  siteNameOf,
} from '../../protocol/index.js';
import type { SyncEnv } from '../context.js';
import { fail } from '../http.js';
import type { FileKey } from '../types.js';

type C = Context<SyncEnv>;

/** The reply to send instead when the URL names nothing the platform may hold. */
export type Refusal = { ok: false; response: Response };

/** A checked file entry and its platform path, or the refusal. */
export type Located = { ok: true; file: FileKey; path: string } | Refusal;

/** The raw (still percent-encoded) path after a route prefix, without the query. */
function rawPathAfter(c: C, prefix: string): string {
  const url = c.req.url;
  const start = url.indexOf('/', url.indexOf('://') + 3);
  const query = url.indexOf('?', start);
  const pathname = url.slice(start, query === -1 ? undefined : query);
  return pathname.startsWith(prefix) ? pathname.slice(prefix.length) : '';
}

/** Each segment decoded on its own: an encoded `/` inside a segment is not a separator, so it is refused. */
function decodeSegments(encoded: string): string | null {
  const segments = encoded.split('/').map((segment) => decodePath(segment));
  if (segments.some((segment) => segment === null || segment.includes('/'))) return null;
  return segments.join('/');
}

function refuse(c: C, code: 'invalid_name' | 'invalid_path' | 'bad_request', message: string, rule?: string): Refusal {
  return { ok: false, response: fail(c, code, message, rule === undefined ? {} : { rule }) };
}

/** A site from its URL name; for a new site, its platform path from X-Path's folder. */
export function locateSite(c: C): Located {
  const name = checkSiteName(c.req.param('name'));
  if (!name.ok) return refuse(c, 'invalid_name', `Site name refused: ${name.message}.`, name.rule);
  let folder = '';
  const header = c.req.header(HEADER.path);
  if (header !== undefined && c.req.method === 'PUT') {
    const local = checkPath(decodeSegments(header), 'file');
    if (!local.ok) return refuse(c, 'invalid_path', `X-Path refused: ${local.message}.`, local.rule);
    if (!isSiteFile(local.value) || siteNameOf(local.value) !== name.value) {
      return refuse(c, 'bad_request', `X-Path must be the local path of ${name.value}.html.`);
    }
    folder = folderOf(local.value);
  }
  return { ok: true, file: { kind: 'site', key: name.value }, path: platformSitePath(folder, name.value) };
}

export function locateUpload(c: C): Located {
  const path = checkPath(decodeSegments(rawPathAfter(c, '/sync/uploads/')), 'file');
  if (!path.ok) return refuse(c, 'invalid_path', `Upload path refused: ${path.message}.`, path.rule);
  if (isSiteFile(path.value)) {
    return refuse(c, 'invalid_path', 'A .html file is a site: send it to /sync/sites/{name}.', 'site_file');
  }
  return { ok: true, file: { kind: 'upload', key: path.value }, path: path.value };
}

export function locateFolder(c: C): { ok: true; path: string } | Refusal {
  const path = checkPath(decodeSegments(rawPathAfter(c, '/sync/folders/')), 'folder');
  if (!path.ok) return refuse(c, 'invalid_path', `Folder path refused: ${path.message}.`, path.rule);
  return { ok: true, path: path.value };
}
