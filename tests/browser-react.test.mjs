// The React example (examples/react-chat, built on @edge-chat/react and @edge-chat/client only) in
// Debian's headless Chromium against a real `wrangler dev`: two people talk through it — and with a
// person on the stock page, the same room — typing shows, the search finds a message, and a reload
// draws the room from the offline store before it is online. Its build (esbuild) runs first.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { ROOT, storedMessages, uniqueRoom } from './common/harness.mjs';
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
