// Access and integrity guarantees a user can hit: reading a protected room needs the same right as
// joining it; an idempotency id never swallows somebody else's message; refusals a browser can meet
// arrive as a readable error frame and a 4000 + status close; one address cannot open sockets without
// limit. Real wrangler dev servers configured with --var.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CLOSE_RATE_LIMITED } from './common/close-codes.mjs';
import { Client, getJson, startServer, uniqueRoom } from './common/harness.mjs';

const API_TOKEN = 'test-api-token-access';
const AUTH_SECRET = 'test-auth-secret-access';

let signed; // AUTH_SECRET + API_TOKEN
let open; // API_TOKEN only
let counted; // nobody exempt from the per-client limits

before(async () => {
  [signed, open, counted] = await Promise.all([
    startServer({ vars: { API_TOKEN, AUTH_SECRET } }),
    startServer({ vars: { API_TOKEN } }),
    startServer({ vars: { RATE_LIMIT_EXEMPT: '' } }),
  ]);
});
after(async () => {
  await Promise.all([signed?.stop(), open?.stop(), counted?.stop()]);
});

/** A token as an app backend mints it (docs/API.md). */
function mint(grant) {
  const payload = Buffer.from(JSON.stringify(grant)).toString('base64url');
  const sig = crypto.createHmac('sha256', AUTH_SECRET).update(`v1.${payload}`).digest('base64url');
  return `v1.${payload}.${sig}`;
}
/** `url` with `query` (`?a=b`, or '') added to its own query string, if it has one. */
const withQuery = (url, query) => (query && url.includes('?') ? `${url}&${query.slice(1)}` : `${url}${query}`);
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

function postMessage(server, room, body) {
  return getJson(`${server.base}/api/rooms/${room}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` },
    body: JSON.stringify(body),
  });
}

describe('reading a protected room', () => {
  test('history and room info need the API token or a signed token for that room', async () => {
    const room = uniqueRoom('private');
    assert.equal((await postMessage(signed, room, { name: 'bot', text: 'the secret plan' })).status, 201);
    const token = mint({ room, name: 'ann', exp: inAnHour() });
    const other = mint({ room: `${room}-x`, name: 'ann', exp: inAnHour() });
    const expired = mint({ room, name: 'ann', exp: Math.floor(Date.now() / 1000) - 5 });
    for (const path of [`/api/rooms/${room}/messages`, `/api/rooms/${room}`, `/api/rooms/${room}/search?q=secret`]) {
      const url = `${signed.base}${path}`;
      for (const [what, init, query] of [
        ['no credentials', {}, ''],
        ['a wrong bearer', { headers: { authorization: 'Bearer nope' } }, ''],
        ['a token for another room', {}, `?token=${other}`],
        ['an expired token', { headers: { authorization: `Bearer ${expired}` } }, ''],
      ]) {
        const res = await getJson(withQuery(url, query), init);
        assert.equal(res.status, 401, `${path}: ${what}`);
        assert.equal(res.body.error.code, 'unauthorized', `${path}: ${what}`);
        assert.ok(!JSON.stringify(res.body).includes('secret plan'));
      }
      for (const [what, init, query] of [
        ['the API token', { headers: { authorization: `Bearer ${API_TOKEN}` } }, ''],
        ['a room token as bearer', { headers: { authorization: `Bearer ${token}` } }, ''],
        ['a room token as token=', {}, `?token=${token}`],
      ]) {
        const res = await getJson(withQuery(url, query), init);
        assert.equal(res.status, 200, `${path}: ${what}: ${JSON.stringify(res.body)}`);
      }
    }
    const page = await getJson(`${signed.base}/api/rooms/${room}/messages?token=${token}`);
    assert.equal(page.body.messages[0].text, 'the secret plan');
    const found = await getJson(`${signed.base}/api/rooms/${room}/search?q=plans&token=${token}`);
    assert.equal(found.body.results[0].snippet, 'the secret <mark>plan</mark>');
  });

  test('without AUTH_SECRET, reads stay open', async () => {
    const room = uniqueRoom('public');
    assert.equal((await postMessage(open, room, { name: 'bot', text: 'hello all' })).status, 201);
    const page = await getJson(`${open.base}/api/rooms/${room}/messages`);
    assert.equal(page.status, 200);
    assert.equal(page.body.messages[0].text, 'hello all');
  });
});

