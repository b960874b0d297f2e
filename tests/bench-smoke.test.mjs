// The load generator still works: a 5-second run of the release `edge-chat-bench` against a real
// `wrangler dev` delivers messages, and none is lost, duplicated, reordered or refused.
// (The full comparison with the baseline is `make bench`, too slow for `make test`.)

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, startServer } from './common/harness.mjs';

const BENCH = path.join(ROOT, 'target/loadgen/edge-chat-bench');

let server;
before(async () => {
  // A no-op when it is current; the first build takes a few minutes.
  execFileSync('bash', ['-c', 'source scripts/env.sh && cargo build --quiet --profile loadgen -p edge-chat-bench'], {
    cwd: ROOT,
    stdio: 'inherit',
    timeout: 900_000,
  });
  // The generator sends faster than the default per-connection limit allows.
  server = await startServer({ vars: { RATE_PER_SEC: '1000', RATE_BURST: '1000' } });
});
after(async () => {
  await server?.stop();
});

function runBench(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(BENCH, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      code === 0 ? resolve(out) : reject(new Error(`edge-chat-bench exited ${code}:\n${out}\n${err}`));
    });
  });
}

test('a 5-second load run delivers everything exactly once, in order', async () => {
  const out = await runBench([
    '--url', server.base, '--label', 'smoke', '--quiet',
    'run', '--clients', '10', '--senders', '2', '--rate', '10', '--duration', '5',
  ]);
  const line = JSON.parse(out.trim().split('\n').pop());
  const r = line.result;
  assert.equal(line.mode, 'run');
  assert.ok(r.sent >= 90, `sent ${r.sent}`);
  assert.equal(r.delivered, r.sent * 9, 'every message reached the other 9 clients');
  assert.ok(r.deliveries_per_s > 0);
  assert.equal(r.lost, 0);
  assert.equal(r.duplicated, 0);
  assert.equal(r.out_of_order, 0);
  assert.equal(r.errors, 0);
  assert.equal(r.foreign, 0, 'nobody got its own message back or another room\'s');
  assert.equal(r.acks, r.sent, 'each message acked to its sender');
  assert.ok(r.latency_ms.n === r.delivered && r.latency_ms.p50 > 0);
});
