// Notifications for people who are away: standard Web Push from the inbox. A real local push service
// (tests/common/push-service.mjs) decrypts every payload with the subscription's own keys (RFC 8291)
// and verifies the VAPID token (RFC 8292) as a real one would: a push it would refuse fails the test.
// Real wrangler dev, real sockets; the person is away once every socket of theirs is closed.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startPushService } from './common/push-service.mjs';
import { Client, eventually, getJson, restartServer, sleep, startServer, uniqueRoom } from './common/harness.mjs';

let server;
let service;
let vapidPublic;

before(async () => {
  const pair = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = pair.privateKey.export({ format: 'jwk' });
  vapidPublic = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(jwk.x, 'base64url'),
    Buffer.from(jwk.y, 'base64url'),
  ]).toString('base64url');
  service = await startPushService({ vapidPublicKey: vapidPublic });
  server = await startServer({
    vars: {
      VAPID_PUBLIC_KEY: vapidPublic,
      VAPID_PRIVATE_KEY: jwk.d,
      VAPID_SUBJECT: 'mailto:ops@example.com',
      PUSH_ALLOW_INSECURE: '127.0.0.1',
    },
  });
});
after(async () => {
  if (process.env.PUSH_DEBUG) console.log(server?.log, JSON.stringify(service?.rejected), JSON.stringify(service?.attempts));
  await server?.stop();
  await service?.close();
});

const newKey = () => crypto.randomBytes(18).toString('base64url');

