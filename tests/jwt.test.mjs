// Standard JWTs from an app's own identity provider (docs/API.md, "Standard JWTs"): HS256 with
// JWT_SECRET; RS256 and ES256 against a JWKS served by a real local HTTP server on 127.0.0.1, with keys
// generated here (node:crypto) and tokens signed here; every refusal a broken or hostile token can
// meet; key rotation with a bounded refetch rate; renewal on a live socket; expiry closing 4401.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { CLOSE_FORBIDDEN, CLOSE_UNAUTHORIZED } from './common/close-codes.mjs';
import { Client, eventually, freePort, getJson, sleep, startServer, uniqueRoom } from './common/harness.mjs';

const JWT_SECRET = 'test-jwt-secret';
const AUTH_SECRET = 'test-auth-secret-jwt';
const ISSUER = 'https://id.example.test/';
const AUDIENCE = 'edge-chat-test';
const REFETCH_SECS = 3;

const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rotated = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const stranger = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = (pair, kid, extra = {}) => ({ ...pair.publicKey.export({ format: 'jwk' }), kid, use: 'sig', ...extra });

// The identity provider's JWKS endpoint: what it publishes can change (rotation); it counts fetches.
const published = { keys: [jwk(rsa, 'r1', { alg: 'RS256' }), jwk(ec, 'e1')] };
let fetches = 0;
// While set, the endpoint takes requests and never answers (a hung identity provider); the held
// responses are ended when it is cleared.
let hang = false;
const held = [];
let jwks;
let server;

before(async () => {
  const port = await freePort();
  jwks = http.createServer((req, res) => {
    fetches += 1;
    if (hang) {
      held.push(res);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(published));
  });
  await new Promise((resolve) => jwks.listen(port, '127.0.0.1', resolve));
  server = await startServer({
    vars: {
      JWT_SECRET,
      AUTH_SECRET,
      JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      JWKS_REFETCH_SECS: String(REFETCH_SECS),
      JWT_LEEWAY_SECS: '1',
    },
  });
});
after(async () => {
  await server?.stop();
  await new Promise((resolve) => (jwks ? jwks.close(resolve) : resolve()));
});

const b64 = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const nowSecs = () => Math.floor(Date.now() / 1000);

