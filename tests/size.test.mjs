// The Worker stays small: the release wasm, gzipped, is at most 400 KB. The old 250 KB budget stood for
// a module that loads fast into each new isolate; what it stood for is now checked directly — this
// ceiling here, and cold start within 1.5× the JS baseline's, measured by `make bench` (a timing, so
// not a test). Each feature says what it costs in bytes in its closing note.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import zlib from 'node:zlib';
import { ROOT } from './common/harness.mjs';

const BUDGET = 400 * 1000;

test('the release wasm is at most 400 KB gzipped', () => {
  const wasm = readFileSync(path.join(ROOT, 'build/index_bg.wasm'));
  const gz = zlib.gzipSync(wasm, { level: 9 }).length;
  console.log(`FIGURE wasm: ${wasm.length} B raw, ${gz} B gzipped (budget ${BUDGET})`);
  assert.ok(gz <= BUDGET, `${gz} B gzipped is over the ${BUDGET} B budget`);
});
