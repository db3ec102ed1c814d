// The dashboard's file browser: the account's folders, sites and uploads as a tree, a file's preview, its images
// (image types only, sandboxed), and the Delete of an upload behind a confirmation.

import type { Context } from 'hono';
import { type Entry, encodePath, escapeInvisible, folderOf } from '../../protocol/index.js';
import { allEntries, sessionOrLogin } from './dashboard.js';
import { csrfFor, formSession, signedIn } from './guards.js';
import { extensionOf, filePage, filesHref, folderPage, IMAGE_EXTENSIONS } from './pages-files.js';
import { confirmDeletePage } from './pages-versions.js';
import type { PlatformOptions } from './platform.js';
import { errorHtml, pageResponse } from './respond.js';
import { siteOrigin } from './site-origin.js';
import { contentTypeOf, uploadPathOf } from './sites.js';

const BROWSE_PREFIX = '/dashboard/files';
const IMAGE_PREFIX = '/dashboard/image/';

/** The platform path after `prefix` in the request's URL ('' for the root); null when it breaks the path rules. */
function pathAfter(c: Context, prefix: string): string | null {
  const rest = new URL(c.req.url).pathname.slice(prefix.length).replace(/^\/|\/$/g, '');
  return rest === '' ? '' : uploadPathOf(rest);
}

/** A folder's children: its entries, and the folders its deeper entries imply (a path may arrive before its folder). */
function childrenOf(entries: Entry[], folder: string): Entry[] {
  const children = new Map<string, Entry>();
  const prefix = folder === '' ? '' : `${folder}/`;
  for (const entry of entries) {
    if (!entry.path.startsWith(prefix)) continue;
    const slash = entry.path.indexOf('/', prefix.length);
    if (slash === -1) children.set(entry.path, entry);
    else {
      const path = entry.path.slice(0, slash);
      if (!children.has(path)) children.set(path, { kind: 'folder', path, updatedAt: entry.updatedAt, seq: 0 });
    }
  }
  return [...children.values()];
}

/** GET /dashboard/files[/<path>]: a folder's level of the tree, or a file with its preview. */
export async function browseFiles(options: PlatformOptions, c: Context): Promise<Response> {
  const session = sessionOrLogin(options, c);
  if (session instanceof Response) return session;
  const path = pathAfter(c, BROWSE_PREFIX);
  if (path === null) return errorHtml(c, 404, 'Not found', 'That path breaks the platform path rules.');
  const entries = await allEntries(options.storage, session.account.id);
  const file = entries.find((entry) => entry.path === path && entry.kind !== 'folder');
  if (file) {
    const key = file.kind === 'site' ? (file.name ?? '') : file.path;
    const stored = await options.storage.readFile(session.account.id, { kind: file.kind as 'site' | 'upload', key });
    if (!stored) return errorHtml(c, 404, 'Not found', `"${path}" has just been deleted.`);
    const port = options.port();
    const siteUrl = file.kind === 'site' && port !== null ? `${siteOrigin(port, c, key)}/` : null;
    return pageResponse(c, 200, filePage({ entry: stored.entry, content: stored.content, siteUrl }));
  }
  const children = childrenOf(entries, path);
  if (path !== '' && children.length === 0 && !entries.some((entry) => entry.path === path)) {
    return errorHtml(c, 404, 'Not found', `There is nothing at "${path}".`);
  }
  // Only a platform path is ever echoed back (escaped), as the site Delete's notice echoes only a site name.
  const deleted = uploadPathOf(encodePath(c.req.query('deleted') ?? ''));
  return pageResponse(c, 200, folderPage({ path, children, ...(deleted ? { notice: `Deleted "${deleted}".` } : {}) }));
}

/**
 * GET /dashboard/image/<path>: an upload of the signed-in account, for `<img>` on the file page. Image types from
 * an allowlist only (never HTML or SVG on the platform's origin), with nosniff and a sandbox CSP should it be opened.
 */
export async function uploadImage(options: PlatformOptions, c: Context): Promise<Response> {
  const session = signedIn(options.accounts, c);
  if (!session) return errorHtml(c, 401, 'Sign in first', 'Sign in to see your files.');
  const path = pathAfter(c, IMAGE_PREFIX.slice(0, -1));
  if (!path || !IMAGE_EXTENSIONS.has(extensionOf(path))) {
    return errorHtml(c, 404, 'Not found', 'Only images are shown here.');
  }
  const stored = await options.storage.readFile(session.account.id, { kind: 'upload', key: path });
  if (!stored) return errorHtml(c, 404, 'Not found', `You have no upload at "${path}".`);
  c.header('Content-Type', contentTypeOf(path));
  c.header('X-Content-Type-Options', 'nosniff');
  c.header('Content-Security-Policy', "sandbox; default-src 'none'");
  c.header('Cross-Origin-Resource-Policy', 'same-origin');
  c.header('Cache-Control', 'private, no-store');
  return c.body(new Uint8Array(stored.content), 200);
}

/** GET /dashboard/uploads/delete?path=P: the confirmation before an upload's Delete. */
export async function confirmDeleteUpload(options: PlatformOptions, c: Context): Promise<Response> {
  const session = sessionOrLogin(options, c);
  if (session instanceof Response) return session;
  const path = uploadPathOf(encodePath(c.req.query('path') ?? ''));
  const stored = path ? await options.storage.readFile(session.account.id, { kind: 'upload', key: path }) : null;
  if (!path || !stored) return errorHtml(c, 404, 'Not found', 'You have no such upload.');
  const page = confirmDeletePage({
    what: `"${path}"`,
    action: '/dashboard/uploads/delete',
    csrf: csrfFor(options.csrfKey, session.cookie),
    back: filesHref(path),
    fields: { path },
  });
  return pageResponse(c, 200, page);
}

/** POST /dashboard/uploads/delete (CSRF token, same origin): the storage's delete, so clients get a tombstone. */
export async function deleteUpload(options: PlatformOptions, c: Context): Promise<Response> {
  const { session, form } = await formSession(options, c);
  const path = uploadPathOf(encodePath(form.get('path') ?? ''));
  const tombstone = path ? await options.storage.deleteEntry(session.account.id, 'upload', path) : null;
  if (!path || !tombstone) return errorHtml(c, 404, 'Not found', 'You have no such upload.');
  options.log(`upload deleted account=${session.account.id} path=${escapeInvisible(path)}`);
  return c.redirect(`${filesHref(folderOf(path))}?deleted=${encodeURIComponent(path)}`, 303);
}
