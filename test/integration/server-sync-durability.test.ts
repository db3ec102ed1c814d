// SPEC.md promise 1 across a crash: kill -9 the platform during a burst of writes, restart it on the same folder.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import type { Entry } from '../../protocol/index.js';
import { openEmbeddedStorage } from '../../server-endpoints/storage/embedded.js';
import { type SyncApi, sha256Hex, syncApi } from '../helpers/platform.js';

const dir = mkdtempSync(join(tmpdir(), 'hc-durability-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function startServer(): Promise<{ child: ChildProcess; api: SyncApi }> {
  const script = join(import.meta.dirname, '../../bench/server-process.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', script, '--dir', dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`platform process exited early (${code})`)));
  });
  const { url, token } = JSON.parse(line) as { url: string; token: string };
  return { child, api: syncApi(url, token) };
}

interface Ack {
  route: string;
  version: number;
  sha256: string;
  seq: number;
}

describe('durability: kill -9 during a burst of writes', () => {
  it('after a restart every acknowledged write is there and the feed has no gap', async () => {
    const first = await startServer();
    const before = await first.api.changes('0');
    expect(before.status).toBe(200);
    const startCursor = before.json.cursor as string;

    const acks: Ack[] = [];
    let killed = false;
    const writer = async (w: number) => {
      const versions = new Map<string, number>();
      for (let i = 0; !killed; i++) {
        // Each writer edits a few sites and uploads over and over, so the burst replaces content (backups) too.
        const site = i % 2 === 0;
        const key = `w${w}-${i % 5}`;
        const route = site ? `/sync/sites/${key}` : `/sync/uploads/burst/${key}.bin`;
        const content = `writer ${w} write ${i} ${'x'.repeat(i % 2000)}`;
        const options = { baseVersion: versions.get(route) ?? 0 };
        try {
          const put = site
            ? await first.api.putSite(key, content, options)
            : await first.api.putUpload(`burst/${key}.bin`, content, options);
          if (put.status !== 200 && put.status !== 201) throw new Error(`unexpected ${put.status}`);
          const entry = put.json as unknown as Entry;
          versions.set(route, entry.version!);
          acks.push({ route, version: entry.version!, sha256: sha256Hex(content), seq: entry.seq });
        } catch (error) {
          if (!killed) throw error;
        }
      }
    };
    let failure: unknown = null;
    const burst = Promise.all([0, 1, 2, 3, 4, 5].map(writer)).catch((error: unknown) => {
      failure = error;
    });
    while (acks.length < 150 && failure === null) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(failure).toBeNull();
    const exited = new Promise((resolve) => first.child.once('exit', resolve));
    first.child.kill('SIGKILL');
    killed = true;
    await burst;
    await exited;
    expect(first.child.signalCode).toBe('SIGKILL');

    const second = await startServer();
    const { api } = second;
    // Every acknowledged version is the current content or kept as a backup, with the same content.
    const kept = new Map<string, Map<number, string>>();
    for (const route of new Set(acks.map((ack) => ack.route))) {
      const current = await api.get(route);
      expect(current.status).toBe(200);
      const versions = new Map<number, string>([[Number(current.headers.get('x-version')), sha256Hex(current.body)]]);
      if (route.startsWith('/sync/sites/')) {
        const listed = (await api.get(`${route}/versions`)).json.versions as { version: number; sha256: string }[];
        for (const v of listed) versions.set(v.version, v.sha256);
      }
      kept.set(route, versions);
    }
    for (const ack of acks) {
      const versions = kept.get(ack.route)!;
      if (ack.route.startsWith('/sync/sites/')) {
        expect([ack.route, versions.get(ack.version)]).toEqual([ack.route, ack.sha256]);
      } else {
        expect(Math.max(...versions.keys())).toBeGreaterThanOrEqual(ack.version);
      }
    }

    // The feed from the cursor taken before the burst holds every entry written, in strictly increasing seq,
    // each at or after its last acknowledged seq; a new write continues the sequence.
    const seen: Entry[] = [];
    let cursor = startCursor;
    for (;;) {
      const page = await api.changes(cursor, { limit: 7 });
      expect(page.status).toBe(200);
      seen.push(...(page.json.entries as Entry[]));
      cursor = page.json.cursor as string;
      if (!page.json.hasMore) break;
    }
    const seqs = seen.map((e) => e.seq);
    expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
    expect(new Set(seqs).size).toBe(seqs.length);
    const lastAck = new Map<string, number>();
    for (const ack of acks) lastAck.set(ack.route, Math.max(lastAck.get(ack.route) ?? 0, ack.seq));
    const routeOf = (e: Entry) => (e.kind === 'site' ? `/sync/sites/${e.name}` : `/sync/uploads/${e.path}`);
    const feedSeq = new Map(seen.map((e) => [routeOf(e), e.seq]));
    for (const [route, seq] of lastAck) expect([route, (feedSeq.get(route) ?? -1) >= seq]).toEqual([route, true]);
    const maxAckSeq = Math.max(...acks.map((ack) => ack.seq));
    const after = await api.putSite('after-restart', 'hello again');
    expect(after.status).toBe(201);
    expect(after.json.seq as number).toBeGreaterThan(maxAckSeq);
    const tail = await api.changes(cursor);
    expect((tail.json.entries as Entry[]).map((e) => e.name)).toEqual(['after-restart']);

    const stopped = new Promise((resolve) => second.child.once('exit', resolve));
    second.child.kill('SIGTERM');
    await stopped;

    // Uploads have no versions endpoint: read every acknowledged version straight from the storage folder.
    const storage = openEmbeddedStorage({ dir: join(dir, 'sync'), purgeEveryMs: 0 });
    try {
      for (const ack of acks) {
        const file = ack.route.startsWith('/sync/sites/')
          ? { kind: 'site' as const, key: ack.route.slice('/sync/sites/'.length) }
          : { kind: 'upload' as const, key: ack.route.slice('/sync/uploads/'.length) };
        const content = await storage.readVersion('acct-bench', file, ack.version);
        expect([ack.route, ack.version, content && sha256Hex(content)]).toEqual([ack.route, ack.version, ack.sha256]);
      }
    } finally {
      await storage.close();
    }
  });
});
