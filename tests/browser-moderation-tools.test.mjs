// A moderator's tools on the page (issue 26, "Expected and missing"): the panel — who is muted and
// banned now, with Unmute and Unban, and the room's log —, a reason on a deletion (its author and the
// others see it), and "Delete recent…", all of a person's recent messages at once — in Debian's
// headless Chromium against the real `wrangler dev`, with moderators signed in by the embedding app's
// getToken hook as in browser-moderation.test.mjs.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import { eventually, uniqueRoom } from './common/harness.mjs';
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

test("a deletion's reason: its author is told which moderator and why, the others why", async () => {
  const room = uniqueRoom('mod-reason');
  const mod = await person(room, 'mod-1', 'Mo', 'moderator');
  const ann = await person(room, 'ann-1', 'Ann');
  const bob = await person(room, 'bob-1', 'Bob');
  await say(ann.page, 'buy cheap watches');
  const target = item(mod.page, 'buy cheap watches');
  await target.waitFor();
  await target.hover();
  await target.getByRole('button', { name: 'Delete', exact: true }).click();
  await target.getByLabel('Reason (optional)').fill('no advertising');
  await target.getByRole('button', { name: 'Yes, delete' }).click();
  const gone = (page) => page.locator('#messages li.msg.deleted .text.gone');
  await gone(ann.page).filter({ hasText: 'a moderator (Mo) deleted your message: no advertising' }).waitFor();
  await gone(bob.page).filter({ hasText: 'message deleted by a moderator: no advertising' }).waitFor();
  // An author's own deletion asks for no reason.
  await say(bob.page, 'typo');
  const own = item(bob.page, 'typo');
  await own.hover();
  await own.getByRole('button', { name: 'Delete', exact: true }).click();
  assert.equal(await own.getByLabel('Reason (optional)').count(), 0);
  await mod.page.getByRole('button', { name: 'Moderation' }).click();
  await mod.page.locator('#modlog-records li', { hasText: 'Mo deleted a message of Ann (no advertising)' }).waitFor();
  for (const p of [mod, ann, bob]) assert.deepEqual(p.errors, []);
});

test("\"Delete recent…\": every message of one person from the last hour goes, each marked deleted by a moderator", async () => {
  const room = uniqueRoom('mod-purge');
  const mod = await person(room, 'mod-1', 'Mo', 'moderator');
  const ann = await person(room, 'ann-1', 'Ann');
  const bob = await person(room, 'bob-1', 'Bob');
  for (let i = 0; i < 12; i++) await say(ann.page, `spam number ${i}`);
  await say(bob.page, 'a real question');
  await item(mod.page, 'a real question').waitFor();
  const target = item(mod.page, 'spam number 11');
  await target.hover();
  assert.equal(await item(ann.page, 'spam number 3').getByRole('button', { name: 'Delete recent…' }).count(), 0, 'members have no such button');
  await target.getByRole('button', { name: 'Delete recent…' }).click();
  const confirm = target.getByRole('group', { name: 'Delete the recent messages of Ann' });
  await confirm.getByLabel('How far back').selectOption({ label: 'the last hour' });
  await confirm.getByLabel('Reason (optional)').fill('spam');
  await confirm.getByRole('button', { name: "Delete Ann's messages" }).click();
  // Bob sees all twelve go, each said to be a moderator's deletion with the reason; his own stays.
  const gone = bob.page.locator('#messages li.msg.deleted .text.gone', { hasText: 'message deleted by a moderator: spam' });
  await eventually(async () => (await gone.count()) === 12, 15_000, 'all twelve deleted on bob\'s page');
  await item(bob.page, 'a real question').waitFor();
  assert.equal(await bob.page.locator('#messages li.msg:not(.deleted) .text', { hasText: 'spam number' }).count(), 0);
  await ann.page.locator('#messages li.notice', { hasText: 'Mo deleted the messages you sent in the last hour (spam)' }).waitFor();
  await mod.page.getByRole('button', { name: 'Moderation' }).click();
  await mod.page.locator('#modlog-records li', { hasText: 'Mo deleted the recent messages of Ann, the last hour (spam)' }).waitFor();
  for (const p of [mod, ann, bob]) assert.deepEqual(p.errors, []);
});

