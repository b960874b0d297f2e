// The SDK's wire types kept honest by a machine: tests/frame_samples.rs writes one sample of every
// frame the server sends and the room takes (every optional field filled), and this test type-checks
// each against packages/client/types/protocol.d.ts under `tsc --strict`. A frame or a field added in
// Rust and not in the declarations is an error here (a missing frame type: no union member matches;
// a missing field: an excess property), so `make test` fails until the two agree.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT } from './common/harness.mjs';

const SAMPLES = path.join(ROOT, 'tests/.artifacts/frame-samples.json');
const TSC = path.join(ROOT, 'node_modules/.bin/tsc');
const TYPES = path.join(ROOT, 'packages/client/types/protocol');

/** The samples, written afresh by the Rust test (cargo builds only what changed). */
function samples() {
  execFileSync('bash', ['-c', 'source scripts/env.sh && cargo test --quiet --test frame_samples'], { cwd: ROOT, stdio: 'pipe' });
  assert.ok(existsSync(SAMPLES), `${SAMPLES} was not written`);
  return JSON.parse(readFileSync(SAMPLES, 'utf8'));
}

/** tsc's diagnostics for `source` (empty: it type-checks). */
function check(source) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'edge-chat-types-'));
  try {
    writeFileSync(path.join(dir, 'samples.ts'), source);
    const options = { strict: true, noEmit: true, target: 'es2022', module: 'es2022', moduleResolution: 'bundler', types: [] };
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: options, files: ['samples.ts'] }));
    try {
      execFileSync(TSC, ['-p', path.join(dir, 'tsconfig.json')], { encoding: 'utf8' });
      return '';
    } catch (e) {
      return e.stdout || String(e);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const module = (frames) =>
  `import type { BatchFrame, ServerFrame, ClientFrame, InboxFrame } from ${JSON.stringify(TYPES)};\n` +
  frames.map(([type, name, sample]) => `export const ${name}: ${type} = ${JSON.stringify(sample)};\n`).join('');

test('every frame the server sends and the room takes type-checks against the SDK declarations', () => {
  const { server, client, inbox } = samples();
  assert.ok(server.length >= 18 && client.length >= 19 && inbox.length >= 5, 'the samples cover every frame');
  const frames = [
    ...inbox.map((s, i) => ['InboxFrame', `inbox_${i}_${s.type}`, s]),
    // A batch (batch=1) is the one frame that is not in the union: it carries the union's frames.
    ...server.map((s, i) => [s.type === 'batch' ? 'BatchFrame' : 'ServerFrame', `server_${i}_${s.type}`, s]),
    ...client.map((s, i) => ['ClientFrame', `client_${i}_${s.type}`, s]),
  ];
  assert.equal(check(module(frames)), '', 'tsc --strict over the samples');
});

test('the check catches drift: a field or a frame TypeScript does not know fails it', () => {
  const { server } = samples();
  const welcome = server.find((s) => s.type === 'welcome');
  const drifted = check(module([['ServerFrame', 'added_field', { ...welcome, brand_new_field: 1 }], ['ServerFrame', 'added_frame', { type: 'brand_new_frame' }]]));
  assert.match(drifted, /brand_new_field/, drifted);
  assert.match(drifted, /brand_new_frame/, drifted);
});
