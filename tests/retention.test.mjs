// Retention: a room erases what is older than its policy — the text, the earlier versions, the
// reactions, the search index entries — and keeps each seq as a tombstone, so a resume and every count
// stay exact. The clock is shortened (RETENTION_DAY_SECS=3: a "day" is three seconds); real wrangler
// dev, whose storage alarm does the sweeping, also across a restart.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Client, eventually, getJson, restartServer, startServer, storedMessages, uniqueRoom } from './common/harness.mjs';

const API_TOKEN = 'test-api-token-retention';

let server;
before(async () => {
  server = await startServer({
    vars: { RETENTION_DAYS: '1', RETENTION_DAY_SECS: '3', RETENTION_MAX_DAYS: '10', API_TOKEN },
  });
});
after(async () => {
  await server?.stop();
});

const key = () => crypto.randomBytes(18).toString('base64url');
const api = (path, init = {}) =>
  getJson(`${server.base}/api/rooms/${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}`, ...init.headers },
  });
const setRetention = (room, days) =>
  api(`${room}/moderation`, { method: 'POST', body: JSON.stringify(days === undefined ? { action: 'retention' } : { action: 'retention', days }) });
const search = async (room, q) => (await api(`${room}/search?q=${encodeURIComponent(q)}`)).body.results.map((r) => r.seq);

/** Waits until every stored message up to `upto` is a tombstone. */
const erasedUpTo = (room, upto, timeoutMs = 30_000) =>
  eventually(async () => {
    const { messages } = await storedMessages(server, room);
    return messages.filter((m) => m.seq <= upto).every((m) => m.deleted) && messages;
  }, timeoutMs, `messages up to ${upto} erased`);

describe('retention', () => {
  test('what is past the policy is erased by the alarm — text, versions, reactions, search entries — and its seqs stay', async () => {
    const room = uniqueRoom('retain');
    const ann = await Client.connect(server.ws(room, { name: 'ann', key: key() }));
    const bob = await Client.connect(server.ws(room, { name: 'bob', key: key() }));
    const first = await ann.say('alpha keyword one');
    await ann.act({ type: 'edit', seq: first.seq, text: 'alpha keyword edited' });
    await bob.act({ type: 'react', seq: first.seq, emoji: '👍', on: true });
    const second = await ann.say('beta keyword two');
    assert.deepEqual((await search(room, 'keyword')).sort(), [1, 2]);
    assert.equal((await api(`${room}/messages/1/versions`)).body.versions.length, 2);

    // Live connections hear where the erased prefix ends.
    const told = await bob.next((f) => f.type === 'expired' && f.upto >= second.seq, 30_000);
    assert.equal(told.upto, second.seq);
    const messages = await erasedUpTo(room, second.seq);
    assert.deepEqual(messages.map((m) => m.seq), [1, 2], 'the seqs stay');
    for (const m of messages) {
      assert.equal(m.text, '');
      assert.deepEqual(m.reactions, {});
      assert.equal(m.from.name, 'ann', 'a tombstone keeps its author and time, like a deletion');
    }
    assert.deepEqual(await search(room, 'keyword'), [], 'no search entry is left');
    assert.deepEqual(await search(room, 'alpha'), []);
    const versions = await api(`${room}/messages/1/versions`);
    assert.equal(versions.body.deleted, true);
    assert.deepEqual(versions.body.versions, []);

    // A resume from the start gets every seq (as tombstones) and the policy with the erased prefix.
    const back = await Client.connect(server.ws(room, { name: 'cy', key: key(), after: '0' }));
    assert.deepEqual(back.welcome.history.map((m) => [m.seq, m.deleted]), [[1, true], [2, true]]);
    assert.deepEqual(back.welcome.retention, { days: 1, upto: 2 });
    assert.equal(back.welcome.last_seq, 2);
    // What is said now is kept until it, too, is past the policy.
    const third = await ann.say('gamma keyword three');
    assert.equal(third.seq, 3);
    assert.deepEqual(await search(room, 'gamma'), [3]);
    const info = await api(room);
    assert.deepEqual(info.body.retention, { days: 1, source: 'default', upto: 2, max_days: 10 });
    for (const c of [ann, bob, back]) c.close();
  });

  test('a room sets its own policy within RETENTION_MAX_DAYS, and goes back to the default', async () => {
    const room = uniqueRoom('retain-own');
    const ann = await Client.connect(server.ws(room, { name: 'ann', key: key() }));
    for (const days of [11, 0]) {
      const refused = await setRetention(room, days);
      assert.equal(refused.status, 400, `days ${days}`);
      assert.match(refused.body.error.message, /RETENTION_MAX_DAYS/);
    }
    const set = await setRetention(room, 5);
    assert.equal(set.status, 200);
    assert.equal(set.body.record.days, 5);
    const told = await ann.next('moderation');
    assert.equal(told.action, 'retention');
    assert.equal(told.days, 5);
    assert.deepEqual((await api(room)).body.retention, { days: 5, source: 'room', upto: 0, max_days: 10 });
    const later = await Client.connect(server.ws(room, { name: 'bob', key: key() }));
    assert.deepEqual(later.welcome.retention, { days: 5, upto: 0 });
    const log = await api(`${room}/moderation`);
    assert.equal(log.body.records[0].action, 'retention');
    assert.equal(log.body.rules.retention_days, 5);
    const reset = await setRetention(room, undefined);
    assert.equal(reset.status, 200);
    assert.deepEqual((await api(room)).body.retention, { days: 1, source: 'default', upto: 0, max_days: 10 });
    ann.close();
    later.close();
  });

  test('the sweep is durable: what was said before a crash is erased after it', async () => {
    const room = uniqueRoom('retain-crash');
    const ann = await Client.connect(server.ws(room, { name: 'ann', key: key() }));
    const said = await ann.say('said before the crash');
    ann.close();
    server = await restartServer(server, { crash: true });
    const messages = await erasedUpTo(room, said.seq, 40_000);
    assert.equal(messages.length, 1);
    assert.equal(messages[0].text, '');
  });
});
