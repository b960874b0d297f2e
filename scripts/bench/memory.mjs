// Memory per room (issue 33): what an active and a hibernated room cost the isolate, and how many
// active rooms fit in one isolate's 128 MB, for edge-chat against the JS relay (bench/baseline,
// durable batched). Each kind gets a fresh `wrangler dev` (wasm memory only grows, so an isolate that
// served other scenarios would hide the growth), and its isolate is read through the inspector:
//   js    the V8 heap in use (`Runtime.getHeapUsage`, right after `Runtime.queryObjects`, which
//         collects garbage first);
//   wasm  the size of every WebAssembly.Memory in the isolate (edge-chat's one module instance,
//         shared by the Worker and every object of the isolate); it never shrinks.
// Steps: a warm-up wave of a few rooms (N/20, at least 2: the first rooms pay for what every later
// one shares — compiled code and its feedback, caches — about 200 KB of heap that is not per room):
// "base"; wave 1, N rooms of 10 sockets with MESSAGES messages each (load generator, held open,
// straight at the user worker): "active"; 15 s of silence, so every room hibernates (its sockets kept
// by the runtime): "hibernated"; wave 2, N more rooms the same way while the first N sleep: "second".
// Per active room: (active - base) / N. Per hibernated room: the JS heap still held,
// (hibernated - base).js / N, plus the wasm memory wave 2 had to add, since the first N rooms' wasm
// memory, freed, is reused: (second - active).wasm / N. Rooms that fit: (128 MiB - base) / per active
// room. Edge-chat keeps no message cache: a room's messages live in SQLite, outside the isolate.
//
// Usage: node scripts/bench/memory.mjs RESULTS.jsonl   (BENCH_MEMORY_ROOMS 200, BENCH_MEMORY_MESSAGES
// 200, BENCH_MEMORY_FILL_S 20 (the seconds the messages are spread over), BENCH_MEMORY_SERVERS
// "edge relay"; BENCH_QUICK=1: 20 rooms)

import { spawn } from 'node:child_process';
import { appendFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { ROOT, sleep, startServer } from '../../tests/common/harness.mjs';
import { LOAD_VARS, noAssetsDir, userWorker } from './server.mjs';

const [resultsPath] = process.argv.slice(2);
const QUICK = process.env.BENCH_QUICK === '1';
const ROOMS = Number(process.env.BENCH_MEMORY_ROOMS ?? (QUICK ? 20 : 200));
const MESSAGES = Number(process.env.BENCH_MEMORY_MESSAGES ?? 200);
const FILL_S = Number(process.env.BENCH_MEMORY_FILL_S ?? (QUICK ? 10 : 20));
const KINDS = (process.env.BENCH_MEMORY_SERVERS ?? 'edge relay').split(/\s+/).filter(Boolean);
const BENCH = path.join(ROOT, 'target/loadgen/edge-chat-bench');
const LIMIT = 128 * 1024 * 1024;

/** The isolate behind `wrangler dev`'s inspector port: { js, wasm } bytes, garbage collected first. */
async function inspector(port) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  let next = 1;
  let context = null;
  const pending = new Map();
  ws.on('message', (data) => {
    const msg = JSON.parse(data);
    if (msg.method === 'Runtime.executionContextCreated') context = msg.params.context.id;
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    msg.error ? p.reject(new Error(`${p.method}: ${msg.error.message}`)) : p.resolve(msg.result);
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const call = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject, method });
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call('Runtime.enable');
  for (let i = 0; context === null && i < 100; i++) await sleep(50);
  if (context === null) throw new Error('the inspector named no execution context');
  return {
    async measure() {
      const proto = await call('Runtime.evaluate', { expression: 'WebAssembly.Memory.prototype', contextId: context });
      // queryObjects collects garbage before it walks the heap, so the heap figure after it is live data.
      const found = await call('Runtime.queryObjects', { prototypeObjectId: proto.result.objectId });
      const sizes = await call('Runtime.callFunctionOn', {
        objectId: found.objects.objectId,
        functionDeclaration: 'function () { return this.map((m) => m.buffer.byteLength); }',
        returnByValue: true,
      });
      const heap = await call('Runtime.getHeapUsage');
      await call('Runtime.releaseObjectGroup', { objectGroup: '' }).catch(() => {});
      return { js: heap.usedSize, wasm: sizes.result.value.reduce((a, b) => a + b, 0) };
    },
    close: () => ws.close(),
  };
}

