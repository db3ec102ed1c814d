// The content of the PostgreSQL storage in an S3-compatible object store: immutable objects named by sha256.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { isSha256 } from '../../protocol/index.js';
import type { BlobStore } from './postgres.js';

export interface S3BlobStoreOptions {
  /** The service's endpoint (`http://127.0.0.1:9000`); omit for AWS itself. */
  endpoint?: string;
  /** Default AWS_REGION, else `us-east-1` (most S3-compatible stores ignore it). */
  region?: string;
  bucket: string;
  /** Prepended to every key (`hyperclay/`); default none. */
  prefix?: string;
  /** Path-style URLs (`endpoint/bucket/key`), as most self-hosted stores want; default true when an endpoint is given. */
  forcePathStyle?: boolean;
  /** Default: the SDK's chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles, instance roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** A request to the store that takes longer fails (and the write with it); default 60 s, connecting 5 s. */
  requestTimeoutMs?: number;
}

export class BlobStoreError extends Error {
  constructor(
    readonly code: 'content_missing' | 'content_corrupt' | 'bad_blob',
    message: string,
  ) {
    super(message);
  }
}

/** Parsed `--s3` URL: `http(s)://[key:secret@]host[:port]/bucket[/prefix]`. */
export function s3OptionsFromUrl(text: string): S3BlobStoreOptions {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`"${text}" is not an S3 URL; expected http(s)://host:port/bucket`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`The S3 URL must start with http:// or https://, not ${url.protocol}`);
  }
  const [bucket = '', ...prefix] = url.pathname.split('/').filter((segment) => segment !== '');
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new Error(`The S3 URL must name a bucket as its first path segment (http://host:port/bucket), got "${text}"`);
  }
  const options: S3BlobStoreOptions = { endpoint: url.origin, bucket, forcePathStyle: true };
  if (prefix.length > 0) options.prefix = `${prefix.map(decodeURIComponent).join('/')}/`;
  if (url.username) {
    options.credentials = {
      accessKeyId: decodeURIComponent(url.username),
      secretAccessKey: decodeURIComponent(url.password),
    };
  }
  return options;
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

export interface S3BlobStore extends BlobStore {
  readonly bucket: string;
  /** The object key of a sha256 (tests and operators look objects up by it). */
  keyOf(sha256: string): string;
  /** Ends the client's keep-alive connections. */
  close(): Promise<void>;
}

export function openS3BlobStore(options: S3BlobStoreOptions): S3BlobStore {
  const prefix = options.prefix ?? '';
  const config: S3ClientConfig = {
    region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
    forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
    // Plain bodies: trailing-checksum (aws-chunked) uploads are not spoken by every S3-compatible store, and
    // the content is checked against its sha256 on every read anyway.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // Without these a store that stops answering would hold a sync request (and its account's writes) forever.
    requestHandler: {
      connectionTimeout: 5_000,
      requestTimeout: options.requestTimeoutMs ?? 60_000,
      throwOnRequestTimeout: true,
    },
  };
  if (options.endpoint !== undefined) config.endpoint = options.endpoint;
  if (options.credentials !== undefined) config.credentials = options.credentials;
  const client = new S3Client(config);
  const keyOf = (sha256: string): string => {
    if (!isSha256(sha256)) throw new BlobStoreError('bad_blob', `"${sha256}" is not a sha256`);
    return `${prefix}blobs/${sha256.slice(0, 2)}/${sha256}`;
  };

  return {
    bucket: options.bucket,
    keyOf,

    async put(sha256, content) {
      // Staged content was hashed as it was written; content in memory is hashed here.
      const actual = Buffer.isBuffer(content) ? createHash('sha256').update(content).digest('hex') : content.sha256;
      if (actual !== sha256) {
        throw new BlobStoreError('bad_blob', 'refused to store content under a sha256 that is not its own');
      }
      // A PUT of an existing key rewrites identical bytes: content-addressed objects never change. Staged content
      // is streamed from its file, so an upload never sits in memory whole.
      await client.send(
        new PutObjectCommand({
          Bucket: options.bucket,
          Key: keyOf(sha256),
          Body: Buffer.isBuffer(content) ? content : createReadStream(content.file),
          ContentLength: Buffer.isBuffer(content) ? content.length : content.size,
          ContentType: 'application/octet-stream',
        }),
      );
    },

    async get(sha256) {
      let bytes: Uint8Array;
      try {
        const response = await client.send(new GetObjectCommand({ Bucket: options.bucket, Key: keyOf(sha256) }));
        if (!response.Body) return null;
        bytes = await response.Body.transformToByteArray();
      } catch (error) {
        if (statusOf(error) === 404) return null;
        throw error;
      }
      const content = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      // Never serve bytes that are not what the metadata says they are.
      if (createHash('sha256').update(content).digest('hex') !== sha256) {
        throw new BlobStoreError('content_corrupt', `the object for ${sha256} does not match its sha256`);
      }
      return content;
    },

    async head(sha256) {
      try {
        const response = await client.send(new HeadObjectCommand({ Bucket: options.bucket, Key: keyOf(sha256) }));
        return { size: response.ContentLength ?? 0 };
      } catch (error) {
        if (statusOf(error) === 404) return null;
        throw error;
      }
    },

    async delete(sha256) {
      await client.send(new DeleteObjectCommand({ Bucket: options.bucket, Key: keyOf(sha256) }));
    },

    async close() {
      client.destroy();
    },
  };
}
