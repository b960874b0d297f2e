// The moderation hook before the ack (MODERATION_URL): every message and edit is asked about before it
// is stored, and nobody sees it before the verdict. A real HTTP endpoint on 127.0.0.1 plays the app's
// moderation service and checks what a real one would: the signature (HMAC-SHA256 of "<t>.<body>"
// under MODERATION_SECRET, as docs/API.md says to verify it). Real wrangler dev.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { Client, eventually, getJson, startServer, storedMessages, uniqueRoom } from './common/harness.mjs';

const SECRET = 'modsec-test-moderation-hook';
const API_TOKEN = 'test-api-token-moderation-hook';
const TIMEOUT_MS = 800;

/** The endpoint's side of docs/API.md "Verifying a signature": HMAC of `<t>.<raw body>`, `t` recent. */
function verify(header, rawBody, secret = SECRET) {
  const parts = Object.fromEntries(String(header ?? '').split(',').map((p) => p.split('=')));
  if (!/^\d+$/.test(parts.t ?? '') || !/^[0-9a-f]{64}$/.test(parts.v1 ?? '')) return false;
  if (Math.abs(Date.now() / 1000 - Number(parts.t)) > 300) return false;
  const expected = crypto.createHmac('sha256', secret).update(`${parts.t}.${rawBody}`).digest();
  return crypto.timingSafeEqual(expected, Buffer.from(parts.v1, 'hex'));
}

/**
 * The app's moderation endpoint. Every question is recorded ({question, verified, at}); `decide(q)`
 * answers it: {status, body} (a string or an object, sent as JSON), 'hang' (never answers), or a
 * promise of either. A question whose signature does not verify is answered 401, as a real endpoint
 * would (and the room then treats it as a failure).
 */
function startEndpoint() {
  const endpoint = {
    questions: [],
    inFlight: 0,
    maxInFlight: 0,
    decide: () => ({ status: 200, body: { action: 'allow' } }),
    about(room) {
      return this.questions.filter((q) => q.question?.room === room);
    },
  };
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let question = null;
      try {
        question = JSON.parse(raw);
      } catch {}
      const header = req.headers['x-edge-chat-signature'];
      const verified = verify(header, raw);
      const record = { question, verified, raw, header, at: Date.now(), answered: false };
      endpoint.questions.push(record);
      if (!verified) return res.writeHead(401).end('bad signature');
      endpoint.inFlight += 1;
      endpoint.maxInFlight = Math.max(endpoint.maxInFlight, endpoint.inFlight);
      const answer = await endpoint.decide(question, record);
      endpoint.inFlight -= 1;
      if (answer === 'hang') return; // never answers: the room's deadline must cope
      record.answered = true;
      const body = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(body);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      endpoint.url = `http://127.0.0.1:${server.address().port}/moderate`;
      endpoint.close = () => {
        for (const s of sockets) s.destroy();
        return new Promise((r) => server.close(r));
      };
      resolve(endpoint);
    });
  });
}

/** A deferred answer: the test decides when the endpoint replies. */
function gate() {
  let open;
  const promise = new Promise((r) => (open = r));
  return { promise, open };
}

let endpoint;
let server;
before(async () => {
  endpoint = await startEndpoint();
  server = await startServer({
    vars: { MODERATION_URL: endpoint.url, MODERATION_SECRET: SECRET, MODERATION_TIMEOUT_MS: String(TIMEOUT_MS), API_TOKEN },
  });
});
after(async () => {
  await server?.stop();
  await endpoint?.close();
});

const key = () => crypto.randomBytes(18).toString('base64url');
const join = (room, name) => Client.connect(server.ws(room, { name, key: key() }));
/** What `room` answers for: one endpoint serves every test, each deciding for its own room. */
const forRoom = (room, decide) => {
  const others = endpoint.decide;
  endpoint.decide = (q, r) => (q?.room === room ? decide(q, r) : others(q, r));
};
const refusal = (p) => p.then(() => assert.fail('expected a refusal'), (e) => e.frame);

