// Scenario H of `make bench` (issue 18): what one room costs when its sockets live on several Durable
// Objects. Each run starts its own `wrangler dev` with SHARD_SOCKETS set so that N sockets spread over
// k shards, connects them (64 at a time, through the dev proxy, as shipped), lets a few senders on the
// sequencer's own shard send at a fixed rate, waits until every socket has every message, and reads
// the CPU time the user worker's workerd process spent (/proc/PID/stat, all its threads) and the
// room's counters (`shard_calls`, `shard_frames`, `commits.turns`).
//
// All DOs run in that one workerd process, so its CPU mixes the sequencer's and the shards'. The runs
// are designed to separate them: CPU per message is regressed on (shards - 1) and sockets,
//   cpu/msg = fixed + per_shard * (k - 1) + per_socket * N,
// where `per_socket` is the fan-out cost of one delivered frame on whichever DO holds the socket, and
// `per_shard` what one more shard costs per message (the sequencer's push to it and the shard's
// receiving it) — the sequencer's cost per message is then at most fixed + per_shard * (k - 1) +
// per_socket * SHARD_SOCKETS: O(shards), bounded in sockets. Three series feed the fit: the same sockets
// over 1, 2, 4, 8 shards; the same 4 shards with growing sockets; and a few sockets over many shards,
// where the fan-out is negligible and the curve is the per-shard cost alone. One more run puts the
// senders on a shard instead of the sequencer (the forwarding cost). (The 3,000-socket connect storm
// over 6 shards and over one object is `make bench`'s fanout scenario now, with the fan-out's p99; a
// plan may still hold `{"series":"storm",...,"send":false}` runs.)
//
// Usage: node scripts/bench-shard.mjs RESULTS.jsonl   (appends JSON lines; BENCH_QUICK=1 shorter;
// BENCH_H_PLAN='[{"series":"x","sockets":500,"shards":2,"rate":5}]' runs only those)
// Run by scripts/bench.sh (BENCH_ONLY=H for this scenario alone).

import { appendFileSync, readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { getJson, now, pool, sleep, startServer, stats, uniqueRoom } from '../tests/common/harness.mjs';
import { userWorker } from './bench/server.mjs';
import { fit, line } from './fit.mjs';

const [resultsPath] = process.argv.slice(2);
const QUICK = process.env.BENCH_QUICK === '1';
const SECONDS = QUICK ? 4 : 8; // sending window of each run
const TICK = 100; // clock ticks per second in /proc/PID/stat (USER_HZ, 100 on Linux)

/** CPU seconds (user + system, all threads) of `pid` so far. */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK;
}

/** A socket that counts the messages it gets (v1 frames, no permessage-deflate). */
function open(url) {
  return new Promise((resolve, reject) => {
    const t0 = now();
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 8 << 20 });
    const sock = { ws, got: 0, welcomeMs: null };
    ws.on('error', reject);
    ws.on('close', (code) => reject(new Error(`closed ${code} before welcome`)));
    ws.on('message', (data) => {
      const s = data.toString();
      if (sock.welcomeMs === null) {
        sock.welcomeMs = now() - t0;
        resolve(sock);
      } else if (s.startsWith('{"type":"message"')) sock.got += 1;
    });
  });
}

const info = async (server, room) => (await getJson(`${server.base}/api/rooms/${room}`)).body;

/**
 * One run: `sockets` sockets over `shards` shards (SHARD_SOCKETS = sockets / shards), `senders` of them
 * sending `rate` messages a second in all for SECONDS. `sendersOn`: 'sequencer' (connected first, so
 * they sit on shard 0) or 'shard' (connected last, on the last shard). `send: false`: connect only.
 */
