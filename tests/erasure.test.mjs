// Erasing one author from a room (DELETE /api/rooms/{room}/authors/{uid}): the room-level building
// block of a person's erasure. Every message they wrote becomes a tombstone, their reactions go, a
// durable job walks the log in bounded steps on the room's alarm — also after a crash half-way — and
// the counts it reports are exact. Real wrangler dev.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Client, eventually, getJson, restartServer, startServer, storedMessages, uniqueRoom } from './common/harness.mjs';

const API_TOKEN = 'test-api-token-erasure';

let server;
before(async () => {
  server = await startServer({ vars: { API_TOKEN, RATE_BURST: '100000', RATE_PER_SEC: '100000' } });
});
after(async () => {
  await server?.stop();
});

const key = () => crypto.randomBytes(18).toString('base64url');
const erase = (room, uid, auth = `Bearer ${API_TOKEN}`) =>
  getJson(`${server.base}/api/rooms/${room}/authors/${encodeURIComponent(uid)}`, { method: 'DELETE', headers: { authorization: auth } });

/** A room where ann wrote `n` messages (and bob one in three), each reacting to the other's first. */
async function conversation(room, n) {
  const ann = await Client.connect(server.ws(room, { name: 'ann', key: key() }));
  const bob = await Client.connect(server.ws(room, { name: 'bob', key: key() }));
  const sends = [];
  for (let i = 0; i < n; i++) sends.push((i % 3 === 0 ? bob : ann).say(`line ${i}`));
  const acks = await Promise.all(sends);
  const bobsFirst = acks[0].seq;
  const annsFirst = acks[1].seq;
  await ann.act({ type: 'react', seq: bobsFirst, emoji: '👍', on: true });
  await bob.act({ type: 'react', seq: annsFirst, emoji: '🎉', on: true });
  return { ann, bob, bobsFirst, annsCount: acks.filter((_, i) => i % 3 !== 0).length };
}

const byAuthor = (messages, uid) => messages.filter((m) => m.from.uid === uid);

describe('erasing an author from a room', () => {
  test('every message becomes a tombstone, their reactions go, and the report counts exactly', async () => {
    const room = uniqueRoom('erase');
    const { ann, bob, bobsFirst, annsCount } = await conversation(room, 1_200);
    const uid = ann.welcome.you.uid;
    const first = await erase(room, uid);
    assert.equal(first.status, 202, 'a job that goes on');
    assert.equal(first.body.erasure.done, false);
    // The room's alarm finishes it; every connection hears each tombstone.
    const messages = await eventually(async () => {
      const { messages } = await storedMessages(server, room);
      return byAuthor(messages, uid).every((m) => m.deleted) && messages;
    }, 30_000, 'every message of ann erased');
    for (const m of byAuthor(messages, uid)) assert.equal(m.text, '');
    assert.ok(byAuthor(messages, bob.welcome.you.uid).every((m) => !m.deleted && m.text.startsWith('line')));
    assert.deepEqual(messages.find((m) => m.seq === bobsFirst).reactions, {}, 'ann\'s reaction went');
    assert.ok(await bob.next((f) => f.type === 'message_updated' && f.message.from.uid === uid && f.message.deleted));
    // Asked again once done: the same counts (nothing left to erase).
    const report = await eventually(async () => {
      const r = await erase(room, uid);
      return r.status === 200 && r.body.erasure.done && r;
    }, 30_000, 'done');
    assert.equal(report.body.erasure.messages, annsCount);
    assert.equal(report.body.erasure.reactions, 1);
    ann.close();
    bob.close();
  });

  test('a crash half-way: the job resumes where it stopped and ends done', async () => {
    const room = uniqueRoom('erase-crash');
    const { ann, bob, annsCount } = await conversation(room, 1_500);
    const uid = ann.welcome.you.uid;
    ann.close();
    bob.close();
    assert.equal((await erase(room, uid)).status, 202);
    server = await restartServer(server, { crash: true });
    const messages = await eventually(async () => {
      const { messages } = await storedMessages(server, room);
      return byAuthor(messages, uid).every((m) => m.deleted) && messages;
    }, 40_000, 'erased after the restart');
    assert.equal(byAuthor(messages, uid).length, annsCount);
    const report = await eventually(async () => {
      const r = await erase(room, uid);
      return r.status === 200 && r;
    }, 30_000, 'done');
    assert.equal(report.body.erasure.messages, annsCount, 'counted once, across the crash');
  });

  test('only the API token may erase', async () => {
    const room = uniqueRoom('erase-rights');
    assert.equal((await erase(room, 'u-x', null)).status, 401);
    assert.equal((await erase(room, 'u-x', 'Bearer nope')).status, 401);
    assert.equal((await erase(room, 'bad uid!')).status, 400, 'a uid that is no uid');
  });
});
