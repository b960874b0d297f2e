// The browser client in public/ keeps its promises to the person using it, driven in Debian's
// headless Chromium against the real `wrangler dev`: chat both ways, a live roster, an expiring typing
// line, text that stays text, a strict CSP, failures that say why, and — across a server restart —
// resume without gaps or doubles and an offline message delivered exactly once. The SDK's own timing
// rules (fake socket, fake clock) are tested without a browser in tests/client.test.mjs.
//
// UPDATE_SCREENSHOT=1 also writes the conversation screenshot to docs/screenshot.png (the README's
// picture); otherwise it goes to tests/.artifacts/ only, so a test run leaves the tree clean.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLOSE_BAD_REQUEST, CLOSE_INTERNAL, CLOSE_RATE_LIMITED, CLOSE_ROOM_FULL, CLOSE_UNAUTHORIZED } from './common/close-codes.mjs';
import { Client, ROOT, eventually, restartServer, sleep, startServer, storedMessages, uniqueRoom } from './common/harness.mjs';
import { browserSuite, openPage, say, shownMessages, ROOM_SOCKETS } from './common/browser.mjs';

const ARTIFACTS = path.join(ROOT, 'tests/.artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

const suite = browserSuite();

const person = suite.join;

const messageItem = (page, text) => page.locator('#messages li.msg:not(.pending)').filter({ has: page.locator('.text', { hasText: text }) });
const texts = async (page) => (await shownMessages(page)).map((m) => m.text);
const count = (list, text) => list.filter((t) => t === text).length;

describe('the page', () => {
  test('is served with a strict Content-Security-Policy that the browser enforces', async () => {
    const res = await fetch(`${suite.server.base}/`);
    const csp = res.headers.get('content-security-policy');
    assert.ok(csp, 'GET / must carry a Content-Security-Policy header (public/_headers)');
    const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
    assert.deepEqual(directives['default-src'], ["'none'"]);
    assert.deepEqual(directives['script-src'], ["'self'"], 'no inline or eval script');
    assert.deepEqual(directives['style-src'], ["'self'"], 'no inline style');
    assert.deepEqual(directives['frame-ancestors'], ["'none'"]);
    assert.deepEqual(directives['require-trusted-types-for'], ["'script'"]);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal((await fetch(`${suite.server.base}/_headers`)).status === 200, false, '_headers itself is not served');

    const { page, context, errors } = await openPage(suite.browser, `${suite.server.base}/`);
    suite.contexts.push(context);
    // Trusted Types with no policy: an HTML sink throws instead of parsing markup.
    const sink = await page.evaluate(() => {
      try {
        document.body.insertAdjacentHTML('beforeend', '<b id=injected>x</b>');
        return 'parsed';
      } catch (e) {
        return e.name;
      }
    });
    assert.equal(sink, 'TypeError');
    errors.length = 0; // that refusal is logged on purpose
    // Every control has an accessible name: a label, or its own text.
    const unnamed = await page.evaluate(() =>
      [...document.querySelectorAll('input, textarea, button')]
        .filter((c) => !(c.labels?.length || c.getAttribute('aria-label') || c.textContent.trim()))
        .map((c) => c.id || c.outerHTML),
    );
    assert.deepEqual(unnamed, []);
    await page.reload();
    await page.getByLabel('Your name').waitFor();
    assert.deepEqual(errors, [], 'the page loads without console errors or CSP violations');
  });

  test('two pages chat both ways, keyboard only: names, local times, own messages marked, Shift+Enter a newline', async () => {
    const room = uniqueRoom('both');
    // ann arrives by keyboard alone: the invitation link fills the room, the name field has focus.
    const { page: ann, context, errors } = await openPage(suite.browser, `${suite.server.base}/#room=${room}`);
    suite.contexts.push(context);
    assert.equal(await ann.getByLabel('Room', { exact: true }).inputValue(), room);
    await ann.keyboard.type('ann');
    await ann.keyboard.press('Enter');
    await ann.locator('#status', { hasText: /^online$/ }).waitFor();
    assert.equal(await ann.evaluate(() => document.activeElement.id), 'message-input');
    const { page: bob } = await person('bob', room);

    await ann.keyboard.type('hi bob');
    await ann.keyboard.press('Enter');
    await messageItem(bob, 'hi bob').waitFor();
    const box = bob.getByLabel('Message', { exact: true });
    await box.pressSequentially('two');
    await box.press('Shift+Enter');
    await box.pressSequentially('lines');
    await box.press('Enter');
    await messageItem(ann, 'lines').waitFor();

    const log = (await storedMessages(suite.server, room)).messages;
    assert.deepEqual(log.map((m) => [m.from.name, m.text]), [['ann', 'hi bob'], ['bob', 'two\nlines']]);
    for (const [page, me] of [[ann, 'ann'], [bob, 'bob']]) {
      const shown = await shownMessages(page);
      assert.deepEqual(shown.map((m) => [m.name, m.text, m.own, m.seq]), log.map((m) => [m.from.name, m.text, m.from.name === me, m.seq]), `${me}'s page`);
      // The browser runs in UTC here, so the local time is the stored ts in UTC.
      assert.deepEqual(shown.map((m) => m.time), log.map((m) => new Date(m.ts).toISOString().slice(11, 16)));
    }
    assert.equal(await box.inputValue(), '', 'the box is emptied after sending');
    // Screen readers hear the other person's message (polite live region), not their own.
    assert.match(await bob.locator('#announcer').textContent(), /ann: hi bob/);
    assert.doesNotMatch(await bob.locator('#announcer').textContent(), /bob: two/);
    assert.equal(await ann.locator('#announcer[aria-live="polite"]').count(), 1);
    assert.deepEqual(errors, []);
  });

  test('the roster shows everyone online and updates on join and leave, with notices', async () => {
    const room = uniqueRoom('roster');
    const roster = (page) => page.locator('#roster .who').allTextContents();
    const { page: ann } = await person('ann', room);
    const { page: bob, context: bobContext } = await person('bob', room);
    await eventually(async () => (await roster(ann)).join() === 'ann,bob', 5000, "ann's roster to show bob");
    assert.deepEqual(await roster(bob), ['bob', 'ann'], 'you first, then the others');
    assert.equal(await ann.locator('#online-count').textContent(), '2');
    await ann.locator('#messages .notice', { hasText: 'bob joined' }).waitFor();

    const { page: cy } = await person('cy', room);
    await eventually(async () => (await roster(bob)).join() === 'bob,ann,cy', 5000, "bob's roster to show cy");

    await bobContext.close(); // bob closes his browser
    await ann.locator('#messages .notice', { hasText: 'bob left' }).waitFor();
    await eventually(async () => (await roster(ann)).join() === 'ann,cy', 5000, 'bob to leave the roster');
    assert.equal(await ann.locator('#online-count').textContent(), '2');

    await cy.getByRole('button', { name: 'Leave' }).click(); // cy leaves with the button
    await ann.locator('#messages .notice', { hasText: 'cy left' }).waitFor();
    await eventually(async () => (await roster(ann)).join() === 'ann', 5000, 'cy to leave the roster');
    assert.equal(await cy.locator('#status').textContent(), 'not connected');
  });

  test('typing shows "bob is typing…" to the others, throttled, and it expires by itself', async () => {
    const room = uniqueRoom('typing');
    const { page: ann } = await person('ann', room);
    const { page: bob } = await person('bob', room);
    const watcher = await Client.connect(suite.server.ws(room, { name: 'watcher' }));
    try {
      const started = Date.now();
      await bob.getByLabel('Message', { exact: true }).pressSequentially('hello the', { delay: 60 });
      const typedFor = Date.now() - started;
      const typing = ann.locator('#typing');
      await typing.filter({ hasText: /^bob is typing…$/ }).waitFor();
      const shownAt = Date.now();
      assert.equal(await bob.locator('#typing').textContent(), '', 'nobody sees themselves typing');
      await typing.filter({ hasText: /^$/ }).waitFor({ timeout: 9000 });
      const shownFor = Date.now() - shownAt;
      assert.ok(shownFor > 2500, `the typing line vanished after only ${shownFor} ms`);
      // Nine keystrokes in ~0.6 s cost one typing frame (one rate-limit token), not nine.
      const frames = watcher.all('typing').length;
      assert.ok(frames >= 1 && frames <= 1 + Math.floor(typedFor / 2500), `${frames} typing frames in ${typedFor} ms`);
      assert.equal(watcher.all('typing')[0].user.name, 'bob');
    } finally {
      await watcher.close();
    }
  });

  test('HTML in a message or a name arrives as text, never as markup', async () => {
    const room = uniqueRoom('xss');
    const { page: ann, errors } = await person('ann', room);
    const evil = '<i>eve</i>';
    const { page: eve } = await person(evil, room);
    const payloads = ['<img src=x onerror="window.__pwned=1">', '<script>window.__pwned=2</script><b>bold</b>'];
    for (const p of payloads) await say(eve, p);
    await messageItem(ann, 'bold').waitFor();
    const shown = await shownMessages(ann);
    assert.deepEqual(shown.map((m) => [m.name, m.text]), payloads.map((p) => [evil, p]));
    assert.equal(await ann.locator('#messages img, #messages script, #messages b, #messages i, #roster i').count(), 0);
    assert.ok((await ann.locator('#roster .who').allTextContents()).includes(evil));
    assert.equal(await ann.evaluate(() => window.__pwned), undefined);
    assert.deepEqual(errors, []);
  });

  test('"New private room" makes an unguessable room that lives in the URL, so the link invites a friend', async () => {
    const { page: ann, context, errors } = await openPage(suite.browser, `${suite.server.base}/`);
    suite.contexts.push(context);
    await ann.getByLabel('Your name').fill('ann');
    await ann.getByRole('button', { name: 'New private room' }).click();
    await ann.locator('#status', { hasText: /^online$/ }).waitFor();
    const room = new URL(ann.url()).hash.match(/^#room=([0-9a-f]{32})$/)?.[1];
    assert.ok(room, `expected #room=<32 hex digits> in ${ann.url()}`);
    assert.equal(await ann.locator('#room-name').textContent(), room);

    // A friend opens the link: the room is filled in, only the name is asked.
    const { page: friend, context: c2 } = await openPage(suite.browser, ann.url());
    suite.contexts.push(c2);
    assert.equal(await friend.getByLabel('Room', { exact: true }).inputValue(), room);
    await friend.getByLabel('Your name').fill('bob');
    await friend.getByLabel('Your name').press('Enter');
    await ann.locator('#roster .who', { hasText: 'bob' }).waitFor();

    // Another click, another room: 128 random bits each time.
    await ann.getByRole('button', { name: 'Leave' }).click();
    await ann.getByRole('button', { name: 'New private room' }).click();
    await ann.locator('#status', { hasText: /^online$/ }).waitFor();
    const second = new URL(ann.url()).hash.slice('#room='.length);
    assert.match(second, /^[0-9a-f]{32}$/);
    assert.notEqual(second, room);
    assert.deepEqual(errors, []);
  });

  test('failed messages say why (too large, rate limited) and a retry keeps the id', async () => {
    const room = uniqueRoom('fail');
    const { page: ann } = await person('ann', room);
    const { page: bob } = await person('bob', room);

    await say(ann, 'x'.repeat(4001));
    const tooLarge = ann.locator('#messages li.failed');
    await tooLarge.filter({ hasText: /Not sent: too large/ }).waitFor();
    await assert.doesNotReject(tooLarge.getByRole('button', { name: 'Edit' }).waitFor());

    // 60 sends in one task: the room's bucket holds 20 tokens and refills 10/s, so even a slow
    // machine (the room storing one message per 30 ms) refuses a good part of them.
    const burst = 60;
    await ann.evaluate((n) => {
      const box = document.getElementById('message-input');
      for (let i = 0; i < n; i++) {
        box.value = `burst ${i}`;
        document.getElementById('composer').requestSubmit();
      }
    }, burst);
    await eventually(async () => (await ann.locator('#messages li.pending:not(.failed)').count()) === 0, 5000, 'every burst message to be acked or refused');
    const refused = ann.locator('#messages li.failed', { hasText: /Not sent: rate limited/ });
    const nRefused = await refused.count();
    assert.ok(nRefused >= 5, `expected the burst to hit the rate limit, ${nRefused} refused`);
    const log = (await storedMessages(suite.server, room)).messages;
    assert.equal(log.length + nRefused, burst, 'each burst message is either stored or shown as refused');
    assert.equal(await ann.locator('#messages li.msg:not(.pending)').count(), log.length);

    // Retry the first refused one: it goes out with the same id and is stored once. (After a second,
    // when the bucket the burst emptied holds tokens again: a retry into an empty bucket is refused
    // again, as it should be, and then nobody would ever see it.)
    await sleep(1100);
    const first = refused.first();
    const text = await first.locator('.text').textContent();
    const id = await first.getAttribute('data-id');
    await first.getByRole('button', { name: 'Retry' }).press('Enter');
    await messageItem(bob, new RegExp(`^${text}$`)).waitFor();
    const after = (await storedMessages(suite.server, room)).messages;
    assert.equal(after.length, log.length + 1);
    assert.deepEqual(after.filter((m) => m.text === text).map((m) => m.id), [id]);
    assert.equal(count(await texts(ann), text), 1);
  });

  test('a message whose ack was lost is resent with the same id and stored exactly once', async () => {
    const room = uniqueRoom('lostack');
    const sent = []; // every message frame ann's page sent, on any socket
    let sockets = 0;
    const { page: ann } = await person('ann', room, {
      async beforeGoto(context) {
        await context.routeWebSocket(ROOM_SOCKETS, (ws) => {
          sockets += 1;
          const first = sockets === 1;
          const upstream = ws.connectToServer();
          ws.onMessage((m) => {
            if (m !== 'ping') sent.push(JSON.parse(m));
            upstream.send(m);
          });
          upstream.onMessage((m) => {
            // On the first socket, swallow the ack of "lost ack" and drop the connection, as a
            // network failure right after the server stored it would.
            if (first && JSON.parse(m).type === 'ack' && sent.at(-1)?.text === 'lost ack') {
              ws.close({ code: 4000, reason: 'network failure' });
              upstream.close();
              return;
            }
            ws.send(m);
          });
        });
      },
    });
    const { page: bob } = await person('bob', room);
    await say(ann, 'lost ack');
    await messageItem(bob, 'lost ack').waitFor();
    await eventually(() => sockets >= 2, 10_000, 'ann to reconnect');
    await messageItem(ann, 'lost ack').waitFor();
    await say(ann, 'after');
    await messageItem(bob, 'after').waitFor();

    const log = (await storedMessages(suite.server, room)).messages;
    assert.deepEqual(log.map((m) => m.text), ['lost ack', 'after']);
    for (const page of [ann, bob]) assert.deepEqual(await texts(page), ['lost ack', 'after']);
    const ids = new Set(sent.filter((f) => f.text === 'lost ack').map((f) => f.id));
    assert.deepEqual([...ids], [log[0].id], 'every send of it carried the one id');
    assert.equal(await ann.locator('#messages li.pending').count(), 0);
  });

  test('a pending message whose id the same author already used for another text is resent under a new id and stored once', async () => {
    // Since identities, ids are scoped per author (uid): another person's id is no clash at all. So the
    // clash comes from the same key — this browser's other tab, say, which took the id before.
    const room = uniqueRoom('idclash');
    const key = randomBytes(24).toString('base64url');
    const otherTab = await Client.connect(suite.server.ws(room, { name: 'dan', key }));
    await otherTab.say('the other tab', 'c-taken');
    await otherTab.close();
    const stranger = await Client.connect(suite.server.ws(room, { name: 'dan' })); // anonymous: its ids are its own
    await stranger.say('another dan', 'c-mine-too');
    await stranger.close();
    // This tab's outbox (sessionStorage) holds a message that, by a 1-in-2^48 chance, got that id too.
    const { page: dan } = await person('dan', room, {
      async beforeGoto(context) {
        await context.addInitScript(({ outboxKey, key }) => {
          localStorage.setItem('edge-chat:key', key);
          sessionStorage.setItem(outboxKey, JSON.stringify([
            { id: 'c-taken', text: 'mine', createdAt: Date.now() },
            { id: 'c-mine-too', text: 'also mine', createdAt: Date.now() },
          ]));
        }, { outboxKey: `edge-chat:outbox:${room}:dan`, key });
      },
    });
    await messageItem(dan, 'also mine').waitFor();
    await messageItem(dan, /^mine$/).waitFor();
    const log = (await storedMessages(suite.server, room)).messages;
    assert.deepEqual(log.map((m) => m.text).sort(), ['also mine', 'another dan', 'mine', 'the other tab'], 'no message lost or taken for another');
    const byText = Object.fromEntries(log.map((m) => [m.text, m]));
    assert.equal(byText['the other tab'].id, 'c-taken');
    assert.notEqual(byText.mine.id, 'c-taken', 'resent under a new id');
    assert.equal(byText['also mine'].id, 'c-mine-too', 'another author\'s id is no clash');
    assert.deepEqual((await texts(dan)).sort(), ['also mine', 'another dan', 'mine', 'the other tab']);
    assert.equal(await dan.locator('#messages li.pending').count(), 0);
  });

  test('a pending message survives a reload of the tab and is sent once when the socket is back', async () => {
    const room = uniqueRoom('reload');
    let blocked = false;
    const { page: ann } = await person('ann', room, {
      async beforeGoto(context) {
        await context.routeWebSocket(ROOM_SOCKETS, (ws) => {
          if (blocked) ws.close({ code: CLOSE_INTERNAL, reason: 'test gate' });
          else ws.connectToServer();
        });
      },
    });
    const { page: bob } = await person('bob', room);
    blocked = true;
    await ann.reload(); // the page comes back (HTTP works), its sockets do not
    await ann.locator('#status', { hasText: /^reconnecting/ }).waitFor();
    await say(ann, 'kept in the outbox');
    const pending = ann.locator('#messages li.pending', { hasText: 'kept in the outbox' });
    await pending.waitFor();
    await ann.reload();
    await pending.waitFor(); // restored from sessionStorage
    blocked = false;
    await messageItem(bob, 'kept in the outbox').waitFor({ timeout: 15_000 });
    await messageItem(ann, 'kept in the outbox').waitFor();
    assert.equal(await pending.count(), 0);
    assert.deepEqual((await storedMessages(suite.server, room)).messages.map((m) => m.text), ['kept in the outbox']);
    assert.deepEqual(await texts(bob), ['kept in the outbox']);
    assert.equal(await ann.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith('edge-chat:outbox')).length), 0, 'the outbox is emptied once acked');
  });

  test('readable at 360 px in a dark scheme, and on a desktop in a light one', async () => {
    const room = uniqueRoom('narrow');
    const { page: phone } = await person('ann', room, { viewport: { width: 360, height: 640 }, colorScheme: 'dark' });
    const { page: desk } = await person('bob with a rather long name', room);
    await say(desk, `a long link https://example.com/${'a'.repeat(120)} and words`);
    await messageItem(phone, 'a long link').waitFor();
    await say(phone, 'short reply');
    await messageItem(desk, 'short reply').waitFor();
    const layout = await phone.evaluate(() => {
      const box = (id) => document.getElementById(id).getBoundingClientRect();
      return {
        scrollWidth: document.documentElement.scrollWidth,
        input: box('message-input'),
        send: document.querySelector('#composer button').getBoundingClientRect(),
        status: box('status'),
        bg: getComputedStyle(document.body).backgroundColor,
      };
    });
    assert.ok(layout.scrollWidth <= 360, `no sideways scrolling at 360 px (scrollWidth ${layout.scrollWidth})`);
    for (const k of ['input', 'send', 'status']) {
      assert.ok(layout[k].left >= 0 && layout[k].right <= 360 && layout[k].bottom <= 640 && layout[k].width > 0, `${k} is on screen: ${JSON.stringify(layout[k])}`);
    }
    const luminance = (rgb) => {
      const [r, g, b] = rgb.match(/\d+/g).map(Number);
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    assert.ok(luminance(layout.bg) < 60, `dark scheme background ${layout.bg}`);
    const deskBg = await desk.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.ok(luminance(deskBg) > 200, `light scheme background ${deskBg}`);
    await phone.screenshot({ path: path.join(ARTIFACTS, 'narrow-dark.png') });
  });

  test('a two-person conversation with a reply, a reaction and an edit (the README screenshot)', async () => {
    const room = 'design-review';
    const { page: ann } = await person('ann', room, { viewport: { width: 960, height: 600 } });
    const { page: bob } = await person('bob', room);
    const annBox = ann.getByLabel('Message', { exact: true });
    await say(bob, 'Morning! Is the new build live?');
    await messageItem(ann, 'Morning!').waitFor();
    await say(ann, 'Yes, deployed to every region a minute ago.');
    await messageItem(bob, 'deployed').waitFor();
    await annBox.press('ArrowUp'); // ann adds to it: Up edits her last message
    await annBox.fill('Yes, deployed to every region a minute ago, with replies, edits and reactions.');
    await annBox.press('Enter');
    await messageItem(bob, 'with replies').getByRole('button', { name: 'edited' }).waitFor();
    await messageItem(bob, 'with replies').getByRole('button', { name: 'Reply', exact: true }).press('Enter');
    await say(bob, 'I restarted my laptop mid-chat and nothing went missing.');
    await messageItem(ann, 'I restarted').waitFor();
    await messageItem(bob, 'with replies').getByRole('button', { name: 'React', exact: true }).press('Enter');
    await bob.getByRole('button', { name: 'React with party' }).press('Enter');
    await messageItem(ann, 'I restarted').getByRole('button', { name: 'React', exact: true }).press('Enter');
    await ann.getByRole('button', { name: 'React with thumbs up' }).press('Enter');
    await messageItem(bob, 'I restarted').locator('.reaction', { hasText: '👍 1' }).waitFor();
    await messageItem(ann, 'with replies').locator('.reaction', { hasText: '🎉 1' }).waitFor();
    await say(ann, 'That is the resume: it reconnects with after=<seq>&since=<rev>\nand the room sends what you missed, edits and reactions included.');
    await messageItem(ann, 'That is the resume').locator('.seen', { hasText: 'Seen by bob' }).waitFor();
    await bob.getByLabel('Message', { exact: true }).pressSequentially('Nice');
    await ann.locator('#typing', { hasText: 'bob is typing…' }).waitFor();
    await annBox.blur();
    assert.equal(await messageItem(ann, 'I restarted').locator('.quote-text').textContent(), 'Yes, deployed to every region a minute ago, with replies, edits and reactions.');
    const shot = await ann.screenshot();
    writeFileSync(path.join(ARTIFACTS, 'conversation.png'), shot);
    if (process.env.UPDATE_SCREENSHOT) writeFileSync(path.join(ROOT, 'docs/screenshot.png'), shot);
    assert.ok(shot.length > 10_000);
  });
});

// Refusals a person can hit are told on the socket (an error frame, then close 4000 + status; see
// docs/PROTOCOL.md): the page says why in words, puts the person where the fix is, and retries only
// what time can fix (a full room, too many connections). Two more servers show the refusals the
// shared one never gives: a room of one place, and one that wants a signed token.
describe('refusals', () => {
  let small; // MAX_CONNECTIONS=1
  let signed; // AUTH_SECRET set: the page (which has no token) is unauthorized
  before(async () => {
    [small, signed] = await Promise.all([startServer({ vars: { MAX_CONNECTIONS: '1' } }), startServer({ vars: { AUTH_SECRET: 'browser-test-secret' } })]);
  });
  after(async () => {
    await Promise.all([small?.stop(), signed?.stop()]);
  });

  /** The page on `url`, with a count of the sockets it opens from now on. */
  async function watchedPage(url, options) {
    const chat = await openPage(suite.browser, url, options);
    suite.contexts.push(chat.context);
    chat.sockets = [];
    // The room's sockets only: the page keeps the person's inbox socket (/ws/me) beside them.
    chat.page.on('websocket', (ws) => ROOM_SOCKETS.test(ws.url()) && chat.sockets.push(ws.url()));
    return chat;
  }

  const said = (text) => text.replace(/\.$/, '').toLowerCase();

  test('a name the server refuses says why, does not retry, and lets the user fix it', async () => {
    const room = uniqueRoom('badname');
    const tooLong = 'n'.repeat(40);
    const refusal = await Client.refusedOnSocket(suite.server.ws(room, { name: tooLong }));
    assert.deepEqual([refusal.code, refusal.closeCode], ['bad_name', CLOSE_BAD_REQUEST]);

    const { page, sockets, errors } = await watchedPage(`${suite.server.base}/#room=${room}`);
    await page.getByLabel('Your name').fill(tooLong);
    await page.getByLabel('Your name').press('Enter');
    const nameError = page.locator('#name-error');
    await nameError.filter({ hasText: 'The server did not accept this name.' }).waitFor();
    assert.ok((await nameError.textContent()).toLowerCase().includes(said(refusal.message)), 'in the server\'s own words');
    assert.equal(await page.locator('#join-view').isVisible(), true, 'back on the form, where the name is');
    assert.equal(await page.locator('#chat-view').isVisible(), false);
    assert.equal(await page.getByLabel('Room', { exact: true }).inputValue(), room, 'the room is kept');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'name', 'focus is in the name field');
    assert.equal(await page.getByLabel('Your name').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.getByLabel('Your name').getAttribute('aria-describedby'), 'name-hint name-error', 'the error is the field\'s description');
    assert.equal(await page.locator('#status').textContent(), 'not connected — refused');
    assert.match(await page.locator('#announcer').textContent(), /name was refused/);
    assert.equal(await page.evaluate(() => localStorage.getItem('edge-chat:name')), null, 'a refused name is not remembered');
    await sleep(2000); // a reconnect after a drop comes within 0.5 s
    assert.equal(sockets.length, 1, `no reconnect loop: ${sockets.length} sockets`);

    await page.getByLabel('Your name').fill('ann');
    await page.getByLabel('Your name').press('Enter');
    await page.locator('#status', { hasText: /^online$/ }).waitFor();
    assert.equal(await page.locator('#room-name').textContent(), room);
    await say(page, 'fixed');
    await eventually(async () => (await storedMessages(suite.server, room)).messages.length === 1, 5000, 'the message to be stored');
    assert.deepEqual((await storedMessages(suite.server, room)).messages.map((m) => [m.from.name, m.text]), [['ann', 'fixed']]);
    assert.deepEqual(errors, []);
  });

  test('a link to a room name the server refuses says why and offers a new private room', async () => {
    const bad = 'no such room!';
    const refusal = await Client.refusedOnSocket(suite.server.ws(encodeURIComponent(bad), { name: 'ann' }));
    assert.deepEqual([refusal.code, refusal.closeCode], ['bad_room', CLOSE_BAD_REQUEST]);

    const { page, sockets, errors } = await watchedPage(`${suite.server.base}/#${new URLSearchParams({ room: bad })}`);
    assert.equal(await page.getByLabel('Room', { exact: true }).inputValue(), bad, 'the link fills the room as it is');
    await page.getByLabel('Your name').fill('ann');
    await page.getByLabel('Your name').press('Enter');
    const roomError = page.locator('#room-error');
    await roomError.filter({ hasText: 'The server did not accept this room.' }).waitFor();
    assert.ok((await roomError.textContent()).toLowerCase().includes(said(refusal.message)));
    assert.match(await roomError.textContent(), /Pick another room, or make a new private room\.$/);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'room', 'focus is in the room field');
    assert.equal(await page.getByLabel('Room', { exact: true }).getAttribute('aria-invalid'), 'true');
    assert.equal(await page.locator('#name-error').textContent(), '', 'the name was fine');
    await sleep(2000);
    assert.equal(sockets.length, 1, `no reconnect loop: ${sockets.length} sockets`);

    await page.getByRole('button', { name: 'New private room' }).click();
    await page.locator('#status', { hasText: /^online$/ }).waitFor();
    assert.match(await page.locator('#room-name').textContent(), /^[0-9a-f]{32}$/);
    assert.equal(await page.getByLabel('Room', { exact: true }).getAttribute('aria-invalid'), null, 'the error is gone');
    assert.deepEqual(errors, []);
  });

  test('a full room says so, retries by itself with a countdown, and gets in once a place is free', async () => {
    const room = uniqueRoom('full');
    const occupant = await Client.connect(small.ws(room, { name: 'occupant' }));
    const refusal = await Client.refusedOnSocket(small.ws(room, { name: 'probe' }));
    assert.deepEqual([refusal.code, refusal.closeCode], ['room_full', CLOSE_ROOM_FULL]);

    const { page, sockets, errors } = await watchedPage(`${small.base}/#room=${room}`, { viewport: { width: 360, height: 640 } });
    await page.getByLabel('Your name').fill('ann');
    await page.getByLabel('Your name').press('Enter');
    const status = page.locator('#status');
    await status.filter({ hasText: /^room is full, retrying in \d+ s$/ }).waitFor();
    assert.equal(await status.getAttribute('role'), 'status');
    // On a phone the longer line wraps beside the brand instead of running over it or off screen.
    const [brand, line] = await page.evaluate(() => {
      // The text's own extent: a grid cell may be narrower than the text it lets overflow.
      const ink = (el) => {
        const range = document.createRange();
        range.selectNodeContents(el);
        const r = range.getBoundingClientRect();
        return { left: r.left, right: r.right };
      };
      return [ink(document.querySelector('.brand')), ink(document.getElementById('status'))];
    });
    assert.ok(line.left >= brand.right && line.right <= 360, `status ${JSON.stringify(line)} clear of brand ${JSON.stringify(brand)}`);
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= 360, 'no sideways scrolling');
    assert.match(await page.locator('#announcer').textContent(), /Not connected: room is full\. Retrying by itself\./);
    assert.equal(await page.locator('#chat-view').isVisible(), true, 'it stays in the room it is waiting for');
    await eventually(() => sockets.length >= 2, 10_000, 'a second try');
    assert.equal(await page.locator('#status[data-state="online"]').count(), 0);

    await occupant.close();
    await status.filter({ hasText: /^online$/ }).waitFor({ timeout: 20_000 });
    assert.ok(sockets.length <= 5, `retried with a growing backoff, not in a loop: ${sockets.length} sockets`);
    assert.deepEqual(errors, []);
  });

  test('a page without a valid session is asked to sign in again, and does not retry by itself', async () => {
    const room = uniqueRoom('signed');
    const refusal = await Client.refusedOnSocket(signed.ws(room, { name: 'ann' }));
    assert.deepEqual([refusal.code, refusal.closeCode], ['unauthorized', CLOSE_UNAUTHORIZED]);

    const { page, sockets, errors } = await watchedPage(`${signed.base}/#room=${room}`);
    await page.getByLabel('Your name').fill('ann');
    await page.getByLabel('Your name').press('Enter');
    const problem = page.getByRole('alert');
    await problem.filter({ hasText: 'Your session has expired' }).waitFor();
    assert.match(await problem.textContent(), /Sign in again to rejoin\./);
    const again = problem.getByRole('button', { name: 'Sign in again' });
    assert.equal(await again.evaluate((b) => b === document.activeElement), true, 'focus is on the fix');
    assert.equal(await page.locator('#status').textContent(), 'not connected — refused');
    await sleep(2000);
    assert.equal(sockets.length, 1, `no reconnect loop: ${sockets.length} sockets`);

    // The reload is the sign-in: this page has no token to get, so it tries once more and is told again.
    await Promise.all([page.waitForEvent('load'), again.press('Enter')]);
    await eventually(() => sockets.length === 2, 10_000, 'the reloaded page to try again');
    await problem.filter({ hasText: 'Your session has expired' }).waitFor();
    await sleep(1000);
    assert.equal(sockets.length, 2);
    assert.deepEqual(errors, []);
  });

  test('too many connections from one network: the page says so and retries until let in', async () => {
    const room = uniqueRoom('ratelimited');
    let sockets = 0;
    const { page, errors } = await watchedPage(`${suite.server.base}/#room=${room}`, {
      async beforeGoto(context) {
        // The per-client limit needs 120 sockets a minute from one address; here the first socket is
        // refused exactly as the server refuses (an error frame, then close 4429), the next let through.
        await context.routeWebSocket(ROOM_SOCKETS, (ws) => {
          sockets += 1;
          if (sockets > 1) return ws.connectToServer();
          ws.send(JSON.stringify({ type: 'error', code: 'rate_limited', message: 'too many new connections from your address; try again in a minute' }));
          ws.close({ code: CLOSE_RATE_LIMITED, reason: 'rate_limited' });
        });
      },
    });
    await page.getByLabel('Your name').fill('ann');
    await page.getByLabel('Your name').press('Enter');
    await page.locator('#status', { hasText: /^too many connections from your network, retrying in \d+ s$/ }).waitFor();
    assert.match(await page.locator('#announcer').textContent(), /too many connections from your network/);
    assert.equal(await page.locator('#problem').textContent(), '', 'nothing for the person to fix');
    await page.locator('#status', { hasText: /^online$/ }).waitFor({ timeout: 10_000 });
    assert.equal(sockets, 2);
    assert.deepEqual(errors, []);
  });
});

