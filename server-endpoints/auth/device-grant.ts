// The pieces of the device grant (PROTOCOL.md "Device sign-in", RFC 8628): new device and user codes, their hashes,
// and the one decision of a poll that every AuthStore applies.

import { createHash, randomBytes, randomInt } from 'node:crypto';
import { formatUserCode, USER_CODE_ALPHABET, USER_CODE_LETTERS } from '../../protocol/index.js';
import type { DevicePoll } from '../types.js';

/** An expired code is still answered `expired_token` for this long, then forgotten (unknown: `invalid_grant`). */
export const EXPIRED_DEVICE_CODE_KEPT_MS = 60 * 60 * 1000;

/** The device's secret: 32 random bytes, URL-safe. */
export function newDeviceCode(): string {
  return randomBytes(32).toString('base64url');
}

/** The person's short code, as shown (`ABCD-EFGH`): 8 letters drawn uniformly from the alphabet. */
export function newUserCode(): string {
  let letters = '';
  for (let i = 0; i < USER_CODE_LETTERS; i++) letters += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return formatUserCode(letters);
}

/** Both codes are stored by this hash only (the user code in its normalised form: 8 letters, upper case). */
export function hashDeviceSecret(value: string): string {
  return createHash('sha256').update(`hyperclay-sync device v1:${value}`, 'utf8').digest('hex');
}

/**
 * The one decision of a poll, for every store: expired first (even a decided code is of no use late), then a
 * decision (taken: the row goes), then too soon after the last poll, else still pending (the poll is noted).
 */
export function answerPoll(
  row: {
    device_name: string;
    expires_at_ms: number | string;
    state: string;
    account_id: string | null;
    last_poll_ms: number | string | null;
  },
  nowMs: number,
  minGapMs: number,
  act: { remove: () => unknown; note: () => unknown },
): DevicePoll {
  if (nowMs >= Number(row.expires_at_ms)) return { state: 'expired' };
  if (row.state === 'denied') {
    act.remove();
    return { state: 'denied' };
  }
  if (row.state === 'allowed' && row.account_id !== null) {
    act.remove();
    return { state: 'allowed', accountId: row.account_id, deviceName: row.device_name };
  }
  const tooSoon = row.last_poll_ms !== null && nowMs - Number(row.last_poll_ms) < minGapMs;
  act.note();
  return { state: tooSoon ? 'slow_down' : 'pending' };
}