describe('the moderation hook before the ack', () => {
  test('a message is seen by nobody until the endpoint allows it, and every question is signed', async () => {
    const room = uniqueRoom('hook-allow');
    const held = gate();
    forRoom(room, async (q) => {
      if (q.text === 'wait for it') await held.promise;
      return { status: 200, body: { action: 'allow' } };
    });
    const ann = await join(room, 'ann');
    const bob = await join(room, 'bob');
    const acked = ann.say('wait for it');
    await eventually(() => endpoint.about(room).length === 1, 10_000, 'the endpoint was asked');
    const [asked] = endpoint.about(room);
    assert.equal(asked.verified, true, 'the signature verifies');
    assert.equal(asked.question.type, 'message');
    assert.equal(asked.question.from.name, 'ann');
    assert.ok(!verify(asked.header, asked.raw, 'another-secret'), 'not under another secret');
    assert.ok(!verify(asked.header, asked.raw.replace('wait', 'wayt')), 'nor for another body');
    // While the verdict is out, the message is stored nowhere and nobody has heard of it.
    assert.equal(bob.all('message').length, 0);
    assert.equal((await storedMessages(server, room)).messages.length, 0);
    held.open();
    const ack = await acked;
    assert.equal(ack.seq, 1);
    assert.equal(ack.text, undefined, 'nothing altered it');
    const seen = await bob.next('message');
    assert.equal(seen.text, 'wait for it');
    ann.close();
    bob.close();
  });

  test('a rejected message gets the error frame with the reason, and is neither stored nor broadcast', async () => {
    const room = uniqueRoom('hook-reject');
    forRoom(room, (q) => (q.text.includes('spam') ? { status: 200, body: { action: 'reject', reason: 'no ads here' } } : { status: 200, body: { action: 'allow' } }));
    const ann = await join(room, 'ann');
    const bob = await join(room, 'bob');
    const frame = await refusal(ann.say('buy spam now'));
    assert.equal(frame.code, 'rejected');
    assert.equal(frame.message, 'no ads here');
    const ok = await ann.say('a fair question');
    assert.equal(ok.seq, 1, 'the rejected message took no seq');
    assert.equal((await bob.next('message')).text, 'a fair question');
    assert.equal(bob.all('message').length, 1);
    assert.deepEqual((await storedMessages(server, room)).messages.map((m) => m.text), ['a fair question']);
    ann.close();
    bob.close();
  });

  test('a replacement is stored and broadcast, its sender told, and a retry of the original is the same message', async () => {
    const room = uniqueRoom('hook-replace');
    forRoom(room, (q) => ({ status: 200, body: { action: 'replace', text: q.text.replace(/darn/g, 'd***') } }));
    const ann = await join(room, 'ann');
    const bob = await join(room, 'bob');
    const ack = await ann.act({ type: 'message', text: 'darn this bug' }, 'r-1');
    assert.equal(ack.text, 'd*** this bug', 'the ack says what was stored');
    assert.equal((await bob.next('message')).text, 'd*** this bug');
    const asked = endpoint.about(room).length;
    // The sender lost the ack and sends again, from a new connection: known, not asked, not stored.
    ann.close();
    const retry = await Client.connect(server.ws(room, { name: 'ann', key: ann.url.match(/key=([^&]+)/)[1] }));
    const second = await retry.act({ type: 'message', text: 'darn this bug' }, 'r-1');
    assert.equal(second.seq, ack.seq);
    assert.equal(second.text, 'd*** this bug');
    assert.equal(endpoint.about(room).length, asked, 'the endpoint was not asked again');
    assert.deepEqual((await storedMessages(server, room)).messages.map((m) => m.text), ['d*** this bug']);
    // An edit is asked about too, and replaced the same way.
    const edit = await retry.act({ type: 'edit', seq: ack.seq, text: 'darn, fixed' });
    assert.ok(edit.rev > ack.rev);
    const updated = await bob.next((f) => f.type === 'message_updated');
    assert.equal(updated.message.text, 'd***, fixed');
    assert.equal(endpoint.about(room).at(-1).question.type, 'edit');
    assert.equal(endpoint.about(room).at(-1).question.seq, ack.seq);
    retry.close();
    bob.close();
  });

  test('a silent endpoint: refused at the deadline (fail closed), and the others are held no longer than that', async () => {
    const room = uniqueRoom('hook-slow');
    forRoom(room, (q) => (q.text === 'into the void' ? 'hang' : { status: 200, body: { action: 'allow' } }));
    const ann = await join(room, 'ann');
    const bob = await join(room, 'bob');
    const lost = refusal(ann.say('into the void'));
    await eventually(() => endpoint.about(room).length === 1, 10_000, 'asked');
    // Bob speaks while ann's verdict is out: his message waits behind hers, then goes on.
    const bobs = bob.say('anyone here?');
    const frame = await lost;
    assert.equal(frame.code, 'moderation_unavailable');
    const ack = await bobs;
    assert.equal(ack.seq, 1, 'the refused message left no hole');
    assert.deepEqual((await storedMessages(server, room)).messages.map((m) => m.text), ['anyone here?']);
    const info = await getJson(`${server.base}/api/rooms/${room}`, { headers: { authorization: `Bearer ${API_TOKEN}` } });
    assert.equal(info.body.moderation_hook.fail, 'closed');
    assert.ok(info.body.moderation_hook.failures >= 1);
    assert.equal(info.body.moderation_hook.last_failure, 'no answer in time');
    const reader = await getJson(`${server.base}/api/rooms/${room}`);
    assert.equal(reader.body.moderation_hook, undefined, 'the hook\'s state is for operators');
    ann.close();
    bob.close();
  });

  test('failing and hostile answers (an error, a huge body, not JSON, not a verdict, a bad replacement) count as failures', async () => {
    const room = uniqueRoom('hook-hostile');
    const answers = {
      'an error': { status: 500, body: { action: 'allow' } },
      'a huge answer': { status: 200, body: JSON.stringify({ action: 'allow', pad: 'x'.repeat(5 * 1024 * 1024) }) },
      'not json': { status: 200, body: 'allow' },
      'not a verdict': { status: 200, body: { action: 'maybe' } },
      'a bad replacement': { status: 200, body: { action: 'replace', text: 'x'.repeat(5000) } },
    };
    forRoom(room, (q) => answers[q.text] ?? { status: 200, body: { action: 'allow' } });
    const ann = await join(room, 'ann');
    for (const text of Object.keys(answers)) {
      const frame = await refusal(ann.say(text));
      assert.equal(frame.code, 'moderation_unavailable', text);
    }
    assert.equal((await ann.say('and a good one')).seq, 1, 'chat goes on');
    const info = await getJson(`${server.base}/api/rooms/${room}`, { headers: { authorization: `Bearer ${API_TOKEN}` } });
    assert.equal(info.body.moderation_hook.failures, Object.keys(answers).length);
    ann.close();
  });

  test('messages arriving together are asked about concurrently, and stored in arrival order', async () => {
    const room = uniqueRoom('hook-together');
    const all = gate();
    const n = 8;
    forRoom(room, async () => {
      // Answers only once all eight questions are in: asked one at a time, they would time out.
      if (endpoint.about(room).length >= n) all.open();
      await all.promise;
      return { status: 200, body: { action: 'allow' } };
    });
    const people = await Promise.all(Array.from({ length: n }, (_, i) => join(room, `p${i}`)));
    const acks = await Promise.all(people.map((p, i) => p.say(`together ${i}`)));
    assert.deepEqual(acks.map((a) => a.seq).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8]);
    const stored = (await storedMessages(server, room)).messages;
    assert.equal(stored.length, n);
    // One sender's order is kept: each of them said one message here, so check a burst from one.
    const burst = [];
    for (let i = 0; i < 5; i++) burst.push(people[0].say(`burst ${i}`));
    const seqs = (await Promise.all(burst)).map((a) => a.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'one sender\'s messages keep their order');
    for (const p of people) p.close();
  });

  test('a bot\'s post waits for its verdict too', async () => {
    const room = uniqueRoom('hook-post');
    forRoom(room, (q) => (q.text === 'bad bot' ? { status: 200, body: { action: 'reject', reason: 'not from bots' } } : { status: 200, body: { action: 'allow' } }));
    const post = (text) => getJson(`${server.base}/api/rooms/${room}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` },
      body: JSON.stringify({ name: 'deploy-bot', text, id: `bot-${text.length}` }),
    });
    const ok = await post('deploy done');
    assert.equal(ok.status, 201);
    assert.equal(ok.body.seq, 1);
    const again = await post('deploy done');
    assert.equal(again.status, 200);
    assert.equal(again.body.duplicate, true);
    const bad = await post('bad bot');
    assert.equal(bad.status, 422);
    assert.equal(bad.body.error.code, 'rejected');
    assert.equal(endpoint.about(room).filter((q) => q.question.from.name === 'deploy-bot').length, 2, 'the retry was not asked');
  });
});

describe('failing open', () => {
  let open;
  let openEndpoint;
  before(async () => {
    openEndpoint = await startEndpoint();
    openEndpoint.decide = () => 'hang';
    open = await startServer({
      vars: { MODERATION_URL: openEndpoint.url, MODERATION_SECRET: SECRET, MODERATION_TIMEOUT_MS: '300', MODERATION_FAIL: 'open' },
    });
  });
  after(async () => {
    await open?.stop();
    await openEndpoint?.close();
  });

  test('with MODERATION_FAIL=open a silent endpoint lets the message through at the deadline', async () => {
    const room = uniqueRoom('hook-open');
    const ann = await Client.connect(open.ws(room, { name: 'ann', key: key() }));
    const bob = await Client.connect(open.ws(room, { name: 'bob', key: key() }));
    const ack = await ann.say('unchecked but not lost');
    assert.equal(ack.seq, 1);
    assert.equal((await bob.next('message')).text, 'unchecked but not lost');
    assert.equal(openEndpoint.about(room).length, 1, 'it was asked');
    ann.close();
    bob.close();
  });
});
