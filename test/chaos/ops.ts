// The vocabulary of a chaos schedule: the seeded PRNG, the operations (folder, platform, faults and their ends),
// the clients, path helpers, and the generator's own picture of a folder. Pure: no I/O, no clock.

/** mulberry32: small, fast, and good enough to pick operations. */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** One key of `weights`, with probability proportional to its weight (zero weights never come up). */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as Array<[K, number]>;
    const total = entries.reduce((sum, [, w]) => sum + w, 0);
    let roll = this.next() * total;
    for (const [key, w] of entries) {
      if (w <= 0) continue;
      roll -= w;
      if (roll < 0) return key;
    }
    return entries.filter(([, w]) => w > 0).at(-1)![0];
  }
}

/** What a user op writes: `size` bytes that start with the unique `tag` (a site gets an HTML frame). */
export interface ContentSpec {
  size: number;
  tag: string;
  html: boolean;
}

export type SiteOrUpload = { kind: 'site'; name: string } | { kind: 'upload'; path: string };

/** Operations a person does in one client's folder (paths relative to the sync folder, `/`-separated). */
export type FolderOp =
  | { t: 'create'; c: number; path: string; content: ContentSpec }
  | { t: 'edit'; c: number; path: string; at: number; content: ContentSpec }
  | { t: 'append'; c: number; path: string; content: ContentSpec }
  | { t: 'truncate'; c: number; path: string; keep: number }
  | { t: 'delete'; c: number; path: string }
  | { t: 'rename'; c: number; from: string; to: string; dir: boolean }
  | { t: 'mkdir'; c: number; path: string }
  | { t: 'rmdir'; c: number; path: string }
  | { t: 'editorSave'; c: number; path: string; content: ContentSpec }
  | { t: 'burst'; c: number; files: Array<{ path: string; content: ContentSpec }> }
  /** Edits whatever file of `target` sync put in this folder (found at run time; nothing when absent). */
  | { t: 'syncedEdit'; c: number; target: SiteOrUpload; content: ContentSpec };

/** Changes made on the platform itself. */
export type PlatformOp =
  | { t: 'platformSave'; account: number; name: string; content: ContentSpec }
  | { t: 'siteDelete'; account: number; name: string };

export type ProxyFaultMode = 'delay' | 'reset' | 'truncate' | 'stall';

export type FaultOp =
  | { t: 'killClient'; c: number }
  | { t: 'killPlatform' }
  | { t: 'unreachable'; ms: number }
  | { t: 'proxyFault'; c: number; mode: ProxyFaultMode; ms: number }
  | { t: 'diskFull'; c: number }
  | { t: 'platformDiskFull' }
  | { t: 'stopStart'; c: number }
  /** `hyperclay-sync pause` / `resume` do not exist yet: the hook is in place, its weight is 0 (PAUSE_WEIGHT). */
  | { t: 'pause'; c: number; ms: number };

/** Ends a fault: brings back what a kill or a full disk took away. */
export type RestoreOp =
  | { t: 'startClient'; c: number }
  | { t: 'startPlatform' }
  | { t: 'diskFree'; c: number }
  | { t: 'platformDiskFree' };

export type Op = FolderOp | PlatformOp | FaultOp | RestoreOp;

export interface Step {
  /** Pause before the operation (pacing, not a wait for anything). */
  gapMs: number;
  op: Op;
}

export interface ClientSpec {
  index: number;
  account: number;
  /** The client's clock error (its process runs under libfaketime, its user's files get shifted mtimes). */
  skewMs: number;
}

export const FAULT_TYPES: ReadonlySet<Op['t']> = new Set([
  'killClient',
  'killPlatform',
  'unreachable',
  'proxyFault',
  'diskFull',
  'platformDiskFull',
  'stopStart',
  'pause',
]);

export const HOUR_MS = 3_600_000;

/** Two folders of account 0 and one of account 1, then alternating; the first runs an hour ahead, the second behind. */
export function clientSpecs(count: number): ClientSpec[] {
  const specs: ClientSpec[] = [];
  for (let index = 0; index < count; index++) {
    const account = index < 2 ? 0 : index % 2 === 0 ? 1 : 0;
    const skewMs = index === 0 ? HOUR_MS : index === 1 ? -HOUR_MS : 0;
    specs.push({ index, account, skewMs });
  }
  return specs;
}

/** Site names are platform-wide: each account's start with its own prefix (`ca-`, `cb-`, ...). */
export const sitePrefix = (account: number): string => `c${String.fromCharCode(97 + account)}`;

export const DIR_POOL: readonly string[] = ['docs', 'img', 'blog', 'notes', 'blog/2026', 'docs/old'];

export const parentOf = (path: string): string => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');
export const baseOf = (path: string): string => path.slice(path.lastIndexOf('/') + 1);
export const joinPath = (dir: string, name: string): string => (dir === '' ? name : `${dir}/${name}`);
export const isUnder = (path: string, dir: string): boolean => path === dir || path.startsWith(`${dir}/`);

/** What the generator believes one folder holds from its user's own operations (sync is not modelled here). */
export class PlanFolder {
  /** path -> site name (null for an upload). */
  readonly files = new Map<string, string | null>();
  readonly dirs = new Set<string>();

  addFile(path: string, site: string | null): void {
    this.files.set(path, site);
    this.addDir(parentOf(path));
  }

  addDir(dir: string): void {
    for (let d = dir; d !== ''; d = parentOf(d)) this.dirs.add(d);
  }

  removeUnder(dir: string): void {
    for (const path of [...this.files.keys()]) if (isUnder(path, dir)) this.files.delete(path);
    for (const d of [...this.dirs]) if (isUnder(d, dir)) this.dirs.delete(d);
  }

  moveUnder(from: string, to: string): void {
    for (const [path, site] of [...this.files]) {
      if (!isUnder(path, from)) continue;
      this.files.delete(path);
      this.files.set(to + path.slice(from.length), site);
    }
    for (const d of [...this.dirs]) {
      if (!isUnder(d, from)) continue;
      this.dirs.delete(d);
      this.dirs.add(to + d.slice(from.length));
    }
    this.addDir(parentOf(to));
  }
}
