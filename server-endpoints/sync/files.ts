// The file endpoints of PROTOCOL.md "Files": GET/PUT of sites and uploads, a site's versions, and folders.

import type { Context } from 'hono';
import { type Entry, encodePath, HEADER, isIsoUtc, isSha256, MAX_FILE_BYTES } from '../../protocol/index.js';
import type { EndpointContext, SyncEnv } from '../context.js';
import { BodyTooLarge, fail, readBody } from '../http.js';
import type { FileKey, FileKind, WriteFileResult } from '../types.js';
import { type Located, locateFolder, locateSite, type Refusal } from './locate.js';

type C = Context<SyncEnv>;

/** What a PUT's headers and body say, once each is checked. */
interface IncomingFile {
  content: Buffer;
  sha256: string;
  baseVersion: number;
  modifiedAtMs: number;
}

function fileHeaders(c: C, entry: Entry): void {
  c.header('ETag', `"${entry.sha256}"`);
  c.header(HEADER.version, String(entry.version));
  c.header(HEADER.path, encodePath(entry.path));
  c.header(HEADER.updatedAt, entry.updatedAt);
  c.header('Cache-Control', 'no-store');
}

export async function getFile(ctx: EndpointContext, c: C, located: Located): Promise<Response> {
  if (!located.ok) return located.response;
  const stored = await ctx.storage.readFile(c.get('account').id, located.file);
  if (!stored) return fail(c, 'not_found', `No ${located.file.kind} ${located.file.key} on the platform.`);
  fileHeaders(c, stored.entry);
  const type = located.file.kind === 'site' ? 'text/html; charset=utf-8' : 'application/octet-stream';
  const body = new Uint8Array(stored.content.buffer as ArrayBuffer, stored.content.byteOffset, stored.content.length);
  return c.body(body, 200, { 'Content-Type': type });
}

export async function putFile(ctx: EndpointContext, c: C, located: Located): Promise<Response> {
  if (!located.ok) return located.response;
  const incoming = await readIncomingFile(c);
  if (!incoming.ok) return incoming.response;
  const account = c.get('account');
  const result = await ctx.storage.writeFile({
    accountId: account.id,
    kind: located.file.kind as FileKind,
    key: located.file.key,
    path: located.path,
    content: incoming.file.content,
    sha256: incoming.file.sha256,
    baseVersion: incoming.file.baseVersion,
    modifiedAtMs: incoming.file.modifiedAtMs,
    limits: { maxSites: account.maxSites, maxStorageBytes: account.maxStorageBytes },
  });
  return writeResponse(ctx, c, located.file, result);
}

/** The write headers are checked before the body is read; the body must then match its Content-SHA256. */
async function readIncomingFile(c: C): Promise<{ ok: true; file: IncomingFile } | Refusal> {
  const refuse = (message: string): Refusal => ({ ok: false, response: fail(c, 'bad_request', message) });
  const baseHeader = c.req.header(HEADER.baseVersion);
  const modifiedHeader = c.req.header(HEADER.modifiedAt);
  const shaHeader = c.req.header(HEADER.contentSha256)?.toLowerCase();
  if (baseHeader === undefined || !/^\d{1,15}$/.test(baseHeader)) {
    return refuse('X-Base-Version must be the version the content was edited from (0 for new).');
  }
  if (!isIsoUtc(modifiedHeader)) return refuse('X-Modified-At must be an ISO 8601 UTC time with milliseconds.');
  if (!isSha256(shaHeader)) return refuse('Content-SHA256 must be the hex sha256 of the body.');
  let body: { content: Buffer; sha256: string };
  try {
    body = await readBody(c.req.raw, MAX_FILE_BYTES);
  } catch (error) {
    if (!(error instanceof BodyTooLarge)) throw error;
    const message = `The file is over the ${MAX_FILE_BYTES}-byte limit; it is not synced.`;
    return { ok: false, response: fail(c, 'too_large', message, { maxFileBytes: MAX_FILE_BYTES }) };
  }
  if (body.sha256 !== shaHeader) {
    return refuse('The body does not match its Content-SHA256; it was changed or cut in transit.');
  }
  const file = { ...body, baseVersion: Number(baseHeader), modifiedAtMs: Date.parse(modifiedHeader) };
  return { ok: true, file };
}

function writeResponse(ctx: EndpointContext, c: C, file: FileKey, result: WriteFileResult): Response {
  const account = c.get('account');
  const what = `${file.kind} ${file.key}`;
  switch (result.outcome) {
    case 'unchanged':
      return c.json(result.entry, 200);
    case 'created':
    case 'saved':
      ctx.log(`sync ${result.outcome} ${what} v${result.entry.version} ${result.entry.size} B account=${account.id}`);
      return c.json(result.entry, result.outcome === 'created' ? 201 : 200);
    case 'conflict':
      ctx.log(`sync conflict ${what} current v${result.current.version} account=${account.id}`);
      return fail(c, 'conflict', `A newer version of ${file.key} is on the platform; this one lost.`, {
        current: result.current,
      });
    case 'path_conflict':
      return fail(c, 'path_conflict', `${file.key} would sit where a folder is, or inside a file.`);
    case 'name_taken':
      return fail(c, 'name_taken', `The site name ${file.key} belongs to another account. Rename the file.`);
    case 'site_limit_reached':
      return fail(c, 'site_limit_reached', "You've run out of sites. We can't sync any more sites.");
    case 'storage_limit_reached':
      return fail(
        c,
        'storage_limit_reached',
        `Saving ${file.key} would pass your storage quota of ${account.maxStorageBytes} bytes. Free some space or upgrade your plan.`,
      );
  }
}

export async function siteVersions(ctx: EndpointContext, c: C): Promise<Response> {
  const located = locateSite(c);
  if (!located.ok) return located.response;
  const versions = await ctx.storage.versions(c.get('account').id, located.file);
  if (!versions) return fail(c, 'not_found', `No site ${located.file.key} on the platform.`);
  return c.json({ versions }, 200);
}

export async function putFolder(ctx: EndpointContext, c: C): Promise<Response> {
  const path = locateFolder(c);
  if (!path.ok) return path.response;
  const account = c.get('account');
  const result = await ctx.storage.createFolder(account.id, path.path);
  if (result.outcome === 'path_conflict') {
    return fail(c, 'path_conflict', `${path.path} would be a folder where a file is.`);
  }
  if (result.outcome === 'created') ctx.log(`sync created folder ${path.path} account=${account.id}`);
  return c.json(result.entry, result.outcome === 'created' ? 201 : 200);
}
