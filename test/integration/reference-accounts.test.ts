// The reference platform's accounts store on a real SQLite file: emails, passwords, limits, cookie sessions and
// the IdentityProvider the sync endpoints see.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { safeReturnPath } from '../../server-endpoints/auth/return-path.js';
import { type AccountStore, openAccountStore, SESSION_LIFETIME_MS } from '../../server-endpoints/reference/accounts.js';

describe('reference accounts store', () => {
  let dir: string;
  let clock: number;
  let store: AccountStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hc-accounts-'));
    clock = Date.UTC(2026, 10, 25, 12);
    store = openAccountStore({ dir, now: () => clock });
  });

  afterEach(async () => {
    store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps emails unique without regard to case or Unicode form', async () => {
    await store.create({ email: 'José@Example.com', password: 'long enough 1' });
    await expect(store.create({ email: 'jose\u0301@example.COM', password: 'long enough 2' })).rejects.toMatchObject({
      code: 'email_taken',
    });
    expect(store.byEmail('JOSÉ@example.com')?.email).toBe('José@Example.com');
  });

  it('creates many accounts in one transaction: all of them, or none when one email is taken', async () => {
    const made = await store.createMany(
      Array.from({ length: 50 }, (_, i) => ({ email: `bulk${i}@example.com`, password: 'a long password' })),
    );
    expect(made).toHaveLength(50);
    expect(store.byEmail('bulk49@example.com')).toEqual(made[49]);
    expect(await store.verifyPassword('bulk7@example.com', 'a long password')).toEqual(made[7]);
    await expect(
      store.createMany([
        { email: 'fresh@example.com', password: 'a long password' },
        { email: 'BULK3@example.com', password: 'a long password' },
      ]),
    ).rejects.toMatchObject({ code: 'email_taken', message: expect.stringContaining('BULK3@example.com') });
    expect(store.byEmail('fresh@example.com')).toBeNull();
    await expect(
      store.createMany([
        { email: 'ok@example.com', password: 'a long password' },
        { email: 'x', password: 'short' },
      ]),
    ).rejects.toMatchObject({ code: 'invalid_email' });
    expect(store.byEmail('ok@example.com')).toBeNull();
  });

  it('refuses bad emails, short passwords, unknown plans and negative limits', async () => {
    await expect(store.create({ email: 'no-at-sign', password: 'long enough' })).rejects.toMatchObject({
      code: 'invalid_email',
    });
    await expect(store.create({ email: '<x>@y', password: 'long enough' })).rejects.toMatchObject({
      code: 'invalid_email',
    });
    await expect(store.create({ email: 'a@b.c', password: 'short' })).rejects.toMatchObject({
      code: 'invalid_password',
    });
    await expect(
      store.create({ email: 'a@b.c', password: 'long enough', plan: 'gold' as 'paid' }),
    ).rejects.toMatchObject({ code: 'invalid_plan' });
    await expect(store.create({ email: 'a@b.c', password: 'long enough', maxSites: -1 })).rejects.toMatchObject({
      code: 'invalid_limit',
    });
    expect(store.list()).toHaveLength(0);
  });

  it('gives plans their default site limit, and paid only to the paid plan', async () => {
    const paid = await store.create({ email: 'p@example.com', password: 'long enough' });
    const free = await store.create({ email: 'f@example.com', password: 'long enough', plan: 'free' });
    expect(paid).toMatchObject({ plan: 'paid', paid: true, maxSites: 10, maxStorageBytes: null });
    expect(free).toMatchObject({ plan: 'free', paid: false, maxSites: 1 });
    const changed = store.update('F@EXAMPLE.COM', { plan: 'paid', maxSites: null, maxStorageBytes: 1000 });
    expect(changed).toMatchObject({ plan: 'paid', paid: true, maxSites: null, maxStorageBytes: 1000 });
    expect(() => store.update('ghost@example.com', { plan: 'free' })).toThrow(/No account/);
  });

  it('stores a salted scrypt hash, never the password', async () => {
    await store.create({ email: 'a@example.com', password: 'the secret words' });
    await store.create({ email: 'b@example.com', password: 'the secret words' });
    store.close();
    const raw = await readFile(join(dir, 'accounts.sqlite'));
    expect(raw.includes(Buffer.from('the secret words'))).toBe(false);
    const hashes = raw.toString('latin1').match(/scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+/g) ?? [];
    expect(new Set(hashes).size).toBe(2);
    store = openAccountStore({ dir, now: () => clock });
  });

  it('checks passwords', async () => {
    await store.create({ email: 'a@example.com', password: 'the secret words' });
    expect((await store.verifyPassword('A@example.com', 'the secret words'))?.email).toBe('a@example.com');
    expect(await store.verifyPassword('a@example.com', 'the secret word')).toBeNull();
    expect(await store.verifyPassword('nobody@example.com', 'the secret words')).toBeNull();
  });

  it('runs cookie sessions: stored by hash, ended on logout, expired after their lifetime', async () => {
    const account = await store.create({ email: 'a@example.com', password: 'the secret words' });
    const cookie = store.startSession(account.id);
    expect(cookie).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(store.sessionAccount(cookie)?.id).toBe(account.id);
    const request = new Request('http://127.0.0.1/', { headers: { cookie: `other=1; hc_session=${cookie}` } });
    expect((await store.identity.currentAccount(request))?.id).toBe(account.id);
    expect(await store.identity.currentAccount(new Request('http://127.0.0.1/'))).toBeNull();

    store.close();
    const raw = await readFile(join(dir, 'accounts.sqlite'));
    expect(raw.includes(Buffer.from(cookie))).toBe(false);
    store = openAccountStore({ dir, now: () => clock });

    clock += SESSION_LIFETIME_MS + 1;
    expect(store.sessionAccount(cookie)).toBeNull();
    clock -= SESSION_LIFETIME_MS + 1;
    const second = store.startSession(account.id);
    store.endSession(second);
    expect(store.sessionAccount(second)).toBeNull();
  });

  it('sends sign-in to /login with a same-origin next only', () => {
    expect(store.identity.loginUrl('/sync/authorize?state=a&b=c')).toBe(
      `/login?next=${encodeURIComponent('/sync/authorize?state=a&b=c')}`,
    );
    for (const hostile of ['https://evil.example', '//evil.example', '/\\evil.example', 'evil', '/%0a/x\r\n']) {
      const next = safeReturnPath(hostile);
      expect(next.startsWith('/')).toBe(true);
      expect(new URL(next, 'http://platform.test').origin).toBe('http://platform.test');
    }
    expect(safeReturnPath('/a/../b?x=1#frag')).toBe('/b?x=1');
  });

  it('finds accounts by id for tokens, and null once gone', async () => {
    const account = await store.create({ email: 'a@example.com', password: 'the secret words' });
    expect((await store.identity.accountById(account.id))?.email).toBe('a@example.com');
    expect(await store.identity.accountById('no-such-id')).toBeNull();
  });
});
