// What a hostile member can no longer do in an open room (no signed access), and what a moderator can
// do there (docs/PROTOCOL.md "What an open room can and cannot enforce"): every connection has a uid a
// moderator can act on; a ban also bars the banned author's addresses for a while, also after a
// restart; a room may require a key or a token to speak; a bot's message ids cannot be taken by a
// socket using its name; a key may travel in the handshake instead of the URL. Real wrangler dev, real
// WebSocket clients; client addresses are given as `CF-Connecting-IP`, as Cloudflare's edge sets it.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CLOSE_BAD_REQUEST, CLOSE_FORBIDDEN } from './common/close-codes.mjs';
import { Client, eventually, getJson, restartServer, startServer, uniqueRoom } from './common/harness.mjs';

const API_TOKEN = 'test-api-token-open-room';
let server;
before(async () => {
  server = await startServer({ vars: { API_TOKEN } });
});
after(async () => {
  await server?.stop();
});

const key = () => crypto.randomBytes(18).toString('base64url');
const from = (address) => ({ headers: { 'cf-connecting-ip': address } });

function api(path, method = 'GET', body) {
  return getJson(`${server.base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` },
    body: body && JSON.stringify(body),
  });
}
const moderate = (room, body) => api(`/api/rooms/${room}/moderation`, 'POST', body);

describe('moderating an open room', () => {
  test('an anonymous connection has a uid a moderator can ban; the ban then bars its address, also after a restart, until unbanned', async () => {
    const room = uniqueRoom('open-ban');
    const watcher = await Client.connect(server.ws(room, { name: 'watcher', key: key() }), from('203.0.113.20'));
    const troll = await Client.connect(server.ws(room, { name: 'troll' }), from('198.51.100.7'));
    const uid = troll.welcome.you.uid;
    assert.equal(uid, `anon:${troll.welcome.you.id}`);
    await troll.say('spam');
    const seen = await watcher.next('message');
    assert.equal(seen.from.uid, uid, 'what a moderator sees is what it can act on');
    const banned = await moderate(room, { action: 'ban', uid });
    assert.equal(banned.status, 200, JSON.stringify(banned.body));
    assert.equal((await troll.next('error')).code, 'banned');
    assert.equal((await troll.closedPromise()).code, CLOSE_FORBIDDEN);
    // Straight back with a key, or with none, from the same address: refused, as a browser can read it.
    for (const query of [{ name: 'troll', key: key() }, { name: 'nice person' }]) {
      const r = await Client.refusedOnSocket(server.ws(room, query), from('198.51.100.7'));
      assert.deepEqual([r.code, r.closeCode], ['banned', CLOSE_FORBIDDEN], JSON.stringify(query));
    }
    // Somebody else, elsewhere, still comes in; and the rules count the address, never show it.
    const other = await Client.connect(server.ws(room, { name: 'newcomer' }), from('203.0.113.21'));
    const log = await api(`/api/rooms/${room}/moderation`);
    assert.equal(log.body.rules.address_bans, 1);
    assert.ok(!JSON.stringify(log.body).includes('198.51.100.7'));
    // Stored: it holds after a restart of the whole server.
    await Promise.all([watcher.close(), other.close()]);
    server = await restartServer(server);
    const r = await Client.refusedOnSocket(server.ws(room, { name: 'troll', key: key() }), from('198.51.100.7'));
    assert.equal(r.code, 'banned');
    // An unban lifts the address ban with it.
    assert.equal((await moderate(room, { action: 'unban', uid })).status, 200);
    const back = await Client.connect(server.ws(room, { name: 'troll' }), from('198.51.100.7'));
    await back.close();
  });

  test('an IPv6 ban covers the /64 the author connected from', async () => {
    const room = uniqueRoom('open-v6');
    const troll = await Client.connect(server.ws(room, { name: 'troll', key: key() }), from('2001:db8:7:8::1'));
    await moderate(room, { action: 'ban', uid: troll.welcome.you.uid });
    await troll.closedPromise();
    const r = await Client.refusedOnSocket(server.ws(room, { name: 'troll' }), from('2001:db8:7:8:ffff::2'));
    assert.equal(r.code, 'banned', 'a new address in the same /64');
    const elsewhere = await Client.connect(server.ws(room, { name: 'someone' }), from('2001:db8:7:9::1'));
    await elsewhere.close();
  });

  test('require_identity keeps anonymous connections to reading; allow_anonymous undoes it', async () => {
    const room = uniqueRoom('open-ident');
    const anon = await Client.connect(server.ws(room, { name: 'anon' }), from('198.51.100.30'));
    const ann = await Client.connect(server.ws(room, { name: 'ann', key: key() }), from('198.51.100.31'));
    assert.equal((await moderate(room, { action: 'require_identity' })).status, 200);
    assert.equal((await anon.next('moderation')).action, 'require_identity');
    await assert.rejects(anon.say('hello?'), (e) => e.frame.code === 'forbidden');
    anon.send({ type: 'typing' });
    await ann.say('keyed people still talk');
    const heard = await anon.next('message');
    assert.equal(heard.text, 'keyed people still talk', 'and the anonymous one still reads');
    assert.equal(ann.all('typing').length, 0, "an anonymous member's typing reaches nobody");
    const late = await Client.connect(server.ws(room, { name: 'late' }), from('198.51.100.32'));
    assert.equal(late.welcome.identity_required, true);
    assert.equal((await moderate(room, { action: 'allow_anonymous' })).status, 200);
    await anon.next((f) => f.type === 'moderation' && f.action === 'allow_anonymous');
    const ok = await anon.say('now I may');
    assert.ok(ok.seq > 0);
    await Promise.all([anon.close(), ann.close(), late.close()]);
  });
});

