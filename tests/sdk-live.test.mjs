// The client SDK against a real room: the built package (packages/client/dist/index.js, what npm
// users get) in Node 20 with the `ws` WebSocket, against `wrangler dev` with signed access (HS256
// JWTs from a getToken hook). Every action is awaited on the room's real answer: sends, edits,
// reactions, deletions and moderator actions on their acks, refusals as typed ChatErrors, queries on
// their answer frames; a message sent while the server is down resolves once it is back and stored.
// Last, the same file inside a Worker: workerd (through Miniflare, which wrangler itself runs on)
// with the runtime's own WebSocket.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Miniflare } from 'miniflare';
import WebSocket from 'ws';
import { CLOSE_BAD_REQUEST } from './common/close-codes.mjs';
import { ROOT, eventually, restartServer, startServer, uniqueRoom } from './common/harness.mjs';
import { png } from './common/png.mjs';

const JWT_SECRET = 'test-jwt-secret-sdk';
let server;
let sdk;
before(async () => {
  // The bundle as published (make build writes it too; this keeps the file runnable on its own).
  execFileSync(process.execPath, [path.join(ROOT, 'packages/client/build.mjs')]);
  sdk = await import(pathToFileURL(path.join(ROOT, 'packages/client/dist/index.js')).href);
  server = await startServer({ vars: { JWT_SECRET } });
});
after(async () => {
  await server?.stop();
});

