// The sharded room (issue 18): one room whose sockets live on several Durable Objects — the room's own
// DO (the sequencer, "shard 0") and shard DOs 1, 2, … once each holds SHARD_SOCKETS — and clients that
// cannot tell the difference. `ShardedRoom` fills the shards in order (so it knows which socket sits on
// which shard, and checks the placement through `GET /api/rooms/{room}`), makes sockets on different
// shards talk, kills a shard through the operator's restart endpoint while they talk, and checks after
// each step what docs/PROTOCOL.md promises: every message reaches every other socket once, in seq order;
// every acked message is stored and reaches everyone, also across the resume of a killed shard's
// sockets; the counts of presence agree with the real number of sockets.
// Sized by its callers: tests/sharding.test.mjs runs 2,400 sockets over 6 shards in `make test`,
// tests/soak/sharding.soak.mjs more sockets, more rounds and several kills in `make soak`.

import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { eventually, getJson, now, pool, sleep, stats, storedMessages } from '../common/harness.mjs';
import { unpack } from './presence-crowd.mjs';

/**
 * One socket of a sharded crowd, resilient the way docs/PROTOCOL.md asks a client to be: when the
 * socket drops (its shard was killed) it reconnects with `after=<highest seq seen>` and resends every
 * unacked message with its original `id`. It reads `batch=1` frames when it asked for them, follows the
 * count of presence (`welcome.online`, `presence`, `join`/`leave`) as the page does, and records every
 * broken guarantee it sees (a seq twice or out of order, an id acked with two seqs, an error frame).
 * Without permessage-deflate, as the presence crowd (tests/scenarios/presence-crowd.mjs explains why).
 */
export class CrowdPeer {
  constructor(url, name, { batch = false } = {}) {
    this.url = url; // (query) => ws url
    this.name = name;
    this.batch = batch;
    this.shard = null; // the shard it was placed on when the room was filled (the test's knowledge)
    this.startSeq = null; // welcome.last_seq of its first connection: it owes every message after it
    this.maxSeen = 0; // highest seq seen: delivered or acked
    this.delivered = []; // seqs of message frames and resumed history, in arrival order
    this.acks = new Map(); // id -> seq
    this.pending = new Map(); // id -> text, unacked
    this.online = null;
    this.counts = { batch: 0, presence: 0, join: 0, leave: 0, welcomes: 0 };
    this.errors = [];
    this.drops = 0; // closes it did not ask for
    this.droppedAt = null; // when the last one happened
    this.resumeMs = []; // drop → welcome of each resume
    this.failedAttempts = 0; // reconnects refused or closed before their welcome
    this.ws = null;
    this.ready = false;
    this.stopped = false;
  }

  /** Connects once (retrying a refused or failed attempt for `timeoutMs`). */
  async start(timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    while (!(await this.connectOnce())) {
      if (Date.now() > deadline) throw new Error(`${this.name}: no welcome within ${timeoutMs} ms`);
      await sleep(200);
    }
    return this;
  }

  connectOnce() {
    const query = { name: this.name, ...(this.batch ? { batch: '1' } : {}), ...(this.startSeq === null ? {} : { after: String(this.maxSeen) }) };
    return new Promise((resolve) => {
      const ws = new WebSocket(this.url(query), { maxPayload: 8 << 20, perMessageDeflate: false });
      let welcomed = false;
      ws.on('error', () => {});
      ws.on('message', (data) => {
        const outer = JSON.parse(data.toString());
        if (outer.type === 'batch') this.counts.batch += 1;
        for (const f of unpack(outer)) {
          if (f.type === 'welcome') {
            welcomed = true;
            this.welcomed(ws, f);
            resolve(true);
          } else this.take(f);
        }
      });
      ws.on('close', () => {
        if (this.ws === ws) {
          this.ws = null;
          this.ready = false;
        }
        if (!welcomed) {
          if (this.drops) this.failedAttempts += 1;
          resolve(false);
        } else if (!this.stopped) {
          this.drops += 1;
          this.droppedAt = now();
          this.reconnect();
        }
      });
    });
  }

  async reconnect() {
    while (!this.stopped && !(await this.connectOnce())) await sleep(100 + Math.random() * 200);
  }

