// The presence crowd: more sockets in one room than PRESENCE_THRESHOLD, half of them batched (batch=1).
// Counts stay right on every socket, joins and leaves arrive coalesced in `presence` frames (at most
// about one a second, never a `join`/`leave` above the threshold), the roster pages completely over
// the socket and over HTTP, and batched and v1 sockets each see every message once, in seq order.
// Sized by its callers: tests/large-rooms.test.mjs runs 1,000 sockets in `make test`, tests/soak/ more
// in `make soak`. It asserts as it goes and returns its figures.

import assert from 'node:assert/strict';
import { Client } from '../common/client.mjs';
import { eventually, getJson, now, pool } from '../common/harness.mjs';
import { Messages } from '../common/trackers/messages.mjs';
import { Presence } from '../common/trackers/presence.mjs';
import { Traffic } from '../common/trackers/traffic.mjs';

/**
 * One socket of the presence crowd: lean, following the count of presence as the page does, the
 * messages it gets, and what crossed the wire. Without permessage-deflate, which workerd accepts when
 * asked (ws asks by default, so do browsers): compressing and inflating every frame of every socket
 * made the 1,000-socket crowd connect in ~20 s instead of ~11 s here. PRESENCE_DEFLATE=1 asks for it.
 */
export function presencePeer(url) {
  return Client.connect(url, {
    lean: true,
    deflate: process.env.PRESENCE_DEFLATE === '1',
    track: { presence: new Presence(), messages: new Messages(), traffic: new Traffic() },
  });
}

/** Pages the whole roster over `peer`'s socket; returns the ids in the order received. */
export async function rosterOverSocket(peer, limit = 500) {
  const ids = [];
  let after;
  for (;;) {
    const page = await peer.ask({ type: 'roster', limit, ...(after ? { after } : {}) }, 30_000);
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
    live.push(...(await pool(Array.from({ length: n }, (_, k) => done + k), burst, (i) => presencePeer(url(i)))));
  }
  const connectMs = Math.round(now() - t0);
  log(`${size} sockets connected in ${connectMs} ms`);

  const settle = (what, n) =>
    eventually(() => live.every((p) => p.presence.online === n), 30_000, () => `${what}: online counts ${[...new Set(live.map((p) => p.presence.online))].join(',')} != ${n}`);
  await settle('after connecting', size);
  for (const [i, p] of live.entries()) {
    assert.ok(p.presence.counts.join <= threshold, `peer ${i} got ${p.presence.counts.join} join frames: none above the threshold`);
    if (p.welcome.online !== undefined) {
      assert.ok(p.welcome.online > threshold && p.welcome.online <= size, `welcome.online of peer ${i}: ${p.welcome.online}`);
      assert.ok(p.presence.listed <= 50, 'welcome lists a bounded first page');
    }
  }
  assert.ok(live.filter((p) => p.welcome.online === undefined).length <= threshold, 'only the first THRESHOLD got a whole roster');
  const framesAfterConnect = live.reduce((s, p) => s + p.traffic.frames, 0);
  const bytesAfterConnect = live.reduce((s, p) => s + p.traffic.bytes, 0);

  const ids = new Set(live.map((p) => p.welcome.you.id));
  const overSocket = await rosterOverSocket(live[0]);
  assert.equal(overSocket.length, ids.size, 'the socket roster lists each member once');
  assert.deepEqual(new Set(overSocket), ids, 'the socket roster is complete');
  assert.deepEqual([...overSocket].sort(), overSocket, 'in id order');
  const overHttp = await rosterOverHttp(server, room, 300);
  assert.equal(overHttp.online, size);
  assert.deepEqual(new Set(overHttp.ids), ids, 'the HTTP roster is complete');

  // Everyone hears every message once, in seq order, batched or not.
  const talkers = live.slice(0, 6);
  const acks = await Promise.all(talkers.flatMap((p, i) => Array.from({ length: 5 }, (_, k) => p.ask({ type: 'message', text: `m${i}.${k}` }, 30_000))));
  const seqs = acks.map((a) => a.seq).sort((a, b) => a - b);
  const expected = live.map((_, i) => {
    const own = new Set(acks.filter((_, j) => Math.floor(j / 5) === i).map((a) => a.seq));
    return seqs.filter((s) => !own.has(s));
  });
  await eventually(() => live.every((p, i) => p.messages.seqs.length >= expected[i].length), 30_000, 'every message reached every socket');
  for (const [i, p] of live.entries()) {
    assert.deepEqual(p.messages.seqs, expected[i], `peer ${i} (${i % 2 ? 'batched' : 'v1'}) got every message once, in order`);
  }
  assert.ok(live.filter((_, i) => i % 2).some((p) => p.traffic.batches > 0), 'batched peers got batch frames');
  assert.ok(live.filter((_, i) => i % 2 === 0).every((p) => p.traffic.batches === 0), 'v1 peers never get a batch frame');

  // A quarter leaves (half cleanly, half by dropping the connection): counts follow, coalesced.
  const gone = live.filter((_, i) => i > 0 && i % 4 === 1).slice(0, leaving);
  live = live.filter((p) => !gone.includes(p));
  const before = new Map(live.map((p) => [p, { leave: p.presence.counts.leave, presence: p.presence.counts.presence }]));
  await Promise.all(gone.map((p, i) => (i % 2 ? (p.ws.terminate(), null) : p.close(1000))));
  await settle('after the leaves', size - gone.length);
  for (const p of live) {
    assert.equal(p.presence.counts.leave, before.get(p).leave, 'no leave frame above the threshold');
    assert.ok(p.presence.counts.presence - before.get(p).presence <= 12, 'the leaves came coalesced');
  }
  // At most one a second: arrival times jitter with the load, so count them over the whole run.
  for (const p of live) {
    const span = (p.presence.presenceAt.at(-1) - p.presence.presenceAt[0]) / 1000;
    assert.ok(p.presence.presenceAt.length <= span + 2, `${p.presence.presenceAt.length} presence frames in ${span.toFixed(1)} s`);
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
      presenceFramesPerSocket: +(live.reduce((s, p) => s + p.presence.counts.presence, 0) / live.length).toFixed(1),
      left: gone.length,
    },
  };
}
