// The client's offline store (packages/client/src/store.js, cache.js) without a server: a fake socket,
// node:test's fake clock, and one store shared by the client before and after a "reload" (a new
// ChatClient on the same store, the old one abandoned mid-flight as a crashed tab would be). What it
// proves: a room opens from the store before any socket is asked for and resumes with after=/since=
// applying only what changed; the outbox — messages, edits, deletions, reactions, the read position —
// outlives the client and goes out once, with its ids, in order; acks that come twice change nothing;
// the caps evict the oldest messages and never an unsent entry; unsentEntries() finds what a sign-out
// would discard, and clearCache() leaves nothing. The same
// in Chromium over IndexedDB is tests/browser-offline-store.test.mjs.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChatClient, MemoryStore, clearCache, evictionPlan, pendingChanges, unsentEntries } from '../packages/client/src/index.js';
import { FakeSocket } from './common/fake-socket.mjs';

const ME = { id: 'me', name: 'ann', uid: 'u-ann' };
const BOB = { id: 'b', name: 'bob', uid: 'u-bob' };
const welcome = (extra = {}) => ({ type: 'welcome', room: 'r', you: ME, members: [ME], history: [], last_seq: 0, truncated: false, rev: 0, read_seq: 0, unread: 0, role: 'member', expires: null, slow_mode: 0, ...extra });
const msg = (seq, extra = {}) => ({ seq, id: `c-${seq}`, from: BOB, text: `m${seq}`, ts: 1000 + seq, reply_to: null, edited_at: null, version: 1, deleted: false, reactions: {}, rev: seq, ...extra });

const clocked = new WeakSet();

/** A client on `store`, the fake socket and clock; `events` lists what it emitted, with the socket count then. */
function client(t, store, options = {}) {
  if (!clocked.has(t)) {
    t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
    clocked.add(t);
  }
  const c = new ChatClient({ room: 'r', name: 'ann', origin: 'http://127.0.0.1:9', key: 'k'.repeat(32), WebSocket: FakeSocket, heartbeatMs: 600_000, backoff: { base: 100, cap: 100 }, store, ...options });
  c.events = [];
  for (const type of ['cached', 'message', 'update', 'outbox', 'notice', 'reset']) c.addEventListener(type, (e) => c.events.push({ type, sockets: FakeSocket.all.length, ...e.detail }));
  return c;
}

/** Lets the store's end-of-turn write happen (a microtask). */
const written = () => new Promise((resolve) => setImmediate(resolve));

/** A store that answers like IndexedDB does: every call a promise, a moment later. */
class SlowStore {
  constructor(inner = new MemoryStore()) {
    this.inner = inner;
    this.saves = 0;
    this.failNext = false;
  }
  load(room) {
    return Promise.resolve().then(() => this.inner.load(room));
  }
  save(room, change) {
    return Promise.resolve().then(() => {
      if (this.failNext) {
        this.failNext = false;
        throw new Error('quota');
      }
      this.saves += 1;
      this.inner.save(room, change);
    });
  }
  trim(room, keep) {
    return Promise.resolve().then(() => this.inner.trim(room, keep));
  }
  rooms() {
    return Promise.resolve().then(() => this.inner.rooms());
  }
  clear() {
    return Promise.resolve().then(() => this.inner.clear());
  }
}

/** A client that was online in room r, got messages 1..n, and was abandoned (a closed or crashed tab). */
async function visited(t, store, n = 3, extra = {}) {
  FakeSocket.all = [];
  const c = client(t, store);
  await c.start();
  FakeSocket.all[0].receive(welcome({ history: Array.from({ length: n }, (_, i) => msg(i + 1)), last_seq: n, rev: n, ...extra }));
  await written();
  c.clearTimers(); // the tab is gone: no timer of it fires again
  FakeSocket.all = [];
  return c;
}

