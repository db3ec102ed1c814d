// The platform's sync endpoints (PROTOCOL.md) as one Hono app to mount into a host platform.
// No module-level state: every instance owns only what its options give it.

import { Hono } from 'hono';
import { HEADER } from '../protocol/index.js';
import { requireAuth } from './auth/middleware.js';
import { authRoutes } from './auth/routes.js';
import { type EndpointContext, endpointContext, type SyncEndpointsOptions, type SyncEnv } from './context.js';
import { syncError, syncRoutes } from './sync/routes.js';

export type { EndpointContext, SyncEndpointsOptions, SyncEnv } from './context.js';
export type * from './types.js';

export function createSyncEndpoints(options: SyncEndpointsOptions): Hono<SyncEnv> {
  const ctx: EndpointContext = endpointContext(options);
  const app = new Hono<SyncEnv>();
  // The auth check's store failing (PostgreSQL down) is answered like the routes' own failures.
  app.onError((error, c) => syncError(ctx, error, c));
  app.use('/sync/*', async (c, next) => {
    await next();
    c.header(HEADER.serverTime, new Date(ctx.now()).toISOString());
  });
  app.get('/sync/health', (c) => c.json({ ok: true }));
  // Unauthenticated: the authorize pages and the token exchange. Mounted before the auth middleware.
  app.route('/', authRoutes(ctx));
  app.use('/sync/*', requireAuth(ctx));
  app.route('/', syncRoutes(ctx));
  return app;
}
