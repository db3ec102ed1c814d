// Reading the platform's change feed: a session's complete listing and a poll's pages, bounded (a feed that does
// not advance is a platform error, never a busy loop), each malformed entry logged once and set aside on its own.

import type { Entry, MalformedEntry, ReadChangesPage } from '../protocol/index.js';
import type { ApiClient } from './endpoints.js';
import type { EngineCore } from './engine-core.js';
import { BadResponseError } from './errors.js';
import { type EntryKey, entryKeyOf } from './model.js';

const PAGE_LIMIT = 1000;
/** A poll reads at most this many pages; the rest waits for the next poll, which comes at once. */
export const MAX_PAGES_PER_POLL = 20;

/** The feed did not advance: the same cursor came back, or more pages than there can be entries. */
export class EndlessFeedError extends BadResponseError {
  constructor(detail: string) {
    super(200, `a change feed that does not end: ${detail}`);
  }
}

export interface Listing {
  entries: Entry[];
  /** Keys of malformed entries that could be told apart: present on the platform, though unreadable. */
  unreadable: EntryKey[];
  /** The cursor to poll from once the listing is applied. */
  cursor: string;
}

export class Feed {
  readonly #api: ApiClient;
  readonly #core: EngineCore;

  constructor(api: ApiClient, core: EngineCore) {
    this.#api = api;
    this.#core = core;
  }

  /** The whole current listing (cursor 0, every page): it must end, or it is an EndlessFeedError. */
  async listAll(session: string): Promise<Listing> {
    const listing: Listing = { entries: [], unreadable: [], cursor: '0' };
    let pages = 0;
    for (;;) {
      const page = await this.#page(session, listing.cursor);
      pages++;
      listing.entries.push(...page.entries);
      listing.unreadable.push(...this.#setAside(page.malformed));
      if (!page.hasMore) {
        listing.cursor = page.cursor;
        return listing;
      }
      // Every page but the last holds at least one entry: more pages than that is a feed going round in circles.
      if (pages > listing.entries.length + listing.unreadable.length + 1) {
        throw new EndlessFeedError(`${pages} pages for ${listing.entries.length} entries`);
      }
      listing.cursor = page.cursor;
    }
  }

  /**
   * The pages after `cursor`, at most MAX_PAGES_PER_POLL of them; `more` when the feed had more still. The first page
   * is a long-poll of `waitSeconds` (0: answered at once).
   */
  async *pages(
    session: string,
    cursor: string,
    waitSeconds: number,
  ): AsyncGenerator<{ entries: Entry[]; cursor: string; more: boolean }> {
    let at = cursor;
    for (let count = 1; ; count++) {
      const page = await this.#page(session, at, count === 1 ? waitSeconds : 0);
      this.#setAside(page.malformed);
      const more = page.hasMore && count >= MAX_PAGES_PER_POLL;
      yield { entries: page.entries, cursor: page.cursor, more };
      if (!page.hasMore || more) return;
      at = page.cursor;
    }
  }

  async #page(session: string, cursor: string, wait = 0): Promise<ReadChangesPage> {
    const page = await this.#api.changes({ session, cursor, limit: PAGE_LIMIT, ...(wait > 0 ? { wait } : {}) });
    if (page.hasMore && page.cursor === cursor) throw new EndlessFeedError('the same cursor came back');
    return page;
  }

  /** Logs each malformed entry once; returns the keys of those that could be told apart. */
  #setAside(malformed: MalformedEntry[]): EntryKey[] {
    const keys: EntryKey[] = [];
    for (const item of malformed) {
      const where = item.identity?.path ?? item.rawPath ?? `#${item.index} of a page`;
      const line = `platform entry ${where} refused: ${item.reason}; skipped, the rest of its page applied`;
      this.#core.memory.reportOnce('error', line);
      if (item.identity) keys.push(entryKeyOf(item.identity));
    }
    return keys;
  }
}
