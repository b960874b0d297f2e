// The client SDK (packages/client) on its own: a fake WebSocket and node:test's fake clock, no server and no browser,
// so the timing rules (heartbeat, backoff, pacing, typing expiry) are exact and the whole file runs in
// well under a second: `node --test tests/client.test.mjs`. What it proves is the client's half of
// docs/PROTOCOL.md: it paces and sizes by `welcome.limits`, treats each refusal close code as final or
// "retry later", and gives a clashing outbox entry a fresh id. (The page against the real server is
// tests/browser.test.mjs.)

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as clientModule from '../packages/client/src/index.js';
import { CLOSE_BAD_REQUEST, CLOSE_FORBIDDEN, CLOSE_INTERNAL, CLOSE_RATE_LIMITED, CLOSE_REFUSED_INTERNAL, CLOSE_ROOM_FULL, CLOSE_UNAUTHORIZED } from './common/close-codes.mjs';
import { FakeSocket } from './common/fake-socket.mjs';

const { ChatClient, DEFAULT_LIMITS, backoff, cleanName, isIdentity } = clientModule;

/** A WebSocket stand-in: records what the client sends; the test plays the server. */

function memoryStorage() {
  const m = new Map();
  return { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k) };
}

const welcome = (extra = {}) => ({ type: 'welcome', room: 'r', you: { id: 'me', name: 'ann' }, members: [{ id: 'me', name: 'ann' }], history: [], last_seq: 0, truncated: false, ...extra });
const limits = (extra = {}) => ({ text: 4000, name: 32, id: 64, frame_bytes: 65536, burst: 20, per_sec: 10, page: 1000, query: 200, results: 50, presence: 100, roster_page: 500, silent_after: 120, versions: 100, file_bytes: 25_000_000, files: 10, ...extra });

/** A client on a fake socket and a fake clock; `events` collects every event it emits, by type. */
function newClient(t, options = {}) {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
  FakeSocket.all = [];
  const c = new ChatClient({ room: 'r', name: 'ann', origin: 'http://127.0.0.1:9', storage: memoryStorage(), keyStorage: memoryStorage(), WebSocket: FakeSocket, heartbeatMs: 1000, pongTimeoutMs: 500, backoff: { base: 100, cap: 800 }, ...options });
  c.events = {};
  for (const type of ['status', 'refused', 'notice', 'outbox', 'message', 'update', 'action', 'unread', 'reads', 'reset', 'older']) {
    c.events[type] = [];
    c.addEventListener(type, (e) => c.events[type].push(e.detail));
  }
  return c;
}

describe('connection: heartbeat, backoff, resume, typing', () => {
  test('a heartbeat ping every interval; a connection that stops answering is dropped and resumed', (t) => {
    const c = newClient(t);
    c.start();
    FakeSocket.all[0].receive(welcome({ last_seq: 7 }));
    assert.equal(c.state, 'online');
    t.mock.timers.tick(1000);
    assert.deepEqual(FakeSocket.all[0].sent, ['ping']);
    FakeSocket.all[0].receive('pong');
    t.mock.timers.tick(1000);
    assert.deepEqual(FakeSocket.all[0].sent, ['ping', 'ping']);
    t.mock.timers.tick(499);
    assert.equal(c.state, 'online', 'still within the pong timeout');
    t.mock.timers.tick(1); // no pong: dead
    assert.equal(c.state, 'waiting');
    assert.equal(FakeSocket.all[0].closed, 4000);
    t.mock.timers.tick(100);
    assert.equal(FakeSocket.all.length, 2, 'reconnected after the backoff');
    const resumed = new URL(FakeSocket.all[1].url);
    assert.equal(resumed.pathname, '/ws/r');
    assert.equal(resumed.searchParams.get('after'), '7');
    assert.equal(resumed.searchParams.get('name'), 'ann');
    c.stop();
  });

  test('reconnect delays grow exponentially with jitter, are capped, and reset on a welcome', (t) => {
    assert.deepEqual([0, 1, 2, 3, 10].map((n) => backoff(n, { base: 500, cap: 10_000, random: () => 0 })), [250, 500, 1000, 2000, 5000]);
    assert.deepEqual([0, 1, 2, 3, 10].map((n) => backoff(n, { base: 500, cap: 10_000, random: () => 1 })), [500, 1000, 2000, 4000, 10_000]);
    const c = newClient(t);
    c.start();
    const waits = [];
    for (let i = 0; i < 5; i++) {
      FakeSocket.all.at(-1).onclose();
      waits.push(c.retryAt - Date.now());
      t.mock.timers.tick(c.retryAt - Date.now());
    }
    waits.forEach((w, i) => assert.ok(w >= Math.min(800, 100 * 2 ** i) / 2 && w <= Math.min(800, 100 * 2 ** i), `wait ${i}: ${w}`));
    FakeSocket.all.at(-1).receive(welcome());
    FakeSocket.all.at(-1).onclose();
    assert.ok(c.retryAt - Date.now() <= 100, 'a welcome resets the backoff');
    c.stop();
  });

  test('history merges by seq without doubles; a room that was reset does not hide its new messages', (t) => {
    const c = newClient(t);
    const got = [];
    c.addEventListener('message', (e) => got.push(e.detail.message.seq));
    c.start();
    const msg = (seq) => ({ type: 'message', seq, id: null, from: { id: 'b', name: 'bob' }, text: `m${seq}`, ts: 0 });
    FakeSocket.all[0].receive(welcome({ history: [msg(1), msg(2)].map(({ type, ...m }) => m), last_seq: 2 }));
    FakeSocket.all[0].receive(msg(3));
    FakeSocket.all[0].onclose();
    t.mock.timers.tick(100);
    assert.equal(new URL(FakeSocket.all[1].url).searchParams.get('after'), '3');
    FakeSocket.all[1].receive(welcome({ history: [msg(3), msg(4)].map(({ type, ...m }) => m), last_seq: 4 }));
    assert.deepEqual(got, [1, 2, 3, 4], 'seq 3 came twice, is reported once');
    FakeSocket.all[1].onclose();
    t.mock.timers.tick(100);
    FakeSocket.all[2].receive(welcome({ last_seq: 0 })); // storage wiped: seqs start again
    FakeSocket.all[2].receive(msg(1));
    assert.deepEqual(got, [1, 2, 3, 4, 1]);
    c.stop();
  });

  test('typing: at most one frame per 2.5 s while typing; "bob is typing" expires 4 s after his last frame', (t) => {
    const c = newClient(t, { heartbeatMs: 60_000 });
    const shown = [];
    c.addEventListener('typing', (e) => shown.push(e.detail.names.join()));
    c.start();
    const ws = FakeSocket.all[0];
    ws.receive(welcome());
    for (let i = 0; i < 30; i++) {
      c.typing();
      t.mock.timers.tick(100);
    }
    assert.equal(ws.sent.filter((f) => f.includes('typing')).length, 2, '3 s of keystrokes, 2 typing frames');
    ws.receive({ type: 'typing', user: { id: 'b', name: 'bob' } });
    t.mock.timers.tick(3000);
    ws.receive({ type: 'typing', user: { id: 'b', name: 'bob' } });
    t.mock.timers.tick(3990);
    assert.equal(shown.at(-1), 'bob');
    t.mock.timers.tick(20);
    assert.equal(shown.at(-1), '', 'expired by itself');
    c.stop();
  });
});

