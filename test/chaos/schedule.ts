// The seeded schedule of a chaos run: which user operations, platform edits and faults come, in which order and
// with which pauses. Pure (no I/O, no clock): the same seed and options always give the same schedule.

import {
  baseOf,
  type ClientSpec,
  type ContentSpec,
  clientSpecs,
  DIR_POOL,
  FAULT_TYPES,
  type FolderOp,
  isUnder,
  joinPath,
  type Op,
  PlanFolder,
  type PlatformOp,
  parentOf,
  type RestoreOp,
  Rng,
  type SiteOrUpload,
  type Step,
  sitePrefix,
} from './ops.js';

export interface ScheduleOptions {
  seed: number;
  /** User and platform operations (faults come on top). */
  ops: number;
  clients: number;
  /** Faults that need root (tmpfs full disks) are left out when false. */
  diskFaults: boolean;
  /** Faults per user operation, about (default 0.14). */
  faultRate?: number;
  /** Mean pause between operations in ms (default 50; now and then a longer one for sync to catch up). */
  meanGapMs?: number;
}

export interface Schedule {
  seed: number;
  clients: ClientSpec[];
  accounts: number;
  /** The client whose folder lives on a small disk that fills up. */
  diskClient: number;
  steps: Step[];
  userOps: number;
  faults: number;
  /** Bytes the schedule writes, per account (to size the disks). */
  bytesPerAccount: number[];
}

/** Set above 0 once `hyperclay-sync pause` exists (see world.ts pauseClient). */
export const PAUSE_WEIGHT = 0;

const UPLOAD_EXTS: readonly string[] = ['txt', 'md', 'bin', 'css', 'json'];
const MAX_DEPTH = 4;

const KIB = 1024;
const MIB = 1024 * 1024;

/** Builds one schedule: a loop that picks a fault or a user operation per step, and ends faults a few steps later. */
class Generator {
  readonly rng: Rng;
  readonly o: ScheduleOptions;
  readonly clients: ClientSpec[];
  readonly folders: PlanFolder[];
  readonly steps: Step[] = [];
  readonly bytes: number[];
  /** Per account: the sites believed to exist on the platform. */
  readonly sites: Array<Set<string>>;
  readonly clientUp: boolean[];
  readonly restores: Array<{ due: number; op: RestoreOp }> = [];
  readonly diskClient: number;
  platformUp = true;
  diskFull = false;
  platformDiskFull = false;
  userOps = 0;
  faults = 0;
  #tags = 0;
  #names = 0;

  constructor(options: ScheduleOptions) {
    this.o = options;
    this.rng = new Rng(options.seed);
    this.clients = clientSpecs(options.clients);
    const accounts = Math.max(...this.clients.map((c) => c.account)) + 1;
    this.folders = this.clients.map(() => new PlanFolder());
    this.bytes = new Array<number>(accounts).fill(0);
    this.sites = Array.from({ length: accounts }, () => new Set<string>());
    this.clientUp = this.clients.map(() => true);
    this.diskClient = this.rng.int(0, this.clients.length - 1);
  }

  run(): Schedule {
    const faultRate = this.o.faultRate ?? 0.14;
    while (this.userOps < this.o.ops) {
      this.#restoreDue();
      if (this.rng.chance(faultRate)) this.#fault();
      else this.#userOp();
    }
    return {
      seed: this.o.seed,
      clients: this.clients,
      accounts: this.sites.length,
      diskClient: this.diskClient,
      steps: this.steps,
      userOps: this.userOps,
      faults: this.faults,
      bytesPerAccount: this.bytes,
    };
  }

