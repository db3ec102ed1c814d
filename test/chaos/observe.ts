// What a chaos run left behind, read for the checks: a sync folder's entries and every content hash in it, a
// client's state (read from a copy), the pushes its log says the platform acknowledged, and the platform's storage.

import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSiteFile } from '../../protocol/index.js';
import { openReferenceStores } from '../../server-endpoints/reference/server.js';
import type { FileKey, SyncStorage } from '../../server-endpoints/types.js';
import { dataPathsFor, stateFileFor } from '../../sync-engine/config.js';
import { createFolderRules } from '../../sync-engine/folder-rules.js';
import { isTempName } from '../../sync-engine/fsutil.js';
import { type EntryKey, entryKeyOf, localKeyOf, type StateRecord } from '../../sync-engine/model.js';
import { openStateStore } from '../../sync-engine/state-store.js';
import type { ListedEntry } from './platform.js';
import { sha256 } from './user-ops.js';

export interface LocalEntry {
  path: string;
  /** Files only. */
  sha256?: string;
}

export interface FolderScan {
  /** Synced entries by engine key (sites by name, uploads and folders by path). */
  entries: Map<EntryKey, LocalEntry>;
  /** Site names with more than one local file (the extra ones are skipped by design). */
  duplicates: string[];
  /** Every content in the folder, sites-versions and ignored files included (the engine's temp files not). */
  hashes: Set<string>;
  /** The engine's `.hyperclay-tmp-*` files, with their ctime (a crash's leftovers are older than the crash). */
  temps: Array<{ path: string; ctimeMs: number }>;
}

/** Walks a sync folder (no symlinks followed), hashing its files (the ignored ones, backups included, on request). */
export async function scanSyncFolder(folder: string, options: { hashIgnored: boolean }): Promise<FolderScan> {
  const rules = createFolderRules(folder);
  const scan: FolderScan = { entries: new Map(), duplicates: [], hashes: new Set(), temps: [] };
  const walk = async (dir: string, ignoredTree: boolean): Promise<void> => {
    const items = await readdir(dir === '' ? folder : join(folder, dir), { withFileTypes: true }).catch(() => []);
    for (const item of items) {
      const path = dir === '' ? item.name : `${dir}/${item.name}`;
      const abs = join(folder, path);
      const ignored = ignoredTree || rules.isIgnored(path, item.isDirectory());
      if (item.isDirectory()) {
        if (!ignored) scan.entries.set(localKeyOf('folder', path), { path });
        await walk(path, ignored);
        continue;
      }
      if (!item.isFile()) continue;
      if (isTempName(item.name)) {
        const info = await stat(abs).catch(() => null);
        if (info) scan.temps.push({ path, ctimeMs: info.ctimeMs });
        continue;
      }
      if (ignored && !options.hashIgnored) continue;
      const content = await readFile(abs).catch(() => null);
      if (content === null) continue;
      const hash = sha256(content);
      scan.hashes.add(hash);
      if (ignored) continue;
      const key = localKeyOf(isSiteFile(path) ? 'site' : 'upload', path);
      if (scan.entries.has(key)) scan.duplicates.push(`${path} and ${scan.entries.get(key)!.path}`);
      else scan.entries.set(key, { path, sha256: hash });
    }
  };
  await walk('', false);
  return scan;
}

/** A client's state records, read from a copy of its state file (the client may still run; the copy is removed). */
export async function readClientState(
  home: string,
  accountId: string,
  folder: string,
): Promise<Map<EntryKey, StateRecord>> {
  const file = stateFileFor(dataPathsFor(home), accountId, folder);
  const copyDir = mkdtempSync(join(tmpdir(), 'hc-state-copy-'));
  try {
    const copy = join(copyDir, 'state.json');
    if (existsSync(file)) copyFileSync(file, copy);
    if (existsSync(`${file}.journal`)) copyFileSync(`${file}.journal`, `${copy}.journal`);
    const store = await openStateStore(copy);
    const records = store.all();
    await store.close();
    return records;
  } finally {
    rmSync(copyDir, { recursive: true, force: true });
  }
}

