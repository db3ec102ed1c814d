// GET /sync/search?q=TEXT&limit=N (PROTOCOL.md "Search"): the query checked, the storage's search of the caller's
// own text files answered as {results: [{entry, snippet, score}]}.

import type { Context } from 'hono';
import { DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT, MAX_SEARCH_QUERY_CHARS } from '../../protocol/index.js';
import type { EndpointContext, SyncEnv } from '../context.js';
import { fail } from '../http.js';
import { queryWords } from './search-text.js';

type SearchQuery = { ok: true; q: string; limit: number } | { ok: false; message: string };

export function parseSearchQuery(q: string | undefined, limitText: string | undefined): SearchQuery {
  if (q === undefined || q.trim() === '') return { ok: false, message: 'q is required: the text to search for.' };
  if (q.length > MAX_SEARCH_QUERY_CHARS) {
    return { ok: false, message: `q is too long: at most ${MAX_SEARCH_QUERY_CHARS} characters.` };
  }
  if (queryWords(q).length === 0) {
    return { ok: false, message: 'q has no word to search for: give letters or digits.' };
  }
  const limit = Number(limitText ?? DEFAULT_SEARCH_LIMIT);
  if ((limitText !== undefined && !/^\d{1,3}$/.test(limitText)) || limit < 1 || limit > MAX_SEARCH_LIMIT) {
    return { ok: false, message: `limit must be a whole number from 1 to ${MAX_SEARCH_LIMIT}.` };
  }
  return { ok: true, q, limit };
}

export async function search(ctx: EndpointContext, c: Context<SyncEnv>): Promise<Response> {
  const parsed = parseSearchQuery(c.req.query('q'), c.req.query('limit'));
  if (!parsed.ok) return fail(c, 'bad_request', parsed.message);
  const results = await ctx.storage.search(c.get('account').id, parsed.q, parsed.limit);
  return c.json({ results }, 200);
}
