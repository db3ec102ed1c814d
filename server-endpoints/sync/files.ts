// The file endpoints of PROTOCOL.md "Files": GET/PUT of sites and uploads, a site's versions, and folders.

import type { Context } from 'hono';
import { type Entry, encodePath, HEADER, MAX_FILE_BYTES } from '../../protocol/index.js';
import type { EndpointContext, SyncEnv } from '../context.js';
import { BodyStalled, BodyTooLarge, closeAfter, discardStaged, fail, stageBody, stagingOf } from '../http.js';
import type { FileKind, StagedContent } from '../types.js';
import { checkWriteFields, SHA_MISMATCH, writeAnswer } from './answers.js';
import { type Located, locateFolder, locateSite, type Refusal } from './locate.js';

type C = Context<SyncEnv>;

/** What a PUT's headers and body say, once each is checked: the body staged on disk. */
interface IncomingFile {
  content: StagedContent;
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
  const incoming = await readIncomingFile(ctx, c);
  if (!incoming.ok) return incoming.response;
  const account = c.get('account');
  const { content, baseVersion, modifiedAtMs } = incoming.file;
  try {
    const result = await ctx.storage.writeFile({
      accountId: account.id,
      kind: located.file.kind as FileKind,
      key: located.file.key,
      path: located.path,
      content,
      sha256: content.sha256,
      baseVersion,
      modifiedAtMs,
      limits: { maxSites: account.maxSites, maxStorageBytes: account.maxStorageBytes },
    });
    const answer = writeAnswer(located.file, result, account);
    if (answer.event) ctx.log(`sync ${answer.event} account=${account.id}`);
    return c.json(answer.body, answer.status as 200);
  } finally {
    await discardStaged(content);
  }
}

/**
 * The write headers are checked before the body is read; the body is then staged on disk (never held in memory)
 * and must match its Content-SHA256.
 */
async function readIncomingFile(ctx: EndpointContext, c: C): Promise<{ ok: true; file: IncomingFile } | Refusal> {
  const refuse = (message: string): Refusal => ({ ok: false, response: fail(c, 'bad_request', message) });
  const fields = checkWriteFields({
    baseVersion: c.req.header(HEADER.baseVersion),
    modifiedAt: c.req.header(HEADER.modifiedAt),
    sha256: c.req.header(HEADER.contentSha256),
  });
  if (!fields.ok) return refuse(fields.message);
  let content: StagedContent;
  try {
    content = await stageBody(c, stagingOf(ctx.storage), { max: MAX_FILE_BYTES, idleMs: ctx.bodyIdleMs });
  } catch (error) {
    if (error instanceof BodyStalled || error instanceof BodyTooLarge) closeAfter(c);
    if (error instanceof BodyStalled) return refuse(`The body was dropped: ${error.message}. Send it again.`);
    if (!(error instanceof BodyTooLarge)) throw error;
    const message = `The file is over the ${MAX_FILE_BYTES}-byte limit; it is not synced.`;
    return { ok: false, response: fail(c, 'too_large', message, { maxFileBytes: MAX_FILE_BYTES }) };
  }
  if (content.sha256 !== fields.sha256) {
    await discardStaged(content);
    return refuse(SHA_MISMATCH);
  }
  return { ok: true, file: { content, baseVersion: fields.baseVersion, modifiedAtMs: fields.modifiedAtMs } };
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
