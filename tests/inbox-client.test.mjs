// The SDK's inbox (`inbox()`, packages/client/src/inbox.js) on its own: a fake WebSocket and a fake
// clock, no server. One describe per promise it makes: the whole inbox on every connection and the
// changes that follow as events; a reconnect that misses nothing (the snapshot's differences are told
// as events); a heartbeat, a backoff, a final refusal and one fresh token after a 4401; the badge's
// totals; the person's requests over HTTP with their credentials.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InboxClient, inbox, inboxTotals } from '../packages/client/src/index.js';
import { CLOSE_FORBIDDEN, CLOSE_RATE_LIMITED, CLOSE_UNAUTHORIZED } from './common/close-codes.mjs';
import { FakeSocket } from './common/fake-socket.mjs';

const entry = (room, extra = {}) => ({ room, unread: 0, mentions: 0, threads: 0, read_seq: 0, last_seq: 0, last: null, muted: false, at: 1, ...extra });
const snapshot = (rooms, online = []) => ({ type: 'inbox', uid: 'u-ann', name: 'Ann', rooms, online });

/** An inbox client on a fake socket and clock; `events` collects every event it emits, by type. */
function newInbox(t, options = {}) {
  if (!t.mocked) t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
  t.mocked = true;
  FakeSocket.all = [];
  const c = inbox({ origin: 'http://127.0.0.1:9', WebSocket: FakeSocket, key: 'k'.repeat(22), name: 'Ann', heartbeatMs: 1000, pongTimeoutMs: 500, backoff: { base: 100, cap: 800 }, ...options });
  c.events = {};
  for (const type of ['status', 'inbox', 'entry', 'removed', 'online', 'totals', 'refused', 'error']) {
    c.events[type] = [];
    c.on(type, (d) => c.events[type].push(d));
  }
  return c;
}

describe('the whole inbox, then its changes', () => {
  test('a snapshot first, then one event per change', (t) => {
    const c = newInbox(t);
    assert.ok(c instanceof InboxClient);
    c.start();
    const ws = FakeSocket.all[0];
    const u = new URL(ws.url);
    assert.equal(u.pathname, '/ws/me');
    assert.equal(ws.key(), 'k'.repeat(22), 'the key rides in the handshake, not the URL');
    assert.equal(u.searchParams.get('key'), null);
    ws.receive(snapshot([entry('a', { at: 5, unread: 2 }), entry('b', { at: 9 })], [{ uid: 'u-bob', online: true, last_seen: null }]));
    assert.equal(c.state, 'online');
    assert.deepEqual(c.entries().map((e) => e.room), ['b', 'a'], 'most recent first');
    assert.equal(c.events.inbox.length, 1);
    assert.deepEqual(c.you, { uid: 'u-ann', name: 'Ann' });
    assert.equal(c.online.get('u-bob').online, true);
    ws.receive({ type: 'entry', entry: entry('a', { at: 12, unread: 3 }) });
    assert.equal(c.events.entry.at(-1).previous.unread, 2);
    assert.deepEqual(c.entries().map((e) => e.room), ['a', 'b']);
    ws.receive({ type: 'removed', room: 'b' });
    assert.deepEqual(c.events.removed, [{ room: 'b' }]);
    ws.receive({ type: 'online', uid: 'u-bob', online: false, last_seen: 77 });
    assert.deepEqual(c.events.online.at(-1), { uid: 'u-bob', online: false, lastSeen: 77 });
    ws.receive({ type: 'error', code: 'bad_request', message: 'no frames' });
    assert.equal(c.events.error[0].error.code, 'bad_request');
    c.stop();
  });

  test('totals count the rooms not muted, and mentions everywhere', (t) => {
    assert.deepEqual(inboxTotals([entry('a', { unread: 2 }), entry('b', { unread: 5, muted: true, mentions: 1 }), entry('c')]), { unread: 2, mentions: 1, rooms: 1 });
    const c = newInbox(t);
    c.start();
    FakeSocket.all[0].receive(snapshot([entry('a', { unread: 2 })]));
    assert.deepEqual(c.events.totals.at(-1), { unread: 2, mentions: 0, rooms: 1 });
    FakeSocket.all[0].receive({ type: 'entry', entry: entry('a', { unread: 0, read_seq: 4 }) });
    assert.deepEqual(c.events.totals.at(-1), { unread: 0, mentions: 0, rooms: 0 });
    const told = c.events.totals.length;
    FakeSocket.all[0].receive({ type: 'entry', entry: entry('a', { unread: 0, read_seq: 4, at: 9 }) });
    assert.equal(c.events.totals.length, told, 'unchanged totals are not told again');
    c.stop();
  });
});

