// A person's own data across their rooms: `GET /api/me/export` (everything they wrote, in every room
// their inbox knows, direct messages included, as NDJSON pages a cursor resumes; nothing of anybody
// else's) and `DELETE /api/me?confirm=<uid>` (everything they wrote made tombstones, their reactions
// gone, their inbox emptied — a durable job that survives a crash half-way, idempotent, reported
// exactly, other people's words untouched). And a room woken by its alarm after a restart tells
// inboxes its own name. Real wrangler dev, real sockets.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CLOSE_FORBIDDEN } from './common/close-codes.mjs';
import { Client, eventually, getJson, restartServer, startServer, uniqueRoom } from './common/harness.mjs';

const API_TOKEN = 'test-api-token-me-data';
// A retention "day" of 30 s: long enough for a restart to come first (asserted), short enough to wait.
const DAY_SECS = 30;

let server;
before(async () => {
  server = await startServer({
    vars: { API_TOKEN, RATE_BURST: '100000', RATE_PER_SEC: '100000', RETENTION_MAX_DAYS: '10', RETENTION_DAY_SECS: String(DAY_SECS) },
  });
});
after(async () => {
  await server?.stop();
});

const newKey = () => crypto.randomBytes(18).toString('base64url');

/** A person with a key: their sockets, their inbox, their own endpoints (on the current server). */
function person(name) {
  const key = newKey();
  const p = {
    name,
    key,
    uid: null,
    join: async (room) => {
      const c = await Client.connect(server.ws(room, { name, key }));
      p.uid ??= c.welcome.you.uid;
      return c;
    },
    inbox: async () => {
      const c = await Client.connect(server.ws('me', { key, name }), { welcome: false });
      c.snapshot = await c.next('inbox');
      p.uid ??= c.snapshot.uid;
      return c;
    },
    me: () => getJson(`${server.base}/api/me?key=${key}`),
    exportPage: (cursor = {}) => {
      const q = new URLSearchParams({ key, ...cursor }).toString();
      return fetch(`${server.base}/api/me/export?${q}`);
    },
    erase: (confirm) => {
      const q = new URLSearchParams(confirm === undefined ? { key } : { key, confirm }).toString();
      return getJson(`${server.base}/api/me?${q}`, { method: 'DELETE' });
    },
    dm: (withUid) =>
      getJson(`${server.base}/api/dms?key=${key}&name=${name}`, { method: 'POST', body: JSON.stringify({ with: withUid }) }),
  };
  return p;
}

/** Every message of `room` through the HTTP API (a direct message's read with a member's key). */
async function messagesOf(room, key) {
  const all = [];
  for (let after = 0; ; ) {
    const q = new URLSearchParams({ after, limit: 1000, ...(key ? { key } : {}) }).toString();
    const page = await getJson(`${server.base}/api/rooms/${room}/messages?${q}`);
    assert.equal(page.status, 200, JSON.stringify(page.body));
    all.push(...page.body.messages);
    if (page.body.messages.length < 1000) return all;
    after = page.body.messages.at(-1).seq;
  }
}

/** Follows a person's export from the start: every line, the pages' cursors, the number of pages. */
async function exportAll(p) {
  const lines = [];
  const cursors = [];
  let cursor = {};
  for (let pages = 1; pages < 200; pages++) {
    const res = await p.exportPage(cursor);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /application\/x-ndjson/);
    const text = await res.text();
    assert.ok(text.endsWith('\n'), 'whole lines only');
    const page = text.trimEnd().split('\n').map((l) => JSON.parse(l));
    assert.equal(page[0].type, 'export');
    assert.equal(page[0].uid, p.uid);
    assert.equal(page[0].after, Number(cursor.after ?? 0), 'the head says where the page starts');
    const tail = page.at(-1);
    lines.push(...page.slice(1, -1));
    cursors.push(cursor);
    if (tail.type === 'end') return { lines, cursors, pages };
    assert.equal(tail.type, 'next');
    cursor = { room: tail.room, after: String(tail.after) };
  }
  assert.fail('an export ends');
}

/** Sends `texts` from `client` all at once; their acks. */
const sayAll = (client, texts) => Promise.all(texts.map((t) => client.say(t)));

