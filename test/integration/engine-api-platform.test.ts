// The engine's HTTP client against the real sync endpoints (startTestPlatform): session, listing, put and get of
// sites and uploads, conflicts, 413, quotas, cursor reset, refresh, logout and the clock offset.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Account } from '../../server-endpoints/types.js';
import { type SavedToken, signOut } from '../../sync-engine/auth.js';
import { type ApiClient, type ApiClientOptions, createApiClient } from '../../sync-engine/endpoints.js';
import { ApiError, ConflictError, CursorResetError, SignedOutError } from '../../sync-engine/errors.js';
import { sha256Hex, startTestPlatform, type TestPlatform } from '../helpers/platform.js';

const HOUR = 60 * 60 * 1000;
let platform: TestPlatform;
let folder: string;
let account: Account;
const clients: ApiClient[] = [];

// The platform's clock runs an hour ahead of ours: the client must measure that.
const SKEW_MS = HOUR;

beforeAll(async () => {
  platform = await startTestPlatform({ now: () => Date.now() + SKEW_MS });
  folder = await mkdtemp(join(tmpdir(), 'engine-api-int-'));
  account = platform.addAccount({ email: 'ada@example.com', maxSites: 3 });
});
afterAll(async () => {
  for (const client of clients) client.close();
  await platform.close();
  await rm(folder, { recursive: true, force: true });
});

async function clientFor(
  who: Account,
  extra: Partial<ApiClientOptions> = {},
): Promise<{ api: ApiClient; saved: SavedToken }> {
  const saved: SavedToken = {
    token: await platform.tokenFor(who),
    origin: platform.url,
    expiresAt: new Date(Date.now() + 10 * 24 * HOUR).toISOString(),
    obtainedAtMs: Date.now(),
  };
  const api = createApiClient({
    origin: platform.url,
    getToken: () => saved,
    clientVersion: '0.1.0',
    timeoutMs: 5000,
    retryDelaysMs: [10, 10],
    ...extra,
  });
  clients.push(api);
  return { api, saved };
}

const stamp = (api: ApiClient, localMs = Date.now()) => new Date(api.toServerTime(localMs)).toISOString();

