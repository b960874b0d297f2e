// Threads and mentions (docs/PROTOCOL.md "Threads", "Mentions"): replies are ordinary messages on the
// room's one stream, their root's summary is a change of its own (live, and caught up by since=),
// bad roots are refused with bad_thread and nothing stored, a thread is read in pages over HTTP and
// the socket, per-thread read marks and mentions make each person's counts, @room is a moderator's,
// and webhooks carry thread and mentions. Real wrangler dev (with signed access, so roles are real),
// a real webhook receiver on 127.0.0.1, and a room spread over shards (SHARD_SOCKETS 2).

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { Client, eventually, getJson, startServer, uniqueRoom } from './common/harness.mjs';
import { roomInfo, socketsPerShard } from './scenarios/sharded-room.mjs';

const JWT_SECRET = 'test-jwt-secret-threads';
const API_TOKEN = 'test-api-token-threads';

/** The app's webhook receiver: keeps every event it is sent. */
function startReceiver() {
  const events = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      try {
        events.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {}
      res.writeHead(200).end('ok');
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${server.address().port}/hooks`,
        events,
        close: () => {
          server.closeAllConnections();
          return new Promise((r) => server.close(r));
        },
      });
    });
  });
}

let server;
let receiver;
before(async () => {
  receiver = await startReceiver();
  server = await startServer({ vars: { JWT_SECRET, API_TOKEN, WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: 'whsec-threads', RATE_BURST: 200, RATE_PER_SEC: 200 } });
});
after(async () => {
  await server?.stop();
  await receiver?.close();
});

const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
/** An HS256 JWT as an app's identity provider signs it. */
function token(room, sub, name, role = 'member') {
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, name, role, rooms: [room], exp: Math.floor(Date.now() / 1000) + 600 })}`;
  return `${input}.${crypto.createHmac('sha256', JWT_SECRET).update(input).digest('base64url')}`;
}
/** `name` in `room` (sub = name), a member unless `role` says otherwise. */
const as = (room, name, { role, ...query } = {}) => Client.connect(server.ws(room, { token: token(room, name, name, role), ...query }));

function api(path, method = 'GET', body) {
  return getJson(`${server.base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` },
    body: body && JSON.stringify(body),
  });
}

/** Sends a reply into the thread of `root` and resolves with its ack. */
const reply = (c, root, text, extra = {}) => c.act({ type: 'message', text, thread: root, ...extra });

/** The last `thread_updated` frame `c` has for `root` once its summary counts `replies`. */
const summaryWith = (c, root, replies) => c.next((f) => f.type === 'thread_updated' && f.root === root && f.thread.replies === replies);

