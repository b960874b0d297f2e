// The hibernation scenario: rooms go idle past the hibernation window again and again while their
// sockets stay open. While a room sleeps, `ping` is answered (by the runtime, without waking it) and a
// socket dropping wakes it to tell the others. After each wake the roster, the names, the configured
// limits (non-default ones, so a fallback to defaults would show), idempotency and relaying are intact.
// Between cycles members come and go, so each wake rebuilds a different roster.
// tests/soak/hibernation.soak.mjs runs it (one cycle in tests/hibernation.test.mjs is a separate,
// shorter check).

import assert from 'node:assert/strict';
import { Client, getJson, sleep, uniqueRoom } from '../common/harness.mjs';
import { CLOSE_ROOM_FULL } from '../common/close-codes.mjs';

/** The server's limits for this scenario: small, and not the defaults, so a fallback would show. */
export const HIBERNATION_LIMITS = { RATE_BURST: '8', RATE_PER_SEC: '2', MAX_CONNECTIONS: '6' };

/** One room and the members the test believes it has. */
class RoomUnderTest {
  constructor(server, name) {
    this.server = server;
    this.name = name;
    this.members = []; // Clients
    this.serial = 0;
    this.lastSeq = 0;
    this.firstAck = null; // { id, text, seq, c } of the first message, retried after every wake
  }

  async join() {
    const c = await Client.connect(this.server.ws(this.name, { name: `m${this.serial++} ✦` }));
    for (const m of this.members) assert.deepEqual((await m.next('join')).user, c.welcome.you);
    this.members.push(c);
    return c;
  }

  async leave(c, { abrupt = false } = {}) {
    this.members = this.members.filter((m) => m !== c);
    if (abrupt) c.terminate();
    else assert.equal((await c.close(1000)).code, 1000);
    for (const m of this.members) assert.equal((await m.next('leave', 20_000)).user.id, c.welcome.you.id);
  }

  /** Every member says something; every other member hears it, in seq order. */
  async relay(label) {
    for (const [i, c] of this.members.entries()) {
      const text = `${label} from ${c.welcome.you.name}`;
      const ack = await c.say(text, `${label}-${i}`);
      assert.equal(ack.seq, this.lastSeq + 1, 'seq continues from storage');
      this.lastSeq = ack.seq;
      this.firstAck ??= { id: `${label}-${i}`, text, seq: ack.seq, c };
      for (const other of this.members) {
        if (other === c) continue;
        const m = await other.next((f) => f.type === 'message' && f.id === `${label}-${i}`);
        assert.deepEqual(m.from, c.welcome.you, 'the sender is known by its restored attachment');
        assert.equal(m.seq, ack.seq);
      }
    }
  }
}

/**
 * Hibernation cycles: two rooms of a server started with `HIBERNATION_LIMITS` idle past the eviction
 * window `cycles` times (each idle spell `idleMs`), with the checks above after every wake. Asserts as
 * it goes; returns the figures.
 */
