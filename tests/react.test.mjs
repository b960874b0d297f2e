// @edge-chat/react (packages/react) without a server: React 19 and react-dom rendering into a DOM
// this file provides (happy-dom), the rooms' clients on the fake socket, the offline store in memory.
// One `describe` per promise the hooks make: useRoom draws a visited room from the store before it
// connects and then what the resume brought; each hook re-renders only when its own slice changed;
// StrictMode's double mounting opens one socket, and the last component's going closes it;
// useSearch asks once the room is online and pages with more(). The example app against a real
// server is tests/browser-react.test.mjs.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { Window } from 'happy-dom';
import { FakeSocket } from './common/fake-socket.mjs';
import { ROOT } from './common/harness.mjs';

// @edge-chat/react imports @edge-chat/client by its package name: the built bundle (a fraction of a second).
execFileSync(process.execPath, ['packages/client/build.mjs'], { cwd: ROOT });

const window = new Window({ url: 'http://127.0.0.1/' });
Object.assign(globalThis, { window, document: window.document, navigator: window.navigator, HTMLElement: window.HTMLElement, Node: window.Node, IS_REACT_ACT_ENVIRONMENT: true });
const React = await import('react');
const { createRoot } = await import('react-dom/client');
const { ChatClient, MemoryStore } = await import('@edge-chat/client');
const { ChatHub, ChatProvider, useChat, useInbox, useRoom, useSearch, useThread } = await import('@edge-chat/react');
const { act, createElement: h, StrictMode, memo, startTransition } = React;

after(() => window.happyDOM.close());

const ME = { id: 'me', name: 'ann', uid: 'u-ann' };
const BOB = { id: 'b', name: 'bob', uid: 'u-bob' };
const welcome = (room, extra = {}) => ({ type: 'welcome', room, you: ME, members: [ME, BOB], history: [], last_seq: 0, truncated: false, rev: 0, read_seq: 0, unread: 0, role: 'member', expires: null, slow_mode: 0, ...extra });
const msg = (seq, extra = {}) => ({ seq, id: `c-${seq}`, from: BOB, text: `m${seq}`, ts: 1000 + seq, reply_to: null, edited_at: null, version: 1, deleted: false, reactions: {}, rev: seq, ...extra });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const OPTIONS = { origin: 'http://127.0.0.1:9', name: 'ann', key: 'k'.repeat(32), WebSocket: FakeSocket, heartbeatMs: 600_000, lingerMs: 20, searchDelayMs: 0 };

/** The socket the client of `room` opened last. */
const socketOf = (room) => FakeSocket.all.filter((s) => new URL(s.url).pathname === `/ws/${room}`).at(-1);

/** Renders `element` into a fresh container; returns it with an unmount. */
async function render(element) {
  const container = document.createElement('div');
  document.body.appendChild(container);
  const root = createRoot(container);
  await act(async () => root.render(element));
  return { container, unmount: () => act(async () => root.unmount()) };
}

/** Plays the server: `frame` to the socket of `room`, inside act() so React renders what follows. */
const serve = (room, frame) => act(async () => socketOf(room).receive(frame));

before(() => {
  FakeSocket.all = [];
});