describe('threads', () => {
  test('concurrent replies from several sockets: one order for everyone, every one counted in the summary', async () => {
    const room = uniqueRoom('thr');
    const [ann, bob, cy, dee] = await Promise.all(['ann', 'bob', 'cy', 'dee'].map((n) => as(room, n)));
    const root = await ann.say('what shall we do friday?');
    const per = 10;
    const acks = await Promise.all([bob, cy, dee, ann].flatMap((c, i) => Array.from({ length: per }, (_, k) => reply(c, root.seq, `r${i}.${k}`))));
    const seqs = acks.map((a) => a.seq).sort((x, y) => x - y);
    assert.equal(new Set(seqs).size, 4 * per, 'each reply its own seq');
    // Everyone hears the last summary; each socket saw the others' replies once, in seq order.
    for (const c of [ann, bob, cy, dee]) {
      const last = await summaryWith(c, root.seq, 4 * per);
      assert.equal(last.thread.last_seq, seqs.at(-1));
      assert.equal(last.thread.participants.length, 4, 'four repliers');
      const heard = c.all('message').filter((m) => m.thread === root.seq).map((m) => m.seq);
      assert.deepEqual(heard, [...heard].sort((x, y) => x - y), 'in seq order');
      const revs = c.all('thread_updated').map((f) => f.rev);
      assert.deepEqual(revs, [...revs].sort((x, y) => x - y), 'summaries in rev order');
    }
    // The thread read over HTTP: the root with its summary, then every reply, oldest first, paged.
    const first = await api(`/api/rooms/${room}/threads/${root.seq}?limit=25`);
    assert.equal(first.status, 200);
    assert.equal(first.body.root.thread.replies, 4 * per);
    assert.equal(first.body.has_more, true);
    const rest = await api(`/api/rooms/${room}/threads/${root.seq}?after=${first.body.replies.at(-1).seq}`);
    assert.deepEqual([...first.body.replies, ...rest.body.replies].map((m) => m.seq), seqs);
    assert.equal(rest.body.has_more, false);
    // And over the socket.
    const page = await cy.ask({ type: 'thread', root: root.seq, after: seqs[35] });
    assert.equal(page.type, 'thread_page');
    assert.deepEqual(page.replies.map((m) => m.seq), seqs.slice(36));
    // The replies are on the room's one stream: the history has them with their thread.
    const history = await api(`/api/rooms/${room}/messages`);
    assert.equal(history.body.messages.filter((m) => m.thread === root.seq).length, 4 * per);
    await Promise.all([ann, bob, cy, dee].map((c) => c.close()));
  });

  test('bad_thread for each bad root, on the socket and over HTTP, and nothing is stored', async () => {
    const room = uniqueRoom('badthr');
    const ann = await as(room, 'ann');
    const root = await ann.say('root');
    const inThread = await reply(ann, root.seq, 'a reply');
    const doomed = await ann.say('to be deleted');
    await ann.act({ type: 'delete', seq: doomed.seq });
    const before = (await api(`/api/rooms/${room}`)).body.last_seq;
    for (const bad of [9999, doomed.seq, inThread.seq, 0]) {
      await assert.rejects(reply(ann, bad, 'x'), (e) => e.frame.code === 'bad_thread', `root ${bad}`);
      const posted = await api(`/api/rooms/${room}/messages`, 'POST', { name: 'bot', text: 'x', thread: bad });
      assert.equal(posted.status, 400, `POST into ${bad}`);
      assert.equal(posted.body.error.code, 'bad_thread');
    }
    assert.equal((await api(`/api/rooms/${room}`)).body.last_seq, before, 'nothing stored');
    // Reading: a reply has no thread of its own; a missing message none at all.
    assert.equal((await api(`/api/rooms/${room}/threads/${inThread.seq}`)).status, 400);
    assert.equal((await api(`/api/rooms/${room}/threads/9999`)).status, 404);
    await ann.close();
  });

  test("a deleted root's thread stays readable but takes no more replies; a deleted reply is counted out", async () => {
    const room = uniqueRoom('delthr');
    const ann = await as(room, 'ann');
    const bob = await as(room, 'bob');
    const root = await ann.say('root');
    const one = await reply(bob, root.seq, 'one');
    await reply(bob, root.seq, 'two');
    await bob.act({ type: 'delete', seq: one.seq });
    const recount = await summaryWith(ann, root.seq, 1);
    assert.equal(recount.thread.participants[0], bob.welcome.you.uid);
    await ann.act({ type: 'delete', seq: root.seq });
    const page = await api(`/api/rooms/${room}/threads/${root.seq}`);
    assert.equal(page.body.root.deleted, true);
    assert.equal(page.body.root.thread.replies, 1, 'the summary stays on the tombstone');
    assert.deepEqual(page.body.replies.map((m) => [m.text, m.deleted]), [['', true], ['two', false]]);
    await assert.rejects(reply(bob, root.seq, 'three'), (e) => e.frame.code === 'bad_thread');
    await Promise.all([ann.close(), bob.close()]);
  });

  test('a client away while a thread grows resumes with since= and gets the root with its new summary', async () => {
    const room = uniqueRoom('resthr');
    const ann = await as(room, 'ann');
    const bob = await as(room, 'bob');
    const root = await ann.say('root');
    const seen = await ann.say('seen');
    await bob.next((f) => f.type === 'message' && f.seq === seen.seq);
    await bob.close();
    await reply(ann, root.seq, 'while bob was away');
    const back = await as(room, 'bob', { after: seen.seq, since: seen.rev });
    const changed = back.welcome.changes.find((m) => m.seq === root.seq);
    assert.equal(changed.thread.replies, 1, 'the root, caught up');
    assert.equal(back.welcome.history[0].thread, root.seq, 'the reply, as a missed message');
    await Promise.all([ann.close(), back.close()]);
  });

  test('the threads of a room, by last activity, in pages', async () => {
    const room = uniqueRoom('listthr');
    const ann = await as(room, 'ann');
    const roots = [];
    for (const t of ['a', 'b', 'c']) roots.push(await ann.say(t));
    await ann.say('no thread here');
    await reply(ann, roots[1].seq, 'b1');
    await reply(ann, roots[0].seq, 'a1');
    await reply(ann, roots[2].seq, 'c1');
    await reply(ann, roots[1].seq, 'b2');
    const first = await api(`/api/rooms/${room}/threads?limit=2`);
    assert.deepEqual(first.body.threads.map((m) => m.text), ['b', 'c']);
    const second = await api(`/api/rooms/${room}/threads?limit=2&before=${first.body.next}`);
    assert.deepEqual(second.body.threads.map((m) => m.text), ['a']);
    assert.equal(second.body.next, null);
    // Read rights as for the history: without a token or the API's, nothing.
    const anonymous = await getJson(`${server.base}/api/rooms/${room}/threads`);
    assert.equal(anonymous.status, 401);
    const asMember = await getJson(`${server.base}/api/rooms/${room}/threads/${roots[0].seq}?token=${token(room, 'zed', 'zed')}`);
    assert.equal(asMember.status, 200);
    await ann.close();
  });

  test('thread read marks: participants count unread replies apart from the room, and their marks clear them', async () => {
    const room = uniqueRoom('readthr');
    const ann = await as(room, 'ann');
    const ann2 = await as(room, 'ann');
    const bob = await as(room, 'bob');
    const root = await ann.say('root by ann');
    await reply(bob, root.seq, 'bob answers');
    // ann wrote the root: the reply concerns her, on both of her sockets; not the room's unread.
    for (const c of [ann, ann2]) {
      const counts = await c.next((f) => f.type === 'unread' && f.thread_unread === 1);
      assert.deepEqual(counts.threads, [{ root: root.seq, unread: 1 }]);
    }
    const r2 = await reply(bob, root.seq, 'and again');
    const again = await as(room, 'ann');
    assert.equal(again.welcome.thread_unread, 2);
    assert.deepEqual(again.welcome.threads, [{ root: root.seq, unread: 2 }]);
    assert.equal(again.welcome.unread, 0, 'thread replies are not unread in the main conversation');
    // ann reads the thread in one tab: her other tabs are told; bob hears nothing of it.
    ann.send({ type: 'read', seq: r2.seq, thread: root.seq });
    for (const c of [ann, ann2, again]) await c.next((f) => f.type === 'unread' && f.thread_unread === 0);
    const later = await as(room, 'ann');
    assert.equal(later.welcome.thread_unread, 0);
    assert.equal(bob.all('unread').length, 0, 'bob never got counts: nothing concerned him alone');
    await Promise.all([ann, ann2, bob, again, later].map((c) => c.close()));
  });

  test('search finds thread replies', async () => {
    const room = uniqueRoom('srchthr');
    const ann = await as(room, 'ann');
    const root = await ann.say('lunch?');
    const r = await reply(ann, root.seq, 'pineapple pizza at noon');
    const found = await api(`/api/rooms/${room}/search?q=pineapple`);
    assert.deepEqual(found.body.results.map((m) => [m.seq, m.thread]), [[r.seq, root.seq]]);
    await ann.close();
  });
});

