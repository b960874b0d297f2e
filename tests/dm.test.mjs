// Direct messages and who is online: `POST /api/dms` gives the same set of people the same room, which
// appears in each of their inboxes; only those people may join it, read it, search it or see its info
// — whatever their token's room says, with or without AUTH_SECRET — and everything a room does works
// in it; a person's DM partners see them come online and go (after a grace), across rooms.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CLOSE_FORBIDDEN } from './common/close-codes.mjs';
import { Client, eventually, getJson, startServer } from './common/harness.mjs';

const AUTH_SECRET = 'test-auth-secret-dm';
const API_TOKEN = 'test-api-token-dm';

let open; // no signed access: people are their key=
let signed; // AUTH_SECRET: people are their token's uid

before(async () => {
  [open, signed] = await Promise.all([startServer(), startServer({ vars: { AUTH_SECRET, API_TOKEN } })]);
});
after(async () => {
  await Promise.all([open?.stop(), signed?.stop()]);
});

const newKey = () => crypto.randomBytes(18).toString('base64url');

/** A token as an app backend mints it (docs/API.md), here for one room only. */
function mint(grant) {
  const payload = Buffer.from(JSON.stringify(grant)).toString('base64url');
  const sig = crypto.createHmac('sha256', AUTH_SECRET).update(`v1.${payload}`).digest('base64url');
  return `v1.${payload}.${sig}`;
}

/** A person on `server`: how they authenticate (`creds`, a query) and what they can do. */
function person(server, name) {
  let creds;
  let uid;
  if (server === signed) {
    uid = `u-${name}-${crypto.randomBytes(4).toString('hex')}`;
    // A token for one unrelated room: a direct message does not ask a token's room.
    creds = { token: mint({ room: 'somewhere-else', name, uid, exp: Math.floor(Date.now() / 1000) + 3600 }) };
  } else {
    creds = { key: newKey(), name };
  }
  const q = new URLSearchParams(creds).toString();
  return {
    name,
    creds,
    q,
    get uid() {
      return uid;
    },
    set uid(v) {
      uid = v;
    },
    join: (room) => Client.connect(server.ws(room, creds)),
    refused: (room) => Client.refusedOnSocket(server.ws(room, creds)),
    inbox: async () => {
      const c = await Client.connect(server.ws('me', creds), { welcome: false });
      c.snapshot = await c.next('inbox');
      uid ??= c.snapshot.uid;
      return c;
    },
    me: () => getJson(`${server.base}/api/me?${q}`),
    dm: (withWhom) =>
      getJson(`${server.base}/api/dms?${q}`, { method: 'POST', body: JSON.stringify({ with: withWhom }) }),
    get: (path) => getJson(`${server.base}${path}${path.includes('?') ? '&' : '?'}${q}`),
  };
}

/** Learns each person's uid (their inbox says it). */
async function uids(...people) {
  for (const p of people) {
    const c = await p.inbox();
    await c.close();
  }
}

for (const [label, which] of [
  ['without AUTH_SECRET (key=)', () => open],
  ['with AUTH_SECRET (tokens for another room)', () => signed],
]) {
  describe(`direct messages ${label}`, () => {
    test('the same people get the same room; it appears in each inbox; a third person is refused on every path', async () => {
      const server = which();
      const ann = person(server, 'ann');
      const bob = person(server, 'bob');
      const eve = person(server, 'eve');
      await uids(ann, bob, eve);
      const bobInbox = await bob.inbox();
      const made = await ann.dm(bob.uid);
      assert.equal(made.status, 201, JSON.stringify(made.body));
      const room = made.body.room;
      assert.match(room, /^dm\.[0-9a-f]{32}$/);
      assert.deepEqual(made.body.members, [ann.uid, bob.uid].sort());
      const again = await bob.dm([ann.uid]);
      assert.equal(again.status, 200);
      assert.equal(again.body.room, room, 'whoever asks, the same room');
      // it appears in both inboxes, naming the other person
      const seen = await bobInbox.next((f) => f.type === 'entry' && f.entry.room === room);
      assert.deepEqual(seen.entry.dm.map((p) => p.uid), [ann.uid]);
      const annMe = await eventually(async () => (await ann.me()).body.rooms.find((r) => r.room === room));
      assert.equal(annMe.dm[0].uid, bob.uid);
      await eventually(async () => (await ann.me()).body.rooms.find((r) => r.room === room)?.dm[0].name === 'bob');
      // the two talk; everything a room does works
      const a = await ann.join(room);
      const b = await bob.join(room);
      const hi = await a.say('just between us');
      await b.next((f) => f.type === 'message' && f.seq === hi.seq);
      await b.act({ type: 'react', seq: hi.seq, emoji: '👍', on: true });
      await a.act({ type: 'edit', seq: hi.seq, text: 'just between us two' });
      const e = await bobInbox.next((f) => f.type === 'entry' && f.entry.room === room && f.entry.last?.text === 'just between us two');
      assert.equal(e.entry.unread, 1);
      for (const path of [`/api/rooms/${room}/messages`, `/api/rooms/${room}/search?q=between`, `/api/rooms/${room}`]) {
        assert.equal((await bob.get(path)).status, 200, `bob reads ${path}`);
      }
      // eve: refused everywhere
      const refusal = await eve.refused(room);
      assert.equal(refusal.code, 'forbidden');
      assert.equal(refusal.closeCode, CLOSE_FORBIDDEN);
      for (const path of [
        `/api/rooms/${room}/messages`,
        `/api/rooms/${room}/search?q=between`,
        `/api/rooms/${room}`,
        `/api/rooms/${room}/members`,
        `/api/rooms/${room}/messages/${hi.seq}/versions`,
      ]) {
        const r = await eve.get(path);
        assert.equal(r.status, 403, `eve reads ${path}: ${JSON.stringify(r.body)}`);
        assert.ok(!JSON.stringify(r.body).includes('between'), 'not a word of it');
      }
      const eveInbox = (await eve.me()).body.rooms;
      assert.deepEqual(eveInbox, []);
      // nobody without an identity either
      const anon = await Client.refusedOnSocket(server.ws(room, { name: 'anon' }));
      assert.ok(['forbidden', 'unauthorized'].includes(anon.code));
      await Promise.all([a.close(), b.close(), bobInbox.close()]);
    });
  });
}

