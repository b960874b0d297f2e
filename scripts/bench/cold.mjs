// Cold start (issue 33): how long a new process takes from nothing to answering, for edge-chat's
// Worker (the JS shim and its wasm: compiled and instantiated when the isolate is made) against the
// JavaScript relay (bench/baseline/relay.js) and against an empty Worker (the floor: workerd itself).
// Each round starts `workerd serve` straight on a generated config (no wrangler, no dev proxy, no
// asset router: those start the same whatever the Worker is) and times, on one clock:
//   start   spawn → the first `GET /health` answered (the isolate made, the module evaluated);
//   welcome then one socket into a new room → its welcome (the room's object constructed; the first
//           calls into each wasm function compile it, since V8 compiles wasm lazily);
//   message then a second socket, and one message from the first to the second: send → receipt.
// The kinds run in turn each round, so slow drifts of the machine's load hit all alike.
//
// Usage: node scripts/bench/cold.mjs RESULTS.jsonl   (BENCH_COLD_ROUNDS, default 10; appends one
// JSON line per kind: {scenario: 'cold', server, result: {rounds, start_ms, welcome_ms, message_ms}})

import { spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { freePort, now, ROOT, sleep } from '../../tests/common/harness.mjs';
import { workerdConfig } from './workerd-config.mjs';

const [resultsPath] = process.argv.slice(2);
const ROUNDS = Number(process.env.BENCH_COLD_ROUNDS ?? 10);
const WORKERD = path.join(ROOT, 'node_modules/@cloudflare/workerd-linux-64/bin/workerd');
const DATE = '2026-04-26';

// Each kind: its modules (copied next to the config), its Durable Object, the vars it runs with.
const KINDS = {
  empty: {
    label: 'an empty Worker (workerd alone)',
    modules: [{ name: 'index.js', kind: 'esModule', source: null }],
    durableObject: null,
  },
  relay: {
    label: 'JS relay (bench/baseline/relay.js)',
    modules: [{ name: 'relay.js', kind: 'esModule', source: 'bench/baseline/relay.js' }],
    durableObject: { binding: 'RELAY', className: 'Relay' },
  },
  edge: {
    label: 'edge-chat (build/index.js + index_bg.wasm)',
    modules: [
      { name: 'index.js', kind: 'esModule', source: 'build/index.js' },
      { name: 'index_bg.wasm', kind: 'wasm', source: 'build/index_bg.wasm' },
    ],
    durableObject: { binding: 'ROOMS', className: 'ChatRoom' },
    vars: { RATE_LIMIT_EXEMPT: '127.0.0.1' },
  },
};
const EMPTY = "export default { fetch() { return new Response('ok'); } };\n";

/** GET /health once: its status, or 0 when nothing answers yet. */
function health(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/health', agent: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
  });
}

/** A socket into `room` that resolves with it at its welcome (the first frame). */
function join(port, room, name) {
  return new Promise((resolve, reject) => {
    // workerd alone sets no CF-Connecting-IP; edge-chat's per-client limit exempts this one.
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/${room}?name=${name}`, {
      perMessageDeflate: false,
      headers: { 'CF-Connecting-IP': '127.0.0.1' },
    });
    ws.once('message', () => resolve(ws));
    ws.once('error', reject);
    ws.once('close', (code) => reject(new Error(`closed ${code} before welcome`)));
  });
}

async function once(kind, dir) {
  const k = KINDS[kind];
  const port = await freePort();
  const work = mkdtempSync(path.join(dir, `${kind}-`));
  mkdirSync(path.join(work, 'disk'));
  for (const m of k.modules) {
    if (m.source) copyFileSync(path.join(ROOT, m.source), path.join(work, m.name));
    else writeFileSync(path.join(work, m.name), EMPTY);
  }
  const config = workerdConfig({
    port,
    modules: k.modules.map((m) => ({ name: m.name, kind: m.kind, file: m.name })),
    vars: k.vars,
    durableObject: k.durableObject,
    compatibilityDate: DATE,
  });
  writeFileSync(path.join(work, 'config.capnp'), config);
  const t0 = now();
  const child = spawn(WORKERD, ['serve', 'config.capnp', '--experimental'], { cwd: work, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => (log += d));
  let exited = false;
  child.on('exit', () => (exited = true));
  try {
    while ((await health(port)) !== 200) {
      if (exited || now() - t0 > 30_000) throw new Error(`${kind}: workerd did not answer: ${log.slice(0, 500)}`);
      await sleep(1);
    }
    const start = now() - t0;
    if (!k.durableObject) return { start };
    const room = `cold-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const w0 = now();
    const a = await join(port, room, 'a');
    const welcome = now() - w0;
    const b = await join(port, room, 'b');
    const got = new Promise((resolve) => b.on('message', (d) => String(d).includes('cold-ping') && resolve()));
    const m0 = now();
    a.send(JSON.stringify({ type: 'message', text: 'cold-ping', id: 'c1' }));
    await got;
    const message = now() - m0;
    a.terminate();
    b.terminate();
    return { start, welcome, message };
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => (exited ? r() : child.once('exit', r)));
    rmSync(work, { recursive: true, force: true });
  }
}

const median = (xs) => {
  const s = xs.filter((x) => x !== undefined).sort((a, b) => a - b);
  return s.length ? +s[Math.floor((s.length - 1) / 2)].toFixed(2) : null;
};
const spread = (xs) => {
  const s = xs.filter((x) => x !== undefined);
  return s.length ? [+Math.min(...s).toFixed(2), +Math.max(...s).toFixed(2)] : null;
};

const dir = mkdtempSync(path.join(os.tmpdir(), 'edge-chat-cold-'));
const runs = Object.fromEntries(Object.keys(KINDS).map((k) => [k, []]));
try {
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 ? Object.keys(KINDS).reverse() : Object.keys(KINDS);
    for (const kind of order) runs[kind].push(await once(kind, dir));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
for (const [kind, rs] of Object.entries(runs)) {
  const result = { label: KINDS[kind].label, rounds: rs.length };
  for (const key of ['start', 'welcome', 'message']) {
    const xs = rs.map((x) => x[key]);
    if (xs.every((x) => x === undefined)) continue;
    result[`${key}_ms`] = median(xs);
    result[`${key}_range_ms`] = spread(xs);
  }
  console.log(`cold ${kind}: ${JSON.stringify(result)}`);
  if (resultsPath) appendFileSync(resultsPath, `${JSON.stringify({ scenario: 'cold', server: kind, path: 'workerd', result })}\n`);
}