describe('mentions', () => {
  test('@name and <@uid> resolve to people who have been in the room, and are recomputed on edit', async () => {
    const room = uniqueRoom('ment');
    const ann = await as(room, 'ann');
    const bob = await as(room, 'Bob Lee');
    const cy = await as(room, 'cy');
    await cy.close(); // cy has been here: still mentionable
    const uid = (c) => c.welcome.you.uid;
    const m = await ann.say(`hi @bob lee, @cy and @nobody; <@${uid(ann)}>`);
    const heard = await bob.next((f) => f.type === 'message' && f.seq === m.seq);
    assert.deepEqual(heard.mentions, [uid(bob), uid(cy), uid(ann)]);
    const edit = await ann.act({ type: 'edit', seq: m.seq, text: 'hi @cy only' });
    const updated = await bob.next((f) => f.type === 'message_updated' && f.rev === edit.rev);
    assert.deepEqual(updated.message.mentions, [uid(cy)]);
    const stored = (await api(`/api/rooms/${room}/messages`)).body.messages.find((x) => x.seq === m.seq);
    assert.deepEqual(stored.mentions, [uid(cy)], 'stored as recomputed');
    await Promise.all([ann.close(), bob.close()]);
  });

  test('@room is refused to members and taken from moderators and the API', async () => {
    const room = uniqueRoom('atroom');
    const ann = await as(room, 'ann');
    const mod = await as(room, 'mo', { role: 'moderator' });
    await assert.rejects(ann.say('@room lunch?'), (e) => e.frame.code === 'forbidden');
    const plain = await ann.say('plain');
    await assert.rejects(ann.act({ type: 'edit', seq: plain.seq, text: 'now @room' }), (e) => e.frame.code === 'forbidden');
    const ok = await mod.say('@room lunch!');
    assert.equal((await ann.next((f) => f.type === 'message' && f.seq === ok.seq)).mentions_room, true);
    const posted = await api(`/api/rooms/${room}/messages`, 'POST', { name: 'bot', text: '@room deploy done' });
    assert.equal(posted.status, 201);
    await Promise.all([ann.close(), mod.close()]);
  });

  test("each person's unread mentions: in the welcome, live, on resume, cleared by read marks", async () => {
    const room = uniqueRoom('mcount');
    const ann = await as(room, 'ann');
    const bob = await as(room, 'bob');
    const bob2 = await as(room, 'bob');
    const m1 = await ann.say('@bob look at this');
    for (const c of [bob, bob2]) assert.equal((await c.next((f) => f.type === 'unread' && f.mentions === 1)).mentions, 1);
    await bob2.close();
    // Missed while away, caught up on resume.
    const m2 = await ann.say('@bob and this');
    const back = await as(room, 'bob', { after: m1.seq });
    assert.equal(back.welcome.mentions, 2);
    // A read mark past the first clears it, on every socket of bob's.
    back.send({ type: 'read', seq: m1.seq });
    for (const c of [bob, back]) await c.next((f) => f.type === 'unread' && f.mentions === 1);
    // A mention in a thread is read with the thread.
    const inThread = await reply(ann, m2.seq, 'and @bob here');
    back.send({ type: 'read', seq: inThread.seq });
    await bob.next((f) => f.type === 'unread' && f.mentions === 1 && f.thread_unread === 1);
    back.send({ type: 'read', seq: inThread.seq, thread: m2.seq });
    await bob.next((f) => f.type === 'unread' && f.mentions === 0 && f.thread_unread === 0);
    assert.equal(ann.all('unread').length, 0, "never one's own");
    await Promise.all([ann, bob, back].map((c) => c.close()));
  });

  test('webhook events carry thread and mentions', async () => {
    const room = uniqueRoom('hookthr');
    const ann = await as(room, 'ann');
    const bob = await as(room, 'bob');
    const root = await ann.say('root');
    const r = await reply(ann, root.seq, 'see @bob', { also_in_room: true });
    const event = await eventually(() => receiver.events.find((e) => e.room === room && e.message?.seq === r.seq), 15_000, 'the reply reached the receiver');
    assert.equal(event.type, 'message.created');
    assert.equal(event.message.thread, root.seq);
    assert.equal(event.message.also_in_room, true);
    assert.deepEqual(event.message.mentions, [bob.welcome.you.uid]);
    await Promise.all([ann.close(), bob.close()]);
  });
});

