// The authenticated /sync/* endpoints of PROTOCOL.md, mounted from their handler modules: sessions and me,
// the change feed, files and folders. No module-level state: everything comes from the EndpointContext.

import type { Context } from 'hono';
import { Hono } from 'hono';
import type { EndpointContext, SyncEnv } from '../context.js';
import { fail } from '../http.js';
import { isStorageUnavailable } from '../storage/unavailable.js';
import { ChangeFeed } from './changes.js';
import { getFile, putFile, putFolder, siteVersions } from './files.js';
import { locateSite, locateUpload } from './locate.js';
import { me, startSession } from './sessions.js';

/**
 * A storage failure as a protocol error: PostgreSQL or the object store unreachable is `unavailable` (503, the
 * client retries), the storage's own codes say which, anything else is `internal`.
 */
export function syncError(ctx: EndpointContext, error: Error, c: Context<SyncEnv>): Response {
  const code = (error as { code?: unknown }).code;
  const account = c.get('account')?.id ?? '-';
  ctx.log(`sync error ${c.req.method} ${new URL(c.req.url).pathname} account=${account}: ${error.message}`);
  if (isStorageUnavailable(error)) {
    c.header('Retry-After', '1');
    return fail(c, 'unavailable', 'The platform cannot reach its storage right now. Try again in a moment.');
  }
  if (code === 'backup_failed') {
    return fail(c, 'internal', 'The previous version could not be kept as a backup, so nothing was saved. Try again.');
  }
  if (code === 'bad_write') return fail(c, 'bad_request', 'The platform refused this write as malformed.');
  return fail(c, 'internal', 'The platform could not complete this request. Try again in a moment.');
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
  app.get('/sync/me', (c) => me(ctx, c));
  app.all('/sync/*', (c) => fail(c, 'not_found', 'There is no such sync endpoint.'));
  return app;
}