describe('a person’s export', () => {
  test('everything they wrote in three rooms and a DM, in pages a cursor resumes, and nothing of anybody else’s', async () => {
    const [r1, r2, r3] = [uniqueRoom('x1'), uniqueRoom('x2'), uniqueRoom('x3')];
    const ann = person('ann');
    const bob = person('bob');
    const a = {};
    const b = {};
    for (const room of [r1, r2, r3]) {
      a[room] = await ann.join(room);
      b[room] = await bob.join(room);
    }
    const made = await ann.dm(bob.uid);
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const dm = made.body.room;
    a[dm] = await ann.join(dm);
    b[dm] = await bob.join(dm);
    // In each room bob says something of his own, ann answers, edits, reacts to his and replies in
    // his thread; bob reacts to hers.
    const secret = (room) => `bob-only-${room}`;
    const annsReactions = [];
    for (const room of [r1, r2, r3, dm]) {
      const his = await b[room].say(secret(room));
      const hers = await a[room].say(`ann in ${room}`);
      await a[room].act({ type: 'edit', seq: hers.seq, text: `ann in ${room}, edited` });
      await a[room].act({ type: 'react', seq: his.seq, emoji: '👍', on: true });
      annsReactions.push(`${room}:${his.seq}`);
      await b[room].act({ type: 'react', seq: hers.seq, emoji: '🎉', on: true });
      await a[room].act({ type: 'message', text: `ann in his thread in ${room}`, thread: his.seq });
    }
    // Enough of ann's in r3 for more than one page (~1 MB a page).
    const long = 'y'.repeat(2_000);
    await sayAll(a[r3], Array.from({ length: 700 }, (_, i) => `${i} ${long}`));
    // One she deleted is not exported; a room she left still is (it is hers).
    const gone = await a[r1].say('taken back');
    await a[r1].act({ type: 'delete', seq: gone.seq });
    await eventually(async () => (await ann.me()).body.rooms?.length === 4, 30_000, 'four entries');
    assert.equal((await getJson(`${server.base}/api/me/rooms/${r2}?key=${ann.key}`, { method: 'DELETE' })).status, 200);

    const { lines, cursors, pages } = await exportAll(ann);
    assert.ok(pages >= 2, `resumable pages: ${pages}`);
    // Exactly her messages not deleted, room by room, with their versions.
    const expected = [];
    for (const room of [r1, r2, r3, dm]) {
      const all = await messagesOf(room, room === dm ? ann.key : undefined);
      for (const m of all) if (m.from.uid === ann.uid && !m.deleted) expected.push(`${room}:${m.seq}`);
    }
    const messages = lines.filter((l) => l.type === 'message');
    assert.deepEqual(messages.map((m) => `${m.room}:${m.seq}`).sort(), expected.sort());
    assert.equal(new Set(messages.map((m) => `${m.room}:${m.seq}`)).size, messages.length, 'no line twice');
    for (const m of messages) assert.equal(m.from.uid, ann.uid);
    const edited = messages.filter((m) => m.versions.length > 0);
    assert.equal(edited.length, 4, 'one edited message per room');
    for (const m of edited) assert.equal(m.versions[0].text, `ann in ${m.room}`);
    for (const m of messages) for (const r of m.reacted) assert.equal(r.uid, ann.uid, 'her own reactions only');
    const reactions = lines.filter((l) => l.type === 'reaction');
    assert.deepEqual(reactions.map((r) => `${r.room}:${r.seq}`).sort(), annsReactions.sort());
    assert.ok(lines.every((l) => l.type === 'message' || l.type === 'reaction'));
    const threaded = messages.filter((m) => typeof m.thread === 'number');
    assert.equal(threaded.length, 4, 'her thread replies name their root');
    // Nothing of bob's: not his words, not his uid, not his name.
    const text = lines.map((l) => JSON.stringify(l)).join('\n');
    for (const room of [r1, r2, r3, dm]) assert.ok(!text.includes(secret(room)));
    assert.ok(!text.includes(bob.uid) && !text.includes('"bob"'));
    // A page asked again is the same page: a client that lost one asks again with the same cursor.
    const again = async (cursor) => (await (await ann.exportPage(cursor)).text()).split('\n').slice(1).join('\n');
    assert.equal(await again(cursors.at(-1)), await again(cursors.at(-1)));
    // Bob's export holds his and none of hers.
    await eventually(async () => (await bob.me()).body.rooms?.length === 4, 30_000, 'bob’s four entries');
    const his = await exportAll(bob);
    assert.ok(his.lines.some((l) => l.type === 'message' && l.text === secret(r1)));
    assert.ok(his.lines.every((l) => l.type !== 'message' || l.from.uid === bob.uid));
    assert.ok(!his.lines.map((l) => JSON.stringify(l)).join('\n').includes('ann in'));
    for (const c of [...Object.values(a), ...Object.values(b)]) await c.close();
  });

  test('no credentials, or bad ones: 401, never someone else’s export', async () => {
    for (const init of [{}, { headers: { authorization: 'Bearer not-a-token' } }]) {
      const res = await getJson(`${server.base}/api/me/export`, init);
      assert.equal(res.status, 401, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'unauthorized');
    }
    const del = await getJson(`${server.base}/api/me?confirm=x`, { method: 'DELETE' });
    assert.equal(del.status, 401);
    // A stranger with a key of their own gets an empty export.
    const eve = person('eve');
    const res = await eve.exportPage();
    const page = (await res.text()).trimEnd().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(page.map((l) => l.type), ['export', 'end']);
  });
});