describe('across a server restart', () => {
  // A server of its own, restarted on the same port and state, so that no other test sees the restart.
  test('the page reconnects, shows what it missed, and a message typed offline is delivered exactly once', async () => {
    let own = await startServer();
    try {
      const room = uniqueRoom('restart');
      // bob's sockets pass through a gate, so he stays away until we let him in (deterministically
      // missing what is said meanwhile); every URL he opens is recorded.
      let bobBlocked = false;
      const bobUrls = [];
      const { page: ann } = await person('ann', room, {}, own.base);
      const { page: bob } = await person('bob', room, {
        async beforeGoto(context) {
          await context.routeWebSocket(ROOM_SOCKETS, (ws) => {
            bobUrls.push(ws.url());
            if (bobBlocked) ws.close({ code: CLOSE_INTERNAL, reason: 'test gate' });
            else ws.connectToServer();
          });
        },
      }, own.base);
      await say(ann, 'before the restart');
      await messageItem(bob, 'before the restart').waitFor();
      const bobLastSeq = Math.max(...(await shownMessages(bob)).map((m) => m.seq));

      await own.stop({ keepState: true });
      bobBlocked = true;
      for (const page of [ann, bob]) await page.locator('#status', { hasText: /^reconnecting/ }).waitFor();
      await ann.locator('#status', { hasText: /^reconnecting in \d+ s$/ }).waitFor();

      await say(ann, 'typed while offline');
      const pending = ann.locator('#messages li.pending', { hasText: 'typed while offline' });
      await pending.filter({ hasText: /pending — will be sent when connected/ }).waitFor();

      own = await restartServer(own);
      await ann.locator('#status', { hasText: /^online$/ }).waitFor({ timeout: 20_000 });
      await messageItem(ann, 'typed while offline').waitFor();
      assert.equal(await pending.count(), 0);
      await say(ann, 'while bob was away');
      await messageItem(ann, 'while bob was away').waitFor();
      assert.notEqual(await bob.locator('#status').textContent(), 'online', 'bob is still kept away');

      bobBlocked = false;
      await bob.locator('#status', { hasText: /^online$/ }).waitFor({ timeout: 20_000 });
      assert.match(bobUrls.at(-1), new RegExp(`[?&]after=${bobLastSeq}(&|$)`), 'bob resumed after his last seq');
      const expected = ['before the restart', 'typed while offline', 'while bob was away'];
      await messageItem(bob, 'while bob was away').waitFor();
      const log = (await storedMessages(own, room)).messages;
      assert.deepEqual(log.map((m) => m.text), expected, 'stored exactly once each, in order');
      for (const page of [ann, bob]) {
        const shown = await shownMessages(page);
        assert.deepEqual(shown.map((m) => m.text), expected);
        assert.deepEqual(shown.map((m) => m.seq), log.map((m) => m.seq));
      }
    } finally {
      await own.stop();
    }
  });
});
