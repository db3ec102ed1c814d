// POST /sync/fetch (PROTOCOL.md "Batches"): many files in one answer, a manifest part then one content part per
// file found, written as a stream that reads one file's content at a time.

import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import {
  type Entry,
  type ErrorObject,
  type FetchManifestItem,
  MAX_FETCH_BYTES,
  ProtocolViolation,
  readItemList,
} from '../../protocol/index.js';
import { contentHead, manifestHead, multipartEnd, multipartType, newBoundary } from '../../protocol/multipart.js';
import type { EndpointContext, SyncEnv } from '../context.js';
import { BodyStalled, BodyTooLarge, closeAfter, fail, readBody } from '../http.js';
import type { FileKey } from '../types.js';
import { siteTarget, type Target, uploadTarget } from './locate.js';

type C = Context<SyncEnv>;

/** The request's JSON: 1,000 items with the longest paths fit. */
const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

/** One item asked for, checked: the file and the version wanted (null: the current one), or its error. */
type Asked = { ok: true; file: FileKey; version: number | null } | { ok: false; error: ErrorObject };

/** A file found, with the content part to send for it. */
interface Found {
  file: FileKey;
  entry: Entry;
}

export async function postFetch(ctx: EndpointContext, c: C): Promise<Response> {
  let items: unknown[];
  try {
    const { content } = await readBody(c, MAX_REQUEST_BYTES, ctx.bodyIdleMs);
    items = readItemList(JSON.parse(content.toString('utf8')), 'fetch request');
  } catch (error) {
    // Reading stopped before the body's end: the connection is not kept for another request.
    if (error instanceof BodyTooLarge || error instanceof BodyStalled) closeAfter(c);
    if (error instanceof BodyTooLarge)
      return fail(c, 'bad_request', `A fetch request is at most ${MAX_REQUEST_BYTES} bytes.`);
    if (error instanceof BodyStalled) return fail(c, 'bad_request', `The request was dropped: ${error.message}.`);
    if (error instanceof ProtocolViolation || error instanceof SyntaxError) {
      return fail(c, 'bad_request', `The fetch request is malformed: ${error.message}.`);
    }
    throw error;
  }
  const accountId = c.get('account').id;
  const manifest = await resolve(ctx, accountId, items.map(checkItem));
  const found = manifest.flatMap((item, index) => (item.found ? [{ ...item.found, index }] : []));
  const total = found.reduce((sum, item) => sum + (item.entry.size ?? 0), 0);
  if (total > MAX_FETCH_BYTES) {
    const message = `These files hold ${total} bytes; a fetch serves at most ${MAX_FETCH_BYTES}. Ask for fewer at once.`;
    return fail(c, 'too_large', message, { maxFetchBytes: MAX_FETCH_BYTES });
  }
  const boundary = newBoundary();
  const parts = contentParts(
    ctx,
    accountId,
    boundary,
    manifest.map((item) => item.answer),
    found,
  );
  return c.body(parts, 200, { 'Content-Type': multipartType(boundary), 'Cache-Control': 'no-store' });
}

/** An item as GET /sync/sites/{name} or /sync/uploads/{path} would take it, with an optional version. */
function checkItem(raw: unknown): Asked {
  const refused = (code: string, message: string, rule?: string): Asked => ({
    ok: false,
    error: rule === undefined ? { code, message } : { code, message, rule },
  });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return refused('bad_request', 'A fetch item must be an object.');
  const item = raw as Record<string, unknown>;
  let target: Target;
  if (item.kind === 'site') target = siteTarget(item.name, undefined);
  else if (item.kind === 'upload') target = uploadTarget(item.path);
  else return refused('bad_request', 'A fetch item\'s kind must be "site" or "upload".');
  if (!target.ok) return refused(target.code, target.message, target.rule);
  const { version } = item;
  if (version !== undefined && (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1)) {
    return refused('bad_request', 'version must be a whole number from 1.');
  }
  return { ok: true, file: target.file, version: version ?? null };
}

/** Each item's manifest answer, and what to send for the ones found (one lookup for all of them). */
async function resolve(
  ctx: EndpointContext,
  accountId: string,
  asked: Asked[],
): Promise<Array<{ answer: FetchManifestItem; found: Found | null }>> {
  const wanted = asked.flatMap((item) => (item.ok ? [item.file] : []));
  const entries = await ctx.storage.fileEntries(accountId, wanted);
  let next = 0;
  const resolved: Array<{ answer: FetchManifestItem; found: Found | null }> = [];
  for (const item of asked) {
    if (!item.ok) {
      resolved.push({ answer: { error: item.error }, found: null });
      continue;
    }
    const current = entries[next++] ?? null;
    const entry = current && (await versionOf(ctx, accountId, item.file, current, item.version));
    if (entry) resolved.push({ answer: entry, found: { file: item.file, entry } });
    else {
      const what = `${item.file.kind} ${item.file.key}${item.version === null ? '' : ` version ${item.version}`}`;
      resolved.push({ answer: { error: { code: 'not_found', message: `No ${what} on the platform.` } }, found: null });
    }
  }
  return resolved;
}

/** The current entry, or the kept version asked for as an entry of the same file (its own size, sha256, time). */
async function versionOf(
  ctx: EndpointContext,
  accountId: string,
  file: FileKey,
  current: Entry,
  version: number | null,
): Promise<Entry | null> {
  if (version === null || version === current.version) return current;
  const kept = (await ctx.storage.versions(accountId, file))?.find((info) => info.version === version);
  return kept ? { ...current, size: kept.size, sha256: kept.sha256, version, updatedAt: kept.updatedAt } : null;
}

/**
 * The answer's body as a pull stream: the manifest, then each file's content read only when the client has taken
 * the previous one. Content that cannot be read or is not what the manifest says ends the answer there: the client
 * sees a cut answer and retries its files, never a wrong one.
 */
function contentParts(
  ctx: EndpointContext,
  accountId: string,
  boundary: string,
  manifest: FetchManifestItem[],
  found: Array<Found & { index: number }>,
): ReadableStream<Uint8Array> {
  let next = -1;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (next === -1) {
        controller.enqueue(Buffer.concat([manifestHead(boundary), Buffer.from(JSON.stringify({ items: manifest }))]));
      } else if (next < found.length) {
        const { file, entry, index } = found[next]!;
        const content = await readChecked(ctx, accountId, file, entry).catch((error: Error) => error);
        if (content instanceof Error) {
          // Ended without the closing boundary: the client sees an answer that stops before this file and fails it
          // as a whole, never taking a wrong or partial file. (Erroring the stream would make the HTTP server print
          // a stack dump rather than this one line.)
          ctx.log(`sync fetch cut off at ${file.kind} ${file.key} account=${accountId}: ${content.message}`);
          controller.close();
          return;
        }
        controller.enqueue(contentHead(boundary, index));
        controller.enqueue(content);
      } else {
        controller.enqueue(multipartEnd(boundary));
        controller.close();
      }
      next++;
    },
  });
}

/** The content of the version an entry names, only if it is exactly what the entry says. */
async function readChecked(ctx: EndpointContext, accountId: string, file: FileKey, entry: Entry): Promise<Buffer> {
  const content = await ctx.storage.readVersion(accountId, file, entry.version!);
  if (content === null) throw new Error(`the content of v${entry.version} is gone`);
  const sha256 = createHash('sha256').update(content).digest('hex');
  if (content.length !== entry.size || sha256 !== entry.sha256) {
    throw new Error(`the stored content of v${entry.version} is not what its entry says`);
  }
  return content;
}
