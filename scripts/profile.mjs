// Takes a V8 CPU profile of the Worker under `wrangler dev` through its inspector port, and prints the
// functions with the most self time (JS and wasm alike; wasm functions appear by their Rust names
// when the name section is kept). Usage: node scripts/profile.mjs INSPECTOR_PORT SECONDS [OUT.cpuprofile]
import { writeFileSync } from 'node:fs';
import WebSocket from 'ws';

const [port, seconds = '10', out] = process.argv.slice(2);
const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
let next = 1;
const pending = new Map();
const call = (method, params = {}) =>
  new Promise((resolve, reject) => {
    const id = next++;
    pending.set(id, { resolve, reject });
    ws.send(JSON.stringify({ id, method, params }));
  });
ws.on('message', (data) => {
  const msg = JSON.parse(data);
  const p = pending.get(msg.id);
  if (!p) return;
  pending.delete(msg.id);
  msg.error ? p.reject(new Error(msg.error.message)) : p.resolve(msg.result);
});
await new Promise((r, j) => ws.once('open', r).once('error', j));
await call('Profiler.enable');
await call('Profiler.setSamplingInterval', { interval: 100 });
await call('Profiler.start');
await new Promise((r) => setTimeout(r, Number(seconds) * 1000));
const { profile } = await call('Profiler.stop');
ws.close();
if (out) writeFileSync(out, JSON.stringify(profile));

// Self time per function: samples × interval.
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
const deltas = profile.timeDeltas;
profile.samples.forEach((id, i) => {
  const f = byId.get(id).callFrame;
  const key = `${f.functionName || '(anonymous)'} ${f.url ? f.url.split('/').pop() : ''}`;
  self.set(key, (self.get(key) ?? 0) + (deltas[i + 1] ?? 0));
});
const total = [...self.values()].reduce((a, b) => a + b, 0);
const idle = [...self.entries()].filter(([k]) => k.startsWith('(idle)')).reduce((a, [, v]) => a + v, 0);
console.log(`sampled ${(total / 1e6).toFixed(2)} s, busy ${(((total - idle) / total) * 100).toFixed(1)}%`);
for (const [k, v] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 40)) {
  console.log(`${((v / total) * 100).toFixed(2).padStart(6)}%  ${(v / 1000).toFixed(0).padStart(7)} ms  ${k}`);
}
