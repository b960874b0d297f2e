// The limits set in the environment hold, on a server started with small ones: MAX_CONNECTIONS (a full
// room refuses the next socket with room_full, a freed slot can be taken) and HISTORY_LIMIT (only the
// newest messages are kept, and a resume past them says it was truncated). RATE_* are raised out of
// the way.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CLOSE_ROOM_FULL } from './common/close-codes.mjs';
import { Client, getJson, startServer, storedMessages, uniqueRoom } from './common/harness.mjs';

let server;
before(async () => {
  server = await startServer({
    vars: { MAX_CONNECTIONS: '3', HISTORY_LIMIT: '100', RATE_BURST: '1000', RATE_PER_SEC: '1000' },
  });
});
after(async () => {
  await server?.stop();
});

test('a room at MAX_CONNECTIONS refuses the next socket with room_full and close 4503; a freed slot can be taken again', async () => {
  const room = uniqueRoom('full');
  const cs = [];
  for (let i = 0; i < 3; i++) cs.push(await Client.connect(server.ws(room, { name: `u${i}` })));
  const r = await Client.refusedOnSocket(server.ws(room, { name: 'extra' }));
  assert.equal(r.closeCode, CLOSE_ROOM_FULL);
  assert.equal(r.code, 'room_full');
  assert.equal((await getJson(`${server.base}/api/rooms/${room}`)).body.online, 3);
  // other rooms are not affected
  const other = await Client.connect(server.ws(uniqueRoom('other'), { name: 'x' }));
  await cs[0].close();
  await cs[1].next('leave');
  const late = await Client.connect(server.ws(room, { name: 'late' }));
  assert.equal(late.welcome.members.length, 3);
  await Promise.all([...cs.slice(1), other, late].map((c) => c.close()));
});

test('history keeps the newest HISTORY_LIMIT messages; a resume past it is truncated', async () => {
  const room = uniqueRoom('hist');
  const a = await Client.connect(server.ws(room, { name: 'ann' }));
  const total = 250;
  for (let i = 1; i <= total; i++) a.send({ type: 'message', text: `h${i}`, id: `h${i}` });
  await a.next((f) => f.type === 'ack' && f.id === `h${total}`, 30_000);
  assert.equal(a.all('error').length, 0);

  const stored = await storedMessages(server, room);
  assert.equal(stored.lastSeq, total);
  assert.equal(stored.messages.length, 100, 'only the newest 100 are kept');
  assert.equal(stored.messages[0].seq, total - 99);
  assert.equal(stored.messages.at(-1).seq, total);

  const b = await Client.connect(server.ws(room, { name: 'bob', after: '10' }));
  assert.equal(b.welcome.truncated, true, 'messages 11..150 are gone: the resume says so');
  assert.equal(b.welcome.history.length, 100);
  assert.equal(b.welcome.history[0].seq, total - 99);

  const c = await Client.connect(server.ws(room, { name: 'cy', after: String(total - 5) }));
  assert.equal(c.welcome.truncated, false);
  assert.deepEqual(c.welcome.history.map((m) => m.seq), [246, 247, 248, 249, 250]);
  await Promise.all([a.close(), b.close(), c.close()]);
});
