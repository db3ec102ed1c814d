// Change-feed cursors: opaque to clients, bound to one account by an HMAC, so a foreign or forged one is refused.

import { createHmac, timingSafeEqual } from 'node:crypto';

export type Cursor = { kind: 'feed'; seq: number } | { kind: 'listing'; continuation: string | null };

const MAC_CHARS = 22; // 132 bits of base64url
const MAX_CURSOR_CHARS = 4096;

/**
 * Encodes `f<seq>` (the feed after seq) or `l<storage continuation>` (a listing in progress), each followed by
 * `.<mac>` over the account and the payload. The storage's continuation stays opaque here too.
 */
export function cursorCodec(secret: string) {
  const mac = (accountId: string, payload: string): string =>
    createHmac('sha256', secret).update(`cursor\n${accountId}\n${payload}`).digest('base64url').slice(0, MAC_CHARS);

  const seal = (accountId: string, payload: string): string => `${payload}.${mac(accountId, payload)}`;

  return {
    feed: (accountId: string, seq: number): string => seal(accountId, `f${seq}`),
    listing: (accountId: string, continuation: string): string => seal(accountId, `l${continuation}`),
    /** null for anything malformed, forged, or sealed for another account. */
    decode(accountId: string, text: string): Cursor | null {
      if (text.length > MAX_CURSOR_CHARS) return null;
      const dot = text.lastIndexOf('.');
      if (dot < 1) return null;
      const payload = text.slice(0, dot);
      const given = Buffer.from(text.slice(dot + 1));
      const expected = Buffer.from(mac(accountId, payload));
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
      if (payload.startsWith('f') && /^f\d{1,15}$/.test(payload))
        return { kind: 'feed', seq: Number(payload.slice(1)) };
      if (payload.startsWith('l') && payload.length > 1) return { kind: 'listing', continuation: payload.slice(1) };
      return null;
    },
  };
}
