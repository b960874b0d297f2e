// The React example (examples/react-chat, built on @edge-chat/react and @edge-chat/client only) in
// Debian's headless Chromium against a real `wrangler dev`: two people talk through it — and with a
// person on the stock page, the same room — typing shows, the search finds a message, and a reload
// draws the room from the offline store before it is online. Its inbox (useInbox) lists the person's
// rooms with unread and mention badges and opens one on a click; its thread view (useThread) opens a
// message's thread, where the two reply to each other live while the room's list leaves the replies
// out. Its build (esbuild) runs first.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { ROOT, eventually, storedMessages, uniqueRoom } from './common/harness.mjs';
import { browserSuite, say } from './common/browser.mjs';

execFileSync(process.execPath, ['packages/client/build.mjs'], { cwd: ROOT });
execFileSync(process.execPath, ['examples/react-chat/build.mjs', 'public/example'], { cwd: ROOT });

const suite = browserSuite();

/** The example, joined as `name` in `room` (through its URL), once online. */
async function example(name, room, options) {
  const chat = await suite.open(`${suite.server.base}/example/?${new URLSearchParams({ name, room })}`, options);
  await chat.page.getByRole('status').filter({ hasText: /^online/ }).waitFor();
  return chat;
}

const texts = (page) => page.locator('.messages li.msg:not(.pending) .text').allTextContents();

test('the example: two people talk, with the stock page too; typing, search, and a reload drawn from the store', async () => {
  const room = uniqueRoom('react');
  const { page: ann, errors } = await example('ann', room);
  const { page: bob } = await example('bob', room);
  const stock = await suite.join('cat', room);

  await ann.getByLabel('Message', { exact: true }).fill('hello from React');
  await ann.getByLabel('Message', { exact: true }).press('Enter');
  await bob.locator('.messages li.msg', { hasText: 'hello from React' }).waitFor();
  await stock.page.locator('#messages li.msg:not(.pending)', { hasText: 'hello from React' }).waitFor();
  await say(stock.page, 'and from the page');
  await ann.locator('.messages li.msg', { hasText: 'and from the page' }).waitFor();

  await bob.getByLabel('Message', { exact: true }).pressSequentially('tap');
  await ann.locator('.typing', { hasText: 'bob typing…' }).waitFor();

  await ann.getByLabel('Search this room').fill('React');
  await ann.locator('.results .hit', { hasText: 'hello from React' }).waitFor();
  assert.equal(await ann.locator('.results mark').first().textContent(), 'React');

  // Reloaded, the room is drawn from IndexedDB before the welcome.
  await ann.evaluate(() => {
    window.__firstDrawn = null;
    window.__statusThen = null;
  });
  await ann.addInitScript(() => {
    new MutationObserver((_, observer) => {
      const li = document.querySelector('.messages li.msg');
      if (!li) return;
      window.__statusThen = document.querySelector('[role=status]')?.textContent;
      observer.disconnect();
    }).observe(document, { childList: true, subtree: true });
  });
  await ann.reload();
  await ann.getByRole('status').filter({ hasText: /^online/ }).waitFor();
  assert.match(await ann.evaluate(() => window.__statusThen), /^connecting/, 'the first message was drawn before the room answered');
  assert.deepEqual(await texts(ann), ['hello from React', 'and from the page']);
  assert.deepEqual((await storedMessages(suite.server, room)).messages.map((m) => m.text), ['hello from React', 'and from the page']);
  assert.deepEqual(errors, []);
});

/** The inbox's entry for `room` on `page`. */
const entry = (page, room) => page.locator(`.inbox li.entry[data-room="${room}"]`);
/** An entry's unread and mention badges as shown ('' when none). */
const badges = async (page, room) => ({
  unread: (await entry(page, room).locator('.badge.unread [aria-hidden]').allTextContents()).join(''),
  mentions: (await entry(page, room).locator('.badge.mention [aria-hidden]').allTextContents()).join(''),
});

