// The anchors `make bench` measures edge-chat against, and the load generator's issue-33 modes, against
// real `wrangler dev`: the batched relay (bench/baseline/relay.js `SEND:batch`) sends one turn's frames
// as one batch frame per socket, a sender never hears its own, and with `STORE:batch` every frame is
// stored (and still there after a restart); the generator delivers through both exactly once and in
// order, times rooms woken after eviction, holds its sockets open until told, and sends replies and
// mentions for the threads scenario. No timing is asserted.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { getJson, pool, restartServer, ROOT, sleep, startServer, uniqueRoom } from './common/harness.mjs';

const BENCH = path.join(ROOT, 'target/loadgen/edge-chat-bench');
const RELAY = path.join(ROOT, 'bench/baseline');
let batched; // SEND:batch
let durable; // STORE:batch SEND:batch
let edge;

before(async () => {
  execFileSync('bash', ['-c', 'source scripts/env.sh && cargo build --quiet --profile loadgen -p edge-chat-bench'], {
    cwd: ROOT,
    stdio: 'inherit',
    timeout: 900_000,
  });
  [batched, durable, edge] = await Promise.all([
    startServer({ cwd: RELAY, vars: { SEND: 'batch' } }),
    startServer({ cwd: RELAY, vars: { STORE: 'batch', SEND: 'batch' } }),
    startServer({ vars: { RATE_PER_SEC: '1000', RATE_BURST: '1000' } }),
  ]);
});
after(async () => {
  await Promise.all([batched?.stop(), durable?.stop(), edge?.stop()]);
});

/** A socket that keeps every frame it gets, resolved at its welcome. */
function open(server, room) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(server.ws(room), { perMessageDeflate: false });
    const sock = { ws, frames: [] };
    ws.once('error', reject);
    ws.on('message', (d) => {
      const text = String(d);
      if (text === '{"type":"welcome"}') resolve(sock);
      else sock.frames.push(text);
    });
  });
}

/** The relayed frames a socket got, each batch taken apart, in order. */
function unpacked(sock) {
  return sock.frames.flatMap((f) => {
    const parsed = JSON.parse(f);
    assert.equal(parsed.type, 'batch', `every relayed frame is a batch: ${f}`);
    return parsed.frames;
  });
}

async function oneTurnAsBatches(server) {
  const room = uniqueRoom('anchor');
  const [a, b, c] = await pool([0, 1, 2], 3, () => open(server, room));
  const sent = Array.from({ length: 5 }, (_, i) => ({ type: 'message', text: `a${i}`, id: `a${i}` }));
  for (const m of sent) a.ws.send(JSON.stringify(m));
  b.ws.send(JSON.stringify({ type: 'message', text: 'b0', id: 'b0' }));
  const want = (s) => (s === b ? sent : [...sent, { type: 'message', text: 'b0', id: 'b0' }]);
  for (let i = 0; i < 200 && ![b, c].every((s) => unpacked(s).length >= want(s).length); i++) await sleep(25);
  await sleep(200); // anything more (a duplicate, a frame back to its sender) would have come by now
  assert.deepEqual(unpacked(b), sent, 'b has a\'s frames, in order, and not its own');
  const cs = unpacked(c);
  assert.equal(cs.length, 6, 'c has all six');
  assert.deepEqual(cs.filter((m) => m.id.startsWith('a')), sent, 'a\'s in order');
  assert.deepEqual(unpacked(a).map((m) => m.id), ['b0'], 'a hears only b');
  for (const s of [a, b, c]) s.ws.terminate();
  return room;
}

test('the batched relay sends a turn as one batch frame per socket, never a sender its own frames', async () => {
  await oneTurnAsBatches(batched);
  const info = await getJson(`${batched.base}/api/rooms/${uniqueRoom('anchor')}`);
  assert.equal(info.body.stored, null, 'without STORE nothing is written');
});

