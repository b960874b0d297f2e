// The Worker stays small: the release wasm, gzipped, is at most 250 KB (the budget every feature
// shares; Cloudflare's limit is far above it, but a lean module loads faster into each new isolate).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import zlib from 'node:zlib';
import { ROOT } from './common/harness.mjs';

const BUDGET = 250 * 1000;

test('the release wasm is at most 250 KB gzipped', () => {
  const wasm = readFileSync(path.join(ROOT, 'build/index_bg.wasm'));
  const gz = zlib.gzipSync(wasm, { level: 9 }).length;
  console.log(`FIGURE wasm: ${wasm.length} B raw, ${gz} B gzipped (budget ${BUDGET})`);
  assert.ok(gz <= BUDGET, `${gz} B gzipped is over the ${BUDGET} B budget`);
});