async function run({ series, sockets, shards, senders = 4, rate, sendersOn = 'sequencer', send = true }) {
  const shardSockets = Math.ceil(sockets / shards);
  const server = await startServer({ vars: { SHARD_SOCKETS: shardSockets, RATE_PER_SEC: 1000, RATE_BURST: 1000, MAX_CONNECTIONS: 100000 }, startTimeoutMs: 120_000, logLevel: 'info' });
  try {
    const { pid } = await userWorker(server);
    const room = uniqueRoom('bench-h');
    const url = (i) => server.ws(room, { name: `h${i}` });
    const t0 = now();
    const socks = await pool(Array.from({ length: sockets }, (_, i) => i), 64, (i) => open(url(i)));
    const connectMs = now() - t0;
    const connect = stats(socks.map((s) => s.welcomeMs));
    const before = await info(server, room);
    const result = { series, sockets, shards, shard_sockets: shardSockets, senders_on: sendersOn, connect_total_ms: Math.round(connectMs), connect_ms: connect };
    result.placed = (before.shards ?? []).map((s) => s.sockets);
    if (send) {
      await sleep(2000); // presence frames of the connect are over (at most one a second)
      const idle0 = cpuSeconds(pid);
      await sleep(2000);
      const idlePerSec = (cpuSeconds(pid) - idle0) / 2;
      const talkers = sendersOn === 'sequencer' ? socks.slice(0, senders) : socks.slice(-senders);
      const c0 = cpuSeconds(pid);
      // The counters live in the sequencer's memory and start again whenever it is re-constructed,
      // which happened in some runs here; read them every second and add up across incarnations.
      const counters = { pushes: 0, frames: 0, turns: 0, rebuilds: 0 };
      let prev = await info(server, room);
      const take = (cur) => {
        const same = cur.instance === prev.instance;
        if (!same) counters.rebuilds += 1;
        const d = (key) => (cur[key] ?? 0) - (same ? (prev[key] ?? 0) : 0);
        counters.pushes += d('shard_calls');
        counters.frames += d('shard_frames');
        counters.turns += (cur.commits?.turns ?? 0) - (same ? (prev.commits?.turns ?? 0) : 0);
        prev = cur;
      };
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          await sleep(1000);
          take(await info(server, room));
        }
      })();
      const s0 = now();
      let sent = 0;
      const own = new Map(talkers.map((t) => [t, 0])); // messages each sender sent
      const interval = 1000 / (rate / senders);
      await Promise.all(
        talkers.map(async (t, j) => {
          await sleep((interval * j) / senders);
          for (let k = 0; now() - s0 < SECONDS * 1000; k++) {
            t.ws.send(JSON.stringify({ type: 'message', text: `bench ${j}.${k}`, id: `h${j}-${k}` }));
            sent += 1;
            own.set(t, own.get(t) + 1);
            await sleep(interval);
          }
        }),
      );
      // Every socket gets every message but its own: wait for all of them (or give up after 120 s).
      const want = (s) => sent - (own.get(s) ?? 0);
      const deadline = Date.now() + 120_000;
      while (socks.some((s) => s.got < want(s)) && Date.now() < deadline) await sleep(50);
      const elapsed = (now() - s0) / 1000;
      const cpu = cpuSeconds(pid) - c0 - idlePerSec * elapsed;
      watching = false;
      await watcher;
      take(await info(server, room));
      const delivered = socks.reduce((a, s) => a + s.got, 0);
      const { turns, pushes, frames } = counters;
      Object.assign(result, {
        rate,
        sent,
        delivered,
        complete: delivered === socks.reduce((a, s) => a + want(s), 0),
        cpu_s: +cpu.toFixed(3),
        cpu_us_per_msg: Math.round((cpu * 1e6) / sent),
        cpu_us_per_delivery: +((cpu * 1e6) / delivered).toFixed(2),
        turns,
        pushes,
        pushes_per_flush: turns ? +(pushes / turns).toFixed(2) : null,
        frames_from_shards: frames,
        idle_cpu_per_s: +idlePerSec.toFixed(3),
        elapsed_s: +elapsed.toFixed(1),
        sequencer_rebuilds: counters.rebuilds,
      });
    }
    if (result.sequencer_rebuilds) {
      // Say why, if the runtime said it (a panic re-initialises the Wasm module, and every object in it).
      const why = server.log.split('\n').filter((l) => /panic|Reinitializ|Critical|exceeded|reset/i.test(l));
      result.rebuilt_log = why.slice(0, 5).map((l) => l.slice(0, 300));
      if (process.env.BENCH_H_LOG) appendFileSync(process.env.BENCH_H_LOG, server.log);
    }
    await pool(socks, 500, async (s) => s.ws.terminate());
    return result;
  } finally {
    await server.stop();
  }
}

