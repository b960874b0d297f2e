// The presence crowd: more sockets in one room than PRESENCE_THRESHOLD, half of them batched (batch=1).
// Counts stay right on every socket, joins and leaves arrive coalesced in `presence` frames (at most
// about one a second, never a `join`/`leave` above the threshold), the roster pages completely over
// the socket and over HTTP, and batched and v1 sockets each see every message once, in seq order.
// Sized by its callers: tests/large-rooms.test.mjs runs 1,000 sockets in `make test`, tests/soak/ more
// in `make soak`. It asserts as it goes and returns its figures.

import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { eventually, getJson, now, pool } from '../common/harness.mjs';

/** The frames a WebSocket frame holds: a `batch` frame's elements, or the frame itself. */
export function unpack(frame) {
  return frame.type === 'batch' ? frame.frames : [frame];
}

/** A light client that tracks presence as the page does: a count, and what each frame said. */
export class PresencePeer {
  static async connect(url) {
    const p = new PresencePeer();
    await p.open(url);
    return p;
  }

  open(url) {
    this.online = null;
    this.welcome = null;
    this.counts = { join: 0, leave: 0, presence: 0, batch: 0, frames: 0, bytes: 0 };
    this.presenceAt = [];
    this.seqs = [];
    this.errors = [];
    this.closed = null;
    this.waiters = new Map();
    return new Promise((resolve, reject) => {
      // Without permessage-deflate, which workerd accepts when asked (ws asks by default, so do
      // browsers): compressing and inflating every frame of every socket made the 1,000-socket crowd
      // connect in ~20 s instead of ~11 s here. PRESENCE_DEFLATE=1 asks for it.
      const ws = new WebSocket(url, { maxPayload: 8 << 20, perMessageDeflate: process.env.PRESENCE_DEFLATE === '1' });
      this.ws = ws;
      ws.on('error', (e) => reject(e));
      ws.on('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.on('message', (data) => {
        const text = data.toString();
        this.counts.frames += 1;
        this.counts.bytes += text.length;
        const outer = JSON.parse(text);
        if (outer.type === 'batch') this.counts.batch += 1;
        for (const f of unpack(outer)) this.take(f, resolve);
      });
      ws.on('close', (code) => {
        this.closed = code;
        reject(new Error(`closed ${code} before welcome`));
      });
    });
  }

  take(f, welcomed) {
    switch (f.type) {
      case 'welcome':
        this.welcome = f;
        this.me = f.you;
        this.online = f.online ?? f.members.length;
        welcomed();
        break;
      case 'join':
        this.counts.join += 1;
        this.online += 1;
        break;
      case 'leave':
        this.counts.leave += 1;
        this.online -= 1;
        break;
      case 'presence':
        this.counts.presence += 1;
        this.presenceAt.push(now());
        this.online = f.online;
        if (f.joined.length > f.joins || f.left.length > f.leaves) this.errors.push(`presence names more than it counts: ${JSON.stringify(f)}`);
        break;
      case 'message':
        if (this.seqs.length && f.seq <= this.seqs.at(-1)) this.errors.push(`seq ${f.seq} after ${this.seqs.at(-1)}`);
        this.seqs.push(f.seq);
        break;
      case 'roster':
      case 'ack':
        this.waiters.get(f.id)?.(f);
        break;
      case 'error':
        this.errors.push(`error ${f.code}: ${f.message}`);
        break;
      default:
        break;
    }
  }

  /** Sends `frame` with a fresh id and resolves with the answer of that id (a roster page, an ack). */
  ask(frame) {
    const id = `q${Math.random().toString(36).slice(2)}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${JSON.stringify(frame)}`)), 30_000);
      this.waiters.set(id, (f) => {
        clearTimeout(timer);
        this.waiters.delete(id);
        resolve(f);
      });
      this.ws.send(JSON.stringify({ ...frame, id }));
    });
  }

  close(code = 1000) {
    if (this.closed !== null) return Promise.resolve(this.closed);
    return new Promise((resolve) => {
      this.ws.once('close', (c) => resolve(c));
      this.ws.close(code, 'bye');
    });
  }
}

/** Pages the whole roster over `peer`'s socket; returns the ids in the order received. */
export async function rosterOverSocket(peer, limit = 500) {
  const ids = [];
  let after;
  for (;;) {
    const page = await peer.ask({ type: 'roster', limit, ...(after ? { after } : {}) });
    ids.push(...page.members.map((u) => u.id));
    if (!page.next) return ids;
    after = page.next;
  }
}

/** Pages the whole roster over HTTP. */
export async function rosterOverHttp(server, room, limit = 500) {
  const ids = [];
  let after = '';
  for (;;) {
    const page = await getJson(`${server.base}/api/rooms/${room}/members?limit=${limit}${after ? `&after=${after}` : ''}`);
    assert.equal(page.status, 200, JSON.stringify(page.body));
    ids.push(...page.body.members.map((u) => u.id));
    if (!page.body.next) return { ids, online: page.body.online };
    after = page.body.next;
  }
}

