// Living messages on the page (the server half is tests/living.test.mjs): in Debian's headless
// Chromium against the real `wrangler dev`, two browsers talking. Each test is a promise the page
// makes about a message that lives — replied to, edited (its earlier versions on demand), deleted
// (a placeholder stays), reacted to, read — plus the identity behind "own", a resume that brings what
// changed while away, scrolling back, safe links, day separators, and v1 clients left unchanged.
// The SDK's rules for each frame are tested without a browser in tests/client.test.mjs.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CLOSE_INTERNAL } from './common/close-codes.mjs';
import { Client, eventually, getJson, sleep, uniqueRoom } from './common/harness.mjs';
import { browserSuite, say, shownMessages, ROOM_SOCKETS } from './common/browser.mjs';

const suite = browserSuite();

const person = suite.join;

/** The stored message showing `text` (a string is a substring, a RegExp must match). */
const item = (page, text) => page.locator('#messages li.msg:not(.pending)').filter({ has: page.locator('.text', { hasText: text }) });
const stored = async (room) => (await getJson(`${suite.server.base}/api/rooms/${room}/messages?limit=1000`)).body.messages;
const storedOne = async (room, text) => (await stored(room)).find((m) => m.text === text);
/** Presses a message's action (Reply, React, Edit, Delete…) with the keyboard. */
const act = (page, text, label) => item(page, text).getByRole('button', { name: label, exact: true }).press('Enter');
const key = (page) => page.evaluate(() => localStorage.getItem('edge-chat:key'));
const inView = (page, locator) =>
  locator.evaluate((li) => {
    const list = document.getElementById('messages').getBoundingClientRect();
    const r = li.getBoundingClientRect();
    return r.top >= list.top - 1 && r.bottom <= list.bottom + 1;
  });

