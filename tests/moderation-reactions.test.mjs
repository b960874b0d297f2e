// What issue 26 asked of the server beside the page: who reacted (the `reactors` frame and
// GET /api/rooms/{room}/messages/{seq}/reactions, with the read rights of the history), a moderator's
// reason on a deletion, a purge of an author's recent messages (a batch per turn, each deletion told
// as a moderator's, logged once), and search pages past the first of a ranked window (`offset`,
// `next_offset`). Real wrangler dev with signed access (JWTs), real WebSocket clients.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Client, eventually, getJson, startServer, uniqueRoom } from './common/harness.mjs';

const JWT_SECRET = 'test-jwt-secret-moderation-reactions';
const API_TOKEN = 'test-api-token-moderation-reactions';

let server;
before(async () => {
  // Authors here write a few hundred messages back to back: a bucket that does not make them wait.
  server = await startServer({ vars: { JWT_SECRET, API_TOKEN, RATE_BURST: '1000', RATE_PER_SEC: '1000' } });
});
after(async () => {
  await server?.stop();
});

const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
function token(room, sub, name, role = 'member') {
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, name, role, rooms: [room], exp: Math.floor(Date.now() / 1000) + 600 })}`;
  return `${input}.${crypto.createHmac('sha256', JWT_SECRET).update(input).digest('base64url')}`;
}
const as = (room, sub, name, role) => Client.connect(server.ws(room, { token: token(room, sub, name, role) }));
const bearer = (t) => ({ headers: { authorization: `Bearer ${t}` } });

describe('who reacted', () => {
  test('a page by emoji, with names, on the socket and over HTTP for whoever may read the room', async () => {
    const room = uniqueRoom('reactors');
    const ann = await as(room, 'ann-1', 'Ann');
    const people = await Promise.all(['Bob', 'Cy', 'Dee'].map((name, i) => as(room, `p-${i}`, name)));
    const hello = await ann.say('hello');
    for (const p of people) await p.act({ type: 'react', seq: hello.seq, emoji: '👍' });
    await people[0].act({ type: 'react', seq: hello.seq, emoji: '🎉' });

    // The socket: two pages of two, in uid order, with the names they reacted under.
    const first = await ann.ask({ type: 'reactors', seq: hello.seq, emoji: '👍', limit: 2 });
    assert.equal(first.type, 'reactors');
    assert.equal(first.users.length, 2);
    assert.ok(first.next, 'more to come');
    const rest = await ann.ask({ type: 'reactors', seq: hello.seq, emoji: '👍', after: first.next, limit: 2 });
    assert.equal(rest.next, null);
    const everyone = [...first.users, ...rest.users];
    assert.deepEqual(everyone.map((u) => u.name).sort(), ['Bob', 'Cy', 'Dee']);
    assert.deepEqual(everyone.map((u) => u.uid), everyone.map((u) => u.uid).sort(), 'uid order');
    assert.deepEqual(new Set(everyone.map((u) => u.uid)), new Set(people.map((p) => p.welcome.you.uid)));

    // HTTP: the same answer for a holder of a token for the room (or the API token); nobody else.
    const path = `${server.base}/api/rooms/${room}/messages/${hello.seq}/reactions?emoji=${encodeURIComponent('🎉')}`;
    const read = await getJson(path, bearer(token(room, 'eve-1', 'Eve')));
    assert.equal(read.status, 200);
    assert.deepEqual(read.body, { seq: hello.seq, emoji: '🎉', users: [{ uid: people[0].welcome.you.uid, name: 'Bob' }], next: null });
    assert.equal((await getJson(path, bearer(API_TOKEN))).status, 200);
    assert.equal((await getJson(path)).status, 401, 'no token, no read');
    assert.equal((await getJson(path, bearer(token('elsewhere', 'eve-1', 'Eve')))).status, 403, 'a token for another room');
    // Refusals with the code a client can act on.
    const base = `${server.base}/api/rooms/${room}/messages`;
    assert.equal((await getJson(`${base}/${hello.seq}/reactions`, bearer(API_TOKEN))).body.error.code, 'bad_request', 'no emoji');
    assert.equal((await getJson(`${base}/${hello.seq}/reactions?emoji=%F0%9F%91%8D&limit=500`, bearer(API_TOKEN))).body.error.code, 'bad_limit');
    assert.equal((await getJson(`${base}/999/reactions?emoji=%F0%9F%91%8D`, bearer(API_TOKEN))).status, 404);
    await assert.rejects(ann.ask({ type: 'reactors', seq: hello.seq, emoji: 'nope' }), (e) => e.frame.code === 'bad_request');
    for (const c of [ann, ...people]) c.close();
  });
});

describe('moderators: a reason, and a purge', () => {
  test("a deletion's reason reaches everyone, its author too, and the log; also through DELETE ?reason=", async () => {
    const room = uniqueRoom('mod-reason');
    const mod = await as(room, 'mod-1', 'Mo', 'moderator');
    const ann = await as(room, 'ann-1', 'Ann');
    const one = await ann.say('rude words');
    const two = await ann.say('more rude words');
    await mod.act({ type: 'delete', seq: one.seq, reason: 'off topic' });
    const told = await ann.next((f) => f.type === 'moderation' && f.seq === one.seq);
    assert.deepEqual([told.action, told.uid, told.reason, told.by.name], ['delete', ann.welcome.you.uid, 'off topic', 'Mo']);
    const viaApi = await getJson(`${server.base}/api/rooms/${room}/messages/${two.seq}?reason=${encodeURIComponent('spam & scams')}`, { method: 'DELETE', ...bearer(API_TOKEN) });
    assert.equal(viaApi.status, 200);
    assert.equal((await ann.next((f) => f.type === 'moderation' && f.seq === two.seq)).reason, 'spam & scams');
    const tooLong = await getJson(`${server.base}/api/rooms/${room}/messages/${two.seq}?reason=${'x'.repeat(201)}`, { method: 'DELETE', ...bearer(API_TOKEN) });
    assert.equal(tooLong.status, 400);
    const log = await mod.ask({ type: 'moderation_log' });
    assert.deepEqual(log.records.map((r) => [r.seq, r.reason]), [[two.seq, 'spam & scams'], [one.seq, 'off topic']]);
    for (const c of [mod, ann]) c.close();
  });

  test("a purge deletes an author's recent messages in batches, each heard as a moderator's deletion, and is logged once", async () => {
    const room = uniqueRoom('mod-purge');
    const mod = await as(room, 'mod-1', 'Mo', 'moderator');
    const ann = await as(room, 'ann-1', 'Ann');
    const bob = await as(room, 'bob-1', 'Bob');
    const spam = [];
    for (let i = 0; i < 120; i++) {
      spam.push((await ann.say(`buy now ${i}`)).seq);
      if (i % 30 === 0) await bob.say(`bob ${i}`);
    }
    await assert.rejects(bob.act({ type: 'purge', uid: ann.welcome.you.uid, seconds: 3600 }), (e) => e.frame.code === 'forbidden');
    const ack = await mod.act({ type: 'purge', uid: ann.welcome.you.uid, seconds: 3600, reason: 'spam' });
    assert.equal(ack.seq, 0);
    const record = await bob.next((f) => f.type === 'moderation' && f.action === 'purge');
    assert.deepEqual([record.uid, record.seconds, record.reason], [ann.welcome.you.uid, 3600, 'spam']);
    // Every one of the 120 is deleted and told (message_updated, then the moderator's deletion).
    await eventually(() => bob.all('moderation').filter((f) => f.action === 'delete').length === 120, 20_000, 'all 120 deletions told');
    const told = bob.all('moderation').filter((f) => f.action === 'delete');
    assert.deepEqual(told.map((f) => f.seq).sort((a, b) => a - b), spam);
    assert.ok(told.every((f) => f.reason === 'spam' && f.by.name === 'Mo' && f.uid === ann.welcome.you.uid));
    assert.deepEqual(told.map((f) => f.seq), [...spam].reverse(), 'newest first');
    const updated = new Set(bob.all('message_updated').filter((f) => f.message.deleted).map((f) => f.message.seq));
    assert.ok(spam.every((s) => updated.has(s)));
    const history = await getJson(`${server.base}/api/rooms/${room}/messages?limit=1000`, bearer(API_TOKEN));
    const kept = history.body.messages.filter((m) => !m.deleted);
    assert.deepEqual(kept.map((m) => m.from.name), ['Bob', 'Bob', 'Bob', 'Bob'], "only bob's are left");
    const log = await mod.ask({ type: 'moderation_log' });
    assert.deepEqual(log.records.map((r) => r.action), ['purge'], 'one record for the purge');
    // Through the API too: a purge of a uid with nothing recent deletes nothing and is still logged.
    const viaApi = await getJson(`${server.base}/api/rooms/${room}/moderation`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` },
      body: JSON.stringify({ action: 'purge', uid: bob.welcome.you.uid, seconds: 60, reason: 'cleanup' }),
    });
    assert.equal(viaApi.status, 200);
    assert.equal(viaApi.body.record.action, 'purge');
    await eventually(() => ann.all('message_updated').filter((f) => f.message.from.name === 'Bob').length === 4, 10_000, "bob's 4 deleted");
    for (const c of [mod, ann, bob]) c.close();
  });
});