describe('the rules come from the server, not from a copy', () => {
  test('the SDK exports no copy of the room, name or size rules; a name is only trimmed', () => {
    for (const copy of ['ROOM_RE', 'isRoomName', 'MAX_TEXT']) assert.equal(copy in clientModule, false, `${copy} is still exported`);
    assert.equal(cleanName('  ann  '), 'ann');
    assert.equal(cleanName('   '), null, 'an empty field is nothing to send');
    // Too long for the server (32), but that is its call: the client passes it on unjudged.
    const long = 'n'.repeat(40);
    assert.equal(cleanName(long), long);
    assert.equal(cleanName('tab\there'), 'tab\there');
  });

  test('a name and a room are sent as typed, whatever the server will think of them', (t) => {
    const c = newClient(t, { room: 'not a room/at all', name: 'x'.repeat(40) });
    c.start();
    const url = new URL(FakeSocket.all[0].url);
    assert.equal(url.pathname, '/ws/not%20a%20room%2Fat%20all');
    assert.equal(url.searchParams.get('name'), 'x'.repeat(40));
    assert.equal(c.state, 'connecting');
    c.stop();
  });

  test('welcome.limits drive the outbox pacing: half the burst at once, then one per 1.5 refill periods', (t) => {
    const c = newClient(t, { heartbeatMs: 600_000 });
    c.start();
    for (let i = 0; i < 12; i++) c.send(`queued ${i}`); // offline: nothing goes out before a welcome
    const ws = FakeSocket.all[0];
    assert.equal(ws.messages().length, 0);
    ws.receive(welcome({ limits: limits({ burst: 4, per_sec: 2 }) }));
    assert.deepEqual(c.limits, limits({ burst: 4, per_sec: 2 }));
    assert.equal(ws.messages().length, 2, 'burst 4: 2 at once');
    t.mock.timers.tick(749);
    assert.equal(ws.messages().length, 2, '2 per second: the next after 750 ms, not before');
    t.mock.timers.tick(1);
    assert.equal(ws.messages().length, 3);
    for (let i = 0; i < 9; i++) t.mock.timers.tick(750);
    assert.deepEqual(ws.messages().map((f) => f.text), Array.from({ length: 12 }, (_, i) => `queued ${i}`), 'all, in order');

    // The same queue under a roomier bucket goes out faster: 10 at once with burst 20.
    ws.serverClose(1006);
    t.mock.timers.tick(100);
    const ws2 = FakeSocket.all[1];
    ws2.receive(welcome({ limits: limits({ burst: 20, per_sec: 10 }) }));
    assert.equal(ws2.messages().length, 10);
    t.mock.timers.tick(150);
    assert.equal(ws2.messages().length, 11);
    c.stop();
  });

  test('before any welcome the documented defaults pace; a welcome without limits keeps them', (t) => {
    const c = newClient(t, { heartbeatMs: 600_000 });
    assert.deepEqual(c.limits, DEFAULT_LIMITS);
    assert.ok(DEFAULT_LIMITS.burst <= 20 && DEFAULT_LIMITS.per_sec <= 10, 'no roomier than protocol v1 defaults');
    c.start();
    for (let i = 0; i < 8; i++) c.send(`q${i}`);
    FakeSocket.all[0].receive(welcome()); // an older server: no `limits`
    assert.deepEqual(c.limits, DEFAULT_LIMITS);
    assert.equal(FakeSocket.all[0].messages().length, Math.floor(DEFAULT_LIMITS.burst / 2));
    c.stop();
  });

  test('welcome.limits drive the size check: text in characters and the frame in bytes', (t) => {
    const c = newClient(t);
    c.start();
    // Before the welcome: the default (protocol v1's 4000 characters).
    assert.equal(c.queue('x'.repeat(DEFAULT_LIMITS.text + 1)).code, 'too_large');
    assert.equal(c.queue('x'.repeat(DEFAULT_LIMITS.text)).error, undefined);
    const ws = FakeSocket.all[0];
    ws.receive(welcome({ limits: limits({ text: 10, frame_bytes: 80 }) }));
    // The 4000-character entry queued offline is over the room's 10: marked, not sent.
    assert.equal(ws.messages().length, 0);
    assert.match(c.outbox[1].error, /too large \(4000 characters, at most 10\)/);
    const fits = c.queue('0123456789');
    const over = c.queue('01234567890');
    assert.equal(fits.error, undefined);
    assert.equal(over.code, 'too_large');
    assert.match(over.error, /at most 10\b/);
    // 10 characters, but 40 bytes as UTF-8: the frame is over frame_bytes (the room would close it).
    const wide = c.queue('😀'.repeat(10));
    assert.equal(wide.code, 'too_large');
    assert.match(wide.error, /bytes, at most 80\)/);
    assert.deepEqual(ws.messages().map((f) => f.text), ['0123456789']);
    // A too_large answer from the server names the announced limit too.
    const sent = c.queue('short');
    ws.receive({ type: 'error', code: 'too_large', id: sent.id, message: 'text over 10 characters' });
    assert.match(sent.error, /at most 10 characters/);
    c.stop();
  });
});

describe('refusals: an error frame, then close 4000 + HTTP status', () => {
  const refuse = (ws, code, closeCode, message = `${code} because`) => {
    ws.receive({ type: 'error', code, message });
    ws.serverClose(closeCode, code);
  };

  for (const [code, closeCode] of [['bad_name', CLOSE_BAD_REQUEST], ['bad_room', CLOSE_BAD_REQUEST], ['bad_after', CLOSE_BAD_REQUEST], ['unauthorized', CLOSE_UNAUTHORIZED], ['banned', CLOSE_FORBIDDEN]]) {
    test(`${code} (close ${closeCode}) is final: state refused, a refused event with the reason, no reconnect`, (t) => {
      const c = newClient(t);
      c.start();
      refuse(FakeSocket.all[0], code, closeCode);
      assert.equal(c.state, 'refused');
      assert.deepEqual(c.events.refused, [{ code, message: `${code} because`, closeCode }]);
      assert.deepEqual(c.events.notice, [], 'said once, as the refusal, not also as a notice');
      t.mock.timers.tick(10 * 60_000);
      assert.equal(FakeSocket.all.length, 1, 'no reconnect loop');
      c.reconnectNow();
      assert.equal(FakeSocket.all.length, 1, '"reconnect now" does not retry a final refusal either');
      assert.equal(c.state, 'refused');
    });
  }

  test('a refusal close without its error frame still counts; the close reason names the code', (t) => {
    const c = newClient(t);
    c.start();
    FakeSocket.all[0].serverClose(CLOSE_UNAUTHORIZED, 'unauthorized');
    assert.equal(c.state, 'refused');
    assert.deepEqual(c.events.refused, [{ code: 'unauthorized', message: '', closeCode: CLOSE_UNAUTHORIZED }]);
  });

  test('a refusal on a reconnect (the session expired meanwhile) is final too, and the outbox is kept', (t) => {
    const c = newClient(t);
    c.start();
    FakeSocket.all[0].receive(welcome({ last_seq: 3 }));
    FakeSocket.all[0].serverClose(1006);
    c.send('written offline');
    t.mock.timers.tick(100);
    refuse(FakeSocket.all[1], 'unauthorized', CLOSE_UNAUTHORIZED, 'token expired');
    assert.equal(c.state, 'refused');
    assert.equal(c.events.refused[0].message, 'token expired');
    assert.deepEqual(c.outbox.map((e) => e.text), ['written offline']);
    t.mock.timers.tick(60_000);
    assert.equal(FakeSocket.all.length, 2);
  });

  for (const [code, closeCode] of [['room_full', CLOSE_ROOM_FULL], ['rate_limited', CLOSE_RATE_LIMITED]]) {
    test(`${code} (close ${closeCode}) is retried with a longer backoff, and the status says why`, (t) => {
      const c = newClient(t, { busyBackoff: { base: 4000, cap: 60_000 } });
      c.start();
      refuse(FakeSocket.all[0], code, closeCode, 'try later');
      assert.equal(c.state, 'waiting');
      assert.deepEqual(c.events.refused, []);
      const status = c.events.status.at(-1);
      assert.deepEqual(status.reason, { code, message: 'try later', closeCode });
      const wait = c.retryAt - Date.now();
      assert.ok(wait >= 2000 && wait <= 4000, `first wait ${wait} ms: longer than after a network failure (≤ 100)`);
      t.mock.timers.tick(wait - 1);
      assert.equal(FakeSocket.all.length, 1);
      t.mock.timers.tick(1);
      assert.equal(FakeSocket.all.length, 2, 'tried again');
      assert.equal(c.events.status.at(-1).reason?.code, code, 'still says why while reconnecting');
      refuse(FakeSocket.all[1], code, closeCode, 'try later');
      const second = c.retryAt - Date.now();
      assert.ok(second >= 4000 && second <= 8000, `second wait ${second} ms grows`);
      t.mock.timers.tick(second);
      FakeSocket.all[2].receive(welcome());
      assert.equal(c.state, 'online');
      assert.equal(c.events.status.at(-1).reason, null, 'a welcome clears the reason');
      c.stop();
    });
  }

  test('other closes (a network failure, 4500 internal) are the usual quick reconnect, with no reason', (t) => {
    const c = newClient(t);
    c.start();
    for (const code of [1006, CLOSE_REFUSED_INTERNAL, CLOSE_INTERNAL]) {
      FakeSocket.all.at(-1).serverClose(code);
      assert.equal(c.state, 'waiting', `close ${code}`);
      assert.equal(c.reason, null);
      assert.ok(c.retryAt - Date.now() <= 800);
      t.mock.timers.tick(c.retryAt - Date.now());
    }
    assert.equal(FakeSocket.all.length, 4);
    assert.deepEqual(c.events.refused, []);
    c.stop();
  });
});

