// Moderation on the page (the server half is tests/moderation.test.mjs): in Debian's headless Chromium
// against the real `wrangler dev`. The embedding app signs people in through `window.edgeChat.getToken`
// (docs/API.md, "Tokens on the page"); a token with role "moderator" gets the moderator's controls,
// and the person they are used on is told plainly what happened.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, test } from 'node:test';
import { uniqueRoom } from './common/harness.mjs';
import { browserSuite, say } from './common/browser.mjs';

const JWT_SECRET = 'test-jwt-secret-browser-moderation';

const suite = browserSuite({ vars: { JWT_SECRET } });

const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
function token(room, sub, name, role) {
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, name, role, rooms: [room], exp: Math.floor(Date.now() / 1000) + 600 })}`;
  return `${input}.${crypto.createHmac('sha256', JWT_SECRET).update(input).digest('base64url')}`;
}

/** A person signed in by the embedding app: its getToken hook hands the page a JWT. */
async function person(room, sub, name, role = 'member') {
  const jwt = token(room, sub, name, role);
  return suite.join(name, room, {
    beforeGoto: (context) => context.addInitScript((t) => {
      window.edgeChat = { getToken: async () => t };
    }, jwt),
  });
}

const item = (page, text) => page.locator('#messages li.msg:not(.pending)').filter({ has: page.locator('.text', { hasText: text }) });

describe('moderation on the page', () => {
  test('only a moderator sees the controls; a mute, slow mode and a ban reach the person plainly', async () => {
    const room = uniqueRoom('pmod');
    const mod = await person(room, 'mod-1', 'Mo', 'moderator');
    const ann = await person(room, 'ann-1', 'Ann');
    await say(ann.page, 'buy cheap stuff');
    await say(mod.page, 'please keep it on topic');
    await item(mod.page, 'buy cheap stuff').waitFor();
    await item(ann.page, 'please keep it on topic').waitFor();

    // Ann, a member, has no moderator controls on Mo's message; Mo has them on Ann's.
    await item(ann.page, 'please keep it on topic').hover();
    assert.equal(await item(ann.page, 'please keep it on topic').getByRole('button', { name: /^(Ban|Kick|Mute 10 min|Delete)$/ }).count(), 0);
    assert.equal(await ann.page.locator('.slow-mode').count(), 0);
    for (const label of ['Delete', 'Mute 10 min', 'Kick', 'Ban']) {
      assert.equal(await item(mod.page, 'buy cheap stuff').getByRole('button', { name: label, exact: true }).count(), 1, label);
    }

    await item(mod.page, 'buy cheap stuff').getByRole('button', { name: 'Mute 10 min', exact: true }).press('Enter');
    await ann.page.locator('#rules', { hasText: 'A moderator muted you' }).waitFor();
    assert.equal(await ann.page.getByLabel('Message', { exact: true }).isDisabled(), true, 'a muted person cannot type');
    await ann.page.locator('#messages', { hasText: 'Mo muted you for 10 min' }).waitFor();

    await mod.page.locator('.slow-mode').selectOption('30');
    await mod.page.locator('#messages', { hasText: 'turned on slow mode' }).waitFor();
    await ann.page.locator('#rules', { hasText: 'Slow mode: one message every 30 s' }).waitFor();

    mod.page.once('dialog', (dialog) => dialog.accept());
    await item(mod.page, 'buy cheap stuff').getByRole('button', { name: 'Ban', exact: true }).press('Enter');
    await ann.page.locator('#problem', { hasText: 'A moderator banned you from this room' }).waitFor();
    await ann.page.locator('#status', { hasText: 'refused' }).waitFor();
    await mod.page.locator('#messages', { hasText: 'Mo banned Ann' }).waitFor();
    assert.deepEqual(mod.errors, []);
  });

  test('a kicked person is told and may join again; a moderator deletes anyone\'s message', async () => {
    const room = uniqueRoom('pmod-kick');
    const mod = await person(room, 'mod-1', 'Mo', 'moderator');
    const ann = await person(room, 'ann-1', 'Ann');
    await say(ann.page, 'something rude');
    await item(mod.page, 'something rude').getByRole('button', { name: 'Delete', exact: true }).press('Enter');
    await mod.page.getByRole('button', { name: 'Yes, delete' }).press('Enter');
    await ann.page.locator('#messages li.msg.deleted').first().waitFor();
    await say(ann.page, 'sorry');
    await item(mod.page, 'sorry').getByRole('button', { name: 'Kick', exact: true }).press('Enter');
    await ann.page.locator('#problem', { hasText: 'A moderator removed you from this room' }).waitFor();
    await ann.page.getByRole('button', { name: 'Join again' }).press('Enter');
    await ann.page.locator('#status', { hasText: /^online$/ }).waitFor();
    assert.deepEqual(ann.errors, []);
  });
});
