// One room across many Durable Objects (issue 18), against real `wrangler dev` with real WebSocket
// clients: past SHARD_SOCKETS sockets a room's sockets live on shard DOs, and every guarantee of
// docs/PROTOCOL.md holds across them — seq order, once each, acks, resume (also onto another shard),
// counts of presence, batched and v1 framing, hibernation of a shard — also when a shard is killed
// mid-run through the operator's restart endpoint. A crowd of 2,400 sockets over 6 shards
// (SHARD_SOCKETS 400: workerd's file descriptors, see fdShortage, leave room for the kill's
// reconnects), and a room of a few sockets per shard (SHARD_SOCKETS 2) for the cases that need
// to know exactly which socket is where. The long version is tests/soak/sharding.soak.mjs (`make soak`).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, eventually, fdShortage, figure, getJson, sleep, startServer, stats, uniqueRoom } from './common/harness.mjs';
import { ShardedRoom, restartShard, roomInfo, shardInfo, socketsPerShard } from './scenarios/sharded-room.mjs';

const API_TOKEN = 'test-api-token-sharding';
const SHARD_SOCKETS = 400;
const SHARDS = 6;
const fdsShort = fdShortage(SHARD_SOCKETS * SHARDS);

describe(`one room of ${SHARD_SOCKETS * SHARDS} sockets over ${SHARDS} shards (SHARD_SOCKETS ${SHARD_SOCKETS})`, { timeout: 8 * 60_000 }, () => {
  let server;
  let crowd;
  before(async () => {
    if (fdsShort) return;
    server = await startServer({
      vars: { SHARD_SOCKETS, PRESENCE_THRESHOLD: 100, RATE_PER_SEC: 1000, RATE_BURST: 1000, API_TOKEN },
    });
    crowd = new ShardedRoom({ server, room: uniqueRoom('shards'), shardSockets: SHARD_SOCKETS, shards: SHARDS, token: API_TOKEN });
  });
  after(async () => {
    await crowd?.close();
    await server?.stop();
  });
  const needsSockets = (t, { filled = true } = {}) => {
    if (fdsShort) {
      t.skip(fdsShort);
      return true;
    }
    // Fail fast, with the reason, rather than time out on a crowd that never formed.
    if (filled) assert.ok(crowd.filled, 'the crowd did not form: see the first test');
    return false;
  };

  // The steps below share the crowd (2,400 sockets take most of a minute to connect here); each one
  // starts from what the one before left and checks it whole.
  test('sockets fill the shards in order, and room info reports each shard\'s sockets', async (t) => {
    if (needsSockets(t, { filled: false })) return;
    const { sockets, connectMs, perSocket } = await crowd.fill();
    const { per } = await crowd.checkCounts('after connecting');
    assert.deepEqual(per, Array(SHARDS).fill(SHARD_SOCKETS));
    figure(`sharded crowd connect (${sockets} sockets, ${SHARDS} shards)`, { connectMs, welcome: stats(perSocket) });
  });

  test('every message reaches every other socket once, in seq order, batched and v1, from senders on every shard', async (t) => {
    if (needsSockets(t)) return;
    // Two senders per shard, one v1 and one batched.
    const senders = Array.from({ length: SHARDS }, (_, k) => [crowd.on(k)[0], crowd.on(k)[1]]).flat();
    const res = await crowd.talk(senders, 5, 'from every shard');
    for (const [label, batch] of [['v1', false], ['batched', true]]) {
      const ps = crowd.peers.filter((p) => crowd.isBatched(p) === batch);
      if (batch) assert.ok(ps.filter((p) => crowd.shardOf(p) > 0).every((p) => p.traffic.batches > 0), 'batched sockets on shards got batch frames');
      else assert.ok(ps.every((p) => p.traffic.batches === 0), `${label} sockets never get a batch frame`);
    }
    // Only the first PRESENCE_THRESHOLD sockets heard joins one by one, before the room passed it.
    assert.ok(crowd.peers.every((p) => p.presence.counts.join < 100 && p.presence.counts.leave === 0), 'above the threshold: presence by counts, on every shard');
    assert.ok(crowd.peers.filter((p) => crowd.shardOf(p) > 0).every((p) => p.presence.counts.join === 0), 'no socket on a shard ever got a join frame');
    figure('sharded crowd delivery', res);
  });

  test('the sequencer pushes each flush once per shard, not once per socket', async (t) => {
    if (needsSockets(t)) return;
    const res = await crowd.countCalls(crowd.on(3)[2], 3, 10);
    figure('sharded crowd calls per flush', res);
  });

  test('presence counts agree across shards after sockets leave from several shards', async (t) => {
    if (needsSockets(t)) return;
    // 20 leave shard 1 (that room is used by the next step), 10 leave shard 4 and 5 the sequencer's own.
    await crowd.leave(1, 20);
    await crowd.leave(4, 10);
    await crowd.leave(0, 5);
    const { per, info } = await crowd.checkCounts('after leaves');
    const S = SHARD_SOCKETS;
    assert.deepEqual(per, [S - 5, S - 20, S, S, S - 10, S], JSON.stringify(info.shards));
  });

  test('a shard killed mid-run loses no acked message; its sockets resume, some onto another shard, once each', async (t) => {
    if (needsSockets(t)) return;
    // Senders on the doomed shard 2 and elsewhere keep sending while shard 2's object is aborted.
    const senders = [crowd.on(2)[0], crowd.on(2)[1], crowd.on(0)[0], crowd.on(3)[0], crowd.on(5)[1]];
    const res = await crowd.killUnderTraffic(2, senders);
    // Shard 2's 500 sockets came back wherever the lowest shard had room: 5 to the sequencer, 20 to
    // shard 1 — other shards than their own — and the rest to shard 2's new object (or, had the room
    // not yet counted them gone, to shard 4 and a new shard): either way shards 0 and 1 are full again.
    assert.equal(res.perAfter.reduce((a, b) => a + b, 0), crowd.peers.length, 'every socket counted once');
    assert.equal(res.perAfter[1], SHARD_SOCKETS, `shard 1's free room was filled by resumed sockets: ${res.perAfter}`);
    assert.equal(res.perAfter[0], SHARD_SOCKETS, `the sequencer's free room was filled too: ${res.perAfter}`);
    assert.ok(res.sent > 20, `traffic ran through the kill (${res.sent} messages)`);
    figure('sharded crowd shard kill', res);
  });

  test('after the kill, presence counts agree and everyone still hears everyone', async (t) => {
    if (needsSockets(t)) return;
    await crowd.checkCounts('after the kill');
    const resumed = crowd.peers.filter((p) => crowd.shardOf(p) === null);
    const senders = [resumed[0], resumed[resumed.length - 1], crowd.on(1)[0], crowd.on(5)[0]];
    await crowd.talk(senders, 3, 'after the kill');
  });
});

