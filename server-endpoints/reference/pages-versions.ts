// The HTML of a site's history: its versions (view, compare, restore), a comparison with the current content, the
// account's deleted sites (restore), and the confirmation before a delete. Every echoed value escaped.

import type { Entry, VersionInfo } from '../../protocol/index.js';
import { escapeHtml, escapeName } from '../auth/pages.js';
import type { DiffLine } from './diff.js';
import { formatBytes, layout, timeTag } from './pages.js';

const csrfField = (csrf: string): string => `<input type="hidden" name="csrf" value="${escapeHtml(csrf)}">`;

export function versionsPage(data: {
  name: string;
  current: Entry | null;
  versions: VersionInfo[];
  csrf: string;
  notice?: string;
}): string {
  const name = escapeHtml(data.name);
  const base = `/dashboard/sites/${name}`;
  const rows = [...data.versions]
    .sort((a, b) => b.version - a.version)
    .map(
      (v) => `<tr data-version="${v.version}"><td><a href="${base}/versions/${v.version}">v${v.version}</a></td>
  <td>${formatBytes(v.size)}</td><td>${timeTag(v.updatedAt)}</td><td class="muted">${escapeHtml(v.sha256.slice(0, 12))}</td>
  <td class="actions"><a href="${base}/versions/${v.version}/compare" class="compare">Compare</a>
  <form class="inline" method="post" action="${base}/versions/${v.version}/restore">${csrfField(data.csrf)}
  <button type="submit" class="restore">Restore</button></form></td></tr>`,
    )
    .join('\n');
  const current = data.current
    ? `<p>Current: <a href="/${name}">v${data.current.version ?? 0}</a>, ${formatBytes(data.current.size ?? 0)}, saved ${timeTag(data.current.updatedAt)}</p>
<p class="actions"><a href="${base}/edit" class="button">Edit</a><a href="${base}/delete" class="button danger">Delete…</a></p>`
    : '<p class="muted">This site has been deleted; its versions are kept. <a href="/dashboard/deleted">Restore it</a>.</p>';
  const table =
    data.versions.length === 0
      ? '<p class="muted" id="no-versions">No earlier versions yet.</p>'
      : `<div class="scroll"><table id="versions" class="stack"><thead><tr><th>Version</th><th>Size</th><th>Saved</th><th>sha256</th><th></th></tr></thead><tbody>${rows}</tbody></table></div>`;
  const notice = data.notice ? `<p id="notice">${escapeName(data.notice)}</p>` : '';
  return layout(
    `${data.name}: versions`,
    `<p><a href="/">← Your sites</a></p>${notice}<h1>${name}</h1>${current}<h2>Versions</h2>
<p class="muted">Restoring a version saves it as the newest one: every synced folder gets it, and the current content is kept as a version.</p>${table}`,
  );
}

/** A version against the current content, line by line; only escaped text, nothing of either is rendered. */
export function comparePage(data: { name: string; version: number; current: number | null; diff: DiffLine[] | null }) {
  const name = escapeHtml(data.name);
  const marks = { same: ' ', add: '+', del: '-' } as const;
  const changed = data.diff?.filter((line) => line.op !== 'same').length ?? 0;
  const body =
    data.diff === null
      ? '<p class="error" id="error">These versions are too large to compare line by line here.</p>'
      : `<p class="muted" id="summary">${changed === 0 ? 'No differences.' : `${changed} changed lines: - only in v${data.version}, + only in the current content.`}</p>
<pre class="diff" id="diff">${data.diff.map((line) => `<span class="${line.op}">${marks[line.op]} ${escapeName(line.text)}</span>`).join('')}</pre>`;
  const against = data.current === null ? 'the deleted site' : `the current v${data.current}`;
  return layout(
    `${data.name}: v${data.version} compared`,
    `<p><a href="/dashboard/sites/${name}">← ${name}: versions</a></p>
<h1>v${data.version} compared with ${against}</h1>${body}`,
  );
}

export function deletedSitesPage(data: { sites: Entry[]; csrf: string; notice?: string }): string {
  const rows = data.sites
    .map((site) => {
      const name = escapeHtml(site.name ?? '');
      return `<tr data-deleted-site="${name}"><td><a href="/dashboard/sites/${name}">${name}</a><br><span class="muted">${escapeName(site.path)}</span></td>
  <td>deleted ${timeTag(site.updatedAt)}</td>
  <td><form class="inline" method="post" action="/dashboard/deleted/${name}/restore">${csrfField(data.csrf)}
  <button type="submit" class="restore">Restore</button></form></td></tr>`;
    })
    .join('\n');
  const table =
    data.sites.length === 0
      ? '<p class="muted" id="no-deleted">No deleted sites.</p>'
      : `<div class="scroll"><table id="deleted" class="stack"><thead><tr><th>Site</th><th>Deleted</th><th></th></tr></thead><tbody>${rows}</tbody></table></div>`;
  const notice = data.notice ? `<p id="notice">${escapeName(data.notice)}</p>` : '';
  return layout(
    'Deleted sites',
    `${notice}<h1>Deleted sites</h1>
<p class="muted">Restoring a site writes its last content back as a new version; every synced folder gets it again.</p>${table}`,
  );
}

/** "Are you sure?": the only way to a delete from the dashboard; the form carries the login's CSRF token. */
export function confirmDeletePage(data: {
  what: string;
  action: string;
  csrf: string;
  back: string;
  fields?: Record<string, string>;
}): string {
  const fields = Object.entries(data.fields ?? {})
    .map(([field, value]) => `<input type="hidden" name="${escapeHtml(field)}" value="${escapeHtml(value)}">`)
    .join('');
  return layout(
    `Delete ${data.what}?`,
    `<h1>Delete ${escapeName(data.what)}?</h1>
<p>It disappears from every synced folder at their next sync. Its content is kept on the platform as a version.</p>
<form method="post" action="${escapeHtml(data.action)}" class="actions">${csrfField(data.csrf)}${fields}
<button type="submit" class="danger" id="confirm-delete">Delete</button>
<a href="${escapeHtml(data.back)}" class="button" id="cancel-delete">Cancel</a></form>`,
  );
}