  welcomed(ws, f) {
    if (this.stopped) {
      // A reconnect that was under way when the test closed this peer: leave nothing open.
      ws.terminate();
      return;
    }
    this.counts.welcomes += 1;
    this.me = f.you;
    this.online = f.online ?? f.members.length;
    if (this.startSeq === null) {
      // A first connection gets the recent history, which it does not owe: it starts after last_seq.
      this.startSeq = f.last_seq;
      this.maxSeen = f.last_seq;
    } else {
      if (this.droppedAt !== null) this.resumeMs.push(now() - this.droppedAt);
      if (f.truncated) this.errors.push(`${this.name}: resume truncated at after=${this.maxSeen}`);
      for (const m of f.history) this.deliver(m);
    }
    this.ws = ws;
    this.ready = true;
    for (const [id, text] of this.pending) this.transmit(id, text);
  }

  take(f) {
    switch (f.type) {
      case 'message':
        this.deliver(f);
        break;
      case 'ack': {
        const before = this.acks.get(f.id);
        if (before !== undefined && before !== f.seq) this.errors.push(`${this.name}: id ${f.id} acked as ${before}, then ${f.seq}`);
        this.acks.set(f.id, f.seq);
        this.pending.delete(f.id);
        // The room sends every lower seq to this socket before this ack (one sequencer turn at a time,
        // one ordered stream per socket), so the ack's seq counts as seen.
        this.maxSeen = Math.max(this.maxSeen, f.seq);
        break;
      }
      case 'presence':
        this.counts.presence += 1;
        this.online = f.online;
        break;
      case 'join':
        this.counts.join += 1;
        this.online += 1;
        break;
      case 'leave':
        this.counts.leave += 1;
        this.online -= 1;
        break;
      case 'error':
        this.errors.push(`${this.name}: error ${f.code}: ${f.message}`);
        break;
      default:
        break;
    }
  }

  deliver(m) {
    if (m.seq <= this.maxSeen) {
      const twice = this.delivered.includes(m.seq) || [...this.acks.values()].includes(m.seq);
      this.errors.push(`${this.name}: seq ${m.seq} ${twice ? 'twice' : 'out of order'} (after ${this.maxSeen})`);
    }
    this.delivered.push(m.seq);
    this.maxSeen = Math.max(this.maxSeen, m.seq);
  }

  transmit(id, text) {
    if (this.ready && this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: 'message', text, id }));
  }

  /** Queues a message: sent now if connected, else on the next reconnect. */
  send(text, id) {
    this.pending.set(id, text);
    this.transmit(id, text);
  }

  /** Every seq this peer has seen after it joined: its deliveries and its own acks. */
  seen() {
    const s = new Set(this.delivered.filter((q) => q > this.startSeq));
    for (const q of this.acks.values()) if (q > this.startSeq) s.add(q);
    return s;
  }

  close() {
    this.stopped = true;
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      ws?.terminate();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      // A close handshake the server never answers (its object was just aborted) must not hold the
      // run: after 5 s the TCP connection is cut.
      const timer = setTimeout(() => {
        ws.terminate();
        resolve();
      }, 5000);
      ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      ws.close(1000, 'bye');
    });
  }
}

/** `GET /api/rooms/{room}` (room info with `shards`, `online`, `shard_calls`, `shard_frames`). */
export async function roomInfo(server, room) {
  const res = await getJson(`${server.base}/api/rooms/${room}`);
  assert.equal(res.status, 200, `room info: ${JSON.stringify(res.body)}`);
  assert.ok(Array.isArray(res.body.shards), `room info has no "shards" (is the sharding core in this build?): ${JSON.stringify(res.body).slice(0, 300)}`);
  return res.body;
}

/** Sockets per shard from room info, as an array indexed by shard number. */
export function socketsPerShard(info) {
  const out = [];
  for (const s of info.shards) out[s.shard] = s.sockets;
  return Array.from(out, (n) => n ?? 0);
}

/** `GET /api/rooms/{room}/shards/{k}`: {shard, sockets, instance, forwarded, calls_in, calls_out}. */
export async function shardInfo(server, room, k) {
  const res = await getJson(`${server.base}/api/rooms/${room}/shards/${k}`);
  assert.equal(res.status, 200, `shard ${k} diagnostics: ${JSON.stringify(res.body)}`);
  return res.body;
}