describe('a few sockets per shard (SHARD_SOCKETS 2)', { timeout: 3 * 60_000 }, () => {
  let server;
  before(async () => {
    server = await startServer({ vars: { SHARD_SOCKETS: 2, RATE_PER_SEC: 1000, RATE_BURST: 1000, API_TOKEN } });
  });
  after(async () => {
    await server?.stop();
  });

  /** Connects `names` one at a time, so the nth lands on shard ⌊n/2⌋; checks room info says so. */
  async function fill(room, names, query = () => ({})) {
    const clients = [];
    for (const name of names) clients.push(await Client.connect(server.ws(room, { name, ...query(name) })));
    const per = socketsPerShard(await roomInfo(server, room));
    assert.deepEqual(per, Array.from({ length: Math.ceil(names.length / 2) }, (_, k) => Math.min(2, names.length - 2 * k)), 'two sockets per shard, in order');
    return clients;
  }

  test('resume across shards: a client that reconnects lands on another shard and gets exactly what it missed', async () => {
    const room = uniqueRoom('resume-shard');
    const [a, b, c, , e, f] = await fill(room, ['a', 'b', 'c', 'd', 'e', 'f']);
    const first = await a.say('before the drop');
    await f.next((m) => m.type === 'message' && m.seq === first.seq);
    // b leaves shard 0; f (shard 2) drops without a close frame and misses three messages.
    await b.close();
    f.terminate();
    await eventually(async () => socketsPerShard(await roomInfo(server, room)).join() === '1,2,1', 10_000, 'b and f gone from shards 0 and 2');
    const missed = [await a.say('missed 1'), await c.say('missed 2'), await e.say('missed 3')];
    const back = await Client.connect(server.ws(room, { name: 'f', after: String(first.seq) }));
    assert.deepEqual(back.welcome.history.map((m) => m.seq), missed.map((x) => x.seq), 'exactly the messages after its last seq');
    assert.deepEqual(back.welcome.history.map((m) => m.text), ['missed 1', 'missed 2', 'missed 3']);
    assert.deepEqual(socketsPerShard(await roomInfo(server, room)), [2, 2, 1], 'it landed on shard 0, the lowest with room');
    assert.deepEqual(back.welcome.members.map((u) => u.name).sort(), ['a', 'c', 'd', 'e', 'f'], 'its roster spans the shards');
    const live = await c.say('live after the resume');
    const got = await back.next('message');
    assert.equal(got.seq, live.seq, 'and it hears the next message live, on its new shard');
    for (const x of [a, c, back, e]) await x.close();
  });

  test('v1 and batch=1 clients on different shards each see every message once, in seq order, and join/leave', async () => {
    const room = uniqueRoom('frames-shard');
    const names = ['v0', 'b0', 'v1', 'b1', 'v2', 'b2', 'v3', 'b3'];
    const everyone = await fill(room, names, (n) => (n.startsWith('b') ? { batch: '1' } : {}));
    const senders = [everyone[0], everyone[3], everyone[6]]; // shards 0, 1 and 3
    const acks = await Promise.all(senders.flatMap((s, i) => Array.from({ length: 15 }, (_, k) => s.say(`m${i}.${k}`))));
    const all = acks.map((x) => x.seq).sort((x, y) => x - y);
    for (const [i, c] of everyone.entries()) {
      const mine = new Set(senders.includes(c) ? acks.filter((_, j) => senders[Math.floor(j / 15)] === c).map((x) => x.seq) : []);
      const want = all.filter((s) => !mine.has(s));
      await eventually(() => c.all('message').length >= want.length, 10_000, `${names[i]}: all messages`);
      assert.deepEqual(c.all('message').map((m) => m.seq), want, `${names[i]} (shard ${Math.floor(i / 2)}): each once, in seq order`);
      if (names[i].startsWith('v')) assert.equal(c.batches.length, 0, `${names[i]} never sees a batch frame`);
    }
    assert.ok(everyone.filter((_, i) => names[i].startsWith('b') && i >= 2).some((c) => c.batches.length > 0), 'batched clients on shards got batch frames');
    // Join and leave below the presence threshold reach every shard.
    const late = await Client.connect(server.ws(room, { name: 'late' }));
    for (const c of everyone) await c.next((f) => f.type === 'join' && f.user.name === 'late');
    assert.equal(late.welcome.members.length, 9);
    await everyone[7].close();
    for (const c of [...everyone.slice(0, 7), late]) await c.next((f) => f.type === 'leave' && f.user.name === 'b3');
    for (const c of [...everyone.slice(0, 7), late]) await c.close();
  });

  test('a shard that hibernated still delivers and keeps its members', async () => {
    const room = uniqueRoom('sleepy-shard');
    const clients = await fill(room, ['a', 'b', 'c', 'd', 'e', 'f']);
    const instances = await Promise.all([1, 2].map(async (k) => (await shardInfo(server, room, k)).instance));
    // Idle but for pings, which the runtime answers without waking anything.
    const t0 = Date.now();
    while (Date.now() - t0 < 15_000) {
      await sleep(3000);
      clients[3].send('ping');
      assert.equal((await clients[3].next('_text', 2000)).text, 'pong', 'ping answered while the shard sleeps');
    }
    const ack = await clients[5].say('after the sleep'); // from shard 2
    for (const c of clients.slice(0, 5)) assert.equal((await c.next('message')).seq, ack.seq, 'heard on every shard');
    const now = await Promise.all([1, 2].map((k) => shardInfo(server, room, k)));
    assert.notEqual(now[0].instance, instances[0], 'shard 1 was re-constructed: it hibernated');
    assert.notEqual(now[1].instance, instances[1], 'shard 2 was re-constructed: it hibernated');
    assert.deepEqual(now.map((s) => s.sockets), [2, 2], 'each kept its sockets');
    const info = await roomInfo(server, room);
    assert.equal(info.online, 6);
    assert.deepEqual(info.members.map((u) => u.name).sort(), ['a', 'b', 'c', 'd', 'e', 'f'], 'the roster kept every member');
    // A member of the woken shard 1 leaves: the others hear it, and the room knows.
    await clients[2].close();
    for (const c of [clients[0], clients[1], clients[3], clients[4], clients[5]]) await c.next((f) => f.type === 'leave' && f.user.name === 'c');
    assert.deepEqual(socketsPerShard(await roomInfo(server, room)), [2, 1, 2]);
    for (const c of [clients[0], clients[1], clients[3], clients[4], clients[5]]) await c.close();
  });

  test('a sequencer that woke places no socket on a shard before it has that shard\'s roster', async () => {
    const room = uniqueRoom('woken-sequencer');
    const clients = await fill(room, ['a', 'b', 'c', 'd', 'e', 'f']);
    await clients[2].close(); // shard 1 has a free place
    await eventually(async () => socketsPerShard(await roomInfo(server, room)).join() === '2,1,2', 5000, 'c left shard 1');
    const slept = (await roomInfo(server, room)).instance;
    await sleep(15_000); // idle: the sequencer and its shards hibernate
    // A burst of connects wakes the sequencer, which knows from storage that it has two shards but
    // not who is on them until each has sent its roster: it must not take them for empty.
    const burst = await Promise.all(['w', 'x', 'y', 'z'].map((name) => Client.connect(server.ws(room, { name }))));
    const info = await roomInfo(server, room);
    assert.notEqual(info.instance, slept, 'the sequencer was re-constructed: it hibernated');
    const per = socketsPerShard(info);
    assert.ok(per.every((n) => n <= 2), `no shard above SHARD_SOCKETS: ${per}`);
    assert.deepEqual(per, [2, 2, 2, 2, 1], 'the rosters came before the placements: shard 1\'s free place went first, then new shards');
    assert.equal(info.online, 9);
    for (const c of [...clients.filter((_, i) => i !== 2), ...burst]) await c.close();
  });

  test('only placement opens a shard: a read or restart of one it never opened is 404 and the room does not grow', async () => {
    const room = uniqueRoom('no-such-shard');
    const clients = await fill(room, ['a', 'b', 'c']);
    const base = `${server.base}/api/rooms/${room}/shards`;
    for (const k of [2, 3, 4096]) {
      const read = await getJson(`${base}/${k}`);
      assert.equal(read.status, 404, `shard ${k}: ${JSON.stringify(read.body)}`);
      assert.equal(read.body.error.code, 'not_found');
      assert.equal(await restartShard(server, room, k, API_TOKEN), 404, `restart of shard ${k}`);
    }
    assert.equal((await shardInfo(server, room, 1)).sockets, 1, 'the shard placement opened still answers');
    // A shard object that reported in would be listed within milliseconds; give it time.
    await sleep(500);
    assert.deepEqual(socketsPerShard(await roomInfo(server, room)), [2, 1], 'still shard 0 and shard 1 only');
    const never = uniqueRoom('never-sharded');
    assert.equal((await getJson(`${server.base}/api/rooms/${never}/shards/1`)).status, 404);
    for (const x of clients) await x.close();
  });

  test('the restart endpoint needs the API token and a shard number from 1; its sockets drop and may resume', async () => {
    const room = uniqueRoom('restart-shard');
    const [a, b, c, d] = await fill(room, ['a', 'b', 'c', 'd']);
    assert.equal(await restartShard(server, room, 1), 401, 'no token');
    assert.equal(await restartShard(server, room, 1, 'wrong'), 401, 'wrong token');
    const zero = await restartShard(server, room, 0, API_TOKEN);
    assert.ok(zero >= 400 && zero < 500, `shard 0 is the sequencer, not a shard to restart: ${zero}`);
    assert.ok(c.closed === null && d.closed === null, 'refused restarts drop nothing');
    const last = await a.say('before the restart');
    await c.next('message');
    assert.equal(await restartShard(server, room, 1, API_TOKEN), 202);
    await Promise.all([c.closedPromise(), d.closedPromise()]);
    assert.equal(a.closed, null, 'the sequencer\'s sockets stay');
    await b.say('while shard 1 is down');
    const c2 = await Client.connect(server.ws(room, { name: 'c', after: String(last.seq) }));
    assert.deepEqual(c2.welcome.history.map((m) => m.text), ['while shard 1 is down'], 'resumed exactly');
    await eventually(async () => (await roomInfo(server, room)).online === 3, 10_000, 'the room counts 3 sockets');
    const bad = await getJson(`${server.base}/api/rooms/${room}/shards/x`);
    assert.ok(bad.status >= 400 && bad.status < 500, `a bad shard number is refused: ${bad.status}`);
    for (const x of [a, b, c2]) await x.close();
  });
});
