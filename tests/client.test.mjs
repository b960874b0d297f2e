// public/client.js on its own: a fake WebSocket and node:test's fake clock, no server and no browser,
// so the timing rules (heartbeat, backoff, typing expiry) are exact and the whole file runs in well
// under a second: `node --test tests/client.test.mjs`. (The page against the real server is
// tests/browser.test.mjs.)

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChatClient, backoff } from '../public/client.js';

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
}

function memoryStorage() {
  const m = new Map();
  return { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k) };
}

const welcome = (extra = {}) => ({ type: 'welcome', room: 'r', you: { id: 'me', name: 'ann' }, members: [{ id: 'me', name: 'ann' }], history: [], last_seq: 0, truncated: false, ...extra });

/** A client on a fake socket and a fake clock. */
function newClient(t, options = {}) {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
  FakeSocket.all = [];
  return new ChatClient({ room: 'r', name: 'ann', origin: 'http://127.0.0.1:9', storage: memoryStorage(), WebSocket: FakeSocket, heartbeatMs: 1000, pongTimeoutMs: 500, backoff: { base: 100, cap: 800 }, ...options });
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