describe('useRoom: the room from the store at once, then what the resume brought', () => {
  test('a visited room draws its kept messages before any socket, then only what changed, then our send', async () => {
    const store = new MemoryStore();
    // Visited before: messages 1 and 2 kept.
    const earlier = new ChatClient({ ...OPTIONS, room: 'kept', store });
    earlier.start();
    socketOf('kept').receive(welcome('kept', { history: [msg(1), msg(2)], last_seq: 2, rev: 2 }));
    await sleep(0);
    earlier.stop();
    FakeSocket.all = [];

    const seen = [];
    function Room() {
      const room = useRoom('kept');
      seen.push({ status: room.status, texts: room.messages.map((m) => m.text), sockets: FakeSocket.all.length, fromCache: room.fromCache });
      return h('ul', null, ...room.messages.map((m) => h('li', { key: m.seq }, m.text)), ...room.pending.map((e) => h('li', { key: e.key, className: 'pending' }, e.text)));
    }
    const view = await render(h(ChatProvider, { ...OPTIONS, store }, h(Room)));
    assert.deepEqual(view.container.textContent, 'm1m2', 'drawn from the store');
    assert.ok(seen.some((s) => s.texts.length === 2 && s.status === 'connecting' && s.fromCache), 'before the room answered');
    assert.equal(new URL(socketOf('kept').url).searchParams.get('after'), '2', 'then it resumed after what it had');

    await serve('kept', welcome('kept', { changes: [msg(1, { text: 'm1 edited', version: 2, rev: 3 })], history: [msg(3, { rev: 4 })], last_seq: 3, rev: 4 }));
    assert.equal(view.container.textContent, 'm1 editedm2m3');
    assert.equal(seen.at(-1).status, 'online');

    await view.unmount();
  });

  test('send shows the message as pending, then stored; the actions are the same functions in every snapshot', async () => {
    FakeSocket.all = [];
    const snapshots = [];
    function Room() {
      const room = useRoom('acts');
      snapshots.push(room);
      return h('ul', null, ...room.messages.map((m) => h('li', { key: m.seq }, m.text)), ...room.pending.map((e) => h('li', { key: e.key }, `${e.text} (sending)`)));
    }
    const view = await render(h(ChatProvider, { ...OPTIONS, store: new MemoryStore() }, h(Room)));
    await serve('acts', welcome('acts'));
    let sent;
    await act(async () => {
      sent = snapshots.at(-1).send('hello');
    });
    assert.equal(view.container.textContent, 'hello (sending)');
    const { id } = socketOf('acts').last('message');
    await serve('acts', { type: 'ack', id, seq: 1, ts: 5, rev: 1 });
    assert.deepEqual(await sent, { id, seq: 1, ts: 5, rev: 1 });
    assert.equal(view.container.textContent, 'hello');
    assert.ok(snapshots.length >= 3);
    for (const name of ['send', 'edit', 'remove', 'react', 'markRead', 'loadOlder']) {
      assert.ok(snapshots.every((s) => s[name] === snapshots[0][name]), `${name} is one function`);
    }
    await view.unmount();
  });
});

/** A hub over `store` with the test's options (for a provider given a hub made outside React). */
function hubOf(store) {
  return new ChatHub({ ...OPTIONS, store });
}

describe('each hook re-renders only on its own slice', () => {
  test('a message in room a re-renders a\'s component only; typing leaves the message list the same array; a search answer re-renders the search only', async () => {
    FakeSocket.all = [];
    const renders = { a: 0, b: 0, search: 0, list: 0 };
    const List = memo(function List({ messages }) {
      renders.list += 1;
      return h('ol', null, ...messages.map((m) => h('li', { key: m.seq }, m.text)));
    });
    function A() {
      renders.a += 1;
      const room = useRoom('a');
      return h('section', null, h(List, { messages: room.messages }), h('p', null, room.typing.map((u) => u.name).join()));
    }
    function B() {
      renders.b += 1;
      useRoom('b');
      return null;
    }
    function Search() {
      renders.search += 1;
      const s = useSearch('a', 'm1');
      return h('p', { id: 'hits' }, `${s.status}:${s.results.map((r) => r.seq).join()}`);
    }
    const view = await render(h(ChatProvider, { ...OPTIONS, store: new MemoryStore() }, h(A), h(B), h(Search)));
    await serve('a', welcome('a', { history: [msg(1)], last_seq: 1, rev: 1 }));
    await serve('b', welcome('b'));
    await act(() => sleep(5)); // the search goes once the room is online
    const asked = socketOf('a').last('search');
    assert.equal(asked.q, 'm1');
    await serve('a', { type: 'search_results', id: asked.id, results: [{ ...msg(1), snippet: '<mark>m1</mark>' }], has_more: false });
    assert.equal(view.container.querySelector('#hits').textContent, 'done:1');

    const before = { ...renders };
    await serve('a', { type: 'message', ...msg(2) });
    assert.equal(renders.a, before.a + 1, 'a re-rendered once for its message');
    assert.equal(renders.list, before.list + 1);
    assert.equal(renders.b, before.b, 'b did not');
    assert.equal(renders.search, before.search, 'the search did not');

    const beforeTyping = { ...renders };
    await serve('a', { type: 'typing', user: BOB });
    assert.equal(view.container.querySelector('p').textContent, 'bob');
    assert.equal(renders.a, beforeTyping.a + 1);
    assert.equal(renders.list, beforeTyping.list, 'the message list is the same array: its memo skipped');
    assert.equal(renders.b + renders.search, beforeTyping.b + beforeTyping.search);

    const beforeB = { ...renders };
    await serve('b', { type: 'message', ...msg(1) });
    assert.deepEqual([renders.a, renders.search, renders.b], [beforeB.a, beforeB.search, beforeB.b + 1]);
    await view.unmount();
  });
});

