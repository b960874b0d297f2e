// A room's export (GET /api/rooms/{room}/export): NDJSON pages of every message with its versions,
// who reacted, what it replies to, tombstones included, then the moderation log; resumable with the
// cursor each page ends with; for the API token or a moderator of that room only. Real wrangler dev.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Client, getJson, pool, startServer, uniqueRoom } from './common/harness.mjs';

const API_TOKEN = 'test-api-token-export';
const JWT_SECRET = 'test-jwt-secret-export';

let server;
before(async () => {
  server = await startServer({ vars: { API_TOKEN, JWT_SECRET } });
});
after(async () => {
  await server?.stop();
});

const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
function token(room, sub, name, role = 'member') {
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, name, role, rooms: [room], exp: Math.floor(Date.now() / 1000) + 600 })}`;
  return `${input}.${crypto.createHmac('sha256', JWT_SECRET).update(input).digest('base64url')}`;
}

/** One page of the export: { status, type, lines } (lines parsed; the raw text must end with a newline). */
async function page(room, { after = 0, logAfter = 0, auth = `Bearer ${API_TOKEN}` } = {}) {
  const res = await fetch(`${server.base}/api/rooms/${room}/export?after=${after}&log_after=${logAfter}`, {
    headers: auth ? { authorization: auth } : {},
  });
  const text = await res.text();
  if (res.status !== 200) return { status: res.status, body: JSON.parse(text) };
  assert.ok(text.endsWith('\n'), 'whole lines only');
  return { status: res.status, type: res.headers.get('content-type'), lines: text.trimEnd().split('\n').map((l) => JSON.parse(l)) };
}

/** Follows the pages from the start to `end`: every line between the head and the last, and the page count. */
async function exportAll(room) {
  let cursor = { after: 0, log_after: 0 };
  const lines = [];
  for (let pages = 1; ; pages++) {
    const p = await page(room, { after: cursor.after, logAfter: cursor.log_after });
    assert.equal(p.status, 200);
    assert.equal(p.lines[0].type, 'export');
    assert.equal(p.lines[0].after, cursor.after);
    const last = p.lines.at(-1);
    lines.push(...p.lines.slice(1, -1));
    cursor = last;
    if (last.type === 'end') return { lines, pages };
    assert.equal(last.type, 'next');
    assert.ok(pages < 50, 'an export ends');
  }
}

describe('room export', () => {
  test('every message with its versions, reactions, reply and tombstone, then the moderation log', async () => {
    const room = uniqueRoom('export');
    const mo = await Client.connect(server.ws(room, { token: token(room, 'mo', 'Mo', 'moderator') }));
    const ann = await Client.connect(server.ws(room, { token: token(room, 'ann', 'Ann') }));
    const first = await ann.say('first draft');
    await ann.act({ type: 'edit', seq: first.seq, text: 'second draft' });
    await ann.act({ type: 'edit', seq: first.seq, text: 'final text' });
    await mo.act({ type: 'react', seq: first.seq, emoji: '🎉', on: true });
    await mo.act({ type: 'message', text: 'nice', reply_to: first.seq });
    const gone = await ann.say('regrettable');
    await mo.act({ type: 'delete', seq: gone.seq });
    await mo.act({ type: 'mute', uid: ann.welcome.you.uid, seconds: 60 });

    const p = await page(room);
    assert.equal(p.status, 200);
    assert.match(p.type, /^application\/x-ndjson/);
    const [head, ...rest] = p.lines;
    assert.equal(head.room, room);
    assert.equal(head.last_seq, 3);
    assert.equal(rest.at(-1).type, 'end');
    const messages = rest.filter((l) => l.type === 'message');
    assert.deepEqual(messages.map((m) => m.seq), [1, 2, 3]);
    assert.equal(messages[0].text, 'final text');
    assert.deepEqual(messages[0].versions.map((v) => [v.version, v.text]), [[1, 'first draft'], [2, 'second draft']]);
    assert.deepEqual(messages[0].reacted, [{ emoji: '🎉', uid: mo.welcome.you.uid }]);
    assert.equal(messages[1].reply_to, 1);
    assert.equal(messages[2].deleted, true);
    assert.equal(messages[2].text, '', 'a deleted text is not exported');
    const log = rest.filter((l) => l.type === 'moderation');
    assert.deepEqual(log.map((l) => l.action), ['delete', 'mute']);
    assert.equal(log[1].uid, ann.welcome.you.uid);
    assert.ok(log.every((l) => typeof l.log_id === 'number'));
    mo.close();
    ann.close();
  });

  test('a large room comes in bounded pages that resume with their cursor, without a gap or a repeat', async () => {
    const room = uniqueRoom('export-big');
    const n = 1_234;
    await pool(Array.from({ length: n }, (_, i) => i), 8, async (i) => {
      const r = await getJson(`${server.base}/api/rooms/${room}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` },
        body: JSON.stringify({ name: 'bot', text: `line ${i}`, id: `b${i}` }),
      });
      assert.equal(r.status, 201);
    });
    const { lines, pages } = await exportAll(room);
    assert.ok(pages >= 3, `${pages} pages`);
    const seqs = lines.filter((l) => l.type === 'message').map((l) => l.seq);
    assert.deepEqual(seqs, Array.from({ length: n }, (_, i) => i + 1));
    // A page asked again (a dropped connection) is the same page.
    const again = [await page(room, { after: 500 }), await page(room, { after: 500 })];
    assert.deepEqual(again[0].lines.slice(1).map((l) => l.seq), again[1].lines.slice(1).map((l) => l.seq));
  });

  test('only the API token or a moderator of the room may export it', async () => {
    const room = uniqueRoom('export-rights');
    const status = async (auth) => (await page(room, { auth })).status;
    assert.equal(await status(null), 401);
    assert.equal(await status('Bearer wrong'), 401);
    assert.equal(await status(`Bearer ${token(room, 'ann', 'Ann')}`), 403, 'a member');
    assert.equal(await status(`Bearer ${token('elsewhere', 'mo', 'Mo', 'moderator')}`), 403, 'a moderator of another room');
    assert.equal(await status(`Bearer ${token(room, 'mo', 'Mo', 'moderator')}`), 200);
    const asToken = await fetch(`${server.base}/api/rooms/${room}/export?token=${token(room, 'mo', 'Mo', 'moderator')}`);
    assert.equal(asToken.status, 200, 'a moderator\'s token in the query');
    await asToken.text();
    const bad = await page(room, { after: -1 });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'bad_after');
  });
});
