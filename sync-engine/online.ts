// Offline detection: the OS's word and failed requests take the engine offline; /sync/health answering brings it back.

import { EventEmitter } from 'node:events';
import type { EngineLog } from './log.js';

export interface OnlineMonitorOptions {
  /** The cheap reachability probe, normally `() => api.health()`: resolves when the platform answers. */
  probe: () => Promise<unknown>;
  /** How often to probe while offline. Default 3 s. */
  intervalMs?: number;
  log?: EngineLog;
}

/**
 * Online until told otherwise. Offline: probes every `intervalMs` (and at once when the OS says the network is
 * back) until the probe answers. Online: never probes. While the OS says offline it does not probe at all.
 */
export class OnlineMonitor extends EventEmitter<{ offline: [reason: string]; online: [] }> {
  readonly #probe: () => Promise<unknown>;
  readonly #intervalMs: number;
  readonly #log: EngineLog;
  #online = true;
  #osOnline = true;
  #timer: NodeJS.Timeout | null = null;
  #probing: Promise<boolean> | null = null;
  #stopped = false;

  constructor(options: OnlineMonitorOptions) {
    super();
    this.#probe = options.probe;
    this.#intervalMs = options.intervalMs ?? 3000;
    this.#log = options.log ?? (() => {});
  }

  get online(): boolean {
    return this.#online;
  }

  /** A request gave up on network errors (after its retries). */
  reportNetworkFailure(error?: unknown): void {
    const detail = error instanceof Error ? `: ${error.message}` : '';
    this.#goOffline(`requests to the platform fail${detail}`);
  }

  /** A request succeeded: proof enough that the platform is reachable. */
  reportSuccess(): void {
    if (!this.#online && this.#osOnline) this.#goOnline();
  }

  /** The desktop feeds the OS's network state. Offline is trusted at once; online is checked with a probe. */
  setOsOnline(online: boolean): void {
    if (online === this.#osOnline) return;
    this.#osOnline = online;
    if (!online) {
      this.#clearTimer();
      this.#goOffline('the system reports no network');
      return;
    }
    this.#log('info', 'the system reports the network is back; probing the platform');
    if (!this.#online) void this.probeNow();
  }

  /** Probes once now; true when the platform answered (and the monitor is online). */
  probeNow(): Promise<boolean> {
    this.#probing ??= this.#runProbe().finally(() => {
      this.#probing = null;
    });
    return this.#probing;
  }

  /** Resolves once online (at once if already). */
  waitForOnline(): Promise<void> {
    if (this.#online) return Promise.resolve();
    return new Promise((resolve) => this.once('online', resolve));
  }

  stop(): void {
    this.#stopped = true;
    this.#clearTimer();
  }

  async #runProbe(): Promise<boolean> {
    try {
      await this.#probe();
    } catch {
      if (!this.#online) this.#schedule();
      return false;
    }
    if (this.#stopped) return true;
    if (!this.#online && this.#osOnline) this.#goOnline();
    return this.#online;
  }

  #goOffline(reason: string): void {
    if (this.#stopped) return;
    if (this.#online) {
      this.#online = false;
      this.#log('warn', `offline: ${reason}`);
      this.emit('offline', reason);
    }
    this.#schedule();
  }

  #goOnline(): void {
    this.#clearTimer();
    this.#online = true;
    this.#log('info', 'online: the platform answers again');
    this.emit('online');
  }

  #schedule(): void {
    if (this.#stopped || this.#online || !this.#osOnline || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.probeNow();
    }, this.#intervalMs);
    // Offline probing alone must not keep a process alive.
    this.#timer.unref();
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

export function createOnlineMonitor(options: OnlineMonitorOptions): OnlineMonitor {
  return new OnlineMonitor(options);
}
