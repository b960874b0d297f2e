// The page with an app's own sign-in (docs/API.md, "Tokens on the page"), in Debian's headless Chromium
// against the real `wrangler dev` with JWT_SECRET: the embedding app's `window.edgeChat.getToken` hook
// gives the page short-lived JWTs; the page renews them on the live socket, and when one runs out
// anyway it gets a fresh one and reconnects by itself, without losing what the person wrote.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import { eventually, getJson, sleep, uniqueRoom } from './common/harness.mjs';
import { browserSuite, openPage, say, shownMessages, ROOM_SOCKETS } from './common/browser.mjs';

const JWT_SECRET = 'test-jwt-secret-browser';
const LIFETIME_SECS = 3;

const suite = browserSuite({ vars: { JWT_SECRET, JWT_LEEWAY_SECS: '1' } });

const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
function hs256(claims) {
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${input}.${crypto.createHmac('sha256', JWT_SECRET).update(input).digest('base64url')}`;
}

/**
 * A page of an app that signs its users in: its getToken hook asks this test (the app's backend) for
 * a JWT living LIFETIME_SECS. `renew` says whether the backend answers renewals ahead of expiry.
 * Resolves with the page, the reasons the hook was called with, and the sockets the page opened.
 */
async function signedInPage(name, room, { renew }) {
  const reasons = [];
  const sockets = [];
  const chat = await openPage(suite.browser, `${suite.server.base}/#room=${room}`, {
    async beforeGoto(context) {
      await context.exposeBinding('appToken', (_source, { room: forRoom, name: forName, reason }) => {
        reasons.push(reason);
        if (reason === 'renew' && !renew) return null;
        return hs256({ sub: `user-${forName}`, name: forName, rooms: [forRoom], exp: Math.floor(Date.now() / 1000) + LIFETIME_SECS });
      });
      await context.addInitScript(() => {
        window.edgeChat = { getToken: (request) => window.appToken(request) };
      });
      await context.routeWebSocket(ROOM_SOCKETS, (ws) => {
        sockets.push(ws.url());
        ws.connectToServer();
      });
    },
  });
  suite.contexts.push(chat.context);
  const { page } = chat;
  await page.getByLabel('Your name').fill(name);
  await page.getByLabel('Your name').press('Enter');
  await page.locator('#status', { hasText: /^online$/ }).waitFor();
  return { ...chat, reasons, sockets };
}

test('renewed on the live socket ahead of expiry: the same socket stays open past many token lifetimes', async () => {
  const room = uniqueRoom('jwt-page');
  const ann = await signedInPage('ann', room, { renew: true });
  assert.ok(new URL(ann.sockets[0]).searchParams.get('token'), 'the page connects with the token');
  await sleep(LIFETIME_SECS * 3 * 1000);
  assert.equal(ann.sockets.length, 1, `no reconnect: ${ann.sockets.length} sockets`);
  assert.ok(ann.reasons.filter((r) => r === 'renew').length >= 2, `renewed: ${ann.reasons}`);
  assert.ok(!ann.reasons.includes('expired'));
  await say(ann.page, 'still the same socket');
  await eventually(async () => (await shownMessages(ann.page)).some((m) => m.text === 'still the same socket'), 10_000);
  assert.deepEqual(ann.errors, []);
});

test('a token that runs out anyway: a fresh one from the hook and a seamless reconnect, nothing lost, no refusal shown', async () => {
  const room = uniqueRoom('jwt-page');
  const ann = await signedInPage('ann', room, { renew: false });
  await say(ann.page, 'before the expiry');
  await eventually(async () => (await shownMessages(ann.page)).some((m) => m.text === 'before the expiry'), 10_000);
  // expiry (3 s) + leeway (1 s): the room closes the socket with token_expired; the page asks again
  await eventually(() => ann.reasons.includes('expired'), 15_000, () => `an expired renewal (${ann.reasons})`);
  await eventually(() => ann.sockets.length >= 2, 10_000, 'a reconnect');
  await ann.page.locator('#status', { hasText: /^online$/ }).waitFor();
  assert.equal(new URL(ann.sockets[1]).searchParams.get('token') !== new URL(ann.sockets[0]).searchParams.get('token'), true, 'with the fresh token');
  assert.equal(await ann.page.locator('#problem').textContent(), '', 'no refusal shown');
  await say(ann.page, 'after the expiry');
  await eventually(async () => (await shownMessages(ann.page)).some((m) => m.text === 'after the expiry'), 10_000);
  const reader = hs256({ sub: 'reader', rooms: [room], exp: Math.floor(Date.now() / 1000) + 60 });
  const stored = await getJson(`${suite.server.base}/api/rooms/${room}/messages?token=${reader}`);
  assert.deepEqual(stored.body.messages.map((m) => m.text), ['before the expiry', 'after the expiry'], 'stored once each');
  const shown = (await shownMessages(ann.page)).map((m) => m.text);
  assert.deepEqual(shown, ['before the expiry', 'after the expiry'], 'each message once, in order');
  assert.deepEqual(ann.errors, []);
});
