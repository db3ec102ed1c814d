// The processes and folders of one chaos run: the run's folder (platform data, one folder per client with its data
// home and its disk, harness logs), the platform, a fault proxy and a `hyperclay-sync start` per client; healing
// every fault, and the teardown that ends every process by PID and unmounts every small disk.

import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MARKER_FILE } from '../../sync-engine/folder-rules.js';
import { ClientProcess } from './clients.js';
import { SmallDisk } from './disks.js';
import type { ClientSpec } from './ops.js';
import { type ChaosAccount, createAccounts, PlatformProcess } from './platform.js';
import { Processes, waitFor } from './processes.js';
import { FaultProxy } from './proxy.js';
import { FolderUser } from './user-ops.js';

const MIB = 1024 * 1024;

export interface WorldOptions {
  root: string;
  seed: number;
  clients: ClientSpec[];
  /** The client whose folder sits on a small disk that fills up (when disks are mounted). */
  diskClient: number;
  bytesPerAccount: number[];
  /** Mount tmpfs disks (root only). */
  mountDisks: boolean;
  faketime: boolean;
  pollSeconds: number;
}

/** What the run's folder holds at its top (anything else there was written by someone else). */
export const RUN_TOP = ['platform', 'logs'];
export const CLIENT_TOP = ['home', 'disk'];
export const SYNC_FOLDER = 'Sync';

export class World {
  readonly o: WorldOptions;
  readonly procs = new Processes();
  readonly logs: string;
  readonly platformDisk: SmallDisk;
  readonly platform: PlatformProcess;
  accounts: ChaosAccount[] = [];
  readonly proxies: FaultProxy[] = [];
  readonly disks: SmallDisk[] = [];
  readonly clients: ClientProcess[] = [];
  readonly users: FolderUser[] = [];
  #platformStart: Promise<boolean> | null = null;
  #tornDown = false;
  #teardown: Promise<void> | null = null;

  private constructor(options: WorldOptions) {
    this.o = options;
    this.logs = join(options.root, 'logs');
    mkdirSync(this.logs, { recursive: true });
    const total = options.bytesPerAccount.reduce((a, b) => a + b, 0);
    this.platformDisk = new SmallDisk(
      join(options.root, 'platform'),
      Math.max(128 * MIB, 8 * total),
      options.mountDisks,
    );
    this.platform = new PlatformProcess(join(this.platformDisk.dir, 'data'), this.logs, this.procs);
    this.procs.reaper.note({ dir: options.root });
    this.#noteMount(this.platformDisk);
  }

