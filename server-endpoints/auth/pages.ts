// The HTML of the sign-in pages (consent, code, refusals) and the headers that keep them unframeable and inert.

import { escapeInvisible } from '../../protocol/index.js';

export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** A name (device, site, file) as page text: escaped, and every hiding or reordering character shown as an escape. */
export function escapeName(text: string): string {
  return escapeHtml(escapeInvisible(text));
}

/**
 * What keeps a platform page to its own origin: no other origin may frame it (frame-ancestors in the CSP, and
 * X-Frame-Options for older browsers), embed it as a resource (CORP), or keep a handle on the window it opened
 * (COOP: a page of another origin that opens it gets no reference to it), and no type sniffing.
 */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/**
 * Headers for every sign-in page. No script runs on these pages; `formAction` lists where the consent form may
 * go, including the redirect that follows it (Chromium applies form-action to redirects after a form POST).
 */
export function pageHeaders(formAction: string[] = []): Record<string, string> {
  const formSources = formAction.length > 0 ? formAction.join(' ') : "'none'";
  return {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Security-Policy': `default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action ${formSources}; frame-ancestors 'none'`,
    ...ISOLATION_HEADERS,
    // Nothing from these pages (the code page's links carry a sign-in code) goes to another origin as a referrer.
    // Not `no-referrer`: with it, browsers send `Origin: null` on the consent POST and the origin check fails.
    'Referrer-Policy': 'same-origin',
    'Cache-Control': 'no-store',
  };
}

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}button{font-size:1rem;padding:.5rem 1.2rem;margin-right:.5rem}
code#code{display:block;font-size:1.1rem;padding:.6rem;background:#f3f3f3;border-radius:4px;word-break:break-all;user-select:all}
.muted{color:#666;font-size:.9rem}`;

/** A whole page; `title` is escaped here, `body` must already be safe HTML. */
function page(title: string, body: string, head = ''): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
${head}<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>${body}</body></html>
`;
}

/** The fields the consent form carries back, as the GET request gave them (validated before rendering). */
export interface ConsentFields {
  redirect_uri: string;
  state: string;
  code_challenge: string;
  code_challenge_method: string;
  device_name: string;
  csrf: string;
}

export function consentPage(options: { action: string; email: string; fields: ConsentFields }): string {
  const hidden = Object.entries(options.fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n');
  const device = escapeName(options.fields.device_name);
  const email = escapeName(options.email);
  return page(
    `Connect ${escapeInvisible(options.fields.device_name)}`,
    `<h1>Connect <strong id="device">${device}</strong> to <span id="email">${email}</span>?</h1>
<p>Hyperclay Sync on this device will be able to read and change the sites and uploads of ${email}.</p>
<form method="post" action="${escapeHtml(options.action)}">
${hidden}
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="cancel">Cancel</button>
</form>`,
  );
}

/** After Allow: sends the browser to the app and shows the code for when that redirect does not reach it. */
export function codePage(options: { code: string; callbackUrl: string; device: string }): string {
  const url = escapeHtml(options.callbackUrl);
  return page(
    'Sign-in code',
    `<h1>${escapeName(options.device)} is being connected</h1>
<p>Returning to the app… If nothing happens, <a id="callback" href="${url}">open the app</a>, or copy this code
into it:</p>
<code id="code">${escapeHtml(options.code)}</code>
<p class="muted">The code works once and expires in 5 minutes. You can close this page afterwards.</p>`,
    `<meta http-equiv="refresh" content="0; url=${url}">`,
  );
}

/** A refusal: says what went wrong and what to do; never redirects anywhere. */
export function messagePage(title: string, sentences: string[]): string {
  // Sentences name things (devices, accounts): shown with their hiding or reordering characters escaped.
  return page(title, `<h1>${escapeHtml(title)}</h1>\n${sentences.map((s) => `<p>${escapeName(s)}</p>`).join('\n')}`);
}
