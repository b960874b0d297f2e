// The HTTP API answers as docs/API.md says (pages of history, bot messages, new rooms, tokens), and
// access control holds: a foreign Origin, a missing or wrong API_TOKEN, and a missing, forged, expired
// or wrong-room signed token are refused, and a refused socket never joins a room. Against real
// wrangler dev servers configured with --var.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CLOSE_UNAUTHORIZED } from './common/close-codes.mjs';
import { Client, getJson, startServer, uniqueRoom } from './common/harness.mjs';

const API_TOKEN = 'test-api-token-7f3a';
const AUTH_SECRET = 'test-auth-secret-91c2';
const FRIEND = 'https://friend.example';

let open; // API_TOKEN + ALLOWED_ORIGINS, no AUTH_SECRET
let signed; // AUTH_SECRET + API_TOKEN
let plain; // no secrets at all

before(async () => {
  open = await startServer({ vars: { API_TOKEN, ALLOWED_ORIGINS: `${FRIEND}, https://other.example` } });
  signed = await startServer({ vars: { API_TOKEN, AUTH_SECRET } });
  plain = await startServer();
});
after(async () => {
  await Promise.all([open?.stop(), signed?.stop(), plain?.stop()]);
});

const bearer = (token = API_TOKEN) => ({ authorization: `Bearer ${token}` });

