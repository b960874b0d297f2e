// The least-squares fits of scenario H (scripts/bench-shard.mjs): CPU per message on (shards - 1) and
// sockets, and one series on one variable. Pure, so tests/fit.test.mjs checks them without a server.

/** Least squares of y on [1, x1, x2]: the 3x3 normal equations, by Cramer's rule. */
export function fit(points) {
  const S = (f) => points.reduce((a, p) => a + f(p), 0);
  const m = [
    [points.length, S((p) => p.x1), S((p) => p.x2)],
    [S((p) => p.x1), S((p) => p.x1 * p.x1), S((p) => p.x1 * p.x2)],
    [S((p) => p.x2), S((p) => p.x1 * p.x2), S((p) => p.x2 * p.x2)],
  ];
  const v = [S((p) => p.y), S((p) => p.x1 * p.y), S((p) => p.x2 * p.y)];
  const det = (a) => a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1]) - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0]) + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]);
  const d = det(m);
  if (!Number.isFinite(d) || Math.abs(d) < 1e-9) return null; // the runs do not vary both shards and sockets
  const col = (i) => det(m.map((row, r) => row.map((x, c) => (c === i ? v[r] : x))));
  const [fixed, perShard, perSocket] = [0, 1, 2].map((i) => col(i) / d);
  const mean = S((p) => p.y) / points.length;
  const ssTot = S((p) => (p.y - mean) ** 2);
  const ssRes = S((p) => (p.y - (fixed + perShard * p.x1 + perSocket * p.x2)) ** 2);
  return { fixed_us: +fixed.toFixed(1), per_shard_us: +perShard.toFixed(1), per_socket_us: +perSocket.toFixed(3), r2: +(1 - ssRes / ssTot).toFixed(3), runs: points.length };
}

/** Least squares of y on [1, x]: { intercept, slope }. */
export function line(points) {
  const n = points.length;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  const sxx = points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  if (n < 2 || sxx === 0) return null;
  const slope = points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0) / sxx;
  return { intercept: my - slope * mx, slope };
}
