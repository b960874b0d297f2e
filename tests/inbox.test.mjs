// A person across rooms: their inbox (`/ws/me`, `GET /api/me`) holds an entry per room they joined,
// with exact unread counts (never their own messages), the last message's preview, read marks that
// clear everywhere the person is, leaving and muting; a private room never reaches a non-member's
// inbox; a room past INBOX_PUSH_MAX tells only the members a change concerns and its cost per message
// stays flat; nothing is lost across hibernation and a restart. Real wrangler dev, real sockets.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CLOSE_UNAUTHORIZED } from './common/close-codes.mjs';
import { Client, eventually, getJson, restartServer, sleep, startServer, uniqueRoom } from './common/harness.mjs';

let server; // defaults
let small; // INBOX_PUSH_MAX=2: a room of three is a big room

before(async () => {
  [server, small] = await Promise.all([startServer(), startServer({ vars: { INBOX_PUSH_MAX: '2' } })]);
});
after(async () => {
  await Promise.all([server?.stop(), small?.stop()]);
});

const newKey = () => crypto.randomBytes(18).toString('base64url');

/** A person: their key, and how they open a room's socket and their inbox's. */
function person(name, on = server) {
  const key = newKey();
  return {
    name,
    key,
    join: (room, extra = {}) => Client.connect(on.ws(room, { name, key, ...extra })),
    inbox: async () => {
      const c = await Client.connect(on.ws('me', { key, name }), { welcome: false });
      c.snapshot = await c.next('inbox');
      return c;
    },
    me: () => getJson(`${on.base}/api/me?key=${key}`),
    uid: null,
  };
}

/** The next `entry` frame for `room` that satisfies `pred`. */
const entry = (inbox, room, pred = () => true, ms = 10_000) =>
  inbox.next((f) => f.type === 'entry' && f.entry.room === room && pred(f.entry), ms).then((f) => f.entry);

/** `GET /api/me`'s entry for `room`, once `pred` holds for it. */
async function entryOf(p, room, pred = () => true) {
  return eventually(async () => {
    const me = await p.me();
    const e = me.body.rooms?.find((r) => r.room === room);
    return e && pred(e) ? e : null;
  }, 30_000, `${p.name}'s entry for ${room}`);
}

