// The authenticated /sync/* endpoints of PROTOCOL.md (sessions, change feed, files, folders, versions, me).
// No module-level state: everything an instance uses comes from its EndpointContext.

import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import { Hono } from 'hono';
import {
  checkPath,
  checkSiteName,
  decodePath,
  type Entry,
  type ErrorCode,
  encodePath,
  errorBody,
  folderOf,
  HEADER,
  isIsoUtc,
  isSha256,
  isSiteFile,
  MAX_FILE_BYTES,
  MAX_PAGE_LIMIT,
  MAX_WAIT_SECONDS,
  platformSitePath,
  siteNameOf,
} from '../../protocol/index.js';
import type { EndpointContext, SyncEnv } from '../context.js';
import type { FileKey, FileKind, WriteFileResult } from '../types.js';
import { type Cursor, cursorCodec } from './cursor.js';

type C = Context<SyncEnv>;

const MAX_JSON_BYTES = 16 * 1024;
const MAX_DEVICE_NAME_CHARS = 200;
const MAX_SESSION_ID_CHARS = 100;
/** Without a storage that can notify, a long-poll looks at the feed this often. */
const POLL_FALLBACK_MS = 1000;

function fail(
  c: C,
  code: ErrorCode,
  status: 400 | 403 | 404 | 409 | 410 | 413 | 426 | 500,
  message: string,
  extra = {},
) {
  return c.json(errorBody(code, message, extra), status);
}

class BodyTooLarge extends Error {}

/**
 * Reads a request body up to `max` bytes, hashing it on the way. Past `max` it stops reading and throws,
 * so an unbounded (or lying) body is never buffered.
 */
async function readBody(c: C, max: number): Promise<{ content: Buffer; sha256: string }> {
  const declared = c.req.header('content-length');
  if (declared !== undefined && Number(declared) > max) throw new BodyTooLarge();
  const hash = createHash('sha256');
  const stream = c.req.raw.body;
  if (!stream) return { content: Buffer.alloc(0), sha256: hash.digest('hex') };
  const chunks: Buffer[] = [];
  let total = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLarge();
    }
    const chunk = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    hash.update(chunk);
    chunks.push(chunk);
  }
  return { content: Buffer.concat(chunks, total), sha256: hash.digest('hex') };
}