describe('a person’s erasure', () => {
  test('asks for confirmation with their own uid', async () => {
    const zed = person('zed');
    await zed.inbox().then((c) => c.close());
    for (const confirm of [undefined, 'somebody-else']) {
      const r = await zed.erase(confirm);
      assert.equal(r.status, 400);
      assert.equal(r.body.error.code, 'bad_request');
      assert.match(r.body.error.message, new RegExp(`confirm=${zed.uid}`));
    }
  });

  test('three rooms and a DM, across a crash half-way: their words gone, others’ untouched, the report exact, idempotent', async (t) => {
    // Five rooms and a DM: more than one turn of the inbox's alarm asks (four rooms a turn).
    const [e1, e2, e3, e4, e5] = ['e1', 'e2', 'e3', 'e4', 'e5'].map((r) => uniqueRoom(r));
    const carol = person('carol');
    const dave = person('dave');
    const c = {};
    const d = {};
    for (const room of [e1, e2, e3, e4, e5]) {
      c[room] = await carol.join(room);
      d[room] = await dave.join(room);
    }
    const dm = (await carol.dm(dave.uid)).body.room;
    c[dm] = await carol.join(dm);
    d[dm] = await dave.join(dm);
    const rooms = [e1, e2, e3, e4, e5, dm];
    // Carol writes a lot in e1 (the room's own job takes several steps) and some everywhere; she
    // edits one and reacts to dave's; dave writes and reacts to hers.
    await sayAll(c[e1], Array.from({ length: 1_300 }, (_, i) => `carol ${i}`));
    let carolsReactions = 0;
    const edited = {};
    for (const room of rooms) {
      const his = await d[room].say(`dave in ${room}`);
      const hers = await c[room].say(`carol in ${room}`);
      edited[room] = hers.seq;
      await c[room].act({ type: 'edit', seq: hers.seq, text: 'carol, edited' });
      await c[room].act({ type: 'react', seq: his.seq, emoji: '👍', on: true });
      carolsReactions++;
      await d[room].act({ type: 'react', seq: hers.seq, emoji: '🎉', on: true });
    }
    await eventually(async () => (await carol.me()).body.rooms?.length === 6, 30_000, 'six entries');
    const before = {};
    let carols = 0;
    for (const room of rooms) {
      before[room] = await messagesOf(room, room === dm ? dave.key : undefined);
      carols += before[room].filter((m) => m.from.uid === carol.uid).length;
    }
    for (const x of [...Object.values(c), ...Object.values(d)]) await x.close();

    const asked = await carol.erase(carol.uid);
    // Killed at once: the inbox's first turn (four rooms) is under way, its second not begun.
    const crashed = restartServer(server, { crash: true });
    assert.equal(asked.status, 202, JSON.stringify(asked.body));
    assert.equal(asked.body.erasure.rooms, 6);
    assert.equal(asked.body.erasure.done, false);
    server = await crashed;

    // Nothing asks her inbox now: its alarm alone goes on with the job (rooms' reads only here).
    const left = async () => {
      let n = 0;
      for (const room of rooms) {
        const all = await messagesOf(room, room === dm ? dave.key : undefined);
        n += all.filter((m) => m.from.uid === carol.uid && !m.deleted).length;
      }
      return n;
    };
    t.diagnostic(`after the crash, ${await left()} of carol's ${carols} messages were still to erase`);
    await eventually(async () => (await left()) === 0, 90_000, 'every message of carol’s erased after the crash');
    const report = await eventually(async () => {
      const r = await carol.erase(carol.uid);
      return r.status === 200 && r.body.erasure;
    }, 30_000, 'the erasure reported done');
    assert.deepEqual(
      [report.rooms, report.rooms_done, report.messages, report.reactions, report.done],
      [6, 6, carols, carolsReactions, true],
    );
    for (const room of rooms) {
      const now = await messagesOf(room, room === dm ? dave.key : undefined);
      assert.equal(now.length, before[room].length, 'every seq stays');
      for (const m of now) {
        const was = before[room].find((x) => x.seq === m.seq);
        if (m.from.uid === carol.uid) {
          assert.ok(m.deleted && m.text === '', `${room}:${m.seq} erased`);
          assert.deepEqual(m.reactions, {});
        } else {
          assert.equal(m.text, was.text, 'dave’s words untouched');
          assert.ok(!m.deleted);
          assert.deepEqual(m.reactions, {}, 'carol’s reaction to his went');
        }
      }
      const q = room === dm ? `?key=${dave.key}` : '';
      const versions = await getJson(`${server.base}/api/rooms/${room}/messages/${edited[room]}/versions${q}`);
      assert.equal(versions.body.deleted, true);
      assert.deepEqual(versions.body.versions, [], 'her earlier versions are gone too');
    }
    // Her inbox is empty; her export has nothing; asking again reports the same.
    const me = await carol.me();
    assert.deepEqual(me.body.rooms, []);
    const page = (await (await carol.exportPage()).text()).trimEnd().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(page.map((l) => l.type), ['export', 'end']);
    const again = await carol.erase(carol.uid);
    assert.equal(again.status, 200);
    assert.deepEqual(again.body.erasure, report, 'idempotent');
    // Dave's export still holds all of his.
    await eventually(async () => (await dave.me()).body.rooms?.length === 6, 30_000, 'dave’s six entries');
    const his = await exportAll(dave);
    assert.equal(his.lines.filter((l) => l.type === 'message').length, 6);
  });

  test('their sockets are closed, a DM forgets their name, and a room that goes on does not bring their inbox back', async () => {
    const room = uniqueRoom('gone');
    const fay = person('fay');
    const gus = person('gus');
    const hal = person('hal');
    const f = await fay.join(room);
    const g = await gus.join(room);
    const h = await hal.join(room);
    await f.say('fay was here');
    const dm = (await fay.dm(gus.uid)).body.room;
    const halInbox = await hal.inbox();
    const fayInbox = await fay.inbox();
    const dmEntry = async () => (await gus.me()).body.rooms.find((r) => r.room === dm);
    await eventually(async () => (await dmEntry())?.dm[0].name === 'fay', 30_000, 'fay named in gus’s DM entry');
    await eventually(async () => (await fay.me()).body.rooms?.length === 2, 30_000, 'fay’s entries');
    const asked = await fay.erase(fay.uid);
    assert.ok([200, 202].includes(asked.status), JSON.stringify(asked.body));
    // Her sockets hear why and are closed for good: her inbox's, and hers in the room.
    for (const socket of [fayInbox, f]) {
      const why = await socket.next((x) => x.type === 'error', 30_000);
      assert.equal(why.code, 'forbidden');
      assert.equal((await socket.closedPromise()).code, CLOSE_FORBIDDEN);
    }
    await eventually(async () => (await fay.erase(fay.uid)).status === 200, 30_000, 'done');
    // The direct message forgot the name it knew her by.
    await eventually(async () => {
      const entry = await dmEntry();
      return entry.dm[0].uid === fay.uid && entry.dm[0].name === null;
    }, 30_000, 'fay nameless in gus’s DM entry');
    // Gus talks on; hal's inbox hears it, fay's stays empty (the room forgot her inbox).
    await g.say('after fay');
    await halInbox.next((x) => x.type === 'entry' && x.entry.room === room && x.entry.last?.text === 'after fay', 30_000);
    assert.deepEqual((await fay.me()).body.rooms, []);
    for (const x of [g, h, halInbox]) await x.close();
  });
});