export async function hibernationScenario({ server, cycles, idleMs = 15_000, log = () => {} }) {
  const info = async (room) => (await getJson(`${server.base}/api/rooms/${room}`)).body;
  const rooms = [new RoomUnderTest(server, uniqueRoom('hib-a')), new RoomUnderTest(server, uniqueRoom('hib-b'))];
  for (const r of rooms) for (let i = 0; i < 3; i++) await r.join();
  for (const r of rooms) await r.relay('c0');
  let pongs = 0;
  let wakes = 0;
  const t0 = Date.now();

  for (let cycle = 1; cycle <= cycles; cycle++) {
    const before = await Promise.all(rooms.map((r) => info(r.name)));
    // Idle, but for pings: each answered while the room sleeps.
    const idleStart = Date.now();
    while (Date.now() - idleStart < idleMs) {
      await sleep(3000);
      for (const r of rooms) {
        const c = r.members[0];
        c.send('ping');
        assert.equal((await c.next('_text', 2000)).text, 'pong', `cycle ${cycle}: ping answered while asleep`);
        pongs += 1;
      }
    }
    // In room B, a socket drops while the room sleeps: the close wakes it, and the others hear it.
    if (cycle % 2 === 1) await rooms[1].leave(rooms[1].members.at(-1), { abrupt: true });

    const now = await Promise.all(rooms.map((r) => info(r.name)));
    for (const [i, r] of rooms.entries()) {
      assert.notEqual(now[i].instance, before[i].instance, `cycle ${cycle}: ${r.name} hibernated (rebuilt)`);
      wakes += 1;
      assert.equal(now[i].online, r.members.length, `cycle ${cycle}: online count`);
      assert.deepEqual(
        [...now[i].members].sort((a, b) => a.id.localeCompare(b.id)),
        r.members.map((m) => m.welcome.you).sort((a, b) => a.id.localeCompare(b.id)),
        `cycle ${cycle}: roster and names rebuilt from the attachments`,
      );
      assert.equal(now[i].room, r.name, 'the room knows its name again');
      assert.equal(now[i].last_seq, r.lastSeq);
    }

    // Room A, first thing after the wake (buckets restart full): a burst past the configured
    // RATE_BURST=8 is cut at 8 (9 if a refill at RATE_PER_SEC=2 lands while it is sent).
    const a = rooms[0];
    const burster = a.members[1];
    const ids = Array.from({ length: 14 }, (_, k) => `burst-${cycle}-${k}`);
    for (const id of ids) burster.send({ type: 'message', text: id, id });
    const replies = await Promise.all(ids.map((id) => burster.next((f) => f.id === id && (f.type === 'ack' || f.type === 'error'))));
    const acked = replies.filter((f) => f.type === 'ack');
    assert.ok(acked.length >= 8 && acked.length <= 9, `cycle ${cycle}: ${acked.length} of 14 got through a burst of 8`);
    assert.ok(replies.filter((f) => f.type === 'error').every((f) => f.code === 'rate_limited'));
    a.lastSeq = Math.max(...acked.map((f) => f.seq));
    for (const m of a.members) if (m !== burster) await m.next((f) => f.type === 'message' && f.seq === a.lastSeq);
    await sleep(1000); // two tokens back for the burster

    for (const r of rooms) {
      // Relaying, with seq continuing from storage.
      await r.relay(`c${cycle}`);
      // Idempotency: the very first message (by members[0], who never leaves), retried, is acked with
      // its original seq.
      const retry = await r.firstAck.c.say(r.firstAck.text, r.firstAck.id);
      assert.equal(retry.seq, r.firstAck.seq, 'a retried id keeps its seq across wakes');
      // Typing still relays.
      r.members[0].send({ type: 'typing' });
      for (const m of r.members.slice(1)) assert.deepEqual((await m.next('typing')).user, r.members[0].welcome.you);
      // Limits: text size, and the configured (not default) rate limit and connection cap.
      const c = r.members[0];
      c.send({ type: 'message', text: 'x'.repeat(4001), id: `big-${cycle}` });
      assert.equal((await c.next((f) => f.id === `big-${cycle}`)).code, 'too_large');
    }
    // Room A: the cap of MAX_CONNECTIONS=6 holds after a wake.
    const extra = [];
    while (a.members.length < 6) extra.push(await a.join());
    const refused = await Client.refusedOnSocket(server.ws(a.name, { name: 'one-too-many' }));
    assert.equal(refused.code, 'room_full', `cycle ${cycle}: room_full at the configured cap`);
    assert.equal(refused.closeCode, CLOSE_ROOM_FULL);
    for (const c of extra) await a.leave(c);

    // Churn between sleeps: one joins, one leaves (clean close), so the next wake rebuilds a new roster.
    for (const r of rooms) {
      await r.join();
      if (r.members.length > 3) await r.leave(r.members[r.members.length - 2]);
    }
    // A newcomer after the wake sees the roster and the history.
    const probe = await Client.connect(server.ws(rooms[0].name, { name: 'probe', after: String(rooms[0].lastSeq - 1) }));
    assert.equal(probe.welcome.members.length, rooms[0].members.length + 1);
    assert.deepEqual(probe.welcome.history.map((m) => m.seq), [rooms[0].lastSeq]);
    for (const m of rooms[0].members) await m.next('join');
    await rooms[0].leave(probe);
    log(`cycle ${cycle}: both rooms slept and woke intact (${Math.round((Date.now() - t0) / 1000)} s)`);
  }

  const codes = await Promise.all(rooms.flatMap((r) => r.members.map((m) => m.close(1000))));
  assert.ok(codes.every((c) => c.code === 1000));
  return { cycles, rooms: rooms.length, wakesChecked: wakes, pongsWhileAsleep: pongs, messages: rooms.reduce((n, r) => n + r.lastSeq, 0) };
}
