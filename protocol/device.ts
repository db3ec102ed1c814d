// PROTOCOL.md "Device sign-in" (RFC 8628): the grant type, the code's lifetime and polling interval, the short user
// code's alphabet and spelling, and the device-code answer's validator. Both sides use them.

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
export const DEVICE_CODE_LIFETIME_S = 600;
export const DEVICE_POLL_INTERVAL_S = 5;
/** RFC 8628 adds this many seconds to the polling interval after each `slow_down`. */
export const DEVICE_SLOW_DOWN_S = 5;
/** No vowels (so no words), no Y: RFC 8628 section 6.1's alphabet, 20 letters; 8 of them make 25.6 billion codes. */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
export const USER_CODE_LETTERS = 8;

/** The answers of a device-code poll that are not a token (PROTOCOL.md), each a 400. */
export const DEVICE_POLL_ERRORS = ['authorization_pending', 'slow_down', 'access_denied', 'expired_token'] as const;
export type DevicePollError = (typeof DEVICE_POLL_ERRORS)[number];

/**
 * A user code as typed (any case, with or without the dash or spaces) in its stored form, 8 letters upper-case
 * without the dash; null when it cannot be one.
 */
export function normalizeUserCode(typed: string): string | null {
  if (typed.length > 64) return null;
  const letters = typed.replace(/[\s-]/g, '').toUpperCase();
  if (letters.length !== USER_CODE_LETTERS) return null;
  for (const letter of letters) if (!USER_CODE_ALPHABET.includes(letter)) return null;
  return letters;
}

/** `ABCDEFGH` as it is shown: `ABCD-EFGH`. */
export function formatUserCode(letters: string): string {
  return `${letters.slice(0, 4)}-${letters.slice(4)}`;
}

export interface DeviceCodeResponse {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

const positiveSeconds = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= 3600;

/** POST /sync/device/code's answer from the network, checked; null when malformed. */
export function parseDeviceCodeResponse(value: unknown): DeviceCodeResponse | null {
  if (typeof value !== 'object' || value === null) return null;
  const raw = value as Record<string, unknown>;
  const strings = ['device_code', 'user_code', 'verification_uri', 'verification_uri_complete'] as const;
  if (!strings.every((field) => typeof raw[field] === 'string' && (raw[field] as string).length <= 2048)) return null;
  if (!positiveSeconds(raw.expires_in) || !positiveSeconds(raw.interval)) return null;
  if (normalizeUserCode(raw.user_code as string) === null) return null;
  return {
    device_code: raw.device_code as string,
    user_code: raw.user_code as string,
    verification_uri: raw.verification_uri as string,
    verification_uri_complete: raw.verification_uri_complete as string,
    expires_in: raw.expires_in,
    interval: raw.interval,
  };
}
