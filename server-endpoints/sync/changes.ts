// GET /sync/changes: the listing from cursor 0, then the change feed, with long-polls (PROTOCOL.md "Changes").

import type { Context } from 'hono';
import { type ChangesPage, MAX_PAGE_LIMIT, MAX_WAIT_SECONDS } from '../../protocol/index.js';
import type { EndpointContext, SyncEnv } from '../context.js';
import { fail } from '../http.js';
import { type Cursor, cursorCodec } from './cursor.js';
import { ChangeWaiter } from './waiter.js';

type C = Context<SyncEnv>;

const MAX_SESSION_ID_CHARS = 100;

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

/** One page asked for: whose, how many entries, and how long a feed page may wait for its first change. */
interface PageRequest {
  accountId: string;
  limit: number;
  waitMs: number;
  /** The request's abort signal costs an AbortController per request: only a long-poll asks for it. */
  abortSignal: () => AbortSignal;
}

/** One endpoints instance's change feed: its cursors are sealed with the instance's token secret. */
export class ChangeFeed {
  private readonly ctx: EndpointContext;
  private readonly cursors: ReturnType<typeof cursorCodec>;

  constructor(ctx: EndpointContext) {
    this.ctx = ctx;
    this.cursors = cursorCodec(ctx.tokenSecret);
  }

  async changes(c: C): Promise<Response> {
    const accountId = c.get('account').id;
    const query = parseChangesQuery(c);
    if (!query.ok) return fail(c, 'bad_request', query.message);
    if (query.session !== null) await this.touchSession(accountId, query.session);
    const cursor: Cursor | null =
      query.cursor === '0' ? { kind: 'listing', continuation: null } : this.cursors.decode(accountId, query.cursor);
    const request = { accountId, limit: query.limit, waitMs: query.waitMs, abortSignal: () => c.req.raw.signal };
    const page = cursor === null ? null : await this.page(request, cursor);
    if (page === null) return fail(c, 'cursor_reset', 'This cursor can no longer be served. List again from cursor 0.');
    return c.json(page, 200);
  }

  /** Advisory: a lost session is not an error, and a failed touch must not fail the poll. */
  private async touchSession(accountId: string, session: string): Promise<void> {
    await this.ctx.storage.touchSession(accountId, session).catch((error: Error) => {
      this.ctx.log(`sync session touch failed account=${accountId}: ${error.message}`);
    });
  }

  /** null: the cursor is past the storage's horizon (410 cursor_reset). */
  private page(request: PageRequest, cursor: Cursor): Promise<ChangesPage | null> {
    return cursor.kind === 'listing'
      ? this.listingPage(request, cursor.continuation)
      : this.feedPage(request, cursor.seq);
  }

  private async listingPage(
    { accountId, limit }: PageRequest,
    continuation: string | null,
  ): Promise<ChangesPage | null> {
    const page = await this.ctx.storage.listing(accountId, continuation, limit);
    if (!page) return null;
    const next =
      page.next === null ? this.cursors.feed(accountId, page.head) : this.cursors.listing(accountId, page.next);
    return { entries: page.entries, cursor: next, hasMore: page.next !== null };
  }

  /** The feed after `seq`; a long-poll waits up to waitMs for the first change (or the client going away). */
  private async feedPage(request: PageRequest, seq: number): Promise<ChangesPage | null> {
    const { accountId, limit, waitMs } = request;
    const deadline = Date.now() + waitMs;
    const signal = waitMs > 0 ? request.abortSignal() : null;
    const waiter = signal ? new ChangeWaiter(this.ctx.storage, accountId, signal) : null;
    try {
      for (;;) {
        const changes = await this.ctx.storage.changesSince(accountId, seq, limit);
        if (!changes) return null;
        const last = changes.entries.at(-1);
        const remaining = deadline - Date.now();
        if (last || !waiter || remaining <= 0 || signal?.aborted) {
          const hasMore = changes.entries.length === limit && last !== undefined && last.seq < changes.head;
          const next = hasMore && last ? last.seq : changes.head;
          return { entries: changes.entries, cursor: this.cursors.feed(accountId, next), hasMore };
        }
        await waiter.next(remaining);
      }
    } finally {
      waiter?.stop();
    }
  }
}