describe('the inbox', () => {
  test('counts are exact after messages, edits and deletes from others, never one’s own', async () => {
    const room = uniqueRoom('counts');
    const ann = person('ann');
    const bob = person('bob');
    const a = await ann.join(room);
    const b = await bob.join(room);
    const inbox = await ann.inbox();
    await entryOf(ann, room);
    const m1 = await b.say('one');
    const m2 = await b.say('two');
    await a.say('mine');
    let e = await entry(inbox, room, (x) => x.last?.text === 'mine');
    assert.equal(e.unread, 2, 'bob’s two, not ann’s own');
    assert.equal(e.last.name, 'ann');
    await b.act({ type: 'edit', seq: m2.seq, text: 'two (edited)' });
    await b.act({ type: 'delete', seq: m1.seq });
    e = await entry(inbox, room, (x) => x.unread === 1);
    assert.equal(e.read_seq, 0);
    const me = await ann.me();
    assert.equal(me.status, 200);
    assert.equal(me.body.uid, a.welcome.you.uid);
    const listed = me.body.rooms.find((r) => r.room === room);
    assert.equal(listed.unread, 1);
    assert.equal(listed.last_seq, 3);
    assert.equal(listed.muted, false);
    await Promise.all([a.close(), b.close(), inbox.close()]);
  });

  test('mentions and thread replies from others are counted, one’s own never', async () => {
    const room = uniqueRoom('mentions');
    const ann = person('ann');
    const bob = person('bob');
    const a = await ann.join(room);
    const b = await bob.join(room);
    const inbox = await ann.inbox();
    const root = await a.say('a question');
    await b.act({ type: 'message', text: 'hey @ann, look' });
    await a.act({ type: 'message', text: 'talking to myself, @ann' });
    let e = await entry(inbox, room, (x) => x.last?.text === 'talking to myself, @ann');
    assert.equal(e.mentions, 1, 'bob’s mention; not her own');
    assert.equal(e.unread, 1);
    // bob answers in the thread of ann's question: a thread reply of hers to read, not the room's
    await b.act({ type: 'message', text: 'the answer', thread: root.seq });
    e = await entry(inbox, room, (x) => x.threads === 1);
    assert.equal(e.unread, 1, 'a reply only in its thread is no unread of the room');
    assert.equal(e.last.text, 'talking to myself, @ann', 'nor its preview');
    // reading clears the room's unread and its mention
    a.send({ type: 'read', seq: e.last_seq });
    await entry(inbox, room, (x) => x.unread === 0 && x.mentions === 0);
    await Promise.all([a.close(), b.close(), inbox.close()]);
  });

  test('a read in one socket clears the badge in every socket of the same person', async () => {
    const room = uniqueRoom('read');
    const ann = person('ann');
    const bob = person('bob');
    const a = await ann.join(room);
    const b = await bob.join(room);
    const [tab1, tab2] = [await ann.inbox(), await ann.inbox()];
    const m = await b.say('hello');
    for (const tab of [tab1, tab2]) await entry(tab, room, (x) => x.unread === 1);
    a.send({ type: 'read', seq: m.seq });
    for (const tab of [tab1, tab2]) {
      const e = await entry(tab, room, (x) => x.unread === 0);
      assert.equal(e.read_seq, m.seq);
    }
    await Promise.all([a.close(), b.close(), tab1.close(), tab2.close()]);
  });

  test('rooms are listed most recent first; leave drops one and mute keeps it quiet', async () => {
    const [r1, r2] = [uniqueRoom('first'), uniqueRoom('second')];
    const ann = person('ann');
    const bob = person('bob');
    const a1 = await ann.join(r1);
    const a2 = await ann.join(r2);
    const b1 = await bob.join(r1);
    const b2 = await bob.join(r2);
    await b2.say('older');
    await sleep(5);
    await b1.say('newer');
    const listed = await eventually(async () => {
      const rooms = (await ann.me()).body.rooms;
      return rooms?.length === 2 && rooms.every((r) => r.last) ? rooms : null;
    });
    assert.deepEqual(listed.map((r) => r.room), [r1, r2]);
    const inbox = await ann.inbox();
    const muted = await getJson(`${server.base}/api/me/rooms/${r2}?key=${ann.key}`, {
      method: 'PATCH',
      body: JSON.stringify({ muted: true }),
    });
    assert.equal(muted.status, 200);
    assert.equal(muted.body.muted, true);
    assert.equal((await entry(inbox, r2, (x) => x.muted)).unread, 1);
    const bad = await getJson(`${server.base}/api/me/rooms/${r2}?key=${ann.key}`, { method: 'PATCH', body: '{"muted":"yes"}' });
    assert.equal(bad.status, 400);
    const left = await getJson(`${server.base}/api/me/rooms/${r1}?key=${ann.key}`, { method: 'DELETE' });
    assert.equal(left.status, 200);
    await inbox.next((f) => f.type === 'removed' && f.room === r1);
    await b1.say('after ann left');
    await sleep(1500);
    const rooms = (await ann.me()).body.rooms.map((r) => r.room);
    assert.deepEqual(rooms, [r2], 'the room stopped telling the inbox');
    assert.equal(inbox.frames.filter((f) => f.type === 'entry' && f.entry.room === r1).length, 0);
    await Promise.all([a1.close(), a2.close(), b1.close(), b2.close(), inbox.close()]);
  });

  test('a private room’s name or preview never reaches a non-member’s inbox', async () => {
    const made = await getJson(`${server.base}/api/rooms`, { method: 'POST' });
    const secret = made.body.room;
    const ann = person('ann');
    const eve = person('eve');
    const watcher = await eve.inbox();
    const a = await ann.join(secret);
    await a.say('the plan, for members only');
    // calling her by uid does not make her a member: her inbox hears nothing of it
    const eveUid = watcher.snapshot.uid;
    await a.act({ type: 'message', text: `<@${eveUid}> the plan is here` });
    await entryOf(ann, secret, (e) => e.last?.text?.includes('the plan is here'));
    await sleep(1500);
    const eveRooms = (await eve.me()).body.rooms;
    assert.deepEqual(eveRooms, []);
    assert.ok(!watcher.raw.some((t) => t.includes(secret) || t.includes('plan')), 'nothing on her socket');
    await Promise.all([a.close(), watcher.close()]);
  });

  test('no credentials, a bad key or the inbox of another is refused', async () => {
    assert.equal((await getJson(`${server.base}/api/me`)).status, 401);
    assert.equal((await getJson(`${server.base}/api/me?key=short`)).status, 400);
    const refused = await Client.refusedOnSocket(server.ws('me'));
    assert.equal(refused.code, 'unauthorized');
    assert.equal(refused.closeCode, CLOSE_UNAUTHORIZED);
    const ann = person('ann');
    const room = uniqueRoom('mine');
    const a = await ann.join(room);
    await entryOf(ann, room);
    const other = await person('eve').me();
    assert.deepEqual(other.body.rooms, [], 'another key is another inbox');
    await a.close();
  });

  test('the inbox socket takes no frames', async () => {
    const inbox = await person('ann').inbox();
    inbox.send({ type: 'message', text: 'hi' });
    const err = await inbox.next('error');
    assert.equal(err.code, 'bad_request');
    await inbox.close();
  });
});

