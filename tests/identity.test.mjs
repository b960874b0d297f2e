// Identity without accounts: a client's secret `key=` gives it a stable public author id (`uid`) that
// is never the key; a signed token gives the uid instead; a client with neither is anonymous. Client
// ids are unique per author, so two people with the same name never collide, and one person's retry
// is recognised whatever name they use. Real wrangler dev, real WebSocket clients.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CLOSE_BAD_REQUEST } from './common/close-codes.mjs';
import { Client, getJson, startServer, uniqueRoom } from './common/harness.mjs';

const AUTH_SECRET = 'identity-test-secret';
let open;
let signed;
before(async () => {
  [open, signed] = await Promise.all([startServer(), startServer({ vars: { AUTH_SECRET, API_TOKEN: 't' } })]);
});
after(async () => {
  await Promise.all([open?.stop(), signed?.stop()]);
});

const key = () => crypto.randomBytes(18).toString('base64url');

function mint(grant) {
  const payload = Buffer.from(JSON.stringify(grant)).toString('base64url');
  const sig = crypto.createHmac('sha256', AUTH_SECRET).update(`v1.${payload}`).digest('base64url');
  return `v1.${payload}.${sig}`;
}

describe('uid', () => {
  test('a key gives a stable uid on welcome, roster and messages, never the key itself', async () => {
    const room = uniqueRoom('uid');
    const k = key();
    const ann = await Client.connect(open.ws(room, { name: 'ann', key: k }));
    const uid = ann.welcome.you.uid;
    assert.match(uid, /^[A-Za-z0-9_-]{22}$/);
    assert.ok(!k.includes(uid) && !uid.includes(k.slice(0, 8)));
    const again = await Client.connect(open.ws(room, { name: 'ann on her phone', key: k }));
    assert.equal(again.welcome.you.uid, uid, 'the same key is the same author under any name');
    const anon = await Client.connect(open.ws(room, { name: 'anon' }));
    assert.equal(anon.welcome.you.uid, `anon:${anon.welcome.you.id}`, "an anonymous connection's own uid, for moderators");
    assert.ok(anon.welcome.members.some((m) => m.uid === uid));
    await ann.say('hello', 'm1');
    const seen = await anon.next('message');
    assert.equal(seen.from.uid, uid);
    const page = await getJson(`${open.base}/api/rooms/${room}/messages`);
    assert.equal(page.body.messages[0].from.uid, uid);
    assert.ok(!JSON.stringify(page.body).includes(k), 'the key is never stored or sent');
    await Promise.all([ann.close(), again.close(), anon.close()]);
  });

  test('a bad key is refused on the socket with bad_key, close 4400', async () => {
    const r = await Client.refusedOnSocket(open.ws(uniqueRoom('badkey'), { name: 'ann', key: 'too-short' }));
    assert.equal(r.code, 'bad_key');
    assert.equal(r.closeCode, CLOSE_BAD_REQUEST);
  });

  test('a signed token gives its uid (or one derived from its name), and key= cannot override it', async () => {
    const room = uniqueRoom('tokuid');
    const exp = Math.floor(Date.now() / 1000) + 600;
    const withUid = await Client.connect(signed.ws(room, { token: mint({ room, name: 'ann', exp, uid: 'app-user-7' }), key: key() }));
    assert.equal(withUid.welcome.you.uid, 'app-user-7');
    const byName = await Client.connect(signed.ws(room, { token: mint({ room, name: 'bob', exp }) }));
    const byNameAgain = await Client.connect(signed.ws(room, { token: mint({ room, name: 'bob', exp }) }));
    assert.match(byName.welcome.you.uid, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(byNameAgain.welcome.you.uid, byName.welcome.you.uid);
    await Promise.all([withUid.close(), byName.close(), byNameAgain.close()]);
  });
});

describe('idempotency per author', () => {
  test('two people called dan with their own keys may both use id 1; one person retrying under another name is acked once', async () => {
    const room = uniqueRoom('dans');
    const k1 = key();
    const dan1 = await Client.connect(open.ws(room, { name: 'dan', key: k1 }));
    const dan2 = await Client.connect(open.ws(room, { name: 'dan', key: key() }));
    const a = await dan1.say('from the first dan', '1');
    const b = await dan2.say('from the second dan', '1');
    assert.equal(b.seq, a.seq + 1, 'both stored');
    const renamed = await Client.connect(open.ws(room, { name: 'daniel', key: k1 }));
    const retry = await renamed.say('from the first dan', '1');
    assert.equal(retry.seq, a.seq, 'a retry by the same author, under another name, is the same message');
    const page = await getJson(`${open.base}/api/rooms/${room}/messages`);
    assert.equal(page.body.messages.length, 2);
    await Promise.all([dan1.close(), dan2.close(), renamed.close()]);
  });
});
