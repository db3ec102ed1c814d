// An HTTP proxy in front of the reference platform that breaks chosen requests on purpose: answers them 503, cuts
// the connection while the request body is still arriving, or cuts the answer part-way. Everything else is
// forwarded as it is. Used to show that a failed batch loses nothing.

import { Agent, type ClientRequest, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What to do to one request: pass it on, answer 503, cut it while it uploads, or cut its answer after `bytes`. */
export type Fault = 'pass' | '503' | 'cut-request' | { cutAnswerAfter: number };

export interface FaultyProxy {
  url: string;
  /** Decides each request's fate by method and path (the query left off). */
  fault: (method: string, path: string) => Fault;
  /** Requests broken so far, as `METHOD /path fault`. */
  broken: string[];
  close(): Promise<void>;
}

export async function startFaultyProxy(target: () => string): Promise<FaultyProxy> {
  const proxy: FaultyProxy = { url: '', fault: () => 'pass', broken: [], close: async () => {} };
  // Its own connections to the platform, each closed with the proxy (a held long-poll must not keep the platform up).
  const agent = new Agent({ keepAlive: false });
  const upstreams = new Set<ClientRequest>();
  const server: Server = createServer((req, res) => {
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const fault = proxy.fault(method, path);
    if (fault !== 'pass') proxy.broken.push(`${method} ${path} ${typeof fault === 'string' ? fault : 'cut-answer'}`);
    if (fault === '503') {
      req.resume();
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'unavailable', message: 'The platform is restarting.' } }));
      return;
    }
    if (fault === 'cut-request') {
      // Some of the body arrives, then the connection dies: the platform never answers.
      req.once('data', () => req.socket.destroy());
      return;
    }
    const upstream = request(`${target()}${req.url ?? '/'}`, { method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      if (typeof fault !== 'object') {
        answer.pipe(res);
        return;
      }
      let sent = 0;
      answer.on('data', (chunk: Buffer) => {
        if (res.destroyed) return;
        const room = fault.cutAnswerAfter - sent;
        sent += chunk.length;
        if (room > chunk.length) res.write(chunk);
        else {
          res.write(chunk.subarray(0, Math.max(room, 0)), () => res.socket?.destroy());
          answer.destroy();
        }
      });
      answer.on('end', () => res.end());
    });
    upstreams.add(upstream);
    upstream.on('close', () => upstreams.delete(upstream));
    upstream.on('error', () => res.socket?.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = async () => {
    server.closeAllConnections();
    for (const upstream of upstreams) upstream.destroy();
    agent.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  return proxy;
}
