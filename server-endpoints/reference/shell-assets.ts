// The dashboard's app shell as text: its stylesheet, its one small script, and its service worker's script.

import { createHash } from 'node:crypto';

/** The platform's pages: one stylesheet, phone first (390 px) and roomier from 700 px. */
export const APP_CSS = `:root { --accent: #2b59c3; --bg: #f5f6f8; --fg: #1d2330; --muted: #5f6b7a; --line: #dde2e8;
  --card: #fff; --danger: #b00020; --add: #e6f4ea; --del: #fde8ea; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
header.top { background: var(--accent); color: #fff; }
header.top .bar { max-width: 64rem; margin: 0 auto; padding: .5rem 1rem; display: flex; flex-wrap: wrap;
  align-items: center; gap: .4rem 1rem; }
header.top a { color: #fff; text-decoration: none; }
header.top .brand { font-weight: 650; margin-right: .5rem; }
header.top nav { display: flex; gap: 1rem; }
header.top nav a { opacity: .9; } header.top nav a:hover { opacity: 1; text-decoration: underline; }
.search-slot { flex: 1 1 10rem; min-width: 0; }
main { max-width: 64rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.35rem; margin: .6rem 0; overflow-wrap: anywhere; } h2 { font-size: 1.1rem; margin-top: 1.8rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .8rem 1rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; background: var(--card); }
td, th { text-align: left; padding: .45rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td { overflow-wrap: anywhere; }
.error { color: var(--danger); } .muted { color: var(--muted); } form.inline { display: inline; }
label { display: block; margin: .5rem 0; }
input[type=email], input[type=password] { width: 100%; max-width: 20rem; padding: .4rem; font: inherit; }
button, .button { font: inherit; padding: .35rem .9rem; cursor: pointer; border: 1px solid var(--line);
  border-radius: 6px; background: var(--card); color: var(--fg); text-decoration: none; display: inline-block; }
button.danger, .button.danger { border-color: var(--danger); color: var(--danger); }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin: .6rem 0; }
td.actions { display: table-cell; margin: 0; } td.actions > * { margin-right: .6rem; }
.crumbs { margin: .3rem 0; overflow-wrap: anywhere; }
ul.tree { list-style: none; padding: 0; margin: 0; background: var(--card); border: 1px solid var(--line);
  border-radius: 8px; }
ul.tree li { display: flex; gap: .6rem; align-items: baseline; padding: .5rem .8rem; border-bottom: 1px solid var(--line); }
ul.tree li:last-child { border-bottom: 0; }
ul.tree .kind { width: 3.5rem; flex: none; font-size: .8rem; color: var(--muted); text-transform: uppercase; }
ul.tree .name { flex: 1; overflow-wrap: anywhere; }
ul.tree .meta { color: var(--muted); font-size: .85rem; white-space: nowrap; }
pre.text, pre.diff { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .7rem;
  overflow-x: auto; font-size: .85rem; line-height: 1.4; white-space: pre-wrap; overflow-wrap: anywhere; }
pre.diff span { display: block; } pre.diff .add { background: var(--add); } pre.diff .del { background: var(--del); }
article.markdown { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .2rem 1rem;
  overflow-wrap: anywhere; }
article.markdown pre { overflow-x: auto; background: var(--bg); padding: .5rem; }
article.markdown img { max-width: 100%; }
img.preview { max-width: 100%; height: auto; background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
#notice { background: #e8f0fe; border-radius: 6px; padding: .5rem .8rem; }
@media (max-width: 600px) {
  main { padding: .7rem; } td, th { padding: .4rem .3rem; font-size: .9rem; }
  table.stack thead { display: none; }
  table.stack tr { display: block; border-bottom: 1px solid var(--line); padding: .3rem 0; }
  table.stack td { display: block; border: 0; padding: .15rem .5rem; }
  ul.tree .meta { display: none; }
}
`;

/** Registers the service worker and shows every `<time datetime>` in the viewer's own time zone. */
export const APP_JS = `// Hyperclay dashboard: the service worker (offline shell) and local times. Nothing else runs on these pages.
'use strict';
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(function () {});
}
document.querySelectorAll('time[datetime]').forEach(function (el) {
  var at = new Date(el.getAttribute('datetime'));
  if (isNaN(at.getTime())) return;
  el.title = el.getAttribute('datetime');
  el.textContent = at.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
});
`;

/** What the service worker keeps: static files and the offline page, never a page with an account's data. */
export const SHELL_PATHS = [
  '/app.css',
  '/app.js',
  '/manifest.webmanifest',
  '/dashboard/offline',
  '/assets/icon-192.png',
  '/assets/icon-512.png',
  '/assets/maskable-512.png',
];

/** A new shell gets a new cache name, so an updated worker drops the old files. */
const SHELL_VERSION = createHash('sha256').update(APP_CSS).update(APP_JS).digest('hex').slice(0, 12);

/**
 * The service worker: keeps the shell; signed-in pages always come from the network (never cached, so nothing
 * of one account is ever shown to another), and only when the network fails does a page become the offline page.
 * The sign-in pages (`/sync/*`, `/device`) are never touched: their fetch-metadata checks see the browser's own
 * navigation.
 */
export const SERVICE_WORKER_JS = `// Hyperclay dashboard service worker: the app shell offline; never caches a signed-in page.
'use strict';
var CACHE = 'hyperclay-shell-${SHELL_VERSION}';
var SHELL = ${JSON.stringify(SHELL_PATHS)};
self.addEventListener('install', function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(SHELL); }).then(function () {
    return self.skipWaiting();
  }));
});
self.addEventListener('activate', function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (key) { return key !== CACHE; }).map(function (key) {
      return caches.delete(key);
    }));
  }).then(function () { return self.clients.claim(); }));
});
self.addEventListener('fetch', function (event) {
  var request = event.request;
  if (request.method !== 'GET') return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.indexOf('/sync/') === 0 || url.pathname === '/device') return;
  if (SHELL.indexOf(url.pathname) !== -1 && url.search === '') {
    event.respondWith(caches.open(CACHE).then(function (cache) {
      return cache.match(url.pathname).then(function (hit) { return hit || fetch(request); });
    }));
    return;
  }
  if (request.mode === 'navigate') {
    event.respondWith(fetch(request).catch(function () {
      return caches.open(CACHE).then(function (cache) { return cache.match('/dashboard/offline'); });
    }));
  }
});
`;
