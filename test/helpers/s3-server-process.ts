// The S3-compatible server (@20minutes/s3rver) in its own process, so tests and benchmarks can stop, restart,
// freeze (SIGSTOP) and measure it like a real object store. Prints `listening <port>` once it answers.
// Usage: node --import tsx test/helpers/s3-server-process.ts --dir DIR --port N --bucket NAME

import { parseArgs } from 'node:util';
import S3rver from '@20minutes/s3rver';

const { values } = parseArgs({
  options: { dir: { type: 'string' }, port: { type: 'string' }, bucket: { type: 'string' } },
});
if (!values.dir || !values.port || !values.bucket) {
  process.stderr.write('usage: s3-server-process.ts --dir DIR --port N --bucket NAME\n');
  process.exit(2);
}

const server = new S3rver({
  address: '127.0.0.1',
  port: Number(values.port),
  directory: values.dir,
  silent: true,
  // Path-style only (`/bucket/key`), as the storage's client sends with an endpoint.
  vhostBuckets: false,
  // Created on start when missing; its objects survive a restart (they are files in `dir`).
  configureBuckets: [{ name: values.bucket, configs: [] }],
});
await server.run();
process.stdout.write(`listening ${values.port}\n`);

// A stop lets requests in flight finish (their bytes reach the disk) before the process ends.
const stop = () => {
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