describe('a visited room opens from the store, then resumes with what changed', () => {
  test('its messages are reported before any socket is opened; the resume asks after=/since= and applies only the changes', async (t) => {
    const store = new MemoryStore();
    await visited(t, store, 3);
    const c = client(t, store);
    c.start();
    const cached = c.events.filter((e) => e.type === 'message');
    assert.deepEqual(cached.map((e) => [e.message.seq, e.cached, e.live, e.sockets]), [[1, true, false, 0], [2, true, false, 0], [3, true, false, 0]], 'drawn before the socket exists');
    assert.deepEqual(c.events.find((e) => e.type === 'cached'), { type: 'cached', sockets: 0, messages: 3, outbox: 0 });
    const url = new URL(FakeSocket.all[0].url);
    assert.deepEqual([url.searchParams.get('after'), url.searchParams.get('since')], ['3', '3']);
    c.events.length = 0;
    // While away: 2 was edited, 4 arrived.
    FakeSocket.all[0].receive(welcome({ changes: [msg(2, { text: 'm2 edited', version: 2, rev: 5 })], history: [msg(4, { rev: 4 })], last_seq: 4, rev: 5 }));
    assert.deepEqual(c.events.filter((e) => e.type === 'message').map((e) => e.message.seq), [4], 'only the new message is new');
    assert.deepEqual(c.events.filter((e) => e.type === 'update').map((e) => [e.message.seq, e.message.text]), [[2, 'm2 edited']]);
    await written();
    const kept = store.load(c.cacheKey);
    assert.deepEqual(kept.messages.map((m) => m.text).sort(), ['m1', 'm2 edited', 'm3', 'm4']);
    assert.deepEqual([kept.meta.lastSeq, kept.meta.rev], [4, 5], 'the resume point moved with the messages');
    c.stop();
  });

  test('a long kept history: the newest 100 are reported at once, the rest a task later as older messages', async (t) => {
    const store = new MemoryStore();
    await visited(t, store, 150);
    const c = client(t, store);
    c.start();
    const first = c.events.filter((e) => e.type === 'message');
    assert.deepEqual([first.length, first[0].message.seq, first.at(-1).message.seq], [100, 51, 150]);
    assert.equal(c.messages.size, 150, 'all held at once: a resume changes any of them');
    t.mock.timers.tick(0);
    const later = c.events.filter((e) => e.type === 'message').slice(100);
    assert.deepEqual([later.length, later[0].message.seq, later.at(-1).message.seq, later.every((e) => e.older && e.cached)], [50, 50, 1, true]);
    c.stop();
  });

  test('an asynchronous store (as IndexedDB is) is read before the socket is asked for', async (t) => {
    const store = new SlowStore();
    await visited(t, store, 2);
    const c = client(t, store);
    const started = c.start();
    assert.equal(FakeSocket.all.length, 0, 'not yet: the store has not answered');
    await started;
    assert.equal(FakeSocket.all.length, 1);
    assert.equal(new URL(FakeSocket.all[0].url).searchParams.get('after'), '2');
    assert.deepEqual(c.events.filter((e) => e.type === 'message').map((e) => [e.message.seq, e.sockets]), [[1, 0], [2, 0]]);
    c.stop();
  });

  test('a resume too far behind drops the kept messages with the held ones; a store that fails a write is written again', async (t) => {
    const store = new SlowStore();
    await visited(t, store, 3);
    const c = client(t, store);
    await c.start();
    store.failNext = true;
    FakeSocket.all[0].receive(welcome({ truncated: true, history: [msg(90)], last_seq: 90, rev: 90 }));
    await written();
    assert.deepEqual(store.inner.load(c.cacheKey).messages.map((m) => m.seq).sort((a, b) => a - b), [1, 2, 3], 'the failed write changed nothing');
    FakeSocket.all[0].receive({ type: 'message', ...msg(91) });
    await written();
    await written();
    const kept = store.inner.load(c.cacheKey);
    assert.deepEqual(kept.messages.map((m) => m.seq).sort((a, b) => a - b), [90, 91], 'the next write carried the failed one too');
    assert.equal(kept.meta.lastSeq, 91);
    c.stop();
  });
});

