// A small hostile-platform HTTP server on 127.0.0.1 for the engine client's tests: records every request and
// counts TCP connections, and lets each test answer however it likes.

import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export type Handler = (
  request: http.IncomingMessage & { body: Buffer },
  response: http.ServerResponse,
  index: number,
) => unknown;

export interface TestServer {
  origin: string;
  port: number;
  requests: SeenRequest[];
  /** TCP connections accepted so far. */
  connections: number;
  handle: Handler;
  close(): Promise<void>;
}

export async function startServer(handle: Handler, port = 0): Promise<TestServer> {
  const sockets = new Set<Socket>();
  const state: TestServer = {
    origin: '',
    port: 0,
    requests: [],
    connections: 0,
    handle,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const index = state.requests.length;
    state.requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body });
    try {
      await state.handle(Object.assign(request, { body }), response, index);
    } catch (error) {
      if (!response.headersSent) response.writeHead(599);
      response.end(String(error));
    }
  });
  server.on('connection', (socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  state.origin = `http://127.0.0.1:${state.port}`;
  return state;
}

export function sendJson(
  response: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, {
    'content-type': 'application/json',
    'x-server-time': new Date().toISOString(),
    ...headers,
  });
  response.end(JSON.stringify(body));
}

export function sendError(
  response: http.ServerResponse,
  status: number,
  code: string,
  message: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): void {
  sendJson(response, status, { error: { ...extra, code, message } }, headers);
}

export function sha256(content: Buffer | string): string {
  return createHash('sha256').update(content).digest('hex');
}

export const ME = {
  user: { id: 'u1', email: 'ada@example.com', plan: 'paid' },
  limits: { maxSites: 10, maxFileBytes: 20971520, maxStorageBytes: null },
  usage: { sites: 1, storageBytes: 10 },
  minClientVersion: '0.0.0',
};

export function siteEntry(name: string, content: string, version = 1, seq = 1) {
  return {
    kind: 'site',
    name,
    path: `${name}.html`,
    size: Buffer.byteLength(content),
    sha256: sha256(content),
    version,
    updatedAt: '2026-11-25T13:24:11.123Z',
    seq,
  };
}

/** Polls until `check` holds (no fixed sleeps); fails after `timeoutMs`. */
export async function waitFor(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
