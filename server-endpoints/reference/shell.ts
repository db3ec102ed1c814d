// The dashboard as an installable web app: the manifest, the service worker, the stylesheet and script of the
// pages, the icons and the offline page. Static: nothing here depends on who asks.

import type { Context, Hono } from 'hono';
import { ICONS, type IconName, iconPng, THEME_COLOR } from './icons.js';
import { offlinePage } from './pages.js';
import { pageResponse } from './respond.js';
import { APP_CSS, APP_JS, SERVICE_WORKER_JS } from './shell-assets.js';

export const MANIFEST = {
  name: 'Hyperclay',
  short_name: 'Hyperclay',
  description: 'Your Hyperclay sites and files, from any device.',
  id: '/',
  start_url: '/',
  scope: '/',
  display: 'standalone',
  theme_color: THEME_COLOR,
  background_color: '#f5f6f8',
  icons: [
    { src: '/assets/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
    { src: '/assets/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
    { src: '/assets/maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
  ],
};

function asset(c: Context, type: string, body: string | Buffer, extra: Record<string, string> = {}): Response {
  c.header('Content-Type', type);
  c.header('X-Content-Type-Options', 'nosniff');
  c.header('Cross-Origin-Resource-Policy', 'same-origin');
  // Revalidated on every use: a new server's shell replaces the old one at once; the worker keeps its own copy.
  c.header('Cache-Control', 'no-cache');
  for (const [name, value] of Object.entries(extra)) c.header(name, value);
  return c.body(typeof body === 'string' ? body : new Uint8Array(body), 200);
}

/** Mounts the shell's routes; every path holds a dot or sits under a reserved name, so none shadows a site. */
export function mountShell(app: Hono): void {
  app.get('/manifest.webmanifest', (c) => asset(c, 'application/manifest+json', JSON.stringify(MANIFEST)));
  // The worker's own CSP: it may fetch this origin only.
  app.get('/sw.js', (c) =>
    asset(c, 'text/javascript; charset=utf-8', SERVICE_WORKER_JS, {
      'Content-Security-Policy': "default-src 'none'; connect-src 'self'",
    }),
  );
  app.get('/app.js', (c) => asset(c, 'text/javascript; charset=utf-8', APP_JS));
  app.get('/app.css', (c) => asset(c, 'text/css; charset=utf-8', APP_CSS));
  for (const name of Object.keys(ICONS) as IconName[]) {
    app.get(`/assets/${name}`, (c) => asset(c, 'image/png', iconPng(name)));
  }
  app.get('/dashboard/offline', (c) => pageResponse(c, 200, offlinePage()));
}
