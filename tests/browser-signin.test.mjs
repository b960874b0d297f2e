// Sign-in through the server's login page (issue 26, defect 7), in Debian's headless Chromium against
// the real `wrangler dev` with JWT_SECRET and LOGIN_URL: a first visit goes to the login page (a real
// one, a small HTTP server in this test that signs JWTs with the server's secret), comes back with the
// token in the URL fragment, which leaves the address bar at once; when the token runs out the page
// goes the same way again, and the login page, which still knows the person, sends them straight back.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { eventually, getJson, uniqueRoom } from './common/harness.mjs';
import { browserSuite, say, shownMessages } from './common/browser.mjs';

const JWT_SECRET = 'test-jwt-secret-signin';
const LIFETIME_SECS = 6;

const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
function hs256(claims) {
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${input}.${crypto.createHmac('sha256', JWT_SECRET).update(input).digest('base64url')}`;
}

/**
 * The app's login page: GET /login?return=… shows a form (or, for a person it already knows by its
 * cookie, answers at once); POST /login signs the person in and sends them back to `return` with
 * `token=<a JWT living LIFETIME_SECS>` added to the return address's fragment.
 */
const login = { server: null, url: null, visits: [] };
const vars = { JWT_SECRET, JWT_LEEWAY_SECS: '1' };
before(async () => {
  login.server = http.createServer(async (req, res) => {
    const u = new URL(req.url, 'http://127.0.0.1');
    if (u.pathname !== '/login') return res.writeHead(404).end();
    let back = u.searchParams.get('return');
    let name = /(?:^|;\s*)who=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    if (req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += chunk;
      const form = new URLSearchParams(body);
      name = form.get('name');
      back = form.get('return');
    }
    login.visits.push({ method: req.method, known: Boolean(name), back });
    if (!name) {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end(`<!doctype html><title>Sign in</title><form method="post" action="/login">
        <label>Your account <input name="name"></label><input type="hidden" name="return" value="${back}">
        <button>Sign in</button></form>`);
    }
    const token = hs256({ sub: `account-${name}`, name, exp: Math.floor(Date.now() / 1000) + LIFETIME_SECS });
    const to = new URL(back);
    const params = new URLSearchParams(to.hash.slice(1));
    params.set('token', token);
    to.hash = params.toString();
    res.writeHead(303, { location: to.href, 'set-cookie': `who=${name}; Path=/; HttpOnly` }).end();
  });
  await new Promise((resolve) => login.server.listen(0, '127.0.0.1', resolve));
  login.url = `http://127.0.0.1:${login.server.address().port}/login`;
  vars.LOGIN_URL = login.url; // read by the suite's server, which starts after this
});
after(() => login.server?.close());

const suite = browserSuite({ vars });

/** The page, with GET /api/config answered by the server (LOGIN_URL) — or, until the server has that
 * endpoint, by this test standing in for it with the same answer. */
async function openSignInPage(url) {
  const chat = await suite.open(url, {
    async beforeGoto(context) {
      const real = await fetch(`${suite.server.base}/api/config`).catch(() => null);
      if (!real?.ok) {
        await context.route('**/api/config', (route) => route.fulfill({ json: { login_url: login.url } }));
      }
    },
  });
  return chat;
}

test('a first visit goes to the login page and comes back signed in; the token leaves the address bar; expiry goes the same way', async () => {
  const room = uniqueRoom('signin');
  const { page, errors } = await openSignInPage(`${suite.server.base}/#room=${room}`);
  await page.getByLabel('Your name').fill('ann');
  await page.getByLabel('Your name').press('Enter');
  // Refused for want of a token: no "expired" wording, off to the login page.
  await page.waitForURL((u) => u.href.startsWith(login.url));
  assert.equal(new URL(page.url()).searchParams.get('return'), `${suite.server.base}/#room=${room}`);
  await page.getByLabel('Your account').fill('Ann Example');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => u.href.startsWith(suite.server.base));
  await page.locator('#status', { hasText: /^online$/ }).waitFor();
  assert.equal(page.url(), `${suite.server.base}/#room=${room}`, 'the token is gone from the address');
  assert.equal(await page.locator('#roster .who').first().textContent(), 'Ann Example', 'the name the token gives');
  await say(page, 'signed in and talking');
  await eventually(async () => (await shownMessages(page)).some((m) => m.text === 'signed in and talking' && m.own), 10_000);
  // The token runs out (6 s + 1 s leeway): the page goes to the login page, which knows Ann and sends
  // her straight back with a fresh one.
  await eventually(() => login.visits.filter((v) => v.known && v.method === 'GET').length >= 1, 20_000, 'a renewal through the login page');
  await page.locator('#status', { hasText: /^online$/ }).waitFor();
  assert.equal(page.url(), `${suite.server.base}/#room=${room}`);
  await say(page, 'after the renewal');
  await eventually(async () => (await shownMessages(page)).some((m) => m.text === 'after the renewal'), 10_000);
  const reader = hs256({ sub: 'reader', exp: Math.floor(Date.now() / 1000) + 60 });
  const stored = await getJson(`${suite.server.base}/api/rooms/${room}/messages?token=${reader}`);
  assert.deepEqual(stored.body.messages.map((m) => [m.from.name, m.text]), [['Ann Example', 'signed in and talking'], ['Ann Example', 'after the renewal']]);
  assert.equal(await page.locator('#problem').textContent(), '');
  assert.deepEqual(errors, []);
});