/** The operator's restart of shard `k` (its DO aborts, every socket on it drops): the HTTP status. */
export async function restartShard(server, room, k, token) {
  const res = await fetch(`${server.base}/api/rooms/${room}/shards/${k}/restart`, {
    method: 'POST',
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  await res.text();
  return res.status;
}

/**
 * A room of `shards × shardSockets` sockets (the server runs with SHARD_SOCKETS = shardSockets), every
 * other one batched (batch=1). Each step asserts what it proves and returns its figures.
 */
export class ShardedRoom {
  constructor({ server, room, shardSockets, shards, token, burst = 64, log = () => {} }) {
    Object.assign(this, { server, room, shardSockets, shards, token, burst, log });
    this.peers = []; // every peer still meant to be in the room
    this.serial = 0;
    this.msg = 0;
    this.filled = false;
  }

  peer(batch) {
    const name = `s${this.serial++}`;
    return new CrowdPeer((q) => this.server.ws(this.room, q), name, { batch });
  }

  /**
   * Fills the shards one after another: exactly `shardSockets` sockets at a time, so each batch lands
   * on the lowest shard with room — the next one — which room info must confirm. Returns connect times.
   */
  async fill() {
    const t0 = now();
    const perSocket = [];
    for (let k = 0; k < this.shards; k++) {
      const fresh = Array.from({ length: this.shardSockets }, (_, i) => this.peer(i % 2 === 1));
      await pool(fresh, this.burst, async (p) => {
        const t = now();
        await p.start();
        perSocket.push(now() - t);
        p.shard = k;
      });
      this.peers.push(...fresh);
      const info = await eventually(async () => {
        const i = await roomInfo(this.server, this.room);
        return socketsPerShard(i).reduce((a, b) => a + b, 0) === this.peers.length && i;
      }, 10_000, `room info counting ${this.peers.length} sockets`);
      const per = socketsPerShard(info);
      assert.equal(per.length, k + 1, `after filling shard ${k}: ${JSON.stringify(info.shards)}`);
      assert.equal(per[k], this.shardSockets, `the next ${this.shardSockets} sockets all went to shard ${k}: ${JSON.stringify(info.shards)}`);
      assert.ok(per.every((n) => n === this.shardSockets), `no shard over SHARD_SOCKETS, none skipped: ${JSON.stringify(info.shards)}`);
      this.log(`shard ${k} filled: ${this.peers.length} sockets after ${Math.round(now() - t0)} ms`);
    }
    this.filled = true;
    return { sockets: this.peers.length, connectMs: Math.round(now() - t0), perSocket };
  }

  /** Sockets on shard `k` (as placed by `fill`, or found again by `relocate`). */
  on(k) {
    return this.peers.filter((p) => p.shard === k);
  }

  /** Room info, and its counts checked against the sockets the test holds. */
  async checkCounts(what) {
    const n = this.peers.length;
    await eventually(
      () => this.peers.every((p) => p.online === n),
      30_000,
      () => `${what}: online counts on the sockets ${[...new Set(this.peers.map((p) => p.online))].join(',')} != ${n}`,
    );
    const info = await eventually(async () => {
      const i = await roomInfo(this.server, this.room);
      return i.online === n && socketsPerShard(i).reduce((a, b) => a + b, 0) === n && i;
    }, 15_000, `${what}: room info online and shards summing to ${n}`);
    const per = socketsPerShard(info);
    assert.ok(per.every((s) => s <= this.shardSockets), `${what}: no shard above SHARD_SOCKETS: ${per}`);
    return { info, per };
  }

  /**
   * Every peer of `senders` sends `each` messages back to back. Then: every one is acked, and every
   * socket has every message of the room after its first welcome once, in seq order (its own as acks).
   */
  async talk(senders, each, what) {
    const lastBefore = Math.max(0, ...this.peers.map((p) => p.maxSeen));
    for (const p of senders) for (let i = 0; i < each; i++) p.send(`${what} ${p.name} #${i}`, `${p.name}-${this.msg++}`);
    await eventually(() => senders.every((p) => p.pending.size === 0), 60_000, () => `${what}: unacked ${senders.reduce((s, p) => s + p.pending.size, 0)}`);
    const last = Math.max(...senders.flatMap((p) => [...p.acks.values()]));
    assert.ok(last >= lastBefore + senders.length * each, `${what}: ${senders.length * each} new seqs`);
    return this.checkDelivery(what, last);
  }

  /**
   * Waits until every peer has seen up to `last`, then checks each against storage: every stored seq
   * after its first welcome seen exactly once (the peers record any duplicate or disorder as it comes),
   * and every acked id stored with its acked seq, once.
   */
  async checkDelivery(what, last) {
    const t0 = now();
    await eventually(
      () => this.peers.every((p) => p.maxSeen >= last),
      90_000,
      () => `${what}: behind seq ${last}: ${this.peers.filter((p) => p.maxSeen < last).length} sockets (${this.peers.filter((p) => p.maxSeen < last).slice(0, 5).map((p) => `${p.name}@${p.maxSeen} shard ${p.shard}`).join(' ')})`,
    );
    const settledMs = Math.round(now() - t0);
    const stored = await storedMessages(this.server, this.room);
    const seqs = stored.messages.map((m) => m.seq);
    assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1), `${what}: stored seqs gapless`);
    const byKey = new Map(stored.messages.map((m) => [`${m.from.name}/${m.id}`, m.seq]));
    assert.equal(byKey.size, stored.messages.length, `${what}: no message stored twice`);
    for (const p of this.peers) {
      for (const [id, seq] of p.acks) assert.equal(byKey.get(`${p.name}/${id}`), seq, `${what}: ${p.name}'s acked ${id} stored as seq ${seq}`);
    }
    for (const p of this.peers) {
      const want = seqs.filter((s) => s > p.startSeq && s <= last);
      const seen = p.seen();
      const missing = want.filter((s) => !seen.has(s));
      assert.deepEqual(missing.slice(0, 10), [], `${what}: ${p.name} (shard ${p.shard}, ${p.batch ? 'batched' : 'v1'}) misses seqs`);
      const own = new Set(p.acks.values());
      const frames = p.delivered.filter((s) => s > p.startSeq && s <= last && !own.has(s));
      assert.equal(new Set(frames).size, frames.length, `${what}: ${p.name} got a message twice`);
    }
    const errors = this.peers.flatMap((p) => p.errors);
    assert.deepEqual(errors.slice(0, 10), [], `${what}: no duplicate, disorder, changed ack or error frame`);
    return { lastSeq: last, stored: stored.messages.length, settledMs };
  }

  /**
   * Kills shard `k` (the restart endpoint) while `senders` keep sending, one message every ~`intervalMs`
   * each, for `phaseMs` around the kill. The killed shard's sockets drop, reconnect with after= and
   * resend what was unacked; then everything acked is stored, and every socket has every message once.
   */
  async killUnderTraffic(k, senders, { phaseMs = 4000, intervalMs = 100, what = `kill shard ${k}` } = {}) {
    const before = await shardInfo(this.server, this.room, k);
    const perBefore = socketsPerShard(await roomInfo(this.server, this.room));
    const dropsBefore = new Map(this.peers.map((p) => [p, p.drops]));
    const dropped = () => this.peers.filter((p) => p.drops > dropsBefore.get(p));
    let sending = true;
    let sent = 0;
    const loops = senders.map(async (p) => {
      while (sending) {
        p.send(`${what}: ${p.name}`, `${p.name}-${this.msg++}`);
        sent += 1;
        await sleep(intervalMs * (0.5 + Math.random()));
      }
    });
    await sleep(phaseMs / 3);
    const unackedAtKill = senders.reduce((n, p) => n + p.pending.size, 0);
    const t0 = now();
    const status = await restartShard(this.server, this.room, k, this.token);
    assert.equal(status, 202, `${what}: the restart endpoint accepts`);
    await sleep((phaseMs * 2) / 3);
    sending = false;
    await Promise.all(loops);
    // Exactly the sockets of shard k drop (the others never notice), and every one of them comes back.
    await eventually(
      () => dropped().length >= perBefore[k] && dropped().every((p) => p.ready),
      60_000,
      () => `${what}: ${dropped().length}/${perBefore[k]} of shard ${k}'s sockets dropped, ${dropped().filter((p) => !p.ready).length} not back`,
    );
    const backMs = Math.round(now() - t0);
    await eventually(() => senders.every((p) => p.pending.size === 0), 60_000, () => `${what}: unacked ${senders.reduce((s, p) => s + p.pending.size, 0)}`);
    const last = Math.max(...senders.flatMap((p) => [...p.acks.values()]));
    const delivery = await this.checkDelivery(what, last);
    const victims = dropped();
    assert.equal(victims.length, perBefore[k], `${what}: only shard ${k}'s ${perBefore[k]} sockets dropped`);
    assert.ok(victims.every((p) => p.shard === k || p.shard === null), `${what}: a socket of another shard dropped: ${victims.filter((p) => p.shard !== k && p.shard !== null).map((p) => `${p.name}@${p.shard}`).slice(0, 5)}`);
    // Where each one landed is known only by count (room info), so their shard is unknown from now on.
    for (const p of victims) p.shard = null;
    const after = await shardInfo(this.server, this.room, k);
    assert.notEqual(after.instance, before.instance, `${what}: shard ${k}'s object was re-constructed`);
    const { per } = await this.checkCounts(`${what}: counts`);
    const resume = stats(victims.map((p) => p.resumeMs.at(-1)));
    const failedAttempts = victims.reduce((a, p) => a + p.failedAttempts, 0);
    return { killed: k, sockets: victims.length, sent, unackedAtKill, allBackMs: backMs, resumeMs: resume, failedAttempts, perBefore, perAfter: per, ...delivery };
  }

  /**
   * The sequencer's calls to shards stay O(shards): `sender` (on shard `from`) sends `m` messages one at
   * a time, each waited for on every socket, so each is one flush of its own. The sequencer's pushes
   * (`shard_calls`) then grow by at most one per shard per flush (plus the presence frames of the same
   * seconds, at most one a second), never one per socket; each shard gets each flush (`calls_in`), and
   * the sender's shard forwards each frame (`forwarded`, `shard_frames`).
   */
  async countCalls(sender, from, m) {
    const shards = socketsPerShard(await roomInfo(this.server, this.room)).length;
    const read = async () => ({
      room: await roomInfo(this.server, this.room),
      shards: await Promise.all(Array.from({ length: shards - 1 }, (_, i) => shardInfo(this.server, this.room, i + 1))),
    });
    const before = await read();
    const t0 = now();
    for (let i = 0; i < m; i++) {
      const id = `${sender.name}-${this.msg++}`;
      sender.send(`one flush #${i}`, id);
      await eventually(() => sender.acks.has(id), 10_000, `ack of ${id}`);
      const seq = sender.acks.get(id);
      await eventually(() => this.peers.every((p) => p.maxSeen >= seq), 30_000, () => `seq ${seq} on every socket`);
    }
    const seconds = (now() - t0) / 1000;
    const after = await read();
    const calls = after.room.shard_calls - before.room.shard_calls;
    const slack = Math.ceil(seconds) + 2; // presence frames: at most one a second, each one push per shard
    assert.ok(calls >= (shards - 1) * m, `every shard got every flush: ${calls} pushes for ${m} flushes over ${shards - 1} shards`);
    assert.ok(calls <= (shards - 1) * (m + slack), `at most one push per shard per flush: ${calls} pushes for ${m} flushes over ${shards - 1} shards (${this.peers.length} sockets)`);
    for (const [i, s] of after.shards.entries()) {
      const got = s.calls_in - before.shards[i].calls_in;
      assert.ok(got >= m && got <= m + slack, `shard ${i + 1} received ${got} pushes for ${m} flushes`);
    }
    if (from > 0) {
      const fwd = after.shards[from - 1].forwarded - before.shards[from - 1].forwarded;
      assert.ok(fwd >= m, `shard ${from} forwarded its ${m} frames (${fwd})`);
      assert.ok(after.room.shard_frames - before.room.shard_frames >= m, 'the sequencer counted them');
    }
    return { flushes: m, shards, pushes: calls, pushesPerFlush: +(calls / m).toFixed(2), sockets: this.peers.length };
  }

  /** Closes `n` peers of shard `k` cleanly (frees room there). */
  async leave(k, n) {
    const gone = this.on(k).slice(0, n);
    this.peers = this.peers.filter((p) => !gone.includes(p));
    await Promise.all(gone.map((p) => p.close()));
    return gone;
  }

  async close() {
    await pool(this.peers, 200, (p) => p.close());
  }
}