export async function presenceCrowdScenario({ server, room, size, threshold, burst = 64, leaving = Math.floor(size / 4), log = () => {} }) {
  const url = (i) => server.ws(room, { name: `p${i}`, ...(i % 2 ? { batch: '1' } : {}) });
  const t0 = now();
  let live = [];
  for (let done = 0; done < size; done += burst) {
    const n = Math.min(burst, size - done);
    live.push(...(await pool(Array.from({ length: n }, (_, k) => done + k), burst, (i) => PresencePeer.connect(url(i)))));
  }
  const connectMs = Math.round(now() - t0);
  log(`${size} sockets connected in ${connectMs} ms`);

  const settle = (what, n) =>
    eventually(() => live.every((p) => p.online === n), 30_000, () => `${what}: online counts ${[...new Set(live.map((p) => p.online))].join(',')} != ${n}`);
  await settle('after connecting', size);
  for (const [i, p] of live.entries()) {
    assert.ok(p.counts.join <= threshold, `peer ${i} got ${p.counts.join} join frames: none above the threshold`);
    if (p.welcome.online !== undefined) {
      assert.ok(p.welcome.online > threshold && p.welcome.online <= size, `welcome.online of peer ${i}: ${p.welcome.online}`);
      assert.ok(p.welcome.members.length <= 50, 'welcome lists a bounded first page');
    }
  }
  assert.ok(live.filter((p) => p.welcome.online === undefined).length <= threshold, 'only the first THRESHOLD got a whole roster');
  const framesAfterConnect = live.reduce((s, p) => s + p.counts.frames, 0);
  const bytesAfterConnect = live.reduce((s, p) => s + p.counts.bytes, 0);

  const ids = new Set(live.map((p) => p.me.id));
  const overSocket = await rosterOverSocket(live[0]);
  assert.equal(overSocket.length, ids.size, 'the socket roster lists each member once');
  assert.deepEqual(new Set(overSocket), ids, 'the socket roster is complete');
  assert.deepEqual([...overSocket].sort(), overSocket, 'in id order');
  const overHttp = await rosterOverHttp(server, room, 300);
  assert.equal(overHttp.online, size);
  assert.deepEqual(new Set(overHttp.ids), ids, 'the HTTP roster is complete');

  // Everyone hears every message once, in seq order, batched or not.
  const talkers = live.slice(0, 6);
  const acks = await Promise.all(talkers.flatMap((p, i) => Array.from({ length: 5 }, (_, k) => p.ask({ type: 'message', text: `m${i}.${k}` }))));
  const seqs = acks.map((a) => a.seq).sort((a, b) => a - b);
  const expected = live.map((_, i) => {
    const own = new Set(acks.filter((_, j) => Math.floor(j / 5) === i).map((a) => a.seq));
    return seqs.filter((s) => !own.has(s));
  });
  await eventually(() => live.every((p, i) => p.seqs.length >= expected[i].length), 30_000, 'every message reached every socket');
  for (const [i, p] of live.entries()) {
    assert.deepEqual(p.seqs, expected[i], `peer ${i} (${i % 2 ? 'batched' : 'v1'}) got every message once, in order`);
  }
  assert.ok(live.filter((_, i) => i % 2).some((p) => p.counts.batch > 0), 'batched peers got batch frames');
  assert.ok(live.filter((_, i) => i % 2 === 0).every((p) => p.counts.batch === 0), 'v1 peers never get a batch frame');

  // A quarter leaves (half cleanly, half by dropping the connection): counts follow, coalesced.
  const gone = live.filter((_, i) => i > 0 && i % 4 === 1).slice(0, leaving);
  live = live.filter((p) => !gone.includes(p));
  const before = new Map(live.map((p) => [p, { leave: p.counts.leave, presence: p.counts.presence }]));
  await Promise.all(gone.map((p, i) => (i % 2 ? (p.ws.terminate(), null) : p.close(1000))));
  await settle('after the leaves', size - gone.length);
  for (const p of live) {
    assert.equal(p.counts.leave, before.get(p).leave, 'no leave frame above the threshold');
    assert.ok(p.counts.presence - before.get(p).presence <= 12, 'the leaves came coalesced');
  }
  // At most one a second: arrival times jitter with the load, so count them over the whole run.
  for (const p of live) {
    const span = (p.presenceAt.at(-1) - p.presenceAt[0]) / 1000;
    assert.ok(p.presenceAt.length <= span + 2, `${p.presenceAt.length} presence frames in ${span.toFixed(1)} s`);
  }
  const errors = live.flatMap((p) => p.errors);
  assert.deepEqual(errors.slice(0, 5), []);
  const info = await getJson(`${server.base}/api/rooms/${room}`);
  assert.equal(info.body.online, size - gone.length, 'the server agrees');
  await pool(live, 200, (p) => p.close(1000));
  return {
    figures: {
      sockets: size,
      connectMs,
      framesPerSocketToConnect: +(framesAfterConnect / size).toFixed(2),
      bytesPerSocketToConnect: Math.round(bytesAfterConnect / size),
      presenceFramesPerSocket: +(live.reduce((s, p) => s + p.counts.presence, 0) / live.length).toFixed(1),
      left: gone.length,
    },
  };
}