function person(name) {
  const key = newKey();
  return {
    name,
    key,
    join: (room) => Client.connect(server.ws(room, { name, key })),
    api: (path, method = 'GET', body) =>
      getJson(`${server.base}${path}${path.includes('?') ? '&' : '?'}key=${key}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
  };
}

/** `p` joins `room` once (so it is in their inbox), subscribes a device, and goes away. */
async function awayMember(p, room) {
  const c = await p.join(room);
  const uid = c.welcome.you.uid;
  // The room tells the person's inbox about them (coalesced, within a second or so).
  await eventually(async () => (await p.api('/api/me')).body.rooms?.some((r) => r.room === room), 20_000, 'the room in the inbox');
  const sub = service.subscribe();
  const res = await p.api('/api/me/push', 'POST', sub.json);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  await c.close();
  await sleep(300); // the room tells the inbox the person's last socket there closed
  return { uid, sub };
}

describe('web push', () => {
  test('the key is served, and bad subscriptions are refused with the reason', async () => {
    const key = await getJson(`${server.base}/api/push/key`);
    assert.equal(key.body.key, vapidPublic);
    const ann = person('ann');
    const insecure = await ann.api('/api/me/push', 'POST', {
      endpoint: 'http://example.com/push/1',
      keys: service.subscribe().json.keys,
    });
    assert.equal(insecure.status, 400);
    assert.match(insecure.body.error.message, /https/);
    const badKeys = await ann.api('/api/me/push', 'POST', {
      endpoint: `${service.origin}/push/x`,
      keys: { p256dh: 'AAAA', auth: 'AAAA' },
    });
    assert.equal(badKeys.status, 400);
    assert.match(badKeys.body.error.message, /p256dh/);
    const anonymous = await getJson(`${server.base}/api/me/push`, { method: 'POST', body: '{}' });
    assert.equal(anonymous.status, 401);
  });

  test('a direct message to a person who is away: one push, decrypted, with the sender and text', async () => {
    const ann = person('ann');
    const bo = person('bo');
    const lobby = uniqueRoom('dm-lobby');
    const a = await ann.join(lobby);
    const { uid: boUid, sub } = await awayMember(bo, lobby);
    const dm = await ann.api('/api/dms', 'POST', { with: boUid });
    assert.equal(dm.status, 201, JSON.stringify(dm.body));
    const room = dm.body.room;
    const d = await ann.join(room);
    await d.say('are you there?');
    const [push] = await eventually(() => (service.for(sub.id).length ? service.for(sub.id) : null), 20_000, 'a push');
    assert.equal(push.payload.kind, 'dm');
    assert.equal(push.payload.room, room);
    assert.equal(push.payload.from, 'ann');
    assert.equal(push.payload.text, 'are you there?');
    assert.equal(push.urgency, 'high');
    assert.match(push.topic, /^[\w-]{32}$/);
    assert.deepEqual(service.rejected, []);
    await d.say('hello?');
    await sleep(2500);
    assert.equal(service.for(sub.id).length, 1, 'one push per room until bo comes back');
    await a.close();
    await d.close();
  });

  test('ten messages in a room set to all: one push until the person comes back, then one more', async () => {
    const ann = person('ann');
    const bo = person('bo');
    const room = uniqueRoom('ten');
    const a = await ann.join(room);
    const { sub } = await awayMember(bo, room);
    const set = await bo.api(`/api/me/rooms/${room}`, 'PATCH', { notify: 'all' });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    for (let i = 0; i < 10; i++) await a.say(`m${i}`);
    await eventually(() => service.for(sub.id).length === 1, 20_000, 'the first push');
    await sleep(2500);
    assert.equal(service.for(sub.id).length, 1);
    assert.equal(service.for(sub.id)[0].payload.kind, 'message');
    // Bo comes back (any socket) and goes again: the next message pushes again.
    const back = await bo.join(room);
    await back.close();
    await sleep(500);
    await a.say('after');
    await eventually(() => service.for(sub.id).length === 2, 20_000, 'a push after coming back');
    assert.equal(service.for(sub.id)[1].payload.text, 'after');
    assert.deepEqual(service.rejected, []);
    await a.close();
  });

  test('nothing for a person who is online, for the default setting without a mention, or for a muted room', async () => {
    const ann = person('ann');
    const bo = person('bo');
    const room = uniqueRoom('quiet');
    const a = await ann.join(room);
    const online = await bo.join(room);
    await eventually(async () => (await bo.api('/api/me')).body.rooms?.some((r) => r.room === room), 20_000, 'the room in the inbox');
    const sub = service.subscribe();
    assert.equal((await bo.api('/api/me/push', 'POST', sub.json)).status, 201);
    await bo.api(`/api/me/rooms/${room}`, 'PATCH', { notify: 'all' });
    await a.say('while bo is here');
    await sleep(2500);
    assert.equal(service.for(sub.id).length, 0, 'online: no push');
    await online.close();
    await sleep(300);
    await bo.api(`/api/me/rooms/${room}`, 'PATCH', { notify: 'mentions' });
    await a.say('plain message');
    await sleep(2500);
    assert.equal(service.for(sub.id).length, 0, 'mentions only: no push for a plain message');
    await bo.api(`/api/me/rooms/${room}`, 'PATCH', { notify: 'all' });
    await bo.api(`/api/me/rooms/${room}`, 'PATCH', { muted: true });
    await a.say('muted now');
    await sleep(2500);
    assert.equal(service.for(sub.id).length, 0, 'muted: no push');
    const state = await bo.api('/api/me/push');
    assert.equal(state.body.enabled, true);
    assert.equal(state.body.devices, 1);
    assert.equal(state.body.notify[room], 'all');
    await a.close();
  });

  test('410 removes the subscription for good; 500 then success delivers once after a retry', async () => {
    const ann = person('ann');
    const bo = person('bo');
    const room = uniqueRoom('answers');
    const a = await ann.join(room);
    const { sub: gone } = await awayMember(bo, room);
    const flaky = service.subscribe();
    assert.equal((await bo.api('/api/me/push', 'POST', flaky.json)).status, 201);
    await bo.api(`/api/me/rooms/${room}`, 'PATCH', { notify: 'all' });
    service.gone(gone.id);
    service.answers(flaky.id, [500]);
    await a.say('first');
    // The flaky device's first attempt fails; the retry comes after the first backoff (5 s).
    await eventually(() => service.for(flaky.id).length === 1, 30_000, 'delivery after a retry');
    assert.equal(service.for(flaky.id)[0].payload.text, 'first');
    const state = await bo.api('/api/me/push');
    assert.equal(state.body.devices, 1, 'the 410 subscription is gone');
    const goneAttempts = service.attempts.filter((x) => x.id === gone.id).length;
    assert.equal(goneAttempts, 1);
    // Back and away again: the next push goes to the remaining device only.
    const back = await bo.join(room);
    await back.close();
    await sleep(500);
    await a.say('second');
    await eventually(() => service.for(flaky.id).length === 2, 20_000, 'the second push');
    assert.equal(service.attempts.filter((x) => x.id === gone.id).length, 1, 'never tried again');
    assert.equal(service.for(flaky.id).length, 2, 'delivered once each');
    assert.deepEqual(service.rejected, []);
    await a.close();
  });

  test('the outbox survives a restart', async () => {
    const ann = person('ann');
    const bo = person('bo');
    const lobby = uniqueRoom('restart');
    const a = await ann.join(lobby);
    const { uid: boUid, sub } = await awayMember(bo, lobby);
    const dm = await ann.api('/api/dms', 'POST', { with: boUid });
    assert.equal(dm.status, 201, JSON.stringify(dm.body));
    // The local runtime keeps alarms across a restart but wakes an evicted object for one without
    // its name (workerd#6850; Cloudflare passes the name), and this class tells an inbox from a room
    // by its name. So no alarm of bo's inbox may be due at the restart but the outbox's retry, and
    // the inbox must be woken by name before that one: first his offline grace runs out (his DM
    // partner ann is told he is offline: then his inbox sets no alarm of its own), and the retry is
    // due 20 s after the first attempt, after a read of his inbox over HTTP has woken it by name
    // (a read is not the person coming back); reads keep it awake until the retry has run. What
    // must survive the crash is the outbox's row.
    await eventually(
      async () => (await ann.api('/api/me')).body.online?.some((s) => s.uid === boUid && s.online === false),
      20_000,
      'bo told offline',
    );
    const d = await ann.join(dm.body.room);
    service.answers(sub.id, [{ status: 503, retryAfter: 20 }]);
    await d.say('kept across a restart');
    await eventually(() => service.attempts.some((x) => x.id === sub.id), 20_000, 'the first attempt');
    await Promise.all([a.close(), d.close()]);
    server = await restartServer(server, { crash: true });
    const me = await bo.api('/api/me');
    assert.equal(me.status, 200, JSON.stringify(me.body));
    await eventually(
      async () => {
        if (service.for(sub.id).length === 1) return true;
        await bo.api('/api/me');
        await sleep(1000);
        return false;
      },
      60_000,
      'delivered after the restart',
    );
    assert.equal(service.for(sub.id)[0].payload.text, 'kept across a restart');
    await sleep(1000);
    assert.equal(service.for(sub.id).length, 1, 'still one push for the room');
    assert.deepEqual(service.rejected, []);
  });
});
