// Search on the page (the server half is tests/search.test.mjs): in Debian's headless Chromium
// against the real `wrangler dev`. The search box in the room header lists the matches with their
// snippets highlighted — as text, never as markup — and a click jumps to the message in its context,
// loading the older pages it sits in. The SDK's search() and snippetParts() are tested without a
// browser in tests/client.test.mjs.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Client, eventually, uniqueRoom } from './common/harness.mjs';
import { browserSuite, shownMessages } from './common/browser.mjs';

// A reader paging through many results asks faster than the default search allowance (5, then 1 a
// second), and the writers that fill a room write faster than a person.
const suite = browserSuite({ vars: { SEARCH_BURST: '50', RATE_BURST: '1000', RATE_PER_SEC: '1000' } });

const person = suite.join;

async function searchFor(page, q) {
  const box = page.getByRole('searchbox', { name: 'Search this room' });
  await box.fill(q);
  await box.press('Enter');
}

describe('search on the page', () => {
  test('matches are listed with highlighted snippets drawn as text; a click jumps to the message, loading its page', async () => {
    const room = uniqueRoom('page-search');
    // An old message far above the welcome's 50, with markup in it, then 120 newer ones.
    const bob = await Client.connect(suite.server.ws(room, { name: 'bob' }));
    await bob.say('filler before');
    const needle = await bob.say('Meet at the café <img src=x onerror=alert(1)> at noon');
    await bob.close();
    const writers = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => Client.connect(suite.server.ws(room, { name: `w${i}` }))));
    await Promise.all(writers.map(async (w, i) => {
      for (let j = 0; j < 20; j++) await w.say(`w${i} says ${j}`);
    }));
    await Promise.all(writers.map((w) => w.close()));

    const { page, errors } = await person('ann', room);
    await eventually(async () => (await shownMessages(page)).length === 50, 5000, 'the welcome\'s 50');
    assert.equal(await page.locator(`#msg-${needle.seq}`).count(), 0, 'the match is not loaded yet');

    await searchFor(page, 'cafe');
    const results = page.locator('#search-results');
    await results.getByRole('heading', { name: '1 message matches “cafe”' }).waitFor();
    const hit = results.locator('.search-hit');
    assert.equal(await hit.count(), 1);
    assert.equal(await hit.locator('.who').textContent(), 'bob');
    assert.equal(await hit.locator('mark').textContent(), 'café');
    assert.equal(await hit.locator('.snippet').textContent(), 'Meet at the café <img src=x onerror=alert(1)> at noon');
    assert.equal(await results.locator('img').count(), 0, 'the snippet is text, not markup');

    await hit.click();
    const target = page.locator(`#msg-${needle.seq}`);
    await target.waitFor();
    await eventually(
      () => target.evaluate((li) => {
        const list = document.getElementById('messages').getBoundingClientRect();
        const r = li.getBoundingClientRect();
        return r.top >= list.top - 1 && r.bottom <= list.bottom + 1 && document.activeElement === li;
      }),
      5000,
      'the message to be scrolled into view and focused',
    );
    // In context: the messages around it are there, without a hole up to the newest.
    const seqs = (await shownMessages(page)).map((m) => m.seq);
    assert.ok(seqs.includes(needle.seq - 1) && seqs.includes(needle.seq + 1), 'its neighbours are shown');
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    assert.equal(seqs.at(-1) - seqs[0] + 1, seqs.length, 'no gap');

    // No match, a refused query, and closing the results.
    await searchFor(page, 'zebra');
    await results.getByRole('heading', { name: 'No messages match “zebra”' }).waitFor();
    await searchFor(page, '(((');
    await results.getByRole('heading', { name: /^Could not search: nothing to search for/ }).waitFor();
    await page.getByRole('button', { name: 'Close', exact: true }).click();
    assert.equal(await results.isHidden(), true);
    assert.deepEqual(errors, []);
  });

  test('"More results" pages past the first 20: through the window the room ranked, then past it to older matches', async () => {
    const room = uniqueRoom('page-search-more');
    // 215 matches: more than the room ranks at once (200). One in three is wordier, so it ranks below
    // shorter ones (bm25): best first is not newest first, and a page cannot go on "before the oldest
    // shown" without skipping some.
    const text = (j) => (j % 3 ? `needle ${j}` : `needle ${j} said with quite a few more words around it`);
    const writers = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => Client.connect(suite.server.ws(room, { name: `w${i}` }))));
    await Promise.all(writers.map(async (w, i) => {
      for (let j = i; j < 215; j += 6) await w.say(text(j));
    }));
    await Promise.all(writers.map((w) => w.close()));
    const { page, errors } = await person('ann', room);
    await searchFor(page, 'needle');
    const results = page.locator('#search-results');
    await results.getByRole('heading', { name: '20+ messages match “needle”' }).waitFor();
    const more = results.getByRole('button', { name: 'More results' });
    for (let shown = 40; shown <= 200; shown += 20) {
      await more.click();
      await results.getByRole('heading', { name: `${shown}+ messages match “needle”` }).waitFor();
      // The focus goes to the first of the new page, so a keyboard reader goes on where they were.
      assert.equal(await page.evaluate(() => [...document.querySelectorAll('.search-hit')].indexOf(document.activeElement)), shown - 20);
    }
    await more.click();
    await results.getByRole('heading', { name: '215 messages match “needle”' }).waitFor();
    assert.equal(await more.count(), 0, 'the end: no more');
    const texts = await results.locator('.search-hit .snippet').allTextContents();
    assert.equal(new Set(texts).size, 215, 'every match once');
    assert.deepEqual(errors, []);
  });

});
