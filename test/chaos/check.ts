// The invariants a chaos run ends with: nothing lost (every acknowledged or user-written content still exists
// somewhere), every folder converged on its account's platform listing (remembered deletes and held files
// excepted), no temp file left, nothing written outside the folders.

import { join } from 'node:path';
import { formatBytes } from '../../sync-engine/log.js';
import { type EntryKey, entryKeyOf, type StateRecord, siteKey } from '../../sync-engine/model.js';
import {
  type FolderScan,
  loggedPushes,
  type PlatformAccount,
  readClientState,
  readPlatform,
  scanSyncFolder,
  topNames,
} from './observe.js';
import type { ListedEntry } from './platform.js';
import { CLIENT_TOP, RUN_TOP, SYNC_FOLDER, type World } from './world.js';

/** A save through the platform's own endpoint that answered 200. */
export interface Ack {
  account: number;
  name: string;
  sha256: string;
  version: number;
}

export interface CheckReport {
  /** Content found nowhere: not in any folder of its account, not on the platform. */
  lost: string[];
  /** Acknowledged writes the platform does not hold as acknowledged (even if a folder still has the content). */
  durability: string[];
  /** Where a folder differs from its account's platform listing. */
  differences: string[];
  /** Temp files a clean run left, and files outside the folders. */
  leftovers: string[];
  /** Allowed differences and crash leftovers, listed for the record. */
  notes: string[];
}

const short = (hash: string | undefined): string => (hash ? hash.slice(0, 10) : '-');

/** One folder against its account's platform listing; remembered local deletes and held files are excused. */
export function compareFolder(
  client: number,
  scan: FolderScan,
  platform: ListedEntry[],
  state: Map<EntryKey, StateRecord>,
): { differences: string[]; excused: string[] } {
  const differences: string[] = [];
  const excused: string[] = [];
  const remote = new Map(platform.map((entry) => [entryKeyOf(entry), entry]));
  const tag = `client ${client}:`;
  for (const [key, entry] of remote) {
    const local = scan.entries.get(key);
    const record = state.get(key);
    if (!local) {
      if (record?.localDeleted) excused.push(`${tag} ${key} deleted locally (remembered)`);
      else if (record?.held) excused.push(`${tag} ${key} held by the delete brake`);
      else differences.push(`${tag} ${key} (${entry.path} v${entry.version ?? '-'} ${short(entry.sha256)}) missing`);
      continue;
    }
    if (entry.kind !== 'folder' && local.sha256 !== entry.sha256) {
      if (record?.held) excused.push(`${tag} ${key} held by the delete brake`);
      else {
        const platformSide = `platform ${entry.path} v${entry.version} ${short(entry.sha256)}`;
        differences.push(`${tag} ${key} differs: folder ${local.path} ${short(local.sha256)}, ${platformSide}`);
      }
    }
  }
  for (const [key, local] of scan.entries) {
    if (remote.has(key)) continue;
    if (state.get(key)?.held) excused.push(`${tag} ${key} held by the delete brake`);
    else differences.push(`${tag} ${key} (${local.path} ${short(local.sha256)}) is not on the platform`);
  }
  for (const twins of scan.duplicates) differences.push(`${tag} two local files for one site: ${twins}`);
  return { differences, excused };
}

/** The folders against the running platform (the settle loop's test): differences, none when converged. */
export async function liveDifferences(world: World): Promise<string[]> {
  const differences: string[] = [];
  const listings = await Promise.all(world.accounts.map((a) => world.platform.listing(a)));
  for (const client of world.clients) {
    const listing = listings[world.o.clients[client.s.index]!.account];
    if (!listing) return ['the platform listing could not be read'];
    const scan = await scanSyncFolder(client.s.folder, { hashIgnored: false });
    const state = await readClientState(client.s.home, client.s.account.id, client.s.folder);
    differences.push(...compareFolder(client.s.index, scan, listing, state).differences);
  }
  return differences;
}