describe('across shards (SHARD_SOCKETS 2)', { timeout: 3 * 60_000 }, () => {
  let sharded;
  before(async () => {
    sharded = await startServer({ vars: { SHARD_SOCKETS: 2, RATE_PER_SEC: 1000, RATE_BURST: 1000, API_TOKEN } });
  });
  after(async () => {
    await sharded?.stop();
  });

  test('replies from every shard: one order, summaries and counts reach every shard', async () => {
    const room = uniqueRoom('shthr');
    const key = () => crypto.randomBytes(18).toString('base64url');
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    const keys = Object.fromEntries(names.map((n) => [n, key()]));
    const clients = [];
    for (const name of names) clients.push(await Client.connect(sharded.ws(room, { name, key: keys[name], ...(name === 'd' ? { batch: '1' } : {}) })));
    assert.deepEqual(socketsPerShard(await roomInfo(sharded, room)), [2, 2, 2], 'two sockets on each of three objects');
    const [a, , c, , e] = clients;
    const root = await a.say('root on the sequencer');
    // a (shard 0), c (shard 1) and e (shard 2) reply at once.
    const acks = await Promise.all([a, c, e].flatMap((s, i) => Array.from({ length: 8 }, (_, k) => reply(s, root.seq, `s${i}.${k}`))));
    const seqs = acks.map((x) => x.seq).sort((x, y) => x - y);
    for (const [i, cl] of clients.entries()) {
      const last = await summaryWith(cl, root.seq, 24);
      assert.equal(last.thread.last_seq, seqs.at(-1), `${names[i]}: the last summary`);
      const heard = cl.all('message').filter((m) => m.thread === root.seq).map((m) => m.seq);
      assert.deepEqual(heard, [...heard].sort((x, y) => x - y), `${names[i]}: replies in seq order`);
    }
    // Counts reach the person's socket on its shard: a wrote the root, f (shard 2) is mentioned.
    const mention = await c.say('@f have a look');
    await clients[5].next((f) => f.type === 'unread' && f.mentions === 1);
    await a.next((f) => f.type === 'unread' && f.thread_unread > 0);
    const page = await clients[5].ask({ type: 'thread', root: root.seq, limit: 100 });
    assert.deepEqual(page.replies.map((m) => m.seq), seqs, 'a thread page asked from a shard');
    assert.ok(mention.seq > seqs.at(-1));
    for (const cl of clients) await cl.close();
  });
});