describe('reconnect and resume', () => {
  test('after a drop the new snapshot’s differences come as events: nothing is missed', (t) => {
    const c = newInbox(t);
    c.start();
    FakeSocket.all[0].receive(snapshot([entry('a', { unread: 1 }), entry('b')]));
    FakeSocket.all[0].serverClose(1006);
    assert.equal(c.state, 'waiting');
    t.mock.timers.tick(100);
    assert.equal(FakeSocket.all.length, 2);
    const before = c.events.entry.length;
    FakeSocket.all[1].receive(snapshot([entry('a', { unread: 4 }), entry('c', { at: 3 })]));
    const changed = c.events.entry.slice(before).map((e) => [e.entry.room, e.previous?.unread ?? null]);
    assert.deepEqual(changed, [['a', 1], ['c', null]]);
    assert.deepEqual(c.events.removed, [{ room: 'b' }]);
    assert.equal(c.events.inbox.length, 2);
    c.stop();
  });

  test('a heartbeat; a silent socket is dropped; backoff grows and resets', (t) => {
    const c = newInbox(t);
    c.start();
    FakeSocket.all[0].receive(snapshot([]));
    t.mock.timers.tick(1000);
    assert.deepEqual(FakeSocket.all[0].sent, ['ping']);
    t.mock.timers.tick(500);
    assert.equal(c.state, 'waiting', 'no pong: dead');
    assert.equal(FakeSocket.all[0].closed, 4000);
    t.mock.timers.tick(100);
    assert.equal(FakeSocket.all.length, 2);
    FakeSocket.all[1].serverClose(1006);
    assert.ok(c.retryAt - Date.now() > 50, 'the second wait is longer');
    c.stop();
  });

  test('a refusal stops for good; "not now" waits longer; a 4401 asks for one fresh token', async (t) => {
    const c = newInbox(t);
    c.start();
    FakeSocket.all[0].receive({ type: 'error', code: 'forbidden', message: 'no' });
    FakeSocket.all[0].serverClose(CLOSE_FORBIDDEN, 'forbidden');
    assert.equal(c.state, 'refused');
    assert.deepEqual(c.events.refused, [{ code: 'forbidden', message: 'no', closeCode: CLOSE_FORBIDDEN }]);
    t.mock.timers.tick(60_000);
    assert.equal(FakeSocket.all.length, 1, 'no reconnect');
    const busy = newInbox(t);
    busy.start();
    FakeSocket.all[0].serverClose(CLOSE_RATE_LIMITED);
    assert.ok(busy.retryAt - Date.now() >= 2000, 'a busy server gets a longer wait');
    busy.stop();
    const tokens = ['t1', 't2'];
    const signed = newInbox(t, { key: null, getToken: async () => tokens.shift() });
    signed.start();
    await Promise.resolve();
    await Promise.resolve();
    assert.equal(new URL(FakeSocket.all[0].url).searchParams.get('token'), 't1');
    FakeSocket.all[0].serverClose(CLOSE_UNAUTHORIZED, 'token_expired');
    for (let i = 0; i < 4; i++) await Promise.resolve();
    assert.equal(new URL(FakeSocket.all[1].url).searchParams.get('token'), 't2');
    signed.stop();
  });
});

describe('the person’s requests', () => {
  test('leave, mute and openDm go over HTTP with the person’s credentials', async (t) => {
    const calls = [];
    const fetch = async (url, init) => {
      calls.push({ url: new URL(url), init });
      const body = url.includes('/api/dms') ? { room: 'dm.x', members: [] } : init.method === 'PATCH' ? entry('a', { muted: true }) : { room: 'a', left: true };
      return { ok: true, status: 200, json: async () => body };
    };
    const c = newInbox(t, { fetch });
    c.start();
    FakeSocket.all[0].receive(snapshot([entry('a')]));
    assert.equal(await c.openDm('u-bob'), 'dm.x');
    assert.equal(calls[0].init.method, 'POST');
    assert.equal(calls[0].url.searchParams.get('key'), 'k'.repeat(22));
    assert.deepEqual(JSON.parse(calls[0].init.body), { with: 'u-bob' });
    await c.mute('a');
    assert.equal(c.entry('a').muted, true);
    await c.leave('a');
    assert.equal(c.entry('a'), null);
    assert.deepEqual(calls.map((x) => `${x.init.method} ${x.url.pathname}`), ['POST /api/dms', 'PATCH /api/me/rooms/a', 'DELETE /api/me/rooms/a']);
    const refusing = newInbox(t, { fetch: async () => ({ ok: false, status: 403, json: async () => ({ error: { code: 'forbidden', message: 'no' } }) }) });
    await assert.rejects(refusing.openDm('x'), (e) => e.code === 'forbidden');
    const signed = newInbox(t, { key: null, token: 'tok', fetch });
    await signed.read();
    assert.equal(calls.at(-1).init.headers.authorization, 'Bearer tok');
    c.stop();
  });
});
