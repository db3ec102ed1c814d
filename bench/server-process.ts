// A sync platform in its own process (for the durability test and the benchmark): prints one JSON line
// `{"url","token","accountId"}` once listening, and serves until killed.
// Usage: node --import tsx bench/server-process.ts --dir DIR [--secret S] [--email E]

import { parseArgs } from 'node:util';
import { startTestPlatform } from '../test/helpers/platform.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    secret: { type: 'string', default: 'bench-secret-bench-secret-bench-secret-0123' },
    email: { type: 'string', default: 'bench@example.com' },
  },
});
if (!values.dir) {
  process.stderr.write('usage: server-process.ts --dir DIR [--secret S] [--email E]\n');
  process.exit(2);
}

const platform = await startTestPlatform({ dir: values.dir, tokenSecret: values.secret });
const account = platform.addAccount({ id: 'acct-bench', email: values.email });
const token = await platform.tokenFor(account, 'bench client');
process.stdout.write(`${JSON.stringify({ url: platform.url, token, accountId: account.id })}\n`);

const stop = () => {
  platform.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
