// A room survives hibernation: after every socket of it has been idle past the hibernation window
// (~10 s under wrangler dev), the Durable Object is evicted and re-constructed on the next event, with
// roster, names, seq, history, idempotency, limits and relaying intact; `ping` is answered while it
// sleeps. (tests/soak/hibernation.soak.mjs repeats this for many cycles.)

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client, getJson, sleep, startServer, uniqueRoom } from './common/harness.mjs';

const IDLE_MS = 15_000; // comfortably past the ~11 s after which workerd evicts an idle object

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

test('after hibernation the object is rebuilt from attachments and storage, and everything still works', async () => {
  const room = uniqueRoom('hib');
  const ann = await Client.connect(server.ws(room, { name: 'ann' }));
  const bob = await Client.connect(server.ws(room, { name: 'bob' }));
  await ann.say('before sleep', 'before-1');
  await bob.next('message');
  const before = await getJson(`${server.base}/api/rooms/${room}`);
  assert.equal(before.status, 200);
  assert.equal(typeof before.body.instance, 'string');

  // Idle, except for pings: auto-responses neither wake the object nor keep it awake.
  const t0 = Date.now();
  while (Date.now() - t0 < IDLE_MS) {
    await sleep(3000);
    ann.send('ping');
    assert.equal((await ann.next('_text', 2000)).text, 'pong', 'ping answered while asleep');
  }

  // The first message after the idle period wakes the object.
  const ack = await bob.say('after sleep', 'after-1');
  assert.equal(ack.seq, 2, 'seq continues from storage');
  const m = await ann.next((f) => f.type === 'message' && f.text === 'after sleep');
  assert.deepEqual(m.from, bob.welcome.you, 'the sender is known by its attachment (id and name intact)');
  assert.equal(bob.all('message').filter((x) => x.text === 'after sleep').length, 0, 'not echoed to the sender');

  const now = await getJson(`${server.base}/api/rooms/${room}`);
  assert.notEqual(now.body.instance, before.body.instance, 'the object was re-constructed (it hibernated)');
  assert.ok(now.body.started_at > before.body.started_at);
  assert.equal(now.body.online, 2);
  assert.deepEqual(
    now.body.members.map((u) => u.id).sort(),
    [ann.welcome.you.id, bob.welcome.you.id].sort(),
    'roster rebuilt from the attachments',
  );
  assert.equal(now.body.room, room, 'the room knows its name again');

  // Idempotency survives: the pre-sleep id is acked with its original seq, not stored again.
  const retry = await ann.say('before sleep', 'before-1');
  assert.equal(retry.seq, 1);

  // A newcomer after the wake sees both members and the whole history.
  const cy = await Client.connect(server.ws(room, { name: 'cy' }));
  assert.deepEqual(cy.welcome.members.map((u) => u.name).sort(), ['ann', 'bob', 'cy']);
  assert.deepEqual(cy.welcome.history.map((x) => x.text), ['before sleep', 'after sleep']);
  assert.equal(cy.welcome.last_seq, 2);

  // Limits still hold after the wake: an oversize text is refused, the socket stays.
  ann.send({ type: 'message', text: 'x'.repeat(4001), id: 'big' });
  assert.equal((await ann.next('error')).code, 'too_large');

  // Leaving after a wake is still noticed.
  await bob.close();
  const leave = await ann.next('leave');
  assert.equal(leave.user.id, bob.welcome.you.id);
  await Promise.all([ann.close(), cy.close()]);
});
