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
import { Client } from '../common/client.mjs';
import { eventually, getJson, now, pool, sleep, stats, storedMessages } from '../common/harness.mjs';
import { Presence } from '../common/trackers/presence.mjs';
import { Resume } from '../common/trackers/resume.mjs';
import { Traffic } from '../common/trackers/traffic.mjs';

/**
 * One socket of a sharded crowd (named `name`, batched or not), resilient the way docs/PROTOCOL.md asks
 * a client to be: when the socket drops (its shard was killed) it reconnects with `after=`/`since=` and
 * resends every unacked message with its original `id` (`Resume`); it follows the count of presence as
 * the page does (`Presence`), and records every broken guarantee it sees in `errors`. Lean, and without
 * permessage-deflate, as the presence crowd (tests/scenarios/presence-crowd.mjs explains why).
 * Resolves once the first connection is welcomed.
 */
export function crowdPeer(server, room, name, { batch = false } = {}) {
  return Client.connect(server.ws(room, { name, ...(batch ? { batch: '1' } : {}) }), {
    lean: true,
    deflate: false,
    reconnect: true,
    // A close handshake the server never answers (its object was just aborted) must not hold the run.
    closeTimeoutMs: 5000,
    track: { resume: new Resume(), presence: new Presence(), traffic: new Traffic() },
  });
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
    this.placement = new Map(); // peer -> the shard it was placed on when the room was filled (null once it resumed elsewhere)
    this.batched = new Set(); // the peers that asked for batch=1
    this.serial = 0;
    this.msg = 0;
    this.filled = false;
  }

  /** The shard `p` was placed on (by `fill`), or null once it resumed after a kill (then unknown). */
  shardOf(p) {
    return this.placement.get(p) ?? null;
  }

  /** Whether `p` asked for batched frames (batch=1). */
  isBatched(p) {
    return this.batched.has(p);
  }

  /**
   * Fills the shards one after another: exactly `shardSockets` sockets at a time, so each batch lands
   * on the lowest shard with room — the next one — which room info must confirm. Returns connect times.
   */
  async fill() {
    const t0 = now();
    const perSocket = [];
    for (let k = 0; k < this.shards; k++) {
      const fresh = await pool(Array.from({ length: this.shardSockets }, (_, i) => i % 2 === 1), this.burst, async (batch) => {
        const t = now();
        const p = await crowdPeer(this.server, this.room, `s${this.serial++}`, { batch });
        perSocket.push(now() - t);
        this.placement.set(p, k);
        if (batch) this.batched.add(p);
        return p;
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
    return this.peers.filter((p) => this.shardOf(p) === k);
  }

  /** Room info, and its counts checked against the sockets the test holds. */
  async checkCounts(what) {
    const n = this.peers.length;
    await eventually(
      () => this.peers.every((p) => p.presence.online === n),
      30_000,
      () => `${what}: online counts on the sockets ${[...new Set(this.peers.map((p) => p.presence.online))].join(',')} != ${n}`,
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
    const lastBefore = Math.max(0, ...this.peers.map((p) => p.resume.maxSeen));
    for (const p of senders) for (let i = 0; i < each; i++) p.resume.send(`${what} ${p.name} #${i}`, `${p.name}-${this.msg++}`);
    await eventually(() => senders.every((p) => p.resume.pending.size === 0), 60_000, () => `${what}: unacked ${senders.reduce((s, p) => s + p.resume.pending.size, 0)}`);
    const last = Math.max(...senders.flatMap((p) => [...p.resume.acks.values()]));
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
      () => this.peers.every((p) => p.resume.maxSeen >= last),
      90_000,
      () => `${what}: behind seq ${last}: ${this.peers.filter((p) => p.resume.maxSeen < last).length} sockets (${this.peers.filter((p) => p.resume.maxSeen < last).slice(0, 5).map((p) => `${p.name}@${p.resume.maxSeen} shard ${this.shardOf(p)}`).join(' ')})`,
    );
    const settledMs = Math.round(now() - t0);
    const stored = await storedMessages(this.server, this.room);
    const seqs = stored.messages.map((m) => m.seq);
    assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1), `${what}: stored seqs gapless`);
    const byKey = new Map(stored.messages.map((m) => [`${m.from.name}/${m.id}`, m.seq]));
    assert.equal(byKey.size, stored.messages.length, `${what}: no message stored twice`);
    for (const p of this.peers) {
      for (const [id, seq] of p.resume.acks) assert.equal(byKey.get(`${p.name}/${id}`), seq, `${what}: ${p.name}'s acked ${id} stored as seq ${seq}`);
    }
    for (const p of this.peers) {
      const want = seqs.filter((s) => s > p.resume.startSeq && s <= last);
      const seen = p.resume.seen();
      const missing = want.filter((s) => !seen.has(s));
      assert.deepEqual(missing.slice(0, 10), [], `${what}: ${p.name} (shard ${this.shardOf(p)}, ${this.isBatched(p) ? 'batched' : 'v1'}) misses seqs`);
      const own = new Set(p.resume.acks.values());
      const frames = p.resume.delivered.filter((s) => s > p.resume.startSeq && s <= last && !own.has(s));
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
        p.resume.send(`${what}: ${p.name}`, `${p.name}-${this.msg++}`);
        sent += 1;
        await sleep(intervalMs * (0.5 + Math.random()));
      }
    });
    await sleep(phaseMs / 3);
    const unackedAtKill = senders.reduce((n, p) => n + p.resume.pending.size, 0);
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
    await eventually(() => senders.every((p) => p.resume.pending.size === 0), 60_000, () => `${what}: unacked ${senders.reduce((s, p) => s + p.resume.pending.size, 0)}`);
    const last = Math.max(...senders.flatMap((p) => [...p.resume.acks.values()]));
    const delivery = await this.checkDelivery(what, last);
    const victims = dropped();
    assert.equal(victims.length, perBefore[k], `${what}: only shard ${k}'s ${perBefore[k]} sockets dropped`);
    assert.ok(victims.every((p) => this.shardOf(p) === k || this.shardOf(p) === null), `${what}: a socket of another shard dropped: ${victims.filter((p) => this.shardOf(p) !== k && this.shardOf(p) !== null).map((p) => `${p.name}@${this.shardOf(p)}`).slice(0, 5)}`);
    // Where each one landed is known only by count (room info), so their shard is unknown from now on.
    for (const p of victims) this.placement.set(p, null);
    const after = await shardInfo(this.server, this.room, k);
    assert.notEqual(after.instance, before.instance, `${what}: shard ${k}'s object was re-constructed`);
    const { per } = await this.checkCounts(`${what}: counts`);
    const resume = stats(victims.map((p) => p.resume.resumeMs.at(-1)));
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
      sender.resume.send(`one flush #${i}`, id);
      await eventually(() => sender.resume.acks.has(id), 10_000, `ack of ${id}`);
      const seq = sender.resume.acks.get(id);
      await eventually(() => this.peers.every((p) => p.resume.maxSeen >= seq), 30_000, () => `seq ${seq} on every socket`);
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
