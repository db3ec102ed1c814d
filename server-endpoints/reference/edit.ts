// Editing a site in the browser, on the site's own origin: the dashboard's Edit goes through the site's pass to
// `/?edit`, where the owner (and only the owner, by the pass) gets the page with one platform script added that
// makes the body editable and saves through POST /save/<name>, exactly as a self-saving site saves itself.

import type { Context } from 'hono';
import type { BlankEnv } from 'hono/types';
import { ownLiveSite } from './dashboard.js';
import type { PlatformOptions } from './platform.js';
import { ownerRedirect, passAccount } from './site-pass.js';

/** On a site's host only; a path segment holding ":" is never an upload's, so it shadows none. */
export const EDIT_SCRIPT_PATH = '/hyperclay:edit.js';
/** Marks what the editor adds to the page, so a save leaves it out. */
const MARK = 'data-hyperclay-edit';

/**
 * The editor: the body becomes contentEditable; a small bar (outside the saved document) holds Save, which posts
 * the page as it now is, without the bar, this script or the editable flag, to the site's own save endpoint.
 */
export const EDIT_JS = `// Hyperclay: edit this page in place and save it to the platform (the owner only, on the site's own origin).
(function () {
  'use strict';
  var MARK = '${MARK}';
  var name = location.hostname.split('.')[0];
  function serialize() {
    var root = document.documentElement.cloneNode(true);
    root.querySelectorAll('[' + MARK + ']').forEach(function (el) { el.remove(); });
    var body = root.querySelector('body');
    if (body) body.removeAttribute('contenteditable');
    var type = document.doctype;
    return (type ? '<!DOCTYPE ' + type.name + '>\\n' : '') + root.outerHTML;
  }
  function start() {
    document.body.contentEditable = 'true';
    var bar = document.createElement('div');
    bar.setAttribute(MARK, '');
    bar.contentEditable = 'false';
    bar.style.cssText = 'position:fixed;z-index:2147483647;right:12px;bottom:12px;display:flex;gap:10px;' +
      'align-items:center;padding:8px 12px;background:#2b59c3;color:#fff;font:14px/1.4 system-ui,sans-serif;' +
      'border-radius:8px;box-shadow:0 2px 10px rgba(0,0,0,.3)';
    var state = document.createElement('span');
    state.id = 'hyperclay-edit-state';
    state.textContent = 'Editing';
    var save = document.createElement('button');
    save.type = 'button';
    save.id = 'hyperclay-save';
    save.textContent = 'Save';
    var done = document.createElement('a');
    done.href = '/';
    done.textContent = 'Done';
    done.style.color = '#fff';
    bar.append(state, save, done);
    document.body.appendChild(bar);
    save.addEventListener('click', function () {
      state.textContent = 'Saving…';
      fetch('/save/' + encodeURIComponent(name), {
        method: 'POST',
        headers: { 'content-type': 'text/html; charset=utf-8' },
        body: serialize(),
      }).then(function (reply) {
        return reply.json().then(function (answer) {
          if (!reply.ok) throw new Error((answer.error && answer.error.message) || 'HTTP ' + reply.status);
          state.textContent = answer.outcome === 'unchanged' ? 'No changes' : 'Saved';
        });
      }).catch(function (error) {
        state.textContent = 'Not saved: ' + error.message;
      });
    });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
`;

/** The site's HTML with the editor added at the end (the parser puts it at the end of the body). */
export function withEditor(html: Buffer): Buffer {
  return Buffer.concat([html, Buffer.from(`\n<script src="${EDIT_SCRIPT_PATH}" ${MARK}></script>\n`)]);
}

/** Whether this request on site `name`'s host may edit it: `?edit`, and the pass of the site's owner. */
export function wantsEditor(options: PlatformOptions, c: Context, name: string, owner: string): boolean {
  if (c.req.query('edit') === undefined) return false;
  return passAccount(options.sitePassKey, options.accounts, name, c.req.raw)?.id === owner;
}

export function editScript(c: Context): Response {
  c.header('Content-Type', 'text/javascript; charset=utf-8');
  c.header('X-Content-Type-Options', 'nosniff');
  c.header('Cache-Control', 'no-cache');
  return c.body(EDIT_JS, 200);
}

/** GET /dashboard/sites/:name/edit: the owner, signed in, goes to the site's own host in edit mode. */
export async function editSite(options: PlatformOptions, c: Context<BlankEnv, '/dashboard/sites/:name/edit'>) {
  const site = await ownLiveSite(options, c);
  if (site instanceof Response) return site;
  return ownerRedirect(options, c, site.name, site.session.cookie, '/?edit');
}
