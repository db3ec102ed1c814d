// The engine's device sign-in (sync-engine/sign-in-device.ts) against the real endpoints over HTTP with a moved
// clock: it honours slow_down and finishes, and it reports an expired code and a denied one as such.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeUserCode } from '../../protocol/index.js';
import { hashDeviceSecret } from '../../server-endpoints/auth/device-grant.js';
import type { SavedToken } from '../../sync-engine/auth.js';
import { createApiClient } from '../../sync-engine/endpoints.js';
import { SignInError } from '../../sync-engine/errors.js';
import { startDeviceSignIn } from '../../sync-engine/sign-in-device.js';
import { until } from '../helpers/engine.js';
import { type Rig, startRig } from './server-auth-helpers.js';

let rig: Rig;
const lines: string[] = [];

beforeAll(async () => {
  rig = await startRig();
  rig.identity.add('acct-engine', 'engine@example.com');
});

afterAll(async () => {
  await rig.close();
});

function client() {
  return createApiClient({
    origin: rig.url,
    getToken: () => null,
    clientVersion: '1.0.0',
    log: (level, line) => lines.push(`${level} ${line}`),
  });
}

const userHash = (userCode: string) => hashDeviceSecret(normalizeUserCode(userCode) ?? '');

describe('device sign-in, the client (real HTTP)', { timeout: 60_000 }, () => {
  it('a poll answered slow_down (the platform clock did not move) widens the interval, then Allow signs in', async () => {
    const api = client();
    const saved: SavedToken[] = [];
    const signIn = await startDeviceSignIn({
      api,
      deviceName: 'ci runner',
      tokenStore: { load: () => null, save: (token) => void saved.push(token), clear: () => {} },
      log: (level, line) => lines.push(`${level} ${line}`),
    });
    // The rig's clock stands still: the second poll is "too soon" for the platform (slow_down), the client waits
    // 5 s more; meanwhile the person allows it and the clock moves on.
    const waited = signIn.wait();
    await until(() => lines.some((line) => line.includes('slower polls')), 'the slow_down', 30_000);
    await rig.authStore.decideDeviceCode(userHash(signIn.userCode), rig.clock.ms, 'acct-engine');
    rig.clock.ms += 60_000;
    const signedIn = await waited;
    expect(signedIn.user.email).toBe('engine@example.com');
    expect(signedIn.origin).toBe(rig.url);
    expect(saved).toHaveLength(1);
    expect(lines).toContain('info device sign-in: the platform asks for slower polls: every 10 s now');
    api.close();
  });

  it('an expired code ends the wait with sign_in_expired; Cancel with sign_in_denied', async () => {
    const api = client();
    const late = await startDeviceSignIn({ api, deviceName: 'late' });
    rig.clock.ms += 601_000;
    const expired = await late.wait().catch((error: unknown) => error);
    expect(expired).toBeInstanceOf(SignInError);
    expect((expired as SignInError).code).toBe('sign_in_expired');
    expect((expired as SignInError).message).toContain('expired');

    const denied = await startDeviceSignIn({ api, deviceName: 'denied' });
    await rig.authStore.decideDeviceCode(userHash(denied.userCode), rig.clock.ms, null);
    const refused = await denied.wait().catch((error: unknown) => error);
    expect((refused as SignInError).code).toBe('sign_in_denied');
    expect((refused as SignInError).message).toContain('cancelled in the browser');

    const stop = new AbortController();
    const stopped = await startDeviceSignIn({ api, deviceName: 'stopped' });
    const waiting = stopped.wait(stop.signal).catch((error: unknown) => error);
    stop.abort();
    expect(((await waiting) as SignInError).code).toBe('sign_in_cancelled');
    api.close();
  });
});