const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
/** An HS256 JWT as an app's identity provider signs it. */
function jwt(room, sub, name, { role = 'member', ttl = 600 } = {}) {
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, name, role, rooms: [room], exp: Math.floor(Date.now() / 1000) + ttl })}`;
  return `${input}.${crypto.createHmac('sha256', JWT_SECRET).update(input).digest('base64url')}`;
}

const clients = [];
/** A started SDK client whose app hands out tokens for `sub`; `asked` records each getToken reason. */
function person(room, sub, name, { role, ...options } = {}) {
  const asked = [];
  const client = new sdk.ChatClient({
    room,
    name,
    origin: server.base,
    WebSocket,
    getToken: async ({ reason }) => {
      asked.push(reason);
      return jwt(room, sub, name, { role });
    },
    ...options,
  });
  client.asked = asked;
  client.start();
  clients.push(client);
  return client;
}
after(() => clients.forEach((c) => c.stop()));

/** The next event `type` whose detail passes `pred`. */
const nextEvent = (client, type, pred = () => true) =>
  new Promise((resolve) => {
    const off = client.on(type, (detail) => {
      if (!pred(detail)) return;
      off();
      resolve(detail);
    });
  });

describe('the SDK against wrangler dev', () => {
  test('send, edit, react, search, history and delete settle on the room\'s answers; the others hear typed events', async () => {
    const room = uniqueRoom('sdk');
    const ann = person(room, 'ann-1', 'ann');
    const bob = person(room, 'bob-1', 'bob');
    const [welcome] = await Promise.all([ann.ready(), bob.ready()]);
    assert.equal(welcome.you.name, 'ann');
    assert.equal(typeof welcome.you.uid, 'string', 'the token gave ann an identity');
    assert.deepEqual(ann.asked, ['connect']);
    assert.equal(ann.limits.text, welcome.limits.text, 'the limits are the welcome\'s');

    const heard = nextEvent(bob, 'message', ({ message }) => message.text === 'hello from the SDK');
    const sent = await ann.send('hello from the SDK');
    assert.ok(sent.seq >= 1 && sent.rev >= 1);
    assert.equal((await heard).message.seq, sent.seq);

    const updated = nextEvent(bob, 'message_updated', ({ message }) => message.seq === sent.seq);
    const edit = await ann.edit(sent.seq, 'hello again from the SDK');
    assert.equal(edit.seq, sent.seq);
    assert.ok(edit.rev > sent.rev);
    assert.equal((await updated).message.version, 2);

    const reacted = nextEvent(ann, 'reaction', ({ reaction }) => reaction.seq === sent.seq);
    await bob.react(sent.seq, '🎉');
    assert.deepEqual((await reacted).reaction.counts, { '🎉': 1 });

    const found = await bob.search('again');
    assert.deepEqual(found.results.map((r) => r.seq), [sent.seq]);
    assert.match(found.results[0].snippet, /<mark>again<\/mark>/);
    const page = await bob.history({ before: sent.seq + 1, limit: 10 });
    assert.deepEqual(page.messages.map((m) => m.text), ['hello again from the SDK']);

    const refused = await bob.delete(sent.seq).catch((e) => e);
    assert.ok(refused instanceof sdk.ChatError, 'not bob\'s message: a typed refusal');
    assert.equal(refused.code, 'forbidden');
    await assert.rejects(bob.search('!!!'), { code: 'bad_query' });
    await assert.rejects(ann.edit(sent.seq + 1000, 'nothing there'), { code: 'not_found' });
    await ann.delete(sent.seq);
    const stored = await bob.history({ limit: 10 });
    assert.deepEqual(stored.messages.map((m) => [m.seq, m.deleted, m.text]), [[sent.seq, true, '']], 'stored as a tombstone');
  });

  test('uploadFile resolves with the descriptor, send({text, files}) carries it, fileUrl serves it to the room', async () => {
    const room = uniqueRoom('sdk-files');
    const ann = person(room, 'ann-1', 'ann');
    const bob = person(room, 'bob-1', 'bob');
    await Promise.all([ann.ready(), bob.ready()]);
    assert.ok(ann.limits.file_types.includes('image/png'), 'the room\'s file types, as announced');
    const bytes = png(20, 10);
    const progress = [];
    const file = await ann.uploadFile(new Blob([bytes], { type: 'image/png' }), { name: 'dot.png', onProgress: (p) => progress.push(p) });
    assert.deepEqual([file.name, file.type, file.size, file.width, file.height], ['dot.png', 'image/png', bytes.length, 20, 10]);
    assert.deepEqual(progress.at(-1), { loaded: bytes.length, total: bytes.length }, 'progress ends at the whole file');
    const heard = nextEvent(bob, 'message', ({ message }) => message.files?.length === 1);
    const sent = await ann.send({ text: 'a dot', files: [file] });
    const { message } = await heard;
    assert.equal(message.seq, sent.seq);
    assert.deepEqual(message.files, [file]);
    const res = await fetch(bob.fileUrl(file));
    assert.equal(res.status, 200, 'the URL carries bob\'s token (a private room)');
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(bytes));
    await assert.rejects(bob.send({ text: 'mine now', files: [file.id] }), { code: 'bad_file' });
    await assert.rejects(ann.uploadFile(new Blob(['<html>'], { type: 'text/html' })), { code: 'unsupported_type' }, 'refused before sending');
    const removed = nextEvent(bob, 'update', ({ message }) => message.seq === sent.seq && !message.files);
    await ann.removeFile(sent.seq, file.id);
    assert.equal((await removed).message.text, 'a dot');
  });

  test('a moderator\'s actions resolve on their acks; the muted author\'s send is refused with muted', async () => {
    const room = uniqueRoom('sdk-mod');
    const mo = person(room, 'mo-1', 'Mo', { role: 'moderator' });
    const eve = person(room, 'eve-1', 'eve');
    const [mine, hers] = await Promise.all([mo.ready(), eve.ready()]);
    assert.equal(mine.role, 'moderator');
    const ack = await mo.mute(hers.you.uid, 600);
    assert.equal(ack.seq, 0);
    await eventually(() => eve.rules().mutedUntil !== null, 5000, 'eve hears of her mute');
    await assert.rejects(eve.send('let me speak'), { code: 'muted' });
    await mo.unmute(hers.you.uid);
    assert.ok((await eve.send('thank you')).seq >= 1);
    await assert.rejects(eve.kick(mine.you.uid), { code: 'forbidden' }, 'only a moderator moderates');
    const log = await mo.moderationLog({ limit: 10 });
    assert.deepEqual(log.records.map((r) => r.action), ['unmute', 'mute']);
  });

  test('the token is renewed on the live socket through getToken; a refused room rejects ready() with the code', async () => {
    const room = uniqueRoom('sdk-auth');
    // Renew as soon as the client allows (1 s): the margin is longer than the token's life.
    const ann = person(room, 'ann-2', 'ann', { renewMarginMs: 3_600_000 });
    await ann.ready();
    await eventually(() => ann.asked.includes('renew'), 10_000, 'getToken asked to renew');
    await eventually(() => ann.welcome && ann.role === 'member', 5000);
    assert.ok((await ann.send('still here')).seq >= 1, 'the renewed socket still talks');

    const lost = person('bad room', 'x-1', 'x');
    await assert.rejects(lost.ready(), { code: 'bad_room', closeCode: CLOSE_BAD_REQUEST });
    assert.equal(lost.state, 'refused');
  });

  test('a message sent while the server is down resolves once it is back, stored exactly once', async () => {
    const room = uniqueRoom('sdk-restart');
    const ann = person(room, 'ann-3', 'ann', { backoff: { base: 200, cap: 1000 } });
    await ann.ready();
    const first = await ann.send('before the restart');
    const down = server.stop({ keepState: true });
    await eventually(() => ann.state !== 'online', 10_000, 'the client saw the drop');
    const pending = ann.send('while the server was down');
    await down;
    server = await restartServer(server);
    const sent = await pending;
    assert.equal(sent.seq, first.seq + 1);
    const stored = await ann.history({ limit: 10 });
    assert.deepEqual(stored.messages.map((m) => m.text), ['before the restart', 'while the server was down']);
  });

  test('the same bundle runs inside a Worker: workerd\'s own WebSocket, a send awaited on its ack', async () => {
    const room = uniqueRoom('sdk-worker');
    const worker = `
      import { ChatClient } from './sdk.js';
      export default {
        async fetch(request) {
          const { origin, room, token } = await request.json();
          const client = new ChatClient({ room, name: 'worker', origin, token });
          client.start();
          try {
            const welcome = await client.ready();
            const sent = await client.send('from a Worker');
            return Response.json({ name: welcome.you.name, seq: sent.seq, limits: client.limits.text });
          } catch (e) {
            return Response.json({ error: String(e), code: e.code }, { status: 500 });
          } finally {
            client.stop();
          }
        },
      };`;
    const mf = new Miniflare({
      modules: [
        { type: 'ESModule', path: 'worker.js', contents: worker },
        { type: 'ESModule', path: 'sdk.js', contents: readFileSync(path.join(ROOT, 'packages/client/dist/index.js'), 'utf8') },
      ],
      compatibilityDate: '2026-04-26',
    });
    try {
      const body = JSON.stringify({ origin: server.base, room, token: jwt(room, 'worker-1', 'worker') });
      const res = await mf.dispatchFetch('http://localhost/', { method: 'POST', body });
      const answer = await res.json();
      assert.equal(res.status, 200, JSON.stringify(answer));
      assert.deepEqual(answer, { name: 'worker', seq: 1, limits: 4000 });
      const seen = person(room, 'ann-4', 'ann');
      await seen.ready();
      assert.deepEqual((await seen.history()).messages.map((m) => [m.from.name, m.text]), [['worker', 'from a Worker']]);
    } finally {
      await mf.dispose();
    }
  });
});
