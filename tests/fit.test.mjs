// The arithmetic of `make bench` scenario H (scripts/fit.mjs): the fits recover known coefficients,
// and refuse runs that cannot separate them. No server needed.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fit, line } from '../scripts/fit.mjs';

test('the joint fit recovers the fixed, per-shard and per-socket costs of noiseless runs', () => {
  const cost = (k, n) => 1500 + 120 * (k - 1) + 0.05 * n;
  const runs = [
    [1, 2000], [2, 2000], [4, 2000], [8, 2000],
    [4, 1000], [4, 3000],
    [1, 64], [4, 64], [16, 64], [32, 64],
  ].map(([k, n]) => ({ x1: k - 1, x2: n, y: cost(k, n) }));
  const f = fit(runs);
  assert.equal(f.fixed_us, 1500);
  assert.equal(f.per_shard_us, 120);
  assert.equal(f.per_socket_us, 0.05);
  assert.equal(f.r2, 1);
  assert.equal(f.runs, 10);
});

test('runs that never vary the shards give no fit rather than a made-up one', () => {
  assert.equal(fit([{ x1: 0, x2: 200, y: 10 }, { x1: 0, x2: 600, y: 30 }, { x1: 0, x2: 16, y: 2 }]), null);
});

test('one series alone: slope and intercept, none for a single point', () => {
  assert.deepEqual(line([{ x: 0, y: 2 }, { x: 3, y: 8 }, { x: 15, y: 32 }]), { intercept: 2, slope: 2 });
  assert.equal(line([{ x: 4, y: 1 }]), null);
});
