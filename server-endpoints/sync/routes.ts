// The authenticated /sync/* endpoints of PROTOCOL.md, mounted from their handler modules: sessions and me,
// the change feed, files and folders, batches. No module-level state: everything comes from the EndpointContext.

import type { Context } from 'hono';
import { Hono } from 'hono';
import type { EndpointContext, SyncEnv } from '../context.js';
import { fail } from '../http.js';
import { failureAnswer } from './answers.js';
import { postBatch } from './batch.js';
import { ChangeFeed } from './changes.js';
import { postFetch } from './fetch.js';
import { getFile, putFile, putFolder, siteVersions } from './files.js';
import { locateSite, locateUpload } from './locate.js';
import { search } from './search.js';
import { me, startSession } from './sessions.js';

/**
 * A storage failure as a protocol error (answers.ts failureAnswer), with its log line: PostgreSQL or the object store
 * unreachable is `unavailable` (503 with Retry-After, the client retries).
 */
export function syncError(ctx: EndpointContext, error: Error, c: Context<SyncEnv>): Response {
  const account = c.get('account')?.id ?? '-';
  ctx.log(`sync error ${c.req.method} ${new URL(c.req.url).pathname} account=${account}: ${error.message}`);
  const answer = failureAnswer(error);
  if (answer.status === 503) c.header('Retry-After', '1');
  return c.json(answer.body, answer.status as 500);
}

export function syncRoutes(ctx: EndpointContext): Hono<SyncEnv> {
  const app = new Hono<SyncEnv>();
  const feed = new ChangeFeed(ctx);
  app.onError((error, c) => syncError(ctx, error, c));
  app.post('/sync/sessions', (c) => startSession(ctx, c));
  app.get('/sync/changes', (c) => feed.changes(c));
  app.get('/sync/sites/:name/versions', (c) => siteVersions(ctx, c));
  app.get('/sync/sites/:name', (c) => getFile(ctx, c, locateSite(c)));
  app.put('/sync/sites/:name', (c) => putFile(ctx, c, locateSite(c)));
  app.get('/sync/uploads/*', (c) => getFile(ctx, c, locateUpload(c)));
  app.put('/sync/uploads/*', (c) => putFile(ctx, c, locateUpload(c)));
  app.put('/sync/folders/*', (c) => putFolder(ctx, c));
  app.post('/sync/batch', (c) => postBatch(ctx, c));
  app.post('/sync/fetch', (c) => postFetch(ctx, c));
  app.get('/sync/me', (c) => me(ctx, c));
  app.get('/sync/search', (c) => search(ctx, c));
  app.all('/sync/*', (c) => fail(c, 'not_found', 'There is no such sync endpoint.'));
  return app;
}