  #gap(): number {
    const mean = this.o.meanGapMs ?? 50;
    return this.rng.chance(0.05) ? this.rng.int(400, 1500) : this.rng.int(0, 2 * mean);
  }

  #push(op: Op): void {
    this.steps.push({ gapMs: this.#gap(), op });
    if (FAULT_TYPES.has(op.t)) this.faults++;
    else if (!op.t.startsWith('start') && !op.t.endsWith('Free')) this.userOps++;
  }

  #restoreLater(op: RestoreOp, min: number, max: number): void {
    this.restores.push({ due: this.steps.length + this.rng.int(min, max), op });
  }

  #restoreDue(): void {
    for (const pending of this.restores.filter((r) => r.due <= this.steps.length)) {
      this.restores.splice(this.restores.indexOf(pending), 1);
      this.#apply(pending.op);
      this.#push(pending.op);
    }
  }

  /** Keeps the up/down bookkeeping of a restore in step with the steps. */
  #apply(op: RestoreOp): void {
    if (op.t === 'startClient') this.clientUp[op.c] = true;
    else if (op.t === 'startPlatform') this.platformUp = true;
    else if (op.t === 'diskFree') this.diskFull = false;
    else this.platformDiskFull = false;
  }

  content(account: number, size: number, html: boolean): ContentSpec {
    this.bytes[account] = (this.bytes[account] ?? 0) + size;
    return { size, tag: `chaos-${this.o.seed}-${this.#tags++}`, html };
  }

  smallSize(): number {
    return this.rng.chance(0.85) ? this.rng.int(40, 3 * KIB) : this.rng.int(10 * KIB, 120 * KIB);
  }

  /** A new file name in client c's folder: a fresh site of its account, or an upload tagged with the client. */
  newName(c: number, site: boolean): { name: string; site: string | null } {
    const n = this.#names++;
    if (site) {
      const name = `${sitePrefix(this.clients[c]!.account)}-s${n}`;
      return { name: `${name}.html`, site: name };
    }
    return { name: `c${c}-u${n}.${this.rng.pick(UPLOAD_EXTS)}`, site: null };
  }

  newDirName(c: number): string {
    return `c${c}d${this.#names++}`;
  }

  /** An existing folder of the model, a shared one from the pool, or the root. */
  pickDir(c: number): string {
    const known = [...this.folders[c]!.dirs].filter((d) => d.split('/').length < MAX_DEPTH);
    const roll = this.rng.next();
    if (roll < 0.3 || (known.length === 0 && roll < 0.6)) return '';
    if (roll < 0.6 || known.length === 0) return this.rng.pick(DIR_POOL);
    return this.rng.pick(known);
  }

  pickFile(c: number): [string, string | null] | null {
    const files = [...this.folders[c]!.files];
    return files.length === 0 ? null : this.rng.pick(files);
  }

  #userOp(): void {
    const c = this.rng.int(0, this.clients.length - 1);
    const kind = this.rng.weighted({
      create: 14,
      edit: 10,
      append: 6,
      truncate: 3,
      delete: 5,
      renameFile: 5,
      moveFile: 4,
      mkdir: 3,
      rmdir: 1.5,
      renameDir: 1.5,
      moveDir: 1,
      editorSave: 8,
      burst: 3,
      syncedEdit: 8,
      platformSave: 6,
      siteDelete: 2,
    });
    const op = userOpOf(this, kind, c) ?? this.#create(c);
    this.#push(op);
  }

  #create(c: number): FolderOp {
    const site = this.rng.chance(0.5);
    const { name, site: siteName } = this.newName(c, site);
    const path = joinPath(this.pickDir(c), name);
    this.folders[c]!.addFile(path, siteName);
    if (siteName) this.sites[this.clients[c]!.account]!.add(siteName);
    return { t: 'create', c, path, content: this.content(this.clients[c]!.account, this.smallSize(), site) };
  }

  /** A burst of big files (a fault of its own: sync is in the middle of it when a client dies right after). */
  #midTransferKill(): void {
    const up = this.clients.filter((c) => this.clientUp[c.index]);
    if (up.length === 0) return;
    const writer = this.rng.pick(up);
    this.#push(burstOf(this, writer.index, true));
    const gapMs = this.rng.int(20, 400);
    if (this.platformUp && this.rng.chance(0.3)) {
      // The platform dies while the big files come in.
      this.steps.push({ gapMs, op: { t: 'killPlatform' } });
      this.faults++;
      this.platformUp = false;
      this.#restoreLater({ t: 'startPlatform' }, 2, 15);
      return;
    }
    // The writer dies while it pushes, or a sibling of the same account while it pulls.
    const victim = this.rng.pick(up.filter((c) => c.account === writer.account));
    this.steps.push({ gapMs, op: { t: 'killClient', c: victim.index } });
    this.faults++;
    this.clientUp[victim.index] = false;
    this.#restoreLater({ t: 'startClient', c: victim.index }, 2, 15);
  }

  #fault(): void {
    const disks = this.o.diskFaults ? 1 : 0;
    const kind = this.rng.weighted({
      killClient: 3,
      killPlatform: 1.2,
      unreachable: 1.5,
      proxyFault: 4,
      diskFull: this.diskFull ? 0 : disks,
      platformDiskFull: this.platformDiskFull ? 0 : disks,
      stopStart: 2,
      midTransfer: 1.5,
      pause: PAUSE_WEIGHT,
    });
    const up = this.clients.filter((c) => this.clientUp[c.index]).map((c) => c.index);
    const anyClient = this.rng.int(0, this.clients.length - 1);
    switch (kind) {
      case 'midTransfer':
        this.#midTransferKill();
        return;
      case 'killClient':
      case 'stopStart': {
        if (up.length === 0) return;
        const c = this.rng.pick(up);
        this.#push({ t: kind, c });
        if (kind === 'killClient') {
          this.clientUp[c] = false;
          this.#restoreLater({ t: 'startClient', c }, 3, 25);
        }
        return;
      }
      case 'killPlatform':
        if (!this.platformUp) return;
        this.platformUp = false;
        this.#push({ t: 'killPlatform' });
        this.#restoreLater({ t: 'startPlatform' }, 2, 15);
        return;
      case 'unreachable':
        this.#push({ t: 'unreachable', ms: this.rng.int(500, 6000) });
        return;
      case 'proxyFault': {
        const mode = this.rng.pick(['delay', 'reset', 'truncate', 'stall'] as const);
        this.#push({ t: 'proxyFault', c: anyClient, mode, ms: this.rng.int(500, 5000) });
        return;
      }
      case 'diskFull':
        this.diskFull = true;
        this.#push({ t: 'diskFull', c: this.diskClient });
        this.#restoreLater({ t: 'diskFree', c: this.diskClient }, 3, 20);
        return;
      case 'platformDiskFull':
        this.platformDiskFull = true;
        this.#push({ t: 'platformDiskFull' });
        this.#restoreLater({ t: 'platformDiskFree' }, 3, 20);
        return;
      case 'pause':
        this.#push({ t: 'pause', c: anyClient, ms: this.rng.int(500, 4000) });
        return;
    }
  }
}

