// The reference platform's own HTML pages (login, dashboard, versions, errors): markup only, every echoed value escaped.

import type { Entry, VersionInfo } from '../../protocol/index.js';
import { escapeHtml, escapeName } from '../auth/pages.js';
import type { Account, DeviceConnection } from '../types.js';

/** Pages of the platform itself: no scripts, no framing, forms post only to this origin. */
export const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const STYLE = `
  body { font: 15px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  h1 { font-size: 1.4rem; } table { border-collapse: collapse; width: 100%; }
  td, th { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #ddd; vertical-align: top; }
  .error { color: #b00020; } .muted { color: #666; } form.inline { display: inline; }
  label { display: block; margin: .5rem 0; } input[type=email], input[type=password] { width: 18rem; padding: .3rem; }
  h2 { font-size: 1.1rem; margin-top: 2rem; }
  button { padding: .3rem .8rem; cursor: pointer; }
`;

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Hyperclay (reference)</title><style>${STYLE}</style></head>
<body>${body}</body></html>`;
}

export function loginPage(options: { next: string; email?: string; error?: string }): string {
  const error = options.error ? `<p class="error" id="error" role="alert">${escapeHtml(options.error)}</p>` : '';
  return layout(
    'Sign in',
    `<h1>Sign in to Hyperclay</h1>${error}
<form method="post" action="/login">
  <input type="hidden" name="next" value="${escapeHtml(options.next)}">
  <label>Email <input type="email" name="email" autocomplete="username" required value="${escapeHtml(options.email ?? '')}"></label>
  <label>Password <input type="password" name="password" autocomplete="current-password" required></label>
  <button type="submit">Sign in</button>
</form>`,
  );
}

function logoutForm(csrf: string): string {
  return `<form class="inline" method="post" action="/logout"><input type="hidden" name="csrf" value="${escapeHtml(csrf)}"><button type="submit">Sign out</button></form>`;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

const limitText = (value: number | null, format: (n: number) => string = String): string =>
  value === null ? 'unlimited' : format(value);

export interface DashboardData {
  account: Account;
  sites: Entry[];
  /** The account's signed-in sync devices. */
  devices: DeviceConnection[];
  uploads: number;
  usage: { sites: number; storageBytes: number };
  csrf: string;
  /** `http://<name>.localhost:<port>/` for a site, when the server knows its port. */
  subdomainUrl: (name: string) => string | null;
  notice?: string;
}

export function dashboardPage(data: DashboardData): string {
  const { account } = data;
  const rows = data.sites
    .map((site) => {
      const name = site.name ?? '';
      const sub = data.subdomainUrl(name);
      const subLink = sub ? ` · <a href="${escapeHtml(sub)}">${escapeHtml(new URL(sub).host)}</a>` : '';
      return `<tr data-site="${escapeHtml(name)}">
  <td><a href="/${escapeHtml(name)}">${escapeHtml(name)}</a>${subLink}<br><span class="muted">${escapeName(site.path)}</span></td>
  <td>v${site.version ?? 0} · ${formatBytes(site.size ?? 0)}<br><span class="muted">${escapeHtml(site.updatedAt)}</span></td>
  <td><a href="/dashboard/sites/${escapeHtml(name)}">versions</a></td>
  <td><form class="inline" method="post" action="/dashboard/sites/${escapeHtml(name)}/delete">
    <input type="hidden" name="csrf" value="${escapeHtml(data.csrf)}">
    <button type="submit" name="delete" value="${escapeHtml(name)}">Delete</button></form></td>
</tr>`;
    })
    .join('\n');
  const table =
    data.sites.length === 0
      ? '<p class="muted" id="no-sites">No sites yet. Save an .html file in your sync folder and it appears here.</p>'
      : `<table id="sites"><thead><tr><th>Site</th><th>Current</th><th></th><th></th></tr></thead><tbody>${rows}</tbody></table>`;
  const notice = data.notice ? `<p id="notice">${escapeHtml(data.notice)}</p>` : '';
  return layout(
    'Your sites',
    `<div>Signed in as <strong id="account-email">${escapeHtml(account.email)}</strong> (${escapeHtml(account.plan)} plan) ${logoutForm(data.csrf)}</div>
${notice}
<h1>Your sites</h1>
<p class="muted">Sites: ${data.usage.sites} of ${limitText(account.maxSites)} · Storage: ${formatBytes(data.usage.storageBytes)} of ${limitText(account.maxStorageBytes, formatBytes)} · Uploads: ${data.uploads}</p>
${table}
${devicesSection(data.devices, data.csrf)}
<p><a href="/account/password" id="change-password">Change password</a></p>`,
  );
}