describe('idempotency ids', () => {
  test('the same name and id with another text is refused as id_conflict, never acked as the other message', async () => {
    const room = uniqueRoom('ids');
    const dan1 = await Client.connect(open.ws(room, { name: 'dan' }));
    const dan2 = await Client.connect(open.ws(room, { name: 'dan' }));
    const first = await dan1.say('first dan says hi', '1');
    dan2.send({ type: 'message', text: 'second dan says bye', id: '1' });
    const answer = await dan2.next((f) => f.id === '1' && (f.type === 'ack' || f.type === 'error'));
    assert.equal(answer.type, 'error', `must not be acked as seq ${first.seq}: ${JSON.stringify(answer)}`);
    assert.equal(answer.code, 'id_conflict');
    // a real retry (same text) is still acked with its original seq
    const retry = await dan2.say('first dan says hi', '1');
    assert.equal(retry.seq, first.seq);
    // the sender can send it again under a new id, and it is stored
    const fresh = await dan2.say('second dan says bye', '2');
    assert.equal(fresh.seq, first.seq + 1);
    // the HTTP bot API follows the same rule among its own ids, which no socket can take (a bot called
    // dan is not the sockets called dan: docs/API.md)
    const bot = await postMessage(open, room, { name: 'dan', text: 'a bot dan', id: '1' });
    assert.equal(bot.status, 201);
    const conflict = await postMessage(open, room, { name: 'dan', text: 'another bot text', id: '1' });
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body.error.code, 'id_conflict');
    const again = await postMessage(open, room, { name: 'dan', text: 'a bot dan', id: '1' });
    assert.equal(again.status, 200);
    assert.equal(again.body.seq, bot.body.seq);
    const page = await getJson(`${open.base}/api/rooms/${room}/messages`);
    assert.deepEqual(page.body.messages.map((m) => m.text), ['first dan says hi', 'second dan says bye', 'a bot dan']);
    await Promise.all([dan1.close(), dan2.close()]);
  });
});

describe('refusals on the socket', () => {
  test('a foreign Origin and a plain GET keep their HTTP refusals', async () => {
    const room = uniqueRoom('http');
    const err = await Client.refused(open.ws(room, { name: 'eve' }), { headers: { Origin: 'https://evil.example' } });
    assert.equal(err.status, 403);
    assert.equal(err.body.error.code, 'forbidden_origin');
    const plain = await getJson(`${open.base}/ws/${room}?name=ann`);
    assert.equal(plain.status, 426);
    assert.equal(plain.body.error.code, 'upgrade_required');
  });
});

describe('per-client limits', () => {
  test('one address opening sockets without pause is refused with rate_limited, close 4429', async () => {
    const room = uniqueRoom('reconnects');
    let accepted = 0;
    let refusal = null;
    for (let i = 0; i < 400 && !refusal; i++) {
      const c = new Client(counted.ws(room, { name: `n${i}` }));
      await c.opened;
      const first = await c.next((f) => f.type === 'welcome' || f.type === 'error');
      if (first.type === 'welcome') {
        accepted += 1;
        c.terminate();
      } else {
        refusal = { code: first.code, close: await c.closedPromise() };
      }
    }
    assert.ok(refusal, `${accepted} sockets in a row were all accepted`);
    assert.equal(refusal.code, 'rate_limited');
    assert.equal(refusal.close.code, CLOSE_RATE_LIMITED);
    assert.ok(accepted >= 100, `a normal user is not limited early (refused after ${accepted})`);
    // the limit is per address: somebody else is still welcome (wrangler dev passes a client's own
    // CF-Connecting-IP through; Cloudflare's edge sets it)
    const other = await Client.connect(counted.ws(room, { name: 'neighbour' }), { headers: { 'CF-Connecting-IP': '203.0.113.7' } });
    assert.equal(other.welcome.you.name, 'neighbour');
    await other.close();
  });

  test('one address searching over HTTP without pause is refused with 429 rate_limited', async () => {
    const room = uniqueRoom('searches');
    const statuses = [];
    for (let i = 0; i < 200 && !statuses.includes(429); i++) {
      const res = await getJson(`${counted.base}/api/rooms/${room}/search?q=word${i}`);
      statuses.push(res.status);
      if (res.status === 429) assert.equal(res.body.error.code, 'rate_limited');
    }
    const ok = statuses.filter((s) => s === 200).length;
    assert.ok(statuses.includes(429), `${ok} searches in a row were all answered`);
    assert.ok(ok >= 100, `a normal user is not limited early (refused after ${ok})`);
  });

  test('the default test configuration exempts 127.0.0.1 explicitly, so other tests never trip it', async () => {
    const room = uniqueRoom('exempt');
    for (let i = 0; i < 150; i++) {
      const c = new Client(open.ws(room, { name: `n${i}` }));
      await c.opened;
      assert.equal((await c.next((f) => f.type === 'welcome' || f.type === 'error')).type, 'welcome');
      c.terminate();
    }
  });
});