async function readJson(c: C): Promise<Record<string, unknown> | null> {
  try {
    const { content } = await readBody(c, MAX_JSON_BYTES);
    const value: unknown = JSON.parse(content.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** `1.2.3` (an optional `-pre` or `+build` suffix); a pre-release sorts before its release. */
function parseVersion(text: string): [number, number, number, number] | null {
  const match = /^(\d{1,9})\.(\d{1,9})\.(\d{1,9})(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.exec(text);
  if (!match) return null;
  return [Number(match[1]), Number(match[2]), Number(match[3]), match[4] ? 0 : 1];
}

function olderThan(version: [number, number, number, number], minimum: [number, number, number, number]): boolean {
  for (let i = 0; i < 4; i++) {
    if (version[i]! !== minimum[i]!) return version[i]! < minimum[i]!;
  }
  return false;
}

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

function fileHeaders(c: C, entry: Entry): void {
  c.header('ETag', `"${entry.sha256}"`);
  c.header(HEADER.version, String(entry.version));
  c.header(HEADER.path, encodePath(entry.path));
  c.header(HEADER.updatedAt, entry.updatedAt);
  c.header('Cache-Control', 'no-store');
}

type ChangesQuery =
  | { ok: true; cursor: string; limit: number; waitMs: number; session: string | null }
  | { ok: false; message: string };

function parseChangesQuery(c: C): ChangesQuery {
  const cursor = c.req.query('cursor');
  const limitText = c.req.query('limit') ?? String(MAX_PAGE_LIMIT);
  const waitText = c.req.query('wait') ?? '0';
  const session = c.req.query('session');
  const limit = Number(limitText);
  if (!/^\d{1,4}$/.test(limitText) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    return { ok: false, message: `limit must be a whole number from 1 to ${MAX_PAGE_LIMIT}.` };
  }
  const waitSeconds = Number(waitText);
  if (!/^\d{1,2}(\.\d{1,3})?$/.test(waitText) || waitSeconds > MAX_WAIT_SECONDS) {
    return { ok: false, message: `wait must be a number of seconds from 0 to ${MAX_WAIT_SECONDS}.` };
  }
  if (cursor === undefined) return { ok: false, message: 'cursor is required ("0" lists everything).' };
  const usableSession = session !== undefined && session.length > 0 && session.length <= MAX_SESSION_ID_CHARS;
  return { ok: true, cursor, limit, waitMs: waitSeconds * 1000, session: usableSession ? session : null };
}

type Located = { ok: true; file: FileKey; path: string } | { ok: false; response: Response };

export function syncRoutes(ctx: EndpointContext): Hono<SyncEnv> {
  const app = new Hono<SyncEnv>();
  const cursors = cursorCodec(ctx.tokenSecret);
  const minimumVersion = parseVersion(ctx.minClientVersion) ?? [0, 0, 0, 1];

  app.onError((error, c) => {
    const code = (error as { code?: unknown }).code;
    const account = c.get('account')?.id ?? '-';
    ctx.log(`sync error ${c.req.method} ${new URL(c.req.url).pathname} account=${account}: ${error.message}`);
    if (code === 'backup_failed') {
      return fail(
        c,
        'internal',
        500,
        'The previous version could not be kept as a backup, so nothing was saved. Try again.',
      );
    }
    if (code === 'bad_write') return fail(c, 'bad_request', 400, 'The platform refused this write as malformed.');
    return fail(c, 'internal', 500, 'The platform could not complete this request. Try again in a moment.');
  });

  /** A site from its URL name; for a new site, its platform path from X-Path's folder. */
  function locateSite(c: C): Located {
    const name = checkSiteName(c.req.param('name'));
    if (!name.ok) {
      return {
        ok: false,
        response: fail(c, 'invalid_name', 400, `Site name refused: ${name.message}.`, { rule: name.rule }),
      };
    }
    let folder = '';
    const header = c.req.header(HEADER.path);
    if (header !== undefined && c.req.method === 'PUT') {
      const decoded = decodeSegments(header);
      const local = checkPath(decoded, 'file');
      if (!local.ok) {
        const message = `X-Path refused: ${local.message}.`;
        return { ok: false, response: fail(c, 'invalid_path', 400, message, { rule: local.rule }) };
      }
      if (!isSiteFile(local.value) || siteNameOf(local.value) !== name.value) {
        const message = `X-Path must be the local path of ${name.value}.html.`;
        return { ok: false, response: fail(c, 'bad_request', 400, message) };
      }
      folder = folderOf(local.value);
    }
    return { ok: true, file: { kind: 'site', key: name.value }, path: platformSitePath(folder, name.value) };
  }

  function locateUpload(c: C): Located {
    const decoded = decodeSegments(rawPathAfter(c, '/sync/uploads/'));
    const path = checkPath(decoded, 'file');
    if (!path.ok) {
      const message = `Upload path refused: ${path.message}.`;
      return { ok: false, response: fail(c, 'invalid_path', 400, message, { rule: path.rule }) };
    }
    if (isSiteFile(path.value)) {
      const message = 'A .html file is a site: send it to /sync/sites/{name}.';
      return { ok: false, response: fail(c, 'invalid_path', 400, message, { rule: 'site_file' }) };
    }
    return { ok: true, file: { kind: 'upload', key: path.value }, path: path.value };
  }

  async function getFile(c: C, located: Located) {
    if (!located.ok) return located.response;
    const stored = await ctx.storage.readFile(c.get('account').id, located.file);
    if (!stored) return fail(c, 'not_found', 404, `No ${located.file.kind} ${located.file.key} on the platform.`);
    fileHeaders(c, stored.entry);
    const type = located.file.kind === 'site' ? 'text/html; charset=utf-8' : 'application/octet-stream';
    return c.body(
      new Uint8Array(stored.content.buffer as ArrayBuffer, stored.content.byteOffset, stored.content.length),
      200,
      {
        'Content-Type': type,
      },
    );
  }

  function writeResponse(c: C, file: FileKey, result: WriteFileResult) {
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
        return fail(c, 'conflict', 409, `A newer version of ${file.key} is on the platform; this one lost.`, {
          current: result.current,
        });
      case 'path_conflict':
        return fail(c, 'path_conflict', 409, `${file.key} would sit where a folder is, or inside a file.`);
      case 'name_taken':
        return fail(c, 'name_taken', 409, `The site name ${file.key} belongs to another account. Rename the file.`);
      case 'site_limit_reached':
        return fail(c, 'site_limit_reached', 403, "You've run out of sites. We can't sync any more sites.");
      case 'storage_limit_reached':
        return fail(
          c,
          'storage_limit_reached',
          403,
          `Saving ${file.key} would pass your storage quota of ${account.maxStorageBytes} bytes. Free some space or upgrade your plan.`,
        );
    }
  }

  async function putFile(c: C, located: Located) {
    if (!located.ok) return located.response;
    const baseHeader = c.req.header(HEADER.baseVersion);
    const modifiedHeader = c.req.header(HEADER.modifiedAt);
    const shaHeader = c.req.header(HEADER.contentSha256)?.toLowerCase();
    if (baseHeader === undefined || !/^\d{1,15}$/.test(baseHeader)) {
      return fail(c, 'bad_request', 400, 'X-Base-Version must be the version the content was edited from (0 for new).');
    }
    if (!isIsoUtc(modifiedHeader)) {
      return fail(c, 'bad_request', 400, 'X-Modified-At must be an ISO 8601 UTC time with milliseconds.');
    }
    if (!isSha256(shaHeader)) return fail(c, 'bad_request', 400, 'Content-SHA256 must be the hex sha256 of the body.');
    let body: { content: Buffer; sha256: string };
    try {
      body = await readBody(c, MAX_FILE_BYTES);
    } catch (error) {
      if (!(error instanceof BodyTooLarge)) throw error;
      return fail(c, 'too_large', 413, `The file is over the ${MAX_FILE_BYTES}-byte limit; it is not synced.`, {
        maxFileBytes: MAX_FILE_BYTES,
      });
    }
    if (body.sha256 !== shaHeader) {
      return fail(
        c,
        'bad_request',
        400,
        'The body does not match its Content-SHA256; it was changed or cut in transit.',
      );
    }
    const account = c.get('account');
    const result = await ctx.storage.writeFile({
      accountId: account.id,
      kind: located.file.kind as FileKind,
      key: located.file.key,
      path: located.path,
      content: body.content,
      sha256: body.sha256,
      baseVersion: Number(baseHeader),
      modifiedAtMs: Date.parse(modifiedHeader),
      limits: { maxSites: account.maxSites, maxStorageBytes: account.maxStorageBytes },
    });
    return writeResponse(c, located.file, result);
  }

  app.post('/sync/sessions', async (c) => {
    const body = await readJson(c);
    const deviceName = body?.deviceName;
    const clientVersion = body?.clientVersion;
    if (typeof deviceName !== 'string' || deviceName.length === 0 || deviceName.length > MAX_DEVICE_NAME_CHARS) {
      return fail(c, 'bad_request', 400, `deviceName must be text of 1-${MAX_DEVICE_NAME_CHARS} characters.`);
    }
    const version = typeof clientVersion === 'string' ? parseVersion(clientVersion) : null;
    if (version === null) return fail(c, 'bad_request', 400, 'clientVersion must be a version like 1.2.3.');
    if (olderThan(version, minimumVersion)) {
      const message = `This Hyperclay Sync (${clientVersion}) is too old for the platform. Update to ${ctx.minClientVersion} or later.`;
      return fail(c, 'client_outdated', 426, message, { minClientVersion: ctx.minClientVersion });
    }
    const account = c.get('account');
    const sessionId = await ctx.storage.createSession(account.id, deviceName, clientVersion as string);
    ctx.log(`sync session start account=${account.id} client=${clientVersion}`);
    return c.json({ sessionId, cursor: '0' }, 201);
  });

  app.get('/sync/changes', async (c) => {
    const account = c.get('account');
    const query = parseChangesQuery(c);
    if (!query.ok) return fail(c, 'bad_request', 400, query.message);
    if (query.session !== null) {
      // Advisory: a lost session is not an error, and a failed touch must not fail the poll.
      await ctx.storage.touchSession(account.id, query.session).catch((error: Error) => {
        ctx.log(`sync session touch failed account=${account.id}: ${error.message}`);
      });
    }
    const cursor: Cursor | null =
      query.cursor === '0' ? { kind: 'listing', continuation: null } : cursors.decode(account.id, query.cursor);
    const page =
      cursor === null ? null : await changesPage(account.id, cursor, query.limit, query.waitMs, () => c.req.raw.signal);
    if (page === null) {
      return fail(c, 'cursor_reset', 410, 'This cursor can no longer be served. List again from cursor 0.');
    }
    return c.json(page, 200);
  });

  async function changesPage(
    accountId: string,
    cursor: Cursor,
    limit: number,
    waitMs: number,
    abortSignal: () => AbortSignal,
  ): Promise<{ entries: Entry[]; cursor: string; hasMore: boolean } | null> {
    if (cursor.kind === 'listing') {
      const page = await ctx.storage.listing(accountId, cursor.continuation, limit);
      if (!page) return null;
      const next = page.next === null ? cursors.feed(accountId, page.head) : cursors.listing(accountId, page.next);
      return { entries: page.entries, cursor: next, hasMore: page.next !== null };
    }
    const deadline = Date.now() + waitMs;
    // The request's abort signal costs an AbortController per request: only a long-poll asks for it.
    const signal = waitMs > 0 ? abortSignal() : null;
    const waiter = signal ? changeWaiter(accountId, signal) : null;
    try {
      for (;;) {
        const changes = await ctx.storage.changesSince(accountId, cursor.seq, limit);
        if (!changes) return null;
        const last = changes.entries.at(-1);
        const remaining = deadline - Date.now();
        if (last || !waiter || remaining <= 0 || signal?.aborted) {
          const hasMore = changes.entries.length === limit && last !== undefined && last.seq < changes.head;
          const next = hasMore && last ? last.seq : changes.head;
          return { entries: changes.entries, cursor: cursors.feed(accountId, next), hasMore };
        }
        await waiter.next(remaining);
      }
    } finally {
      waiter?.stop();
    }
  }

  /** Wakes a long-poll on the account's next change; a change between two looks is never missed. */
  function changeWaiter(accountId: string, signal: AbortSignal) {
    let pending = false;
    let wake: (() => void) | null = null;
    const poke = () => {
      pending = true;
      wake?.();
    };
    const unsubscribe = ctx.storage.subscribe?.(accountId, poke) ?? null;
    signal.addEventListener('abort', poke);
    return {
      next(maxMs: number): Promise<void> {
        if (pending) {
          pending = false;
          return Promise.resolve();
        }
        const ms = unsubscribe ? maxMs : Math.min(maxMs, POLL_FALLBACK_MS);
        return new Promise<void>((resolve) => {
          const timer = setTimeout(done, ms);
          function done() {
            clearTimeout(timer);
            wake = null;
            pending = false;
            resolve();
          }
          wake = done;
        });
      },
      stop() {
        unsubscribe?.();
        signal.removeEventListener('abort', poke);
        wake?.();
      },
    };
  }

  app.get('/sync/sites/:name/versions', async (c) => {
    const located = locateSite(c);
    if (!located.ok) return located.response;
    const versions = await ctx.storage.versions(c.get('account').id, located.file);
    if (!versions) return fail(c, 'not_found', 404, `No site ${located.file.key} on the platform.`);
    return c.json({ versions }, 200);
  });
  app.get('/sync/sites/:name', (c) => getFile(c, locateSite(c)));
  app.put('/sync/sites/:name', (c) => putFile(c, locateSite(c)));
  app.get('/sync/uploads/*', (c) => getFile(c, locateUpload(c)));
  app.put('/sync/uploads/*', (c) => putFile(c, locateUpload(c)));

  app.put('/sync/folders/*', async (c) => {
    const decoded = decodeSegments(rawPathAfter(c, '/sync/folders/'));
    const path = checkPath(decoded, 'folder');
    if (!path.ok) return fail(c, 'invalid_path', 400, `Folder path refused: ${path.message}.`, { rule: path.rule });
    const account = c.get('account');
    const result = await ctx.storage.createFolder(account.id, path.value);
    if (result.outcome === 'path_conflict') {
      return fail(c, 'path_conflict', 409, `${path.value} would be a folder where a file is.`);
    }
    if (result.outcome === 'created') ctx.log(`sync created folder ${path.value} account=${account.id}`);
    return c.json(result.entry, result.outcome === 'created' ? 201 : 200);
  });

  app.get('/sync/me', async (c) => {
    const account = c.get('account');
    const usage = await ctx.storage.usage(account.id);
    return c.json(
      {
        user: { id: account.id, email: account.email, plan: account.plan },
        limits: { maxSites: account.maxSites, maxFileBytes: MAX_FILE_BYTES, maxStorageBytes: account.maxStorageBytes },
        usage,
        minClientVersion: ctx.minClientVersion,
      },
      200,
    );
  });

  app.all('/sync/*', (c) => fail(c, 'not_found', 404, 'There is no such sync endpoint.'));
  return app;
}
