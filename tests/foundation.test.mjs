// The Worker routes every /ws upgrade to one Durable Object per room, which relays each message to every
// other socket of that room exactly once, keeps rooms apart, and notices a socket leaving, by a close or
// a dropped connection. Unknown paths and bad room names are refused. Real wrangler dev, real clients.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CLOSE_BAD_REQUEST } from './common/close-codes.mjs';
import { Client, eventually, getJson, startServer, uniqueRoom } from './common/harness.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

describe('routing', () => {
  test('GET /health answers 200', async () => {
    const { status, body } = await getJson(`${server.base}/health`);
    assert.equal(status, 200);
    assert.equal(body.ok, true);
  });

  test('a plain GET on /ws/{room} gets 426 with a JSON error', async () => {
    const { status, body } = await getJson(`${server.base}/ws/lobby`);
    assert.equal(status, 426);
    assert.equal(body.error.code, 'upgrade_required');
  });

  test('unknown paths get 404', async () => {
    for (const p of ['/nope', '/ws/a/b', '/api/nothing']) {
      const { status, body } = await getJson(`${server.base}${p}`);
      assert.equal(status, 404, p);
      assert.equal(body.error.code, 'not_found', p);
    }
  });

  test('a bad room name is refused on the socket (bad_room, close 4400), and over HTTP with 400', async () => {
    for (const room of ['bad%20room', 'x'.repeat(65), 'caf%C3%A9']) {
      const r = await Client.refusedOnSocket(`${server.ws(room)}?name=ann`);
      assert.equal(r.closeCode, CLOSE_BAD_REQUEST, room);
      assert.equal(r.code, 'bad_room', room);
      const { status, body } = await getJson(`${server.base}/ws/${room}?name=ann`);
      assert.equal(status, 400, `a plain GET keeps its HTTP status: ${room}`);
      assert.equal(body.error.code, 'bad_room');
    }
  });

  test('/ws without a room means the lobby', async () => {
    const c = await Client.connect(server.ws(undefined, { name: 'lobbyist' }));
    assert.equal(c.welcome.room, 'lobby');
    await c.close();
  });

  test('the page is served at /', async () => {
    const res = await fetch(`${server.base}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /text\/html/);
    assert.match(await res.text(), /edge-chat/);
  });
});

describe('relay', () => {
  test('three clients: each message reaches the two others exactly once, never the sender', async () => {
    const room = uniqueRoom('three');
    const names = ['ann', 'bob', 'cy'];
    const clients = [];
    for (const name of names) clients.push(await Client.connect(server.ws(room, { name })));
    await Promise.all(clients.map((c, i) => c.say(`hello from ${names[i]}`)));
    for (const [i, c] of clients.entries()) {
      // wait for the two others' messages
      for (const [j, other] of names.entries()) {
        if (j !== i) await c.next((f) => f.type === 'message' && f.text === `hello from ${other}`);
      }
    }
    // give any stray duplicate a moment to arrive, then count exactly
    await clients[0].say('barrier');
    await clients[1].next((f) => f.type === 'message' && f.text === 'barrier');
    await clients[2].next((f) => f.type === 'message' && f.text === 'barrier');
    for (const [i, c] of clients.entries()) {
      const texts = c.all('message').map((m) => m.text);
      assert.equal(texts.filter((t) => t === `hello from ${names[i]}`).length, 0, `${names[i]} got its own message back`);
      for (const [j, other] of names.entries()) {
        if (j !== i) assert.equal(texts.filter((t) => t === `hello from ${other}`).length, 1, `${names[i]} got ${other}'s message once`);
      }
    }
    await Promise.all(clients.map((c) => c.close()));
  });

  test('two rooms are isolated', async () => {
    const r1 = uniqueRoom('iso1');
    const r2 = uniqueRoom('iso2');
    const a1 = await Client.connect(server.ws(r1, { name: 'a1' }));
    const b1 = await Client.connect(server.ws(r1, { name: 'b1' }));
    const a2 = await Client.connect(server.ws(r2, { name: 'a2' }));
    const b2 = await Client.connect(server.ws(r2, { name: 'b2' }));
    await a1.say('only for room one');
    await a2.say('only for room two');
    await b1.next((f) => f.type === 'message' && f.text === 'only for room one');
    await b2.next((f) => f.type === 'message' && f.text === 'only for room two');
    // a later message in each room proves nothing else was queued before it
    await a1.say('end1');
    await a2.say('end2');
    await b1.next((f) => f.type === 'message' && f.text === 'end1');
    await b2.next((f) => f.type === 'message' && f.text === 'end2');
    assert.deepEqual(b1.all('message').map((m) => m.text), ['only for room one', 'end1']);
    assert.deepEqual(b2.all('message').map((m) => m.text), ['only for room two', 'end2']);
    assert.ok(!b1.all('join').some((j) => j.user.name.endsWith('2')), 'room one saw a join from room two');
    await Promise.all([a1, b1, a2, b2].map((c) => c.close()));
  });

  test('ping gets pong', async () => {
    const c = await Client.connect(server.ws(uniqueRoom('ping'), { name: 'pinger' }));
    c.send('ping');
    const pong = await c.next((f) => f.type === '_text');
    assert.equal(pong.text, 'pong');
    await c.close();
  });

  test('a client closing is noticed: its socket leaves the room, the others hear it, the close is clean', async () => {
    const room = uniqueRoom('leave');
    const stay = await Client.connect(server.ws(room, { name: 'stay' }));
    const go = await Client.connect(server.ws(room, { name: 'go' }));
    const info = await getJson(`${server.base}/api/rooms/${room}`);
    assert.equal(info.body.online, 2);
    assert.equal(info.body.sockets, 2);
    const { code } = await go.close(1000, 'done');
    assert.equal(code, 1000, 'the client must see its clean close completed, not 1006');
    const leave = await stay.next('leave');
    assert.equal(leave.user.id, go.welcome.you.id);
    assert.equal(leave.user.name, 'go');
    const after1 = await eventually(async () => {
      const r = await getJson(`${server.base}/api/rooms/${room}`);
      return r.body.sockets === 1 && r.body;
    }, 5000, 'the socket to be gone');
    assert.equal(after1.online, 1);
    assert.deepEqual(after1.members.map((m) => m.name), ['stay']);
    await stay.close();
  });

  test('a dropped connection (no close frame) also leaves the room', async () => {
    const room = uniqueRoom('drop');
    const stay = await Client.connect(server.ws(room, { name: 'stay' }));
    const drop = await Client.connect(server.ws(room, { name: 'drop' }));
    drop.terminate();
    const leave = await stay.next('leave');
    assert.equal(leave.user.name, 'drop');
    await stay.close();
  });
});
