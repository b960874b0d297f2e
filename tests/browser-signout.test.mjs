// The page's sign-out (public/app/signout.js) in Debian's headless Chromium against a real
// `wrangler dev`: it asks before discarding what the rooms have not acknowledged, closes the room's
// and the inbox's sockets (in every tab of the browser), empties the offline store (IndexedDB),
// forgets the identity key, the name and the rest of the page's `edge-chat:` keys, and leaves the page
// at an empty join form — so a reload with the network gone shows nothing of the room visited, where
// before the sign-out the same reload drew it from the store.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { uniqueRoom } from './common/harness.mjs';
import { browserSuite, say, shownMessages } from './common/browser.mjs';

const suite = browserSuite();

/**
 * The page opened at `room`'s link, with `live()`: the WebSockets the current document of each of the
 * context's pages opened and has not closed (a reload's old document is gone with its sockets, which
 * Chromium does not report as closed).
 */
async function openTracked(room) {
  const sockets = [];
  const documents = new Map(); // page → how many times its main frame navigated
  const chat = await suite.open(`${suite.server.base}/#room=${room}`, {
    beforeGoto: (context) =>
      context.on('page', (page) => {
        documents.set(page, 0);
        page.on('framenavigated', (frame) => frame === page.mainFrame() && documents.set(page, documents.get(page) + 1));
        page.on('websocket', (ws) => sockets.push({ ws, page, document: documents.get(page) }));
      }),
  });
  const live = () => sockets.filter((s) => s.document === documents.get(s.page) && !s.ws.isClosed()).map((s) => s.ws);
  return { ...chat, live };
}

/** Joins from the join form as `name` (the room field as it is). */
async function joinAs(page, name) {
  await page.getByLabel('Your name').fill(name);
  await page.getByLabel('Your name').press('Enter');
}

/** How many records each object store of the page's offline store holds. */
const storeCounts = (page) =>
  page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open('edge-chat');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const counts = {};
          const tx = db.transaction(['rooms', 'messages', 'outbox']);
          for (const name of ['rooms', 'messages', 'outbox']) tx.objectStore(name).count().onsuccess = (e) => (counts[name] = e.target.result);
          tx.oncomplete = () => {
            db.close();
            resolve(counts);
          };
          tx.onerror = () => reject(tx.error);
        };
      }),
  );

/** The keys of ours in localStorage and sessionStorage. */
const keptKeys = (page) => page.evaluate(() => [...Object.keys(localStorage), ...Object.keys(sessionStorage)].filter((k) => k.startsWith('edge-chat:')).sort());

const texts = async (page) => (await shownMessages(page)).map((m) => m.text);
const online = (page) => page.locator('#status', { hasText: /^online$/ }).waitFor();