describe('squatting', () => {
  test("a socket named like the bot cannot take the bot's message ids", async () => {
    const room = uniqueRoom('squat');
    const squatter = await Client.connect(server.ws(room, { name: 'deploy-bot' }));
    await squatter.say('build 42 passed (not really)', 'build-42');
    const post = await api(`/api/rooms/${room}/messages`, 'POST', { name: 'deploy-bot', text: 'build 42 failed', id: 'build-42' });
    assert.equal(post.status, 201, JSON.stringify(post.body));
    assert.equal(post.body.duplicate, false);
    const retry = await api(`/api/rooms/${room}/messages`, 'POST', { name: 'deploy-bot', text: 'build 42 failed', id: 'build-42' });
    assert.deepEqual([retry.status, retry.body.duplicate, retry.body.seq], [200, true, post.body.seq], "the bot's own retry is still one message");
    const stored = await getJson(`${server.base}/api/rooms/${room}/messages`);
    assert.deepEqual(stored.body.messages.map((m) => [m.text, m.from.uid]), [
      ['build 42 passed (not really)', squatter.welcome.you.uid],
      ['build 42 failed', null],
    ]);
    await squatter.close();
  });
});

describe('credentials out of the URL', () => {
  test('a key offered in Sec-WebSocket-Protocol gives the same uid as key=, and the answer names edge-chat', async () => {
    const room = uniqueRoom('subproto');
    const k = key();
    const url = server.ws(room, { name: 'ann' });
    assert.ok(!url.includes(k));
    const ann = await Client.connect(url, { protocols: ['edge-chat', `key.${k}`] });
    assert.equal(ann.ws.protocol, 'edge-chat');
    const old = await Client.connect(server.ws(room, { name: 'ann', key: k }));
    assert.match(ann.welcome.you.uid, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(ann.welcome.you.uid, old.welcome.you.uid, 'key= keeps working for old clients');
    // A refusal still reaches the page: the upgrade names edge-chat, then the error frame and 4400.
    const bad = new Client(url, { protocols: ['edge-chat', 'key.short'] });
    await bad.opened;
    assert.equal(bad.ws.protocol, 'edge-chat');
    const r = await bad.next('error');
    assert.equal(r.code, 'bad_key');
    assert.equal((await bad.closedPromise()).code, CLOSE_BAD_REQUEST);
    await Promise.all([ann.close(), old.close()]);
  });
});

describe('same names', () => {
  test('two people called Ann are two on the wire: both listed, the second announced, each with its uid', async () => {
    const room = uniqueRoom('two-anns');
    const first = await Client.connect(server.ws(room, { name: 'Ann', key: key() }));
    const second = await Client.connect(server.ws(room, { name: 'Ann', key: key() }));
    const joined = await first.next('join');
    assert.equal(joined.user.uid, second.welcome.you.uid);
    assert.notEqual(first.welcome.you.uid, second.welcome.you.uid);
    assert.equal(second.welcome.members.length, 2);
    const info = await getJson(`${server.base}/api/rooms/${room}`);
    await eventually(() => info.body.online === 2, 1000, 'online counts both');
    await Promise.all([first.close(), second.close()]);
  });
});
