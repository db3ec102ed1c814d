// The reference platform's own routes, mounted from their modules: login and logout, the dashboard (sites,
// versions, delete), the platform save endpoint of self-saving sites, and serving sites by path and by host.

import type { MiddlewareHandler } from 'hono';
import { Hono } from 'hono';
import type { SyncStorage } from '../types.js';
import type { AccountStore } from './accounts.js';
import { deleteSite, home, oldVersion, siteVersionsPage } from './dashboard.js';
import { LoginThrottle, logout, showLogin, submitLogin } from './login.js';
import { errorHtml, PlatformError } from './respond.js';
import { saveSite } from './save.js';
import { serveByPath, serveSite, siteHost } from './sites.js';

export interface PlatformOptions {
  accounts: AccountStore;
  storage: SyncStorage;
  /** Key for the dashboard's CSRF tokens (derived per login session). */
  csrfKey: string;
  /** The port sites are served on, for `http://<name>.localhost:<port>/` links; null when unknown. */
  port: () => number | null;
  log: (line: string) => void;
}

export interface Platform {
  /** Serves `<name>.localhost` hosts; mount before every other route so no platform route shadows a site. */
  siteHost: MiddlewareHandler;
  /** The platform's pages and the path-based sites; mount after the sync endpoints (`/:name/*` would match `/sync/...`). */
  routes: Hono;
}

export function createPlatform(options: PlatformOptions): Platform {
  const { storage } = options;
  const app = new Hono();
  const throttle = new LoginThrottle();
  app.get('/login', (c) => showLogin(options, c));
  app.post('/login', (c) => submitLogin(options, throttle, c));
  app.post('/logout', (c) => logout(options, c));
  app.get('/', (c) => home(options, c));
  app.get('/dashboard/sites/:name', (c) => siteVersionsPage(options, c));
  app.get('/dashboard/sites/:name/versions/:version', (c) => oldVersion(options, c));
  app.post('/dashboard/sites/:name/delete', (c) => deleteSite(options, c));
  app.post('/save/:name', (c) => saveSite(options, c));
  // Sites by path: `/<name>` (and `/<name>/`), uploads as `/<name>/<upload path>`.
  app.get('/:name', (c) => serveSite(storage, c, c.req.param('name')));
  app.get('/:name/', (c) => serveSite(storage, c, c.req.param('name')));
  app.get('/:name/*', (c) => serveByPath(storage, c));
  app.onError((error, c) => {
    if (error instanceof PlatformError) return errorHtml(c, error.status, 'Refused', error.message);
    options.log(`error ${c.req.method} ${new URL(c.req.url).pathname}: ${error.message}`);
    return errorHtml(c, 500, 'Something went wrong', 'The server failed on this request. The log has the details.');
  });
  return { siteHost: siteHost(storage), routes: app };
}
