// The reference platform's own HTML pages (login, dashboard, versions, errors): markup only, every echoed value escaped.

import type { Entry } from '../../protocol/index.js';
import { escapeHtml, escapeName } from '../auth/pages.js';
import type { Account, DeviceConnection } from '../types.js';
import { THEME_COLOR } from './icons.js';
import { APP_CSS } from './shell-assets.js';

/**
 * Pages of the platform itself: scripts and styles from this origin only (the shell's one script, never inline),
 * no framing, forms post only to this origin.
 */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; manifest-src 'self'; worker-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** The error pages a site's host answers with: no script at all, their style inline (nothing of the shell there). */
export const SITE_PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const NAV = `<nav><a href="/">Sites</a><a href="/dashboard/files" id="nav-files">Files</a><a href="/dashboard/deleted" id="nav-deleted">Deleted</a></nav>
<div class="search-slot" id="search-slot"></div>`;

/**
 * A whole page. On the platform: the shell's stylesheet, script and manifest, the header with its nav (and an
 * empty place for the search box). On a site's host (`onSite`): the same look inline, no script, no nav.
 */
export function layout(title: string, body: string, options: { onSite?: boolean } = {}): string {
  const head = options.onSite
    ? `<style>${APP_CSS}</style>`
    : `<link rel="stylesheet" href="/app.css"><link rel="manifest" href="/manifest.webmanifest">
<meta name="theme-color" content="${THEME_COLOR}"><link rel="icon" href="/assets/icon-192.png">
<link rel="apple-touch-icon" href="/assets/icon-192.png"><script src="/app.js" defer></script>`;
  const nav = options.onSite ? '' : NAV;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Hyperclay (reference)</title>${head}</head>
<body><header class="top"><div class="bar"><a class="brand" href="/">Hyperclay</a>${nav}</div></header>
<main>${body}</main></body></html>`;
}

/** A moment as `<time>`: the ISO text, which the shell's script shows in the viewer's local time. */
export function timeTag(iso: string): string {
  return `<time datetime="${escapeHtml(iso)}">${escapeHtml(iso)}</time>`;
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

export function formatBytes(bytes: number): string {
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
      const href = `/dashboard/sites/${escapeHtml(name)}`;
      return `<tr data-site="${escapeHtml(name)}">
  <td><a href="/${escapeHtml(name)}">${escapeHtml(name)}</a>${subLink}<br><span class="muted">${escapeName(site.path)}</span></td>
  <td>v${site.version ?? 0} · ${formatBytes(site.size ?? 0)}<br><span class="muted">${timeTag(site.updatedAt)}</span></td>
  <td class="actions"><a href="${href}/edit" class="edit">Edit</a> <a href="${href}">versions</a>
  <a href="${href}/delete" class="delete">Delete…</a></td>
</tr>`;
    })
    .join('\n');
  const table =
    data.sites.length === 0
      ? '<p class="muted" id="no-sites">No sites yet. Save an .html file in your sync folder and it appears here.</p>'
      : `<div class="scroll"><table id="sites" class="stack"><thead><tr><th>Site</th><th>Current</th><th></th></tr></thead><tbody>${rows}</tbody></table></div>`;
  const notice = data.notice ? `<p id="notice">${escapeHtml(data.notice)}</p>` : '';
  return layout(
    'Your sites',
    `<div>Signed in as <strong id="account-email">${escapeHtml(account.email)}</strong> (${escapeHtml(account.plan)} plan) ${logoutForm(data.csrf)}</div>
${notice}
<h1>Your sites</h1>
<p class="muted">Sites: ${data.usage.sites} of ${limitText(account.maxSites)} · Storage: ${formatBytes(data.usage.storageBytes)} of ${limitText(account.maxStorageBytes, formatBytes)} · Uploads: ${data.uploads}</p>
${table}
<p><a href="/dashboard/files" id="browse-files">Browse all files</a> · <a href="/dashboard/deleted">Deleted sites</a></p>
${devicesSection(data.devices, data.csrf)}
<p><a href="/account/password" id="change-password">Change password</a></p>`,
  );
}

// Plain ISO text here (not <time>): the device list's cells are read as text by support scripts and tests.
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
<div class="scroll"><table id="devices" class="stack"><thead><tr><th>Device</th><th>Signed in</th><th>Last seen</th><th></th></tr></thead><tbody>${rows}</tbody></table></div>`;
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

export function errorPage(status: number, title: string, message: string, onSite = false): string {
  const home = onSite ? '' : ' · <a href="/">Home</a>';
  return layout(
    title,
    `<h1>${escapeHtml(title)}</h1><p class="error" id="error">${escapeName(message)}</p><p class="muted">HTTP ${status}${home}</p>`,
    { onSite },
  );
}

/** What the service worker shows for a page when the network is gone: the shell, no account data. */
export function offlinePage(): string {
  return layout(
    'Offline',
    `<h1 id="offline">You are offline</h1>
<p>This page needs the network. Your sites and files are safe on the platform and in your synced folders.</p>
<p><a href="/" class="button">Try again</a></p>`,
  );
}
