// The page's sidebar (issue 28) in Debian's headless Chromium against the real `wrangler dev`: two
// people, three rooms and a direct message. Badges move live, the title counts unread, opening a room
// clears its badge in the other tab of the same person, a direct message starts from a member's name
// and shows its partner online, and on a phone the sidebar folds away behind its button.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, test } from 'node:test';
import { Client, eventually, getJson, uniqueRoom } from './common/harness.mjs';
import { browserSuite, say } from './common/browser.mjs';

const suite = browserSuite();

/** The sidebar's entry for `room` on `page`. */
const entry = (page, room) => page.locator(`#sidebar li.entry[data-room="${room}"]`);
/** The unread badge an entry shows ('' when none). */
const badge = async (page, room) => (await entry(page, room).locator('.badge:not(.mention)').allTextContents()).join('');
/** What a screen reader hears of an entry's link. */
const spoken = (page, room) => entry(page, room).locator('a.go').evaluate((a) => a.textContent);

/** Goes to `room` the way a link to it does (the page joins it under the name it knows). */
async function go(page, room) {
  await page.evaluate((r) => (location.hash = new URLSearchParams({ room: r }).toString()), room);
  await page.locator('#room-name', { hasText: room }).waitFor();
  await page.locator('#status', { hasText: /^online$/ }).waitFor();
}

describe('the sidebar', () => {
  test('two people, three rooms and a direct message: badges move live and clear in every tab', async () => {
    const rooms = [uniqueRoom('one'), uniqueRoom('two'), uniqueRoom('three')];
    const bobKey = crypto.randomBytes(18).toString('base64url');
    const bob = await Promise.all(rooms.map((r) => Client.connect(suite.server.ws(r, { name: 'bob', key: bobKey }))));
    const { page: tab1, context, errors } = await suite.join('ann', rooms[0]);
    await go(tab1, rooms[1]);
    await go(tab1, rooms[2]);
    await go(tab1, rooms[0]);
    for (const r of rooms) await entry(tab1, r).waitFor();
    // A second tab of the same person, on the third room.
    const tab2 = await context.newPage();
    await tab2.goto(`${suite.server.base}/#room=${rooms[2]}`);
    await tab2.locator('#status', { hasText: /^online$/ }).waitFor();
    await entry(tab2, rooms[1]).waitFor();
    // bob writes in the second room: both tabs show it, with the preview, and count it in the title
    await bob[1].say('news in two');
    for (const tab of [tab1, tab2]) {
      await eventually(async () => (await badge(tab, rooms[1])) === '1', 10_000, 'a badge of 1 on room two');
      assert.match(await entry(tab, rooms[1]).locator('.preview').textContent(), /bob: news in two/);
      assert.match(await spoken(tab, rooms[1]), /, 1 unread/, 'the badge said in words');
      await eventually(async () => (await tab.title()).startsWith('(1)'), 5000, 'the title counts it');
    }
    // the first tab opens room two: the badge goes there and in the other tab of the same person
    await entry(tab1, rooms[1]).locator('a.go').click();
    await tab1.locator('#room-name', { hasText: rooms[1] }).waitFor();
    await eventually(async () => (await badge(tab2, rooms[1])) === '', 10_000, 'the other tab to clear the badge');
    await eventually(async () => !(await tab2.title()).startsWith('('), 5000, 'the title to stop counting');
    // a direct message, started from bob's name in the roster of room two
    await tab1.getByRole('button', { name: 'Message bob' }).click();
    let shown = '';
    await eventually(async () => (shown = await tab1.locator('#room-name').textContent()) === 'bob', 10_000, () => `the DM to be on screen, named for bob: ${shown} ${tab1.url()} ${JSON.stringify(errors)}`);
    const dm = new URL(tab1.url()).hash.match(/room=([^&]+)/)[1];
    assert.match(dm, /^dm\.[0-9a-f]{32}$/);
    await entry(tab2, dm).waitFor();
    assert.equal(await entry(tab2, dm).locator('.entry-name').textContent(), 'bob');
    await say(tab1, 'just us, bob');
    // bob gets the same room from his side, answers, and is online while he is in it
    const opened = await getJson(`${suite.server.base}/api/dms?key=${bobKey}`, { method: 'POST', body: JSON.stringify({ with: await uidOf(tab1) }) });
    assert.equal(opened.body.room, dm);
    const bobDm = await Client.connect(suite.server.ws(dm, { name: 'bob', key: bobKey }));
    await entry(tab2, dm).locator('.presence.on').waitFor();
    await bobDm.say('hi ann');
    await eventually(async () => (await badge(tab2, dm)) === '' && (await entry(tab2, dm).locator('.preview').textContent()).includes('hi ann'), 10_000, 'the preview of bob’s answer');
    // (tab1 has the DM on screen and reads it, so tab2 shows no badge for it)
    await Promise.all([...bob, bobDm].map((c) => c.close()));
    assert.deepEqual(errors, []);
  });

  test('on a phone the sidebar folds away behind its button', async () => {
    const room = uniqueRoom('phone');
    const { page } = await suite.join('ann', room, { viewport: { width: 390, height: 760 }, device: { isMobile: true, hasTouch: true } });
    await entry(page, room).waitFor({ state: 'attached' });
    assert.equal(await page.locator('#sidebar').isVisible(), false, 'folded away');
    const toggle = page.getByRole('button', { name: /^Rooms/ });
    await toggle.click();
    assert.equal(await page.locator('#sidebar').isVisible(), true);
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    await entry(page, room).locator('a.go').click();
    assert.equal(await page.locator('#sidebar').isVisible(), false, 'a choice folds it again');
  });
});

/** The uid of the person on `page` (their inbox says it). */
async function uidOf(page) {
  const key = await page.evaluate(() => localStorage.getItem('edge-chat:key'));
  const me = await getJson(`${suite.server.base}/api/me?key=${key}`);
  return me.body.uid;
}