/** `n` small files in one folder, or (big) two or three files of 0.5 to 2 MiB. */
function burstOf(g: Generator, c: number, big: boolean): FolderOp {
  const dir = g.pickDir(c);
  const account = g.clients[c]!.account;
  const count = big ? g.rng.int(2, 3) : g.rng.int(5, 20);
  const files: Array<{ path: string; content: ContentSpec }> = [];
  for (let i = 0; i < count; i++) {
    const site = !big && g.rng.chance(0.3);
    const { name, site: siteName } = g.newName(c, site);
    const path = joinPath(dir, name);
    g.folders[c]!.addFile(path, siteName);
    if (siteName) g.sites[account]!.add(siteName);
    const size = big ? g.rng.int(MIB / 2, 2 * MIB) : g.rng.int(20, 2 * KIB);
    files.push({ path, content: g.content(account, size, site) });
  }
  return { t: 'burst', c, files };
}

/** The user operation `kind` in client c's folder (or on its account's platform), or null when it has no target. */
function userOpOf(g: Generator, kind: string, c: number): Op | null {
  const folder = g.folders[c]!;
  const account = g.clients[c]!.account;
  const file = g.pickFile(c);
  switch (kind) {
    case 'edit':
    case 'append':
    case 'editorSave': {
      if (!file) return null;
      const [path, site] = file;
      const content = g.content(account, kind === 'append' ? g.rng.int(10, 2 * KIB) : g.rng.int(10, 400), !!site);
      if (kind === 'edit') return { t: 'edit', c, path, at: g.rng.next(), content };
      if (kind === 'append') return { t: 'append', c, path, content };
      return { t: 'editorSave', c, path, content: g.content(account, g.smallSize(), !!site) };
    }
    case 'truncate':
      return file ? { t: 'truncate', c, path: file[0], keep: g.rng.next() } : null;
    case 'delete':
      if (!file) return null;
      folder.files.delete(file[0]);
      return { t: 'delete', c, path: file[0] };
    case 'renameFile':
    case 'moveFile':
      return file ? fileMove(g, c, file, kind === 'moveFile') : null;
    case 'mkdir': {
      const parent = g.pickDir(c);
      const path = g.rng.chance(0.4) ? g.rng.pick(DIR_POOL) : joinPath(parent, g.newDirName(c));
      folder.addDir(path);
      return { t: 'mkdir', c, path };
    }
    case 'rmdir': {
      if (folder.dirs.size === 0) return null;
      const path = g.rng.pick([...folder.dirs]);
      folder.removeUnder(path);
      return { t: 'rmdir', c, path };
    }
    case 'renameDir':
    case 'moveDir':
      return dirMove(g, c, kind === 'moveDir');
    case 'burst':
      return burstOf(g, c, g.rng.chance(0.25));
    case 'syncedEdit':
      return syncedEdit(g, c);
    case 'platformSave':
    case 'siteDelete':
      return platformOp(g, account, kind);
    default:
      return null;
  }
}

