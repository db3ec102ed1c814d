// The platform's sync endpoints (PROTOCOL.md) as one Hono app to mount into a host platform.
// No module-level state: every instance owns only what its options give it.

import { Hono } from 'hono';
import { HEADER } from '../protocol/index.js';
import { requireAuth } from './auth/middleware.js';
import { limitByAddress, limitByToken, limitParallelUploads } from './auth/rate-limit.js';
import { authRoutes } from './auth/routes.js';
import { type EndpointContext, endpointContext, type SyncEndpointsOptions, type SyncEnv } from './context.js';
import { syncError, syncRoutes } from './sync/routes.js';

export { DEFAULT_RATE_LIMITS, type RateLimits } from './auth/rate-limit.js';
export { safeReturnPath } from './auth/return-path.js';
export type { EndpointContext, SyncEndpointsOptions, SyncEnv } from './context.js';
export type * from './types.js';

/** The write routes whose bodies are content: one account's uploads in flight are capped together. */
const UPLOAD_ROUTES = ['/sync/sites/*', '/sync/uploads/*'] as const;

export function createSyncEndpoints(options: SyncEndpointsOptions): Hono<SyncEnv> {
  const ctx: EndpointContext = endpointContext(options);
  const app = new Hono<SyncEnv>();
  // The auth check's store failing (PostgreSQL down) is answered like the routes' own failures.
  app.onError((error, c) => syncError(ctx, error, c));
  app.use('/sync/*', async (c, next) => {
    await next();
    c.header(HEADER.serverTime, new Date(ctx.now()).toISOString());
    // No other origin may embed an answer (no CORS header is ever sent, so none can read one either).
    c.header('Cross-Origin-Resource-Policy', 'same-origin');
  });
  const limits = ctx.rateLimits ? { limits: ctx.rateLimits, now: ctx.now, clientAddress: ctx.clientAddress } : null;
  if (limits) app.use('/sync/*', limitByAddress(limits));
  app.get('/sync/health', (c) => c.json({ ok: true }));
  // Unauthenticated: the authorize pages and the token exchange. Mounted before the auth middleware.
  app.route('/', authRoutes(ctx));
  app.use('/sync/*', requireAuth(ctx));
  if (limits) {
    app.use('/sync/*', limitByToken(limits));
    for (const route of UPLOAD_ROUTES) app.on('PUT', route, limitParallelUploads(limits));
  }
  app.route('/', syncRoutes(ctx));
  return app;
}
