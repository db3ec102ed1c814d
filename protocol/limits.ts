// The numbers PROTOCOL.md fixes: sizes, depths, page sizes, token lifetimes.

export const MAX_FILE_BYTES = 20 * 1024 * 1024; // 20971520
export const MAX_PATH_BYTES = 1024;
export const MAX_SEGMENT_BYTES = 255;
export const MAX_FOLDER_DEPTH = 8;
export const MAX_PAGE_LIMIT = 1000;
export const MAX_WAIT_SECONDS = 30;
/** PROTOCOL.md "Batches": items per /sync/batch or /sync/fetch, content per batch, content a fetch may hold. */
export const MAX_BATCH_ITEMS = 1000;
export const MAX_BATCH_BYTES = 20 * 1024 * 1024;
export const MAX_FETCH_BYTES = 64 * 1024 * 1024;
/** A client batches files up to this size; bigger ones go as single requests. */
export const MAX_BATCHED_FILE_BYTES = 256 * 1024;
export const TOKEN_LIFETIME_MS = 10 * 24 * 60 * 60 * 1000;
export const TOKEN_REFRESH_AFTER_MS = 24 * 60 * 60 * 1000;
export const AUTH_CODE_LIFETIME_MS = 5 * 60 * 1000;
export const PROTOCOL_VERSION = 1;

/** Header names, written once. */
export const HEADER = {
  serverTime: 'X-Server-Time',
  baseVersion: 'X-Base-Version',
  modifiedAt: 'X-Modified-At',
  path: 'X-Path',
  version: 'X-Version',
  updatedAt: 'X-Updated-At',
  contentSha256: 'Content-SHA256',
  retryAfter: 'Retry-After',
} as const;
