// An accessibility pass over the page's main views (issue 26, "Tests"): axe-core (the npm package, the
// engine behind most accessibility checkers) run inside Debian's headless Chromium against the real
// `wrangler dev`, on the join form, a room in use (replies, an edit, reactions, "seen by", a focused
// message with its actions, the reaction picker with every emoji, who reacted), the search results,
// the composer's emoji picker, a moderator's panel, a thread's panel with the `@` list open, a
// phone, and the dark scheme. No violation of
// impact "serious" or "critical" may be left; what axe finds is printed with where it is.
//
// axe is injected as a script, which the page's CSP (script-src 'self', Trusted Types) would refuse:
// these contexts bypass the CSP, which this file is not about (the other browser tests keep it on and
// fail on any violation).

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ROOT, uniqueRoom } from './common/harness.mjs';
import { browserSuite, say } from './common/browser.mjs';

const JWT_SECRET = 'test-jwt-secret-axe';
const suite = browserSuite({ vars: { JWT_SECRET } });
const AXE = readFileSync(path.join(ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8');

const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
function token(room, sub, name, role) {
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, name, role, rooms: [room], exp: Math.floor(Date.now() / 1000) + 600 })}`;
  return `${input}.${crypto.createHmac('sha256', JWT_SECRET).update(input).digest('base64url')}`;
}

/** Somebody in `room`, signed in by the embedding app's getToken hook; `options` as openPage's. */
function person(room, sub, name, { role = 'member', device = {}, ...options } = {}) {
  const jwt = token(room, sub, name, role);
  return suite.join(name, room, {
    ...options,
    device: { bypassCSP: true, ...device },
    beforeGoto: (context) => context.addInitScript((t) => (window.edgeChat = { getToken: async () => t }), jwt),
  });
}

const item = (page, text) => page.locator('#messages li.msg:not(.pending)').filter({ has: page.locator('.text', { hasText: text }) });

/** axe's serious and critical violations on `page` now, each as one readable line per element. */
async function violations(page) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: AXE });
  const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .flatMap((v) => v.nodes.map((n) => `${v.impact} ${v.id} (${v.help}) at ${n.target.join(' ')}: ${n.failureSummary?.split('\n').slice(1).join(' ').trim()}`));
}

async function assertClean(page, view) {
  const found = await violations(page);
  assert.deepEqual(found, [], `${view}:\n${found.join('\n')}`);
}

/** A room in use: a reply, an edit, reactions, read marks; seen from `viewer`'s page. */
async function roomInUse(room, viewer, other) {
  await say(other.page, 'Shall we meet at the café at noon?');
  await item(viewer.page, 'café at noon').waitFor();
  const q = item(viewer.page, 'café at noon');
  await q.focus(); // a focused message shows its actions, on a phone too
  await q.getByRole('button', { name: 'Reply', exact: true }).click();
  await say(viewer.page, 'Yes, **noon** works — see www.example.org');
  await say(viewer.page, 'بالتأكيد، أراك هناك');
  await say(other.page, 'Great, `table 4`');
  const great = item(viewer.page, 'table 4');
  await great.focus();
  await great.getByRole('button', { name: 'React', exact: true }).click();
  await great.getByRole('button', { name: 'React with thumbs up' }).click();
  await great.locator('.reaction', { hasText: '👍 1' }).waitFor();
  await item(other.page, 'بالتأكيد').waitFor();
}

describe('axe: no serious or critical violations', () => {
  test('the join form, light and dark', async () => {
    for (const colorScheme of ['light', 'dark']) {
      const { page } = await suite.open(`${suite.server.base}/`, { colorScheme, device: { bypassCSP: true } });
      await page.getByLabel('Your name').waitFor();
      await assertClean(page, `join form (${colorScheme})`);
    }
  });

  for (const colorScheme of ['light', 'dark']) {
    test(`a room in use, its reaction picker and who reacted, search results, the composer's emoji (${colorScheme})`, async () => {
      const room = uniqueRoom(`axe-room-${colorScheme}`);
      const ann = await person(room, 'ann-1', 'Ann', { colorScheme });
      const bob = await person(room, 'bob-1', 'Bob', { colorScheme });
      await roomInUse(room, ann, bob);
      const page = ann.page;
      await assertClean(page, `room (${colorScheme})`);

      // A focused message with its actions, the reaction picker with every emoji, who reacted.
      const msg = item(page, 'table 4');
      await msg.focus();
      await msg.getByRole('button', { name: 'React', exact: true }).click();
      await msg.locator('summary', { hasText: 'More reactions' }).click();
      await msg.locator('.emoji-picker').getByRole('group', { name: 'Flags' }).waitFor();
      await msg.locator('.reaction').hover();
      await msg.getByRole('tooltip').filter({ hasText: 'you' }).waitFor();
      await assertClean(page, `reaction picker and who reacted (${colorScheme})`);
      await page.keyboard.press('Escape');

      // Search results.
      const box = page.getByRole('searchbox', { name: 'Search this room' });
      await box.fill('noon');
      await box.press('Enter');
      await page.locator('#search-results').getByRole('heading', { name: /match “noon”/ }).waitFor();
      await assertClean(page, `search results (${colorScheme})`);
      await page.getByRole('button', { name: 'Close', exact: true }).click();

      // The composer's emoji picker.
      await page.getByRole('button', { name: 'Insert an emoji' }).click();
      await page.getByRole('group', { name: 'Emoji' }).getByRole('group', { name: 'Flags' }).waitFor();
      await assertClean(page, `composer emoji picker (${colorScheme})`);
    });
  }

  test("a moderator's panel, and a deletion and a purge being confirmed", async () => {
    const room = uniqueRoom('axe-mod');
    const mod = await person(room, 'mod-1', 'Mo', { role: 'moderator' });
    const ann = await person(room, 'ann-1', 'Ann');
    await roomInUse(room, mod, ann);
    const target = item(mod.page, 'table 4');
    await target.hover();
    await target.getByRole('button', { name: 'Delete', exact: true }).click();
    await target.getByLabel('Reason (optional)').waitFor();
    await assertClean(mod.page, 'deletion with a reason');
    await target.getByRole('button', { name: 'Delete recent…' }).click();
    await target.getByLabel('How far back').waitFor();
    await assertClean(mod.page, 'purge confirmation');
    await target.getByRole('button', { name: 'Cancel' }).click();
    await item(mod.page, 'café at noon').hover();
    await item(mod.page, 'café at noon').getByRole('button', { name: 'Mute 10 min' }).click();
    await mod.page.getByRole('button', { name: 'Moderation' }).click();
    await mod.page.locator('#modlog-mutes li', { hasText: 'Ann' }).waitFor();
    await assertClean(mod.page, "moderator's panel");
  });

  test("a thread's root and panel, a mention of us, and the @ list", async () => {
    for (const colorScheme of ['light', 'dark']) {
      const room = uniqueRoom(`axe-thread-${colorScheme}`);
      const ann = await person(room, 'ann-1', 'Ann', { colorScheme });
      const bob = await person(room, 'bob-1', 'Bob', { colorScheme });
      await say(ann.page, 'Lunch today?');
      await item(bob.page, 'Lunch today?').hover();
      await item(bob.page, 'Lunch today?').getByRole('button', { name: 'Reply in thread', exact: true }).click();
      await bob.page.locator('#thread-input').fill('yes, @Ann at noon');
      await bob.page.locator('#thread-input').press('Enter');
      const row = item(ann.page, 'Lunch today?').locator('.thread-row');
      await row.filter({ hasText: '1 reply' }).waitFor();
      await assertClean(ann.page, `a root with its thread, unread (${colorScheme})`);
      await row.click();
      await ann.page.locator('#thread-messages li.mentions-me').waitFor();
      await ann.page.locator('#thread-input').pressSequentially('@B');
      await ann.page.locator('.mention-list [role="option"]', { hasText: 'Bob' }).waitFor();
      await assertClean(ann.page, `the thread panel with the @ list (${colorScheme})`);
    }
  });

  test('a phone (390×844, touch), light and dark', async () => {
    for (const colorScheme of ['light', 'dark']) {
      const room = uniqueRoom(`axe-phone-${colorScheme}`);
      const phone = { viewport: { width: 390, height: 844 }, device: { isMobile: true, hasTouch: true }, colorScheme };
      const ann = await person(room, 'ann-1', 'Ann', phone);
      const bob = await person(room, 'bob-1', 'Bob', { colorScheme });
      await roomInUse(room, ann, bob);
      await assertClean(ann.page, `phone room (${colorScheme})`);
      await item(ann.page, 'table 4').tap();
      await item(ann.page, 'table 4').getByRole('button', { name: 'React', exact: true }).waitFor();
      await assertClean(ann.page, `phone with a message's actions (${colorScheme})`);
    }
  });
});
