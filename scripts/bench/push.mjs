// The load of `make bench`'s push slot (bench/features/push.sh; issue 29's "pushes per second one inbox
// sustains", issue 33's "pushes per second one inbox sends"), against a server with Web Push on and the
// push receiver scripts/bench/push-service.mjs (which verifies and decrypts every push, as a real push
// service would). Two commands, each appending one JSON line to the results:
//
// rate — one person, away (no socket anywhere), with DEVICES subscribed browsers, and ROOMS direct
//   messages, each from another person: every room gets one message from its other member, all at once
//   (or PACE rooms a second). Each message is a push to every device, so ROOMS × DEVICES pushes go
//   through the one inbox's outbox. A room pushes at most once until the person comes back, so many
//   rooms with one message each is what measures the sending rate and not the coalescing. Reported:
//   pushes delivered per second (first to last arrival at the receiver), the delay from each message's
//   ack (at its sender) to each push's arrival (Date.now() in both processes: one machine, one clock),
//   the gaps between arrivals (the outbox sends PUSHES_PER_ALARM = 20 pushes per alarm, one after
//   another), and the server's CPU per push (the user worker's workerd, /proc; the rooms' rounds and the
//   inbox's decisions included).
//   node scripts/bench/push.mjs rate RESULTS --scenario S --server NAME --url http://127.0.0.1:PORT
//        --control URL [--cpu-pid PID] --rooms R --devices N [--pace P]
//
// load — the load generator's run (bench/src, as scripts/bench.sh's `bench` runs it) in a room prepared
//   first: MEMBERS people join it with a key each, set its notify to `all`, subscribe DEVICES browsers
//   each (none: keyed without push), and leave, so they are members who are away. The load's own
//   clients are anonymous sockets (a person with a socket open is online: no push is considered for
//   them). Every message then reaches every away member's inbox (rounds, at most one a second), which
//   decides on a push each time; the first of each person's is sent (to every device), the rest are
//   coalesced. The row is the generator's, with the pushes the receiver got for the room.
//   node scripts/bench/push.mjs load RESULTS --scenario S --server NAME --url http://127.0.0.1:PORT
//        --control URL --bench PATH [--cpu-pid PID] --members M --devices N -- GENERATOR RUN ARGS…

import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { appendFileSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { pool, sleep } from '../../tests/common/harness.mjs';

const [command, resultsPath, ...rest] = process.argv.slice(2);
const { values: opt, positionals } = parseArgs({
  args: rest,
  allowPositionals: true,
  options: {
    scenario: { type: 'string' },
    server: { type: 'string' },
    url: { type: 'string' },
    control: { type: 'string' },
    'cpu-pid': { type: 'string' },
    bench: { type: 'string' },
    rooms: { type: 'string', default: '100' },
    devices: { type: 'string', default: '1' },
    members: { type: 'string', default: '0' },
    pace: { type: 'string', default: '0' },
  },
});
const base = opt.url;
const wsBase = base.replace(/^http/, 'ws');
const CONCURRENCY = 16;

const newKey = () => crypto.randomBytes(18).toString('base64url');
/**
 * A JSON call of the Worker with `key`'s credentials; fails on an unexpected status. A read is asked
 * again once if the connection fails (a reused connection can be reset under load; a read changes
 * nothing).
 */
async function api(path, key, { method = 'GET', body, ok = [200, 201] } = {}) {
  const ask = () =>
    fetch(`${base}${path}${path.includes('?') ? '&' : '?'}key=${key}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const res = await ask().catch((e) => (method === 'GET' ? ask() : Promise.reject(e)));
  const text = await res.text();
  if (!ok.includes(res.status)) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}
const control = async (path, method = 'GET') => (await fetch(`${opt.control}${path}`, { method })).json();

/** A socket in `room` as the person of `key`, once its welcome came; acks are kept by id. */
function join(room, key, name) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${wsBase}/ws/${room}?key=${key}&name=${name}`, { perMessageDeflate: false });
    const sock = { ws, acks: new Map() };
    let welcomed = false;
    ws.on('error', reject);
    ws.on('close', (code) => welcomed || reject(new Error(`${room}: closed ${code} before the welcome`)));
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data));
      if (!welcomed) {
        welcomed = true;
        if (frame.type !== 'welcome') return reject(new Error(`${room}: ${String(data).slice(0, 200)}`));
        return resolve(sock);
      }
      if (frame.type === 'ack') sock.acks.set(frame.id, { seq: frame.seq, at: Date.now() });
    });
  });
}
const close = (sock) => new Promise((resolve) => (sock.ws.readyState === WebSocket.CLOSED ? resolve() : (sock.ws.once('close', resolve), sock.ws.close())));

