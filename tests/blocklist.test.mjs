// A room's blocked words (the `block` / `unblock` moderation actions): for apps without a moderation
// endpoint, checked by the room on arrival with no network. Real wrangler dev; the app's backend manages
// the list through the API, as a moderator's socket would.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Client, getJson, startServer, storedMessages, uniqueRoom } from './common/harness.mjs';

const API_TOKEN = 'test-api-token-blocklist';

let server;
before(async () => {
  server = await startServer({ vars: { API_TOKEN } });
});
after(async () => {
  await server?.stop();
});

const key = () => crypto.randomBytes(18).toString('base64url');
const moderate = (room, body) =>
  getJson(`${server.base}/api/rooms/${room}/moderation`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` },
    body: JSON.stringify(body),
  });
const refusal = (p) => p.then(() => assert.fail('expected a refusal'), (e) => e.frame);

describe('blocked words', () => {
  test('a message or edit with a blocked word is refused with rejected and seen by nobody; unblocked, it passes', async () => {
    const room = uniqueRoom('blocked');
    const ann = await Client.connect(server.ws(room, { name: 'ann', key: key() }));
    const bob = await Client.connect(server.ws(room, { name: 'bob', key: key() }));
    const set = await moderate(room, { action: 'block', words: ['Free Money', 'spam*'] });
    assert.equal(set.status, 200);
    assert.deepEqual(set.body.record.words, ['free money', 'spam*']);
    const refused = await refusal(ann.say('get free MONEY here'));
    assert.equal(refused.code, 'rejected');
    assert.match(refused.message, /free money/);
    const ok = await ann.say('a fair question');
    assert.equal(ok.seq, 1, 'the refused message took no seq');
    assert.equal((await refusal(ann.act({ type: 'edit', seq: ok.seq, text: 'spammers welcome' }))).code, 'rejected');
    assert.equal((await bob.next('message')).text, 'a fair question');
    assert.equal(bob.all('message').length, 1, 'bob heard of nothing else');
    assert.ok(bob.all('moderation').every((f) => f.action !== 'block'), 'the list is not told to the room');
    const rules = await getJson(`${server.base}/api/rooms/${room}/moderation`, { headers: { authorization: `Bearer ${API_TOKEN}` } });
    assert.deepEqual(rules.body.rules.blocked, ['free money', 'spam*']);

    assert.equal((await moderate(room, { action: 'unblock', words: ['SPAM*'] })).status, 200);
    await ann.act({ type: 'edit', seq: ok.seq, text: 'spammers welcome' });
    assert.deepEqual((await storedMessages(server, room)).messages.map((m) => m.text), ['spammers welcome']);
    const bad = await moderate(room, { action: 'block', words: ['<b>'] });
    assert.equal(bad.status, 400);
    ann.close();
    bob.close();
  });
});
