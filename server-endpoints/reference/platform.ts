// The reference platform's own routes, mounted from their modules: login and logout, the dashboard (sites,
// versions, delete, devices, password), the platform save endpoint of self-saving sites, and sites on their hosts.

import type { Context, MiddlewareHandler } from 'hono';
import { Hono } from 'hono';
import type { AuthStore, SyncStorage } from '../types.js';
import { changePassword, passwordForm, revokeDevice } from './account-settings.js';
import type { AccountStore } from './accounts.js';
import { confirmDeleteSite, deleteSite, home, oldVersion, siteVersionsPage } from './dashboard.js';
import { editSite } from './edit.js';
import { browseFiles, confirmDeleteUpload, deleteUpload, uploadImage } from './files.js';
import { logout, showLogin, submitLogin } from './login.js';
import { LoginThrottle, type LoginThrottleSettings } from './login-throttle.js';
import { errorHtml, PlatformError } from './respond.js';
import { saveSite } from './save.js';
import { mountShell } from './shell.js';
import { redirectToSiteHost, siteHost } from './sites.js';
import { compareVersion, deletedSites, restoreDeletedSite, restoreVersion } from './versions.js';

export interface PlatformSettings {
  accounts: AccountStore;
  storage: SyncStorage;
  /** The sync endpoints' sign-in records: the dashboard lists and revokes the account's devices there. */
  authStore: AuthStore;
  /** Key for the dashboard's CSRF tokens, the known-browser cookies and the site passes (each derived apart). */
  csrfKey: string;
  /** The port sites are served on, for `http://<name>.localhost:<port>/` links; null when unknown. */
  port: () => number | null;
  log: (line: string) => void;
  /** The client's address, for the login throttle; null when unknown. */
  clientAddress: (c: Context) => string | null;
  /** The login throttle's clock (tests move it); default Date.now. */
  now?: () => number;
  loginThrottle?: LoginThrottleSettings;
}

/** What every platform handler is given. */
export interface PlatformOptions extends Omit<PlatformSettings, 'now' | 'loginThrottle'> {
  throttle: LoginThrottle;
  /** Signs the site tickets and passes (site-pass.ts). */
  sitePassKey: string;
}

export interface Platform {
  /** Serves `<name>.localhost` hosts; mount before every other route so no platform route shadows a site. */
  siteHost: MiddlewareHandler;
  /** The platform's pages and the path-based redirects to sites; mount after the sync endpoints. */
  routes: Hono;
}

export function createPlatform(settings: PlatformSettings): Platform {
  const options: PlatformOptions = {
    ...settings,
    throttle: new LoginThrottle(`${settings.csrfKey}:login`, settings.now ?? Date.now, settings.loginThrottle),
    sitePassKey: `${settings.csrfKey}:site-pass`,
  };
  const app = new Hono();
  mountShell(app);
  app.get('/login', (c) => showLogin(options, c));
  app.post('/login', (c) => submitLogin(options, c));
  app.post('/logout', (c) => logout(options, c));
  app.get('/', (c) => home(options, c));
  app.post('/dashboard/devices/revoke', (c) => revokeDevice(options, c));
  app.get('/account/password', (c) => passwordForm(options, c));
  app.post('/account/password', (c) => changePassword(options, c));
  app.get('/dashboard/sites/:name', (c) => siteVersionsPage(options, c));
  app.get('/dashboard/sites/:name/versions/:version', (c) => oldVersion(options, c));
  app.get('/dashboard/sites/:name/versions/:version/:action{compare}', (c) => compareVersion(options, c));
  app.post('/dashboard/sites/:name/versions/:version/:action{restore}', (c) => restoreVersion(options, c));
  app.get('/dashboard/sites/:name/delete', (c) => confirmDeleteSite(options, c));
  app.get('/dashboard/sites/:name/edit', (c) => editSite(options, c));
  app.post('/dashboard/sites/:name/delete', (c) => deleteSite(options, c));
  app.get('/dashboard/deleted', (c) => deletedSites(options, c));
  app.post('/dashboard/deleted/:name/restore', (c) => restoreDeletedSite(options, c));
  app.get('/dashboard/files', (c) => browseFiles(options, c));
  app.get('/dashboard/files/*', (c) => browseFiles(options, c));
  app.get('/dashboard/image/*', (c) => uploadImage(options, c));
  app.get('/dashboard/uploads/delete', (c) => confirmDeleteUpload(options, c));
  app.post('/dashboard/uploads/delete', (c) => deleteUpload(options, c));
  app.post('/save/:name', (c) => saveSite(options, c));
  // Sites by path only redirect to their own host: `/<name>`, `/<name>/`, `/<name>/<upload path>`.
  app.get('/:name', (c) => redirectToSiteHost(options, c, c.req.param('name')));
  app.get('/:name/*', (c) => redirectToSiteHost(options, c, c.req.param('name')));
  app.onError((error, c) => {
    if (error instanceof PlatformError) return errorHtml(c, error.status, 'Refused', error.message);
    options.log(`error ${c.req.method} ${new URL(c.req.url).pathname}: ${error.message}`);
    return errorHtml(c, 500, 'Something went wrong', 'The server failed on this request. The log has the details.');
  });
  return { siteHost: siteHost(options), routes: app };
}