describe('direct messages: the room shape', () => {
  test('a direct message nobody opened admits nobody, and bad requests are refused', async () => {
    const ann = person(open, 'ann');
    const bob = person(open, 'bob');
    await uids(ann, bob);
    // the room two public uids would get, before either opened it
    const squat = `dm.${'0'.repeat(32)}`;
    assert.equal((await ann.refused(squat)).code, 'forbidden');
    assert.equal((await ann.dm(ann.uid)).status, 400, 'yourself alone');
    assert.equal((await ann.dm(Array.from({ length: 9 }, (_, i) => `u${i}`))).status, 400, 'nine others');
    assert.equal((await ann.dm('anon:abc')).status, 400);
    const noOne = await getJson(`${open.base}/api/dms`, { method: 'POST', body: JSON.stringify({ with: bob.uid }) });
    assert.equal(noOne.status, 401);
    const group = await ann.dm([bob.uid, 'someone-else']);
    assert.equal(group.status, 201);
    assert.notEqual(group.body.room, (await ann.dm(bob.uid)).body.room, 'another set, another room');
  });

  test('the API token reads no direct message and no bot posts into one', async () => {
    const ann = person(signed, 'ann');
    const bob = person(signed, 'bob');
    await uids(ann, bob);
    const { room } = (await ann.dm(bob.uid)).body;
    const bearer = { headers: { authorization: `Bearer ${API_TOKEN}` } };
    assert.equal((await getJson(`${signed.base}/api/rooms/${room}/messages`, bearer)).status, 401);
    const post = await getJson(`${signed.base}/api/rooms/${room}/messages`, {
      method: 'POST',
      headers: { ...bearer.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bot', text: 'hi' }),
    });
    assert.equal(post.status, 403);
  });
});

describe('a direct message’s files', () => {
  test('only its members upload to it and download from it', async () => {
    const ann = person(open, 'ann');
    const bob = person(open, 'bob');
    const eve = person(open, 'eve');
    await uids(ann, bob, eve);
    const { room } = (await ann.dm(bob.uid)).body;
    const upload = (who) =>
      getJson(`${open.base}/api/rooms/${room}/files?name=plan.txt`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', 'x-edge-chat-key': who.creds.key },
        body: 'the plan',
      });
    const mine = await upload(ann);
    assert.equal(mine.status, 201, JSON.stringify(mine.body));
    assert.equal((await upload(eve)).status, 403, 'a third person uploads nothing into it');
    const path = `/api/rooms/${room}/files/${mine.body.file.id}`;
    const read = (query) => fetch(`${open.base}${path}${query}`);
    assert.equal((await read(`?key=${bob.creds.key}`)).status, 200, 'a member downloads it');
    for (const [who, query] of [['eve', `?key=${eve.creds.key}`], ['nobody', '']]) {
      const r = await read(query);
      assert.equal(r.status, 403, `${who} downloads it`);
      assert.ok(!(await r.text()).includes('the plan'));
    }
  });
});

describe('who is online', () => {
  test('a partner sees the person come online (inbox or room socket) and go after the grace', async () => {
    const ann = person(open, 'ann');
    const bob = person(open, 'bob');
    await uids(ann, bob);
    const { room } = (await ann.dm(bob.uid)).body;
    const online = (v) => (f) => f.type === 'online' && f.uid === bob.uid && f.online === v;
    const watching = await eventually(async () => {
      const c = await ann.inbox();
      if (c.snapshot.rooms.some((r) => r.room === room)) return c;
      await c.close();
      return null;
    });
    // bob had his inbox open a moment ago (to learn his uid): wait until that has passed
    if (watching.snapshot.online.find((s) => s.uid === bob.uid)?.online) await watching.next(online(false), 15_000);
    // bob opens his inbox: online
    const bobInbox = await bob.inbox();
    await watching.next(online(true));
    const offline = Date.now();
    await bobInbox.close();
    const gone = await watching.next(online(false), 15_000);
    assert.ok(gone.last_seen >= offline - 1000, 'last seen when he left');
    // a room socket counts too, any room
    const lobby = await bob.join(`elsewhere-${crypto.randomBytes(4).toString('hex')}`);
    await watching.next(online(true));
    await lobby.close();
    await watching.next(online(false), 15_000);
    // a snapshot says it too
    const later = await ann.inbox();
    assert.deepEqual(later.snapshot.online.map((s) => [s.uid, s.online]), [[bob.uid, false]]);
    await Promise.all([watching.close(), later.close()]);
  });
});