/** A JWT as a library would make it: `sign(input)` gives the signature bytes. */
function jwt(header, claims, sign) {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${Buffer.from(sign(input)).toString('base64url')}`;
}
const hs256 = (claims, secret = JWT_SECRET) =>
  jwt({ alg: 'HS256', typ: 'JWT' }, claims, (input) => crypto.createHmac('sha256', secret).update(input).digest());
const rs256 = (claims, { kid = 'r1', key = rsa.privateKey } = {}) =>
  jwt({ alg: 'RS256', typ: 'JWT', kid }, claims, (input) => crypto.sign('sha256', Buffer.from(input), key));
const es256 = (claims, { kid = 'e1' } = {}) =>
  jwt({ alg: 'ES256', typ: 'JWT', kid }, claims, (input) =>
    crypto.sign('sha256', Buffer.from(input), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' }));

/** Good claims for `room`, with `extra` over them. */
const claims = (room, extra = {}) => ({
  sub: 'auth0|ann-42',
  name: 'Ann',
  iss: ISSUER,
  aud: [AUDIENCE, 'other-api'],
  exp: nowSecs() + 600,
  rooms: [room],
  ...extra,
});

/** The uid docs/API.md says a JWT's holder gets, computed as an app's backend would. */
function uidOf(iss, sub) {
  const hash = crypto.createHash('sha256').update(`edge-chat uid v1\0jwt\0${iss}\0${sub}`).digest();
  return hash.subarray(0, 16).toString('base64url');
}

const join = (room, token, query = {}) => Client.connect(server.ws(room, { ...query, token }));
const refusal = (room, token) => Client.refusedOnSocket(server.ws(room, { token }));

describe('JWTs that open a room', () => {
  test('RS256 and ES256 from the JWKS, HS256 with JWT_SECRET: name, uid, role and expiry from the claims', async () => {
    const room = uniqueRoom('jwt');
    const exp = nowSecs() + 600;
    const ann = await join(room, rs256(claims(room, { exp })), { name: 'mallory' });
    assert.equal(ann.welcome.you.name, 'Ann', 'the name comes from the token, not name=');
    assert.equal(ann.welcome.you.uid, uidOf(ISSUER, 'auth0|ann-42'));
    assert.equal(ann.welcome.role, 'member');
    assert.equal(ann.welcome.expires, exp);
    const mod = await join(room, es256(claims(room, { sub: 'mod-1', name: 'Mo', role: 'moderator', rooms: '*' })));
    assert.equal(mod.welcome.role, 'moderator');
    assert.equal(mod.welcome.you.uid, uidOf(ISSUER, 'mod-1'));
    const hs = await join(room, hs256(claims(room, { sub: 'hs-1', name: undefined, rooms: undefined })));
    assert.equal(hs.welcome.you.name, 'hs-1', 'without a name claim, the sub');
    // the identified author can do what identified authors do
    const ack = await ann.say('hello from a JWT');
    const heard = await mod.next((f) => f.type === 'message' && f.seq === ack.seq);
    assert.equal(heard.from.uid, ann.welcome.you.uid);
    ann.send({ type: 'edit', seq: ack.seq, text: 'edited', id: 'e-1' });
    assert.equal((await ann.next((f) => f.id === 'e-1')).type, 'ack');
    await Promise.all([ann.close(), mod.close(), hs.close()]);
  });

  test('a JWT opens HTTP reads too, as token= or Authorization: Bearer; v1. tokens keep working', async () => {
    const room = uniqueRoom('jwt-read');
    const token = rs256(claims(room));
    const bearer = await getJson(`${server.base}/api/rooms/${room}/messages`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(bearer.status, 200);
    assert.equal((await getJson(`${server.base}/api/rooms/${room}?token=${es256(claims(room))}`)).status, 200);
    // a socket from a non-browser client may carry it as a header too
    const headed = await Client.connect(server.ws(room, { name: 'x' }), { headers: { Authorization: `Bearer ${es256(claims(room, { sub: 'svc', name: 'Service' }))}` } });
    assert.equal(headed.welcome.you.name, 'Service');
    await headed.close();
    const other = await getJson(`${server.base}/api/rooms/${room}-x/messages`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(other.status, 403);
    assert.equal(other.body.error.code, 'forbidden');
    // a v1. token, as before
    const payload = b64({ room, name: 'old-client', exp: nowSecs() + 600 });
    const sig = crypto.createHmac('sha256', AUTH_SECRET).update(`v1.${payload}`).digest('base64url');
    const old = await join(room, `v1.${payload}.${sig}`);
    assert.equal(old.welcome.you.name, 'old-client');
    assert.equal(old.welcome.role, 'member');
    await old.close();
  });
});

describe('JWTs that are refused', () => {
  test('forged, unsigned, confused, wrong issuer or audience, expired, early, other-room tokens: error frame and 4401/4403', async () => {
    const room = uniqueRoom('jwt-bad');
    const good = claims(room);
    const rsaPem = rsa.publicKey.export({ format: 'pem', type: 'spki' });
    const cases = [
      ['alg none', jwt({ alg: 'none', typ: 'JWT' }, good, () => Buffer.alloc(0)), 'unauthorized', CLOSE_UNAUTHORIZED],
      ['algorithm confusion: HS256 keyed with the RSA public key', hs256(good, rsaPem), 'unauthorized', CLOSE_UNAUTHORIZED],
      ['HS256 with another secret', hs256(good, 'not-the-secret'), 'unauthorized', CLOSE_UNAUTHORIZED],
      ['RS256 signed by a stranger under a known kid', rs256(good, { key: stranger.privateKey }), 'unauthorized', CLOSE_UNAUTHORIZED],
      ['RS256 with a kid from the EC key', rs256(good, { kid: 'e1' }), 'unauthorized', CLOSE_UNAUTHORIZED],
      ['a payload swapped under a valid signature', (() => {
        const [h, , s] = rs256(good).split('.');
        return `${h}.${b64({ ...good, sub: 'root' })}.${s}`;
      })(), 'unauthorized', CLOSE_UNAUTHORIZED],
      ['another issuer', rs256({ ...good, iss: 'https://evil.example/' }), 'unauthorized', CLOSE_UNAUTHORIZED],
      ['another audience', es256({ ...good, aud: 'someone-else' }), 'unauthorized', CLOSE_UNAUTHORIZED],
      ['expired', hs256({ ...good, exp: nowSecs() - 30 }), 'token_expired', CLOSE_UNAUTHORIZED],
      ['not valid yet', hs256({ ...good, nbf: nowSecs() + 300 }), 'unauthorized', CLOSE_UNAUTHORIZED],
      ['no exp', hs256({ ...good, exp: undefined }), 'unauthorized', CLOSE_UNAUTHORIZED],
      ['an unknown role', hs256({ ...good, role: 'admin' }), 'unauthorized', CLOSE_UNAUTHORIZED],
      ['other rooms only', rs256({ ...good, rooms: [`${room}-a`, `${room}-b`] }), 'forbidden', CLOSE_FORBIDDEN],
      ['garbage', 'not.a.jwt', 'unauthorized', CLOSE_UNAUTHORIZED],
    ];
    for (const [what, token, code, closeCode] of cases) {
      const r = await refusal(room, token);
      assert.equal(r.code, code, `${what}: ${r.message}`);
      assert.equal(r.closeCode, closeCode, what);
      assert.equal(r.reason, code, what);
      assert.ok(r.message.length > 0, what);
    }
  });
});

describe('JWKS rotation', () => {
  test('an unknown kid triggers a refetch, at most one per JWKS_REFETCH_SECS', async () => {
    const room = uniqueRoom('jwt-rotate');
    const first = await join(room, rs256(claims(room)));
    await first.close();
    assert.ok(fetches >= 1, 'the JWKS was fetched');
    // The provider rotates: a new key appears. Past the cooldown, the first token signed with it
    // makes the Worker fetch again, and it is accepted.
    published.keys.push(jwk(rotated, 'r2'));
    await sleep(REFETCH_SECS * 1000 + 300);
    const before = fetches;
    const fresh = await join(room, rs256(claims(room, { sub: 'rotated' }), { kid: 'r2', key: rotated.privateKey }));
    assert.equal(fresh.welcome.you.uid, uidOf(ISSUER, 'rotated'));
    assert.equal(fetches, before + 1, 'one refetch for the new kid');
    // A flood of made-up kids right after that fetch costs the provider nothing.
    for (let i = 0; i < 5; i++) {
      const r = await refusal(room, rs256(claims(room), { kid: `ghost-${i}` }));
      assert.equal(r.code, 'unauthorized');
      assert.match(r.message, /not in the JWKS/);
    }
    assert.equal(fetches, before + 1, 'no refetch within the cooldown');
    // After the cooldown an unknown kid may ask once more (and is still refused).
    await sleep(REFETCH_SECS * 1000 + 300);
    const r = await refusal(room, rs256(claims(room), { kid: 'ghost-late' }));
    assert.equal(r.code, 'unauthorized');
    assert.equal(fetches, before + 2);
    // known keys kept working throughout
    const still = await join(room, es256(claims(room)));
    await Promise.all([fresh.close(), still.close()]);
  });
});

describe('a hung identity provider', () => {
  test('a JWKS fetch that never answers is abandoned: the token waiting for it is refused, and the next fetch works', async () => {
    const room = uniqueRoom('jwt-hang');
    hang = true;
    try {
      await sleep(REFETCH_SECS * 1000 + 300);
      const before = fetches;
      const r = await refusal(room, rs256(claims(room), { kid: 'hung-1' }));
      assert.equal(r.code, 'unauthorized', r.message);
      assert.equal(r.closeCode, CLOSE_UNAUTHORIZED);
      assert.equal(fetches, before + 1, 'the fetch reached the provider, which never answered');
      assert.equal(held.length, 1);
    } finally {
      hang = false;
      for (const res of held.splice(0)) res.destroy();
    }
    // The provider is back: past the cooldown, a key published now is fetched and accepted.
    const late = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    published.keys.push(jwk(late, 'e-late'));
    await sleep(REFETCH_SECS * 1000 + 300);
    const ok = await join(room, jwt({ alg: 'ES256', typ: 'JWT', kid: 'e-late' }, claims(room, { sub: 'late' }), (input) =>
      crypto.sign('sha256', Buffer.from(input), { key: late.privateKey, dsaEncoding: 'ieee-p1363' })));
    assert.equal(ok.welcome.you.uid, uidOf(ISSUER, 'late'));
    await ok.close();
  });
});

describe('a live socket and its token', () => {
  test('renewal with {type:auth} moves the expiry; another user\'s token or a bad one is refused and changes nothing', async () => {
    const room = uniqueRoom('jwt-renew');
    const ann = await join(room, hs256(claims(room, { exp: nowSecs() + 3 })));
    const exp = nowSecs() + 600;
    ann.send({ type: 'auth', token: rs256(claims(room, { exp, role: 'moderator' })), id: 'a-1' });
    const ok = await ann.next((f) => f.id === 'a-1');
    assert.deepEqual(ok, { type: 'auth_ok', id: 'a-1', role: 'moderator', expires: exp });
    ann.send({ type: 'auth', token: hs256(claims(room, { sub: 'bob' })), id: 'a-2' });
    const other = await ann.next((f) => f.id === 'a-2');
    assert.equal(other.type, 'error');
    assert.equal(other.code, 'forbidden');
    ann.send({ type: 'auth', token: hs256(claims(room), 'wrong'), id: 'a-3' });
    assert.equal((await ann.next((f) => f.id === 'a-3')).code, 'unauthorized');
    ann.send({ type: 'auth', id: 'a-4' });
    assert.equal((await ann.next((f) => f.id === 'a-4')).code, 'bad_request');
    // past the first token's expiry (3 s + 1 s leeway) the socket is still open and talking
    await sleep(5000);
    assert.equal(ann.closed, null);
    await ann.say('still here');
    await ann.close();
  });

  test('a socket whose token expires is closed 4401 token_expired without a frame from it, and the others hear it leave', async () => {
    const room = uniqueRoom('jwt-expire');
    const stay = await join(room, hs256(claims(room, { sub: 'stayer' })));
    const brief = await join(room, hs256(claims(room, { sub: 'brief', exp: nowSecs() + 2 })));
    const started = Date.now();
    // The close frame arrives on time (the socket is CLOSING), sent by the alarm without any frame
    // from anyone; local workerd ends the TCP connection some seconds later, when the close event fires.
    const error = await brief.next('error', 10_000);
    assert.equal(error.code, 'token_expired');
    await eventually(() => brief.ws.readyState >= 2, 2000, 'the close frame');
    assert.ok(Date.now() - started < 6000, `closed on time (${Date.now() - started} ms), not by some later event`);
    const closed = await brief.closedPromise();
    assert.equal(closed.code, CLOSE_UNAUTHORIZED);
    assert.equal(closed.reason, 'token_expired');
    const left = await stay.next('leave');
    assert.equal(left.user.id, brief.welcome.you.id);
    // an expired socket is closed before anything else is sent to it
    const late = await join(room, hs256(claims(room, { sub: 'late', exp: nowSecs() + 2 })));
    await sleep(3500);
    await stay.say('after the expiry');
    assert.equal((await late.next('error')).code, 'token_expired');
    assert.equal((await late.closedPromise()).code, CLOSE_UNAUTHORIZED);
    assert.ok(!late.frames.some((f) => f.type === 'message'), 'no message reached the expired socket');
    await stay.close();
  });

  test('role and expiry survive hibernation: the room sleeps with the alarm set, and the alarm wakes it to close the socket', async () => {
    const room = uniqueRoom('jwt-hib');
    const info = async () => (await getJson(`${server.base}/api/rooms/${room}?token=${hs256(claims(room, { sub: 'reader' }))}`)).body;
    const exp = nowSecs() + 20;
    const mod = await join(room, es256(claims(room, { sub: 'mod-h', role: 'moderator', exp })));
    const before = await info();
    // Idle but for pings (answered by the runtime without waking the room): past the ~11 s after
    // which workerd evicts it, and past the expiry (exp + 1 s leeway).
    while (!mod.frames.some((f) => f.type === 'error')) {
      await sleep(2000);
      if (mod.ws.readyState === 1) mod.send('ping');
      assert.ok(nowSecs() < exp + 15, 'the expiry closed the socket');
    }
    assert.equal(mod.frames.find((f) => f.type === 'error').code, 'token_expired');
    assert.ok(nowSecs() >= exp + 1, 'not before exp + leeway');
    assert.equal((await mod.closedPromise()).code, CLOSE_UNAUTHORIZED);
    const now = await info();
    assert.notEqual(now.instance, before.instance, 'the room hibernated in between (the alarm kept nothing awake)');
    assert.equal(now.online, 0);
  });
});