describe('StrictMode and concurrent rendering', () => {
  test('StrictMode mounts twice and connects once; the room closes a moment after its last component', async () => {
    FakeSocket.all = [];
    function Room() {
      const room = useRoom('strict');
      return h('p', null, room.status);
    }
    const hub = hubOf(new MemoryStore());
    const view = await render(h(StrictMode, null, h(ChatProvider, { hub }, h(Room), h(Room))));
    await act(() => sleep(40)); // past the linger of StrictMode's simulated unmount
    assert.equal(FakeSocket.all.length, 1, 'one socket for two components, mounted twice each');
    await serve('strict', welcome('strict'));
    assert.equal(view.container.textContent, 'onlineonline');
    await view.unmount();
    assert.equal(socketOf('strict').closed, null, 'still open within the linger');
    await act(() => sleep(40));
    assert.equal(socketOf('strict').closed, 1000, 'closed after it');
    assert.equal(hub.client('strict').state, 'closed');
  });

  test('components reading one room in a transition all see the same state', async () => {
    FakeSocket.all = [];
    const hub = hubOf(new MemoryStore());
    function Count({ label }) {
      const room = useRoom('tr');
      return h('span', { 'data-label': label }, String(room.messages.length));
    }
    function Page({ n }) {
      return h('div', null, ...Array.from({ length: n }, (_, i) => h(Count, { key: i, label: i })));
    }
    const container = document.createElement('div');
    const root = createRoot(container);
    await act(async () => root.render(h(ChatProvider, { hub }, h(Page, { n: 3 }))));
    await serve('tr', welcome('tr', { history: [msg(1)], last_seq: 1, rev: 1 }));
    await act(async () => {
      startTransition(() => root.render(h(ChatProvider, { hub }, h(Page, { n: 40 }))));
      // The room changes while the transition renders.
      socketOf('tr').receive({ type: 'message', ...msg(2) });
      socketOf('tr').receive({ type: 'message', ...msg(3) });
    });
    const shown = [...container.querySelectorAll('span')].map((s) => s.textContent);
    assert.equal(shown.length, 40);
    assert.deepEqual(new Set(shown), new Set(['3']), 'no component shows an older state than another');
    await act(async () => root.unmount());
  });
});

describe('useSearch', () => {
  test('asks once the room is online, shows the answer, more() appends the next page; a new query is a new search', async () => {
    FakeSocket.all = [];
    let s;
    function Search({ q }) {
      s = useSearch('find', q);
      return h('p', null, `${s.status}:${s.results.map((r) => r.seq).join()}`);
    }
    const hub = hubOf(new MemoryStore());
    const view = await render(h(ChatProvider, { hub }, h(Search, { q: 'hello' })));
    assert.equal(view.container.textContent, 'loading:');
    await act(() => sleep(5));
    assert.equal(socketOf('find').frames('search').length, 0, 'not before the room is online');
    await serve('find', welcome('find'));
    await act(() => sleep(5));
    const first = socketOf('find').last('search');
    assert.deepEqual([first.q, first.offset], ['hello', undefined]);
    await serve('find', { type: 'search_results', id: first.id, results: [msg(9), msg(7)], has_more: true, next_offset: 2 });
    assert.equal(view.container.textContent, 'done:9,7');
    await act(async () => {
      s.more();
    });
    const second = socketOf('find').last('search');
    assert.equal(second.offset, 2);
    await serve('find', { type: 'search_results', id: second.id, results: [msg(3)], has_more: false });
    assert.equal(view.container.textContent, 'done:9,7,3');
    assert.equal(s.hasMore, false);

    await act(async () => view.unmount());
    const again = await render(h(ChatProvider, { hub }, h(Search, { q: '  ' })));
    assert.equal(again.container.textContent, 'idle:', 'an empty query asks nothing');
    await again.unmount();
  });
});

