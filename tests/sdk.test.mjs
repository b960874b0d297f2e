// The client SDK as a package (packages/client), without a server: its promise API on a fake socket
// and node:test's fake clock; its error codes against src/error.rs (one source of truth); its
// declarations against its exports and against a consumer under `tsc --strict`; and what
// `npm pack` would publish. Runs in a few seconds (tsc is most of it). The SDK against a real room is
// tests/sdk-live.test.mjs; its reconnect, resume and outbox rules are tests/client.test.mjs.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as sdk from '../packages/client/src/index.js';
import { CLOSE_BAD_REQUEST } from './common/close-codes.mjs';
import { FakeSocket } from './common/fake-socket.mjs';

const { ChatClient, ChatError, SERVER_ERROR_CODES, CLIENT_ERROR_CODES } = sdk;
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGE = join(ROOT, 'packages/client');


const ME = { id: 'me', name: 'ann', uid: 'u-ann' };
const welcome = (extra = {}) => ({ type: 'welcome', room: 'r', you: ME, members: [ME], history: [], last_seq: 0, truncated: false, rev: 0, read_seq: 0, unread: 0, role: 'member', expires: null, slow_mode: 0, ...extra });
const stored = (seq, extra = {}) => ({ seq, id: `c-${seq}`, from: ME, text: `m${seq}`, ts: 1000 + seq, reply_to: null, edited_at: null, version: 1, deleted: false, reactions: {}, rev: seq, ...extra });

/** A started client on a fake socket and clock, welcomed; its socket. */
function online(t, options = {}, extra = {}) {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
  FakeSocket.all = [];
  const c = new ChatClient({ room: 'r', name: 'ann', origin: 'http://127.0.0.1:9', key: 'k'.repeat(32), WebSocket: FakeSocket, heartbeatMs: 60_000, backoff: { base: 100, cap: 100 }, ...options });
  c.start();
  FakeSocket.all[0].receive(welcome(extra));
  return { c, ws: FakeSocket.all[0] };
}

/** Drops the socket and lets the client reconnect; the new socket (not yet welcomed). */
function reconnect(t, c) {
  FakeSocket.all.at(-1).onclose({ code: 1006 });
  t.mock.timers.tick(100);
  return FakeSocket.all.at(-1);
}

