// The server keeps chat protocol v1 (docs/PROTOCOL.md) against the real runtime: welcome, frames,
// gapless seq order seen by everyone, an ack only once the message is stored, idempotent retries, resume
// with exactly what was missed, an error code for each bad frame, limits, and clean closes.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CLOSE_BAD_REQUEST, CLOSE_TOO_BIG } from './common/close-codes.mjs';
import { Client, getJson, randomId, sleep, startServer, storedMessages, uniqueRoom } from './common/harness.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

const join = (room, name, query = {}) => Client.connect(server.ws(room, { name, ...query }));

describe('connecting', () => {
  test('bad names are refused on the socket: an error frame bad_name, then close 4400', async () => {
    const room = uniqueRoom('names');
    for (const name of ['', '   ', 'x'.repeat(33), 'tab\there', 'nul\u0000', 'bell\u0007']) {
      const r = await Client.refusedOnSocket(server.ws(room, { name }));
      assert.equal(r.closeCode, CLOSE_BAD_REQUEST, JSON.stringify(name));
      assert.equal(r.code, 'bad_name', JSON.stringify(name));
      assert.equal(r.reason, 'bad_name');
      assert.match(r.message, /1-32 characters/);
    }
    const noName = await Client.refusedOnSocket(server.ws(room));
    assert.equal(noName.code, 'bad_name');
    const info = await getJson(`${server.base}/api/rooms/${room}`);
    assert.equal(info.body.online, 0, 'a refused socket never joins the room');
  });

  test('names are trimmed, and 32 characters (not bytes) are fine', async () => {
    const room = uniqueRoom('names-ok');
    const c = await join(room, '  spaced  ');
    assert.equal(c.welcome.you.name, 'spaced');
    const wide = 'é'.repeat(32);
    const d = await join(room, wide);
    assert.equal(d.welcome.you.name, wide);
    await Promise.all([c.close(), d.close()]);
  });

  test('a bad after= is refused on the socket with bad_after and close 4400', async () => {
    for (const after of ['-1', 'abc', '1.5', '99999999999999999999999']) {
      const r = await Client.refusedOnSocket(server.ws(uniqueRoom('after'), { name: 'a', after }));
      assert.equal(r.closeCode, CLOSE_BAD_REQUEST, after);
      assert.equal(r.code, 'bad_after', after);
    }
  });

  test('welcome: room, you, members (you included), history, last_seq, truncated', async () => {
    const room = uniqueRoom('welcome');
    const a = await join(room, 'ann');
    assert.equal(a.frames[0].type, 'welcome', 'welcome is the first frame');
    assert.equal(a.welcome.room, room);
    assert.equal(a.welcome.you.name, 'ann');
    assert.match(a.welcome.you.id, /^[0-9a-f]{16}$/);
    assert.deepEqual(a.welcome.members, [a.welcome.you]);
    assert.deepEqual(a.welcome.history, []);
    assert.equal(a.welcome.last_seq, 0);
    assert.equal(a.welcome.truncated, false);

    const acks = [];
    for (let i = 1; i <= 3; i++) acks.push(await a.say(`m${i}`));
    const b = await join(room, 'bob');
    const joined = await a.next('join');
    assert.deepEqual(joined.user, b.welcome.you);
    assert.notEqual(b.welcome.you.id, a.welcome.you.id);
    assert.deepEqual(
      b.welcome.members.map((m) => m.name).sort(),
      ['ann', 'bob'],
    );
    assert.equal(b.welcome.last_seq, 3);
    assert.deepEqual(b.welcome.history.map((m) => [m.seq, m.text, m.from.name]), [
      [1, 'm1', 'ann'],
      [2, 'm2', 'ann'],
      [3, 'm3', 'ann'],
    ]);
    assert.equal(b.welcome.history[0].ts, acks[0].ts);
    assert.equal(b.all('join').length, 0, 'a joiner does not hear its own join');
    await Promise.all([a.close(), b.close()]);
  });

  test('without after=, welcome carries the last 50 messages', async () => {
    const room = uniqueRoom('last50');
    const a = await join(room, 'ann');
    for (let i = 1; i <= 60; i++) {
      a.send({ type: 'message', text: `n${i}`, id: `n${i}` });
      if (i % 15 === 0) await sleep(1600); // stay under the rate limit (burst 20, 10/s)
    }
    await a.next((f) => f.type === 'ack' && f.seq === 60, 15_000);
    const b = await join(room, 'bob');
    assert.equal(b.welcome.history.length, 50);
    assert.equal(b.welcome.history[0].seq, 11);
    assert.equal(b.welcome.history[49].seq, 60);
    assert.equal(b.welcome.last_seq, 60);
    await Promise.all([a.close(), b.close()]);
  });
});