describe('search pages', () => {
  test('offset pages the ranked window (next_offset), then next_before moves to older matches', async () => {
    const room = uniqueRoom('search-pages');
    const ann = await as(room, 'ann-1', 'Ann');
    for (let i = 0; i < 230; i++) await ann.say(`apple number ${i}`);
    const seen = new Set();
    let options = {};
    let pages = 0;
    for (;;) {
      const page = await ann.ask({ type: 'search', q: 'apple', limit: 50, ...options });
      pages += 1;
      for (const r of page.results) {
        assert.ok(!seen.has(r.seq), `seq ${r.seq} twice`);
        seen.add(r.seq);
      }
      if (page.next_offset != null) options = { before: options.before, offset: page.next_offset };
      else if (page.next_before != null) options = { before: page.next_before };
      else break;
      if (options.before === undefined) delete options.before;
    }
    assert.equal(seen.size, 230, 'every match, once');
    assert.equal(pages, 5, 'four pages of the first window of 200, then the other 30');
    const http = await getJson(`${server.base}/api/rooms/${room}/search?q=apple&limit=20&offset=20`, bearer(API_TOKEN));
    assert.equal(http.status, 200);
    assert.equal(http.body.results.length, 20);
    assert.equal(http.body.next_offset, 40);
    assert.equal((await getJson(`${server.base}/api/rooms/${room}/search?q=apple&offset=200`, bearer(API_TOKEN))).body.error.code, 'bad_request');
    ann.close();
  });
});
