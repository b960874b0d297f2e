// Moderation (docs/PROTOCOL.md "Moderation", docs/API.md): a moderator — a JWT with role "moderator",
// or the app's backend with API_TOKEN — bans, kicks, mutes, sets slow mode and deletes any message;
// every refusal reaches the person it is for as an error frame (and a 4403 close for a ban or kick);
// bans and mutes are stored and every action is logged. Real wrangler dev, real WebSocket clients.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CLOSE_FORBIDDEN } from './common/close-codes.mjs';
import { Client, getJson, restartServer, startServer, uniqueRoom } from './common/harness.mjs';

const JWT_SECRET = 'test-jwt-secret-moderation';
const API_TOKEN = 'test-api-token-moderation';

let server;
before(async () => {
  server = await startServer({ vars: { JWT_SECRET, API_TOKEN } });
});
after(async () => {
  await server?.stop();
});

const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
/** An HS256 JWT as an app's identity provider signs it. */
function token(room, sub, name, role = 'member') {
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, name, role, rooms: [room], exp: Math.floor(Date.now() / 1000) + 600 })}`;
  return `${input}.${crypto.createHmac('sha256', JWT_SECRET).update(input).digest('base64url')}`;
}
const as = (room, sub, name, role) => Client.connect(server.ws(room, { token: token(room, sub, name, role) }));

function api(path, method = 'GET', body) {
  return getJson(`${server.base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` },
    body: body && JSON.stringify(body),
  });
}

describe('moderation', () => {
  test('a moderator bans an author: closed with 4403 banned, refused at the door, logged, and unbanned', async () => {
    const room = uniqueRoom('mod-ban');
    const mod = await as(room, 'mod-1', 'Mo', 'moderator');
    assert.equal(mod.welcome.role, 'moderator');
    const ann = await as(room, 'ann-1', 'Ann');
    const bob = await as(room, 'bob-1', 'Bob');
    const annUid = ann.welcome.you.uid;
    // a member cannot
    await assert.rejects(bob.act({ type: 'ban', uid: annUid }), (e) => e.frame.code === 'forbidden');
    await mod.act({ type: 'ban', uid: annUid, reason: 'spam' });
    const told = await ann.next('error');
    assert.equal(told.code, 'banned');
    const closed = await ann.closedPromise();
    assert.equal(closed.code, CLOSE_FORBIDDEN);
    assert.equal(closed.reason, 'banned');
    const seen = await bob.next('moderation');
    assert.deepEqual([seen.action, seen.uid, seen.reason, seen.by.name], ['ban', annUid, 'spam', 'Mo']);
    const refused = await Client.refusedOnSocket(server.ws(room, { token: token(room, 'ann-1', 'Ann') }));
    assert.deepEqual([refused.code, refused.closeCode], ['banned', CLOSE_FORBIDDEN]);

    // the ban is stored: it holds after a restart
    server = await restartServer(server);
    const still = await Client.refusedOnSocket(server.ws(room, { token: token(room, 'ann-1', 'Ann') }));
    assert.equal(still.code, 'banned');
    const log = await api(`/api/rooms/${room}/moderation`);
    assert.equal(log.status, 200);
    assert.deepEqual(log.body.rules.bans, [annUid]);
    assert.equal(log.body.records[0].action, 'ban');
    assert.equal(log.body.records[0].by.name, 'Mo');
    const lifted = await api(`/api/rooms/${room}/moderation`, 'POST', { action: 'unban', uid: annUid, by: 'backend' });
    assert.equal(lifted.status, 200);
    const back = await as(room, 'ann-1', 'Ann');
    assert.equal(back.welcome.you.uid, annUid);
    back.close();
  });

  test('kick closes once with 4403 kicked; the author may come back', async () => {
    const room = uniqueRoom('mod-kick');
    const mod = await as(room, 'mod-1', 'Mo', 'moderator');
    const ann = await as(room, 'ann-1', 'Ann');
    await mod.act({ type: 'kick', uid: ann.welcome.you.uid });
    assert.equal((await ann.next('error')).code, 'kicked');
    assert.equal((await ann.closedPromise()).code, CLOSE_FORBIDDEN);
    const again = await as(room, 'ann-1', 'Ann');
    assert.equal(again.welcome.type, 'welcome');
    again.close();
    mod.close();
  });

  test('a muted author is told plainly and changes nothing until unmuted; slow mode holds members, not moderators', async () => {
    const room = uniqueRoom('mod-mute');
    const mod = await as(room, 'mod-1', 'Mo', 'moderator');
    const ann = await as(room, 'ann-1', 'Ann');
    const annUid = ann.welcome.you.uid;
    const first = await ann.say('before the mute');
    const muted = await api(`/api/rooms/${room}/moderation`, 'POST', { action: 'mute', uid: annUid, seconds: 600 });
    assert.equal(muted.status, 200);
    assert.equal((await ann.next('moderation')).action, 'mute');
    await assert.rejects(ann.say('while muted'), (e) => e.frame?.code === 'muted' || /muted/.test(e.message));
    await assert.rejects(ann.act({ type: 'edit', seq: first.seq, text: 'edited' }), (e) => e.frame.code === 'muted');
    const rejoined = await as(room, 'ann-1', 'Ann');
    assert.ok(rejoined.welcome.muted_until > Date.now(), 'the welcome says until when');
    rejoined.close();
    await mod.act({ type: 'unmute', uid: annUid });
    await ann.say('after the mute');

    await mod.act({ type: 'slow_mode', seconds: 60 });
    assert.equal((await ann.next((f) => f.type === 'moderation' && f.action === 'slow_mode')).seconds, 60);
    await ann.say('one');
    await assert.rejects(ann.act({ type: 'message', text: 'two' }), (e) => e.frame.code === 'slow_mode');
    await mod.say('moderators are not held 1');
    await mod.say('moderators are not held 2');
    const late = await as(room, 'cy-1', 'Cy');
    assert.equal(late.welcome.slow_mode, 60);
    late.close();
    ann.close();
    mod.close();
  });

  test('moderators delete anyone\'s message, on the socket and through the API; the log says who', async () => {
    const room = uniqueRoom('mod-delete');
    const mod = await as(room, 'mod-1', 'Mo', 'moderator');
    const ann = await as(room, 'ann-1', 'Ann');
    const bob = await as(room, 'bob-1', 'Bob');
    const one = await ann.say('rude words');
    const two = await ann.say('more rude words');
    await assert.rejects(bob.act({ type: 'delete', seq: one.seq }), (e) => e.frame.code === 'forbidden');
    await mod.act({ type: 'delete', seq: one.seq });
    const gone = await bob.next((f) => f.type === 'message_updated' && f.message.seq === one.seq);
    assert.equal(gone.message.deleted, true);
    const viaApi = await api(`/api/rooms/${room}/messages/${two.seq}`, 'DELETE');
    assert.equal(viaApi.status, 200);
    assert.equal((await bob.next((f) => f.type === 'message_updated' && f.message.seq === two.seq)).message.deleted, true);
    assert.equal((await api(`/api/rooms/${room}/messages/999`, 'DELETE')).status, 404);
    const unauthorized = await getJson(`${server.base}/api/rooms/${room}/moderation`);
    assert.equal(unauthorized.status, 401);
    mod.send({ type: 'moderation_log', id: 'log' });
    const log = await mod.next('moderation_log');
    assert.deepEqual(log.records.map((r) => [r.action, r.seq]), [['delete', two.seq], ['delete', one.seq]]);
    assert.equal(log.records[1].by.name, 'Mo');
    for (const c of [mod, ann, bob]) c.close();
  });
});