/** Every content that must still exist, and whether it does; pushes and saves checked against the platform. */
function findLost(world: World, acks: Ack[], platform: PlatformAccount[], scans: FolderScan[]) {
  const lost: string[] = [];
  const durability: string[] = [];
  const accountOf = (client: number) => world.o.clients[client]!.account;
  const localHashes = platform.map(() => new Set<string>());
  for (const [client, scan] of scans.entries()) for (const h of scan.hashes) localHashes[accountOf(client)]!.add(h);
  const somewhere = (account: number, hash: string) =>
    platform[account]!.hashes.has(hash) || localHashes[account]!.has(hash);
  for (const ack of acks) {
    const kept = platform[ack.account]!.versions.get(siteKey(ack.name))?.get(ack.version);
    if (kept?.sha256 !== ack.sha256) {
      const has = kept ? `v${ack.version} is ${short(kept.sha256)}` : `has no v${ack.version}`;
      durability.push(
        `platform save of ${ack.name} answered v${ack.version} ${short(ack.sha256)}; the platform ${has}`,
      );
    }
    if (!somewhere(ack.account, ack.sha256))
      lost.push(`platform save of ${ack.name} v${ack.version} ${short(ack.sha256)}`);
  }
  for (const client of world.clients) {
    const account = accountOf(client.s.index);
    for (const push of loggedPushes(client.s.index, client.s.home)) {
      const kept = platform[account]!.versions.get(push.key)?.get(push.version);
      if (!kept || formatBytes(kept.size) !== push.size) {
        const has = kept ? `v${push.version} of ${formatBytes(kept.size)}` : `no v${push.version}`;
        lost.push(`client ${client.s.index} logged "${push.line}" but the platform has ${has} of ${push.key}`);
      }
    }
    const { model } = world.users[client.s.index]!;
    for (const [path, hash] of model.current) {
      if (!somewhere(account, hash))
        lost.push(`client ${client.s.index}: ${path} ${short(hash)} (the user's last write)`);
    }
    for (const orphan of model.orphans) {
      if (somewhere(account, orphan.sha256)) continue;
      lost.push(`client ${client.s.index}: ${orphan.path} ${short(orphan.sha256)} (${orphan.why})`);
    }
  }
  return { lost, durability };
}

/** The engine's temp files: a crash's leftovers (older than the client's last kill -9) are noted, others fail. */
function checkTemps(world: World, scans: FolderScan[], report: CheckReport): void {
  for (const [index, scan] of scans.entries()) {
    const client = world.clients[index]!;
    for (const temp of scan.temps) {
      const line = `client ${index}: temp file ${temp.path}`;
      if (client.lastKillMs > 0 && temp.ctimeMs <= client.lastKillMs + 500) {
        report.notes.push(`${line} left by a kill -9 (the engine removes those after an hour)`);
      } else report.leftovers.push(`${line} left behind by a process that was not killed`);
    }
  }
}

/** The run's folder holds only what the harness made: anything else was written outside the sync folders. */
function checkOutside(world: World, report: CheckReport): void {
  const expect = (dir: string, names: string[]) => {
    const found = topNames(dir);
    const extra = found.filter((n) => !names.includes(n));
    if (extra.length > 0) report.leftovers.push(`written outside the sync folders, in ${dir}: ${extra.join(', ')}`);
  };
  expect(world.o.root, [...RUN_TOP, ...world.clients.map((c) => `c${c.s.index}`)]);
  expect(world.platformDisk.dir, ['data']);
  for (const client of world.clients) {
    expect(client.s.dir, CLIENT_TOP);
    expect(join(client.s.dir, 'disk'), [SYNC_FOLDER]);
  }
}

/** The final check, with every client and the platform stopped. */
export async function finalCheck(world: World, acks: Ack[]): Promise<CheckReport> {
  const report: CheckReport = { lost: [], durability: [], differences: [], leftovers: [], notes: [] };
  const platform = await readPlatform(
    world.platform.dataDir,
    world.accounts.map((a) => a.id),
  );
  const scans: FolderScan[] = [];
  for (const client of world.clients) {
    const scan = await scanSyncFolder(client.s.folder, { hashIgnored: true });
    scans.push(scan);
    const account = world.o.clients[client.s.index]!.account;
    const state = await readClientState(client.s.home, client.s.account.id, client.s.folder);
    const { differences, excused } = compareFolder(client.s.index, scan, platform[account]!.current, state);
    report.differences.push(...differences);
    report.notes.push(...excused);
  }
  Object.assign(report, findLost(world, acks, platform, scans));
  checkTemps(world, scans, report);
  checkOutside(world, report);
  return report;
}
