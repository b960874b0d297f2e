// Bounds on what one member, or one read, can make a room keep or do (issue 24): a message keeps at
// most VERSIONS_LIMIT versions and its versions come in pages; edits take the sender's rate like
// messages, and slow mode holds edits and reactions too; a muted author's typing reaches nobody; and
// reading a room name nobody has written to stores nothing. Real wrangler dev, real WebSocket clients.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, getJson, sleep, startServer, uniqueRoom } from './common/harness.mjs';

const API_TOKEN = 'test-api-token-bounds';
const VERSIONS_LIMIT = 5;

let server;
before(async () => {
  server = await startServer({ vars: { API_TOKEN, VERSIONS_LIMIT } });
});
after(async () => {
  await server?.stop();
});

const key = () => crypto.randomBytes(18).toString('base64url');
const person = (room, name) => Client.connect(server.ws(room, { name, key: key() }));
const moderate = (room, body) =>
  getJson(`${server.base}/api/rooms/${room}/moderation`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` },
    body: JSON.stringify(body),
  });

/**
 * Bytes of every file under the server's state folder (the objects' SQLite databases and their
 * write-ahead logs) but the `-shm` files: SQLite's shared-memory index, 32 KB per open database
 * whatever it holds, not storage.
 */
function stateBytes() {
  let total = 0;
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (!entry.name.endsWith('-shm')) total += statSync(p).size;
    }
  };
  walk(server.persistDir);
  return total;
}

describe('versions', () => {
  test(`edits past VERSIONS_LIMIT (${VERSIONS_LIMIT}) drop the oldest versions; the versions come in pages`, async () => {
    const room = uniqueRoom('versions');
    const ann = await person(room, 'ann');
    assert.equal(ann.welcome.limits.versions, VERSIONS_LIMIT, 'the cap is announced');
    const m = await ann.say('v1');
    const edits = 3 * VERSIONS_LIMIT;
    for (let v = 2; v <= edits + 1; v++) {
      await ann.act({ type: 'edit', seq: m.seq, text: `v${v}` });
      await sleep(110); // within the rate (10/s): this test is about the cap, not the rate
    }
    const url = `${server.base}/api/rooms/${room}/messages/${m.seq}/versions`;
    const all = await getJson(url);
    assert.equal(all.status, 200);
    const numbers = all.body.versions.map((v) => v.version);
    const last = edits + 1;
    assert.deepEqual(numbers, Array.from({ length: VERSIONS_LIMIT }, (_, i) => last - VERSIONS_LIMIT + 1 + i), 'the newest kept, numbers unchanged');
    assert.equal(all.body.versions.at(-1).text, `v${last}`, 'the current text is the last');
    assert.equal(all.body.next, undefined, 'one page held them all');
    // Pages of 2, walked back with `before`: every kept version once, oldest first within a page.
    const seen = [];
    let before = '';
    for (;;) {
      const page = await getJson(`${url}?limit=2${before}`);
      assert.equal(page.status, 200);
      assert.ok(page.body.versions.length <= 2);
      seen.unshift(...page.body.versions.map((v) => v.version));
      if (page.body.next === undefined) break;
      before = `&before=${page.body.next}`;
    }
    assert.deepEqual(seen, numbers);
    for (const bad of ['limit=0', 'limit=1001', 'before=0', 'before=x']) {
      assert.equal((await getJson(`${url}?${bad}`)).status, 400, bad);
    }
    await ann.close();
  });
});

describe('rate and rules hold edits and reactions like messages', () => {
  test('edits past the sender\'s rate are refused rate_limited', async () => {
    const room = uniqueRoom('edit-rate');
    const ann = await person(room, 'ann');
    const m = await ann.say('hello');
    const burst = ann.welcome.limits.burst;
    const tries = Array.from({ length: burst + 10 }, (_, i) => ann.act({ type: 'edit', seq: m.seq, text: `edit ${i}` }));
    const settled = await Promise.allSettled(tries);
    const refused = settled.filter((s) => s.status === 'rejected');
    assert.ok(refused.length >= 10, `at least 10 of ${tries.length} refused (${refused.length})`);
    assert.ok(refused.every((s) => s.reason.frame.code === 'rate_limited'), 'refused as rate_limited');
    await ann.close();
  });

  test('slow mode refuses a quick second edit and a quick second reaction', async () => {
    const room = uniqueRoom('slow-edits');
    const ann = await person(room, 'ann');
    const m = await ann.say('hello');
    assert.equal((await moderate(room, { action: 'slow_mode', seconds: 30 })).status, 200);
    await ann.act({ type: 'edit', seq: m.seq, text: 'hello, all' });
    await assert.rejects(ann.act({ type: 'edit', seq: m.seq, text: 'hello again' }), (e) => e.frame.code === 'slow_mode');
    await ann.act({ type: 'react', seq: m.seq, emoji: '👍' });
    await assert.rejects(ann.act({ type: 'react', seq: m.seq, emoji: '🎉' }), (e) => e.frame.code === 'slow_mode');
    const versions = await getJson(`${server.base}/api/rooms/${room}/messages/${m.seq}/versions`);
    assert.deepEqual(versions.body.versions.map((v) => v.text), ['hello', 'hello, all']);
    await ann.close();
  });

  test('a muted author\'s typing reaches nobody', async () => {
    const room = uniqueRoom('muted-typing');
    const ann = await person(room, 'ann');
    const bob = await person(room, 'bob');
    ann.send({ type: 'typing' });
    await bob.next('typing');
    assert.equal((await moderate(room, { action: 'mute', uid: ann.welcome.you.uid, seconds: 60 })).status, 200);
    ann.send({ type: 'typing' });
    // ann's next frame is answered after her typing hint was handled: a hint sent on would be on
    // its way to bob by then.
    await assert.rejects(ann.say('still here?'), (e) => e.frame.code === 'muted');
    await sleep(200);
    assert.equal(bob.all('typing').length, 1, 'only the typing from before the mute reached bob');
    await Promise.all([ann.close(), bob.close()]);
  });
});

describe('a room nobody has written to', () => {
  test('reading it (info, history, search, members, versions, shards) stores nothing', async () => {
    const room = uniqueRoom('never-used');
    const before = stateBytes();
    const base = `${server.base}/api/rooms/${room}`;
    const info = await getJson(base);
    assert.equal(info.status, 200);
    assert.equal(info.body.last_seq, 0);
    const reads = {
      messages: await getJson(`${base}/messages`),
      search: await getJson(`${base}/search?q=hello`),
      members: await getJson(`${base}/members`),
      versions: await getJson(`${base}/messages/1/versions`),
      shard: await getJson(`${base}/shards/1`),
    };
    assert.deepEqual([reads.messages.status, reads.messages.body.messages], [200, []]);
    assert.deepEqual([reads.search.status, reads.search.body.results], [200, []]);
    assert.equal(reads.members.status, 200);
    assert.equal(reads.versions.status, 404);
    assert.equal(reads.shard.status, 404);
    // The runtime opens each object's database with a page of its own (8 KB here); a migrated schema
    // alone is ~98 KB.
    const again = await getJson(base);
    assert.ok(again.body.storage_bytes < 16_384, `no schema stored: ${again.body.storage_bytes} bytes`);
    const grown = stateBytes() - before;
    assert.ok(grown < 16_384, `the state folder grew by ${grown} bytes`);
    // The first write creates the schema, and the room works as any other.
    const ann = await person(room, 'ann');
    const m = await ann.say('the first words');
    assert.equal(m.seq, 1);
    const written = await getJson(base);
    assert.ok(written.body.storage_bytes > 65_536, `a written room stores its schema: ${written.body.storage_bytes} bytes`);
    const found = await getJson(`${base}/search?q=first`);
    assert.equal(found.body.results.length, 1);
    await ann.close();
  });
});