test('the example\'s inbox: rooms with unread and mention badges, a click opens one; its threads: opened from a message, replies both ways', async () => {
  const [here, there] = [uniqueRoom('react-a'), uniqueRoom('react-b')];
  const { page: ann, errors } = await example('ann', there);
  // ann goes to another room by name: both are hers now, the one on screen marked.
  await ann.getByLabel('Open a room').fill(here);
  await ann.getByLabel('Open a room').press('Enter');
  await ann.getByRole('heading', { name: here }).waitFor();
  await ann.getByRole('status').filter({ hasText: /^online/ }).waitFor();
  await entry(ann, there).waitFor();
  await entry(ann, here).waitFor();
  assert.equal(await entry(ann, here).getByRole('button').getAttribute('aria-current'), 'page');
  assert.equal(new URL(ann.url()).searchParams.get('room'), here, 'the address follows');

  // bob writes in the other room, mentioning her: the badges say so while she is elsewhere.
  const { page: bob } = await example('bob', there);
  await bob.getByLabel('Message', { exact: true }).fill('hello @ann, a question');
  await bob.getByLabel('Message', { exact: true }).press('Enter');
  await eventually(async () => JSON.stringify(await badges(ann, there)) === JSON.stringify({ unread: '1', mentions: '@1' }), 10_000, 'an unread badge and a mention badge');
  assert.equal(await entry(ann, there).locator('.preview').textContent(), 'bob: hello @ann, a question');
  assert.equal(await entry(ann, there).getByRole('button', { name: /\W1 mentioning you\W+1 unread\W/ }).count(), 1, 'the badges in words');
  assert.deepEqual(await badges(ann, here), { unread: '', mentions: '' });

  // A click opens the room; reading it clears both badges.
  await entry(ann, there).getByRole('button').click();
  await ann.getByRole('heading', { name: there }).waitFor();
  await ann.locator('.messages li.msg', { hasText: 'hello @ann, a question' }).waitFor();
  await eventually(async () => JSON.stringify(await badges(ann, there)) === JSON.stringify({ unread: '', mentions: '' }), 10_000, 'the badges to clear once read');

  // ann opens the message's thread and replies in it; the reply stays out of the room's list.
  const question = ann.locator('.messages li.msg', { hasText: 'hello @ann, a question' });
  await question.getByRole('button', { name: 'Reply in thread' }).click();
  const annThread = ann.getByRole('complementary', { name: 'Thread' });
  assert.equal(await annThread.locator('.root .text').textContent(), 'hello @ann, a question');
  await annThread.getByLabel('Reply in thread').fill('an answer, in the thread');
  await annThread.getByLabel('Reply in thread').press('Enter');
  await annThread.locator('.replies li.msg:not(.pending)', { hasText: 'an answer, in the thread' }).waitFor();

  // bob sees the count on the root, opens the thread, finds her reply, and answers there.
  const bobQuestion = bob.locator('.messages li.msg', { hasText: 'hello @ann, a question' });
  await bobQuestion.getByRole('button', { name: '1 reply' }).click();
  const bobThread = bob.getByRole('complementary', { name: 'Thread' });
  await bobThread.locator('.replies li.msg', { hasText: 'an answer, in the thread' }).waitFor();
  await bobThread.getByLabel('Reply in thread').fill('thanks, ann');
  await bobThread.getByLabel('Reply in thread').press('Enter');

  // Live on her side, the root counting both; neither reply in either room's list.
  await annThread.locator('.replies li.msg', { hasText: 'thanks, ann' }).waitFor();
  await question.getByRole('button', { name: '2 replies' }).waitFor();
  assert.deepEqual(await annThread.locator('.replies li.msg:not(.pending) .text').allTextContents(), ['an answer, in the thread', 'thanks, ann']);
  assert.deepEqual(await texts(ann), ['hello @ann, a question']);
  assert.deepEqual(await texts(bob), ['hello @ann, a question']);
  const stored = (await storedMessages(suite.server, there)).messages;
  const root = stored.find((m) => m.text === 'hello @ann, a question');
  assert.deepEqual(stored.filter((m) => m.thread === root.seq).map((m) => m.text), ['an answer, in the thread', 'thanks, ann'], 'stored as replies in that thread');

  // Closed, the thread goes; the room stays.
  await annThread.getByRole('button', { name: 'Close thread' }).click();
  await annThread.waitFor({ state: 'detached' });
  assert.deepEqual(errors, []);
});