describe('id_conflict: the id was somebody else\'s', () => {
  test('the entry gets a fresh id and is resent once; a second conflict marks it failed', async (t) => {
    const c = newClient(t);
    c.start();
    const ws = FakeSocket.all[0];
    ws.receive(welcome());
    const entry = c.queue('hello');
    const firstId = entry.id;
    ws.receive({ type: 'error', code: 'id_conflict', id: firstId, message: 'id already used' });
    const sends = ws.messages();
    assert.equal(sends.length, 2);
    assert.equal(sends[1].text, 'hello');
    assert.notEqual(sends[1].id, firstId, 'resent under a new id');
    assert.equal(entry.id, sends[1].id);
    assert.equal(entry.key, firstId, 'the key the page shows it by stays');
    assert.equal(entry.error, undefined, 'still pending, not failed');
    await null; // the store is written at the end of the turn
    assert.equal(c.store.load(c.cacheKey).outbox[0].id, sends[1].id, 'the new id is what a reload resends');

    ws.receive({ type: 'error', code: 'id_conflict', id: sends[1].id, message: 'id already used' });
    assert.equal(ws.messages().length, 2, 'not resent a second time by itself');
    assert.equal(entry.code, 'id_conflict');
    assert.ok(entry.error);

    c.retry(entry.id); // the person asks again: another fresh id
    const third = ws.messages()[2];
    assert.equal(third.text, 'hello');
    assert.ok(![firstId, sends[1].id].includes(third.id));

    ws.receive({ type: 'ack', id: third.id, seq: 1, ts: 0 });
    assert.deepEqual(c.outbox, []);
    assert.equal(c.events.message.at(-1).message.text, 'hello');
    c.stop();
  });

  test('a stored message with our name and id but another text does not settle our entry', (t) => {
    const c = newClient(t);
    c.start();
    FakeSocket.all[0].receive(welcome());
    const entry = c.queue('mine');
    FakeSocket.all[0].serverClose(1006);
    t.mock.timers.tick(100);
    // The resume brings the other "ann"'s message, stored under the same id before ours arrived.
    const theirs = { seq: 1, id: entry.id, from: { id: 'x', name: 'ann' }, text: 'theirs', ts: 0 };
    FakeSocket.all[1].receive(welcome({ history: [theirs], last_seq: 1 }));
    assert.deepEqual(c.outbox.map((e) => e.text), ['mine'], 'still pending');
    assert.equal(FakeSocket.all[1].messages()[0].text, 'mine', 'and sent');
    // Our own, acked before the drop, does settle it (same name, id and text).
    const again = c.queue('again');
    FakeSocket.all[1].serverClose(1006);
    t.mock.timers.tick(200);
    FakeSocket.all[2].receive(welcome({ history: [{ seq: 2, id: again.id, from: { id: 'me2', name: 'ann' }, text: 'again', ts: 0 }], last_seq: 2 }));
    assert.deepEqual(c.outbox.map((e) => e.text), ['mine']);
    c.stop();
  });

  test('an entry whose id clashed offline is sent under its new id after the reconnect', (t) => {
    const c = newClient(t);
    c.start();
    FakeSocket.all[0].receive(welcome());
    const entry = c.queue('hi');
    FakeSocket.all[0].serverClose(1006); // the resend below is never sent on this socket
    t.mock.timers.tick(100);
    FakeSocket.all[1].receive(welcome());
    const resent = FakeSocket.all[1].messages()[0];
    assert.equal(resent.id, entry.id);
    FakeSocket.all[1].receive({ type: 'error', code: 'id_conflict', id: entry.id });
    assert.notEqual(FakeSocket.all[1].messages()[1].id, resent.id);
    assert.equal(FakeSocket.all[1].messages()[1].id, entry.id);
    c.stop();
  });
});

