// Living messages: a message is a living object — replied to, edited (with its versions kept),
// deleted (its words erased), reacted to, read — and every change is ordered by the room's `rev`,
// durable before anyone hears of it, survives a restart and reaches a client that was away through
// `since=`. Real wrangler dev, real WebSocket clients.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Client, getJson, startServer, uniqueRoom } from './common/harness.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

const key = () => crypto.randomBytes(18).toString('base64url');
const person = (room, name, extra = {}) => Client.connect(server.ws(room, { name, key: key(), ...extra }));

describe('living messages', () => {
  test('reply, edit, react and delete reach everyone in rev order; versions are kept until deleted', async () => {
    const room = uniqueRoom('living');
    const ann = await person(room, 'ann');
    const bob = await person(room, 'bob');
    const first = await ann.say('hello bob');
    const reply = await bob.act({ type: 'message', text: 'hi ann', reply_to: first.seq });
    assert.equal((await ann.next('message')).reply_to, first.seq);
    const edit = await ann.act({ type: 'edit', seq: first.seq, text: 'hello, bob' });
    assert.ok(edit.rev > reply.rev, 'every change takes a newer rev');
    for (const c of [ann, bob]) {
      const u = await c.next('message_updated');
      assert.equal(u.message.text, 'hello, bob');
      assert.equal(u.message.version, 2);
      assert.equal(u.rev, edit.rev);
    }
    const versions = await getJson(`${server.base}/api/rooms/${room}/messages/${first.seq}/versions`);
    assert.deepEqual(versions.body.versions.map((v) => v.text), ['hello bob', 'hello, bob']);
    const react = await bob.act({ type: 'react', seq: first.seq, emoji: '👍', on: true });
    const seen = await ann.next('reaction');
    assert.deepEqual(seen.counts, { '👍': 1 });
    assert.equal(seen.rev, react.rev);
    // not the author: forbidden; unknown: not_found
    await assert.rejects(bob.act({ type: 'edit', seq: first.seq, text: 'mine' }), (e) => e.frame.code === 'forbidden');
    await assert.rejects(bob.act({ type: 'delete', seq: 999 }), (e) => e.frame.code === 'not_found');
    const del = await ann.act({ type: 'delete', seq: first.seq });
    const gone = await bob.next((f) => f.type === 'message_updated' && f.rev === del.rev);
    assert.equal(gone.message.deleted, true);
    assert.equal(gone.message.text, '');
    const after = await getJson(`${server.base}/api/rooms/${room}/messages/${first.seq}/versions`);
    assert.deepEqual(after.body, { seq: first.seq, deleted: true, versions: [] });
    const page = await getJson(`${server.base}/api/rooms/${room}/messages`);
    assert.ok(!JSON.stringify(page.body).includes('hello'), 'the words are gone from storage reads');
    await Promise.all([ann.close(), bob.close()]);
  });

  test('an anonymous connection can talk but not change anything', async () => {
    const room = uniqueRoom('anon');
    const ann = await person(room, 'ann');
    const anon = await Client.connect(server.ws(room, { name: 'anon' }));
    const m = await ann.say('hi');
    await anon.say('hi ann');
    for (const frame of [{ type: 'react', seq: m.seq, emoji: '👍' }, { type: 'edit', seq: m.seq, text: 'x' }]) {
      await assert.rejects(anon.act(frame), (e) => e.frame.code === 'forbidden');
    }
    await Promise.all([ann.close(), anon.close()]);
  });

  test('a client away during changes resumes with since= and gets them', async () => {
    const room = uniqueRoom('resume');
    const k = key();
    const ann = await person(room, 'ann');
    const bob = await Client.connect(server.ws(room, { name: 'bob', key: k }));
    const a = await ann.say('one');
    const b = await ann.say('two');
    const seenRev = b.rev;
    await bob.next((f) => f.type === 'message' && f.seq === b.seq);
    await bob.close();
    await ann.act({ type: 'edit', seq: a.seq, text: 'one (edited)' });
    await ann.act({ type: 'react', seq: b.seq, emoji: '🎉' });
    const c = await ann.say('three');
    const back = await Client.connect(server.ws(room, { name: 'bob', key: k, after: b.seq, since: seenRev }));
    assert.deepEqual(back.welcome.history.map((m) => m.seq), [c.seq]);
    assert.deepEqual(back.welcome.changes.map((m) => [m.seq, m.text]), [[a.seq, 'one (edited)'], [b.seq, 'two']]);
    assert.deepEqual(back.welcome.changes[1].reactions, { '🎉': 1 });
    assert.equal(back.welcome.rev, c.rev);
    await Promise.all([ann.close(), back.close()]);
  });

  test('read marks: unread counts on welcome, the others hear them, lower marks are ignored', async () => {
    const room = uniqueRoom('reads');
    const k = key();
    const ann = await person(room, 'ann');
    const bob = await Client.connect(server.ws(room, { name: 'bob', key: k }));
    for (const t of ['a', 'b', 'c']) await ann.say(t);
    bob.send({ type: 'read', seq: 2 });
    const mark = await ann.next('read');
    assert.equal(mark.seq, 2);
    assert.equal(mark.user.name, 'bob');
    bob.send({ type: 'read', seq: 1 });
    await bob.close();
    const again = await Client.connect(server.ws(room, { name: 'bob', key: k }));
    assert.equal(again.welcome.read_seq, 2);
    assert.equal(again.welcome.unread, 1);
    await Promise.all([ann.close(), again.close()]);
  });

  test('scroll back: history pages before a seq, with has_more', async () => {
    const room = uniqueRoom('scroll');
    const ann = await person(room, 'ann');
    for (let i = 1; i <= 7; i++) await ann.say(`m${i}`);
    const id = 'h1';
    ann.send({ type: 'history', before: 6, limit: 3, id });
    const page = await ann.next((f) => f.type === 'history' && f.id === id);
    assert.deepEqual(page.messages.map((m) => m.text), ['m3', 'm4', 'm5']);
    assert.equal(page.has_more, true);
    await ann.close();
  });

  test('reactions are validated and idempotent', async () => {
    const room = uniqueRoom('react');
    const ann = await person(room, 'ann');
    const m = await ann.say('react to me');
    for (const emoji of ['lol', '', '👍 👍', 'x'.repeat(40)]) {
      await assert.rejects(ann.act({ type: 'react', seq: m.seq, emoji }), (e) => e.frame.code === 'bad_request', emoji);
    }
    const on = await ann.act({ type: 'react', seq: m.seq, emoji: '👍' });
    const again = await ann.act({ type: 'react', seq: m.seq, emoji: '👍' });
    assert.equal(again.rev, on.rev, 'the same reaction twice changes nothing');
    await ann.close();
  });
});
