// The crowd scenario: hundreds of sockets in one room all get every message, and bursts of joins and
// leaves (clean closes and dropped TCP connections) keep every roster exact, on every socket and on the
// server.
// Sized by its callers: tests/reliability.test.mjs runs a short version in `make test`, tests/soak/ a
// long one in `make soak`. It asserts as it goes and returns its figures for the caller to print.

import assert from 'node:assert/strict';
import { eventually, getJson, now, pool, stats } from '../common/harness.mjs';
import { Client } from '../common/client.mjs';
import { Messages } from '../common/trackers/messages.mjs';
import { Roster } from '../common/trackers/roster.mjs';

/**
 * Crowd scenario: `size` sockets in one room, connected in bursts of `burst`; every one receives every
 * message of `speakers` senders; then `rounds` of churn (a quarter leaves — half cleanly, half by
 * dropping the TCP connection — while new sockets join, all at once) and the roster stays exact on every
 * socket and on the server. Returns figures.
 */
export async function crowdScenario({ server, room, size, burst = 100, speakers = 10, rounds = 2, log = () => {} }) {
  // Lean sockets (no frames kept) that follow the roster and the messages they get.
  const connect = (name) => Client.connect(server.ws(room, { name }), { lean: true, track: { roster: new Roster(), messages: new Messages() } });
  const t0 = now();
  let live = [];
  let serial = 0;
  const join = async (n) => {
    const fresh = await pool(Array.from({ length: n }, () => `u${serial++}`), burst, connect);
    live.push(...fresh);
    return fresh;
  };
  for (let done = 0; done < size; done += burst) await join(Math.min(burst, size - done));
  const connectMs = Math.round(now() - t0);
  log(`${size} sockets connected in ${connectMs} ms`);

  const checkRosters = async (what) => {
    const ids = new Set(live.map((p) => p.welcome.you.id));
    await eventually(
      () => live.every((p) => p.roster.members.size === ids.size),
      60_000,
      () => `${what}: rosters of sizes ${[...new Set(live.map((p) => p.roster.members.size))].join(',')} != ${ids.size}`,
    );
    for (const p of live) {
      for (const id of ids) assert.ok(p.roster.members.has(id), `${what}: ${p.name} misses ${id}`);
      assert.equal(p.roster.members.size, ids.size, `${what}: ${p.name}'s roster`);
    }
    const info = await getJson(`${server.base}/api/rooms/${room}`);
    assert.equal(info.body.online, ids.size, `${what}: server online count`);
    assert.deepEqual(new Set(info.body.members.map((u) => u.id)), ids, `${what}: server roster`);
    const names = new Map(live.map((p) => [p.welcome.you.id, p.welcome.you.name]));
    for (const u of info.body.members) assert.equal(u.name, names.get(u.id), `${what}: name of ${u.id}`);
  };
  await checkRosters('after connecting');

  let delivered = 0;
  const fanout = [];
  const broadcast = async (what) => {
    const talkers = live.slice(0, speakers);
    const sent = talkers.map((p, i) => {
      const id = `${what}-${i}`;
      const at = now();
      p.send({ type: 'message', text: `hello from ${p.name} (${what})`, id });
      return { id, at, from: p };
    });
    for (const { id, at, from } of sent) {
      await eventually(() => live.every((p) => p.messages.arrivals.has(id)), 60_000, () => `${what}: ${id} reached ${live.filter((p) => p.messages.arrivals.has(id)).length}/${live.length}`);
      fanout.push(Math.max(...live.filter((p) => p !== from).map((p) => p.messages.arrivals.get(id) - at)));
      delivered += live.length - 1;
    }
  };
  await broadcast('first');

  for (let r = 0; r < rounds; r++) {
    const leaving = live.filter((_, i) => i % 4 === r % 4);
    live = live.filter((p) => !leaving.includes(p));
    const tr = now();
    const closes = leaving.map((p, i) => {
      if (i % 2) {
        p.ws.terminate();
        return null;
      }
      return p.close(1000).then((c) => c.code);
    });
    const [codes] = await Promise.all([Promise.all(closes), join(Math.floor(leaving.length * 0.8))]);
    for (const c of codes) if (c !== null) assert.equal(c, 1000, 'a clean close completes with 1000 (never 1006)');
    await checkRosters(`churn round ${r + 1}`);
    log(`churn ${r + 1}: ${leaving.length} left (half abruptly) while ${Math.floor(leaving.length * 0.8)} joined; rosters exact after ${Math.round(now() - tr)} ms`);
  }
  await broadcast('after-churn');

  const errors = live.flatMap((p) => p.errors);
  assert.deepEqual(errors.slice(0, 10), [], 'no duplicate join/leave, no out-of-order seq, no error frame');
  const held = live.length;
  const codes = await pool(live, 200, async (p) => (await p.close(1000)).code);
  assert.ok(codes.every((c) => c === 1000), `every clean close completed: ${[...new Set(codes)]}`);
  return { figures: { socketsHeld: size, socketsAtEnd: held, joined: serial, connectMs, deliveriesChecked: delivered, fanout: stats(fanout) } };
}
