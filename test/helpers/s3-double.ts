// A small S3-compatible server for tests (node:http, path-style): the REST subset the AWS SDK uses for objects.
// Objects live in a temp folder; any SigV4 signature is accepted, but a request must carry one.

import { createHash, randomUUID } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface S3Double {
  /** `http://127.0.0.1:<port>` (the SDK's endpoint, with forcePathStyle). */
  endpoint: string;
  bucket: string;
  /** Credentials the SDK can sign with (any are accepted). */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Keys of the stored objects of a bucket, sorted. */
  keys(bucket?: string): string[];
  /** Removes an object behind the client's back (tests of missing content). */
  removeObject(key: string, bucket?: string): void;
  /** While set, every request gets this status (an S3 outage); null restores service. */
  failWith(status: number | null): void;
  /** While true, requests are read but never answered (a store that hangs). */
  stall(on: boolean): void;
  /** Requests served, by operation name. */
  counts: Record<string, number>;
  close(): Promise<void>;
}

function xmlEscape(text: string): string {
  return text.replace(/[<>&'"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function sendError(res: ServerResponse, status: number, code: string, message: string, head = false): void {
  res.statusCode = status;
  res.setHeader('x-amz-request-id', randomUUID());
  if (head) return void res.end();
  res.setHeader('content-type', 'application/xml');
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message><RequestId>double</RequestId></Error>`,
  );
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startS3Double(options: { bucket?: string } = {}): Promise<S3Double> {
  const root = mkdtempSync(join(tmpdir(), 'hc-s3-'));
  const bucket = options.bucket ?? 'hyperclay-test';
  mkdirSync(join(root, bucket));
  const counts: Record<string, number> = {};
  let failing: number | null = null;
  let stalled = false;
  // Keys may hold any character: a file per key, named by the hex of the key.
  const fileOf = (b: string, key: string) => join(root, b, Buffer.from(key).toString('hex'));
  const keyOf = (file: string) => Buffer.from(file, 'hex').toString('utf8');
  const bucketExists = (b: string) => /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(b) && statSafe(join(root, b));

  function statSafe(path: string) {
    try {
      return statSync(path);
    } catch {
      return null;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://double');
    const method = req.method ?? 'GET';
    const head = method === 'HEAD';
    const [, b = '', ...rest] = url.pathname.split('/');
    const key = rest.map((segment) => decodeURIComponent(segment)).join('/');
    const op = key
      ? { PUT: 'PutObject', GET: 'GetObject', HEAD: 'HeadObject', DELETE: 'DeleteObject' }[method]
      : method === 'GET' && url.searchParams.get('list-type') === '2'
        ? 'ListObjectsV2'
        : method === 'PUT'
          ? 'CreateBucket'
          : undefined;
    counts[op ?? 'unknown'] = (counts[op ?? 'unknown'] ?? 0) + 1;
    if (!/^AWS4-HMAC-SHA256 Credential=\S+/.test(req.headers.authorization ?? '')) {
      await readBody(req);
      return sendError(res, 403, 'AccessDenied', 'The request carries no SigV4 Authorization header.', head);
    }
    if (stalled) {
      await readBody(req);
      return;
    }
    if (failing !== null) {
      await readBody(req);
      return sendError(res, failing, 'ServiceUnavailable', 'The double is failing on purpose.', head);
    }
    if (op === undefined) return sendError(res, 501, 'NotImplemented', `${method} ${url.pathname} is not implemented.`);
    if (op === 'CreateBucket') {
      mkdirSync(join(root, b), { recursive: true });
      res.statusCode = 200;
      return void res.end();
    }
    if (!bucketExists(b)) return sendError(res, 404, 'NoSuchBucket', `The bucket ${b} does not exist.`, head);
    const file = fileOf(b, key);
    if (op === 'PutObject') {
      if (/aws-chunked/.test(String(req.headers['content-encoding'] ?? ''))) {
        await readBody(req);
        return sendError(res, 501, 'NotImplemented', 'aws-chunked bodies are not supported by this double.');
      }
      const body = await readBody(req);
      const temp = join(root, `.tmp-${randomUUID()}`);
      writeFileSync(temp, body);
      renameSync(temp, file);
      res.statusCode = 200;
      res.setHeader('etag', `"${createHash('md5').update(body).digest('hex')}"`);
      return void res.end();
    }
    if (op === 'DeleteObject') {
      rmSync(file, { force: true });
      res.statusCode = 204;
      return void res.end();
    }
    if (op === 'ListObjectsV2') {
      const prefix = url.searchParams.get('prefix') ?? '';
      const after = url.searchParams.get('start-after') ?? url.searchParams.get('continuation-token') ?? '';
      const max = Number(url.searchParams.get('max-keys') ?? '1000');
      const all = readdirSync(join(root, b))
        .map(keyOf)
        .filter((k) => k.startsWith(prefix) && k > after)
        .sort();
      const page = all.slice(0, max);
      const truncated = all.length > page.length;
      const contents = page
        .map((k) => {
          const size = statSync(fileOf(b, k)).size;
          return `<Contents><Key>${xmlEscape(k)}</Key><Size>${size}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
        })
        .join('');
      const next = truncated ? `<NextContinuationToken>${xmlEscape(page.at(-1) ?? '')}</NextContinuationToken>` : '';
      res.statusCode = 200;
      res.setHeader('content-type', 'application/xml');
      return void res.end(
        `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult><Name>${b}</Name><Prefix>${xmlEscape(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${max}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${contents}${next}</ListBucketResult>`,
      );
    }
    // GetObject / HeadObject
    const stat = statSafe(file);
    if (!stat?.isFile()) return sendError(res, 404, 'NoSuchKey', 'The specified key does not exist.', head);
    const body = readFileSync(file);
    res.statusCode = 200;
    res.setHeader('content-type', 'application/octet-stream');
    res.setHeader('content-length', String(body.length));
    res.setHeader('etag', `"${createHash('md5').update(body).digest('hex')}"`);
    res.setHeader('last-modified', stat.mtime.toUTCString());
    res.end(head ? undefined : body);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      if (!res.headersSent) sendError(res, 500, 'InternalError', error.message);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    credentials: { accessKeyId: 'test-access-key', secretAccessKey: 'test-secret-key' },
    counts,
    keys(b = bucket) {
      return readdirSync(join(root, b)).map(keyOf).sort();
    },
    removeObject(key, b = bucket) {
      rmSync(fileOf(b, key), { force: true });
    },
    failWith(status) {
      failing = status;
    },
    stall(on) {
      stalled = on;
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      rmSync(root, { recursive: true, force: true });
    },
  };
}