// Living messages (notes/living.md): identity, revisions, replies, edits, deletions, reactions, read
// marks and older pages, each frame as the room sends it.
describe('living messages', () => {
  const ME = { id: 'me', name: 'ann', uid: 'uid-ann' };
  const BOB = { id: 'b', name: 'bob', uid: 'uid-bob' };
  const msg = (seq, extra = {}) => ({ seq, id: `m${seq}`, from: BOB, text: `m${seq}`, ts: 0, reply_to: null, edited_at: null, version: 1, deleted: false, reactions: {}, rev: seq, ...extra });
  const living = (extra = {}) => welcome({ you: ME, members: [ME, BOB], rev: 0, read_seq: 0, unread: 0, ...extra });
  const frames = (ws, type) => ws.sent.filter((f) => f !== 'ping').map((f) => JSON.parse(f)).filter((f) => f.type === type);

  /** An online client with a uid; `history` and the rest go into its welcome. */
  function online(t, extra = {}, options = {}) {
    const c = newClient(t, { heartbeatMs: 600_000, ...options });
    c.start();
    const ws = FakeSocket.all[0];
    ws.receive(living(extra));
    return { c, ws };
  }

  /** Drops the socket and lets the client reconnect; returns the new socket (not yet welcomed). */
  function reconnect(t, c) {
    FakeSocket.all.at(-1).serverClose(1006);
    t.mock.timers.tick(1000);
    return FakeSocket.all.at(-1);
  }

  test('identity: a key of 24+ base64url characters is made once, kept in localStorage and sent on every connect', (t) => {
    const keyStorage = memoryStorage();
    const c = newClient(t, { keyStorage });
    c.start();
    const key = FakeSocket.all[0].key();
    assert.match(key, /^[A-Za-z0-9_-]{24,}$/);
    assert.equal(new URL(FakeSocket.all[0].url).searchParams.has('key'), false, 'never in the URL');
    assert.equal(FakeSocket.all[0].url.includes(key), false);
    assert.equal(keyStorage.getItem('edge-chat:key'), key);
    FakeSocket.all[0].serverClose(1006);
    t.mock.timers.tick(1000);
    assert.equal(FakeSocket.all[1].key(), key, 'the same key on a reconnect');
    c.stop();
    const other = new ChatClient({ room: 'elsewhere', name: 'ann with a new name', origin: 'http://x', keyStorage, storage: memoryStorage(), WebSocket: FakeSocket });
    assert.equal(other.key, key, 'and in another room, under another name (the next page load)');
    const elsewhere = new ChatClient({ room: 'r', name: 'ann', origin: 'http://x', keyStorage: memoryStorage(), storage: memoryStorage(), WebSocket: FakeSocket });
    assert.notEqual(elsewhere.key, key, 'another browser, another key');
  });

  test('identity: a stored key the server refuses (bad_key) is replaced once, then the refusal is final', (t) => {
    const keyStorage = memoryStorage();
    keyStorage.setItem('edge-chat:key', 'edited by hand!');
    const c = newClient(t, { keyStorage });
    c.start();
    assert.equal(FakeSocket.all[0].key(), 'edited by hand!');
    FakeSocket.all[0].receive({ type: 'error', code: 'bad_key', message: 'bad key' });
    FakeSocket.all[0].serverClose(CLOSE_BAD_REQUEST, 'bad_key');
    assert.equal(FakeSocket.all.length, 2, 'reconnected at once with a new key');
    const renewed = FakeSocket.all[1].key();
    assert.match(renewed, /^[A-Za-z0-9_-]{24,}$/);
    assert.equal(keyStorage.getItem('edge-chat:key'), renewed);
    FakeSocket.all[1].serverClose(CLOSE_BAD_REQUEST, 'bad_key');
    assert.equal(c.state, 'refused');
    assert.equal(FakeSocket.all.length, 2);
  });

  test('own means our uid, not our name: another "ann" is not us, our messages under another name are', (t) => {
    const { c, ws } = online(t, { history: [msg(1, { from: { id: 'x', name: 'ann', uid: 'uid-other' } }), msg(2, { from: { id: 'y', name: 'annie', uid: ME.uid } })], last_seq: 2 });
    assert.deepEqual(c.events.message.map((e) => [e.message.seq, e.own]), [[1, false], [2, true]]);
    assert.equal(c.lastOwn().seq, 2);
    c.stop();
    void ws;
  });

  test('rev: taken from the welcome, messages, acks, message_updated and reactions; never from an older page', (t) => {
    const { c, ws } = online(t, { rev: 5, history: [msg(5)], last_seq: 5 });
    assert.equal(c.rev, 5);
    ws.receive({ type: 'message', ...msg(6, { rev: 6 }) });
    assert.equal(c.rev, 6);
    const entry = c.queue('mine');
    ws.receive({ type: 'ack', id: entry.id, seq: 7, ts: 1, rev: 7 });
    assert.equal(c.rev, 7);
    ws.receive({ type: 'message_updated', message: msg(6, { text: 'm6!', version: 2, edited_at: 2, rev: 8 }), rev: 8 });
    assert.equal(c.rev, 8);
    ws.receive({ type: 'reaction', seq: 6, emoji: '👍', user: BOB, on: true, counts: { '👍': 1 }, rev: 9 });
    assert.equal(c.rev, 9);
    ws.receive({ type: 'read', user: BOB, seq: 7 });
    assert.equal(c.rev, 9, 'a read mark is not a revision');
    const older = c.loadOlder(2);
    const asked = frames(ws, 'history')[0];
    ws.receive({ type: 'history', id: asked.id, messages: [msg(3, { rev: 40 }), msg(4)], has_more: true });
    assert.equal(c.rev, 9, 'a page shows old messages as they are now: it says nothing about what else changed');
    const ws2 = reconnect(t, c);
    const url = new URL(ws2.url);
    assert.deepEqual([url.searchParams.get('after'), url.searchParams.get('since')], ['7', '9']);
    return older;
  });

  test('resume: welcome.changes update what we have (edited, deleted, reacted), new messages follow, unknown seqs are skipped', (t) => {
    const { c, ws } = online(t, { rev: 3, history: [msg(1), msg(2), msg(3)], last_seq: 3 });
    c.mine.set(2, new Set(['🎉']));
    const ws2 = reconnect(t, c);
    assert.equal(new URL(ws2.url).searchParams.get('since'), '3');
    ws2.receive(living({
      rev: 9, last_seq: 4,
      changes: [msg(1, { text: 'm1 edited', version: 2, edited_at: 5, rev: 5 }), msg(2, { text: '', deleted: true, rev: 7 }), msg(3, { reactions: { '❤️': 2 }, rev: 8 }), msg(0, { rev: 6 })],
      history: [msg(4, { rev: 9 })],
    }));
    assert.deepEqual(c.events.update.map((e) => [e.message.seq, e.message.text, e.message.deleted]), [[1, 'm1 edited', false], [2, '', true], [3, 'm3', false]]);
    assert.deepEqual(c.messages.get(3).reactions, { '❤️': 2 });
    assert.equal(c.messages.get(1).version, 2);
    assert.equal(c.messages.has(0), false, 'a change to a message we never loaded is not invented');
    assert.equal(c.mine.has(2), false, 'a deleted message keeps none of our reactions');
    assert.deepEqual(c.events.message.map((e) => e.message.seq), [1, 2, 3, 4]);
    assert.equal(c.rev, 9);
    assert.deepEqual(c.events.reset, []);
    c.stop();
  });

  test('resume: a truncated welcome (too much missed) drops what we had and starts from the newest', (t) => {
    const { c } = online(t, { rev: 3, history: [msg(1), msg(2), msg(3)], last_seq: 3 });
    const ws2 = reconnect(t, c);
    ws2.receive(living({ rev: 2000, last_seq: 1500, truncated: true, history: [msg(1499), msg(1500)] }));
    assert.equal(c.events.reset.length, 1);
    assert.deepEqual([...c.messages.keys()], [1499, 1500]);
    assert.equal(c.hasOlder, true, 'the rest loads as older pages');
    assert.match(c.events.notice.at(-1).text, /only the newest/);
    c.stop();
  });

  test('reply: reply_to goes with the message, its ack and its resend; a deleted original fails it with a reason, Retry sends it plain', (t) => {
    const { c, ws } = online(t, { rev: 1, history: [msg(1)], last_seq: 1 });
    const entry = c.queue('answer', { replyTo: 1 });
    assert.deepEqual(frames(ws, 'message')[0], { type: 'message', text: 'answer', id: entry.id, reply_to: 1 });
    const ws2 = reconnect(t, c);
    ws2.receive(living({ rev: 1, last_seq: 1 }));
    assert.equal(frames(ws2, 'message')[0].reply_to, 1, 'resent as a reply');
    ws2.receive({ type: 'ack', id: entry.id, seq: 2, ts: 5, rev: 2 });
    assert.equal(c.messages.get(2).reply_to, 1);
    assert.equal(c.events.message.at(-1).message.reply_to, 1);

    const orphan = c.queue('to a ghost', { replyTo: 1 });
    ws2.receive({ type: 'error', code: 'not_found', id: orphan.id, message: 'message 1 does not exist or was deleted' });
    assert.equal(orphan.code, 'not_found');
    assert.match(orphan.error, /replies to was deleted/);
    c.retry(orphan.id);
    assert.deepEqual(frames(ws2, 'message').at(-1), { type: 'message', text: 'to a ghost', id: orphan.id });
    c.stop();
  });

  test('edit and delete: the frames, an update for every connection, acks and refusals, resent after a reconnect', async (t) => {
    const mine = (seq, extra = {}) => msg(seq, { from: ME, ...extra });
    const { c, ws } = online(t, { rev: 2, history: [mine(1), msg(2)], last_seq: 2 });
    const edited = c.edit(1, 'better');
    const edit = c.actions.at(-1);
    assert.deepEqual(frames(ws, 'edit'), [{ type: 'edit', seq: 1, text: 'better', id: edit.id }]);
    ws.receive({ type: 'ack', id: edit.id, seq: 1, ts: 9, rev: 3 });
    assert.deepEqual(await edited, { id: edit.id, seq: 1, ts: 9, rev: 3 }, 'the promise settles on the ack');
    assert.deepEqual(c.events.action.at(-1), { action: edit, ok: true });
    assert.deepEqual(c.actions, []);
    ws.receive({ type: 'message_updated', message: mine(1, { text: 'better', version: 2, edited_at: 9, rev: 3 }), rev: 3 });
    assert.equal(c.messages.get(1).text, 'better');
    assert.equal(c.events.update.at(-1).message.edited_at, 9);

    const hijack = c.edit(2, 'hijack');
    const notMine = c.actions.at(-1);
    ws.receive({ type: 'error', code: 'forbidden', id: notMine.id, message: 'message 2 is not yours' });
    await assert.rejects(hijack, { name: 'ChatError', code: 'forbidden', message: 'message 2 is not yours', id: notMine.id });
    assert.deepEqual(c.events.action.at(-1), { action: notMine, ok: false, code: 'forbidden', message: 'only its author can change a message' });
    assert.match(c.events.notice.at(-1).text, /^Could not edit the message: only its author/);
    assert.equal(c.messages.get(2).text, 'm2', 'nothing changed');

    const deleted = c.delete(1);
    const del = c.actions.at(-1);
    assert.deepEqual(frames(ws, 'delete'), [{ type: 'delete', seq: 1, id: del.id }]);
    const ws2 = reconnect(t, c); // the answer was lost with the socket
    ws2.receive(living({ rev: 4, last_seq: 2, changes: [mine(1, { text: '', deleted: true, rev: 4 })] }));
    assert.deepEqual(frames(ws2, 'delete'), [{ type: 'delete', seq: 1, id: del.id }], 'sent again with its id');
    assert.equal(c.messages.get(1).deleted, true);
    ws2.receive({ type: 'ack', id: del.id, seq: 1, ts: 10, rev: 4 });
    assert.equal((await deleted).rev, 4, 'a drop does not fail a change: it waits for the resend\'s ack');
    assert.deepEqual(c.actions, []);
    assert.equal(c.lastOwn(), null, 'a deleted message is nobody\'s last');
    c.stop();
  });

  test('the moderation hook: an ack with the stored text shows that text; a rejection fails the entry with the reason', async (t) => {
    const { c, ws } = online(t, { rev: 0, last_seq: 0 });
    const sent = c.send('darn this');
    const entry = c.outbox.at(-1);
    ws.receive({ type: 'ack', id: entry.id, seq: 1, ts: 5, rev: 1, text: 'd*** this' });
    assert.equal((await sent).seq, 1);
    assert.equal(c.messages.get(1).text, 'd*** this', 'what the room stored, not what we typed');
    assert.equal(c.events.message.at(-1).message.text, 'd*** this');
    const plain = c.send('fine');
    ws.receive({ type: 'ack', id: c.outbox.at(-1).id, seq: 2, ts: 6, rev: 2 });
    await plain;
    assert.equal(c.messages.get(2).text, 'fine', 'an ack without text: ours as typed');
    const refused = c.send('buy now');
    const bad = c.outbox.at(-1);
    ws.receive({ type: 'error', code: 'rejected', id: bad.id, message: 'no ads here' });
    await assert.rejects(refused, { name: 'ChatError', code: 'rejected' });
    assert.equal(bad.code, 'rejected');
    assert.ok(c.outbox.includes(bad), 'kept for retry or discard');
    c.stop();
  });

  test('retention: welcome.retention and the expired frame turn what was erased into tombstones, each an update', (t) => {
    const history = [msg(1, { reactions: { '👍': 1 } }), msg(2), msg(3)];
    const { c, ws } = online(t, { rev: 3, history, last_seq: 3, retention: { days: 30, upto: 1 } });
    assert.deepEqual(c.retention, { days: 30, upto: 1 });
    assert.equal(c.messages.get(1).deleted, true);
    assert.equal(c.messages.get(1).text, '');
    assert.deepEqual(c.messages.get(1).reactions, {});
    assert.equal(c.messages.get(2).text, 'm2');
    const updates = c.events.update.length;
    ws.receive({ type: 'expired', upto: 2 });
    assert.equal(c.messages.get(2).deleted, true);
    assert.equal(c.messages.get(3).text, 'm3', 'past upto: kept');
    assert.equal(c.events.update.length, updates + 1, 'one update for the one newly erased');
    assert.deepEqual(c.retention, { days: 30, upto: 2 });
    c.stop();
  });

  test('react: the frame, counts for everyone, our own marked (from our ack or another tab of ours) and kept in storage', (t) => {
    const { c, ws } = online(t, { rev: 1, history: [msg(1)], last_seq: 1 });
    c.toggleReaction(1, '👍');
    const on = c.actions.at(-1);
    assert.deepEqual(frames(ws, 'react'), [{ type: 'react', seq: 1, emoji: '👍', on: true, id: on.id }]);
    assert.deepEqual(c.myReactions(1), [], 'not ours before the room says so');
    ws.receive({ type: 'ack', id: on.id, seq: 1, ts: 3, rev: 2 });
    ws.receive({ type: 'reaction', seq: 1, emoji: '👍', user: ME, on: true, counts: { '👍': 2 }, rev: 2 });
    assert.deepEqual(c.messages.get(1).reactions, { '👍': 2 });
    assert.deepEqual(c.myReactions(1), ['👍']);
    assert.deepEqual(JSON.parse(c.keyStorage.getItem('edge-chat:reactions:r')), { 1: ['👍'] });
    c.toggleReaction(1, '👍');
    const off = c.actions.at(-1);
    assert.equal(frames(ws, 'react')[1].on, false, 'a click on our own reaction takes it back');
    ws.receive({ type: 'ack', id: off.id, seq: 1, ts: 4, rev: 3 });
    assert.deepEqual(c.myReactions(1), []);
    // bob's reaction changes the counts, not ours; our other tab's does
    ws.receive({ type: 'reaction', seq: 1, emoji: '🎉', user: BOB, on: true, counts: { '👍': 1, '🎉': 1 }, rev: 4 });
    assert.deepEqual(c.myReactions(1), []);
    ws.receive({ type: 'reaction', seq: 1, emoji: '😂', user: { ...ME, id: 'my-phone' }, on: true, counts: { '👍': 1, '🎉': 1, '😂': 1 }, rev: 5 });
    assert.deepEqual(c.myReactions(1), ['😂']);
    assert.equal(c.events.update.at(-1).message.reactions['😂'], 1);
    // a reload remembers which are ours
    const again = new ChatClient({ room: 'r', name: 'ann', origin: 'http://x', storage: memoryStorage(), keyStorage: c.keyStorage, WebSocket: FakeSocket });
    assert.deepEqual([...again.mine.get(1)], ['😂']);
    c.stop();
  });

  test('an anonymous connection (no uid) asks for no changes: the room would refuse them', async (t) => {
    const c = newClient(t, { key: null });
    c.start();
    assert.equal(new URL(FakeSocket.all[0].url).searchParams.has('key'), false);
    assert.equal(FakeSocket.all[0].protocols, undefined, 'no key, no subprotocols: any server takes it');
    FakeSocket.all[0].receive(welcome({ history: [msg(1)], last_seq: 1, read_seq: null, unread: 0 }));
    await assert.rejects(c.react(1, '👍', true), { code: 'forbidden' });
    await assert.rejects(c.delete(1), { code: 'forbidden' });
    assert.deepEqual(frames(FakeSocket.all[0], 'react'), []);
    c.markRead(1);
    assert.deepEqual(frames(FakeSocket.all[0], 'read'), [], 'and keeps no read state');
    c.stop();
  });

  test("an anonymous connection's own uid (anon:<id>) is no identity: still no changes, own messages by name", async (t) => {
    const c = newClient(t, { key: null });
    c.start();
    const you = { id: 'c1', name: 'ann', uid: 'anon:c1' };
    FakeSocket.all[0].receive(welcome({ you, members: [you], history: [msg(1)], last_seq: 1, read_seq: null, unread: 0 }));
    assert.equal(c.identified, false);
    await assert.rejects(c.react(1, '👍', true), { code: 'forbidden' });
    assert.deepEqual(frames(FakeSocket.all[0], 'react'), []);
    assert.equal(c.isOwn({ seq: 2, from: { id: 'c0', name: 'ann', uid: 'anon:c0' } }), true, 'by name, as before: a reconnect is a new anonymous uid');
    assert.equal(isIdentity('anon:c1'), false);
    assert.equal(isIdentity('AAAAAAAAAAAAAAAAAAAAAA'), true);
    assert.equal(isIdentity(null), false);
    c.stop();
  });

  test('read: marks go out at most once a second with the newest position, never backwards, again after a reconnect', (t) => {
    const { c, ws } = online(t, { rev: 5, history: [1, 2, 3, 4, 5].map((s) => msg(s)), last_seq: 5, read_seq: 0, unread: 5 });
    c.markRead(2);
    assert.deepEqual(frames(ws, 'read'), [{ type: 'read', seq: 2 }]);
    c.markRead(3);
    c.markRead(4);
    c.markRead(1);
    assert.equal(frames(ws, 'read').length, 1, 'throttled');
    t.mock.timers.tick(999);
    assert.equal(frames(ws, 'read').length, 1);
    t.mock.timers.tick(1);
    assert.deepEqual(frames(ws, 'read').map((f) => f.seq), [2, 4], 'one more, with the newest position');
    t.mock.timers.tick(5000);
    assert.equal(frames(ws, 'read').length, 2, 'nothing new, nothing sent');
    c.markRead(5);
    assert.equal(frames(ws, 'read').length, 3);
    ws.serverClose(1006);
    c.markRead(5);
    t.mock.timers.tick(1000);
    const ws2 = FakeSocket.all.at(-1);
    ws2.receive(living({ rev: 5, last_seq: 5, read_seq: 4, unread: 1 })); // the room had not got 5 yet
    assert.deepEqual(frames(ws2, 'read'), [{ type: 'read', seq: 5 }]);
    assert.equal(c.readSeq, 5, 'our position does not go back to the room\'s');
    c.stop();
  });

  test('unread: counted from the welcome (also the ones not loaded), falls as we read, grows with others\' messages only', (t) => {
    // 60 unread, only seqs 51..100 loaded (the welcome's last 50): 10 more are further up.
    const history = Array.from({ length: 50 }, (_, i) => msg(51 + i));
    const { c, ws } = online(t, { rev: 100, history, last_seq: 100, read_seq: 40, unread: 60 });
    assert.equal(c.unreadCount(), 60);
    assert.deepEqual(c.events.unread.at(-1), { count: 60, readSeq: 40 });
    c.markRead(90);
    assert.equal(c.unreadCount(), 10, 'everything up to 90 is read, the unloaded ones too');
    ws.receive({ type: 'message', ...msg(101) });
    assert.equal(c.unreadCount(), 11);
    const entry = c.queue('mine');
    ws.receive({ type: 'ack', id: entry.id, seq: 102, ts: 0, rev: 102 });
    assert.equal(c.unreadCount(), 11, 'our own message is not unread');
    ws.receive({ type: 'message_updated', message: msg(101, { deleted: true, text: '', rev: 103 }), rev: 103 });
    assert.equal(c.unreadCount(), 10, 'a deleted message is not unread');
    // our other tab read it all
    ws.receive({ type: 'read', user: { ...ME, id: 'my-phone' }, seq: 102 });
    assert.equal(c.unreadCount(), 0);
    assert.deepEqual(c.reads.size, 0, 'our own tab is not somebody who has seen our messages');
    c.stop();
  });

  test('seen by: the others\' read marks say who has read up to a message', (t) => {
    const { c, ws } = online(t, { rev: 3, history: [msg(1), msg(2, { from: ME }), msg(3, { from: ME })], last_seq: 3 });
    ws.receive({ type: 'read', user: BOB, seq: 2 });
    ws.receive({ type: 'read', user: { id: 'c', name: 'cy', uid: 'uid-cy' }, seq: 3 });
    ws.receive({ type: 'read', user: BOB, seq: 1 }); // an older mark changes nothing
    assert.deepEqual(c.seenBy(c.lastOwn().seq), ['cy']);
    assert.deepEqual(c.seenBy(2), ['bob', 'cy']);
    ws.receive({ type: 'read', user: BOB, seq: 3 });
    assert.deepEqual(c.seenBy(3), ['bob', 'cy']);
    assert.deepEqual(c.events.reads.at(-1).reads.map((r) => [r.user.name, r.seq]), [['bob', 3], ['cy', 3]]);
    c.stop();
  });

  test('seen by and typing name people, not only names: two who chose the same name are two users', (t) => {
    const ann2 = { id: 'a2', name: 'ann', uid: 'uid-ann-2' };
    const ann3 = { id: 'a3', name: 'ann', uid: 'uid-ann-3' };
    const { c, ws } = online(t, { rev: 2, history: [msg(1), msg(2, { from: ME })], last_seq: 2 });
    const typing = [];
    c.addEventListener('typing', (e) => typing.push(e.detail));
    ws.receive({ type: 'read', user: ann2, seq: 2 });
    ws.receive({ type: 'read', user: ann3, seq: 2 });
    assert.deepEqual(c.seenBy(2), ['ann'], 'the old list: each name once');
    assert.deepEqual(c.seenByUsers(2), [ann2, ann3]);
    assert.deepEqual(c.seenByUsers(3), []);
    ws.receive({ type: 'typing', user: ann2 });
    ws.receive({ type: 'typing', user: ann3 });
    ws.receive({ type: 'typing', user: { ...ann3, id: 'a3-phone' } }); // ann3's second device
    assert.deepEqual(typing.at(-1), { names: ['ann'], users: [ann2, ann3] });
    t.mock.timers.tick(5000);
    assert.deepEqual(typing.at(-1), { names: [], users: [] });
    c.stop();
  });

  test('who reacted: reactors() asks for a page by emoji and resolves with its users and next', async (t) => {
    const { c, ws } = online(t, { rev: 1, history: [msg(1, { reactions: { '👍': 3 } })], last_seq: 1 });
    const page = c.reactors(1, '👍', { limit: 2 });
    const asked = frames(ws, 'reactors').at(-1);
    assert.deepEqual({ ...asked, id: 'x' }, { type: 'reactors', seq: 1, emoji: '👍', limit: 2, id: 'x' });
    ws.receive({ type: 'reactors', id: asked.id, seq: 1, emoji: '👍', users: [{ uid: 'uid-bob', name: 'bob' }, { uid: 'uid-cy', name: null }], next: 'uid-cy' });
    assert.deepEqual(await page, { users: [{ uid: 'uid-bob', name: 'bob' }, { uid: 'uid-cy', name: null }], next: 'uid-cy' });
    const rest = c.reactors(1, '👍', { after: 'uid-cy' });
    const again = frames(ws, 'reactors').at(-1);
    assert.equal(again.after, 'uid-cy');
    ws.receive({ type: 'error', code: 'not_found', message: 'message 1 does not exist or was deleted', id: again.id });
    await assert.rejects(rest, { code: 'not_found' });
    c.stop();
  });

  test("seen by after a reload: the welcome's reads are the others' read marks", (t) => {
    const cy = { id: 'c', name: 'cy', uid: 'uid-cy' };
    const { c } = online(t, { rev: 3, history: [msg(1), msg(2, { from: ME }), msg(3, { from: ME })], last_seq: 3, reads: [{ user: BOB, seq: 2 }, { user: cy, seq: 3 }] });
    assert.deepEqual(c.seenBy(2), ['bob', 'cy']);
    assert.deepEqual(c.seenBy(3), ['cy']);
    c.stop();
  });

  test('older pages: asked before the oldest we have, reported as older, until has_more is false', async (t) => {
    const { c, ws } = online(t, { rev: 60, history: Array.from({ length: 50 }, (_, i) => msg(11 + i)), last_seq: 60 });
    assert.equal(c.hasOlder, true);
    const page = c.loadOlder();
    assert.equal(c.loadOlder(), page, 'one page at a time');
    const asked = frames(ws, 'history');
    assert.equal(asked.length, 1);
    assert.deepEqual({ ...asked[0], id: 'x' }, { type: 'history', before: 11, limit: 50, id: 'x' });
    ws.receive({ type: 'history', id: 'somebody else', messages: [msg(1)], has_more: false });
    assert.equal(c.messages.has(1), false, 'an answer to another request is not ours');
    ws.receive({ type: 'history', id: asked[0].id, messages: Array.from({ length: 10 }, (_, i) => msg(1 + i)), has_more: false });
    assert.deepEqual(await page, { count: 10, hasOlder: false });
    assert.deepEqual(c.events.message.filter((e) => e.older).map((e) => e.message.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.equal(c.hasOlder, false);
    assert.deepEqual(await c.loadOlder(), { count: 0, hasOlder: false });
    assert.equal(frames(ws, 'history').length, 1, 'nothing more to ask for');
    c.stop();
  });

  test('older pages: a page lost with its socket resolves null, and a refused one says why', async (t) => {
    const { c, ws } = online(t, { rev: 60, history: [msg(20)], last_seq: 60 });
    const lost = c.loadOlder();
    ws.serverClose(1006);
    assert.equal(await lost, null);
    t.mock.timers.tick(1000);
    const ws2 = FakeSocket.all.at(-1);
    ws2.receive(living({ rev: 60, last_seq: 60 }));
    const refused = c.loadOlder();
    ws2.receive({ type: 'error', code: 'rate_limited', id: frames(ws2, 'history')[0].id, message: 'slow down' });
    assert.equal(await refused, null);
    assert.match(c.events.notice.at(-1).text, /Could not load older messages: slow down/);
    c.stop();
  });

  test('an older server (no uid, rev, read_seq or message fields) still works as before', (t) => {
    const c = newClient(t);
    c.start();
    const ws = FakeSocket.all[0];
    ws.receive(welcome({ history: [{ seq: 1, id: 'x', from: { id: 'b', name: 'bob' }, text: 'v1', ts: 0 }], last_seq: 1 }));
    assert.equal(c.rev, null);
    assert.deepEqual(c.messages.get(1), { seq: 1, id: 'x', from: { id: 'b', name: 'bob' }, text: 'v1', ts: 0, reply_to: null, edited_at: null, version: 1, deleted: false, reactions: {}, rev: 0 });
    const entry = c.queue('hi');
    ws.receive({ type: 'ack', id: entry.id, seq: 2, ts: 0 });
    assert.equal(c.events.message.at(-1).own, true, 'own by name when the server gives no uid');
    ws.serverClose(1006);
    t.mock.timers.tick(1000);
    assert.equal(new URL(FakeSocket.all[1].url).searchParams.has('since'), false, 'no since= without a rev');
    c.stop();
  });
});

describe('tokens: the app\'s getToken hook', () => {
  const settled = () => new Promise((resolve) => setImmediate(resolve));

  test('the first connect waits for a token; a 4401 close asks once for a fresh one and resumes, a second is final', async (t) => {
    const asked = [];
    let n = 0;
    const c = newClient(t, { getToken: async ({ room, reason }) => (asked.push([room, reason]), `tok-${++n}`) });
    c.start();
    assert.equal(FakeSocket.all.length, 0, 'no socket before the token');
    await settled();
    assert.equal(new URL(FakeSocket.all[0].url).searchParams.get('token'), 'tok-1');
    FakeSocket.all[0].receive(welcome({ last_seq: 5, role: 'moderator', expires: Math.floor(Date.now() / 1000) + 3600 }));
    assert.equal(c.role, 'moderator');
    c.send('written before the expiry');
    FakeSocket.all[0].receive({ type: 'error', code: 'token_expired', message: 'your token has expired' });
    assert.equal(FakeSocket.all[0].closed, 1000, 'the frame is enough: no waiting for the close');
    FakeSocket.all[0].serverClose(CLOSE_UNAUTHORIZED, 'token_expired'); // detached: changes nothing
    assert.equal(c.events.refused.length, 0, 'not a refusal: the hook renews');
    await settled();
    assert.deepEqual(asked, [['r', 'connect'], ['r', 'expired']]);
    const again = new URL(FakeSocket.all[1].url);
    assert.equal(again.searchParams.get('token'), 'tok-2');
    assert.equal(again.searchParams.get('after'), '5', 'resumed where it was');
    FakeSocket.all[1].receive(welcome({ last_seq: 5 }));
    assert.equal(FakeSocket.all[1].messages()[0]?.text, 'written before the expiry', 'the outbox goes again');
    // refused at once after a fresh token, and again: the second 4401 in a row is final
    FakeSocket.all[1].serverClose(CLOSE_UNAUTHORIZED, 'unauthorized');
    await settled();
    FakeSocket.all[2].serverClose(CLOSE_UNAUTHORIZED, 'unauthorized');
    await settled();
    assert.equal(c.state, 'refused');
    assert.equal(c.events.refused[0].closeCode, CLOSE_UNAUTHORIZED);
    assert.equal(FakeSocket.all.length, 3);
  });

  test('the token is renewed on the live socket a minute before welcome.expires, and again after auth_ok', async (t) => {
    let n = 0;
    const c = newClient(t, { token: 'tok-0', getToken: async () => `tok-${++n}`, heartbeatMs: 1e9 });
    c.start();
    assert.equal(new URL(FakeSocket.all[0].url).searchParams.get('token'), 'tok-0', 'a given token needs no hook call');
    const ws = FakeSocket.all[0];
    ws.receive(welcome({ expires: Math.floor(Date.now() / 1000) + 120 }));
    const auths = () => ws.sent.filter((f) => f !== 'ping').map((f) => JSON.parse(f)).filter((f) => f.type === 'auth');
    t.mock.timers.tick(59_000);
    await settled();
    assert.equal(auths().length, 0);
    t.mock.timers.tick(1_000);
    await settled();
    assert.equal(auths().length, 1);
    assert.equal(auths()[0].token, 'tok-1');
    ws.receive({ type: 'auth_ok', id: auths()[0].id, role: 'member', expires: Math.floor(Date.now() / 1000) + 3600 });
    t.mock.timers.tick(3_540_000);
    await settled();
    assert.equal(auths().length, 2);
    // a refused renewal says nothing to the person: the close that follows the expiry renews
    ws.receive({ type: 'error', code: 'forbidden', message: 'another user', id: auths()[1].id });
    assert.equal(c.events.notice.length, 0);
    c.stop();
  });

  test('without a hook a 4401 stays a final refusal, told by the frame or by the close', (t) => {
    const c = newClient(t);
    c.start();
    FakeSocket.all[0].receive(welcome());
    FakeSocket.all[0].serverClose(CLOSE_UNAUTHORIZED, 'token_expired');
    assert.equal(c.state, 'refused');
    assert.equal(c.events.refused[0].code, 'token_expired');
    t.mock.timers.reset();
    const d = newClient(t);
    d.start();
    FakeSocket.all[0].receive(welcome());
    FakeSocket.all[0].receive({ type: 'error', code: 'token_expired', message: 'your token has expired' });
    assert.equal(d.state, 'refused');
    assert.deepEqual(d.events.refused[0], { code: 'token_expired', message: 'your token has expired', closeCode: CLOSE_UNAUTHORIZED });
  });
});

describe('moderation', () => {
  const me = { id: 'me', name: 'ann', uid: 'u-ann' };

  test('welcome and moderation frames say our mute and the slow mode; moderate() sends an acked action', (t) => {
    const c = newClient(t);
    const rules = [];
    c.addEventListener('rules', (e) => rules.push(e.detail));
    c.start();
    FakeSocket.all[0].receive(welcome({ you: me, members: [me], slow_mode: 10, muted_until: Date.now() + 60_000, role: 'moderator' }));
    assert.deepEqual(rules.at(-1), { mutedUntil: Date.now() + 60_000, slowMode: 10, moderator: true });
    FakeSocket.all[0].receive({ type: 'moderation', action: 'unmute', uid: 'u-ann', by: { name: 'mo' }, at: 1 });
    assert.equal(rules.at(-1).mutedUntil, null);
    FakeSocket.all[0].receive({ type: 'moderation', action: 'mute', uid: 'u-bob', seconds: 60, by: { name: 'mo' }, at: 1 });
    assert.equal(rules.at(-1).mutedUntil, null, "somebody else's mute is not ours");
    FakeSocket.all[0].receive({ type: 'moderation', action: 'slow_mode', seconds: 0, by: { name: 'mo' }, at: 1 });
    assert.equal(rules.at(-1).slowMode, 0);
    c.moderate('kick', { uid: 'u-bob' });
    const action = c.actions.at(-1);
    const sent = JSON.parse(FakeSocket.all[0].sent.at(-1));
    assert.deepEqual([sent.type, sent.uid, sent.id], ['kick', 'u-bob', action.id]);
    FakeSocket.all[0].receive({ type: 'ack', id: action.id, seq: 0, ts: 1, rev: 0 });
    assert.deepEqual(c.events.action.at(-1), { action, ok: true });
  });

  test('a deletion may carry a reason; purge() asks for an author\'s recent messages to go', (t) => {
    const c = newClient(t);
    c.start();
    const ws = FakeSocket.all[0];
    ws.receive(welcome({ you: me, members: [me], role: 'moderator' }));
    c.delete(4, { reason: 'off topic' });
    c.delete(5);
    c.purge('u-bob', 3600, { reason: 'spam' });
    const sent = ws.frames().filter((f) => f.type !== 'typing').map(({ id, ...f }) => f);
    assert.deepEqual(sent.slice(-3), [
      { type: 'delete', seq: 4, reason: 'off topic' },
      { type: 'delete', seq: 5 },
      { type: 'purge', uid: 'u-bob', seconds: 3600, reason: 'spam' },
    ]);
    c.stop();
  });

  test('a message refused by slow mode goes again by itself once the wait is over; a mute marks it not sent', (t) => {
    const c = newClient(t);
    c.start();
    FakeSocket.all[0].receive(welcome({ you: me, members: [me], slow_mode: 5 }));
    c.send('too soon');
    const first = FakeSocket.all[0].messages().at(-1);
    FakeSocket.all[0].receive({ type: 'error', code: 'slow_mode', message: 'slow mode: wait 5 more', id: first.id });
    assert.equal(c.outbox.length, 1);
    t.mock.timers.tick(5000);
    assert.equal(FakeSocket.all[0].messages().filter((m) => m.id === first.id).length, 2, 'resent under the same id');
    FakeSocket.all[0].receive({ type: 'error', code: 'muted', message: 'a moderator muted you for 60 more seconds', id: first.id });
    assert.equal(c.outbox[0].code, 'muted');
    assert.match(c.outbox[0].error, /muted you/);
  });

  test('banned or kicked: the frame, then close 4403, is a final refusal naming the reason', (t) => {
    for (const code of ['banned', 'kicked']) {
      const c = newClient(t);
      c.start();
      FakeSocket.all[0].receive(welcome({ you: me, members: [me] }));
      FakeSocket.all[0].receive({ type: 'error', code, message: `a moderator ${code} you`, id: null });
      FakeSocket.all[0].serverClose(CLOSE_FORBIDDEN, code);
      assert.equal(c.state, 'refused');
      assert.equal(c.events.refused.at(-1).code, code);
      t.mock.timers.tick(60_000);
      assert.equal(FakeSocket.all.length, 1, 'no reconnect');
      t.mock.timers.reset();
    }
  });
});

describe('format.js: links, days and quotes', () => {
  test('only http and https URLs become links, sentence punctuation stays outside, the text is kept exactly', async () => {
    const { linkParts } = await import('../public/format.js');
    const links = (text) => linkParts(text).filter((p) => p.href).map((p) => p.href);
    const text = 'see https://example.com/a?b=1#c, or http://x.test/wiki/Foo_(bar). Not javascript:alert(1) nor data:text/html,hi nor xhttp://no.';
    const parts = linkParts(text);
    assert.equal(parts.map((p) => p.text).join(''), text, 'nothing lost or added');
    assert.deepEqual(links(text), ['https://example.com/a?b=1#c', 'http://x.test/wiki/Foo_(bar)']);
    assert.deepEqual(links('(see https://example.com/x)'), ['https://example.com/x'], 'an unbalanced ) ends the link');
    assert.deepEqual(links('JAVASCRIPT://x.test HTTPS://Example.COM/'), ['https://example.com/']);
    assert.deepEqual(links('http:// and https://'), []);
    assert.deepEqual(links('https://a.test/"onmouseover="x'), ['https://a.test/'], 'a quote ends a link');
    assert.deepEqual(linkParts(''), [{ text: '' }]);
  });

  test('day separators: a key per local day, "Today" / "Yesterday" / a date', async () => {
    const { dayKey, dayLabel } = await import('../public/format.js');
    const now = new Date(2025, 10, 24, 9, 0).getTime();
    assert.equal(dayKey(new Date(2025, 10, 24, 0, 0).getTime()), dayKey(new Date(2025, 10, 24, 23, 59).getTime()));
    assert.notEqual(dayKey(new Date(2025, 10, 23, 23, 59).getTime()), dayKey(new Date(2025, 10, 24, 0, 0).getTime()));
    assert.equal(dayLabel(new Date(2025, 10, 24, 23, 0).getTime(), now), 'Today');
    assert.equal(dayLabel(new Date(2025, 10, 23, 1, 0).getTime(), now), 'Yesterday');
    // (ICU versions differ on a comma after the weekday)
    assert.match(dayLabel(new Date(2025, 10, 20, 1, 0).getTime(), now, 'en-GB'), /^Thursday,? 20 November$/, 'this year: no year');
    assert.match(dayLabel(new Date(2024, 10, 20, 1, 0).getTime(), now, 'en-GB'), /^Wednesday,? 20 November 2024$/);
  });

  test('a reply quotes the first line of the original, shortened', async () => {
    const { excerpt } = await import('../public/format.js');
    assert.equal(excerpt('short'), 'short');
    assert.equal(excerpt('first line\nsecond'), 'first line …');
    assert.equal(excerpt('x'.repeat(100), 10), `${'x'.repeat(9)}…`);
  });
});

describe('search', () => {
  test('search() sends a search frame and resolves with the answer to its id; refusals and drops reject', async (t) => {
    const c = newClient(t);
    c.start();
    const ws = FakeSocket.all[0];
    ws.receive(welcome({ limits: limits() }));
    assert.equal(c.limits.query, 200);
    const pending = c.search('café "au lait"', { limit: 5 });
    const frame = JSON.parse(ws.sent.at(-1));
    assert.deepEqual({ ...frame, id: undefined }, { type: 'search', q: 'café "au lait"', limit: 5, id: undefined });
    ws.receive({ type: 'search_results', id: 'someone-else', results: [{ seq: 9 }], has_more: false });
    ws.receive({ type: 'search_results', id: frame.id, results: [{ seq: 3, snippet: '<mark>café</mark>' }], has_more: true });
    assert.deepEqual(await pending, { results: [{ seq: 3, snippet: '<mark>café</mark>' }], hasMore: true, next: null });
    const windowed = c.search('café');
    ws.receive({ type: 'search_results', id: JSON.parse(ws.sent.at(-1)).id, results: [], has_more: true, next_before: 41 });
    assert.deepEqual(await windowed, { results: [], hasMore: true, nextBefore: 41, next: { before: 41 } }, 'where to search on');

    const refused = c.search('()');
    ws.receive({ type: 'error', code: 'bad_query', message: 'nothing to search for', id: JSON.parse(ws.sent.at(-1)).id });
    await assert.rejects(refused, { name: 'ChatError', code: 'bad_query', message: 'nothing to search for' });
    assert.equal(c.events.notice.length, 0, 'a refused search is answered, not a notice');

    const dropped = c.search('anything');
    ws.onclose({ code: 1006 });
    await assert.rejects(dropped, { code: 'offline' });
    await assert.rejects(c.search('offline'), { code: 'offline' }, 'no socket: answered at once');
    c.stop();
  });

  test("paging: `next` is the ranked window's next page first (same before), then the older matches, then null", async (t) => {
    const c = newClient(t);
    c.start();
    const ws = FakeSocket.all[0];
    ws.receive(welcome({ limits: limits() }));
    const answer = async (options, reply) => {
      const pending = c.search('q', options);
      const frame = JSON.parse(ws.sent.at(-1));
      ws.receive({ type: 'search_results', id: frame.id, results: [], ...reply });
      return { frame: { ...frame, id: undefined }, got: await pending };
    };
    let { frame, got } = await answer({ limit: 20, before: 500 }, { has_more: true, next_before: 90, next_offset: 20 });
    assert.deepEqual(frame, { type: 'search', q: 'q', limit: 20, before: 500, id: undefined });
    assert.deepEqual(got.next, { before: 500, offset: 20 }, 'the same window, its next page');
    ({ frame, got } = await answer({ limit: 20, ...got.next }, { has_more: true, next_before: 90, next_offset: null }));
    assert.deepEqual(frame, { type: 'search', q: 'q', limit: 20, before: 500, offset: 20, id: undefined });
    assert.deepEqual(got.next, { before: 90 }, 'the window is done: older matches next');
    ({ got } = await answer({ limit: 20, ...got.next }, { has_more: false, next_before: null, next_offset: null }));
    assert.equal(got.next, null);
    c.stop();
  });

  test('snippetParts turns a snippet into text pieces, decoding entities and never making markup', () => {
    const { snippetParts } = clientModule;
    assert.deepEqual(snippetParts('a &lt;b&gt; &amp; <mark>caf&#39;é</mark> &quot;x&quot;'), [
      { text: 'a <b> & ', mark: false },
      { text: "caf'é", mark: true },
      { text: ' "x"', mark: false },
    ]);
    assert.deepEqual(snippetParts('<img src=x onerror=alert(1)>'), [{ text: '<img src=x onerror=alert(1)>', mark: false }]);
    assert.deepEqual(snippetParts(''), []);
    assert.deepEqual(snippetParts(null), []);
  });
});

describe('threads and mentions', () => {
  const me = { id: 'me', name: 'ann', uid: 'u-ann' };
  const bob = { id: 'b', name: 'bob', uid: 'u-bob' };
  const msg = (seq, extra = {}) => ({ type: 'message', seq, id: null, from: bob, text: `m${seq}`, ts: seq, rev: seq, ...extra });

  test('send() into a thread sends thread (and also_in_room); the reply is a message with its thread', async (t) => {
    const c = newClient(t);
    c.start();
    const ws = FakeSocket.all[0];
    ws.receive(welcome({ you: me, read_seq: 0, unread: 0 }));
    const sent = c.send('in the thread', { thread: 4, alsoInRoom: true });
    const frame = ws.frames('message').at(-1);
    assert.deepEqual({ ...frame, id: undefined }, { type: 'message', text: 'in the thread', thread: 4, also_in_room: true, id: undefined });
    ws.receive({ type: 'ack', id: frame.id, seq: 5, ts: 9, rev: 5 });
    assert.equal((await sent).seq, 5);
    assert.equal(c.messages.get(5).thread, 4);
    // A plain send() sends neither field: v1's frame.
    c.send('plain');
    assert.deepEqual(Object.keys(ws.frames('message').at(-1)).sort(), ['id', 'text', 'type']);
  });

  test('thread() asks for a page and resolves with the root and replies; a refusal rejects', async (t) => {
    const c = newClient(t);
    c.start();
    const ws = FakeSocket.all[0];
    ws.receive(welcome({ you: me }));
    const page = c.thread(4, { after: 5, limit: 2 });
    const frame = ws.frames('thread').at(-1);
    assert.deepEqual({ ...frame, id: undefined }, { type: 'thread', root: 4, after: 5, limit: 2, id: undefined });
    ws.receive({ type: 'thread_page', id: frame.id, root: { seq: 4, from: bob, text: 'root', thread: { replies: 3, last_seq: 7, last_at: 7, participants: ['u-bob'] } }, replies: [msg(6, { thread: 4 }), msg(7, { thread: 4 })], has_more: false });
    const got = await page;
    assert.equal(got.root.thread.replies, 3);
    assert.deepEqual(got.replies.map((m) => m.seq), [6, 7]);
    assert.equal(got.hasMore, false);
    assert.ok(c.messages.has(7), 'the replies are messages the client holds');
    const refused = c.thread(6);
    ws.receive({ type: 'error', code: 'bad_thread', message: 'a reply', id: ws.frames('thread').at(-1).id });
    await assert.rejects(refused, { code: 'bad_thread' });
  });

  test('a summary change updates the root we hold; replies only in a thread are not unread in the room', (t) => {
    const c = newClient(t);
    c.start();
    const ws = FakeSocket.all[0];
    ws.receive(welcome({ you: me, read_seq: 0, unread: 0, history: [msg(1)], last_seq: 1, rev: 1 }));
    assert.equal(c.unreadCount(), 1);
    const threads = [];
    c.on('thread', (d) => threads.push(d));
    ws.receive(msg(2, { thread: 1 }));
    ws.receive({ type: 'thread_updated', root: 1, thread: { replies: 1, last_seq: 2, last_at: 2, participants: ['u-bob'] }, rev: 3 });
    assert.equal(c.messages.get(1).thread.replies, 1);
    assert.equal(c.messages.get(1).rev, 3);
    assert.equal(c.rev, 3, 'resumes since= the summary change');
    assert.deepEqual(threads.map((d) => d.root), [1]);
    assert.equal(c.unreadCount(), 1, 'the reply in its thread is not unread in the room');
    ws.receive(msg(3, { thread: 1, also_in_room: true }));
    assert.equal(c.unreadCount(), 2, 'one also in the room is');
  });

  test('counts: from the welcome, from unread frames, and +1 for a new @room; readThread() sends a thread read mark', (t) => {
    const c = newClient(t);
    c.start();
    const ws = FakeSocket.all[0];
    const counts = [];
    c.on('counts', (d) => counts.push(d));
    ws.receive(welcome({ you: me, read_seq: 0, unread: 0, mentions: 2, thread_unread: 3, threads: [{ root: 4, unread: 3 }] }));
    assert.equal(c.mentionCount, 2);
    assert.equal(c.threadUnread, 3);
    assert.equal(c.threadCounts.get(4), 3);
    ws.receive(msg(9, { mentions_room: true }));
    assert.equal(c.mentionCount, 3, 'a new @room counts at once');
    assert.ok(c.isMentioned(c.messages.get(9)));
    ws.receive(msg(10, { mentions: ['u-ann'] }));
    assert.ok(c.isMentioned(c.messages.get(10)));
    assert.equal(c.mentionCount, 3, 'a mention of us is counted by the room, which says so next');
    ws.receive({ type: 'unread', mentions: 4, thread_unread: 0, threads: [] });
    assert.equal(c.mentionCount, 4);
    assert.equal(c.threadCounts.size, 0);
    assert.deepEqual(counts.at(-1), { mentions: 4, threadUnread: 0, threads: [] });
    c.readThread(4, 8);
    c.readThread(4, 7); // backwards: nothing
    assert.deepEqual(ws.frames('read'), [{ type: 'read', seq: 8, thread: 4 }]);
    assert.ok(!c.isMentioned(msg(11, { from: me, mentions: ['u-ann'] })), 'never by our own message');
  });
});

describe('large rooms: batched frames and presence by counts', () => {
  test('asks for batch=1 and reads a batch as its frames, in order', (t) => {
    const c = newClient(t);
    c.start();
    const ws = FakeSocket.all[0];
    assert.equal(new URL(ws.url).searchParams.get('batch'), '1');
    ws.receive(welcome());
    const m = (seq) => ({ type: 'message', seq, id: null, from: { id: 'b', name: 'bob' }, text: `m${seq}`, ts: seq, rev: seq });
    ws.receive({ type: 'batch', frames: [m(1), { type: 'join', user: { id: 'c', name: 'cy' } }, m(2)] });
    assert.deepEqual(c.events.message.map((e) => e.message.seq), [1, 2]);
    assert.ok(c.members.has('c'));
    assert.equal(c.online, 2);
  });

  test('batch: false keeps v1 framing', (t) => {
    newClient(t, { batch: false }).start();
    assert.equal(new URL(FakeSocket.all[0].url).searchParams.get('batch'), null);
  });

  test('above the threshold: the count from welcome and presence, a partial list, pages on demand', async (t) => {
    const c = newClient(t);
    c.start();
    const ws = FakeSocket.all[0];
    const roster = [];
    c.addEventListener('roster', (e) => roster.push(e.detail));
    ws.receive(welcome({ online: 250, members: [{ id: 'a1', name: 'ann' }, { id: 'me', name: 'ann' }] }));
    assert.equal(c.online, 250);
    assert.equal(c.partial, true);
    ws.receive({ type: 'presence', online: 260, joined: [{ id: 'z9', name: 'zed' }], left: [{ id: 'a1', name: 'ann' }], joins: 12, leaves: 2 });
    assert.equal(c.online, 260);
    assert.ok(c.members.has('z9') && !c.members.has('a1'));
    assert.equal(roster.at(-1).online, 260);
    assert.equal(roster.at(-1).partial, true);
    const loaded = c.loadMembers(100);
    const ask = JSON.parse(ws.sent.at(-1));
    assert.deepEqual({ type: ask.type, after: ask.after, limit: ask.limit }, { type: 'roster', after: 'me', limit: 100 }, 'after the welcome page, not after a presence sample');
    ws.receive({ type: 'roster', id: ask.id, online: 260, members: [{ id: 'n1', name: 'nia' }], next: 'n1' });
    assert.equal(await loaded, true);
    assert.ok(c.members.has('n1'));
    c.loadMembers(100);
    assert.equal(JSON.parse(ws.sent.at(-1)).after, 'n1', 'the next page goes on from the last');
  });
});