describe('engine client against the real platform', () => {
  it('opens a session, lists, puts and downloads a site, and measures the clock offset', async () => {
    const { api } = await clientFor(account);
    const me = await api.me();
    expect(me.user.email).toBe('ada@example.com');
    expect(Math.abs(api.clockOffsetMs - SKEW_MS)).toBeLessThan(1000);

    const session = await api.createSession('laptop');
    expect(session.cursor).toBe('0');
    const empty = await api.changes({ session: session.sessionId, cursor: '0' });
    expect(empty.entries).toEqual([]);

    const content = Buffer.from('<!doctype html><p>hello</p>');
    const created = await api.putFile('site', 'hello', {
      content,
      sha256: sha256Hex(content),
      baseVersion: 0,
      modifiedAtIso: stamp(api),
      localPath: 'blog/hello.html',
    });
    expect(created).toMatchObject({
      status: 'created',
      entry: { kind: 'site', name: 'hello', path: 'blog/hello.html', version: 1 },
    });

    const page = await api.changes({ session: session.sessionId, cursor: empty.cursor });
    expect(page.entries.map((e) => e.path)).toContain('blog/hello.html');

    const file = join(folder, '.hello.tmp');
    const headers = await api.download('site', 'hello', file, created.entry);
    expect(headers).toMatchObject({
      path: 'blog/hello.html',
      version: 1,
      sha256: sha256Hex(content),
      size: content.length,
    });
    expect((await readFile(file)).equals(content)).toBe(true);

    const again = await api.putFile('site', 'hello', {
      content,
      sha256: sha256Hex(content),
      baseVersion: 1,
      modifiedAtIso: stamp(api),
    });
    expect(again).toMatchObject({ status: 'unchanged', entry: { version: 1 } });
  });

  it('a later base-version save wins; an older write loses with the current entry', async () => {
    const { api } = await clientFor(account);
    const v1 = Buffer.from('<p>v1</p>');
    const first = await api.putFile('site', 'race', {
      content: v1,
      sha256: sha256Hex(v1),
      baseVersion: 0,
      modifiedAtIso: stamp(api),
    });
    const v2 = Buffer.from('<p>v2</p>');
    const second = await api.putFile('site', 'race', {
      content: v2,
      sha256: sha256Hex(v2),
      baseVersion: first.entry.version ?? 0,
      modifiedAtIso: stamp(api),
    });
    expect(second).toMatchObject({ status: 'saved', entry: { version: 2 } });

    // Edited from v1, stamped an hour before v2: loses last-write-wins.
    const stale = Buffer.from('<p>stale</p>');
    const error = await api
      .putFile('site', 'race', {
        content: stale,
        sha256: sha256Hex(stale),
        baseVersion: 1,
        modifiedAtIso: stamp(api, Date.now() - HOUR),
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as ConflictError).current).toMatchObject({ name: 'race', version: 2, sha256: sha256Hex(v2) });

    const versions = await api.versions('race');
    expect(versions.map((v) => v.sha256)).toContain(sha256Hex(v1));
  });

  it('uploads and folders travel with percent-encoded paths', async () => {
    const { api } = await clientFor(account);
    await expect(api.putFolder('media/empty folder')).resolves.toMatchObject({ status: 'created' });
    await expect(api.putFolder('media/empty folder')).resolves.toMatchObject({ status: 'exists' });
    const bytes = Buffer.from([0, 1, 2, 3, 250, 251]);
    const path = 'media/café #1 (final).png';
    const put = await api.putFile('upload', path, {
      content: bytes,
      sha256: sha256Hex(bytes),
      baseVersion: 0,
      modifiedAtIso: stamp(api),
    });
    expect(put.entry.path).toBe(path);
    const file = join(folder, '.upload.tmp');
    await api.download('upload', path, file, put.entry);
    expect((await readFile(file)).equals(bytes)).toBe(true);
  });

  it('413, name_taken and the site limit come back as ApiErrors with the platform codes', async () => {
    const { api } = await clientFor(account);
    const big = Buffer.alloc(20 * 1024 * 1024 + 1, 'x');
    const tooLarge = await api
      .putFile('upload', 'big.bin', { content: big, sha256: sha256Hex(big), baseVersion: 0, modifiedAtIso: stamp(api) })
      .catch((e: unknown) => e);
    expect(tooLarge).toBeInstanceOf(ApiError);
    expect(tooLarge).toMatchObject({ status: 413, code: 'too_large' });

    const other = platform.addAccount({ email: 'bob@example.com' });
    const { api: bob } = await clientFor(other);
    const page = Buffer.from('<p>bob</p>');
    await bob.putFile('site', 'bobs-site', {
      content: page,
      sha256: sha256Hex(page),
      baseVersion: 0,
      modifiedAtIso: stamp(bob),
    });
    await expect(
      api.putFile('site', 'bobs-site', {
        content: page,
        sha256: sha256Hex(page),
        baseVersion: 0,
        modifiedAtIso: stamp(api),
      }),
    ).rejects.toMatchObject({ status: 409, code: 'name_taken' });

    // hello and race exist; a third site fits, a fourth passes maxSites = 3.
    await api.putFile('site', 'third', {
      content: page,
      sha256: sha256Hex(page),
      baseVersion: 0,
      modifiedAtIso: stamp(api),
    });
    const limit = await api
      .putFile('site', 'fourth', { content: page, sha256: sha256Hex(page), baseVersion: 0, modifiedAtIso: stamp(api) })
      .catch((e: unknown) => e);
    expect(limit).toMatchObject({
      status: 403,
      code: 'site_limit_reached',
      message: "You've run out of sites. We can't sync any more sites.",
    });
  });

  it('a bad cursor is a cursor reset', async () => {
    const { api } = await clientFor(account);
    const session = await api.createSession('laptop');
    await expect(api.changes({ session: session.sessionId, cursor: 'garbage' })).rejects.toBeInstanceOf(
      CursorResetError,
    );
  });

  it('refreshes a day-old token, and a revoked token is signed out', async () => {
    const persisted: SavedToken[] = [];
    const { api, saved } = await clientFor(account, { onToken: (t) => void persisted.push(t) });
    saved.obtainedAtMs = Date.now() - 25 * HOUR;
    await api.me();
    expect(persisted).toHaveLength(1);
    // Issued in the same second for the same connection, the new token may equal the old one: what counts is
    // that the refresh happened once (onToken) and not again on the next call.
    expect(persisted[0]).toMatchObject({ origin: platform.url });
    await api.me();
    expect(persisted).toHaveLength(1);

    const tokens = { value: saved as SavedToken | null };
    const store = {
      load: () => tokens.value,
      save: () => {},
      clear: () => {
        tokens.value = null;
      },
    };
    await signOut({ api, tokenStore: store });
    expect(tokens.value).toBeNull();
    // The revoked connection: the old token is refused by the platform.
    const { api: stale } = await clientFor(account, {
      getToken: () => ({ ...saved, token: persisted[0]?.token ?? '' }),
    });
    await expect(stale.me()).rejects.toBeInstanceOf(SignedOutError);
  });
});