describe('the outbox outlives the client and goes out once, with its ids, in order', () => {
  test('reload mid-send: the message is resent under its id; stored before the crash, the resume settles it without a second send', async (t) => {
    const store = new MemoryStore();
    await visited(t, store, 1);
    const a = client(t, store);
    a.start();
    FakeSocket.all[0].receive(welcome({ history: [msg(1)], last_seq: 1, rev: 1 }));
    a.send('one').catch(() => {});
    a.send('two').catch(() => {});
    const sent = FakeSocket.all[0].messages();
    assert.deepEqual(sent.map((f) => f.text), ['one', 'two']);
    await written();
    a.clearTimers(); // crash: no ack ever reaches this client

    FakeSocket.all = [];
    const b = client(t, store);
    b.start();
    assert.deepEqual(b.outbox.map((e) => [e.text, e.id]), sent.map((f) => [f.text, f.id]), 'restored with the same ids');
    assert.deepEqual(b.events.filter((e) => e.type === 'outbox').at(-1).entries.map((e) => e.text), ['one', 'two'], 'shown as pending before connecting');
    // The room had stored "one" (its ack was lost with the tab), not "two".
    FakeSocket.all[0].receive(welcome({ history: [msg(2, { id: sent[0].id, from: ME, text: 'one' })], last_seq: 2, rev: 2 }));
    assert.deepEqual(FakeSocket.all[0].messages().map((f) => [f.text, f.id]), [['two', sent[1].id]], '"one" is not sent again; "two" goes with its id');
    FakeSocket.all[0].receive({ type: 'ack', id: sent[1].id, seq: 3, ts: 5, rev: 3 });
    await written();
    assert.deepEqual(store.load(b.cacheKey).outbox, [], 'both settled: nothing left to send');
    assert.deepEqual([...b.messages.values()].map((m) => m.text), ['m1', 'one', 'two']);
    b.stop();
  });

  test('an ack that comes twice, or after the resume already brought the message, reports it once and settles it once', async (t) => {
    const store = new MemoryStore();
    const c = client(t, store);
    FakeSocket.all = [];
    c.start();
    const ws = FakeSocket.all[0];
    ws.receive(welcome());
    const sent = c.send('hi');
    const { id } = ws.last('message');
    ws.receive({ type: 'ack', id, seq: 1, ts: 5, rev: 1 });
    ws.receive({ type: 'ack', id, seq: 1, ts: 5, rev: 1 });
    ws.onclose({ code: 1006 });
    t.mock.timers.tick(100);
    FakeSocket.all[1].receive(welcome({ history: [msg(1, { id, from: ME, text: 'hi' })], last_seq: 1, rev: 1 }));
    FakeSocket.all[1].receive({ type: 'ack', id, seq: 1, ts: 5, rev: 1 });
    assert.deepEqual(await sent, { id, seq: 1, ts: 5, rev: 1 });
    assert.deepEqual(c.events.filter((e) => e.type === 'message').map((e) => e.message.seq), [1], 'reported once');
    assert.equal(FakeSocket.all[1].messages().length, 0, 'not resent after the reconnect');
    await written();
    assert.deepEqual(store.load(c.cacheKey).outbox, []);
    c.stop();
  });

  test('edits, reactions and deletions wait in the store and go after a reload in the order made, the last about each thing only', async (t) => {
    const store = new MemoryStore();
    await visited(t, store, 3, { history: [1, 2, 3].map((s) => msg(s, { from: ME })) });
    const a = client(t, store);
    a.start();
    const ws = FakeSocket.all[0];
    ws.receive(welcome({ history: [], last_seq: 3, rev: 3 }));
    ws.onclose({ code: 1006 }); // offline from here on
    for (const p of [a.edit(1, 'first try'), a.react(2, '👍'), a.edit(1, 'second try'), a.react(3, '🎉'), a.react(2, '👍', false), a.edit(3, 'gone soon'), a.delete(3)]) p.catch(() => {});
    a.markRead(3);
    await written();
    a.clearTimers();

    FakeSocket.all = [];
    const b = client(t, store);
    b.start();
    const kept = store.load(b.cacheKey).outbox.filter((e) => e.kind === 'change').map((e) => e.frame.id);
    b.events.length = 0;
    FakeSocket.all[0].receive(welcome({ history: [], last_seq: 3, rev: 3, read_seq: 1 }));
    const frames = FakeSocket.all[0].frames().filter((f) => f.type !== 'message');
    assert.deepEqual(frames.map(({ id, ...f }) => f), [
      { type: 'edit', seq: 1, text: 'second try' },
      { type: 'react', seq: 2, emoji: '👍', on: false },
      { type: 'delete', seq: 3 },
      { type: 'read', seq: 3 },
    ]);
    assert.ok(frames.slice(0, 3).every((f) => kept.includes(f.id)), 'each under the id it was made with');
    for (const f of frames.slice(0, 3)) FakeSocket.all[0].receive({ type: 'ack', id: f.id, seq: f.seq, ts: 9, rev: 4 });
    await written();
    assert.deepEqual(store.load(b.cacheKey).outbox, [], 'acked: gone from the store');
    b.stop();
  });

  test('pendingChanges keeps the last change about each thing; a deletion ends everything before it about that message', () => {
    const a = [
      { id: '1', type: 'edit', seq: 1, text: 'a' },
      { id: '2', type: 'react', seq: 1, emoji: 'x', on: true },
      { id: '3', type: 'edit', seq: 1, text: 'b' },
      { id: '4', type: 'react', seq: 1, emoji: 'y', on: true },
      { id: '5', type: 'react', seq: 1, emoji: 'x', on: false },
      { id: '6', type: 'kick', uid: 'u' },
      { id: '7', type: 'edit', seq: 2, text: 'c' },
      { id: '8', type: 'delete', seq: 2 },
      { id: '9', type: 'delete', seq: 2 },
    ];
    const { kept, superseded } = pendingChanges(a);
    assert.deepEqual(kept.map((x) => x.id), ['3', '4', '5', '6', '9']);
    assert.deepEqual([...superseded], [['8', '9'], ['7', '9'], ['2', '5'], ['1', '3']]);
  });

  test('a kept outbox written under another identity is not sent as ours', async (t) => {
    const store = new MemoryStore();
    const a = client(t, store);
    FakeSocket.all = [];
    a.start();
    FakeSocket.all[0].receive(welcome());
    FakeSocket.all[0].onclose({ code: 1006 });
    a.send('written by ann').catch(() => {});
    await written();
    a.clearTimers();
    FakeSocket.all = [];
    const b = client(t, store, { name: 'cat' });
    b.start();
    FakeSocket.all[0].receive(welcome({ you: { id: 'c', name: 'cat', uid: 'u-cat' } }));
    assert.deepEqual(FakeSocket.all[0].messages(), []);
    assert.match(b.events.find((e) => e.type === 'notice').text, /1 unsent item from another sign-in/);
    b.stop();
  });
});

