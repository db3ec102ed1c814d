// The TCP fault proxy between one client and the platform: passes bytes through, or delays them, resets
// connections, cuts response bodies short, stalls them, or refuses connections altogether (platform unreachable).

import net from 'node:net';
import type { ProxyFaultMode } from './ops.js';
import { Rng } from './ops.js';

export type ProxyMode = 'pass' | ProxyFaultMode;

/** One proxied connection: the client's socket, the platform's, and what the current fault did to it. */
interface Link {
  client: net.Socket;
  upstream: net.Socket | null;
  /** Bytes from the platform held back while the link stalls. */
  held: Buffer[];
  stalled: boolean;
  /** The platform closed its side: once the bytes still on their way are written, the client's side closes. */
  upstreamDone: boolean;
  /** Each direction's delayed writes, in order. */
  chains: { up: Promise<void>; down: Promise<void> };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class FaultProxy {
  readonly name: string;
  #server: net.Server | null = null;
  #port = 0;
  #upstreamPort: number | null;
  #mode: ProxyMode = 'pass';
  #refusing = false;
  #listening: Promise<void> | null = null;
  /** Ends the current fault; the span of refusing has a timer of its own (a fault may come in the middle of it). */
  #faultTimer: NodeJS.Timeout | null = null;
  #refuseTimer: NodeJS.Timeout | null = null;
  readonly #links = new Set<Link>();
  readonly #rng: Rng;
  /** Faults applied to connections (for the report). */
  readonly counts: Record<string, number> = { reset: 0, truncate: 0, stall: 0, refused: 0 };

  constructor(name: string, upstreamPort: number | null, seed: number) {
    this.name = name;
    this.#upstreamPort = upstreamPort;
    this.#rng = new Rng(seed);
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get mode(): ProxyMode {
    return this.#mode;
  }

  /** Listens on a free port the first time, on the same port after a span of refusing. */
  listen(): Promise<void> {
    this.#listening ??= this.#open().finally(() => {
      this.#listening = null;
    });
    return this.#listening;
  }