/** Waits until `fn()` is truthy, polling; false after `ms`. */
async function until(fn, ms, every = 100) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await fn()) return true;
    await sleep(every);
  }
  return false;
}

/** The user worker's CPU time so far, ms (every thread: utime + stime of /proc/PID/stat). */
const tick = Number(execFileSync('getconf', ['CLK_TCK']).toString()) || 100;
function cpuMs() {
  if (!opt['cpu-pid']) return null;
  const stat = readFileSync(`/proc/${opt['cpu-pid']}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / tick;
}

/** Percentiles of a list of ms, as the generator reports them. */
function percentiles(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q) => (s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : null);
  return { n: s.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: s.at(-1) ?? null };
}
/** Pushes per second between the 10th and the 90th percentile of `arrivals` (sorted ms). */
function steady(arrivals) {
  const [a, b] = [Math.floor(0.1 * arrivals.length), Math.ceil(0.9 * arrivals.length) - 1];
  return b > a && arrivals[b] > arrivals[a] ? ((b - a) * 1000) / (arrivals[b] - arrivals[a]) : null;
}

/** The receiver's pushes since the `after`-th whose room is in `rooms`. */
async function pushesFor(rooms, after) {
  const got = await control(`/deliveries?after=${after}`);
  return { ...got, mine: got.deliveries.filter((d) => rooms.has(d.room)) };
}

/** A new person with `devices` subscriptions from the receiver; their uid. */
async function subscribed(key, devices) {
  const subs = devices ? await control(`/subscriptions?n=${devices}`, 'POST') : [];
  for (const sub of subs) await api('/api/me/push', key, { method: 'POST', body: sub.json });
  return subs;
}

const append = (row) => appendFileSync(resultsPath, `${JSON.stringify(row)}\n`);

async function rate() {
  const rooms = Number(opt.rooms);
  const devices = Number(opt.devices);
  const pace = Number(opt.pace);
  const t0 = Date.now();
  // The person who is away: never connected, a key, `devices` browsers.
  const key = newKey();
  const { uid } = await api('/api/me', key);
  await subscribed(key, devices);
  // The others, each with a direct message to them, connected to it.
  const senders = await pool(Array.from({ length: rooms }, (_, i) => i), CONCURRENCY, async (i) => {
    const k = newKey();
    const { room } = await api('/api/dms', k, { method: 'POST', body: { with: uid } });
    return { room, sock: await join(room, k, `s${i}`) };
  });
  const names = new Set(senders.map((s) => s.room));
  // Each direct message is in the person's inbox (no message yet: nothing to push).
  if (!(await until(async () => (await api('/api/me', key)).rooms.filter((r) => names.has(r.room)).length === rooms, 30_000))) {
    throw new Error('the direct messages did not all reach the inbox');
  }
  await sleep(2000); // the setup's own work (partners told, presence) settles
  const before = await control('/deliveries?after=0');
  const after = before.total;
  const cpu0 = cpuMs();
  const sendT0 = Date.now();
  for (const [i, s] of senders.entries()) {
    s.sent = Date.now();
    s.sock.ws.send(JSON.stringify({ type: 'message', text: `are you there? (${i})`, id: `p${i}` }));
    if (pace > 0) await sleep(1000 / pace);
  }
  const expected = rooms * devices;
  let got = await pushesFor(names, after);
  let seen = got.mine.length;
  let still = Date.now();
  // Until every push came, or none for 15 s.
  while (got.mine.length < expected && Date.now() - still < 15_000) {
    await sleep(100);
    got = await pushesFor(names, after);
    if (got.mine.length > seen) [seen, still] = [got.mine.length, Date.now()];
  }
  const cpu1 = cpuMs();
  const acked = new Map(senders.map((s, i) => [s.room, s.sock.acks.get(`p${i}`)]));
  const arrivals = got.mine.map((d) => d.at).sort((a, b) => a - b);
  const delays = got.mine.filter((d) => acked.get(d.room)?.seq === d.seq).map((d) => d.at - acked.get(d.room).at);
  const gaps = arrivals.slice(1).map((a, i) => a - arrivals[i]);
  const spanMs = arrivals.length > 1 ? arrivals.at(-1) - arrivals[0] : null;
  const result = {
    rooms,
    devices,
    pace,
    expected,
    delivered: got.mine.length,
    acked: [...acked.values()].filter(Boolean).length,
    // The rooms' side: each message's send → its ack (stored, durable), before any push can follow.
    ack_ms: percentiles(senders.map((s, i) => s.sock.acks.get(`p${i}`)?.at - s.sent).filter((x) => x >= 0)),
    rejected: got.rejected.length - before.rejected.length,
    pushes_per_s: spanMs ? ((arrivals.length - 1) * 1000) / spanMs : null,
    // From the first message sent to the last push: the rooms' side and the outbox together.
    all_ms: arrivals.length ? arrivals.at(-1) - sendT0 : null,
    span_ms: spanMs,
    delay_ms: percentiles(delays),
    // The rate once the rooms' updates have all come in: the middle 80 % of the arrivals.
    steady_per_s: steady(arrivals),
    // Between one push's arrival and the next: one send after another within an alarm, the next alarm.
    gap_ms: percentiles(gaps),
    server_cpu_ms_per_push: cpu0 !== null && got.mine.length ? (cpu1 - cpu0) / got.mine.length : null,
  };
  await Promise.all(senders.map((s) => close(s.sock)));
  append({ mode: 'push-rate', scenario: opt.scenario, server: opt.server, path: 'direct', run_s: Math.round((Date.now() - t0) / 1000), result });
  const r = result;
  console.log(
    `${opt.server}: ${r.delivered} of ${r.expected} pushes (${rooms} rooms × ${devices} devices${pace ? `, ${pace} rooms/s` : ', at once'}), ${r.rejected} refused; ` +
      `${r.steady_per_s?.toFixed(0)} pushes/s steady (${r.pushes_per_s?.toFixed(0)} first → last); send → ack max ${r.ack_ms.max} ms; ack → push p50 ${r.delay_ms.p50} ms, p99 ${r.delay_ms.p99} ms; ` +
      `${r.server_cpu_ms_per_push?.toFixed(2)} ms server CPU per push`,
  );
  if (result.delivered < expected || result.rejected) {
    console.error(`push rate: ${result.delivered} of ${expected} pushes delivered, ${result.rejected} refused by the receiver`);
  }
}

async function load() {
  const members = Number(opt.members);
  const devices = Number(opt.devices);
  const t0 = Date.now();
  const gen = positionals;
  const roomsAt = gen.indexOf('--rooms');
  const roomCount = roomsAt >= 0 ? Number(gen[roomsAt + 1]) : 1;
  const prefix = `pushcpu-${process.pid}-${Date.now() % 1_000_000}`;
  const rooms = Array.from({ length: roomCount }, (_, k) => `${prefix}-${k}`);
  // The members who are away: each joins, is in their inbox, sets notify=all, subscribes, leaves.
  const people = rooms.flatMap((room) => Array.from({ length: members }, (_, i) => ({ room, i, key: newKey() })));
  await pool(people, CONCURRENCY, async (p) => {
    const sock = await join(p.room, p.key, `away${p.i}`);
    if (!(await until(async () => (await api('/api/me', p.key)).rooms.some((r) => r.room === p.room), 20_000))) {
      throw new Error(`${p.room} did not reach ${p.key}'s inbox`);
    }
    await api(`/api/me/rooms/${p.room}`, p.key, { method: 'PATCH', body: { notify: 'all' } });
    await subscribed(p.key, devices);
    await close(sock);
  });
  // The rooms tell the inboxes the people went, and each inbox's offline grace (3 s, OFFLINE_GRACE_MS)
  // runs out on its alarm: before the run, so none of that is in its CPU time.
  if (people.length) await sleep(4500);
  const before = await control('/deliveries?after=0');
  const after = before.total;
  const args = ['--url', base, '--label', opt.server, '--prefix', prefix];
  if (opt['cpu-pid']) args.push('--cpu-pid', opt['cpu-pid']);
  const genT0 = Date.now();
  const out = await new Promise((resolve, reject) => {
    const child = spawn(opt.bench, [...args, ...gen], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (d) => {
      text += d;
      process.stdout.write(d);
    });
    child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`the generator exited ${code}`))));
  });
  const line = JSON.parse(out.trim().split('\n').at(-1));
  // The coalesced pushes go out at the first round; give the last of them a moment.
  const expected = people.length * devices;
  const names = new Set(rooms);
  await until(async () => (await pushesFor(names, after)).mine.length >= expected, 10_000);
  const got = await pushesFor(names, after);
  append({
    ...line,
    scenario: opt.scenario,
    server: opt.server,
    path: 'direct',
    // Seconds of this run and of its setup (the slot's own row, from bench.sh's `took`, counts them).
    run_s: Math.round((Date.now() - genT0) / 1000),
    setup_s: Math.round((genT0 - t0) / 1000),
    away: { members, devices, pushes_expected: expected, pushes: got.mine.length, rejected: got.rejected.length - before.rejected.length },
  });
  await sleep(2000);
}

try {
  if (command === 'rate') await rate();
  else if (command === 'load') await load();
  else throw new Error(`no command ${command}: rate or load`);
  process.exit(0);
} catch (e) {
  console.error(`scripts/bench/push.mjs ${command}: ${e.stack ?? e}`);
  process.exit(1);
}
