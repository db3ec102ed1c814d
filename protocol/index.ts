// The wire contract of PROTOCOL.md as types and validators, shared by the platform and its clients. No I/O. (The
// multipart framing of batches is ./multipart.js, imported on its own: it needs Node streams.)

export * from './auth.js';
export * from './batch.js';
export * from './device.js';
export * from './entries.js';
export * from './errors.js';
export * from './limits.js';
export * from './paths.js';
export * from './search.js';
export * from './text.js';
export * from './write-all.js';
