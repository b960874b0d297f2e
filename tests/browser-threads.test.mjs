// Threads and mentions on the page (the server half is tests/threads.test.mjs, the SDK's in
// tests/client.test.mjs): in Debian's headless Chromium against the real `wrangler dev`, two browsers.
// A person opens a thread from a message, replies in it with the keyboard; the other sees the root's
// "N replies" change live, marked unread, and the replies in the panel once it is open. A mention typed
// with the `@` list is highlighted on the page of the person it names and counted in their title
// until they read it.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { getJson, uniqueRoom } from './common/harness.mjs';
import { browserSuite, say } from './common/browser.mjs';

const suite = browserSuite();
const person = suite.join;

/** The stored message of the main list showing `text`. */
const item = (page, text) => page.locator('#messages li.msg:not(.pending)').filter({ has: page.locator('.text', { hasText: text }) });
/** A message in the thread panel showing `text`. */
const inPanel = (page, text) => page.locator('#thread-messages li.msg').filter({ has: page.locator('.text', { hasText: text }) });

/** Makes the page look hidden, as a background tab is (nothing is marked read), or visible again. */
const setHidden = (page, hidden) =>
  page.evaluate((hide) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (hide ? 'hidden' : 'visible') });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => hide });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);

describe('threads and mentions on the page', () => {
  test('one opens a thread and replies; the other sees the count change live and the replies in the panel', async () => {
    const room = uniqueRoom('pthread');
    const { page: ann, errors: annErrors } = await person('ann', room);
    const { page: bob, errors: bobErrors } = await person('bob', room);
    await say(ann, 'what shall we eat?');
    await item(bob, 'what shall we eat?').waitFor();

    // bob: "Reply in thread" with the keyboard; the panel opens on the root with the focus in its box.
    await item(bob, 'what shall we eat?').getByRole('button', { name: 'Reply in thread', exact: true }).press('Enter');
    await inPanel(bob, 'what shall we eat?').waitFor();
    assert.equal(await bob.evaluate(() => document.activeElement.id), 'thread-input');
    await bob.keyboard.type('pizza');
    await bob.keyboard.press('Enter');
    await inPanel(bob, 'pizza').waitFor();
    assert.equal(await bob.locator('#thread-input').inputValue(), '', 'the box is empty again');

    // ann: the root's row says it, with bob's badge, marked unread (ann's message has a thread now).
    const row = item(ann, 'what shall we eat?').locator('.thread-row');
    await row.filter({ hasText: '1 reply' }).waitFor();
    assert.match(await row.textContent(), /1 reply · last just now/);
    assert.equal(await row.locator('.avatar').count(), 1, "bob's badge");
    await row.and(ann.locator('.unread')).waitFor();
    assert.equal(await item(ann, 'pizza').count(), 0, 'a reply in a thread is not in the main list');

    // ann opens the thread: bob's reply is there, and the thread is read (the mark goes).
    await row.click();
    await inPanel(ann, 'pizza').waitFor();
    await ann.locator('#messages .thread-row:not(.unread)').waitFor();

    // bob replies again: live in ann's open panel, and the count on the root moves on.
    await bob.keyboard.type('or sushi');
    await bob.keyboard.press('Enter');
    await inPanel(ann, 'or sushi').waitFor();
    await row.filter({ hasText: '2 replies' }).waitFor();

    // ann answers in the thread and shows it in the room too.
    await ann.locator('#thread-also').check();
    await ann.locator('#thread-input').fill('sushi it is');
    await ann.locator('#thread-input').press('Enter');
    await item(bob, 'sushi it is').waitFor();
    await inPanel(bob, 'sushi it is').waitFor();
    assert.equal(await item(bob, 'sushi it is').locator('.in-thread').count(), 1, 'marked as a reply in a thread');

    // Escape closes the panel; T on a focused message opens its thread from the keyboard.
    await ann.locator('#thread-input').press('Escape');
    await ann.locator('#thread-panel').waitFor({ state: 'hidden' });
    await item(ann, 'what shall we eat?').focus();
    await ann.keyboard.press('t');
    await inPanel(ann, 'or sushi').waitFor();
    assert.equal(await ann.evaluate(() => document.activeElement.id), 'thread-input');
    await ann.keyboard.press('Escape');
    await ann.locator('#thread-panel').waitFor({ state: 'hidden' });
    const stored = (await getJson(`${suite.server.base}/api/rooms/${room}/messages`)).body.messages;
    const root = stored.find((m) => m.text === 'what shall we eat?');
    assert.deepEqual(
      stored.filter((m) => m.thread === root.seq).map((m) => m.text),
      ['pizza', 'or sushi', 'sushi it is'],
    );
    assert.equal(root.thread.replies, 3);
    assert.deepEqual([...annErrors, ...bobErrors], []);
  });

  test('a mention written with the @ list is highlighted and counted for the person it names until read', async () => {
    const room = uniqueRoom('pmention');
    const { page: ann, errors } = await person('ann', room);
    const { page: bob } = await person('bob', room);
    await say(ann, 'hello');
    await item(bob, 'hello').waitFor();
    await setHidden(ann, true); // ann's tab is in the background: what comes waits unread

    // bob types "@a": the list offers ann; Enter writes her name, Enter then sends.
    const box = bob.getByLabel('Message', { exact: true });
    await box.click();
    await box.pressSequentially('look @a');
    const option = bob.locator('.mention-list [role="option"]', { hasText: 'ann' });
    await option.waitFor();
    assert.equal(await option.getAttribute('aria-selected'), 'true');
    await box.press('Enter');
    assert.equal(await box.inputValue(), 'look @ann ', 'Enter wrote the name, it did not send');
    await box.pressSequentially('here');
    await box.press('Enter');

    // ann: highlighted, tagged, counted in the title and the badge.
    const mention = item(ann, 'look @ann here');
    await mention.and(ann.locator('.mentions-me')).waitFor();
    assert.equal(await mention.locator('.mention-tag').textContent(), '@you');
    await ann.waitForFunction(() => document.title.startsWith('(@1'));
    assert.equal(await ann.locator('#mention-badge').textContent(), '@1');
    // bob's own message is not a mention of bob.
    assert.equal(await item(bob, 'look @ann here').and(bob.locator('.mentions-me')).count(), 0);

    // Escape closes the list without sending; the box keeps what was typed.
    await box.pressSequentially('@a');
    await option.waitFor();
    await box.press('Escape');
    await option.waitFor({ state: 'detached' });
    assert.equal(await box.inputValue(), '@a');

    // ann comes back to the tab: the message is read, the count goes.
    await setHidden(ann, false);
    await ann.waitForFunction(() => !document.title.includes('@'));
    await ann.locator('#mention-badge').waitFor({ state: 'hidden' });
    assert.deepEqual(errors, []);
  });
});
