// `search TEXT [--limit N] [--json]`: the account's text files on the platform holding every word of TEXT (PROTOCOL.md
// "Search"), one per line as its path and a snippet, best first. Exit 3 when signed out.

import { escapeInvisible, MAX_SEARCH_LIMIT, MAX_SEARCH_QUERY_CHARS } from '../protocol/index.js';
import type { CliContext } from './context.js';
import { CliError, EXIT, notSignedIn } from './errors.js';

const usage = (message: string): CliError =>
  new CliError(EXIT.usage, 'bad_usage', `${message} Run \`hyperclay-sync search --help\` for its usage.`);

/** `--limit` as a whole number of results, 1-100. */
function limitOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const limit = Number(text);
  if (!/^\d{1,3}$/.test(text) || limit < 1 || limit > MAX_SEARCH_LIMIT) {
    throw usage(`--limit must be a whole number from 1 to ${MAX_SEARCH_LIMIT}, got "${text}".`);
  }
  return limit;
}

export async function search(
  ctx: CliContext,
  text: string | undefined,
  flags: { limit?: string; json?: boolean },
): Promise<number> {
  const query = (text ?? '').trim();
  if (query === '') throw usage('Give the text to search for, e.g.: hyperclay-sync search recipe');
  if (query.length > MAX_SEARCH_QUERY_CHARS) {
    throw usage(`The text to search for is at most ${MAX_SEARCH_QUERY_CHARS} characters (got ${query.length}).`);
  }
  const limit = limitOf(flags.limit);
  if (!ctx.token()) throw notSignedIn(ctx.config.origin);
  const results = await ctx.api({ timeoutMs: 15_000 }).search(query, limit);
  if (flags.json) {
    ctx.io.out(JSON.stringify({ results }));
    return EXIT.done;
  }
  if (results.length === 0) ctx.io.out('No matches.');
  for (const { entry, snippet } of results) ctx.io.out(`${escapeInvisible(entry.path)}  ${escapeInvisible(snippet)}`);
  return EXIT.done;
}