describe('every action is a promise that settles on its answer', () => {
  test('send resolves on the ack with the stored seq; a refusal rejects with a typed ChatError', async (t) => {
    const { c, ws } = online(t);
    const hello = c.send('hello');
    const frame = ws.last('message');
    ws.receive({ type: 'ack', id: frame.id, seq: 7, ts: 1234, rev: 9 });
    assert.deepEqual(await hello, { id: frame.id, seq: 7, ts: 1234, rev: 9 });

    const flood = c.send('too fast');
    ws.receive({ type: 'error', code: 'rate_limited', message: 'too many messages', id: ws.last('message').id });
    const error = await flood.catch((e) => e);
    assert.ok(error instanceof ChatError && error instanceof Error);
    assert.deepEqual([error.name, error.code, error.id], ['ChatError', 'rate_limited', ws.last('message').id]);
    assert.equal(c.outbox.length, 1, 'a refused message stays in the outbox, marked, for retry or discard');
    const again = c.retry(c.outbox[0].id);
    ws.receive({ type: 'ack', id: c.outbox[0].id, seq: 8, ts: 1300, rev: 10 });
    assert.equal((await again).seq, 8, 'retry() is a promise too');
    await assert.rejects(c.send('x'.repeat(4001)), { code: 'too_large' }, 'too large for welcome.limits: refused before sending');
    c.stop();
  });

  test('a send survives a dropped socket: resent with its id, resolved by the next welcome when the ack was lost', async (t) => {
    const { c, ws } = online(t);
    const pending = c.send('across a drop');
    const id = ws.last('message').id;
    const ws2 = reconnect(t, c);
    // The room had stored it before the drop: the resume's history holds it, which settles it.
    ws2.receive(welcome({ history: [stored(1, { id, text: 'across a drop' })], last_seq: 1, rev: 1 }));
    assert.deepEqual(await pending, { id, seq: 1, ts: 1001, rev: 1 });
    assert.equal(c.outbox.length, 0);
    c.stop();
  });

  test('edit, delete, react and moderator actions resolve on their ack; a refusal names the room\'s reason', async (t) => {
    const { c, ws } = online(t, {}, { history: [stored(1)], last_seq: 1, rev: 1, role: 'moderator' });
    const edit = c.edit(1, 'better');
    ws.receive({ type: 'ack', id: ws.last('edit').id, seq: 1, ts: 5, rev: 2 });
    assert.deepEqual(await edit, { id: ws.last('edit').id, seq: 1, ts: 5, rev: 2 });
    const react = c.react(1, '👍');
    assert.equal(ws.last('react').on, true, 'on defaults to true');
    ws.receive({ type: 'error', code: 'not_found', message: 'no message 1', id: ws.last('react').id });
    await assert.rejects(react, { code: 'not_found', message: 'no message 1' });
    const ban = c.ban('u-bob', { reason: 'spam' });
    assert.deepEqual({ ...ws.last('ban'), id: 0 }, { type: 'ban', uid: 'u-bob', reason: 'spam', id: 0 });
    ws.receive({ type: 'ack', id: ws.last('ban').id, seq: 0, ts: 6, rev: 2 });
    assert.equal((await ban).seq, 0);
    const mute = c.mute('u-bob', 600);
    assert.equal(ws.last('mute').seconds, 600);
    ws.receive({ type: 'error', code: 'forbidden', message: 'moderators only', id: ws.last('mute').id });
    await assert.rejects(mute, { code: 'forbidden' });
    const slow = c.slowMode(30);
    ws.receive({ type: 'ack', id: ws.last('slow_mode').id, seq: 0, ts: 7, rev: 2 });
    await slow;
    c.stop();
  });

  test('queries (history, search, moderation log, auth) resolve with their answer and fail offline when the socket goes', async (t) => {
    const { c, ws } = online(t, {}, { last_seq: 3 });
    const page = c.history({ before: 3, limit: 2 });
    assert.deepEqual({ ...ws.last('history'), id: 0 }, { type: 'history', before: 3, limit: 2, id: 0 });
    ws.receive({ type: 'history', id: ws.last('history').id, messages: [{ seq: 1, id: null, from: ME, text: 'old', ts: 1 }], has_more: false });
    const { messages, hasMore } = await page;
    assert.equal(hasMore, false);
    assert.deepEqual([messages[0].seq, messages[0].version, messages[0].deleted], [1, 1, false], 'messages filled in as living objects');

    const log = c.moderationLog({ limit: 5 });
    ws.receive({ type: 'moderation_log', id: ws.last('moderation_log').id, records: [], has_more: false, rules: { bans: [], mutes: [], slow_mode: 0 } });
    assert.deepEqual((await log).rules.bans, []);

    const auth = c.authenticate('v1.new');
    ws.receive({ type: 'auth_ok', id: ws.last('auth').id, role: 'moderator', expires: 2_000_000_000 });
    assert.equal((await auth).role, 'moderator');
    assert.equal(c.role, 'moderator');
    const refusedAuth = c.authenticate('v1.bad');
    ws.receive({ type: 'error', code: 'unauthorized', message: 'bad token', id: ws.last('auth').id });
    await assert.rejects(refusedAuth, { code: 'unauthorized' });

    const lost = c.search('lost');
    reconnect(t, c);
    await assert.rejects(lost, { code: 'offline' });
    await assert.rejects(c.history(), { code: 'offline' }, 'not connected: rejected at once');
    c.stop();
  });

  test('stop() and a final refusal reject what still waits; ready() says how the connect ended', async (t) => {
    const { c, ws } = online(t);
    assert.equal((await c.ready()).room, 'r', 'online: ready() resolves with the welcome at once');
    const waiting = c.send('never acked');
    const editing = c.edit(1, 'x');
    c.stop();
    await assert.rejects(waiting, { code: 'closed' });
    await assert.rejects(editing, { code: 'closed' });
    assert.equal(c.outbox.length, 1, 'the message stays in the outbox for the next start()');
    void ws;

    FakeSocket.all = [];
    const refused = new ChatClient({ room: 'r', name: 'x'.repeat(40), origin: 'http://127.0.0.1:9', key: null, WebSocket: FakeSocket });
    refused.start();
    const ready = refused.ready();
    FakeSocket.all[0].receive({ type: 'error', code: 'bad_name', message: 'name must be 1-32 characters' });
    FakeSocket.all[0].onclose({ code: CLOSE_BAD_REQUEST, reason: 'bad_name' });
    await assert.rejects(ready, { name: 'ChatError', code: 'bad_name', closeCode: CLOSE_BAD_REQUEST, message: 'name must be 1-32 characters' });
  });

  test('discard() rejects the send it drops; an anonymous client is refused changes without asking the room', async (t) => {
    const { c } = online(t);
    const dropped = c.send('changed my mind');
    c.discard(c.outbox[0].id);
    await assert.rejects(dropped, { code: 'discarded' });
    c.stop();
    const anon = new ChatClient({ room: 'r', name: 'ann', origin: 'http://127.0.0.1:9', key: null, WebSocket: FakeSocket });
    anon.start();
    const ws = FakeSocket.all.at(-1);
    ws.receive(welcome({ you: { ...ME, uid: null } }));
    await assert.rejects(anon.react(1, '👍'), { code: 'forbidden' });
    assert.equal(ws.last('react'), undefined);
    anon.stop();
  });

  test('a promise nobody awaits never becomes an unhandled rejection (Node would end the process)', async (t) => {
    const unhandled = [];
    const onUnhandled = (reason) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    t.after(() => process.off('unhandledRejection', onUnhandled));
    const { c, ws } = online(t);
    c.send('fire and forget');
    ws.receive({ type: 'error', code: 'muted', message: 'muted for 10 min', id: ws.last('message').id });
    c.search('q');
    c.edit(1, 'y');
    c.stop();
    t.mock.timers.reset();
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(unhandled, []);
  });
});

