// The wire contract of PROTOCOL.md as types and validators, shared by the platform and its clients. No I/O.

export * from './auth.js';
export * from './entries.js';
export * from './errors.js';
export * from './limits.js';
export * from './paths.js';
export * from './text.js';