const plan = process.env.BENCH_H_PLAN
  ? JSON.parse(process.env.BENCH_H_PLAN)
  : QUICK
  ? [
      ...[1, 4].map((k) => ({ series: 'same sockets', sockets: 1000, shards: k, rate: 5 })),
      { series: 'same shards', sockets: 2000, shards: 4, rate: 5 },
      ...[1, 8].map((k) => ({ series: 'few sockets', sockets: 32, shards: k, rate: 40 })),
    ]
  : [
      // Seven runs (a `wrangler dev` each, ~30 s): enough for the fit and each series' slope, inside
      // make bench's half hour. BENCH_H_PLAN runs more.
      ...[1, 4].map((k) => ({ series: 'same sockets', sockets: 2000, shards: k, rate: 5 })),
      ...[1000, 3000].map((n) => ({ series: 'same shards', sockets: n, shards: 4, rate: 5 })),
      ...[1, 16].map((k) => ({ series: 'few sockets', sockets: 64, shards: k, rate: 40 })),
      { series: 'senders on a shard', sockets: 2000, shards: 4, rate: 5, sendersOn: 'shard' },
    ];

const rows = [];
for (const p of plan) {
  const label = `${p.series}: ${p.sockets} sockets over ${p.shards} shard(s)${p.sendersOn === 'shard' ? ', senders on a shard' : ''}`;
  process.stdout.write(`== H ${label}\n`);
  try {
    const r = await run(p);
    rows.push(r);
    console.log(JSON.stringify(r));
    appendFileSync(resultsPath, `${JSON.stringify({ scenario: 'H-run', server: 'edge', path: 'proxy', result: r })}\n`);
  } catch (e) {
    console.log(`   failed: ${e.message.split('\n')[0]}`);
    appendFileSync(resultsPath, `${JSON.stringify({ scenario: 'H-run', server: 'edge', path: 'proxy', failed: true, result: { ...p, error: e.message.split('\n')[0] } })}\n`);
  }
}
const points = rows.filter((r) => r.cpu_us_per_msg !== undefined && r.senders_on === 'sequencer' && r.complete).map((r) => ({ x1: r.shards - 1, x2: r.sockets, y: r.cpu_us_per_msg }));
const f = points.length >= 3 ? fit(points) : null;
if (f) {
  // Each series alone, as a check on the joint fit: a few sockets over many shards is the per-shard
  // cost with hardly any fan-out; the same shards with growing sockets is the per-socket cost.
  const series = (name, x) => line(rows.filter((r) => r.series === name && r.complete).map((r) => ({ x: x(r), y: r.cpu_us_per_msg })));
  const few = series('few sockets', (r) => r.shards - 1);
  const same = series('same shards', (r) => r.sockets);
  f.few_sockets_per_shard_us = few && +few.slope.toFixed(1);
  f.same_shards_per_socket_us = same && +same.slope.toFixed(3);
  console.log(`== H fit: cpu per message = ${f.fixed_us} µs + ${f.per_shard_us} µs × (shards - 1) + ${f.per_socket_us} µs × sockets  (r² ${f.r2}, ${f.runs} runs)`);
  console.log(`   per series: ${f.few_sockets_per_shard_us} µs per shard (few sockets), ${f.same_shards_per_socket_us} µs per socket (same shards)`);
  appendFileSync(resultsPath, `${JSON.stringify({ scenario: 'H-fit', server: 'edge', path: 'proxy', result: f })}\n`);
}