function fileMove(g: Generator, c: number, [from, site]: [string, string | null], move: boolean): FolderOp | null {
  const folder = g.folders[c]!;
  let to: string;
  let newSite = site;
  if (move) {
    to = joinPath(g.pickDir(c), baseOf(from));
  } else {
    const fresh = g.newName(c, site !== null);
    to = joinPath(parentOf(from), fresh.name);
    newSite = fresh.site;
    if (newSite) g.sites[g.clients[c]!.account]!.add(newSite);
  }
  if (to === from || folder.files.has(to) || folder.dirs.has(to)) return null;
  folder.files.delete(from);
  folder.addFile(to, newSite);
  return { t: 'rename', c, from, to, dir: false };
}

function dirMove(g: Generator, c: number, move: boolean): FolderOp | null {
  const folder = g.folders[c]!;
  if (folder.dirs.size === 0) return null;
  const from = g.rng.pick([...folder.dirs]);
  const target = move ? g.pickDir(c) : parentOf(from);
  if (target !== '' && isUnder(target, from)) return null;
  const to = joinPath(target, move ? baseOf(from) : g.newDirName(c));
  const depth = Math.max(0, ...[...folder.dirs].filter((d) => isUnder(d, from)).map((d) => d.split('/').length));
  if (to === from || folder.dirs.has(to) || folder.files.has(to)) return null;
  if (depth - from.split('/').length + to.split('/').length > MAX_DEPTH) return null;
  folder.moveUnder(from, to);
  return { t: 'rename', c, from, to, dir: true };
}

/** An edit, in this folder, of a file another folder of the same account made (sync brought it here, or not yet). */
function syncedEdit(g: Generator, c: number): FolderOp | null {
  const account = g.clients[c]!.account;
  const targets: SiteOrUpload[] = [];
  for (const other of g.clients) {
    if (other.index === c || other.account !== account) continue;
    for (const [path, site] of g.folders[other.index]!.files) {
      targets.push(site ? { kind: 'site', name: site } : { kind: 'upload', path });
    }
  }
  if (targets.length === 0) return null;
  const target = g.rng.pick(targets);
  return { t: 'syncedEdit', c, target, content: g.content(account, g.rng.int(10, 600), target.kind === 'site') };
}

function platformOp(g: Generator, account: number, kind: 'platformSave' | 'siteDelete'): PlatformOp | null {
  const sites = [...g.sites[account]!];
  if (sites.length === 0) return null;
  const name = g.rng.pick(sites);
  if (kind === 'platformSave')
    return { t: 'platformSave', account, name, content: g.content(account, g.smallSize(), true) };
  g.sites[account]!.delete(name);
  for (const client of g.clients) {
    if (client.account !== account) continue;
    const folder = g.folders[client.index]!;
    for (const [path, site] of [...folder.files]) if (site === name) folder.files.delete(path);
  }
  return { t: 'siteDelete', account, name };
}

export function generateSchedule(options: ScheduleOptions): Schedule {
  return new Generator(options).run();
}

/** One line per step, for the run's folder and for comparing two runs of one seed. */
export function describeStep(step: Step, index: number): string {
  const { op } = step;
  const fields = Object.entries(op)
    .filter(([key]) => key !== 't')
    .map(([key, value]) => {
      if (key === 'files') return `files=${(value as unknown[]).length}`;
      if (key === 'content') return `content=${(value as ContentSpec).size}B`;
      return `${key}=${typeof value === 'object' ? JSON.stringify(value) : String(value)}`;
    });
  return `${String(index).padStart(5)} +${step.gapMs}ms ${op.t} ${fields.join(' ')}`;
}
