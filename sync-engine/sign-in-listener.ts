// The CLI's sign-in listener (RFC 8252 loopback redirect): one HTTP server on 127.0.0.1 that serves `/callback`,
// takes the first callback that matches the pending sign-in, answers the browser with a page, and closes.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignInError } from './errors.js';
import type { EngineLog } from './log.js';
import { checkCallbackParams } from './sign-in-callback.js';

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
  // The address bar holds the code: never hand it on.
  'referrer-policy': 'no-referrer',
  connection: 'close',
} as const;

function page(title: string, text: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>body{font:16px system-ui,sans-serif;margin:4rem auto;max-width:32rem;text-align:center;color:#222}</style>
</head><body><h1>${title}</h1><p>${text}</p></body></html>`;
}

function reply(response: http.ServerResponse, status: number, title: string, text: string): void {
  response.writeHead(status, PAGE_HEADERS);
  response.end(page(title, text));
}

export class CallbackListener {
  /** Resolves with the code of the first valid callback; rejects with SignInError (cancelled, timeout, closed). */
  readonly code: Promise<string>;
  port = 0;
  readonly #state: string;
  readonly #log: EngineLog;
  readonly #server: http.Server;
  #settle!: { resolve: (code: string) => void; reject: (error: SignInError) => void };
  #done = false;
  #timer: NodeJS.Timeout | null = null;

  /** Listens on 127.0.0.1 (port 0) for the callback of the sign-in with `state`. */
  static async start(options: { state: string; log: EngineLog; timeoutMs?: number }): Promise<CallbackListener> {
    const listener = new CallbackListener(options.state, options.log);
    await listener.#listen();
    if (options.timeoutMs !== undefined) listener.#expireAfter(options.timeoutMs);
    return listener;
  }

  private constructor(state: string, log: EngineLog) {
    this.#state = state;
    this.#log = log;
    this.code = new Promise<string>((resolve, reject) => {
      this.#settle = { resolve, reject };
    });
    // The caller may only look at `code` later; an early rejection must not count as unhandled.
    this.code.catch(() => {});
    this.#server = http.createServer((request, response) => this.#handle(request, response));
  }

  /** Stops waiting: `code` rejects as cancelled unless it already settled. */
  async close(): Promise<void> {
    this.#finish(() =>
      this.#settle.reject(new SignInError('sign_in_cancelled', 'Sign-in was stopped before it finished.')),
    );
    if (this.#server.listening) await this.#closeServer();
  }

  async #listen(): Promise<void> {
    const server = this.#server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as AddressInfo).port;
  }

  #expireAfter(timeoutMs: number): void {
    this.#timer = setTimeout(
      () =>
        this.#finish(() =>
          this.#settle.reject(new SignInError('sign_in_timeout', 'Sign-in took too long. Start it again.')),
        ),
      timeoutMs,
    );
    this.#timer.unref();
  }

  #handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    if (request.method !== 'GET') {
      reply(response, 405, 'Not here', 'This address only receives the sign-in redirect.');
      return;
    }
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/callback') {
      this.#log('warn', 'sign-in listener: ignored a request for another path');
      reply(response, 404, 'Not here', 'This address only receives the sign-in redirect.');
      return;
    }
    const result = checkCallbackParams(url.searchParams, this.#done ? null : this.#state);
    if (result.type === 'ignored') {
      this.#log('warn', `sign-in listener: ignored a callback: ${result.reason}`);
      reply(
        response,
        400,
        'This link is not for this sign-in',
        'Go back to Hyperclay Sync and start signing in again.',
      );
      return;
    }
    if (result.type === 'cancelled') {
      reply(response, 200, 'Sign-in cancelled', 'You can close this tab.');
      this.#finish(() =>
        this.#settle.reject(new SignInError('sign_in_cancelled', 'Sign-in was cancelled in the browser.')),
      );
      this.#log('info', 'sign-in cancelled in the browser');
      return;
    }
    reply(response, 200, 'Signed in to Hyperclay Sync', 'You can close this tab and return to the app.');
    this.#finish(() => this.#settle.resolve(result.code));
    this.#log('info', 'sign-in callback received');
  }

  /** Settles `code` once (`then`) and closes the server. */
  #finish(then: () => void): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#timer) clearTimeout(this.#timer);
    then();
    void this.#closeServer();
  }

  #closeServer(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeIdleConnections();
    });
  }
}
