// Talking to the reference platform server over real HTTP in tests: raw requests (any Host, any client address,
// no redirects followed), forms, cookies, and the hidden fields of its pages.

import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { unescapeHtml } from '../integration/server-auth-helpers.js';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
}

export interface Call {
  /** The client address the request comes from (any 127.x.y.z works on Linux). */
  localAddress?: string;
  method?: string;
  path: string;
  host?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** node:http rather than fetch: the Host header must be set freely and redirects must not be followed. */
export function call(base: string, options: Call): Promise<Reply> {
  const url = new URL(options.path, base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: options.method ?? 'GET',
        headers: { ...(options.host ? { host: options.host } : {}), ...options.headers },
        agent: false,
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

export const form = (fields: Record<string, string>): string => new URLSearchParams(fields).toString();
export const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

export function hiddenInputs(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[unescapeHtml(match[1] ?? '')] = unescapeHtml(match[2] ?? '');
  }
  return fields;
}

export function cookieOf(reply: Reply): string {
  const header = reply.headers['set-cookie'];
  const first = (Array.isArray(header) ? header[0] : header) ?? '';
  return first.split(';')[0] ?? '';
}

/** POST /login as the login form sends it (same Origin); `from` is the client address. */
export function postLogin(
  base: string,
  fields: { email: string; password: string; next?: string },
  options: { from?: string; cookie?: string } = {},
): Promise<Reply> {
  return call(base, {
    method: 'POST',
    path: '/login',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      origin: base,
      ...(options.cookie ? { cookie: options.cookie } : {}),
    },
    body: form({ next: '/', ...fields }),
    ...(options.from ? { localAddress: options.from } : {}),
  });
}

/** The whole browser sign-in of a device over HTTP, for a signed-in login cookie: authorize, Allow, code, token. */
export async function signInDevice(base: string, cookie: string, deviceName = 'reference test'): Promise<string> {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const redirectUri = 'http://127.0.0.1:9/callback';
  const query = new URLSearchParams({
    redirect_uri: redirectUri,
    state: 'state-1',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    device_name: deviceName,
  });
  const consent = await call(base, { path: `/sync/authorize?${query}`, headers: { cookie } });
  if (consent.status !== 200) throw new Error(`consent page: ${consent.status}`);
  const allowed = await call(base, {
    method: 'POST',
    path: '/sync/authorize',
    headers: { cookie, origin: base, 'content-type': 'application/x-www-form-urlencoded' },
    body: form({ ...hiddenInputs(consent.text), decision: 'allow' }),
  });
  const code = /<code id="code">([^<]+)<\/code>/.exec(allowed.text)?.[1];
  if (!code) throw new Error(`allow: ${allowed.status}`);
  const token = await call(base, {
    method: 'POST',
    path: '/sync/token',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code: unescapeHtml(code), code_verifier: verifier, redirect_uri: redirectUri }),
  });
  if (token.status !== 200) throw new Error(`token: ${token.status} ${token.text}`);
  return (JSON.parse(token.text) as { token: string }).token;
}
