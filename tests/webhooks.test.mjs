// Webhooks: every change a room acknowledges reaches the app's receiver, signed, at least once — also
// when the receiver fails for a while and when the server dies mid-delivery — and chat never waits for
// the receiver. A real HTTP receiver on 127.0.0.1 stands in for the app's backend; real wrangler dev.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { Client, eventually, getJson, restartServer, startServer, uniqueRoom } from './common/harness.mjs';

const WEBHOOK_SECRET = 'whsec-test-webhooks';
const API_TOKEN = 'test-api-token-webhooks';

/**
 * The receiver's side of docs/API.md "Verifying a webhook": HMAC-SHA256 of `<t>.<raw body>` under the
 * secret, compared in constant time, and `t` no older than five minutes.
 */
function verify(header, rawBody, secret = WEBHOOK_SECRET) {
  const parts = Object.fromEntries(String(header ?? '').split(',').map((p) => p.split('=')));
  if (!/^\d+$/.test(parts.t ?? '') || !/^[0-9a-f]{64}$/.test(parts.v1 ?? '')) return false;
  if (Math.abs(Date.now() / 1000 - Number(parts.t)) > 300) return false;
  const expected = crypto.createHmac('sha256', secret).update(`${parts.t}.${rawBody}`).digest();
  return crypto.timingSafeEqual(expected, Buffer.from(parts.v1, 'hex'));
}

/**
 * The app's receiver: records every request; `answer(event)` decides the reply per event (a status, or
 * 'hang' to never answer).
 */
function startReceiver() {
  const receiver = {
    requests: [],
    answer: () => 200,
    events(room) {
      return this.requests.filter((r) => r.event?.room === room);
    },
    /** Delivered events of `room` (answered 2xx), first delivery of each event id. */
    delivered(room) {
      const seen = new Map();
      for (const r of this.events(room)) {
        if (r.status >= 200 && r.status < 300 && !seen.has(r.event.event_id)) seen.set(r.event.event_id, r.event);
      }
      return [...seen.values()];
    },
  };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let event = null;
      try {
        event = JSON.parse(raw);
      } catch {}
      const record = { headers: req.headers, raw, event, status: null, at: Date.now() };
      receiver.requests.push(record);
      const answer = receiver.answer(event, record);
      if (answer === 'hang') return; // never answers: the room's timeout and a restart must cope
      record.status = answer;
      res.writeHead(answer, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      receiver.url = `http://127.0.0.1:${server.address().port}/hooks`;
      receiver.close = () => {
        server.closeAllConnections();
        return new Promise((r) => server.close(r));
      };
      resolve(receiver);
    });
  });
}

let receiver;
let server;
before(async () => {
  receiver = await startReceiver();
  server = await startServer({ vars: { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET, API_TOKEN } });
});
after(async () => {
  await server?.stop();
  await receiver?.close();
});

const key = () => crypto.randomBytes(18).toString('base64url');

/** Room info as an operator reads it (the API token): with the webhook outbox's state. */
const operatorInfo = (room) => getJson(`${server.base}/api/rooms/${room}`, { headers: { authorization: `Bearer ${API_TOKEN}` } });

