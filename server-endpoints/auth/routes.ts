// The sign-in endpoints of PROTOCOL.md "Auth" and "Device sign-in": the authorize and device pages, the token
// exchange (a code, or a device code's poll), refresh, logout.
// Mounted before the auth middleware: refresh and logout check their bearer token themselves.

import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { EndpointContext, SyncEnv } from '../context.js';
import { fail } from '../http.js';
import { answerConsent, showConsent } from './authorize.js';
import { DEVICE_PAGE_PATH, startDeviceSignIn } from './device.js';
import { answerDevicePage, showDevicePage } from './device-page.js';
import { RETURN_SCRIPT_PATH } from './pages.js';
import { returnScript } from './return-script.js';
import { exchangeCode, logout, refreshToken } from './token-endpoints.js';

const MAX_BODY_BYTES = 16 * 1024;

export function authRoutes(ctx: EndpointContext): Hono<SyncEnv> {
  const app = new Hono<SyncEnv>();
  const limit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => fail(c, 'bad_request', 'The request body is too large for a sign-in request.'),
  });
  app.get('/sync/authorize', (c) => showConsent(ctx, c));
  app.post('/sync/authorize', limit, (c) => answerConsent(ctx, c));
  app.get(RETURN_SCRIPT_PATH, (c) => returnScript(c));
  app.post('/sync/token', limit, (c) => exchangeCode(ctx, c));
  app.post('/sync/device/code', limit, (c) => startDeviceSignIn(ctx, c));
  app.get(DEVICE_PAGE_PATH, (c) => showDevicePage(ctx, c));
  app.post(DEVICE_PAGE_PATH, limit, (c) => answerDevicePage(ctx, c));
  app.post('/sync/token/refresh', (c) => refreshToken(ctx, c));
  app.post('/sync/logout', (c) => logout(ctx, c));
  return app;
}