describe('messages', () => {
  test('message frame to the others, ack to the sender only', async () => {
    const room = uniqueRoom('frames');
    const a = await join(room, 'ann');
    const b = await join(room, 'bob');
    const ack = await a.say('hi bob', 'client-1');
    assert.deepEqual(Object.keys(ack).sort(), ['id', 'rev', 'seq', 'ts', 'type']);
    assert.equal(ack.id, 'client-1');
    assert.equal(ack.seq, 1);
    assert.ok(Math.abs(ack.ts - Date.now()) < 60_000, 'ts is ms since the epoch');
    const m = await b.next('message');
    assert.deepEqual(m, {
      type: 'message', seq: 1, id: 'client-1', from: a.welcome.you, text: 'hi bob', ts: ack.ts,
      reply_to: null, edited_at: null, version: 1, deleted: false, reactions: {}, rev: ack.rev,
    });
    // a message without an id: id null, still acked (with id null)
    b.send({ type: 'message', text: 'no id' });
    const ack2 = await b.next('ack');
    assert.equal(ack2.id, null);
    const m2 = await a.next('message');
    assert.equal(m2.id, null);
    assert.equal(m2.seq, 2);
    assert.equal(a.all('message').length, 1, 'the sender never gets its own message');
    assert.equal(b.all('message').length, 1);
    await Promise.all([a.close(), b.close()]);
  });

  test('typing reaches the others, is never stored', async () => {
    const room = uniqueRoom('typing');
    const a = await join(room, 'ann');
    const b = await join(room, 'bob');
    a.send({ type: 'typing' });
    const t = await b.next('typing');
    assert.deepEqual(t.user, a.welcome.you);
    await a.say('after typing');
    await b.next('message');
    assert.equal(a.all('typing').length, 0);
    assert.deepEqual((await storedMessages(server, room)).messages.map((m) => m.text), ['after typing']);
    await Promise.all([a.close(), b.close()]);
  });

  test('ordering: concurrent senders, seqs gapless, everyone sees seq order, exactly once', async () => {
    const room = uniqueRoom('order');
    const n = 4;
    const per = 15;
    const clients = [];
    for (let i = 0; i < n; i++) clients.push(await join(room, `s${i}`));
    const acks = await Promise.all(
      clients.map(async (c, i) => {
        const ids = [];
        for (let k = 0; k < per; k++) {
          const id = `s${i}-${k}`;
          ids.push(id);
          c.send({ type: 'message', text: `from s${i} #${k}`, id });
        }
        return Promise.all(ids.map((id) => c.next((f) => f.type === 'ack' && f.id === id)));
      }),
    );
    const seqs = acks.flat().map((a) => a.seq).sort((x, y) => x - y);
    assert.deepEqual(seqs, Array.from({ length: n * per }, (_, k) => k + 1), 'seqs are 1..N without gaps or repeats');
    // each client's own acks come back in the order it sent
    for (const list of acks) for (let k = 1; k < list.length; k++) assert.ok(list[k].seq > list[k - 1].seq);
    for (const [i, c] of clients.entries()) {
      const expected = (n - 1) * per;
      while (c.all('message').length < expected) await c.next(() => false, 50).catch(() => {});
      const got = c.all('message');
      assert.equal(got.length, expected, `s${i} got every other message once`);
      for (let k = 1; k < got.length; k++) assert.ok(got[k].seq > got[k - 1].seq, `s${i} sees seq order`);
      assert.ok(got.every((m) => m.from.name !== `s${i}`));
    }
    await Promise.all(clients.map((c) => c.close()));
  });

  test('group commit: a burst from many sockets shares commits, each message acked once, stored once, in order', async () => {
    const room = uniqueRoom('group');
    const clients = [];
    for (let i = 0; i < 5; i++) clients.push(await join(room, `g${i}`));
    const info = async () => (await getJson(`${server.base}/api/rooms/${room}`)).body;
    const before = await info();
    assert.deepEqual(before.commits, { turns: 0, messages: 0 });
    // 15 frames from each socket at once, every message twice (a retry racing its original)
    const per = 15;
    const acks = await Promise.all(
      clients.map(async (c, i) => {
        const ids = Array.from({ length: per }, (_, k) => `g${i}-${k}`);
        for (const id of ids) c.send({ type: 'message', text: id, id });
        for (const id of ids.slice(0, 3)) c.send({ type: 'message', text: id, id });
        const first = await Promise.all(ids.map((id) => c.next((f) => f.type === 'ack' && f.id === id)));
        const retried = await Promise.all(ids.slice(0, 3).map((id) => c.next((f) => f.type === 'ack' && f.id === id)));
        for (const [k, r] of retried.entries()) assert.equal(r.seq, first[k].seq, 'a retry in the same batch gets the same seq');
        return first;
      }),
    );
    const total = clients.length * per;
    const seqs = acks.flat().map((a) => a.seq).sort((x, y) => x - y);
    assert.deepEqual(seqs, Array.from({ length: total }, (_, k) => k + 1));
    const after = await info();
    assert.equal(after.instance, before.instance, 'the same object throughout (the counters are per instance)');
    assert.equal(after.commits.messages, total + clients.length * 3, 'every frame written (or refused as a repeat) once');
    // each socket's frames arrive together, so a commit takes several (typically 5-30 here)
    assert.ok(after.commits.turns * 2 <= after.commits.messages, `${after.commits.turns} commits for ${after.commits.messages} messages: batched`);
    assert.equal((await storedMessages(server, room)).messages.length, total, 'retries were not stored twice');
    await Promise.all(clients.map((c) => c.close()));
  });

  test('ack after store: an acked message is already in history (HTTP and a new welcome)', async () => {
    const room = uniqueRoom('durable');
    const a = await join(room, 'ann');
    for (let i = 0; i < 5; i++) {
      const ack = await a.say(`durable ${i}`);
      const page = await getJson(`${server.base}/api/rooms/${room}/messages?after=${ack.seq - 1}`);
      assert.equal(page.status, 200);
      assert.equal(page.body.messages[0]?.seq, ack.seq, 'acked message is stored');
      assert.equal(page.body.messages[0].text, `durable ${i}`);
    }
    const b = await join(room, 'bob');
    assert.equal(b.welcome.history.length, 5);
    await Promise.all([a.close(), b.close()]);
  });

  test('idempotent: a retried id is acked with its original seq, stored and broadcast once — also after reconnecting', async () => {
    const room = uniqueRoom('idem');
    const a = await join(room, 'ann');
    const b = await join(room, 'bob');
    const first = await a.say('once', 'retry-me');
    const again = await a.say('once', 'retry-me');
    assert.equal(again.seq, first.seq);
    assert.equal(again.ts, first.ts);
    await a.close();
    const a2 = await join(room, 'ann');
    const third = await a2.say('once', 'retry-me');
    assert.equal(third.seq, first.seq);
    // a different sender may use the same id for its own message
    const bobs = await b.say('mine', 'retry-me');
    assert.equal(bobs.seq, first.seq + 1);
    await a2.next('message');
    assert.equal(b.all('message').filter((m) => m.text === 'once').length, 1);
    assert.deepEqual((await storedMessages(server, room)).messages.map((m) => m.text), ['once', 'mine']);
    await Promise.all([a2.close(), b.close()]);
  });

  test('resume: reconnecting with after=<last seen> delivers exactly what was missed', async () => {
    const room = uniqueRoom('resume');
    const a = await join(room, 'ann');
    const b = await join(room, 'bob');
    await a.say('seen 1');
    await a.say('seen 2');
    await b.next((f) => f.type === 'message' && f.text === 'seen 2');
    const lastSeen = Math.max(...b.all('message').map((m) => m.seq));
    b.terminate();
    await a.next('leave');
    for (let i = 1; i <= 5; i++) await a.say(`missed ${i}`);
    const b2 = await join(room, 'bob', { after: lastSeen });
    assert.deepEqual(b2.welcome.history.map((m) => m.text), ['missed 1', 'missed 2', 'missed 3', 'missed 4', 'missed 5']);
    assert.deepEqual(b2.welcome.history.map((m) => m.seq), [3, 4, 5, 6, 7]);
    assert.equal(b2.welcome.truncated, false);
    assert.equal(b2.welcome.last_seq, 7);
    // and live delivery continues from there
    await a.say('live');
    const live = await b2.next('message');
    assert.equal(live.seq, 8);
    // resuming at the head: nothing missed
    const c = await join(room, 'cy', { after: 8 });
    assert.deepEqual(c.welcome.history, []);
    await Promise.all([a.close(), b2.close(), c.close()]);
  });
});