describe('webhooks', () => {
  test('every change is POSTed once, signed, with the message as it stands after the change', async () => {
    const room = uniqueRoom('hooks');
    const ann = await Client.connect(server.ws(room, { name: 'ann', key: key() }));
    const bob = await Client.connect(server.ws(room, { name: 'bob', key: key() }));
    const first = await ann.say('hello <everyone>');
    const edit = await ann.act({ type: 'edit', seq: first.seq, text: 'hello, everyone' });
    const react = await bob.act({ type: 'react', seq: first.seq, emoji: '🎉', on: true });
    const second = await bob.say('bye');
    const del = await bob.act({ type: 'delete', seq: second.seq });
    const posted = await getJson(`${server.base}/api/rooms/${room}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` },
      body: JSON.stringify({ name: 'bot', text: 'from the backend' }),
    });
    assert.equal(posted.status, 201);

    const events = await eventually(() => {
      const got = receiver.delivered(room);
      return got.length >= 6 && got;
    }, 20_000, 'six events delivered');
    assert.deepEqual(
      events.map((e) => e.type).sort(),
      ['message.created', 'message.created', 'message.created', 'message.deleted', 'message.updated', 'reaction.added'].sort(),
    );
    const byRev = Object.fromEntries(events.map((e) => [e.message.rev, e]));
    assert.equal(byRev[first.rev].type, 'message.created');
    assert.equal(byRev[first.rev].message.text, 'hello <everyone>');
    assert.equal(byRev[first.rev].message.from.name, 'ann');
    assert.equal(byRev[edit.rev].message.text, 'hello, everyone');
    assert.equal(byRev[edit.rev].message.version, 2);
    assert.equal(byRev[react.rev].reaction.emoji, '🎉');
    assert.equal(byRev[react.rev].reaction.user.name, 'bob');
    assert.deepEqual(byRev[react.rev].message.reactions, { '🎉': 1 });
    assert.equal(byRev[del.rev].message.deleted, true);
    assert.equal(byRev[del.rev].message.text, '', 'a deleted text does not leave the room');
    assert.ok(events.some((e) => e.message.text === 'from the backend'));
    assert.equal(new Set(events.map((e) => e.event_id)).size, 6, 'event ids are unique');

    for (const r of receiver.events(room)) {
      assert.equal(r.headers['content-type'], 'application/json');
      assert.ok(verify(r.headers['x-edge-chat-signature'], r.raw), 'the signature verifies');
      assert.ok(!verify(r.headers['x-edge-chat-signature'], r.raw.replace('"room"', '"rooM"')), 'a changed body does not');
      assert.ok(!verify(r.headers['x-edge-chat-signature'], r.raw, 'another-secret'), 'nor another secret');
      assert.equal(r.event.room, room);
      assert.equal(typeof r.event.at, 'number');
    }
    const info = await operatorInfo(room);
    assert.equal(info.body.webhooks.pending, 0);
    assert.equal(info.body.webhooks.dropped, 0);
    ann.close();
    bob.close();
  });

  test('a failing receiver gets every event again with the same id, and chat does not wait for it', async () => {
    const room = uniqueRoom('hooks-down');
    let refusals = 0;
    receiver.answer = (event) => (event?.room === room && refusals++ < 3 ? 503 : 200);
    try {
      const ann = await Client.connect(server.ws(room, { name: 'ann', key: key() }));
      const acks = [];
      for (let i = 0; i < 5; i++) acks.push(await ann.say(`while the receiver is down ${i}`));
      assert.deepEqual(acks.map((a) => a.seq), [1, 2, 3, 4, 5], 'chat goes on while the receiver fails');
      const events = await eventually(() => {
        const got = receiver.delivered(room);
        return got.length === 5 && got;
      }, 30_000, 'all five delivered after the receiver recovers');
      assert.deepEqual(events.map((e) => e.message.seq).sort(), [1, 2, 3, 4, 5]);
      const tries = receiver.events(room);
      const refused = tries.filter((r) => r.status === 503);
      assert.ok(refused.length >= 1, 'some attempts were refused');
      for (const r of refused) {
        const retried = tries.find((t) => t.status === 200 && t.event.event_id === r.event.event_id);
        assert.ok(retried, `event ${r.event.event_id} delivered after its refusal`);
        assert.ok(Number(retried.headers['x-edge-chat-attempt']) > Number(r.headers['x-edge-chat-attempt']));
      }
      const info = await operatorInfo(room);
      assert.equal(info.body.webhooks.pending, 0);
      assert.match(info.body.webhooks.last_error, /503/);
      // The receiver's failures are the operator's business: any other reader sees none of it.
      const reader = await getJson(`${server.base}/api/rooms/${room}`);
      assert.equal(reader.status, 200);
      assert.equal(reader.body.webhooks, undefined, 'no outbox state without the API token');
      assert.ok(!JSON.stringify(reader.body).includes('503'), 'nor the receiver\'s error anywhere');
      ann.close();
    } finally {
      receiver.answer = () => 200;
    }
  });

  test('an event in flight when the server dies is delivered after the restart', async () => {
    const room = uniqueRoom('hooks-crash');
    let hang = true;
    receiver.answer = (event) => (event?.room === room && hang ? 'hang' : 200);
    try {
      const ann = await Client.connect(server.ws(room, { name: 'ann', key: key() }));
      const ack = await ann.say('said just before the crash');
      await eventually(() => receiver.events(room).length > 0, 10_000, 'the POST is in flight');
      assert.equal(receiver.delivered(room).length, 0);
      server = await restartServer(server, { crash: true });
      hang = false;
      const events = await eventually(() => {
        const got = receiver.delivered(room);
        return got.length === 1 && got;
      }, 40_000, 'delivered after the restart');
      assert.equal(events[0].message.seq, ack.seq);
      assert.equal(events[0].event_id, receiver.events(room)[0].event.event_id, 'the same event id as in flight');
    } finally {
      receiver.answer = () => 200;
    }
  });
});