export interface LoggedPush {
  client: number;
  path: string;
  key: EntryKey;
  version: number;
  /** As the log shows it (`3.1 KB`). */
  size: string;
  line: string;
}

const PUSH_LINE = /^\S+ INFO {2}push (.+) v(\d+) (\d+(?:\.\d)? [KMGT]?B) \d+ ms( \(already there\))?$/;

/** Every `push <path> v<N> <size> ...` line of a client's log files (the rotated ones too). */
export function loggedPushes(client: number, home: string): LoggedPush[] {
  const { logsDir } = dataPathsFor(home);
  const files = existsSync(logsDir) ? readdirSync(logsDir).filter((n) => /^sync(\.\d+)?\.log$/.test(n)) : [];
  const pushes: LoggedPush[] = [];
  for (const name of files) {
    for (const line of readFileSync(join(logsDir, name), 'utf8').split('\n')) {
      const match = PUSH_LINE.exec(line);
      if (!match) continue;
      const path = match[1]!;
      const key = localKeyOf(isSiteFile(path) ? 'site' : 'upload', path);
      pushes.push({ client, path, key, version: Number(match[2]), size: match[3]!, line });
    }
  }
  return pushes;
}

/** One account as its platform storage holds it, read with the platform stopped. */
export interface PlatformAccount {
  /** The complete current listing. */
  current: ListedEntry[];
  /** Every version ever kept of every file key (current ones included): key -> version -> {sha256, size}. */
  versions: Map<EntryKey, Map<number, { sha256: string; size: number }>>;
  /** Every content hash the platform holds for the account. */
  hashes: Set<string>;
}

async function readAccount(storage: SyncStorage, accountId: string): Promise<PlatformAccount> {
  const current: ListedEntry[] = [];
  for (let next: string | null = null; ; ) {
    const page = await storage.listing(accountId, next, 1000);
    if (!page) throw new Error('the platform refused its own listing');
    current.push(...(page.entries as ListedEntry[]));
    next = page.next;
    if (next === null) break;
  }
  // Every entry ever (tombstones too) comes through the change feed from seq 0: the keys whose versions to read.
  const everyEntry: ListedEntry[] = [];
  for (let after = 0; ; ) {
    const page = await storage.changesSince(accountId, after, 1000);
    if (!page || page.entries.length === 0) break;
    everyEntry.push(...(page.entries as ListedEntry[]));
    after = Math.max(...page.entries.map((e) => e.seq ?? after));
    if (after >= page.head) break;
  }
  const account: PlatformAccount = { current, versions: new Map(), hashes: new Set() };
  for (const entry of [...everyEntry, ...current]) {
    if (entry.kind === 'folder') continue;
    const key = entryKeyOf(entry);
    if (account.versions.has(key)) continue;
    const fileKey: FileKey = { kind: entry.kind, key: entry.kind === 'site' ? entry.name! : entry.path };
    const byVersion = new Map<number, { sha256: string; size: number }>();
    for (const v of (await storage.versions(accountId, fileKey)) ?? []) {
      byVersion.set(v.version, { sha256: v.sha256, size: v.size });
    }
    account.versions.set(key, byVersion);
  }
  for (const entry of current) {
    if (entry.kind === 'folder' || !entry.sha256) continue;
    account.versions.get(entryKeyOf(entry))!.set(entry.version!, { sha256: entry.sha256, size: entry.size! });
  }
  for (const byVersion of account.versions.values()) for (const v of byVersion.values()) account.hashes.add(v.sha256);
  return account;
}

/** Opens the stopped platform's data folder and reads every account. */
export async function readPlatform(dataDir: string, accountIds: string[]): Promise<PlatformAccount[]> {
  const stores = await openReferenceStores(dataDir);
  try {
    const accounts: PlatformAccount[] = [];
    for (const id of accountIds) accounts.push(await readAccount(stores.storage, id));
    return accounts;
  } finally {
    await stores.close();
  }
}

/** The names found at the top of a folder (for "nothing written outside the folders"). */
export function topNames(dir: string): string[] {
  return existsSync(dir) && statSync(dir).isDirectory() ? readdirSync(dir).sort() : [];
}