describe('useThread', () => {
  test('the first page once online, live replies join it, the room\'s list leaves them out, our reply is pending then stored, the count is the thread\'s own; reopened from the store', async () => {
    FakeSocket.all = [];
    const store = new MemoryStore();
    const summary = { replies: 2, last_seq: 3, last_at: 1003, participants: ['u-bob'] };
    const renders = { room: 0, thread: 0 };
    let t;
    function Room() {
      renders.room += 1;
      const room = useRoom('th');
      return h('p', { id: 'room' }, room.messages.map((m) => m.text).join());
    }
    function Thread() {
      renders.thread += 1;
      t = useThread('th', 1);
      return h('p', { id: 'thread' }, `${t.status}|${t.root?.thread?.replies ?? '-'}|${t.replies.map((m) => m.text).join()}|${t.pending.map((e) => e.text).join()}|${t.unread}`);
    }
    const hub = hubOf(store);
    const view = await render(h(ChatProvider, { hub }, h(Room), h(Thread)));
    const text = (id) => view.container.querySelector(`#${id}`).textContent;
    await serve('th', welcome('th', { history: [msg(1, { thread: summary }), msg(4)], last_seq: 4, rev: 4 }));
    const asked = socketOf('th').last('thread');
    assert.deepEqual([asked.root, asked.after], [1, undefined], 'the first page, once online');
    await serve('th', { type: 'thread_page', id: asked.id, root: msg(1, { thread: summary }), replies: [msg(2, { thread: 1 }), msg(3, { thread: 1 })], has_more: false });
    assert.equal(text('thread'), 'done|2|m2,m3||0');
    assert.equal(text('room'), 'm1,m4', 'replies only in their thread stay out of the conversation');

    const before = { ...renders };
    await serve('th', { type: 'message', ...msg(5, { thread: 1 }) });
    assert.deepEqual([renders.room, renders.thread], [before.room, before.thread + 1], 'a reply re-renders the thread, not the room');
    await serve('th', { type: 'thread_updated', root: 1, thread: { ...summary, replies: 3, last_seq: 5 }, rev: 6 });
    await serve('th', { type: 'unread', mentions: 0, thread_unread: 1, threads: [{ root: 1, unread: 1 }] });
    assert.equal(text('thread'), 'done|3|m2,m3,m5||1');

    await act(async () => {
      t.send('mine').catch(() => {});
    });
    const sent = socketOf('th').last('message');
    assert.deepEqual([sent.text, sent.thread], ['mine', 1]);
    assert.equal(text('thread'), 'done|3|m2,m3,m5|mine|1');
    assert.equal(text('room'), 'm1,m4', 'a pending reply in the thread is not the room\'s');
    await serve('th', { type: 'ack', id: sent.id, seq: 7, ts: 9, rev: 7 });
    assert.equal(text('thread'), 'done|3|m2,m3,m5,mine||1');
    await act(async () => t.markRead(7));
    assert.deepEqual(socketOf('th').last('read'), { type: 'read', seq: 7, thread: 1 });
    await view.unmount();
    await act(() => sleep(40));

    // Another provider on the same store (a reload): the thread is drawn before the room answers.
    FakeSocket.all = [];
    const again = await render(h(ChatProvider, { hub: hubOf(store) }, h(Thread)));
    assert.match(again.container.textContent, /^loading\|3\|m2,m3,m5,mine\|\|0$/);
    await again.unmount();
    await act(() => sleep(40));
  });
});