describe('typed events', () => {
  test('welcome, message_updated, reaction, presence and unanswered errors are events; on() returns the unsubscribe', (t) => {
    const { c, ws } = online(t, {}, { history: [stored(1)], last_seq: 1, rev: 1 });
    const seen = [];
    const off = c.on('message_updated', ({ message }) => seen.push(['updated', message.seq, message.version]));
    c.on('reaction', ({ reaction }) => seen.push(['reaction', reaction.emoji, reaction.counts[reaction.emoji]]));
    c.on('presence', ({ online: n }) => seen.push(['presence', n]));
    c.on('error', ({ error }) => seen.push(['error', error.code, error instanceof ChatError]));
    ws.receive({ type: 'message_updated', message: stored(1, { text: 'new', version: 2, rev: 2 }), rev: 2 });
    ws.receive({ type: 'reaction', seq: 1, emoji: '🎉', user: { id: 'b', name: 'bob', uid: 'u-bob' }, on: true, counts: { '🎉': 1 }, rev: 3 });
    ws.receive({ type: 'presence', online: 150, joined: [], left: [], joins: 3, leaves: 0 });
    ws.receive({ type: 'error', code: 'rate_limited', message: 'slow down', id: null });
    off();
    ws.receive({ type: 'message_updated', message: stored(1, { version: 3, rev: 4 }), rev: 4 });
    assert.deepEqual(seen, [['updated', 1, 2], ['reaction', '🎉', 1], ['presence', 150], ['error', 'rate_limited', true]]);
    const welcomes = [];
    c.on('welcome', ({ welcome: w }) => welcomes.push(w.last_seq));
    reconnect(t, c).receive(welcome({ last_seq: 4, rev: 5 }));
    assert.deepEqual(welcomes, [4]);
    assert.equal(c.limits.presence, 100, 'limits the welcome did not announce keep their defaults');
    c.stop();
  });

  test('limits come from welcome.limits, presence and roster_page included', (t) => {
    const { c } = online(t, {}, { limits: { text: 100, name: 32, id: 64, frame_bytes: 1000, burst: 4, per_sec: 2, page: 10, query: 20, results: 5, presence: 7, roster_page: 9, silent_after: 30 } });
    assert.deepEqual([c.limits.text, c.limits.presence, c.limits.roster_page, c.limits.silent_after], [100, 7, 9, 30]);
    c.stop();
  });

  test('outside a browser the server and, on Node 20, a WebSocket must be given: a clear TypeError', () => {
    assert.throws(() => new ChatClient({ room: 'r', name: 'n', WebSocket: FakeSocket }), /origin/);
    assert.throws(() => new ChatClient({ room: 'r', name: 'n', origin: 'http://x', WebSocket: 'nope' }), /WebSocket/);
  });
});

describe('one source of truth for the error codes', () => {
  test('the SDK knows every code src/error.rs can send, and no other', () => {
    const rust = readFileSync(join(ROOT, 'src/error.rs'), 'utf8');
    const codes = [...rust.matchAll(/ErrorCode::\w+ => "(\w+)"/g)].map((m) => m[1]);
    assert.ok(codes.length >= 26, `read ${codes.length} codes from src/error.rs`);
    assert.deepEqual([...SERVER_ERROR_CODES], codes, 'SERVER_ERROR_CODES (packages/client/src/errors.js) = src/error.rs');
    const dts = readFileSync(join(PACKAGE, 'types/protocol.d.ts'), 'utf8');
    const union = dts.slice(dts.indexOf('export type ServerErrorCode'), dts.indexOf(';', dts.indexOf('export type ServerErrorCode')));
    assert.deepEqual([...union.matchAll(/'(\w+)'/g)].map((m) => m[1]), codes, 'ServerErrorCode (types/protocol.d.ts) = src/error.rs');
    for (const code of CLIENT_ERROR_CODES) assert.ok(!codes.includes(code), `client code ${code} is not a server code`);
  });
});

