// The page's offline store (IndexedDB, through the SDK's default store) in Debian's headless Chromium
// against a real `wrangler dev` of its own: a message typed offline (`context.setOffline`) shows as
// pending, survives a reload, and is delivered once — shown once on the other person's page — when
// the network is back; a message whose ack was lost survives a crash of the tab and is stored once;
// and with the server stopped, a room visited before still opens with its history. The same promises
// without a browser are tests/offline.test.mjs.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually, startServer, storedMessages, uniqueRoom } from './common/harness.mjs';
import { joinChat, launchBrowser, say, shownMessages } from './common/browser.mjs';

let server;
let browser;
const contexts = [];
before(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
});
after(async () => {
  await Promise.all(contexts.map((c) => c.close().catch(() => {})));
  await browser?.close();
  await server?.stop();
});

async function person(name, room, options) {
  const chat = await joinChat(browser, server.base, { name, room, ...options });
  contexts.push(chat.context);
  return chat;
}

const texts = async (page) => (await shownMessages(page)).map((m) => m.text);

/** The offline shell (public/sw.js) installs on the first visit and keeps the page's modules from the next load. */
async function underServiceWorker(page) {
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.reload();
  await page.locator('#status', { hasText: /^online$/ }).waitFor();
}

test('IndexedDBStore keeps the store\'s rules in a real browser: all of a save or none, newer revs only, trim keeps the newest, clear leaves nothing', async () => {
  const context = await browser.newContext();
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(`${server.base}/favicon.svg`);
  const got = await page.evaluate(async () => {
    const { IndexedDBStore } = await import('/sdk/edge-chat-client.js');
    const store = new IndexedDBStore({ name: 'rules' });
    const m = (seq, rev, text = `m${seq}`) => ({ seq, rev, text });
    await store.save('r', { meta: { lastSeq: 5, rev: 9, count: 5 }, messages: { put: [1, 2, 3, 4, 5].map((s) => m(s, s)) }, outbox: { put: [{ kind: 'message', key: 'k1', id: 'k1', text: 'unsent', createdAt: 1 }] } });
    await store.save('r', { messages: { put: [m(2, 1, 'older state'), m(3, 7, 'newer state')], remove: [1] } });
    const afterRev = await store.load('r');
    // A save that fails (a message that cannot be stored: a key path missing) writes none of itself.
    let failed = false;
    try {
      await store.save('r', { meta: { lastSeq: 99 }, messages: { put: [m(6, 6), { rev: 1 }] } });
    } catch {
      failed = true;
    }
    const afterFail = await store.load('r');
    await store.trim('r', 2);
    const trimmed = await store.load('r');
    const rooms = await store.rooms();
    await store.clear();
    return { afterRev, failed, afterFail, trimmed, rooms, cleared: await store.load('r') };
  });
  assert.deepEqual(got.afterRev.messages.map((x) => x.text), ['m2', 'newer state', 'm4', 'm5'], 'an older rev does not replace a newer; 1 removed');
  assert.equal(got.failed, true);
  assert.deepEqual([got.afterFail.meta.lastSeq, got.afterFail.messages.length], [5, 4], 'the failed save changed nothing, not even its meta');
  assert.deepEqual(got.trimmed.messages.map((x) => x.seq), [4, 5]);
  assert.deepEqual(got.trimmed.outbox.map((e) => e.text), ['unsent'], 'trim never takes an outbox entry');
  assert.deepEqual(got.rooms, [{ room: 'r', count: 2, openedAt: 0 }]);
  assert.equal(got.cleared, null);
});

