// SPEC.md "The platform side": several stateless endpoint processes over one PostgreSQL and one S3 bucket.
// Two app instances, each with its own pg pools, S3 client and identity map: nothing shared but the stores.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Entry } from '../../protocol/index.js';
import { changesPage, drainFeed } from '../helpers/feed.js';
import { type SyncApi, sha256Hex, syncApi } from '../helpers/platform.js';
import { type PgPlatform, startPgPlatform } from '../helpers/postgres.js';

let platform: PgPlatform;

beforeAll(async () => {
  platform = await startPgPlatform({ nodes: 2 });
});
afterAll(() => platform?.close());

/** One account; a device talking to each node. */
async function accountOnBothNodes(email: string): Promise<{ id: string; apis: [SyncApi, SyncApi] }> {
  const account = platform.addAccount({ email });
  const one = syncApi(platform.nodes[0]!.url, await platform.tokenFor(account, 'one'));
  const two = syncApi(platform.nodes[1]!.url, await platform.tokenFor(account, 'two'));
  return { id: account.id, apis: [one, two] };
}

async function waitFor(condition: () => boolean, what: string, refresh?: () => Promise<void>): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    await refresh?.();
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('two endpoint instances over one PostgreSQL + S3', () => {
  it('a token from one is honoured by the other; a write through one is read and listed by the other', async () => {
    const { apis } = await accountOnBothNodes('shared@example.com');
    const [one, two] = apis;
    expect((await one.putSite('multi-hello', '<p>from one</p>', { path: 'blog/multi-hello.html' })).status).toBe(201);
    const got = await two.get('/sync/sites/multi-hello');
    expect([got.status, got.body.toString()]).toEqual([200, '<p>from one</p>']);
    const listed = await drainFeed(two, '0');
    expect(listed.entries.map((e) => e.path)).toEqual(['blog/multi-hello.html']);
    // The cursor from one node's listing is served by the other (cursors carry no process state).
    expect((await two.putSite('multi-hello', '<p>from two</p>', { baseVersion: 1 })).status).toBe(200);
    const feed = await changesPage(one, listed.cursor);
    expect(feed.entries.map((e) => [e.name, e.version])).toEqual([['multi-hello', 2]]);
    expect((await one.get('/sync/sites/multi-hello/versions')).json).toMatchObject({
      versions: [{ version: 1, sha256: sha256Hex('<p>from one</p>') }],
    });
  });

  it("a change committed through one instance wakes the other's long-poll (LISTEN/NOTIFY)", async () => {
    const { id, apis } = await accountOnBothNodes('wake@example.com');
    const [one, two] = apis;
    let pokes = 0;
    const unsubscribe = platform.nodes[1]!.storage.subscribe!(id, () => {
      pokes++;
    });
    try {
      const head = (await drainFeed(two, '0')).cursor;
      const waiting = changesPage(two, head, { wait: 25 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const before = pokes;
      await one.putFolder('announced');
      // Only a notification from the other process can call this listener.
      await waitFor(() => pokes > before, "node two's listener to be told of node one's change");
      expect((await waiting).entries.map((e) => e.path)).toEqual(['announced']);
    } finally {
      unsubscribe();
    }
  });

  it('the notification connection is re-established after PostgreSQL drops it; wake-ups keep coming', async () => {
    const { id, apis } = await accountOnBothNodes('relisten@example.com');
    let pokes = 0;
    const unsubscribe = platform.nodes[1]!.storage.subscribe!(id, () => {
      pokes++;
    });
    const listening = async () =>
      (
        await platform.storage.pool.query<{ pid: number }>(
          "SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN hyperclay_sync_changes%'",
        )
      ).rows.map((row) => row.pid);
    try {
      let before: number[] = [];
      await waitFor(
        () => before.length > 0,
        'a LISTEN connection',
        async () => {
          before = await listening();
        },
      );
      await platform.storage.pool.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [before]);
      let now: number[] = [];
      await waitFor(
        () => now.length > 0 && now.every((pid) => !before.includes(pid)),
        'a new LISTEN connection',
        async () => {
          now = await listening();
        },
      );
      const seen = pokes;
      await apis[0].putFolder('after-reconnect');
      await waitFor(() => pokes > seen, 'a wake-up after the reconnect');
    } finally {
      unsubscribe();
    }
  });

  it('two writers racing on one site through different instances: every acknowledged version is kept', async () => {
    const { id, apis } = await accountOnBothNodes('race@example.com');
    const acknowledged = new Map<number, string>();
    const outcomes = { saved: 0, conflict: 0 };
    const until = Date.now() + 2500;
    await Promise.all(
      apis.map(async (api, w) => {
        let base = 0;
        for (let i = 0; Date.now() < until; i++) {
          const content = `<p>writer ${w} edit ${i}</p>`;
          // Honest edits (base = last seen, now) and blind ones made a minute ago (stale base, older: they lose).
          const blind = i % 3 === 2;
          const put = await api.putSite('multi-contested', content, {
            baseVersion: blind ? 0 : base,
            modifiedAt: blind ? Date.now() - 60_000 : Date.now(),
          });
          if (put.status === 200 || put.status === 201) {
            const version = put.json.version as number;
            expect(acknowledged.has(version)).toBe(false);
            acknowledged.set(version, sha256Hex(content));
            base = version;
            outcomes.saved++;
          } else {
            expect(put.status).toBe(409);
            base = (put.json.error as { current: { version: number } }).current.version;
            outcomes.conflict++;
          }
        }
      }),
    );
    expect(outcomes.saved).toBeGreaterThan(10);
    expect(outcomes.conflict).toBeGreaterThan(0);
    const current = await apis[1].get('/sync/sites/multi-contested');
    const versions = (await apis[0].get('/sync/sites/multi-contested/versions')).json.versions as {
      version: number;
      sha256: string;
    }[];
    const kept = new Map(versions.map((v) => [v.version, v.sha256]));
    kept.set(Number(current.headers.get('x-version')), sha256Hex(current.body));
    for (const [version, sha] of acknowledged) {
      expect([version, kept.get(version)]).toEqual([version, sha]);
      const content = await platform.nodes[version % 2]!.storage.readVersion(
        id,
        { kind: 'site', key: 'multi-contested' },
        version,
      );
      expect(content && sha256Hex(content)).toBe(sha);
    }
    expect([...kept.keys()].sort((x, y) => x - y)).toEqual(Array.from({ length: kept.size }, (_, i) => i + 1));
    expect(kept.size).toBe(acknowledged.size);
  });

  it('two accounts creating one site name at once through different instances: one gets it, the other name_taken', async () => {
    const a = await accountOnBothNodes('name-a@example.com');
    const b = await accountOnBothNodes('name-b@example.com');
    for (let round = 0; round < 15; round++) {
      const name = `contested-name-${round}`;
      const [first, second] = await Promise.all([
        a.apis[0].putSite(name, `<p>a ${round}</p>`),
        b.apis[1].putSite(name, `<p>b ${round}</p>`),
      ]);
      const outcomes = [first, second].map((r) => [r.status, (r.json.error as { code?: string } | undefined)?.code]);
      expect(outcomes.sort()).toEqual([
        [201, undefined],
        [409, 'name_taken'],
      ]);
      const winner = first.status === 201 ? a : b;
      const owner = await platform.nodes[round % 2]!.storage.siteOwner(name);
      expect(owner).toBe(winner.id);
    }
  });

  it('the feed under concurrent writers on both instances: no gap, no reordering, and it ends at the truth', async () => {
    const { apis } = await accountOnBothNodes('feed@example.com');
    const writers = [...apis, ...apis]; // two writers per instance
    const acknowledged: { path: string; version: number; seq: number }[] = [];
    let writing = true;
    let writes = 0;
    const writerRuns = writers.map(async (api, w) => {
      for (let n = 0; writing; n++) {
        // Overlapping paths across writers: contention on entries and on the account's counter.
        const path = `feed/${(n * 3 + w) % 12}.txt`;
        const put = await api.putUpload(path, `writer ${w} write ${n}`, { modifiedAt: Date.now() + n });
        if (put.status === 200 || put.status === 201) {
          acknowledged.push({ path, version: put.json.version as number, seq: put.json.seq as number });
          writes++;
        } else {
          expect(put.status).toBe(409);
        }
      }
    });
    const known = new Map<string, Entry>();
    let cursor = '0';
    let lastSeq = 0;
    let pages = 0;
    try {
      for (let listing = true; listing || pages < 80; pages++) {
        // The reader alternates instances, as a client behind a load balancer would.
        const next = await changesPage(apis[pages % 2]!, cursor, { limit: 4 });
        if (!listing) {
          for (const entry of next.entries) {
            expect(entry.seq).toBeGreaterThan(lastSeq);
            lastSeq = entry.seq;
          }
        }
        for (const entry of next.entries) known.set(entry.path, entry);
        cursor = next.cursor;
        if (!next.hasMore) listing = false;
        // At least one more write lands before the reader's next request.
        const seen = writes;
        await waitFor(() => writes > seen, 'a write');
      }
    } finally {
      writing = false;
      await Promise.all(writerRuns);
    }
    expect(acknowledged.length).toBeGreaterThan(40);
    for (const entry of (await drainFeed(apis[0], cursor)).entries) {
      expect(entry.seq).toBeGreaterThan(lastSeq);
      lastSeq = entry.seq;
      known.set(entry.path, entry);
    }
    // Every acknowledged write was seen (or superseded) by the reader.
    for (const ack of acknowledged) expect(known.get(ack.path)!.version).toBeGreaterThanOrEqual(ack.version);
    const truth = (await drainFeed(apis[1], '0')).entries;
    const summary = (entries: Iterable<Entry>) => [...entries].map((e) => `${e.path}@${e.version}`).sort();
    expect(summary(known.values())).toEqual(summary(truth));
    // The per-account counter has no gap: every saved write took exactly one seq, 1..N, none skipped or reused.
    const seqs = acknowledged.map((a) => a.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
  });

  it('instances started together share the schema (created once, idempotently)', async () => {
    const [three, four] = await Promise.all([platform.addNode(), platform.addNode()]);
    const { apis } = await accountOnBothNodes('later@example.com');
    await apis[0].putFolder('seen-everywhere');
    const token = (await platform.tokenFor(platform.addAccount({ email: 'x@example.com' }))).toString();
    for (const node of [three!, four!]) {
      const api = syncApi(node.url, token);
      expect((await api.get('/sync/me')).status).toBe(200);
    }
    // Each schema version recorded once (1: the tables, 2: the search index), however many instances started.
    const { rows } = await platform.storage.pool.query<{ version: number }>(
      'SELECT version FROM sync_schema ORDER BY version',
    );
    expect(rows.map((row) => row.version)).toEqual([1, 2]);
  });
});
