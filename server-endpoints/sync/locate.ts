// Where a /sync request's entry lives: the site name, upload path or folder path in its URL (and X-Path), or in a
// batch item, checked against the path rules of PROTOCOL.md before any storage call.

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

/** A name or path refused: the protocol error, its sentence, and the rule it broke. */
export interface TargetRefusal {
  ok: false;
  code: 'invalid_name' | 'invalid_path' | 'bad_request';
  message: string;
  rule?: string;
}

/** A checked file entry and its platform path, or why not: what a URL, or a batch item, names. */
export type Target = { ok: true; file: FileKey; path: string } | TargetRefusal;

function refused(code: TargetRefusal['code'], message: string, rule?: string): TargetRefusal {
  return rule === undefined ? { ok: false, code, message } : { ok: false, code, message, rule };
}

/** The reply for a refused target. */
export function refusalOf(c: C, target: TargetRefusal): Refusal {
  return {
    ok: false,
    response: fail(c, target.code, target.message, target.rule === undefined ? {} : { rule: target.rule }),
  };
}

function located(c: C, target: Target): Located {
  return target.ok ? target : refusalOf(c, target);
}

/** A site by its name; for a new site, its platform path from the folder of `xPath` (X-Path, percent-encoded). */
export function siteTarget(rawName: unknown, xPath: unknown): Target {
  const name = checkSiteName(rawName);
  if (!name.ok) return refused('invalid_name', `Site name refused: ${name.message}.`, name.rule);
  let folder = '';
  if (xPath !== undefined) {
    if (typeof xPath !== 'string') return refused('bad_request', 'X-Path must be text.');
    const local = checkPath(decodeSegments(xPath), 'file');
    if (!local.ok) return refused('invalid_path', `X-Path refused: ${local.message}.`, local.rule);
    if (!isSiteFile(local.value) || siteNameOf(local.value) !== name.value) {
      return refused('bad_request', `X-Path must be the local path of ${name.value}.html.`);
    }
    folder = folderOf(local.value);
  }
  return { ok: true, file: { kind: 'site', key: name.value }, path: platformSitePath(folder, name.value) };
}

/** An upload by its (decoded) path; a `.html` path is a site and is refused here. */
export function uploadTarget(rawPath: unknown): Target {
  const path = checkPath(rawPath, 'file');
  if (!path.ok) return refused('invalid_path', `Upload path refused: ${path.message}.`, path.rule);
  if (isSiteFile(path.value)) {
    return refused('invalid_path', 'A .html file is a site: send it to /sync/sites/{name}.', 'site_file');
  }
  return { ok: true, file: { kind: 'upload', key: path.value }, path: path.value };
}

/** A site from its URL name; for a new site (a PUT), its platform path from X-Path's folder. */
export function locateSite(c: C): Located {
  const header = c.req.method === 'PUT' ? c.req.header(HEADER.path) : undefined;
  return located(c, siteTarget(c.req.param('name'), header));
}

export function locateUpload(c: C): Located {
  return located(c, uploadTarget(decodeSegments(rawPathAfter(c, '/sync/uploads/'))));
}

export function locateFolder(c: C): { ok: true; path: string } | Refusal {
  const path = checkPath(decodeSegments(rawPathAfter(c, '/sync/folders/')), 'folder');
  if (!path.ok) return refusalOf(c, refused('invalid_path', `Folder path refused: ${path.message}.`, path.rule));
  return { ok: true, path: path.value };
}