describe('the package', () => {
  test('types/index.d.ts declares exactly what src/index.js exports', () => {
    const dts = readFileSync(join(PACKAGE, 'types/index.d.ts'), 'utf8');
    const declared = [...dts.matchAll(/^export declare (?:const|function|class) (\w+)/gm)].map((m) => m[1]).sort();
    assert.deepEqual(declared, Object.keys(sdk).sort());
  });

  test('ChatEventMap and InboxEventMap type every event each client emits, and no other', () => {
    const read = (f) => readFileSync(join(PACKAGE, 'src', f), 'utf8');
    const emittedBy = (files) => new Set(files.flatMap((f) => [...read(f).matchAll(/this\.emit\('(\w+)'/g)].map((m) => m[1])));
    const dts = readFileSync(join(PACKAGE, 'types/index.d.ts'), 'utf8');
    const typedIn = (from, to) => new Set([...dts.slice(dts.indexOf(from), dts.indexOf(to)).matchAll(/^  (\w+): /gm)].map((m) => m[1]));
    const chatFiles = readdirSync(join(PACKAGE, 'src')).filter((f) => f.endsWith('.js') && f !== 'inbox.js');
    assert.deepEqual([...emittedBy(chatFiles)].sort(), [...typedIn('export interface ChatEventMap {', 'export type ChatEventType')].sort());
    assert.deepEqual([...emittedBy(['inbox.js'])].sort(), [...typedIn('export interface InboxEventMap {', 'export declare class InboxClient')].sort());
  });

  test('a consumer type-checks under tsc --strict against the package layout, and wrong uses do not', () => {
    const dir = mkdtempSync(join(tmpdir(), 'edge-chat-sdk-'));
    try {
      mkdirSync(join(dir, 'node_modules/@edge-chat'), { recursive: true });
      symlinkSync(PACKAGE, join(dir, 'node_modules/@edge-chat/client'), 'dir');
      cpSync(join(ROOT, 'tests/sdk/consumer.ts'), join(dir, 'consumer.ts'));
      const options = { strict: true, noEmit: true, target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', lib: ['es2022', 'dom'], types: [], skipLibCheck: false };
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: options, files: ['consumer.ts'] }));
      const tsc = join(ROOT, 'node_modules/.bin/tsc');
      // consumer.ts holds `@ts-expect-error` lines: were the types `any`, tsc would fail on them.
      execFileSync(tsc, ['-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
      writeFileSync(join(dir, 'consumer.ts'), "import { ChatClient } from '@edge-chat/client';\nconst c = new ChatClient({ room: 'r' });\nc.send(1);\n");
      assert.throws(() => execFileSync(tsc, ['-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' }), (e) => /TS2345|TS2741/.test(e.stdout), 'a missing name and a non-string text are type errors');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('tsc checks the JavaScript runtime itself (checkJs, packages/client/tsconfig.json)', () => {
    execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', join(PACKAGE, 'tsconfig.json')], { encoding: 'utf8' });
  });

  test('npm pack holds the bundle, the declarations, the readme and the license, nothing stray', () => {
    const meta = JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8'));
    assert.equal(meta.private, undefined);
    assert.ok(meta.name && meta.version && meta.license && meta.types && meta.exports['.'].types);
    assert.deepEqual(meta.dependencies ?? {}, {}, 'zero runtime dependencies');
    const [packed] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--loglevel=error'], { cwd: PACKAGE, encoding: 'utf8' }));
    const files = packed.files.map((f) => f.path).sort();
    assert.deepEqual(files, ['LICENSE', 'README.md', 'dist/index.js', 'package.json', 'types/index.d.ts', 'types/protocol.d.ts']);
    for (const entry of [meta.types, meta.exports['.'].types, meta.exports['.'].default]) assert.ok(files.includes(entry.replace(/^\.\//, '')), `${entry} is packed`);
    // One self-contained ESM file: no imports (no dependencies), nothing only a browser or Node has.
    const bundle = readFileSync(join(PACKAGE, 'dist/index.js'), 'utf8');
    assert.doesNotMatch(bundle, /^\s*import\s|require\(|\bprocess\.|\bdocument\.|\bwindow\./m);
  });

  test('public/ holds no copy of the protocol client: the page imports the built SDK', () => {
    const tracked = execFileSync('git', ['ls-files', 'public'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const file of tracked.filter((f) => f.endsWith('.js'))) {
      assert.doesNotMatch(readFileSync(join(ROOT, file), 'utf8'), /class ChatClient|function backoff|type: 'welcome'/, `${file} repeats the client`);
    }
    assert.match(readFileSync(join(ROOT, 'public/app.js'), 'utf8'), /from '\.\/sdk\/edge-chat-client\.js'/);
    assert.ok(!readdirSync(join(ROOT, 'public')).includes('client.js'));
  });
});
