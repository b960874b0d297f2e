// public/client.js on its own: a fake WebSocket and node:test's fake clock, no server and no browser,
// so the timing rules (heartbeat, backoff, pacing, typing expiry) are exact and the whole file runs in
// well under a second: `node --test tests/client.test.mjs`. What it proves is the client's half of
// docs/PROTOCOL.md: it paces and sizes by `welcome.limits`, treats each refusal close code as final or
// "retry later", and gives a clashing outbox entry a fresh id. (The page against the real server is
// tests/browser.test.mjs.)

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as clientModule from '../public/client.js';

const { ChatClient, DEFAULT_LIMITS, backoff, cleanName } = clientModule;

/** A WebSocket stand-in: records what the client sends; the test plays the server. */
class FakeSocket {
  static all = [];
  constructor(url) {
    this.url = url;
    this.sent = [];
    this.closed = null;
    FakeSocket.all.push(this);
  }
  send(data) {
    this.sent.push(data);
  }
  close(code) {
    this.closed = code ?? 1005;
  }
  receive(frame) {
    this.onmessage?.({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) });
  }
  /** The server closes the socket (as a CloseEvent would report it). */
  serverClose(code, reason = '') {
    this.onclose?.({ code, reason, wasClean: true });
  }
  /** The message frames sent so far, parsed. */
  messages() {
    return this.sent.filter((f) => f !== 'ping').map((f) => JSON.parse(f)).filter((f) => f.type === 'message');
  }
}

function memoryStorage() {
  const m = new Map();
  return { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k) };
}

const welcome = (extra = {}) => ({ type: 'welcome', room: 'r', you: { id: 'me', name: 'ann' }, members: [{ id: 'me', name: 'ann' }], history: [], last_seq: 0, truncated: false, ...extra });
const limits = (extra = {}) => ({ text: 4000, name: 32, id: 64, frame_bytes: 65536, burst: 20, per_sec: 10, page: 1000, ...extra });

/** A client on a fake socket and a fake clock; `events` collects every event it emits, by type. */
function newClient(t, options = {}) {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
  FakeSocket.all = [];
  const c = new ChatClient({ room: 'r', name: 'ann', origin: 'http://127.0.0.1:9', storage: memoryStorage(), WebSocket: FakeSocket, heartbeatMs: 1000, pongTimeoutMs: 500, backoff: { base: 100, cap: 800 }, ...options });
  c.events = {};
  for (const type of ['status', 'refused', 'notice', 'outbox', 'message']) {
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
    assert.match(FakeSocket.all[1].url, /\/ws\/r\?name=ann&after=7$/);
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
    assert.match(FakeSocket.all[1].url, /after=3$/);
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
  test('client.js exports no copy of the room, name or size rules; a name is only trimmed', () => {
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
    assert.equal(c.send('x'.repeat(DEFAULT_LIMITS.text + 1)).code, 'too_large');
    assert.equal(c.send('x'.repeat(DEFAULT_LIMITS.text)).error, undefined);
    const ws = FakeSocket.all[0];
    ws.receive(welcome({ limits: limits({ text: 10, frame_bytes: 80 }) }));
    // The 4000-character entry queued offline is over the room's 10: marked, not sent.
    assert.equal(ws.messages().length, 0);
    assert.match(c.outbox[1].error, /too large \(4000 characters, at most 10\)/);
    const fits = c.send('0123456789');
    const over = c.send('01234567890');
    assert.equal(fits.error, undefined);
    assert.equal(over.code, 'too_large');
    assert.match(over.error, /at most 10\b/);
    // 10 characters, but 40 bytes as UTF-8: the frame is over frame_bytes (the room would close it).
    const wide = c.send('😀'.repeat(10));
    assert.equal(wide.code, 'too_large');
    assert.match(wide.error, /bytes, at most 80\)/);
    assert.deepEqual(ws.messages().map((f) => f.text), ['0123456789']);
    // A too_large answer from the server names the announced limit too.
    const sent = c.send('short');
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

  for (const [code, closeCode] of [['bad_name', 4400], ['bad_room', 4400], ['bad_after', 4400], ['unauthorized', 4401], ['banned', 4403]]) {
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
    FakeSocket.all[0].serverClose(4401, 'unauthorized');
    assert.equal(c.state, 'refused');
    assert.deepEqual(c.events.refused, [{ code: 'unauthorized', message: '', closeCode: 4401 }]);
  });

  test('a refusal on a reconnect (the session expired meanwhile) is final too, and the outbox is kept', (t) => {
    const c = newClient(t);
    c.start();
    FakeSocket.all[0].receive(welcome({ last_seq: 3 }));
    FakeSocket.all[0].serverClose(1006);
    c.send('written offline');
    t.mock.timers.tick(100);
    refuse(FakeSocket.all[1], 'unauthorized', 4401, 'token expired');
    assert.equal(c.state, 'refused');
    assert.equal(c.events.refused[0].message, 'token expired');
    assert.deepEqual(c.outbox.map((e) => e.text), ['written offline']);
    t.mock.timers.tick(60_000);
    assert.equal(FakeSocket.all.length, 2);
  });

  for (const [code, closeCode] of [['room_full', 4503], ['rate_limited', 4429]]) {
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
    for (const code of [1006, 4500, 1011]) {
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
  test('the entry gets a fresh id and is resent once; a second conflict marks it failed', (t) => {
    const c = newClient(t);
    c.start();
    const ws = FakeSocket.all[0];
    ws.receive(welcome());
    const entry = c.send('hello');
    const firstId = entry.id;
    ws.receive({ type: 'error', code: 'id_conflict', id: firstId, message: 'id already used' });
    const sends = ws.messages();
    assert.equal(sends.length, 2);
    assert.equal(sends[1].text, 'hello');
    assert.notEqual(sends[1].id, firstId, 'resent under a new id');
    assert.equal(entry.id, sends[1].id);
    assert.equal(entry.key, firstId, 'the key the page shows it by stays');
    assert.equal(entry.error, undefined, 'still pending, not failed');
    assert.equal(JSON.parse(c.storage.getItem(c.storageKey))[0].id, sends[1].id, 'the new id is what a reload resends');

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
    const entry = c.send('mine');
    FakeSocket.all[0].serverClose(1006);
    t.mock.timers.tick(100);
    // The resume brings the other "ann"'s message, stored under the same id before ours arrived.
    const theirs = { seq: 1, id: entry.id, from: { id: 'x', name: 'ann' }, text: 'theirs', ts: 0 };
    FakeSocket.all[1].receive(welcome({ history: [theirs], last_seq: 1 }));
    assert.deepEqual(c.outbox.map((e) => e.text), ['mine'], 'still pending');
    assert.equal(FakeSocket.all[1].messages()[0].text, 'mine', 'and sent');
    // Our own, acked before the drop, does settle it (same name, id and text).
    const again = c.send('again');
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
    const entry = c.send('hi');
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
