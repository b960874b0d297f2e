//! Builds the package: src/ bundled by esbuild into one ESM file, dist/index.js, with no imports
//! left (the SDK has no runtime dependencies) and nothing platform-specific, so browsers, Node, Deno
//! and Workers load the same file. `--page <file>` also writes it where the demo page imports it
//! (public/sdk/edge-chat-client.js; served as a static asset, so the page needs no build step).
//!
//! Files are written only when their content changed: scripts/build.sh runs this on every
//! `wrangler dev` start, and an unchanged asset should not look like an edit to its watcher.
//! Usage: node packages/client/build.mjs [--page public/sdk/edge-chat-client.js]

import { build } from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const { version } = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'));

const result = await build({
  entryPoints: [join(here, 'src/index.js')],
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  // Node 20, Deno, Workers and every current browser run ES2022 as it is.
  target: 'es2022',
  write: false,
  legalComments: 'none',
  banner: { js: `// @edge-chat/client ${version}: built from packages/client/src by packages/client/build.mjs; edit the sources, not this file.` },
  logLevel: 'warning',
});
const code = result.outputFiles[0].contents;

/** Writes `path` unless it already holds exactly `bytes`. */
function put(path, bytes) {
  try {
    if (Buffer.compare(readFileSync(path), bytes) === 0) return;
  } catch {}
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
}

put(join(here, 'dist/index.js'), code);
const page = process.argv.indexOf('--page');
if (page !== -1) {
  if (!process.argv[page + 1]) throw new Error('--page needs a file name');
  put(process.argv[page + 1], code);
}