function post(server, path, body, headers = bearer()) {
  return getJson(`${server.base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

function assertProblem(res, status, code) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.error.code, code);
  assert.equal(typeof res.body.error.message, 'string');
  assert.match(res.headers.get('content-type'), /application\/json/);
}

/** A token as an app backend would mint it (the format in docs/API.md). */
function mint(secret, grant) {
  const payload = Buffer.from(JSON.stringify(grant)).toString('base64url');
  const sig = crypto.createHmac('sha256', secret).update(`v1.${payload}`).digest('base64url');
  return `v1.${payload}.${sig}`;
}
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

const refusal = (url, headers) => Client.refused(url, { headers });

describe('read endpoints', () => {
  test('GET /health', async () => {
    const res = await getJson(`${open.base}/health`);
    assert.equal(res.status, 200);
  });

  test('GET /api/rooms/{room}: room, online, members, last_seq', async () => {
    const room = uniqueRoom('info');
    const empty = await getJson(`${open.base}/api/rooms/${room}`);
    assert.equal(empty.status, 200);
    assert.equal(empty.body.room, room);
    assert.equal(empty.body.online, 0);
    assert.deepEqual(empty.body.members, []);
    assert.equal(empty.body.last_seq, 0);
    const a = await Client.connect(open.ws(room, { name: 'ann' }));
    const b = await Client.connect(open.ws(room, { name: 'bob' }));
    await a.say('one');
    const info = await getJson(`${open.base}/api/rooms/${room}`);
    assert.equal(info.body.online, 2);
    assert.deepEqual(info.body.members.map((m) => m.name).sort(), ['ann', 'bob']);
    assert.ok(info.body.members.every((m) => /^[0-9a-f]{16}$/.test(m.id)));
    assert.equal(info.body.last_seq, 1);
    await Promise.all([a.close(), b.close()]);
    const bad = await getJson(`${open.base}/api/rooms/no%20spaces`);
    assertProblem(bad, 400, 'bad_room');
  });

  test('GET /api/rooms/{room}/messages: after, limit (default 100, max 1000), same objects as the socket', async () => {
    const room = uniqueRoom('pages');
    for (let i = 1; i <= 130; i++) {
      const r = await post(open, `/api/rooms/${room}/messages`, { name: 'bot', text: `p${i}`, id: `p${i}` });
      assert.equal(r.status, 201);
    }
    const first = await getJson(`${open.base}/api/rooms/${room}/messages`);
    assert.equal(first.status, 200);
    assert.equal(first.body.last_seq, 130);
    assert.equal(first.body.messages.length, 100, 'default page is 100');
    assert.equal(first.body.messages[0].seq, 1);
    const next = await getJson(`${open.base}/api/rooms/${room}/messages?after=100`);
    assert.deepEqual(next.body.messages.map((m) => m.seq), Array.from({ length: 30 }, (_, i) => 101 + i));
    const some = await getJson(`${open.base}/api/rooms/${room}/messages?after=5&limit=3`);
    assert.deepEqual(some.body.messages.map((m) => m.text), ['p6', 'p7', 'p8']);
    const msg = some.body.messages[0];
    assert.deepEqual(Object.keys(msg).sort(), ['deleted', 'edited_at', 'from', 'id', 'reactions', 'reply_to', 'rev', 'seq', 'text', 'ts', 'version']);
    assert.deepEqual(msg.from, { id: 'api', name: 'bot', uid: null });
    const c = await Client.connect(open.ws(room, { name: 'cy', after: '5' }));
    assert.deepEqual(c.welcome.history[0], msg, 'the socket and the API carry the same message object');
    await c.close();
    const all = await getJson(`${open.base}/api/rooms/${room}/messages?limit=1000`);
    assert.equal(all.body.messages.length, 130);
    for (const q of ['limit=0', 'limit=1001', 'limit=x']) {
      assertProblem(await getJson(`${open.base}/api/rooms/${room}/messages?${q}`), 400, 'bad_limit');
    }
    assertProblem(await getJson(`${open.base}/api/rooms/${room}/messages?after=-1`), 400, 'bad_after');
  });

  test('wrong methods get 405, unknown API paths 404', async () => {
    const del = await getJson(`${open.base}/api/rooms/x`, { method: 'DELETE' });
    assertProblem(del, 405, 'method_not_allowed');
    const get = await getJson(`${open.base}/api/tokens`);
    assertProblem(get, 405, 'method_not_allowed');
    assertProblem(await getJson(`${open.base}/api/rooms/x/y`), 404, 'not_found');
  });
});

describe('POST /api/rooms/{room}/messages (bots)', () => {
  test('a bot message is stored and broadcast to every socket, with the next seq', async () => {
    const room = uniqueRoom('bot');
    const a = await Client.connect(open.ws(room, { name: 'ann' }));
    const b = await Client.connect(open.ws(room, { name: 'bob' }));
    await a.say('human first');
    const res = await post(open, `/api/rooms/${room}/messages`, { name: 'deploy-bot', text: 'build green', id: 'build-1' });
    assert.equal(res.status, 201);
    assert.equal(res.body.seq, 2);
    assert.equal(typeof res.body.ts, 'number');
    for (const c of [a, b]) {
      const m = await c.next((f) => f.type === 'message' && f.text === 'build green');
      assert.deepEqual(m, {
        type: 'message', seq: 2, id: 'build-1', from: { id: 'api', name: 'deploy-bot', uid: null }, text: 'build green', ts: res.body.ts,
        reply_to: null, edited_at: null, version: 1, deleted: false, reactions: {}, rev: 2,
      });
    }
    const page = await getJson(`${open.base}/api/rooms/${room}/messages?after=1`);
    assert.deepEqual(page.body.messages.map((m) => m.text), ['build green']);

    // idempotent retry: same seq, not stored or broadcast twice
    const again = await post(open, `/api/rooms/${room}/messages`, { name: 'deploy-bot', text: 'build green', id: 'build-1' });
    assert.equal(again.status, 200);
    assert.equal(again.body.seq, 2);
    assert.equal(again.body.ts, res.body.ts);
    await b.say('barrier');
    await a.next((f) => f.type === 'message' && f.text === 'barrier');
    assert.equal(a.all('message').filter((m) => m.text === 'build green').length, 1);
    const all = await getJson(`${open.base}/api/rooms/${room}/messages`);
    assert.equal(all.body.messages.filter((m) => m.text === 'build green').length, 1);
    await Promise.all([a.close(), b.close()]);
  });

  test('missing or wrong bearer token: 401; no API_TOKEN configured: 403', async () => {
    const room = uniqueRoom('authz');
    const body = { name: 'bot', text: 'x' };
    assertProblem(await post(open, `/api/rooms/${room}/messages`, body, {}), 401, 'unauthorized');
    assertProblem(await post(open, `/api/rooms/${room}/messages`, body, bearer('wrong')), 401, 'unauthorized');
    assertProblem(await post(open, `/api/rooms/${room}/messages`, body, { authorization: API_TOKEN }), 401, 'unauthorized');
    assertProblem(await post(open, `/api/rooms/${room}/messages`, body, bearer(API_TOKEN + 'x')), 401, 'unauthorized');
    assertProblem(await post(plain, `/api/rooms/${room}/messages`, body), 403, 'disabled');
    const page = await getJson(`${open.base}/api/rooms/${room}/messages`);
    assert.deepEqual(page.body.messages, [], 'nothing refused was stored');
  });

  test('bad bodies get the documented errors', async () => {
    const path = `/api/rooms/${uniqueRoom('bodies')}/messages`;
    assertProblem(await post(open, path, '{nope'), 400, 'bad_json');
    assertProblem(await post(open, path, { name: 'bot' }), 400, 'bad_request');
    assertProblem(await post(open, path, { name: 'bot', text: '' }), 400, 'bad_request');
    assertProblem(await post(open, path, { name: 'bot', text: 5 }), 400, 'bad_request');
    assertProblem(await post(open, path, { name: '', text: 'hi' }), 400, 'bad_name');
    assertProblem(await post(open, path, { name: 'bot', text: 'x'.repeat(4001) }), 413, 'too_large');
    assertProblem(await post(open, path, { name: 'bot', text: 'hi', id: 'i'.repeat(65) }), 400, 'bad_request');
    assertProblem(await post(open, path, 'x'.repeat(70 * 1024)), 413, 'too_large');
  });
});

describe('POST /api/rooms', () => {
  test('makes a new unguessable room name', async () => {
    const a = await post(open, '/api/rooms', '');
    const b = await post(plain, '/api/rooms', '');
    assert.equal(a.status, 201);
    assert.match(a.body.room, /^[0-9a-f]{32}$/, '128 bits as hex');
    assert.notEqual(a.body.room, b.body.room);
    const c = await Client.connect(open.ws(a.body.room, { name: 'ann' }));
    assert.equal(c.welcome.room, a.body.room);
    await c.close();
  });
});

describe('origins (cross-site WebSocket hijacking)', () => {
  test('a foreign Origin is refused with 403 before reaching the room', async () => {
    const room = uniqueRoom('origin');
    const err = await refusal(open.ws(room, { name: 'eve' }), { Origin: 'https://evil.example' });
    assert.equal(err.status, 403);
    assert.equal(err.body.error.code, 'forbidden_origin');
    const plainErr = await refusal(plain.ws(room, { name: 'eve' }), { Origin: FRIEND });
    assert.equal(plainErr.status, 403, 'ALLOWED_ORIGINS is per deployment');
    const info = await getJson(`${open.base}/api/rooms/${room}`);
    assert.equal(info.body.online, 0, 'the refused socket never reached the room');
  });

  test('own origin, listed origins and no Origin are accepted', async () => {
    const room = uniqueRoom('origin-ok');
    const own = await Client.connect(open.ws(room, { name: 'own' }), { headers: { Origin: open.base } });
    const friend = await Client.connect(open.ws(room, { name: 'friend' }), { headers: { Origin: FRIEND } });
    const other = await Client.connect(open.ws(room, { name: 'other' }), { headers: { Origin: 'https://other.example' } });
    const none = await Client.connect(open.ws(room, { name: 'none' }));
    assert.equal(none.welcome.members.length, 4);
    await Promise.all([own, friend, other, none].map((c) => c.close()));
  });
});

describe('signed access (AUTH_SECRET)', () => {
  test('a valid token is accepted and its name wins over name=', async () => {
    const room = uniqueRoom('signed');
    const token = mint(AUTH_SECRET, { room, name: 'Ann Signed', exp: inAnHour() });
    const c = await Client.connect(signed.ws(room, { token, name: 'mallory' }));
    assert.equal(c.welcome.you.name, 'Ann Signed');
    const any = mint(AUTH_SECRET, { room: '*', name: 'roamer', exp: inAnHour() });
    const d = await Client.connect(signed.ws(room, { token: any }));
    assert.equal(d.welcome.you.name, 'roamer');
    await Promise.all([c.close(), d.close()]);
  });

  test('missing, forged, expired, tampered and wrong-room tokens: unauthorized on the socket, close 4401', async () => {
    const room = uniqueRoom('signed-no');
    const valid = mint(AUTH_SECRET, { room, name: 'ann', exp: inAnHour() });
    const [v, payload] = valid.split('.');
    const tampered = `${v}.${Buffer.from(JSON.stringify({ room, name: 'admin', exp: inAnHour() })).toString('base64url')}.${valid.split('.')[2]}`;
    const cases = {
      missing: {},
      forged: { token: mint('not-the-secret', { room, name: 'ann', exp: inAnHour() }) },
      expired: { token: mint(AUTH_SECRET, { room, name: 'ann', exp: Math.floor(Date.now() / 1000) - 10 }) },
      'wrong room': { token: mint(AUTH_SECRET, { room: `${room}-other`, name: 'ann', exp: inAnHour() }) },
      tampered: { token: tampered },
      garbage: { token: 'v1.%%%.***' },
      truncated: { token: `${v}.${payload}` },
    };
    for (const [what, query] of Object.entries(cases)) {
      const r = await Client.refusedOnSocket(signed.ws(room, { name: 'ann', ...query }));
      assert.equal(r.closeCode, CLOSE_UNAUTHORIZED, what);
      assert.equal(r.code, 'unauthorized', what);
    }
    const info = await getJson(`${signed.base}/api/rooms/${room}`, { headers: bearer() });
    assert.equal(info.body.online, 0);
  });

  test('POST /api/tokens mints a working token (API_TOKEN-protected)', async () => {
    const room = uniqueRoom('minted');
    const res = await post(signed, '/api/tokens', { room, name: 'bob', ttl: 60 });
    assert.equal(res.status, 201);
    assert.match(res.body.token, /^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    assert.ok(res.body.exp > Date.now() / 1000 && res.body.exp <= Date.now() / 1000 + 61);
    const c = await Client.connect(signed.ws(room, { token: res.body.token }));
    assert.equal(c.welcome.you.name, 'bob');
    await c.close();
    const elsewhere = await Client.refusedOnSocket(signed.ws(`${room}x`, { token: res.body.token }));
    assert.equal(elsewhere.closeCode, CLOSE_UNAUTHORIZED);
    assertProblem(await post(signed, '/api/tokens', { room, name: 'bob' }, {}), 401, 'unauthorized');
    assertProblem(await post(signed, '/api/tokens', { room: 'bad room', name: 'bob' }), 400, 'bad_room');
    assertProblem(await post(signed, '/api/tokens', { room, name: '' }), 400, 'bad_name');
    assertProblem(await post(open, '/api/tokens', { room, name: 'bob' }), 403, 'disabled');
  });
});
