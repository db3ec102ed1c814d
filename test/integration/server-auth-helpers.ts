// Test rig for the sign-in endpoints: authRoutes + requireAuth on a real HTTP server, an in-memory platform login.

import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { requireAuth } from '../../server-endpoints/auth/middleware.js';
import { authRoutes } from '../../server-endpoints/auth/routes.js';
import { openEmbeddedAuthStore } from '../../server-endpoints/auth/store.js';
import { type EndpointContext, endpointContext, type SyncEnv } from '../../server-endpoints/context.js';
import type { Account, AuthStore, IdentityProvider, SyncStorage } from '../../server-endpoints/types.js';

export const SECRET = 'test-secret-for-sync-tokens-0123456789abcdef';
export const COOKIE = 'test_account';

/** The platform's login as these tests see it: a cookie naming the account. */
export class TestIdentity implements IdentityProvider {
  readonly accounts = new Map<string, Account>();

  add(id: string, email: string, paid = true): Account {
    const account: Account = {
      id,
      email,
      plan: paid ? 'paid' : 'free',
      paid,
      maxSites: null,
      maxStorageBytes: null,
    };
    this.accounts.set(id, account);
    return account;
  }

  async currentAccount(request: Request): Promise<Account | null> {
    const cookie = request.headers.get('cookie') ?? '';
    const match = new RegExp(`(?:^|;\\s*)${COOKIE}=([^;]+)`).exec(cookie);
    return match?.[1] ? (this.accounts.get(match[1]) ?? null) : null;
  }

  loginUrl(returnTo: string): string {
    return `/login?return_to=${encodeURIComponent(returnTo)}`;
  }

  async accountById(id: string): Promise<Account | null> {
    return this.accounts.get(id) ?? null;
  }
}

/** What the flow helpers need: any server with the sync endpoints whose login reads the `test_account` cookie. */
export interface Server {
  url: string;
}

export interface Rig {
  url: string;
  ctx: EndpointContext;
  identity: TestIdentity;
  authStore: AuthStore;
  clock: { ms: number };
  logLines: string[];
  close(): Promise<void>;
}

/** A server for one test file: `GET /sync/whoami` stands in for every authenticated endpoint. */
export async function startRig(
  options: { authStore?: AuthStore; identity?: TestIdentity; dir?: string } = {},
): Promise<Rig> {
  const dir = options.dir ?? mkdtempSync(path.join(os.tmpdir(), 'server-auth-'));
  const ownsDir = options.dir === undefined;
  const clock = { ms: Date.UTC(2026, 10, 25, 12, 0, 0) };
  const authStore = options.authStore ?? openEmbeddedAuthStore({ dir, now: () => clock.ms });
  const identity = options.identity ?? new TestIdentity();
  const logLines: string[] = [];
  const ctx = endpointContext({
    // The auth endpoints never touch content storage.
    storage: {} as SyncStorage,
    authStore,
    identity,
    tokenSecret: SECRET,
    now: () => clock.ms,
    log: (line) => logLines.push(line),
  });
  const app = new Hono<SyncEnv>();
  app.route('/', authRoutes(ctx));
  app.use('/sync/*', requireAuth(ctx));
  app.get('/sync/whoami', (c) => c.json({ id: c.get('account').id, sid: c.get('sid') }));

  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const created = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(created));
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    ctx,
    identity,
    authStore,
    clock,
    logLines,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (!options.authStore) await authStore.close();
      if (ownsDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export function authorizeQuery(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

export function unescapeHtml(text: string): string {
  return text
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&amp;', '&');
}

/** The hidden fields of the consent form, decoded. */
export function hiddenFields(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[unescapeHtml(match[1] ?? '')] = unescapeHtml(match[2] ?? '');
  }
  return fields;
}

export function shownCode(html: string): string | null {
  const match = /<code id="code">([^<]*)<\/code>/.exec(html);
  return match?.[1] ? unescapeHtml(match[1]) : null;
}

export interface FlowOptions {
  accountId: string;
  redirectUri: string;
  deviceName?: string;
  state?: string;
}

/** Authorize + consent page as the signed-in account: the consent HTML and its form fields. */
export async function openConsent(rig: Server, options: FlowOptions & { challenge: string }) {
  const query = authorizeQuery({
    redirect_uri: options.redirectUri,
    state: options.state ?? 'state-123',
    code_challenge: options.challenge,
    code_challenge_method: 'S256',
    device_name: options.deviceName ?? 'Test laptop',
  });
  const response = await fetch(`${rig.url}/sync/authorize?${query}`, {
    headers: { cookie: `${COOKIE}=${options.accountId}` },
    redirect: 'manual',
  });
  const html = await response.text();
  return { response, html, fields: hiddenFields(html) };
}

/** Submits the consent form the way a browser does (same Origin, form-encoded). */
export async function submitConsent(
  rig: Server,
  accountId: string,
  fields: Record<string, string>,
  headers: Record<string, string> = { origin: rig.url },
) {
  const response = await fetch(`${rig.url}/sync/authorize`, {
    method: 'POST',
    headers: {
      cookie: `${COOKIE}=${accountId}`,
      'content-type': 'application/x-www-form-urlencoded',
      ...headers,
    },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
  });
  const html = await response.text();
  return { response, html };
}

export async function exchange(rig: Server, body: Record<string, unknown>) {
  const response = await fetch(`${rig.url}/sync/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** The whole browser part of the flow: the sign-in code K, as the code page shows it. */
export async function signInCode(rig: Server, options: FlowOptions) {
  const { verifier, challenge } = pkcePair();
  const consent = await openConsent(rig, { ...options, challenge });
  if (consent.response.status !== 200) throw new Error(`consent page: ${consent.response.status}`);
  const allowed = await submitConsent(rig, options.accountId, { ...consent.fields, decision: 'allow' });
  const code = shownCode(allowed.html);
  if (allowed.response.status !== 200 || !code) throw new Error(`allow: ${allowed.response.status}`);
  return { code, verifier, html: allowed.html };
}

export async function signIn(rig: Server, options: FlowOptions): Promise<{ token: string; expiresAt: string }> {
  const { code, verifier } = await signInCode(rig, options);
  const result = await exchange(rig, { code, code_verifier: verifier, redirect_uri: options.redirectUri });
  if (result.status !== 200) throw new Error(`token: ${result.status} ${JSON.stringify(result.body)}`);
  return result.body as { token: string; expiresAt: string };
}

export async function call(rig: Server, pathname: string, authorization?: string, method = 'GET') {
  const response = await fetch(`${rig.url}${pathname}`, {
    method,
    headers: authorization === undefined ? {} : { authorization },
  });
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    body = { text };
  }
  return { status: response.status, body, headers: response.headers };
}

export function errorCode(body: Record<string, unknown>): unknown {
  return (body.error as { code?: unknown } | undefined)?.code;
}
