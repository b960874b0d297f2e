// The emoji picker and who reacted (issue 26, "Expected and missing"), in Debian's headless Chromium
// against the real `wrangler dev`: every emoji of the list the build makes from emojibase-data
// (fetched by the page only when a picker opens), found by name, in a skin tone, the recent ones
// first, for reactions and for the composer alike; and the names behind a reaction on hover, on focus
// and on a long press, read from the room.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { uniqueRoom } from './common/harness.mjs';
import { browserSuite, say } from './common/browser.mjs';

const suite = browserSuite();
const person = (name, room, options) => suite.join(name, room, options);
const item = (page, text) => page.locator('#messages li.msg:not(.pending)').filter({ has: page.locator('.text', { hasText: text }) });

/** Counts the requests the page makes for the emoji list. */
function countEmojiLoads(page) {
  const seen = { n: 0 };
  page.on('request', (r) => new URL(r.url()).pathname === '/emoji/emoji.json' && (seen.n += 1));
  return seen;
}

describe('the emoji picker', () => {
  test('reactions: the quick six, then every emoji loaded on demand — by name, in a skin tone, the recent ones first', async () => {
    const room = uniqueRoom('emoji-react');
    const { page: ann, errors } = await person('ann', room);
    const loads = countEmojiLoads(ann);
    await say(ann, 'pick something');
    const msg = item(ann, 'pick something');
    await msg.waitFor();
    assert.equal(loads.n, 0, 'nothing loaded before a picker opens');
    const open = async () => {
      await msg.hover();
      await msg.getByRole('button', { name: 'React', exact: true }).click();
      await msg.locator('summary', { hasText: 'More reactions' }).click();
    };
    await open();
    const more = msg.locator('.emoji-picker');
    await more.getByRole('group', { name: 'Smileys & emotion' }).waitFor();
    assert.ok((await more.locator('button.emoji').count()) > 1500, 'the whole list, not a short one');
    assert.equal(loads.n, 1);
    // Found by name or keyword: "fire" finds 🔥 among its matches; a keyword ("lol") finds by meaning.
    await msg.getByLabel('Find a reaction').fill('fire');
    await more.getByRole('button', { name: 'React with fire', exact: true }).waitFor();
    await msg.getByLabel('Find a reaction').fill('lol');
    assert.ok((await more.getByRole('group', { name: 'Matches' }).getByRole('button').allTextContents()).includes('😄'));
    await msg.getByLabel('Find a reaction').fill('fire');
    await more.getByRole('button', { name: 'React with fire', exact: true }).click();
    await msg.locator('.reaction', { hasText: '🔥 1' }).waitFor();
    // A skin tone, kept for next time.
    await open();
    await msg.getByLabel('Skin tone').selectOption('🏽');
    await msg.getByLabel('Find a reaction').fill('clapping');
    await more.getByRole('button', { name: 'React with clapping hands' }).click();
    await msg.locator('.reaction', { hasText: '👏🏽 1' }).waitFor();
    await msg.hover();
    await msg.getByRole('button', { name: 'React', exact: true }).click();
    const recent = msg.getByRole('group', { name: 'Recent reactions' });
    assert.deepEqual(await recent.getByRole('button').allTextContents(), ['👏🏽', '🔥']);
    assert.equal(await msg.getByRole('group', { name: 'Pick a reaction' }).getByRole('button').count(), 6, 'the quick six stay');
    await msg.locator('summary', { hasText: 'More reactions' }).click();
    assert.equal(await msg.getByLabel('Skin tone').inputValue(), '🏽');
    assert.equal(await more.getByRole('group', { name: 'Recently used' }).getByRole('button').first().textContent(), '👏🏽');
    assert.equal(await more.getByRole('group', { name: 'People & body' }).getByRole('button', { name: 'React with waving hand' }).textContent(), '👋🏽');
    assert.equal(loads.n, 1, 'fetched once per page');
    assert.deepEqual(errors, []);
  });

  test('the keyboard: the emoji are one Tab stop, moved through with the arrows; Escape puts the picker away', async () => {
    const room = uniqueRoom('emoji-keys');
    const { page: ann, errors } = await person('ann', room);
    await say(ann, 'keys please');
    const msg = item(ann, 'keys please');
    await msg.waitFor();
    await msg.focus();
    await ann.keyboard.press('Tab'); // Reply
    await msg.getByRole('button', { name: 'React', exact: true }).focus();
    await ann.keyboard.press('Enter');
    await msg.locator('summary', { hasText: 'More reactions' }).focus();
    await ann.keyboard.press('Enter');
    await msg.getByLabel('Find a reaction').waitFor();
    await msg.locator('.emoji-picker button.emoji').first().waitFor();
    const tabbable = await msg.locator('.emoji-picker button.emoji').evaluateAll((bs) => bs.filter((b) => b.tabIndex === 0).length);
    assert.equal(tabbable, 1, 'one Tab stop for the whole grid');
    await msg.getByLabel('Find a reaction').press('ArrowDown');
    const first = await ann.evaluate(() => document.activeElement.textContent);
    await ann.keyboard.press('ArrowRight');
    await ann.keyboard.press('ArrowDown');
    const moved = await ann.evaluate(() => ({ text: document.activeElement.textContent, index: [...document.querySelectorAll('.emoji-picker button.emoji')].indexOf(document.activeElement) }));
    assert.notEqual(moved.text, first);
    assert.equal(moved.index, 9, 'right one, down a row of eight');
    await ann.keyboard.press('Enter');
    await msg.locator('.reaction', { hasText: `${moved.text} 1` }).waitFor();
    assert.equal(await msg.locator('.picker-box').count(), 0, 'a pick puts it away');
    assert.deepEqual(errors, []);
  });

  test('the composer: ☺ opens the same picker and a pick goes in at the caret, as if typed', async () => {
    const room = uniqueRoom('emoji-compose');
    const { page: ann, errors } = await person('ann', room);
    const box = ann.getByLabel('Message', { exact: true });
    await box.fill('see you  later');
    await box.evaluate((t) => t.setSelectionRange(8, 8));
    await ann.getByRole('button', { name: 'Insert an emoji' }).click();
    const panel = ann.getByRole('group', { name: 'Emoji' });
    assert.equal(await ann.getByRole('button', { name: 'Insert an emoji' }).getAttribute('aria-expanded'), 'true');
    await panel.getByLabel('Find an emoji').fill('party popper');
    await panel.getByRole('button', { name: 'Insert party popper' }).waitFor();
    await panel.getByLabel('Find an emoji').press('Enter'); // the first match
    assert.equal(await box.inputValue(), 'see you 🎉 later');
    assert.equal(await panel.isHidden(), true);
    assert.equal(await ann.evaluate(() => document.activeElement.id), 'message-input', 'back in the box, after the emoji');
    assert.equal(await box.evaluate((t) => t.selectionStart), 'see you 🎉'.length);
    // Escape closes it and gives the focus back to ☺; the pick is the first of "Recently used".
    await ann.getByRole('button', { name: 'Insert an emoji' }).click();
    assert.equal(await panel.getByRole('group', { name: 'Recently used' }).getByRole('button').first().textContent(), '🎉');
    await ann.keyboard.press('Escape');
    assert.equal(await panel.isHidden(), true);
    assert.equal(await ann.evaluate(() => document.activeElement.id), 'emoji-button');
    await box.press('Enter');
    await item(ann, 'see you 🎉 later').waitFor();
    assert.deepEqual(errors, []);
  });

  test('without the list (offline, a failed load) a short one stands in, and the next opening tries again', async () => {
    const room = uniqueRoom('emoji-offline');
    // Service workers off: a route does not see what a service worker fetches (the offline shell's).
    const { page: ann, context, errors } = await person('ann', room, { device: { serviceWorkers: 'block' } });
    await context.route('**/emoji/emoji.json', (route) => route.abort());
    await ann.getByRole('button', { name: 'Insert an emoji' }).click();
    const panel = ann.getByRole('group', { name: 'Emoji' });
    await panel.locator('.picker-status', { hasText: 'could not be loaded' }).waitFor();
    assert.ok((await panel.locator('button.emoji').count()) >= 20);
    await panel.getByLabel('Find an emoji').fill('rocket');
    await panel.getByRole('button', { name: 'Insert rocket' }).click();
    assert.equal(await ann.getByLabel('Message', { exact: true }).inputValue(), '🚀');
    await context.unroute('**/emoji/emoji.json');
    // The composer's picker is kept; a reaction picker opened now loads the whole list.
    await say(ann, 'now online');
    const msg = item(ann, 'now online');
    await msg.hover();
    await msg.getByRole('button', { name: 'React', exact: true }).click();
    await msg.locator('summary', { hasText: 'More reactions' }).click();
    await msg.getByRole('group', { name: 'Flags' }).waitFor();
    assert.ok(errors.every((e) => /emoji\.json|ERR_FAILED/.test(e)), `only the failed load: ${errors}`);
  });
});