test('offline: a message typed offline is pending, survives a reload, and is delivered once when the network is back', async () => {
  const room = uniqueRoom('offline-send');
  const { page: ann, context } = await person('ann', room);
  const { page: bob } = await person('bob', room);
  await say(ann, 'before');
  await bob.locator('#messages li.msg:not(.pending)', { hasText: 'before' }).waitFor();
  await underServiceWorker(ann);

  await context.setOffline(true);
  await ann.locator('#status', { hasText: /waiting|reconnecting|connecting/ }).waitFor();
  await say(ann, 'typed offline');
  await ann.locator('#messages li.pending', { hasText: 'typed offline' }).waitFor();
  await ann.reload();
  await ann.locator('#messages li.pending', { hasText: 'typed offline' }).waitFor();
  assert.deepEqual(await texts(ann), ['before'], 'the room came from the store, without a connection');
  assert.notEqual(await ann.locator('#status').textContent(), 'online');

  await context.setOffline(false);
  await ann.locator('#status', { hasText: /^online$/ }).waitFor({ timeout: 30_000 });
  await bob.locator('#messages li.msg:not(.pending)', { hasText: 'typed offline' }).waitFor();
  await ann.locator('#messages li.msg:not(.pending)', { hasText: 'typed offline' }).waitFor();
  await eventually(async () => (await storedMessages(server, room)).messages.length === 2, 10_000, 'stored');
  assert.deepEqual((await storedMessages(server, room)).messages.map((m) => m.text), ['before', 'typed offline'], 'stored once');
  assert.deepEqual(await texts(bob), ['before', 'typed offline'], 'shown once on the other page');
  assert.deepEqual(await texts(ann), ['before', 'typed offline']);
  assert.equal(await ann.locator('#messages li.pending').count(), 0);
});

test('a crash of the tab after the room stored a message but before its ack arrived: the next tab settles it by its id, stored once and shown once', async () => {
  const room = uniqueRoom('crash');
  let dropAcks = true;
  const { page: ann, context } = await person('ann', room, {
    async beforeGoto(ctx) {
      // The page's socket through a relay that loses every ack of the first tab (as a dying tab would).
      await ctx.routeWebSocket(/\/ws\//, (ws) => {
        const relay = ws.connectToServer();
        ws.onMessage((m) => relay.send(m));
        relay.onMessage((m) => {
          if (!dropAcks) return ws.send(m);
          const f = JSON.parse(m);
          if (f.type === 'ack') return;
          if (f.type === 'batch') f.frames = f.frames.filter((x) => x.type !== 'ack');
          if (f.type !== 'batch' || f.frames.length) ws.send(JSON.stringify(f));
        });
      });
    },
  });
  const { page: bob } = await person('bob', room);
  await say(ann, 'sent just before the crash');
  await ann.locator('#messages li.pending', { hasText: 'sent just before the crash' }).waitFor();
  await eventually(async () => (await storedMessages(server, room)).messages.length === 1, 10_000, 'stored by the room');
  await bob.locator('#messages li.msg:not(.pending)', { hasText: 'sent just before the crash' }).waitFor();

  const cdp = await context.newCDPSession(ann);
  const crashed = new Promise((resolve) => ann.once('crash', resolve));
  cdp.send('Page.crash').catch(() => {});
  await crashed;
  dropAcks = false;

  const tab = await context.newPage();
  await tab.goto(`${server.base}/#room=${room}`);
  await tab.locator('#status', { hasText: /^online$/ }).waitFor();
  await tab.locator('#messages li.msg:not(.pending)', { hasText: 'sent just before the crash' }).waitFor();
  assert.equal(await tab.locator('#messages li.pending').count(), 0, 'settled by the resend\'s ack (or the resume)');
  assert.deepEqual((await storedMessages(server, room)).messages.map((m) => m.text), ['sent just before the crash'], 'stored once');
  assert.deepEqual(await texts(bob), ['sent just before the crash'], 'shown once on the other page');
  assert.deepEqual(await texts(tab), ['sent just before the crash']);
});

// Last: it stops the server.
test('with the server stopped, a room visited before opens with its history', async () => {
  const room = uniqueRoom('visited');
  const { page: ann } = await person('ann', room);
  for (const text of ['one', 'two', 'three']) await say(ann, text);
  await ann.locator('#messages li.msg:not(.pending)', { hasText: 'three' }).waitFor();
  await underServiceWorker(ann);

  await server.stop({ keepState: true });
  await ann.reload();
  await ann.locator('#messages li.msg', { hasText: 'three' }).waitFor();
  assert.deepEqual(await texts(ann), ['one', 'two', 'three']);
  assert.match(await ann.locator('#status').textContent(), /connecting|reconnecting|waiting/);
});
