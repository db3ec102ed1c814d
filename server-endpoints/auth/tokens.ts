// The sync token: a JWT (HS256, algorithm pinned) carrying the account (`sub`) and the device connection (`sid`).

import jwt from 'jsonwebtoken';
import { TOKEN_LIFETIME_MS } from '../../protocol/index.js';

export interface TokenClaims {
  /** The account id. */
  sub: string;
  /** The device connection; revoking it ends every token that carries it. */
  sid: string;
  /** Seconds since the epoch. */
  iat: number;
  exp: number;
}

export interface SignedToken {
  token: string;
  /** ISO 8601 UTC with ms: when `exp` passes. */
  expiresAt: string;
}

const ALGORITHM = 'HS256';

/** Issues a token valid for TOKEN_LIFETIME_MS (10 days) from `nowMs`, which is the ctx clock so tests can move it. */
export function signToken(secret: string, subject: { sub: string; sid: string }, nowMs: number): SignedToken {
  const iat = Math.floor(nowMs / 1000);
  const exp = iat + Math.floor(TOKEN_LIFETIME_MS / 1000);
  // iat and exp are given explicitly so they follow the injected clock; jsonwebtoken keeps a given iat.
  const token = jwt.sign({ sub: subject.sub, sid: subject.sid, iat, exp }, secret, { algorithm: ALGORITHM });
  return { token, expiresAt: new Date(exp * 1000).toISOString() };
}

/**
 * The token's claims when its signature is ours (HS256 only: `none`, HS512, RS256 are refused whatever they
 * carry) and `exp` has not passed at `nowMs`; otherwise null. Revocation and the account are checked elsewhere.
 */
export function verifyToken(secret: string, token: string, nowMs: number): TokenClaims | null {
  if (typeof token !== 'string' || token.length === 0 || token.length > 4096) return null;
  let payload: unknown;
  try {
    payload = jwt.verify(token, secret, {
      algorithms: [ALGORITHM],
      // Math.max: jsonwebtoken treats a clockTimestamp of 0 as "use Date.now".
      clockTimestamp: Math.max(1, Math.floor(nowMs / 1000)),
    });
  } catch {
    return null;
  }
  return parseClaims(payload);
}

function parseClaims(payload: unknown): TokenClaims | null {
  if (typeof payload !== 'object' || payload === null) return null;
  const { sub, sid, iat, exp } = payload as Record<string, unknown>;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 200) return null;
  if (typeof sid !== 'string' || sid.length === 0 || sid.length > 200) return null;
  if (!Number.isSafeInteger(iat) || !Number.isSafeInteger(exp)) return null;
  // A token without exp would live forever; jsonwebtoken only checks exp when it is present.
  return { sub, sid, iat: iat as number, exp: exp as number };
}
