// The browser sign-in (authorize pages), the code-for-token exchange, refresh and logout (PROTOCOL.md "Auth").

import { Hono } from 'hono';
import type { EndpointContext, SyncEnv } from '../context.js';

export function authRoutes(_ctx: EndpointContext): Hono<SyncEnv> {
  return new Hono<SyncEnv>();
}