describe('a room woken by its alarm after a restart', () => {
  test('tells its members’ inboxes its own name', async () => {
    const room = uniqueRoom('named');
    const ann = person('ann');
    const bob = person('bob');
    const a = await ann.join(room);
    const b = await bob.join(room);
    // The room keeps messages one "day"; bob's expires while nobody names the room.
    const set = await getJson(`${server.base}/api/rooms/${room}/moderation`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` },
      body: JSON.stringify({ action: 'retention', days: 1 }),
    });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    const said = Date.now();
    await b.say('soon gone');
    const entry = async () => (await ann.me()).body.rooms?.find((r) => r.room === room);
    await eventually(async () => (await entry())?.unread === 1, 30_000, 'ann’s entry counts bob’s message');
    await a.close();
    await b.close();
    server = await restartServer(server);
    const still = await entry();
    assert.ok(Date.now() - said < DAY_SECS * 1000 && still.unread === 1, 'the restart came before the sweep');
    // Only the room's alarm wakes it now: its sweep reaches ann's inbox under the room's name.
    const swept = await eventually(async () => {
      const e = await entry();
      return e?.unread === 0 && e;
    }, DAY_SECS * 1000 + 60_000, 'the sweep told ann’s inbox');
    assert.equal(swept.last, null);
    assert.ok(!server.log.includes('bad_room'), 'no inbox refused the room’s update');
  });
});