describe('sign-out', () => {
  test('asks before discarding an unsent message, closes every socket of every tab, empties the store and forgets the identity: a reload offline shows nothing of the room', async () => {
    const room = uniqueRoom('signout');
    const { page, context, live, errors } = await openTracked(room);
    await joinAs(page, 'ann');
    await online(page);
    await page.locator(`#sidebar li.entry[data-room="${room}"]`).waitFor(); // the inbox socket is open too
    assert.equal(await page.locator('#identity-name').textContent(), 'ann', 'the header says who is signed in');
    await say(page, 'kept on this device');
    await page.locator('#messages li.msg:not(.pending)', { hasText: 'kept on this device' }).waitFor();

    // Control: under the offline shell, a reload with the network gone draws the room from the store.
    await page.evaluate(() => navigator.serviceWorker.ready);
    await page.reload();
    await online(page);
    await context.setOffline(true);
    await page.reload();
    await page.locator('#messages li.msg', { hasText: 'kept on this device' }).waitFor();
    assert.notEqual(await page.locator('#status').textContent(), 'online');
    await context.setOffline(false);
    await online(page);

    // A second tab of the same browser, and a message the room never gets (over its size limit: it
    // stays in the outbox, marked, while the sockets are open).
    const tab2 = await context.newPage();
    await tab2.goto(`${suite.server.base}/#room=${room}`);
    await online(tab2);
    await say(page, 'x'.repeat(4100));
    await page.locator('#messages li.pending.failed').waitFor();
    const before = await storeCounts(page);
    assert.ok(before.messages >= 1 && before.outbox === 1 && before.rooms >= 1, `the store holds the room and the unsent message: ${JSON.stringify(before)}`);
    const oldKey = await page.evaluate(() => localStorage.getItem('edge-chat:key'));
    assert.ok(oldKey);

    // Asked first; staying changes nothing.
    await page.getByRole('button', { name: 'Sign out' }).click();
    const dialog = page.getByRole('dialog', { name: 'Sign out and discard what was not sent?' });
    await dialog.waitFor();
    assert.match(await dialog.textContent(), /1 thing you wrote has not reached the server yet/);
    assert.match(await dialog.locator('li').first().textContent(), new RegExp(`^“x+…” in ${room}$`));
    await dialog.getByRole('button', { name: 'Stay signed in' }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(await page.locator('#chat-view').isVisible(), true);
    assert.equal(await page.locator('#messages li.pending.failed').count(), 1);
    assert.equal((await storeCounts(page)).outbox, 1, 'the unsent message is still kept');
    const open = live();
    const paths = open.map((ws) => new URL(ws.url()).pathname).sort();
    assert.deepEqual(paths, ['/ws/me', '/ws/me', `/ws/${room}`, `/ws/${room}`], 'each tab: the room and the inbox');

    // Discarded and signed out: this tab and the other one.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await dialog.getByRole('button', { name: 'Discard and sign out' }).click();
    for (const tab of [page, tab2]) {
      await tab.locator('#join-view').waitFor();
      await tab.locator('#announcer', { hasText: 'Signed out.' }).waitFor();
      assert.equal(await tab.locator('#identity').isVisible(), false);
      assert.equal(await tab.getByLabel('Your name').inputValue(), '');
      assert.equal(await tab.locator('#messages li').count(), 0, 'nothing of the conversation left in the page');
      assert.equal(new URL(tab.url()).hash, '', 'the room is gone from the address');
    }
    assert.equal(await tab2.locator('#signout').isVisible(), false, 'the other tab followed without asking');
    await Promise.all(open.map((ws) => (ws.isClosed() ? null : ws.waitForEvent('close'))));
    assert.equal(live().length, 0, 'no socket open, none opened since');
    assert.deepEqual(await storeCounts(page), { rooms: 0, messages: 0, outbox: 0 }, 'the offline store is empty');
    assert.deepEqual(await keptKeys(page), [], 'the identity key, the name and the rest are forgotten');
    // While the network was gone the socket's attempts failed: those are the only errors allowed.
    assert.deepEqual(errors.filter((e) => !/WebSocket|ERR_INTERNET_DISCONNECTED|Failed to load resource/.test(e)), []);

    // Reloaded with the network gone and joined again under the same name: nothing from the store.
    await context.setOffline(true);
    await page.reload();
    await page.locator('#join-view').waitFor();
    assert.equal(await page.getByLabel('Your name').inputValue(), '', 'no name remembered');
    await page.locator('#room').fill(room);
    await joinAs(page, 'ann');
    await page.locator('#status[data-state="waiting"]').waitFor(); // the store was read and drawn: the socket failed after
    assert.deepEqual(await texts(page), [], 'no cached message of the visited room');
    assert.equal(await page.locator('#messages li.pending').count(), 0, 'nor its discarded outbox');
    const newKey = await page.evaluate(() => localStorage.getItem('edge-chat:key'));
    assert.ok(newKey && newKey !== oldKey, 'a new identity: the rooms will not know this person as the one before');
    await context.setOffline(false);
  });

  test('with nothing unsent, Sign out asks nothing', async () => {
    const room = uniqueRoom('signout-quick');
    const { page } = await suite.join('bob', room);
    await say(page, 'all sent');
    await page.locator('#messages li.msg:not(.pending)', { hasText: 'all sent' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#join-view').waitFor();
    await page.locator('#announcer', { hasText: 'Signed out.' }).waitFor();
    assert.equal(await page.locator('#signout').isVisible(), false);
    assert.deepEqual(await storeCounts(page), { rooms: 0, messages: 0, outbox: 0 });
  });
});
