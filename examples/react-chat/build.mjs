//! Builds the React example into public/example/ (git-ignored, served by `wrangler dev` as static
//! assets at /example/): main.jsx bundled with React, @edge-chat/react and @edge-chat/client by
//! esbuild — the tool the SDK's own build uses — beside index.html and style.css. Writes only what
//! changed, like packages/client/build.mjs. `make example` runs it (after the SDK's build, whose
//! dist/ @edge-chat/client resolves to).
//! Usage: node examples/react-chat/build.mjs [out dir, default public/example]

import { build } from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? join(here, '../../public/example'));

const result = await build({
  entryPoints: [join(here, 'main.jsx')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  jsx: 'automatic',
  minify: true,
  define: { 'process.env.NODE_ENV': '"production"' },
  write: false,
  legalComments: 'none',
  logLevel: 'warning',
});

function put(path, bytes) {
  try {
    if (Buffer.compare(readFileSync(path), Buffer.from(bytes)) === 0) return;
  } catch {}
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
}

put(join(out, 'main.js'), result.outputFiles[0].contents);
for (const file of ['index.html', 'style.css']) put(join(out, file), readFileSync(join(here, file)));