describe('bounds: caps per room and in total, never an unsent entry; clearCache()', () => {
  test('a room keeps its newest perRoom messages; over the total the room opened longest ago gives up its oldest; outbox entries stay', async (t) => {
    const store = new MemoryStore();
    const limits = { perRoom: 5, total: 150 };
    // Room "old": 5 messages and an unsent one, opened first.
    FakeSocket.all = [];
    const old = client(t, store, { room: 'old', cacheLimits: limits });
    old.start();
    FakeSocket.all[0].receive(welcome({ history: Array.from({ length: 8 }, (_, i) => msg(i + 1)), last_seq: 8, rev: 8 }));
    FakeSocket.all[0].onclose({ code: 1006 });
    old.send('unsent in old').catch(() => {});
    await written();
    assert.deepEqual(store.load(old.cacheKey).messages.map((m) => m.seq), [4, 5, 6, 7, 8], 'the newest 5 of 8');
    old.clearTimers();
    t.mock.timers.tick(1000);

    // Room "big" (perRoom 150) pushes the store over 150: "old" gives up its oldest, then all of them.
    FakeSocket.all = [];
    const big = client(t, store, { room: 'big', cacheLimits: { perRoom: 150, total: 150 } });
    big.start();
    FakeSocket.all[0].receive(welcome({ history: Array.from({ length: 148 }, (_, i) => msg(i + 1)), last_seq: 148, rev: 148 }));
    await written();
    await written();
    assert.deepEqual(store.load(old.cacheKey).messages.map((m) => m.seq), [7, 8], 'the 2 newest fit beside 148');
    for (let seq = 149; seq <= 150; seq++) FakeSocket.all[0].receive({ type: 'message', ...msg(seq) });
    await written();
    big.checkedCount = -Infinity; // ask again now rather than 100 messages later
    FakeSocket.all[0].receive({ type: 'message', ...msg(151) });
    await written();
    await written();
    const oldKept = store.load(old.cacheKey);
    assert.deepEqual(oldKept.messages, [], 'evicted, oldest first');
    assert.deepEqual(oldKept.outbox.map((e) => e.text), ['unsent in old'], 'never the unsent entry');
    assert.equal(store.load(big.cacheKey).messages.length, 150);

    // Reopened, "old" has no messages to resume from: a fresh welcome (no after=), the entry still goes.
    FakeSocket.all = [];
    const again = client(t, store, { room: 'old', cacheLimits: limits });
    again.start();
    assert.equal(new URL(FakeSocket.all[0].url).searchParams.get('after'), null);
    FakeSocket.all[0].receive(welcome({ history: [msg(8)], last_seq: 8, rev: 8 }));
    assert.deepEqual(FakeSocket.all[0].messages().map((f) => f.text), ['unsent in old']);
    big.stop();
    again.stop();
  });

  test('a room that refuses us for good as a matter of rights (4403, 4401) is forgotten; its unsent entries stay', async (t) => {
    const store = new MemoryStore();
    const c = await visited(t, store, 3);
    FakeSocket.all = [];
    const again = client(t, store);
    again.start();
    again.send('unsent').catch(() => {});
    FakeSocket.all[0].receive({ type: 'error', code: 'banned', message: 'banned' });
    FakeSocket.all[0].serverClose(4403, 'banned');
    await written();
    const kept = store.load(again.cacheKey);
    assert.deepEqual(kept.messages, []);
    assert.equal(kept.meta.lastSeq, null, 'no resume point left either');
    assert.deepEqual(kept.outbox.map((e) => e.text), ['unsent']);
    assert.ok(again.events.some((e) => e.type === 'reset'), 'the view drops them too');
    void c;
  });

  test('evictionPlan: nothing under the total; the least recently opened rooms first, the current room last', () => {
    const rooms = [
      { room: 'a', count: 10, openedAt: 3 },
      { room: 'b', count: 10, openedAt: 1 },
      { room: 'c', count: 10, openedAt: 2 },
    ];
    assert.deepEqual(evictionPlan(rooms, 30, 'a'), []);
    assert.deepEqual(evictionPlan(rooms, 25, 'a'), [{ room: 'b', keep: 5 }]);
    assert.deepEqual(evictionPlan(rooms, 8, 'b'), [{ room: 'c', keep: 0 }, { room: 'a', keep: 0 }, { room: 'b', keep: 8 }]);
  });

  test('clearCache() stops the client and leaves nothing for the next one; the client writes nothing after', async (t) => {
    const store = new MemoryStore();
    const c = await visited(t, store, 3);
    c.send('unsent').catch(() => {});
    await written();
    assert.ok(store.load(c.cacheKey));
    await c.clearCache();
    assert.equal(c.state, 'closed');
    assert.equal(store.load(c.cacheKey), null);
    assert.deepEqual(store.rooms(), []);
    c.markRead(3);
    await written();
    assert.deepEqual(store.rooms(), [], 'nothing written after');
    FakeSocket.all = [];
    const next = client(t, store);
    next.start();
    assert.equal(next.events.filter((e) => e.type === 'message').length, 0);
    assert.equal(new URL(FakeSocket.all[0].url).searchParams.get('after'), null);
    next.stop();
  });

  test('unsentEntries: every room\'s unsent messages and changes once, oldest first, with what a client holds but could not write', async (t) => {
    const store = new SlowStore();
    const r = await visited(t, store, 3);
    r.send('unsent in r').catch(() => {});
    t.mock.timers.tick(10);
    r.edit(2, 'm2 edited').catch(() => {});
    await written();
    t.mock.timers.tick(10);
    const other = client(t, store, { room: 'other' });
    await other.start();
    other.send('offline in other').catch(() => {});
    await written();
    t.mock.timers.tick(10);
    const unstored = client(t, null, { room: 'nowhere' }); // no store: its outbox is only in memory
    unstored.start();
    unstored.send('only in memory').catch(() => {});

    const unsent = await unsentEntries(store, [r, unstored]);
    const what = (list) => list.map((e) => [e.room, e.kind, e.text ?? `${e.frame.type} ${e.frame.seq}`]);
    assert.deepEqual(what(unsent), [
      ['r', 'message', 'unsent in r'],
      ['r', 'change', 'edit 2'],
      ['other', 'message', 'offline in other'],
      ['nowhere', 'message', 'only in memory'],
    ], 'r\'s entries once though both the store and the client hold them');
    assert.ok(unsent.every((e) => e.server === 'http://127.0.0.1:9' && typeof e.key === 'string'));

    // Acked, an entry is no longer unsent.
    const socket = r.ws;
    socket.receive({ type: 'ack', id: r.outbox[0].id, seq: 4, ts: 5000, rev: 4 });
    await written();
    assert.deepEqual(what(await unsentEntries(store)), [['r', 'change', 'edit 2'], ['other', 'message', 'offline in other']]);

    // Cleared, nothing is.
    await clearCache(store);
    assert.deepEqual(await unsentEntries(store), []);
    assert.deepEqual(await unsentEntries(null), [], 'no store, no clients: nothing');
    for (const c of [r, other, unstored]) c.stop();
  });
});