describe('who reacted', () => {
  test('on hover and on focus: the names behind a count, read from the room, "you" for oneself', async () => {
    const room = uniqueRoom('who-reacted');
    const { page: ann, errors } = await person('ann', room);
    const { page: bob } = await person('bob', room);
    const { page: cy } = await person('cy', room);
    await say(ann, 'vote here');
    for (const page of [bob, cy]) {
      const m = item(page, 'vote here');
      await m.hover();
      await m.getByRole('button', { name: 'React', exact: true }).click();
      await m.getByRole('button', { name: 'React with thumbs up' }).click();
    }
    const chip = item(ann, 'vote here').locator('.reaction[data-emoji="👍"]');
    await chip.filter({ hasText: '👍 2' }).waitFor();
    await chip.hover();
    const tip = item(ann, 'vote here').getByRole('tooltip');
    await tip.filter({ hasText: /^👍 (bob and cy|cy and bob)$/ }).waitFor();
    assert.equal(await chip.getAttribute('aria-describedby'), await tip.getAttribute('id'), 'the chip is described by the names');
    await ann.mouse.move(0, 0);
    await tip.waitFor({ state: 'detached' });
    // Ann reacts too: the count changes and the names are read again; on focus this time.
    await chip.click();
    await chip.filter({ hasText: '👍 3' }).waitFor();
    await chip.blur();
    await chip.focus();
    await tip.filter({ hasText: /you/ }).waitFor();
    assert.match(await tip.textContent(), /^👍 (bob, cy|cy, bob),? and you$|you/);
    assert.deepEqual(errors, []);
  });

  test('on a phone: a long press on a reaction shows who; a tap elsewhere hides it', async () => {
    const room = uniqueRoom('who-phone');
    const { page: ann } = await person('ann', room);
    const { page: bob, errors } = await person('bob', room, { viewport: { width: 390, height: 844 }, device: { isMobile: true, hasTouch: true } });
    await say(ann, 'tap me');
    const m = item(ann, 'tap me');
    await m.hover();
    await m.getByRole('button', { name: 'React', exact: true }).click();
    await m.getByRole('button', { name: 'React with heart' }).click();
    const chip = item(bob, 'tap me').locator('.reaction', { hasText: '❤️ 1' });
    await chip.waitFor();
    // A long press is a context menu on a touch screen (what Chromium fires for it).
    await chip.dispatchEvent('contextmenu');
    const tip = item(bob, 'tap me').getByRole('tooltip');
    await tip.filter({ hasText: '❤️ ann' }).waitFor();
    await bob.locator('#messages').tap({ position: { x: 5, y: 5 } });
    await tip.waitFor({ state: 'detached' });
    assert.deepEqual(errors, []);
  });
});