  #noteMount(disk: SmallDisk): void {
    if (disk.mounted) this.procs.reaper.note({ mount: disk.dir });
  }

  /** Builds the run's folder, accounts and tokens, then starts the platform, the proxies and every client. */
  static async create(options: WorldOptions): Promise<World> {
    const world = new World(options);
    try {
      await world.#build();
    } catch (error) {
      await world.teardown(true);
      throw error;
    }
    return world;
  }

  async #build(): Promise<void> {
    const { o } = this;
    this.accounts = await createAccounts(
      this.platform.dataDir,
      o.clients.map((c) => c.account),
    );
    if (!(await this.startPlatform())) throw new Error('the platform did not start');
    for (const spec of o.clients) {
      const dir = join(o.root, `c${spec.index}`);
      const accountBytes = o.bytesPerAccount[spec.account] ?? 0;
      const disk = new SmallDisk(
        join(dir, 'disk'),
        Math.max(96 * MIB, 8 * accountBytes),
        o.mountDisks && spec.index === o.diskClient,
      );
      this.#noteMount(disk);
      const folder = join(disk.dir, SYNC_FOLDER);
      const home = join(dir, 'home');
      mkdirSync(folder, { recursive: true });
      mkdirSync(home, { recursive: true, mode: 0o700 });
      const proxy = new FaultProxy(`c${spec.index}`, this.platform.port, o.seed * 31 + spec.index);
      await proxy.listen();
      const account = this.accounts[spec.account]!;
      const client = new ClientProcess(
        {
          index: spec.index,
          account: { id: account.id, email: account.email, token: account.clientTokens.get(spec.index)! },
          dir,
          home,
          folder,
          proxy,
          skewMs: spec.skewMs,
          faketime: o.faketime,
          pollSeconds: o.pollSeconds,
          logFile: join(this.logs, `client-${spec.index}.log`),
        },
        this.procs,
      );
      client.signIn();
      this.disks.push(disk);
      this.proxies.push(proxy);
      this.clients.push(client);
      this.users.push(new FolderUser(folder, spec.skewMs));
    }
    for (const client of this.clients) await client.start();
    // The schedule starts once every folder is bound to its account (its marker written by the first start).
    const bound = await waitFor(() => this.clients.every((c) => existsSync(join(c.s.folder, MARKER_FILE))), 120_000);
    if (!bound) throw new Error('the clients did not bind their folders within 120 s; see their logs');
  }

  accountOf(client: number): ChaosAccount {
    return this.accounts[this.o.clients[client]!.account]!;
  }

  /** Starts the platform (joining a start under way) and points every proxy at it. */
  startPlatform(): Promise<boolean> {
    this.#platformStart ??= this.platform
      .start()
      .then((ok) => {
        for (const proxy of this.proxies) proxy.setUpstream(this.platform.port);
        return ok;
      })
      .finally(() => {
        this.#platformStart = null;
      });
    return this.#platformStart;
  }

  killPlatform(): void {
    this.platform.kill();
    for (const proxy of this.proxies) proxy.setUpstream(null);
  }

  /** Every fault ended: proxies pass bytes, disks have room, the platform and every client run. */
  async heal(): Promise<string[]> {
    const problems: string[] = [];
    await Promise.all(this.proxies.map((p) => p.heal()));
    this.platformDisk.free();
    for (const disk of this.disks) disk.free();
    await this.#platformStart;
    for (let attempt = 0; !this.platform.running && attempt < 3; attempt++) {
      if (!(await this.startPlatform())) problems.push(`the platform did not start (attempt ${attempt + 1})`);
    }
    for (const client of this.clients) await client.start();
    return problems;
  }

  /** The teardown has begun (an interrupt, or the end): no more steps, no more restarts. */
  get ending(): boolean {
    return this.#tornDown;
  }

  /** Restarts whatever is down (a process that ended by itself included), at most every few seconds each. */
  async ensureRunning(): Promise<void> {
    if (this.#tornDown) return;
    if (!this.platform.running && Date.now() - this.platform.lastStartMs > 5000) await this.startPlatform();
    for (const client of this.clients) {
      if (!client.running && Date.now() - client.lastStartMs > 5000) await client.start();
    }
  }

  /** Processes that ended without being asked to. */
  crashes(): string[] {
    return [
      ...this.platform.crashes,
      ...this.clients.flatMap((c) => c.crashes.map((line) => `client ${c.s.index}: ${line}`)),
    ];
  }

  /** `hyperclay-sync stop` for every client at once; a client that does not stop cleanly is killed and named. */
  async stopClients(): Promise<string[]> {
    const problems = await Promise.all(this.clients.map((c) => c.stop()));
    for (const client of this.clients) if (client.running) client.kill();
    return problems.filter((p): p is string => p !== null);
  }

  /** Ends every process by PID, closes the proxies, unmounts the disks; removes the run's folder unless `keep`. */
  teardown(keep: boolean): Promise<void> {
    this.#tornDown = true;
    this.#teardown ??= this.#tearDown(keep);
    return this.#teardown;
  }

  async #tearDown(keep: boolean): Promise<void> {
    this.procs.close();
    if (keep) this.procs.reaper.note({ keep: true });
    await this.procs.endAll();
    await Promise.all(this.proxies.map((p) => p.close()));
    const failures: string[] = [];
    for (const disk of [...this.disks, this.platformDisk]) {
      try {
        disk.release(keep);
      } catch (error) {
        failures.push(`${disk.dir}: ${String(error)}`);
      }
    }
    if (!keep) rmSync(this.o.root, { recursive: true, force: true });
    if (failures.length === 0) this.procs.reaper.done();
    if (failures.length > 0) throw new Error(`could not unmount: ${failures.join('; ')}`);
  }

  /** For an exit handler that cannot wait (a second Ctrl-C): kill -9 everything, unmount what can be. */
  teardownNow(): void {
    this.procs.close();
    this.procs.killAllNow();
    for (const disk of [...this.disks, this.platformDisk]) {
      try {
        disk.release(false);
      } catch {}
    }
  }
}