describe('a room past INBOX_PUSH_MAX', () => {
  test('tells only the members a change concerns; the others read their counts on open', async () => {
    const room = uniqueRoom('big');
    const people = ['ann', 'bob', 'cy'].map((n) => person(n, small));
    const [a, b, c] = await Promise.all(people.map((p) => p.join(room)));
    const info = () => getJson(`${small.base}/api/rooms/${room}`).then((r) => r.body.inboxes);
    await eventually(async () => (await info()).members === 3);
    assert.equal((await info()).every_change, false);
    // wait for the joins' own updates to go out, then count what a run of messages costs
    await sleep(1500);
    const before = (await info()).told;
    for (let i = 0; i < 5; i++) await a.say(`message ${i}`);
    await sleep(1500);
    assert.equal((await info()).told, before, 'no member’s inbox is told of a plain message');
    // bob reads his inbox: exact counts, read from the room
    const bobs = await entryOf(people[1], room, (e) => e.unread === 5);
    assert.equal(bobs.last.text, 'message 4');
    // a read mark concerns its reader: told at once
    const inbox = await people[2].inbox();
    const stale = inbox.snapshot.rooms.find((r) => r.room === room);
    assert.ok(stale, 'cy’s entry is there');
    await entry(inbox, room, (x) => x.unread === 5);
    c.send({ type: 'read', seq: 5 });
    await entry(inbox, room, (x) => x.unread === 0);
    await Promise.all([a.close(), b.close(), c.close(), inbox.close()]);
  });
});

describe('across hibernation and a restart', () => {
  test('nothing is lost and the counts are right', async () => {
    const own = await startServer();
    try {
      const room = uniqueRoom('durable');
      const ann = person('ann', own);
      const bob = person('bob', own);
      const a = await ann.join(room);
      const b = await bob.join(room);
      await b.say('before the restart');
      await entryOf(ann, room, (e) => e.unread === 1);
      await a.close();
      const restarted = await restartServer(own);
      try {
        const again = { ...ann, me: () => getJson(`${restarted.base}/api/me?key=${ann.key}`) };
        const e = await entryOf(again, room, (x) => x.unread === 1);
        assert.equal(e.last.text, 'before the restart');
        const b2 = await Client.connect(restarted.ws(room, { name: 'bob', key: bob.key }));
        await b2.say('after the restart');
        await entryOf(again, room, (x) => x.unread === 2 && x.last.text === 'after the restart');
        // a hibernated inbox socket still hears
        const inbox = await Client.connect(restarted.ws('me', { key: ann.key }), { welcome: false });
        await inbox.next('inbox');
        await sleep(12_000);
        await b2.say('after a nap');
        const woke = await entry(inbox, room, (x) => x.unread === 3);
        assert.equal(woke.last.text, 'after a nap');
        await Promise.all([b2.close(), inbox.close()]);
      } finally {
        await restarted.stop();
      }
    } finally {
      await own.stop();
    }
  });
});