  async #open(): Promise<void> {
    if (this.#server) return;
    const server = net.createServer((socket) => this.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#port = (server.address() as net.AddressInfo).port;
    this.#server = server;
  }

  /** Where the platform listens now (null while it is down: connections are then closed at once). */
  setUpstream(port: number | null): void {
    this.#upstreamPort = port;
  }

  /** A fault on every byte from now on, for `ms` (then back to passing through). */
  fault(mode: ProxyFaultMode, ms: number): void {
    this.#mode = mode;
    if (this.#faultTimer) clearTimeout(this.#faultTimer);
    this.#faultTimer = setTimeout(() => this.#endFault(), ms);
  }

  /** The platform unreachable for `ms`: the port refuses connections and open ones are cut. */
  async refuse(ms: number): Promise<void> {
    this.#refusing = true;
    this.counts.refused = (this.counts.refused ?? 0) + 1;
    const server = this.#server;
    this.#server = null;
    for (const link of [...this.#links]) this.#destroy(link);
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    if (this.#refuseTimer) clearTimeout(this.#refuseTimer);
    this.#refuseTimer = setTimeout(() => void this.#listenAgain(), ms);
  }

  async #listenAgain(): Promise<void> {
    if (this.#refuseTimer) clearTimeout(this.#refuseTimer);
    this.#refuseTimer = null;
    if (this.#refusing || !this.#server) {
      this.#refusing = false;
      await this.listen();
    }
  }

  /** Ends every fault: passes through again, stalled bytes flow on, the port listens. */
  async heal(): Promise<void> {
    this.#endFault();
    await this.#listenAgain();
  }

  async close(): Promise<void> {
    this.#clearTimers();
    this.#refusing = true;
    for (const link of [...this.#links]) this.#destroy(link);
    const server = this.#server;
    this.#server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #clearTimers(): void {
    for (const timer of [this.#faultTimer, this.#refuseTimer]) if (timer) clearTimeout(timer);
    this.#faultTimer = null;
    this.#refuseTimer = null;
  }

  #endFault(): void {
    if (this.#faultTimer) clearTimeout(this.#faultTimer);
    this.#faultTimer = null;
    this.#mode = 'pass';
    for (const link of this.#links) {
      if (!link.stalled) continue;
      // A stall ends one of two ways on a real network: the bytes come after all, or the connection dies.
      if (this.#rng.chance(0.5)) {
        link.stalled = false;
        for (const chunk of link.held.splice(0)) this.#write(link, 'down', chunk);
        this.#finishDown(link);
      } else {
        this.#destroy(link);
      }
    }
  }

  #accept(client: net.Socket): void {
    client.on('error', () => {});
    const port = this.#upstreamPort;
    if (this.#refusing || port === null) {
      client.destroy();
      return;
    }
    const link: Link = {
      client,
      upstream: null,
      held: [],
      stalled: false,
      upstreamDone: false,
      chains: { up: Promise.resolve(), down: Promise.resolve() },
    };
    this.#links.add(link);
    const upstream = net.connect(port, '127.0.0.1');
    link.upstream = upstream;
    upstream.on('error', () => this.#destroy(link));
    client.on('close', () => this.#destroy(link));
    upstream.on('close', () => {
      link.upstreamDone = true;
      this.#finishDown(link);
    });
    client.on('data', (chunk: Buffer) => this.#fromClient(link, chunk));
    upstream.on('data', (chunk: Buffer) => this.#fromPlatform(link, chunk));
    client.on('end', () => upstream.end());
  }

  /** The platform is done with this link: close the client's side once what is on its way is written. */
  #finishDown(link: Link): void {
    if (!link.upstreamDone || link.stalled) return;
    void link.chains.down.then(() => {
      link.client.end();
      this.#links.delete(link);
    });
  }

  #fromClient(link: Link, chunk: Buffer): void {
    if (this.#mode === 'reset' && this.#rng.chance(0.25)) {
      this.counts.reset = (this.counts.reset ?? 0) + 1;
      this.#reset(link);
      return;
    }
    this.#write(link, 'up', chunk);
  }

  #fromPlatform(link: Link, chunk: Buffer): void {
    if (link.stalled) {
      link.held.push(chunk);
      return;
    }
    const mode = this.#mode;
    if (mode === 'reset' && this.#rng.chance(0.25)) {
      this.counts.reset = (this.counts.reset ?? 0) + 1;
      this.#reset(link);
      return;
    }
    if (mode === 'truncate' && this.#rng.chance(0.5)) {
      // The body ends early: part of this chunk, then a clean close, as a server that died mid-response.
      this.counts.truncate = (this.counts.truncate ?? 0) + 1;
      this.#write(link, 'down', chunk.subarray(0, this.#rng.int(0, chunk.length)));
      link.upstream?.destroy();
      return;
    }
    if (mode === 'stall' && this.#rng.chance(0.5)) {
      this.counts.stall = (this.counts.stall ?? 0) + 1;
      const cut = this.#rng.int(0, chunk.length);
      this.#write(link, 'down', chunk.subarray(0, cut));
      link.stalled = true;
      link.held.push(chunk.subarray(cut));
      return;
    }
    this.#write(link, 'down', chunk);
  }

  /** Writes in order; under `delay` each chunk waits a few ms first (the order of bytes is kept). */
  #write(link: Link, direction: 'up' | 'down', chunk: Buffer): void {
    const target = direction === 'up' ? link.upstream : link.client;
    if (!target || chunk.length === 0) return;
    const wait = this.#mode === 'delay' ? this.#rng.int(5, 60) : 0;
    if (wait === 0 && direction === 'up') {
      link.chains.up = link.chains.up.then(() => void (target.destroyed || target.write(chunk)));
      return;
    }
    link.chains[direction] = link.chains[direction].then(async () => {
      if (wait > 0) await sleep(wait);
      if (!target.destroyed) target.write(chunk);
    });
  }

  #reset(link: Link): void {
    link.client.resetAndDestroy();
    link.upstream?.resetAndDestroy();
    this.#links.delete(link);
  }

  #destroy(link: Link): void {
    if (!this.#links.delete(link)) return;
    link.client.destroy();
    link.upstream?.destroy();
  }
}