test('the durable batched relay stores every frame of the turn, and they outlive a restart', async () => {
  const room = await oneTurnAsBatches(durable);
  assert.equal((await getJson(`${durable.base}/api/rooms/${room}`)).body.stored, 6);
  durable = await restartServer(durable);
  assert.equal((await getJson(`${durable.base}/api/rooms/${room}`)).body.stored, 6);
});

function generator(server, args) {
  const out = execFileSync(BENCH, ['--url', server.base, '--label', 'anchor', '--quiet', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return JSON.parse(out.trim().split('\n').pop()).result;
}

test('the generator delivers through both batched relays exactly once, in order', () => {
  for (const server of [batched, durable]) {
    const r = generator(server, ['run', '--clients', '10', '--senders', '3', '--rate', '40', '--duration', '2']);
    assert.ok(r.sent >= 200, `sent ${r.sent}`);
    assert.equal(r.delivered, r.sent * 9);
    assert.equal(r.lost + r.duplicated + r.out_of_order + r.foreign + r.errors, 0);
    assert.ok(r.frames_in <= r.delivered + 10, 'a frame carries at least one delivery');
    assert.ok(r.connect_total_ms > 0);
  }
});

test('wake with evicted rooms: their objects left memory and came back for the first join', () => {
  const r = generator(edge, ['wake', '--tries', '1', '--idle', '15', '--evicted', '2', '--history', '5']);
  assert.equal(r.failed, 0);
  assert.equal(r.woke, 1, 'the hibernated room was rebuilt');
  assert.equal(r.evicted.tries, 2);
  assert.equal(r.evicted.failed, 0);
  assert.equal(r.evicted.rebuilt, 2, 'each emptied room\'s object was constructed again');
  assert.equal(r.evicted.welcome_ms.n, 2);
  assert.ok(r.evicted.total_ms.p50 >= r.evicted.welcome_ms.p50, 'connect → message includes the welcome');
});

test('--thread sends every message into a thread, --mention from identities naming each other', () => {
  const plain = generator(edge, ['run', '--clients', '6', '--senders', '2', '--rate', '10', '--duration', '2']);
  const thread = generator(edge, ['run', '--clients', '6', '--senders', '2', '--rate', '10', '--duration', '2', '--thread']);
  const mention = generator(edge, ['run', '--clients', '6', '--senders', '2', '--rate', '10', '--duration', '2', '--mention']);
  for (const r of [plain, thread, mention]) {
    assert.equal(r.lost + r.duplicated + r.out_of_order + r.foreign + r.errors, 0);
    assert.equal(r.acks, r.sent, 'every reply and every mentioning message stored');
  }
  // A reply revises its root: a thread_updated to every connection, so about twice the frames.
  const perDelivery = (r) => r.frames_in / r.delivered;
  assert.ok(perDelivery(thread) > perDelivery(plain) + 0.5, `${perDelivery(thread)} vs ${perDelivery(plain)} frames per delivery`);
  // A mention tells the person mentioned (an unread frame), which an anonymous crowd never gets.
  assert.ok(mention.frames_in > plain.frames_in * (mention.delivered / plain.delivered), 'the mentioned hear more');
});

test('--hold keeps every socket open until a line on stdin', async () => {
  const child = spawn(BENCH, ['--url', edge.base, '--quiet', 'run', '--clients', '4', '--senders', '1', '--rate', '5', '--duration', '1', '--hold'], { cwd: ROOT });
  let err = '';
  let out = '';
  child.stderr.on('data', (d) => (err += d));
  child.stdout.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  for (let i = 0; i < 400 && !err.includes('HOLDING'); i++) await sleep(50);
  assert.match(err, /HOLDING/);
  await sleep(500);
  assert.equal(child.exitCode, null, 'still holding');
  assert.equal(out, '', 'no result before it is released');
  child.stdin.end('\n');
  assert.equal(await exited, 0);
  assert.equal(JSON.parse(out.trim().split('\n').pop()).result.lost, 0);
});
