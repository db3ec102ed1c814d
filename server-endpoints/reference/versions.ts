// A site's history from the dashboard: compare a version with the current content, restore a version, list the
// deleted sites and restore one. Every restore is a new version written as the save endpoint writes, so every
// client gets it through the change feed.

import type { Context } from 'hono';
import type { BlankEnv } from 'hono/types';
import { checkSiteName } from '../../protocol/index.js';
import type { SyncStorage } from '../types.js';
import { sessionOrLogin } from './dashboard.js';
import { lineDiff } from './diff.js';
import { csrfFor, formSession } from './guards.js';
import { comparePage, deletedSitesPage } from './pages-versions.js';
import type { PlatformOptions } from './platform.js';
import { errorHtml, notYourSite, pageResponse } from './respond.js';
import { platformWrite } from './save.js';

type VersionContext = Context<BlankEnv, '/dashboard/sites/:name/versions/:version/:action'>;
type DeletedContext = Context<BlankEnv, '/dashboard/deleted/:name/restore'>;

/** How many deleted sites the page lists (the most recent first). */
const DELETED_LISTED = 200;

function siteAndVersion(c: VersionContext): { name: string; version: number } | null {
  const name = c.req.param('name');
  const version = Number(c.req.param('version'));
  return checkSiteName(name).ok && Number.isSafeInteger(version) && version >= 1 ? { name, version } : null;
}

/** GET /dashboard/sites/:name/versions/:version/compare: that version against the current content, as escaped lines. */
export async function compareVersion(options: PlatformOptions, c: VersionContext): Promise<Response> {
  const session = sessionOrLogin(options, c);
  if (session instanceof Response) return session;
  const wanted = siteAndVersion(c);
  if (!wanted) return errorHtml(c, 404, 'Not found', 'There is no such version.');
  const file = { kind: 'site' as const, key: wanted.name };
  const old = await options.storage.readVersion(session.account.id, file, wanted.version);
  if (!old) return errorHtml(c, 404, 'Not found', `The site "${wanted.name}" has no version ${wanted.version}.`);
  const current = await options.storage.readFile(session.account.id, file);
  const diff = lineDiff(old.toString('utf8'), current?.content.toString('utf8') ?? '');
  const page = comparePage({ ...wanted, current: current?.entry.version ?? null, diff });
  return pageResponse(c, 200, page);
}

/** The site's newest kept version and its content (a deleted site's last content is its newest version). */
async function lastVersion(storage: SyncStorage, accountId: string, name: string) {
  const versions = await storage.versions(accountId, { kind: 'site', key: name });
  const newest = versions?.reduce((a, b) => (b.version > a.version ? b : a));
  if (!newest) return null;
  const content = await storage.readVersion(accountId, { kind: 'site', key: name }, newest.version);
  return content ? { version: newest.version, content } : null;
}

/** POST /dashboard/sites/:name/versions/:version/restore: that version's content becomes the newest version. */
export async function restoreVersion(options: PlatformOptions, c: VersionContext): Promise<Response> {
  const { account } = (await formSession(options, c)).session;
  const wanted = siteAndVersion(c);
  if (!wanted) return errorHtml(c, 404, 'Not found', 'There is no such version.');
  const file = { kind: 'site' as const, key: wanted.name };
  const current = await options.storage.readFile(account.id, file);
  if (!current) return notYourSite(c, wanted.name);
  const content = await options.storage.readVersion(account.id, file, wanted.version);
  if (!content) return errorHtml(c, 404, 'Not found', `The site "${wanted.name}" has no version ${wanted.version}.`);
  const written = await platformWrite(options, account, { key: wanted.name, path: current.entry.path }, content);
  options.log(
    `site restored account=${account.id} site=${wanted.name} from v${wanted.version} as v${written.entry.version ?? 0}`,
  );
  return c.redirect(`/dashboard/sites/${wanted.name}?restored=${wanted.version}`, 303);
}

/** GET /dashboard/deleted: the account's deleted sites, each with Restore. */
export async function deletedSites(options: PlatformOptions, c: Context): Promise<Response> {
  const session = sessionOrLogin(options, c);
  if (session instanceof Response) return session;
  const sites = await options.storage.deletedSites(session.account.id, DELETED_LISTED);
  const restored = c.req.query('restored');
  const page = deletedSitesPage({
    sites,
    csrf: csrfFor(options.csrfKey, session.cookie),
    ...(restored && checkSiteName(restored).ok ? { notice: `Restored the site "${restored}".` } : {}),
  });
  return pageResponse(c, 200, page);
}

/** POST /dashboard/deleted/:name/restore: the deleted site's last content written back, at its old path. */
export async function restoreDeletedSite(options: PlatformOptions, c: DeletedContext): Promise<Response> {
  const { account } = (await formSession(options, c)).session;
  const name = c.req.param('name');
  if (!checkSiteName(name).ok) return notYourSite(c, name);
  const tombstone = (await options.storage.deletedSites(account.id, DELETED_LISTED)).find((e) => e.name === name);
  if (!tombstone) return errorHtml(c, 404, 'Not found', `You have no deleted site named "${name}".`);
  const last = await lastVersion(options.storage, account.id, name);
  if (!last) return errorHtml(c, 404, 'Not found', `The site "${name}" has no content left to restore.`);
  const written = await platformWrite(options, account, { key: name, path: tombstone.path }, last.content);
  options.log(
    `site undeleted account=${account.id} site=${name} from v${last.version} as v${written.entry.version ?? 0}`,
  );
  return c.redirect(`/dashboard/deleted?restored=${encodeURIComponent(name)}`, 303);
}
