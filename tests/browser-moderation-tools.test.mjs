// A moderator's panel on the page (issue 26, "Expected and missing"): who is muted and banned now, with
// Unmute and Unban, and the room's log — in Debian's headless Chromium against the real `wrangler dev`,
// with moderators signed in by the embedding app's getToken hook as in browser-moderation.test.mjs.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import { uniqueRoom } from './common/harness.mjs';
import { browserSuite, say } from './common/browser.mjs';

const JWT_SECRET = 'test-jwt-secret-moderation-tools';
const suite = browserSuite({ vars: { JWT_SECRET } });

const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
function token(room, sub, name, role) {
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, name, role, rooms: [room], exp: Math.floor(Date.now() / 1000) + 600 })}`;
  return `${input}.${crypto.createHmac('sha256', JWT_SECRET).update(input).digest('base64url')}`;
}

function person(room, sub, name, role = 'member') {
  const jwt = token(room, sub, name, role);
  return suite.join(name, room, { beforeGoto: (context) => context.addInitScript((t) => (window.edgeChat = { getToken: async () => t }), jwt) });
}

const item = (page, text) => page.locator('#messages li.msg:not(.pending)').filter({ has: page.locator('.text', { hasText: text }) });

test('a moderator unmutes and unbans from the panel, and reads the log', async () => {
  const room = uniqueRoom('mod-tools');
  const mod = await person(room, 'mod-1', 'Mo', 'moderator');
  const ann = await person(room, 'ann-1', 'Ann');
  const bob = await person(room, 'bob-1', 'Bob');
  assert.equal(await ann.page.getByRole('button', { name: 'Moderation' }).count(), 0, 'members have no panel');
  await say(ann.page, 'spam spam');
  await say(bob.page, 'more spam');
  await item(mod.page, 'more spam').waitFor();
  await item(mod.page, 'spam spam').getByRole('button', { name: 'Mute 10 min', exact: true }).press('Enter');
  await ann.page.locator('#rules', { hasText: 'A moderator muted you' }).waitFor();
  mod.page.once('dialog', (d) => d.accept());
  await item(mod.page, 'more spam').getByRole('button', { name: 'Ban', exact: true }).press('Enter');
  await bob.page.locator('#problem', { hasText: 'banned' }).waitFor();

  await mod.page.getByRole('button', { name: 'Moderation' }).click();
  const panel = mod.page.locator('#modlog');
  await panel.locator('#modlog-mutes li', { hasText: 'Ann' }).waitFor();
  await panel.locator('#modlog-records li', { hasText: 'Mo banned' }).waitFor();
  assert.match(await panel.locator('#modlog-records').textContent(), /Mo muted Ann/);
  await panel.locator('#modlog-mutes li', { hasText: 'Ann' }).getByRole('button', { name: 'Unmute' }).click();
  await ann.page.locator('#rules').waitFor({ state: 'hidden' });
  assert.equal(await ann.page.getByLabel('Message', { exact: true }).isDisabled(), false, 'Ann may write again');
  await panel.locator('#modlog-bans li button', { hasText: 'Unban' }).click();
  await panel.locator('#modlog-bans li', { hasText: 'Nobody' }).waitFor();
  await panel.getByRole('button', { name: 'Close' }).click();
  await bob.page.getByRole('button', { name: 'Choose another room' }).click();
  await bob.page.getByLabel('Your name').press('Enter');
  await bob.page.locator('#status', { hasText: /^online$/ }).waitFor();
  assert.deepEqual(mod.errors, []);
});