describe('errors and limits', () => {
  test('each error code, with the id echoed; the socket stays open', async () => {
    const room = uniqueRoom('errors');
    const a = await join(room, 'ann');
    const b = await join(room, 'bob');
    const cases = [
      ['{not json', 'bad_json', null],
      ['[1,2,3]', 'bad_request', null],
      [JSON.stringify({ type: 'dance', id: 'e1' }), 'bad_request', 'e1'],
      [JSON.stringify({ type: 'message', id: 'e2' }), 'bad_request', 'e2'],
      [JSON.stringify({ type: 'message', text: '', id: 'e3' }), 'bad_request', 'e3'],
      [JSON.stringify({ type: 'message', text: 42, id: 'e4' }), 'bad_request', 'e4'],
      [JSON.stringify({ type: 'message', text: 'ok', id: 'x'.repeat(65) }), 'bad_request', null],
      [JSON.stringify({ type: 'message', text: 'x'.repeat(4001), id: 'e5' }), 'too_large', 'e5'],
    ];
    for (const [raw, code, id] of cases) {
      a.send(raw);
      const err = await a.next('error');
      assert.equal(err.code, code, raw.slice(0, 60));
      assert.equal(typeof err.message, 'string');
      assert.ok(err.message.length > 0);
      if (id) assert.equal(err.id, id, raw.slice(0, 60));
    }
    a.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    const bin = await a.next('error');
    assert.equal(bin.code, 'bad_request');
    // 4000 characters (counted as characters, not bytes) is fine
    const ack = await a.say('é'.repeat(4000));
    assert.equal(ack.seq, 1);
    assert.equal((await b.next('message')).text.length, 4000);
    assert.equal(b.all('error').length, 0, 'errors go to the offender only');
    assert.equal(a.closed, null);
    await Promise.all([a.close(), b.close()]);
  });

  test('rate limit: over the burst, messages are refused with rate_limited and dropped; the socket stays', async () => {
    const room = uniqueRoom('rate');
    const a = await join(room, 'ann');
    const b = await join(room, 'bob');
    const ids = Array.from({ length: 40 }, (_, i) => `r${i}`);
    for (const id of ids) a.send({ type: 'message', text: id, id });
    const replies = await Promise.all(ids.map((id) => a.next((f) => (f.type === 'ack' || f.type === 'error') && f.id === id)));
    const acked = replies.filter((r) => r.type === 'ack');
    const limited = replies.filter((r) => r.type === 'error');
    assert.ok(acked.length >= 20 && acked.length < 30, `burst of 20 (+ refill) accepted, got ${acked.length}`);
    assert.ok(limited.length > 0);
    assert.ok(limited.every((e) => e.code === 'rate_limited'));
    await a.say('a barrier', 'barrier').catch(() => {});
    await sleep(1500); // the bucket refills at 10/s
    const later = await a.say('after a pause');
    assert.ok(later.seq > 0);
    await b.next((f) => f.type === 'message' && f.text === 'after a pause');
    const got = b.all('message').map((m) => m.text);
    assert.equal(got.filter((t) => t.startsWith('r')).length, acked.length, 'only acked messages were broadcast');
    await Promise.all([a.close(), b.close()]);
  });

  test('a frame over 64 KiB closes that socket with 1009; the others are unaffected', async () => {
    const room = uniqueRoom('big');
    const a = await join(room, 'ann');
    const b = await join(room, 'bob');
    a.send(JSON.stringify({ type: 'message', text: 'x'.repeat(70 * 1024) }));
    assert.equal((await a.closedPromise()).code, CLOSE_TOO_BIG);
    const leave = await b.next('leave');
    assert.equal(leave.user.name, 'ann');
    const c = await join(room, 'cy');
    await b.say('still fine');
    assert.equal((await c.next('message')).text, 'still fine');
    await Promise.all([b.close(), c.close()]);
  });

  test('leave: a closed socket leaves the roster, the others hear it, and the close completes cleanly', async () => {
    const room = uniqueRoom('bye');
    const a = await join(room, 'ann');
    const b = await join(room, 'bob');
    const { code } = await b.close(1000, 'bye');
    assert.equal(code, 1000);
    const leave = await a.next('leave');
    assert.deepEqual(leave.user, b.welcome.you);
    const info = await getJson(`${server.base}/api/rooms/${room}`);
    assert.deepEqual(info.body.members, [a.welcome.you]);
    const c = await join(room, 'cy');
    assert.deepEqual(c.welcome.members.map((m) => m.name).sort(), ['ann', 'cy']);
    await Promise.all([a.close(), c.close()]);
  });

  test('ping is answered pong and is not a chat message', async () => {
    const room = uniqueRoom('pingpong');
    const a = await join(room, 'ann');
    const b = await join(room, 'bob');
    for (let i = 0; i < 3; i++) a.send('ping');
    for (let i = 0; i < 3; i++) assert.equal((await a.next('_text')).text, 'pong');
    await a.say('real');
    await b.next('message');
    assert.equal(b.all('message').length, 1);
    assert.equal(b.all('_text').length, 0);
    await Promise.all([a.close(), b.close()]);
  });

  test('ids are unique per connection even with equal names', async () => {
    const room = uniqueRoom('twins');
    const a = await join(room, 'same');
    const b = await join(room, 'same');
    assert.notEqual(a.welcome.you.id, b.welcome.you.id);
    await a.say(randomId());
    assert.equal((await b.next('message')).from.id, a.welcome.you.id);
    await Promise.all([a.close(), b.close()]);
  });
});
