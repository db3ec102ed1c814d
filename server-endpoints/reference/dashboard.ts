// The signed-in dashboard: the account's sites and usage, a site's versions, an old version (sandboxed), and Delete.

import type { Context } from 'hono';
import type { BlankEnv } from 'hono/types';
import { checkSiteName, type Entry } from '../../protocol/index.js';
import type { SyncStorage } from '../types.js';
import { csrfFor, formSession, type Session, signedIn } from './guards.js';
import { dashboardPage, signedOutHome } from './pages.js';
import { confirmDeletePage, versionsPage } from './pages-versions.js';
import type { PlatformOptions } from './platform.js';
import { errorHtml, noSuchSite, notYourSite, pageResponse } from './respond.js';
import { siteOrigin } from './site-origin.js';

/** Bounded: a listing of more than this many pages is not a dashboard's job. */
const MAX_LISTING_PAGES = 100;
const LISTING_PAGE_SIZE = 1000;

type SiteContext = Context<BlankEnv, '/dashboard/sites/:name'>;
type VersionContext = Context<BlankEnv, '/dashboard/sites/:name/versions/:version'>;

/** Every live entry of the account (folders, sites, uploads), from the storage's complete listing. */
export async function allEntries(storage: SyncStorage, accountId: string): Promise<Entry[]> {
  const entries: Entry[] = [];
  let continuation: string | null = null;
  for (let page = 0; page < MAX_LISTING_PAGES; page++) {
    const listing = await storage.listing(accountId, continuation, LISTING_PAGE_SIZE);
    if (!listing) break;
    entries.push(...listing.entries.filter((entry) => !entry.deleted));
    if (listing.next === null) break;
    continuation = listing.next;
  }
  return entries;
}

/** The account's live sites by name, and how many uploads it has. */
async function allSites(storage: SyncStorage, accountId: string): Promise<{ sites: Entry[]; uploads: number }> {
  const entries = await allEntries(storage, accountId);
  const sites = entries.filter((entry) => entry.kind === 'site');
  sites.sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''));
  return { sites, uploads: entries.filter((entry) => entry.kind === 'upload').length };
}

/** The signed-in session, or the redirect to the login that comes back to this page. */
export function sessionOrLogin(options: PlatformOptions, c: Context): Session | Response {
  return (
    signedIn(options.accounts, c) ?? c.redirect(options.accounts.identity.loginUrl(new URL(c.req.url).pathname), 303)
  );
}

/** What the action that led back here did: a site deleted, a device revoked. */
function notice(c: Context): { notice?: string } {
  const deleted = c.req.query('deleted');
  if (deleted && checkSiteName(deleted).ok) return { notice: `Deleted the site "${deleted}".` };
  if (c.req.query('revoked') === '1') return { notice: 'The device is signed out. It must sign in again to sync.' };
  return {};
}

/** GET /: the dashboard when signed in, else a link to sign in. */
export async function home(options: PlatformOptions, c: Context): Promise<Response> {
  const session = signedIn(options.accounts, c);
  if (!session) return pageResponse(c, 200, signedOutHome());
  const { account, cookie } = session;
  const [{ sites, uploads }, usage, devices] = await Promise.all([
    allSites(options.storage, account.id),
    options.storage.usage(account.id),
    options.authStore.connections(account.id),
  ]);
  const port = options.port();
  const page = dashboardPage({
    account,
    sites,
    devices,
    uploads,
    usage,
    csrf: csrfFor(options.csrfKey, cookie),
    subdomainUrl: (name) => (port === null ? null : `${siteOrigin(port, c, name)}/`),
    ...notice(c),
  });
  return pageResponse(c, 200, page);
}

/** GET /dashboard/sites/:name: the current version and the earlier ones. */
export async function siteVersionsPage(options: PlatformOptions, c: SiteContext): Promise<Response> {
  const session = sessionOrLogin(options, c);
  if (session instanceof Response) return session;
  const name = c.req.param('name');
  if (!checkSiteName(name).ok) return noSuchSite(c, name);
  const versions = await options.storage.versions(session.account.id, { kind: 'site', key: name });
  if (!versions) return notYourSite(c, name);
  const current = await options.storage.readFile(session.account.id, { kind: 'site', key: name });
  const restored = Number(c.req.query('restored'));
  const page = versionsPage({
    name,
    current: current?.entry ?? null,
    versions,
    csrf: csrfFor(options.csrfKey, session.cookie),
    ...(Number.isSafeInteger(restored) && restored > 0
      ? { notice: `Restored v${restored} as the current version.` }
      : {}),
  });
  return pageResponse(c, 200, page);
}

/** GET /dashboard/sites/:name/versions/:version: an earlier version's HTML. */
export async function oldVersion(options: PlatformOptions, c: VersionContext): Promise<Response> {
  const session = sessionOrLogin(options, c);
  if (session instanceof Response) return session;
  const name = c.req.param('name');
  const version = Number(c.req.param('version'));
  if (!checkSiteName(name).ok || !Number.isSafeInteger(version) || version < 1) {
    return errorHtml(c, 404, 'Not found', 'There is no such version.');
  }
  const content = await options.storage.readVersion(session.account.id, { kind: 'site', key: name }, version);
  if (!content) return errorHtml(c, 404, 'Not found', `The site "${name}" has no version ${version}.`);
  // An old version is shown, never run: on the platform's origin its scripts could act for the viewer.
  c.header('Content-Security-Policy', 'sandbox');
  c.header('Content-Type', 'text/html; charset=utf-8');
  c.header('X-Content-Type-Options', 'nosniff');
  return c.body(new Uint8Array(content), 200);
}

/** The signed-in owner's live site named in the path, or the page that says why not (login, 404). */
export async function ownLiveSite(
  options: PlatformOptions,
  c: Context<BlankEnv, '/dashboard/sites/:name/delete' | '/dashboard/sites/:name/edit'>,
): Promise<{ session: Session; name: string } | Response> {
  const session = sessionOrLogin(options, c);
  if (session instanceof Response) return session;
  const name = c.req.param('name');
  if (!checkSiteName(name).ok) return noSuchSite(c, name);
  const current = await options.storage.readFile(session.account.id, { kind: 'site', key: name });
  return current ? { session, name } : notYourSite(c, name);
}

/** GET /dashboard/sites/:name/delete: the confirmation before a site's Delete. */
export async function confirmDeleteSite(options: PlatformOptions, c: SiteContext): Promise<Response> {
  const site = await ownLiveSite(options, c);
  if (site instanceof Response) return site;
  const { session, name } = site;
  const page = confirmDeletePage({
    what: `the site "${name}"`,
    action: `/dashboard/sites/${name}/delete`,
    csrf: csrfFor(options.csrfKey, session.cookie),
    back: '/',
  });
  return pageResponse(c, 200, page);
}

/** POST /dashboard/sites/:name/delete: a tombstone for the site, as clients see it at their next poll. */
export async function deleteSite(options: PlatformOptions, c: SiteContext): Promise<Response> {
  const { session } = await formSession(options, c);
  const name = c.req.param('name');
  if (!checkSiteName(name).ok) return noSuchSite(c, name);
  const tombstone = await options.storage.deleteEntry(session.account.id, 'site', name);
  if (!tombstone) return notYourSite(c, name);
  options.log(`site deleted account=${session.account.id} site=${name}`);
  return c.redirect(`/?deleted=${encodeURIComponent(name)}`, 303);
}
