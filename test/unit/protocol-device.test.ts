// PROTOCOL.md "Device sign-in" on the wire: the user code as people type it, and the device-code answer's checks.

import { describe, expect, it } from 'vitest';
import { formatUserCode, normalizeUserCode, parseDeviceCodeResponse } from '../../protocol/index.js';
import { newUserCode } from '../../server-endpoints/auth/device-grant.js';

describe('device sign-in codes', () => {
  it('reads a user code in any case, with or without the dash or spaces; refuses vowels, digits and lengths', () => {
    for (const typed of ['BCDF-GHJK', 'bcdf-ghjk', 'bcdfghjk', ' BCDF GHJK ', 'bCdF-gHjK']) {
      expect(normalizeUserCode(typed)).toBe('BCDFGHJK');
    }
    for (const typed of [
      'ABCD-EFGH',
      'BCDF-GHJ1',
      'BCDF-GHJ',
      'BCDF-GHJKL',
      '',
      'BCDF_GHJK',
      'Y'.repeat(8),
      'Б'.repeat(8),
    ]) {
      expect(normalizeUserCode(typed)).toBeNull();
    }
    expect(formatUserCode('BCDFGHJK')).toBe('BCDF-GHJK');
  });

  it('draws new user codes from the 20 consonants only, shown as ABCD-EFGH', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const code = newUserCode();
      expect(code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
      seen.add(code);
    }
    expect(seen.size).toBe(500);
  });

  it('accepts a well-formed device-code answer and refuses a malformed one', () => {
    const good = {
      device_code: 'd'.repeat(43),
      user_code: 'BCDF-GHJK',
      verification_uri: 'https://hyperclay.com/device',
      verification_uri_complete: 'https://hyperclay.com/device?user_code=BCDF-GHJK',
      expires_in: 600,
      interval: 5,
    };
    expect(parseDeviceCodeResponse(good)).toEqual(good);
    for (const bad of [
      null,
      [],
      { ...good, interval: 0 },
      { ...good, interval: 2.5 },
      { ...good, expires_in: '600' },
      { ...good, user_code: 'AEIO-UAEI' },
      { ...good, device_code: 7 },
      { ...good, verification_uri: 'x'.repeat(3000) },
    ]) {
      expect(parseDeviceCodeResponse(bad)).toBeNull();
    }
  });
});