/**
 * `rooms` rooms of 10 sockets, MESSAGES messages each spread over `seconds`, held open: resolves
 * { release, done } once full.
 */
function fill(port, label, rooms, seconds = FILL_S) {
  const rate = MESSAGES / seconds;
  const args = ['--url', `http://127.0.0.1:${port}`, '--label', label, '--quiet', 'run', '--clients', String(rooms * 10), '--rooms', String(rooms),
    '--senders', '1', '--rate', String(rate), '--duration', String(seconds), '--connect-concurrency', '64', '--hold'];
  const child = spawn(BENCH, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  const done = new Promise((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()).result) : reject(new Error(`${label} exited ${code}: ${err.slice(-500)}`)))),
  );
  const held = new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      err += d;
      if (err.includes('HOLDING')) resolve();
    });
    done.catch(reject);
  });
  return held.then(() => ({ release: () => child.stdin.end('\n'), done }));
}

async function measureKind(kind) {
  const relay = kind === 'relay';
  const cwd = relay ? path.join(ROOT, 'bench/baseline') : noAssetsDir();
  const server = await startServer({ cwd, vars: relay ? { STORE: 'batch', SEND: 'batch' } : LOAD_VARS, startTimeoutMs: 120_000 });
  const waves = [];
  try {
    const { port } = await userWorker(server);
    const isolate = await inspector(server.inspectorPort);
    const empty = await isolate.measure();
    // The warm-up's few rooms take their messages faster: only the paths have to have run.
    waves.push(await fill(port, `${kind}-warm`, Math.max(2, Math.ceil(ROOMS / 20)), Math.min(FILL_S, 5)));
    const base = await isolate.measure();
    waves.push(await fill(port, `${kind}-1`, ROOMS));
    const active = await isolate.measure();
    await sleep(15_000); // past the hibernation window: every room's object leaves memory
    const hibernated = await isolate.measure();
    waves.push(await fill(port, `${kind}-2`, ROOMS));
    const second = await isolate.measure();
    isolate.close();
    for (const w of waves) w.release();
    const runs = await Promise.all(waves.map((w) => w.done));
    const total = (m) => m.js + m.wasm;
    const perActive = (total(active) - total(base)) / ROOMS;
    const perHibernated = (Math.max(0, hibernated.js - base.js) + Math.max(0, second.wasm - active.wasm)) / ROOMS;
    return {
      kind,
      rooms: ROOMS,
      sockets_per_room: 10,
      messages_per_room: MESSAGES,
      empty,
      base,
      active,
      hibernated,
      second,
      per_active: Math.round(perActive),
      per_active_js: Math.round((active.js - base.js) / ROOMS),
      per_active_wasm: Math.round((active.wasm - base.wasm) / ROOMS),
      per_hibernated: Math.round(perHibernated),
      per_hibernated_js: Math.round(Math.max(0, hibernated.js - base.js) / ROOMS),
      per_hibernated_wasm: Math.round(Math.max(0, second.wasm - active.wasm) / ROOMS),
      fit_128mb: perActive > 0 ? Math.floor((LIMIT - total(base)) / perActive) : null,
      lost: runs.reduce((a, r) => a + r.lost, 0),
    };
  } finally {
    for (const w of waves) w.release();
    await server.stop();
    if (!relay) rmSync(cwd, { recursive: true, force: true });
  }
}

for (const kind of KINDS) {
  process.stdout.write(`== memory: ${kind}, ${ROOMS} rooms x 10 sockets x ${MESSAGES} messages\n`);
  try {
    const r = await measureKind(kind);
    console.log(JSON.stringify(r));
    appendFileSync(resultsPath, `${JSON.stringify({ scenario: 'memory', server: kind, path: 'direct', result: r })}\n`);
  } catch (e) {
    console.log(`   failed: ${e.message.split('\n')[0]}`);
    appendFileSync(resultsPath, `${JSON.stringify({ scenario: 'memory', server: kind, path: 'direct', failed: true, result: { kind, error: e.message.split('\n')[0] } })}\n`);
  }
}
