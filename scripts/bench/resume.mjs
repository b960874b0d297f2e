// A reconnect storm after a restart (issue 33): N sockets in one room, the server restarted (as a
// deploy does: SIGTERM, then a new `wrangler dev` on the same state), a writer posting M messages
// the moment it is back, then all N resume with `after=<the last seq each saw>`, 64 at a time, and
// each is "caught up" once its welcome holds every message it missed (`history` up to `last_seq`,
// not truncated). Times, from the storm's first connect: until every socket is back (its welcome) —
// for edge-chat that is also caught up, since the welcome carries what was missed — and each socket's
// connect → welcome. The JS relay (bench/baseline, durable batched) restarts the same way; it has no
// history to resume, so only "back" applies to it: the runtime's floor for the same storm.
// Straight at the user worker (the dev proxy would need ~6 descriptors per socket).
//
// Usage: node scripts/bench/resume.mjs RESULTS.jsonl   (BENCH_RESUME_SOCKETS 3000, BENCH_RESUME_MISSED
// 20, BENCH_RESUME_CONCURRENCY 64, BENCH_RESUME_SERVERS "edge relay"; BENCH_QUICK=1: 300 sockets)

import { appendFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { now, pool, restartServer, ROOT, sleep, startServer, stats } from '../../tests/common/harness.mjs';
import { LOAD_VARS, noAssetsDir, userWorker } from './server.mjs';

const [resultsPath] = process.argv.slice(2);
const QUICK = process.env.BENCH_QUICK === '1';
const N = Number(process.env.BENCH_RESUME_SOCKETS ?? (QUICK ? 300 : 3000));
const MISSED = Number(process.env.BENCH_RESUME_MISSED ?? 20);
const CONCURRENCY = Number(process.env.BENCH_RESUME_CONCURRENCY ?? 64);
const KINDS = (process.env.BENCH_RESUME_SERVERS ?? 'edge relay').split(/\s+/).filter(Boolean);

/**
 * A socket that resolves at its welcome with { ws, welcome (parsed), ms, bytes } and afterwards keeps
 * `seq` as the highest it saw (welcome history, messages, acks).
 */
function open(url) {
  return new Promise((resolve, reject) => {
    const t0 = now();
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 << 20 });
    const sock = { ws, seq: 0, ms: null, welcome: null, bytes: 0 };
    ws.on('error', reject);
    ws.on('close', (code) => sock.ms === null && reject(new Error(`closed ${code} before welcome`)));
    ws.on('message', (data) => {
      const text = String(data);
      if (sock.ms === null) {
        sock.ms = now() - t0;
        sock.bytes = text.length;
        sock.welcome = JSON.parse(text);
        sock.seq = sock.welcome.last_seq ?? 0;
        resolve(sock);
        return;
      }
      const m = /"seq":(\d+)/.exec(text);
      if (m && (text.startsWith('{"type":"message"') || text.startsWith('{"type":"ack"'))) sock.seq = Math.max(sock.seq, Number(m[1]));
    });
  });
}

/** Sends `count` messages from `sock` and waits until every socket in `all` has seen the last one. */
async function write(sock, count, all, tag) {
  for (let k = 0; k < count; k++) sock.ws.send(JSON.stringify({ type: 'message', text: `resume ${tag} ${k}`, id: `${tag}-${k}` }));
  const deadline = Date.now() + 120_000;
  let target = null;
  while (Date.now() < deadline) {
    // The writer's own acks tell the last seq; everyone else must reach it.
    if (target === null && sock.acked >= count) target = sock.seq;
    if (target !== null && all.every((s) => s.seq >= target)) return target;
    await sleep(20);
  }
  throw new Error(`${tag}: not everyone got the messages within 120 s`);
}

async function storm(kind) {
  const relay = kind === 'relay';
  const cwd = relay ? path.join(ROOT, 'bench/baseline') : noAssetsDir();
  const vars = relay ? { STORE: 'batch', SEND: 'batch' } : LOAD_VARS;
  let server = await startServer({ cwd, vars, startTimeoutMs: 120_000 });
  const room = `resume-${process.pid}-${kind}`;
  try {
    let { port } = await userWorker(server);
    const url = (p, i, after) => `ws://127.0.0.1:${p}/ws/${room}?name=r${i}${after === undefined ? '' : `&after=${after}`}`;
    const t0 = now();
    const socks = await pool(Array.from({ length: N }, (_, i) => i), CONCURRENCY, (i) => open(url(port, i)));
    const firstStorm = now() - t0;
    let before = 0;
    if (!relay) {
      // Some history everyone has seen, so each resumes from a seq of its own, not from 0.
      const w = await writer(port, room);
      before = await write(w, 5, socks, 'before');
      w.ws.terminate();
    }
    const seqs = socks.map((s) => s.seq);
    const r0 = now();
    server = await restartServer(server);
    const restartMs = now() - r0;
    for (const s of socks) s.ws.terminate();
    ({ port } = await userWorker(server));
    let last = before;
    if (!relay) {
      const w = await writer(port, room);
      last = await write(w, MISSED, [w], 'missed');
      w.ws.terminate();
    }
    // The storm: everyone resumes from what it saw.
    const s0 = now();
    const back = await pool(socks, CONCURRENCY, (s, i) => open(url(port, i, relay ? undefined : seqs[i])).then((b) => ({ ...b, at: now() - s0 })));
    const allBack = now() - s0;
    const caughtUp = back.filter((b) => {
      if (relay) return true;
      const h = b.welcome.history ?? [];
      return !b.welcome.truncated && b.welcome.last_seq === last && h.length === last - before && h.at(-1)?.seq === last;
    }).length;
    const result = {
      kind,
      sockets: N,
      missed: relay ? 0 : last - before,
      first_storm_ms: Math.round(firstStorm),
      restart_ms: Math.round(restartMs),
      all_back_ms: Math.round(allBack),
      joins_per_s: Math.round((N * 1000) / allBack),
      caught_up: caughtUp,
      welcome_ms: stats(back.map((b) => b.ms)),
      welcome_bytes: Math.round(back.reduce((a, b) => a + b.bytes, 0) / back.length),
    };
    for (const b of back) b.ws.terminate();
    return result;
  } finally {
    await server.stop();
    if (!relay) rmSync(cwd, { recursive: true, force: true });
  }
}

/** A socket of its own into `room` that counts its acks. */
async function writer(port, room) {
  const w = await open(`ws://127.0.0.1:${port}/ws/${room}?name=writer`);
  w.acked = 0;
  w.ws.on('message', (d) => String(d).startsWith('{"type":"ack"') && (w.acked += 1));
  return w;
}

for (const kind of KINDS) {
  process.stdout.write(`== resume: ${kind}, ${N} sockets\n`);
  try {
    const r = await storm(kind);
    console.log(JSON.stringify(r));
    appendFileSync(resultsPath, `${JSON.stringify({ scenario: 'resume', server: kind, path: 'direct', result: r })}\n`);
  } catch (e) {
    console.log(`   failed: ${e.message.split('\n')[0]}`);
    appendFileSync(resultsPath, `${JSON.stringify({ scenario: 'resume', server: kind, path: 'direct', failed: true, result: { kind, sockets: N, error: e.message.split('\n')[0] } })}\n`);
  }
}