describe('living messages on the page', () => {
  test('identity: a key made once per browser, kept in localStorage and sent on every connect; "own" follows it', async () => {
    const room = uniqueRoom('identity');
    const sockets = [];
    const { page: ann, errors } = await person('ann', room, {
      async beforeGoto(context) {
        context.on('page', (p) => p.on('websocket', (ws) => sockets.push(ws.url())));
      },
    });
    const k = await key(ann);
    assert.match(k, /^[A-Za-z0-9_-]{24,}$/);
    await say(ann, 'who am I');
    await item(ann, 'who am I').waitFor();
    await ann.reload();
    await ann.locator('#status', { hasText: /^online$/ }).waitFor();
    assert.equal(await key(ann), k, 'the same key after a reload');
    assert.ok(sockets.length >= 2);
    // The key rides in the handshake (Sec-WebSocket-Protocol), never in a URL a browser prints in its
    // connection errors; the uid below shows the room still knows this browser by it.
    for (const url of sockets) assert.equal(url.includes(k) || new URL(url).searchParams.has('key'), false, url);
    // The room knows this browser by the uid the key gives, which is not the key.
    const [m] = await stored(room);
    const probe = await Client.connect(suite.server.ws(room, { name: 'someone else', key: k }));
    assert.equal(m.from.uid, probe.welcome.you.uid);
    await probe.close();
    assert.ok(!JSON.stringify(await stored(room)).includes(k), 'the key never comes back');
    const shown = await shownMessages(ann);
    assert.deepEqual(shown.map((s) => [s.text, s.own]), [['who am I', true]], 'own after the reload');
    assert.equal(await item(ann, 'who am I').getByRole('button', { name: 'Edit', exact: true }).count(), 1);
    // Another browser with the same name is somebody else: not "own", nothing to edit.
    const { page: other } = await person('ann', room);
    assert.notEqual(await key(other), k);
    assert.deepEqual((await shownMessages(other)).map((s) => s.own), [false]);
    assert.equal(await item(other, 'who am I').getByRole('button', { name: 'Edit', exact: true }).count(), 0);
    assert.deepEqual(errors, []);
  });

  test('reply: the answer quotes the original on both pages, and a click on the quote goes to it', async () => {
    const room = uniqueRoom('reply');
    const { page: ann } = await person('ann', room, { viewport: { width: 900, height: 500 } });
    const { page: bob, errors } = await person('bob', room);
    await say(ann, 'where shall we meet?');
    await item(bob, 'where shall we meet?').waitFor();
    await act(bob, 'where shall we meet?', 'Reply');
    await bob.locator('#composing', { hasText: 'Replying to ann: where shall we meet?' }).waitFor();
    assert.equal(await bob.evaluate(() => document.activeElement.id), 'message-input', 'the focus goes to the box');
    await say(bob, 'at the station');
    await item(ann, 'at the station').waitFor();
    assert.equal(await bob.locator('#composing').isHidden(), true, 'the reply bar closes once sent');

    const original = await storedOne(room, 'where shall we meet?');
    assert.equal((await storedOne(room, 'at the station')).reply_to, original.seq);
    for (const page of [ann, bob]) {
      const q = item(page, 'at the station').locator('.quote');
      assert.equal(await q.locator('.quote-who').textContent(), 'ann');
      assert.equal(await q.locator('.quote-text').textContent(), 'where shall we meet?');
    }
    // Push the original out of sight, then follow the quote back to it.
    const chatter = await Client.connect(suite.server.ws(room, { name: 'chatter' }));
    for (let i = 0; i < 15; i++) await chatter.say(`filler ${i}`);
    await chatter.close();
    await item(ann, 'filler 14').waitFor();
    const target = item(ann, 'where shall we meet?');
    await eventually(async () => !(await inView(ann, target)), 5000, 'the original to scroll out of view');
    await item(ann, 'at the station').locator('.quote').click();
    await eventually(() => inView(ann, target), 5000, 'the original to be scrolled into view');
    assert.equal(await ann.evaluate(() => document.activeElement.id), `msg-${original.seq}`, 'and focused');
    // A reply to a deleted message says so.
    await act(ann, 'where shall we meet?', 'Delete');
    await item(ann, 'where shall we meet?').getByRole('button', { name: 'Yes, delete' }).click();
    await bob.locator('#messages .quote-text', { hasText: 'message deleted' }).waitFor();
    assert.deepEqual(errors, []);
  });

  test('edit: Up arrow edits the last own message; everyone sees the new text, "edited", and the earlier versions on demand', async () => {
    const room = uniqueRoom('edit');
    const { page: ann } = await person('ann', room);
    const { page: bob, errors } = await person('bob', room);
    await say(ann, 'first thing');
    await say(ann, 'teh plan is set');
    await item(bob, 'teh plan is set').waitFor();
    const box = ann.getByLabel('Message', { exact: true });
    await box.press('ArrowUp');
    assert.equal(await box.inputValue(), 'teh plan is set', 'the last own message, not the first');
    await ann.locator('#composing', { hasText: 'Editing your message' }).waitFor();
    assert.equal(await ann.locator('#send').textContent(), 'Save');
    await box.fill('the plan is set');
    await box.press('Enter');
    await item(bob, 'the plan is set').waitFor();
    assert.equal(await item(bob, 'teh plan').count(), 0, 'replaced, not added');
    assert.equal(await ann.locator('#send').textContent(), 'Send');
    assert.deepEqual((await shownMessages(bob)).map((m) => m.text), ['first thing', 'the plan is set']);
    const m = await storedOne(room, 'the plan is set');
    assert.equal(m.version, 2);

    // Escape leaves an edit without changing anything.
    await box.press('ArrowUp');
    await box.fill('never mind');
    await box.press('Escape');
    assert.equal(await box.inputValue(), '');
    assert.equal(await ann.locator('#composing').isHidden(), true);

    const edited = item(bob, 'the plan is set').getByRole('button', { name: 'edited' });
    assert.equal(await edited.getAttribute('aria-expanded'), 'false');
    await edited.press('Enter');
    const versions = item(bob, 'the plan is set').locator('.versions');
    await versions.locator('.version-text', { hasText: 'teh plan is set' }).waitFor();
    assert.equal(await edited.getAttribute('aria-expanded'), 'true');
    assert.deepEqual(await versions.locator('.version-text').allTextContents(), ['teh plan is set'], 'only the earlier version');
    await edited.press('Enter');
    await versions.waitFor({ state: 'detached' });
    assert.equal(await item(bob, 'first thing').getByRole('button', { name: 'edited' }).count(), 0, 'unedited: no marker');
    // bob cannot edit ann's messages: nothing offered.
    assert.equal(await item(bob, 'the plan is set').getByRole('button', { name: 'Edit', exact: true }).count(), 0);
    assert.deepEqual(errors, []);
  });

  test('delete: asks first; Cancel keeps it, "Yes, delete" erases it for everyone and leaves "message deleted"', async () => {
    const room = uniqueRoom('delete');
    const { page: ann, errors } = await person('ann', room);
    const { page: bob } = await person('bob', room);
    await say(ann, 'my secret is 1234');
    await item(bob, 'my secret is 1234').waitFor();
    assert.equal(await item(bob, 'my secret is 1234').getByRole('button', { name: 'Delete', exact: true }).count(), 0, 'not bob\'s to delete');

    await act(ann, 'my secret is 1234', 'Delete');
    const confirm = item(ann, 'my secret is 1234').getByRole('group', { name: 'Confirm deletion' });
    await confirm.waitFor();
    assert.equal(await ann.evaluate(() => document.activeElement.textContent), 'Cancel', 'the safe choice has the focus');
    await ann.keyboard.press('Escape');
    await confirm.waitFor({ state: 'detached' });
    assert.equal(await ann.evaluate(() => document.activeElement.textContent), 'Delete', 'back on the Delete button');
    assert.equal((await storedOne(room, 'my secret is 1234'))?.deleted, false, 'nothing deleted');

    await ann.keyboard.press('Enter'); // Delete again, then confirm
    await item(ann, 'my secret is 1234').getByRole('button', { name: 'Yes, delete' }).press('Enter');
    for (const page of [ann, bob]) {
      await page.locator('#messages li.msg.deleted .text', { hasText: 'message deleted' }).waitFor();
      assert.equal(await page.locator('#messages', { hasText: '1234' }).count(), 0, 'the words are gone from the page');
    }
    const [gone] = await stored(room);
    assert.deepEqual([gone.deleted, gone.text], [true, '']);
    assert.equal(await ann.locator('#messages li.msg.deleted').getByRole('button').count(), 0, 'nothing more to do with it');
    assert.deepEqual(errors, []);
  });

  test('react: a small picker; a click on a reaction adds or takes back one\'s own; own ones are marked, also after a reload', async () => {
    const room = uniqueRoom('react');
    const { page: ann } = await person('ann', room);
    const { page: bob, errors } = await person('bob', room);
    await say(ann, 'lunch at noon?');
    await item(bob, 'lunch at noon?').waitFor();

    await act(bob, 'lunch at noon?', 'React');
    const picker = item(bob, 'lunch at noon?').getByRole('group', { name: 'Pick a reaction' });
    assert.equal(await picker.getByRole('button').count(), 6);
    assert.equal(await bob.evaluate(() => document.activeElement.getAttribute('aria-label')), 'React with thumbs up', 'the focus moves into the picker');
    // Every control in the conversation has an accessible name (the picker's emoji say what they are).
    const unnamed = await bob.evaluate(() =>
      [...document.querySelectorAll('#chat-view button, #chat-view textarea')]
        .filter((c) => !(c.labels?.length || c.getAttribute('aria-label') || c.textContent.trim()))
        .map((c) => c.outerHTML),
    );
    assert.deepEqual(unnamed, []);
    await picker.getByRole('button', { name: 'React with thumbs up' }).press('Enter');
    await picker.waitFor({ state: 'detached' });
    assert.equal(await bob.evaluate(() => document.activeElement.textContent), 'React', 'the focus returns to React');
    const chip = (page) => item(page, 'lunch at noon?').locator('.reaction[data-emoji="👍"]');
    await chip(ann).filter({ hasText: '👍 1' }).waitFor();
    await eventually(async () => (await chip(bob).getAttribute('aria-pressed')) === 'true', 5000, "bob's own reaction to be marked");
    assert.equal(await chip(ann).getAttribute('aria-pressed'), 'false');

    await chip(ann).click();
    await chip(bob).filter({ hasText: '👍 2' }).waitFor();
    await eventually(async () => (await chip(ann).getAttribute('aria-pressed')) === 'true', 5000, "ann's to be marked");
    await chip(ann).click(); // and back
    await chip(bob).filter({ hasText: '👍 1' }).waitFor();
    await eventually(async () => (await chip(ann).getAttribute('aria-pressed')) === 'false', 5000, "ann's to be taken back");
    assert.deepEqual((await storedOne(room, 'lunch at noon?')).reactions, { '👍': 1 });

    await bob.reload();
    await chip(bob).filter({ hasText: '👍 1' }).waitFor();
    assert.equal(await chip(bob).getAttribute('aria-pressed'), 'true', 'still marked as bob\'s after a reload');
    assert.deepEqual(errors, []);
  });

  test('a page away while messages are edited, deleted and reacted to shows it all when it reconnects, without a reload', async () => {
    const room = uniqueRoom('away');
    let blocked = false;
    let current = null;
    const urls = [];
    const { page: bob } = await person('bob', room, {
      async beforeGoto(context) {
        await context.routeWebSocket(ROOM_SOCKETS, (ws) => {
          urls.push(ws.url());
          if (blocked) return ws.close({ code: CLOSE_INTERNAL, reason: 'test gate' });
          current = { ws, upstream: ws.connectToServer() };
        });
      },
    });
    const { page: ann } = await person('ann', room);
    for (const t of ['one', 'two', 'three']) await say(ann, t);
    await item(bob, 'three').waitFor();
    await bob.evaluate(() => (window.sameDocument = true));
    const before = (await stored(room)).at(-1);

    blocked = true;
    current.ws.close({ code: 4000, reason: 'network failure' });
    current.upstream.close();
    await bob.locator('#status', { hasText: /^reconnecting/ }).waitFor();
    await item(ann, 'one').getByRole('button', { name: 'Edit', exact: true }).press('Enter');
    await ann.getByLabel('Message', { exact: true }).fill('one, edited');
    await ann.getByLabel('Message', { exact: true }).press('Enter');
    await item(ann, 'one, edited').waitFor();
    await act(ann, 'two', 'Delete');
    await item(ann, 'two').getByRole('button', { name: 'Yes, delete' }).press('Enter');
    await ann.locator('#messages li.msg.deleted').waitFor();
    await act(ann, 'three', 'React');
    await item(ann, 'three').getByRole('button', { name: 'React with party' }).press('Enter');
    await item(ann, 'three').locator('.reaction', { hasText: '🎉 1' }).waitFor();
    await say(ann, 'four');
    await item(ann, 'four').waitFor();

    blocked = false;
    await bob.locator('#status', { hasText: /^online$/ }).waitFor({ timeout: 20_000 });
    const resumed = new URL(urls.at(-1)).searchParams;
    assert.equal(resumed.get('after'), String(before.seq));
    assert.equal(resumed.get('since'), String(before.rev), 'since= the last rev bob saw');
    await item(bob, 'four').waitFor();
    await item(bob, 'one, edited').getByRole('button', { name: 'edited' }).waitFor();
    await bob.locator('#messages li.msg.deleted .text', { hasText: 'message deleted' }).waitFor();
    await item(bob, 'three').locator('.reaction', { hasText: '🎉 1' }).waitFor();
    assert.deepEqual((await shownMessages(bob)).map((m) => m.text), ['one, edited', 'message deleted', 'three', 'four']);
    assert.equal(await bob.evaluate(() => window.sameDocument), true, 'no reload');
  });

  test('scrolled to the top, older messages load page by page without moving what is on screen', async () => {
    const room = uniqueRoom('scroll');
    // 120 messages, fast: six v1 clients, each within its own rate-limit bucket (burst 20).
    const writers = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => Client.connect(suite.server.ws(room, { name: `w${i}` }))));
    await Promise.all(writers.map(async (w, i) => {
      for (let j = 0; j < 20; j++) await w.say(`w${i} says ${j}`);
    }));
    await Promise.all(writers.map((w) => w.close()));
    const log = await stored(room);
    assert.equal(log.length, 120);

    const { page: ann, errors } = await person('ann', room);
    const seqs = async () => (await shownMessages(ann)).map((m) => m.seq);
    await eventually(async () => (await seqs()).length === 50, 5000, 'the welcome\'s 50');
    assert.deepEqual(await seqs(), log.slice(70).map((m) => m.seq));
    assert.equal(await ann.locator('#messages li.older').isHidden(), false, 'there is more to load');

    const firstShown = ann.locator(`#msg-${log[70].seq}`);
    await ann.locator('#messages').evaluate((list) => (list.scrollTop = 0));
    await eventually(async () => (await seqs()).length === 100, 10_000, 'a page of 50 more');
    assert.ok(await firstShown.evaluate((li) => li.getBoundingClientRect().top > document.getElementById('messages').getBoundingClientRect().top - 5), 'what was at the top is not scrolled away');
    assert.ok(await ann.locator('#messages').evaluate((l) => l.scrollTop > 100), 'the new page is above the view');

    await ann.locator('#messages').evaluate((list) => (list.scrollTop = 0));
    await eventually(async () => (await seqs()).length === 120, 10_000, 'the last 20');
    assert.deepEqual(await seqs(), log.map((m) => m.seq), 'all, in order, once');
    await ann.locator('#messages').evaluate((list) => (list.scrollTop = 0));
    assert.equal(await ann.locator('#messages li.older').isHidden(), true, 'nothing older to load');
    assert.deepEqual(errors, []);
  });

  test('a window tall enough for every message loads the older ones by itself; the "Load older messages" button works too', async () => {
    const room = uniqueRoom('olderkeys');
    const writers = await Promise.all([0, 1, 2].map((i) => Client.connect(suite.server.ws(room, { name: `w${i}` }))));
    await Promise.all(writers.map(async (w, i) => {
      for (let j = 0; j < 20; j++) await w.say(`w${i}-${j}`);
    }));
    await Promise.all(writers.map((w) => w.close()));
    // Nobody can scroll to the top of a list that does not scroll: the page asks for more itself.
    const { page: ann } = await person('ann', room, { viewport: { width: 900, height: 5000 } });
    await eventually(async () => (await shownMessages(ann)).length === 60, 10_000, 'the older 10 to be loaded');
    const { page: bob } = await person('bob', room);
    await eventually(async () => (await shownMessages(bob)).length === 50, 5000, 'bob\'s 50');
    await bob.getByRole('button', { name: 'Load older messages' }).press('Enter');
    await eventually(async () => (await shownMessages(bob)).length === 60, 5000, 'the older page');
    assert.deepEqual((await shownMessages(bob)).map((m) => m.seq), Array.from({ length: 60 }, (_, i) => i + 1));
  });

  test('unread: a "New messages" divider above the first unread, "N new" jumps there, and what is seen is marked read', async () => {
    const room = uniqueRoom('unread');
    const { page: ann } = await person('ann', room);
    const { page: bob, errors } = await person('bob', room, { viewport: { width: 900, height: 450 } });
    await say(ann, 'hello bob');
    await item(bob, 'hello bob').waitFor();
    const bobKey = await key(bob);
    const readMark = async () => {
      const probe = await Client.connect(suite.server.ws(room, { name: 'bob', key: bobKey }));
      await probe.close();
      return [probe.welcome.read_seq, probe.welcome.unread];
    };
    const hello = await storedOne(room, 'hello bob');
    await eventually(async () => (await readMark())[0] === hello.seq, 5000, 'bob\'s read mark to reach the room');

    await bob.getByRole('button', { name: 'Leave' }).click();
    for (const t of ['while away 1', 'while away 2', 'while away 3']) await say(ann, t);
    // `say` only types and presses Enter: wait until the room has stored all three before counting.
    await eventually(async () => (await stored(room)).length === 4, 5000, 'the three messages to be stored');
    assert.deepEqual(await readMark(), [hello.seq, 3], 'the room counts three unread for bob');
    await bob.getByLabel('Your name').press('Enter'); // back in
    await bob.locator('#status', { hasText: /^online$/ }).waitFor();
    const divider = bob.locator('#messages li.divider');
    // The page removes and redraws the divider after every batch of events (public/app/list.js
    // `decorate`), so a handle to one may be detached by the time it is read: find the divider and read
    // the message after it in one evaluation of the list, which always sees a whole redraw.
    const afterDivider = () =>
      bob.locator('#messages').evaluate((list) => list.querySelector(':scope > li.divider')?.nextElementSibling?.querySelector('.text')?.textContent);
    await divider.waitFor();
    assert.equal(await divider.textContent(), 'New messages');
    assert.equal(await afterDivider(), 'while away 1');
    const away3 = await storedOne(room, 'while away 3');
    await eventually(async () => (await readMark())[0] === away3.seq, 5000, 'on screen, so read');

    // Further up, new messages wait below: "N new" says how many and jumps to the first.
    // Each `say` costs ann's socket two frames (a typing hint, then the message), and a fast run sends
    // them all within a second: the room's bucket (burst 20, refilling 10 a second: src/rate.rs) then
    // refuses the last ones as rate_limited, and the page keeps them unsent. Wait for a full bucket.
    await sleep(2000);
    for (let i = 0; i < 8; i++) await say(ann, `filler ${i}`);
    await item(bob, 'filler 7').waitFor();
    // Let ann's bucket refill again before the two that must arrive (see above).
    await sleep(1000);
    // Scrolled up, the page stops following the newest message, but only once its scroll handler has
    // run (on the next frame): wait for that scroll event before ann speaks, or her messages would
    // arrive while the view is still pinned (no divider, scrolled back down). The page's handler was
    // added first, so it has run when this one fires.
    await bob.locator('#messages').evaluate(
      (list) =>
        new Promise((resolve) => {
          list.addEventListener('scroll', () => resolve(), { once: true, passive: true });
          list.scrollTop = 0;
        }),
    );
    await say(ann, 'later 1');
    await say(ann, 'later 2');
    const jump = bob.locator('#jump-new');
    await jump.filter({ hasText: '2 new' }).waitFor();
    assert.equal(await jump.getAttribute('aria-label'), '2 new messages: go to the first');
    assert.equal(await afterDivider(), 'later 1', 'the divider moved to the first unseen');
    assert.match(await bob.title(), /^\(2\) /, 'the tab title counts them');
    await jump.click();
    await jump.waitFor({ state: 'hidden' });
    const later1 = await storedOne(room, 'later 1');
    assert.equal(await bob.evaluate(() => document.activeElement.id), `msg-${later1.seq}`);
    assert.doesNotMatch(await bob.title(), /^\(/);
    // ann sees that bob has read her last message.
    await item(ann, 'later 2').locator('.seen', { hasText: 'Seen by bob' }).waitFor();
    assert.equal(await ann.locator('#messages .seen').count(), 1, 'only under her last message');
    assert.deepEqual(errors, []);
  });

  test('"seen by" names who has read your last message, and moves with it', async () => {
    const room = uniqueRoom('seen');
    const { page: ann } = await person('ann', room);
    const { page: bob } = await person('bob', room);
    const { page: cy } = await person('cy', room);
    await say(ann, 'first');
    const seen = ann.locator('#messages .seen');
    await item(ann, 'first').locator('.seen', { hasText: /^Seen by (bob and cy|cy and bob)$/ }).waitFor();
    await say(ann, 'second');
    await item(ann, 'second').locator('.seen', { hasText: /bob/ }).waitFor();
    assert.equal(await seen.count(), 1);
    assert.equal(await item(ann, 'first').locator('.seen').count(), 0, 'it moved to the newest');
    await say(bob, 'my own');
    await item(bob, 'my own').locator('.seen', { hasText: /ann/ }).waitFor();
    void cy;
  });

  test('links: http and https become links that open apart (noopener noreferrer); anything else stays text', async () => {
    const room = uniqueRoom('links');
    const { page: ann, context } = await person('ann', room);
    const { page: bob, errors } = await person('bob', room);
    const local = `${suite.server.base}/favicon.svg`;
    const text = `docs at ${local}, and https://example.com/a?b=1. Not javascript:alert(1) or data:text/html,hi; nor <a href="javascript:x">x</a>`;
    await say(bob, text);
    const msg = item(ann, 'docs at');
    await msg.waitFor();
    assert.equal(await msg.locator('.text').textContent(), text, 'the text is kept exactly');
    const links = await msg.locator('.text a').evaluateAll((as) => as.map((a) => [a.getAttribute('href'), a.textContent, a.rel, a.target]));
    assert.deepEqual(links, [
      [local, local, 'noopener noreferrer', '_blank'],
      ['https://example.com/a?b=1', 'https://example.com/a?b=1', 'noopener noreferrer', '_blank'],
    ]);
    assert.equal(await ann.locator('#messages a[href^="javascript"], #messages a[href^="data"]').count(), 0);
    const [popup] = await Promise.all([context.waitForEvent('page'), msg.locator('.text a').first().click()]);
    await popup.waitForLoadState();
    assert.equal(await popup.evaluate(() => window.opener), null, 'no opener');
    assert.equal(await popup.evaluate(() => document.referrer), '', 'no referrer');
    await popup.close();
    assert.deepEqual(errors, []);
  });

  test('day separators: "Today" above today\'s messages; a day later the same messages are "Yesterday"', async () => {
    const room = uniqueRoom('days');
    const { page: ann } = await person('ann', room);
    await say(ann, 'morning');
    await say(ann, 'noon');
    await item(ann, 'noon').waitFor();
    const days = (page) => page.locator('#messages li.day').allTextContents();
    assert.deepEqual(await days(ann), ['Today']);
    assert.equal(await ann.locator('#messages li.day + li.msg .text').textContent(), 'morning', 'above the day\'s first message');
    const { page: tomorrow } = await person('bob', room, {
      async beforeGoto(context) {
        await context.clock.setFixedTime(new Date(Date.now() + 24 * 3600 * 1000));
      },
    });
    await item(tomorrow, 'noon').waitFor();
    assert.deepEqual(await days(tomorrow), ['Yesterday']);
  });

  test('v1 clients (no key, old frames only) talk with the page unchanged; their messages can be answered but not edited', async () => {
    const room = uniqueRoom('v1');
    const v1 = await Client.connect(suite.server.ws(room, { name: 'wscat' }));
    const { page: ann, errors } = await person('ann', room);
    await v1.say('hello from wscat');
    await item(ann, 'hello from wscat').waitFor();
    assert.equal(await item(ann, 'hello from wscat').getByRole('button', { name: 'Edit', exact: true }).count(), 0);
    await act(ann, 'hello from wscat', 'Reply');
    await say(ann, 'hello wscat');
    const got = await v1.next((f) => f.type === 'message' && f.text === 'hello wscat');
    for (const k of ['seq', 'id', 'from', 'text', 'ts']) assert.ok(k in got, `the v1 fields are all there: ${k}`);
    assert.equal(got.from.name, 'ann');
    await act(ann, 'hello from wscat', 'React');
    await item(ann, 'hello from wscat').getByRole('button', { name: 'React with heart' }).press('Enter');
    await item(ann, 'hello from wscat').locator('.reaction', { hasText: '❤️ 1' }).waitFor();
    // The page's frames a v1 client does not know (reaction, read) just pass it by; it can still talk.
    await v1.say('still here');
    await item(ann, 'still here').waitFor();
    assert.equal(v1.closed, null);
    await v1.close();
    assert.deepEqual(errors, []);
  });
});