describe('useInbox', () => {
  test('the person\'s rooms from /ws/me, most recent first with totals; an entry re-renders the inbox and not a room; drawn from the store before it connects, beside a room called "inbox" kept in the same store', async () => {
    FakeSocket.all = [];
    const store = new MemoryStore();
    const entry = (room, extra = {}) => ({ room, unread: 0, mentions: 0, threads: 0, read_seq: 0, last_seq: 0, last: null, muted: false, at: 1000, ...extra });
    const renders = { inbox: 0, room: 0 };
    function Inbox() {
      renders.inbox += 1;
      const box = useInbox();
      return h('p', { id: 'inbox' }, `${box.status}|${box.fromCache}|${box.entries.map((e) => `${e.room}:${e.unread}`).join()}|${box.totals.unread}`);
    }
    function Room() {
      renders.room += 1;
      const room = useRoom('inbox');
      return h('p', { id: 'room' }, String(room.messages.length));
    }
    const view = await render(h(ChatProvider, { hub: hubOf(store) }, h(Inbox), h(Room)));
    const text = () => view.container.querySelector('#inbox').textContent;
    const me = () => FakeSocket.all.filter((s) => new URL(s.url).pathname === '/ws/me').at(-1);
    assert.ok(me(), 'the inbox socket is open');
    await act(async () => me().receive({ type: 'inbox', uid: 'u-ann', name: 'ann', rooms: [entry('inbox', { unread: 2, at: 1000 }), entry('b', { at: 2000 })], online: [] }));
    assert.equal(text(), 'online|false|b:0,inbox:2|2');
    await serve('inbox', welcome('inbox'));

    const before = { ...renders };
    await serve('inbox', { type: 'message', ...msg(1) });
    assert.deepEqual([renders.inbox, renders.room], [before.inbox, before.room + 1], 'a room\'s message re-renders the room only');
    await act(async () => me().receive({ type: 'entry', entry: entry('inbox', { unread: 3, at: 3000 }) }));
    assert.equal(text(), 'online|false|inbox:3,b:0|3');
    assert.deepEqual([renders.inbox, renders.room], [before.inbox + 1, before.room + 1], 'an entry re-renders the inbox only');
    await view.unmount();
    await act(() => sleep(40));

    FakeSocket.all = [];
    const again = await render(h(ChatProvider, { hub: hubOf(store) }, h(Inbox), h(Room)));
    const shown = () => again.container.querySelector('#inbox').textContent;
    assert.equal(shown(), 'connecting|true|inbox:3,b:0|3', 'the kept inbox, before the socket answered');
    // The room called "inbox" kept its own record: its message and where to resume from.
    assert.equal(again.container.querySelector('#room').textContent, '1');
    const resume = new URL(socketOf('inbox').url).searchParams;
    assert.deepEqual([resume.get('after'), resume.get('since')], ['1', '1']);
    await act(async () => me().receive({ type: 'inbox', uid: 'u-ann', name: 'ann', rooms: [entry('inbox', { unread: 0, at: 3000 })], online: [] }));
    assert.equal(shown(), 'online|false|inbox:0|0', 'then the live one');
    await again.unmount();
    await act(() => sleep(40));
  });
});

describe('sign-out', () => {
  test('the hub\'s clearCache() stops every room and empties the store; a room still shown starts afresh', async () => {
    FakeSocket.all = [];
    const store = new MemoryStore();
    const hub = hubOf(store);
    function Room() {
      const room = useRoom('out');
      return h('p', null, `${room.status}:${room.messages.length}`);
    }
    const view = await render(h(ChatProvider, { hub }, h(Room)));
    await serve('out', welcome('out', { history: [msg(1), msg(2)], last_seq: 2, rev: 2 }));
    await act(() => sleep(5));
    assert.equal(store.rooms().length, 1);
    const first = socketOf('out');
    await act(() => hub.clearCache());
    assert.equal(first.closed, 1000, 'the room was stopped');
    assert.deepEqual(store.rooms().map((r) => r.count), [0], 'no message of ours is left in the store (the fresh room keeps its own, empty, state)');
    await act(() => sleep(5));
    assert.equal(view.container.textContent, 'connecting:0', 'the room shown starts afresh, with nothing kept');
    assert.equal(new URL(socketOf('out').url).searchParams.get('after'), null);
    await view.unmount();
    await act(() => sleep(40));
  });
});

describe('the package', () => {
  test('types/index.d.ts declares exactly what src/index.js exports', async () => {
    const { readFileSync } = await import('node:fs');
    const dts = readFileSync(`${ROOT}/packages/react/types/index.d.ts`, 'utf8');
    const declared = [...dts.matchAll(/^export declare (?:const|function|class) (\w+)/gm)].map((m) => m[1]).sort();
    assert.deepEqual(declared, Object.keys(await import('@edge-chat/react')).sort());
  });

  test('a consumer type-checks under tsc --strict with @types/react, and a wrong use does not', async () => {
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const tsc = `${ROOT}/node_modules/.bin/tsc`;
    const args = (file) => ['--strict', '--noEmit', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--lib', 'es2022,dom', '--types', 'react', file];
    execFileSync(tsc, args('tests/sdk/react-consumer.ts'), { cwd: ROOT, encoding: 'utf8' });
    // A wrong use, beside the consumer (so it resolves the same packages): a room must be a string.
    const dir = mkdtempSync(`${ROOT}/tests/sdk/.wrong-`);
    try {
      writeFileSync(`${dir}/wrong.ts`, "import { useRoom } from '@edge-chat/react';\nexport const r = useRoom(42);\n");
      assert.throws(() => execFileSync(tsc, args(`${dir}/wrong.ts`), { cwd: ROOT, encoding: 'utf8' }), (e) => /TS2345/.test(e.stdout));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
