// A reload while the server is down (issue 26, defect 10), in Debian's headless Chromium against a
// real `wrangler dev` of its own that this file stops and starts: the service worker's offline shell
// (public/sw.js) shows the page instead of the browser's error page; the page says it is reconnecting,
// keeps what was typed meanwhile, and sends it once the server is back.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually, restartServer, startServer, storedMessages, uniqueRoom } from './common/harness.mjs';
import { joinChat, launchBrowser, say } from './common/browser.mjs';

let server;
let browser;
before(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test('reloaded while the server is down, the page still opens from its offline shell and catches up once it is back', async () => {
  const room = uniqueRoom('offline-shell');
  const { page, context, errors } = await joinChat(browser, server.base, { name: 'ann', room });
  try {
    await say(page, 'before the outage');
    await page.locator('#messages li.msg:not(.pending)', { hasText: 'before the outage' }).waitFor();
    // The worker installs on the first visit and controls the page from the next load.
    await page.evaluate(() => navigator.serviceWorker.ready);
    await page.reload();
    await page.locator('#status', { hasText: /^online$/ }).waitFor();
    assert.equal(await page.evaluate(() => Boolean(navigator.serviceWorker.controller)), true, 'the page is under the worker');

    await server.stop({ keepState: true });
    await page.reload({ timeout: 15_000 });
    await page.locator('#chat-view').waitFor(); // the page, not the browser's error page
    await page.locator('#status', { hasText: /reconnecting|connecting/ }).waitFor();
    await say(page, 'typed during the outage');
    await page.locator('#messages li.pending', { hasText: 'typed during the outage' }).waitFor();

    server = await restartServer(server);
    await page.locator('#status', { hasText: /^online$/ }).waitFor({ timeout: 30_000 });
    await page.locator('#messages li.msg:not(.pending)', { hasText: 'typed during the outage' }).waitFor();
    await eventually(async () => (await storedMessages(server, room)).messages.length === 2, 10_000, 'both stored');
    assert.deepEqual((await storedMessages(server, room)).messages.map((m) => m.text), ['before the outage', 'typed during the outage']);
    // While the server was down the socket's attempts failed: those are the only errors allowed.
    assert.deepEqual(errors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource/.test(e)), []);
  } finally {
    await context.close();
  }
});
