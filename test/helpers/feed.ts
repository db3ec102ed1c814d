// Reading the /sync API the way the sync tests check it: a page of the change feed, the feed followed to its
// end, an entry's identity and a refusal's error code.

import { expect } from 'vitest';
import type { Entry } from '../../protocol/index.js';
import type { SyncApi } from './platform.js';

export interface FeedPage {
  entries: Entry[];
  cursor: string;
  hasMore: boolean;
}

/** One page of GET /sync/changes, which must answer 200. */
export async function changesPage(
  api: SyncApi,
  cursor: string,
  params: { limit?: number; wait?: number } = {},
): Promise<FeedPage> {
  const response = await api.changes(cursor, params);
  expect(response.status).toBe(200);
  return response.json as unknown as FeedPage;
}

/** Follows the listing (cursor 0) or the feed from `cursor` until it has nothing more; counts the pages. */
export async function drainFeed(
  api: SyncApi,
  cursor: string,
  limit?: number,
): Promise<{ entries: Entry[]; cursor: string; pages: number }> {
  const entries: Entry[] = [];
  let pages = 0;
  for (;;) {
    const next = await changesPage(api, cursor, limit === undefined ? {} : { limit });
    pages++;
    entries.push(...next.entries);
    cursor = next.cursor;
    if (!next.hasMore) return { entries, cursor, pages };
  }
}

/** What an entry is, whatever its path: a site by its name, an upload or folder by its path. */
export const entryIdentity = (entry: Entry): string =>
  `${entry.kind}:${entry.kind === 'site' ? entry.name : entry.path}`;

/** The `error.code` of an error body, if it has one. */
export const errorCode = (json: Record<string, unknown>): string | undefined =>
  (json.error as { code?: string } | undefined)?.code;