const when = (ms: number | null): string => (ms === null ? 'not yet' : new Date(ms).toISOString());

/** The account's signed-in devices, each with a Revoke button (a lost laptop is signed out from here). */
function devicesSection(devices: DeviceConnection[], csrf: string): string {
  if (devices.length === 0) {
    return '<h2>Devices</h2><p class="muted" id="no-devices">No device is signed in to Hyperclay Sync.</p>';
  }
  const rows = devices
    .map(
      (device) => `<tr data-device="${escapeHtml(device.sid)}">
  <td class="device-name">${escapeName(device.deviceName)}</td>
  <td>${escapeHtml(when(device.signedInAtMs))}</td><td class="last-seen">${escapeHtml(when(device.lastSeenAtMs))}</td>
  <td><form class="inline" method="post" action="/dashboard/devices/revoke">
    <input type="hidden" name="csrf" value="${escapeHtml(csrf)}">
    <input type="hidden" name="sid" value="${escapeHtml(device.sid)}">
    <button type="submit">Revoke</button></form></td>
</tr>`,
    )
    .join('\n');
  return `<h2>Devices</h2>
<table id="devices"><thead><tr><th>Device</th><th>Signed in</th><th>Last seen</th><th></th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** The password change form: the current password, the new one twice. */
export function passwordPage(options: { csrf: string; error?: string }): string {
  const error = options.error ? `<p class="error" id="error" role="alert">${escapeHtml(options.error)}</p>` : '';
  return layout(
    'Change password',
    `<p><a href="/">← Your sites</a></p><h1>Change password</h1>${error}
<p class="muted">Every device signed in to Hyperclay Sync, and every other browser, is signed out.</p>
<form method="post" action="/account/password">
  <input type="hidden" name="csrf" value="${escapeHtml(options.csrf)}">
  <label>Current password <input type="password" name="current" autocomplete="current-password" required></label>
  <label>New password <input type="password" name="password" autocomplete="new-password" required minlength="8"></label>
  <label>New password again <input type="password" name="confirm" autocomplete="new-password" required minlength="8"></label>
  <button type="submit">Change password</button>
</form>`,
  );
}

/** A short page that says what happened, with the way back. */
export function messagePage(title: string, sentences: string[]): string {
  const body = sentences.map((sentence) => `<p id="message">${escapeName(sentence)}</p>`).join('');
  return layout(title, `<h1>${escapeHtml(title)}</h1>${body}<p><a href="/">← Your sites</a></p>`);
}

export function signedOutHome(): string {
  return layout(
    'Hyperclay',
    `<h1>Hyperclay (reference server)</h1>
<p>Sign in to see your sites. <a href="/login" id="login-link">Sign in</a></p>`,
  );
}

export function versionsPage(data: { name: string; current: Entry | null; versions: VersionInfo[] }): string {
  const name = escapeHtml(data.name);
  const rows = [...data.versions]
    .sort((a, b) => b.version - a.version)
    .map(
      (
        v,
      ) => `<tr data-version="${v.version}"><td><a href="/dashboard/sites/${name}/versions/${v.version}">v${v.version}</a></td>
  <td>${formatBytes(v.size)}</td><td>${escapeHtml(v.updatedAt)}</td><td class="muted">${escapeHtml(v.sha256.slice(0, 12))}</td></tr>`,
    )
    .join('\n');
  const current = data.current
    ? `<p>Current: <a href="/${name}">v${data.current.version ?? 0}</a>, ${formatBytes(data.current.size ?? 0)}, saved ${escapeHtml(data.current.updatedAt)}</p>`
    : '<p class="muted">This site has been deleted; its versions are kept.</p>';
  const table =
    data.versions.length === 0
      ? '<p class="muted" id="no-versions">No earlier versions yet.</p>'
      : `<table id="versions"><thead><tr><th>Version</th><th>Size</th><th>Saved</th><th>sha256</th></tr></thead><tbody>${rows}</tbody></table>`;
  return layout(
    `${data.name}: versions`,
    `<p><a href="/">← Your sites</a></p><h1>${name}</h1>${current}<h2>Versions</h2>${table}`,
  );
}

export function errorPage(status: number, title: string, message: string): string {
  return layout(
    title,
    `<h1>${escapeHtml(title)}</h1><p class="error" id="error">${escapeName(message)}</p><p class="muted">HTTP ${status} · <a href="/">Home</a></p>`,
  );
}
