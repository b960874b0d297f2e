// The page as people meet it (issue 26), in Debian's headless Chromium against the real `wrangler dev`:
// each test is one defect a demanding new user found — two people with one name, the action bar over
// a message's author and time, right-to-left text, "Seen by" after a reload, the Tab key, a phone, a
// draft that followed the person into another room, search paging — and the fix they now see.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Client, eventually, uniqueRoom } from './common/harness.mjs';
import { browserSuite, openPage, say, shownMessages, ROOM_SOCKETS } from './common/browser.mjs';

const suite = browserSuite();
const person = suite.join;

/** The stored message showing `text`. */
const item = (page, text) => page.locator('#messages li.msg:not(.pending)').filter({ has: page.locator('.text', { hasText: text }) });

describe('two people with one name stay two people', () => {
  test('counted, announced and marked apart: online count, roster lines, a join notice, and a cue and handle on each message', async () => {
    const room = uniqueRoom('same-name');
    const { page: first, errors } = await person('ann', room);
    const { page: bob } = await person('bob', room);
    const { page: second } = await person('ann', room);
    // Three people, whatever their names: the count, and one roster line each.
    await eventually(async () => (await bob.locator('#online-count').textContent()) === '3', 5000, 'bob to count 3 online');
    assert.deepEqual((await bob.locator('#roster .who').allTextContents()).sort(), ['ann', 'ann', 'bob']);
    const handles = await bob.locator('#roster .handle').allTextContents();
    assert.equal(handles.length, 2, `a handle on each ann: ${handles}`);
    assert.notEqual(handles[0], handles[1]);
    // The second ann's arrival is news to the first.
    await first.locator('#messages .notice', { hasText: /^ann \(#\w{4}\) joined$/ }).waitFor();
    await say(first, 'I am the first ann');
    await say(second, 'I am the second ann');
    await item(bob, 'I am the second ann').waitFor();
    const cue = (text) =>
      item(bob, text).evaluate((li) => ({
        handle: li.querySelector('.meta .handle')?.textContent,
        uid: li.querySelector('.meta .avatar').dataset.uid,
        colour: getComputedStyle(li.querySelector('.meta .avatar')).backgroundColor,
        initials: li.querySelector('.meta .avatar').textContent,
      }));
    const [a, b] = [await cue('I am the first ann'), await cue('I am the second ann')];
    assert.equal(a.initials, 'AN');
    assert.ok(a.handle && b.handle && a.handle !== b.handle, `handles ${a.handle} / ${b.handle}`);
    assert.notEqual(a.uid, b.uid);
    assert.notEqual(a.colour, b.colour, 'a different colour per person');
    // A reply's quote names the right ann too.
    await item(bob, 'I am the second ann').getByRole('button', { name: 'Reply', exact: true }).press('Enter');
    await bob.locator('#composing', { hasText: `Replying to ann (${b.handle})` }).waitFor();
    // One ann leaves: the other is still there, and the count says so.
    await second.close();
    await first.locator('#messages .notice', { hasText: /^ann \(#\w{4}\) left$/ }).waitFor();
    await eventually(async () => (await bob.locator('#online-count').textContent()) === '2', 5000, 'bob to count 2 online');
    assert.deepEqual(errors, []);
  });

  test('two tabs of one person are one person with two devices', async () => {
    const room = uniqueRoom('two-tabs');
    const { page: ann, context } = await person('ann', room);
    const tab = await context.newPage();
    await tab.goto(`${suite.server.base}/#room=${room}`);
    await tab.locator('#status', { hasText: /^online$/ }).waitFor();
    await eventually(async () => (await ann.locator('#roster .devices').count()) === 1, 5000, 'a ×2 on the roster');
    assert.equal(await ann.locator('#online-count').textContent(), '1');
    assert.equal(await ann.locator('#roster .handle').count(), 0, 'no handle: the name is not shared');
  });
});

describe('the action bar leaves the message readable', () => {
  test('pointed at, a message keeps its author, time and "edited" visible and clickable', async () => {
    const room = uniqueRoom('hover');
    const { page: ann, errors } = await person('ann', room);
    const { page: bob } = await person('bob', room);
    await say(bob, 'a tpyo here');
    await item(bob, 'a tpyo here').waitFor();
    const box = bob.getByLabel('Message', { exact: true });
    await box.press('ArrowUp');
    await box.fill('a typo here');
    await box.press('Enter');
    const target = item(ann, 'a typo here');
    await target.locator('.edited').waitFor();
    await target.hover();
    await target.locator('.actions').evaluate((bar) => getComputedStyle(bar).opacity === '1' || Promise.reject(new Error('bar not shown')));
    for (const part of ['.who', 'time', '.edited']) {
      const covered = await target.locator(`.meta ${part}`).evaluate((node) => {
        const r = node.getBoundingClientRect();
        for (const [x, y] of [[r.left + 2, r.top + r.height / 2], [r.left + r.width / 2, r.top + r.height / 2], [r.right - 2, r.top + r.height / 2]]) {
          const top = document.elementFromPoint(x, y);
          if (!node.contains(top)) return top?.outerHTML.slice(0, 80) ?? 'nothing';
        }
        return null;
      });
      assert.equal(covered, null, `${part} is covered by ${covered}`);
    }
    await target.locator('.edited').click(); // with the mouse, on somebody else's message
    await target.locator('.versions', { hasText: 'a tpyo here' }).waitFor();
    assert.deepEqual(errors, []);
  });
});

describe('right-to-left text', () => {
  test('a Hebrew or Arabic message, its quote and the composer lay out right to left', async () => {
    const room = uniqueRoom('rtl');
    const { page: ann, errors } = await person('ann', room);
    const { page: bob } = await person('דוד', room);
    await say(bob, 'שלום לכולם, מה שלומכם?');
    await say(bob, 'hello in English');
    const rtl = item(ann, 'שלום לכולם');
    await rtl.waitFor();
    const dirOf = (locator) => locator.evaluate((node) => [node.getAttribute('dir'), getComputedStyle(node).direction]);
    assert.deepEqual(await dirOf(rtl.locator('.text')), ['auto', 'rtl']);
    assert.deepEqual(await dirOf(item(ann, 'hello in English').locator('.text')), ['auto', 'ltr']);
    await rtl.getByRole('button', { name: 'Reply', exact: true }).press('Enter');
    const box = ann.getByLabel('Message', { exact: true });
    await box.fill('مرحبا');
    assert.deepEqual(await dirOf(box), ['auto', 'rtl'], 'the composer follows what is typed');
    await box.press('Enter');
    const reply = item(ann, 'مرحبا');
    await reply.waitFor();
    assert.deepEqual(await dirOf(reply.locator('.quote-text')), ['auto', 'rtl']);
    // The name is isolated: a right-to-left name does not pull the time across.
    assert.equal(await rtl.locator('.meta .who').evaluate((n) => n.tagName), 'BDI');
    assert.deepEqual(errors, []);
  });
});

describe('"Seen by" after a reload', () => {
  test('the others\' read positions come with the welcome: "Seen by" is there again at once', async () => {
    const room = uniqueRoom('seen-reload');
    const { page: ann, errors } = await person('ann', room);
    const { page: bob } = await person('bob', room);
    await say(ann, 'did you read this?');
    await item(bob, 'did you read this?').waitFor();
    const seen = item(ann, 'did you read this?').locator('.seen', { hasText: /^Seen by bob$/ });
    await seen.waitFor();
    await ann.reload();
    await ann.locator('#status', { hasText: /^online$/ }).waitFor();
    await seen.waitFor({ timeout: 3000 }); // bob reads nothing new in between
    assert.deepEqual(errors, []);
  });
});

describe('the keyboard', () => {
  /** Tab presses from the search box until the message box has the focus. */
  async function tabsToComposer(page) {
    await page.locator('#search-input').focus();
    for (let n = 1; n <= 200; n++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(() => document.activeElement?.id === 'message-input')) return n;
    }
    return Infinity;
  }

  test('the list is one Tab stop whatever its length; arrows move between messages, Tab reaches the focused one\'s buttons, ? lists the shortcuts', async () => {
    const room = uniqueRoom('keys');
    const { page: ann, errors } = await person('ann', room);
    await say(ann, 'one of few');
    await item(ann, 'one of few').waitFor();
    const few = await tabsToComposer(ann);
    for (const part of [0, 1]) {
      // 15 each: one connection's burst allowance is 20 messages
      const chatter = await Client.connect(suite.server.ws(room, { name: 'chatter' }));
      for (let i = part * 15; i < part * 15 + 15; i++) await chatter.say(`filler ${i}`);
      await chatter.close();
    }
    await item(ann, 'filler 29').waitFor();
    const many = await tabsToComposer(ann);
    assert.equal(many, few, `${few} Tab presses with 1 message, ${many} with 31`);
    assert.ok(many <= 8, `${many} presses from the header to the composer`);
    // Into the list, then up through the messages with the arrows.
    await ann.locator('#messages').focus();
    await ann.keyboard.press('ArrowUp');
    assert.equal(await ann.evaluate(() => document.activeElement.querySelector('.text')?.textContent), 'filler 29');
    await ann.keyboard.press('ArrowUp');
    assert.equal(await ann.evaluate(() => document.activeElement.querySelector('.text')?.textContent), 'filler 28');
    await ann.keyboard.press('Tab');
    assert.equal(await ann.evaluate(() => document.activeElement.textContent), 'Reply', "Tab goes into the focused message's actions");
    await ann.keyboard.press('Shift+Tab');
    assert.equal(await ann.evaluate(() => document.activeElement.querySelector('.text')?.textContent), 'filler 28', 'Shift+Tab: back on the message');
    await ann.keyboard.press('r');
    // (two anonymous connections named chatter are two people: hence a handle)
    await ann.locator('#composing', { hasText: /Replying to chatter \(#\w{4}\): filler 28/ }).waitFor();
    assert.equal(await ann.evaluate(() => document.activeElement.id), 'message-input');
    // ? outside a text field: the shortcut list; Escape closes it.
    await ann.locator('#messages').focus();
    await ann.keyboard.press('?');
    await ann.locator('#shortcuts', { hasText: 'Keyboard shortcuts' }).waitFor();
    assert.ok((await ann.locator('#shortcuts dt').count()) >= 5);
    await ann.keyboard.press('Escape');
    await ann.locator('#shortcuts').waitFor({ state: 'hidden' });
    assert.deepEqual(errors, []);
  });
});

describe('a phone (390×844, touch)', () => {
  const phone = { viewport: { width: 390, height: 844 }, device: { isMobile: true, hasTouch: true } };

  test('a compact header that keeps the room name and the search box, no sideways scrolling, and actions on a tap', async () => {
    const room = uniqueRoom('phone');
    const { page: ann, errors } = await person('ann', room, phone);
    const chatter = await Client.connect(suite.server.ws(room, { name: 'chatter' }));
    for (let i = 0; i < 6; i++) await chatter.say(`message number ${i} from the chatter, long enough to wrap on a phone`);
    await chatter.close();
    const target = item(ann, 'message number 5');
    await target.waitFor();
    const layout = await ann.evaluate(() => {
      const box = (id) => document.getElementById(id).getBoundingClientRect();
      return {
        scrollWidth: document.documentElement.scrollWidth,
        header: document.querySelector('.bar').getBoundingClientRect().height,
        roomName: box('room-name').width,
        roomNameFull: document.getElementById('room-name').scrollWidth <= document.getElementById('room-name').getBoundingClientRect().width + 1,
        search: box('search-input').width,
        actionsShown: [...document.querySelectorAll('#messages li.msg .actions')].filter((a) => a.getBoundingClientRect().height > 0).length,
      };
    });
    assert.ok(layout.scrollWidth <= 390, `the page is ${layout.scrollWidth} px wide`);
    assert.ok(layout.header <= 100, `the header is ${layout.header} px tall`);
    assert.ok(layout.roomName >= 100 && layout.roomNameFull, `the room name is ${layout.roomName} px and whole: ${layout.roomNameFull}`);
    assert.ok(layout.search >= 120, `the search box is ${layout.search} px wide`);
    assert.equal(layout.actionsShown, 0, 'no message shows its buttons until tapped');
    await target.locator('.text').tap();
    const reply = target.getByRole('button', { name: 'Reply', exact: true });
    await reply.waitFor();
    await reply.tap();
    await ann.locator('#composing', { hasText: 'Replying to chatter' }).waitFor();
    assert.deepEqual(errors, []);
  });
});

describe('drafts', () => {
  test('a draft stays with its room: another room starts empty, coming back (or reloading) brings it back', async () => {
    const [roomA, roomB] = [uniqueRoom('draft-a'), uniqueRoom('draft-b')];
    const { page: ann, errors } = await person('ann', roomA);
    const box = ann.getByLabel('Message', { exact: true });
    await box.fill('half a thought for A');
    await ann.evaluate((room) => (location.hash = `room=${room}`), roomB);
    await ann.locator('#room-name', { hasText: roomB }).waitFor();
    await ann.locator('#status', { hasText: /^online$/ }).waitFor();
    assert.equal(await box.inputValue(), '', 'the other room starts empty');
    await box.fill('something for B');
    await ann.evaluate((room) => (location.hash = `room=${room}`), roomA);
    await ann.locator('#room-name', { hasText: roomA }).waitFor();
    assert.equal(await box.inputValue(), 'half a thought for A');
    await ann.reload();
    await ann.locator('#status', { hasText: /^online$/ }).waitFor();
    assert.equal(await box.inputValue(), 'half a thought for A', 'kept across a reload');
    // Sent, it is no longer a draft.
    await box.press('Enter');
    await item(ann, 'half a thought for A').waitFor();
    await ann.evaluate((room) => (location.hash = `room=${room}`), roomB);
    await ann.locator('#room-name', { hasText: roomB }).waitFor();
    assert.equal(await box.inputValue(), 'something for B');
    await ann.evaluate((room) => (location.hash = `room=${room}`), roomA);
    await ann.locator('#room-name', { hasText: roomA }).waitFor();
    assert.equal(await box.inputValue(), '');
    assert.deepEqual(errors, []);
  });
});

describe('search', () => {
  async function searchFor(page, q) {
    const box = page.getByRole('searchbox', { name: 'Search this room' });
    await box.fill(q);
    await box.press('Enter');
  }

  test('more than one page of results, the hit marked in the message after a jump, and from:name', async () => {
    const room = uniqueRoom('search-more');
    // 60 matches: the 10 oldest wordy (a search ranks shorter messages first), the 50 newest short.
    const text = (i) => (i < 10 ? `apple number ${i}${i === 3 ? ' and a pear' : ''}, said with a great many other words around it` : `apple ${i}`);
    for (let part = 0; part < 4; part++) {
      // 15 a connection: one connection's burst allowance is 20 messages
      const bot = await Client.connect(suite.server.ws(room, { name: part === 0 ? 'bob' : 'dan' }));
      for (let i = part * 15; i < part * 15 + 15; i++) await bot.say(text(i));
      await bot.close();
    }
    const { page: ann, errors } = await person('ann', room);
    await say(ann, 'pear pie for lunch?');
    await item(ann, 'pear pie for lunch?').waitFor();
    const results = ann.locator('#search-results');
    await searchFor(ann, 'apple');
    await results.getByRole('heading', { name: '20+ messages match “apple”' }).waitFor();
    await results.getByRole('button', { name: 'More results' }).click();
    await results.getByRole('heading', { name: '40+ messages match “apple”' }).waitFor();
    await results.getByRole('button', { name: 'More results' }).click();
    await results.getByRole('heading', { name: '60 messages match “apple”' }).waitFor();
    assert.equal(await results.getByRole('button', { name: 'More results' }).count(), 0);
    const seqs = await results.locator('.search-hit').evaluateAll((hits) => hits.map((h) => h.dataset.seq));
    assert.equal(new Set(seqs).size, 60, 'each match once');
    // The hit is marked in the message jumped to, until the search closes.
    await searchFor(ann, 'pear');
    await results.getByRole('heading', { name: '2 messages match “pear”' }).waitFor();
    await results.locator('.search-hit', { hasText: 'apple number 3' }).click();
    const target = item(ann, 'apple number 3 and a pear');
    await target.locator('mark.hit', { hasText: 'pear' }).waitFor();
    assert.equal(await target.locator('.text').textContent(), text(3), 'the text itself is unchanged');
    // from:name keeps one author's: with words, and alone.
    await searchFor(ann, 'pear from:ann');
    await results.getByRole('heading', { name: '1 message matches “pear from:ann”' }).waitFor();
    assert.equal(await results.locator('.search-hit .who').textContent(), 'ann');
    await searchFor(ann, 'from:ann');
    await results.getByRole('heading', { name: '1 message matches “from:ann”' }).waitFor();
    await ann.getByRole('button', { name: 'Close', exact: true }).click();
    assert.equal(await target.locator('mark').count(), 0, 'unmarked once the search is closed');
    assert.deepEqual(errors, []);
  });
});

describe('the small things', () => {
  test('www. addresses and bare domains become safe links; an email address does not', async () => {
    const room = uniqueRoom('bare-links');
    const { page: ann, errors } = await person('ann', room);
    await say(ann, 'see www.example.org, example.com/docs?x=1 or mail ann@example.net.');
    const text = item(ann, 'see www.example.org').locator('.text');
    await text.waitFor();
    const links = await text.locator('a').evaluateAll((as) => as.map((a) => [a.textContent, a.href, a.rel, a.target]));
    assert.deepEqual(links, [
      ['www.example.org', 'https://www.example.org/', 'noopener noreferrer', '_blank'],
      ['example.com/docs?x=1', 'https://example.com/docs?x=1', 'noopener noreferrer', '_blank'],
    ]);
    assert.equal(await text.textContent(), 'see www.example.org, example.com/docs?x=1 or mail ann@example.net.');
    assert.deepEqual(errors, []);
  });

  test('an empty room says so and offers its invitation link; the first message replaces the hint', async () => {
    const room = uniqueRoom('empty');
    const { page: ann, errors } = await person('ann', room);
    const hint = ann.locator('#messages .empty');
    await hint.waitFor();
    assert.match(await hint.textContent(), /Nobody has written here yet\./);
    assert.equal(await hint.locator('.empty-link').textContent(), `${suite.server.base}/#room=${room}`);
    await say(ann, 'first!');
    await item(ann, 'first!').waitFor();
    await hint.waitFor({ state: 'detached' });
    assert.deepEqual(errors, []);
  });

  test('a reaction made while the room is out of reach shows as pending, then as sent', async () => {
    const room = uniqueRoom('react-offline');
    const { page: ann } = await person('ann', room);
    const net = { cut: false, sockets: [] };
    const { page: bob, errors } = await person('bob', room, {
      async beforeGoto(context) {
        await context.routeWebSocket(ROOM_SOCKETS, (ws) => {
          net.sockets.push(ws);
          if (!net.cut) ws.connectToServer(); // cut: the socket opens but reaches nothing
        });
      },
    });
    await say(ann, 'react to me');
    const target = item(bob, 'react to me');
    await target.waitFor();
    net.cut = true;
    net.sockets.at(-1).close({ code: 1001 });
    await bob.locator('#status', { hasText: /reconnecting|connecting/ }).waitFor();
    await target.getByRole('button', { name: 'React', exact: true }).click();
    await target.getByRole('button', { name: 'React with thumbs up' }).click();
    const chip = target.locator('.reaction', { hasText: '👍 1' });
    await chip.waitFor();
    assert.equal(await chip.getAttribute('class'), 'reaction pending');
    assert.match(await chip.getAttribute('title'), /Not sent yet/);
    net.cut = false;
    net.sockets.at(-1).close({ code: 1001 });
    await bob.locator('#status', { hasText: /^online$/ }).waitFor({ timeout: 20_000 });
    await target.locator('.reaction:not(.pending)', { hasText: '👍 1' }).waitFor();
    await item(ann, 'react to me').locator('.reaction', { hasText: '👍 1' }).waitFor();
    assert.deepEqual(errors, []);
  });
});

describe('expected and missing', () => {
  test('basic formatting is drawn as elements holding text, never as HTML', async () => {
    const room = uniqueRoom('format');
    const { page: ann, errors } = await person('ann', room);
    const { page: bob } = await person('bob', room);
    const text = '**bold** and _italic_ and `co*de*` <b>not bold</b>\n> a quote with **weight**\n```\nlet x = "<img src=x onerror=alert(1)>";\n```\nsnake_case_stays';
    await say(ann, text);
    const msg = item(bob, 'snake_case_stays');
    await msg.waitFor();
    const shape = await msg.locator('.text').evaluate((t) => ({
      strong: [...t.querySelectorAll('strong')].map((n) => n.textContent),
      em: [...t.querySelectorAll('em')].map((n) => n.textContent),
      code: [...t.querySelectorAll(':not(pre) > code')].map((n) => n.textContent),
      quote: t.querySelector('blockquote')?.textContent,
      block: t.querySelector('pre > code')?.textContent,
      markup: t.querySelectorAll('b, img, script').length,
    }));
    assert.deepEqual(shape, {
      strong: ['bold', 'weight'],
      em: ['italic'],
      code: ['co*de*'],
      quote: 'a quote with weight',
      block: 'let x = "<img src=x onerror=alert(1)>";',
      markup: 0,
    });
    assert.match(await msg.locator('.text').textContent(), /<b>not bold<\/b>/, 'HTML stays text');
    // Editing shows the text as written, markers and all.
    await item(ann, 'snake_case_stays').getByRole('button', { name: 'Edit', exact: true }).press('Enter');
    assert.equal(await ann.getByLabel('Message', { exact: true }).inputValue(), text);
    assert.equal(await bob.evaluate(() => window.__pwned), undefined);
    assert.deepEqual(errors, []);
  });

  test('"Jump to latest" whenever scrolled up; a message\'s permalink opens the room at it', async () => {
    const room = uniqueRoom('latest');
    const { page: ann, errors } = await person('ann', room, { viewport: { width: 900, height: 500 } });
    const chatter = await Client.connect(suite.server.ws(room, { name: 'chatter' }));
    for (let i = 0; i < 15; i++) await chatter.say(`line ${i}`);
    await chatter.close();
    await item(ann, 'line 14').waitFor();
    const latest = ann.getByRole('button', { name: 'Jump to latest' });
    assert.equal(await latest.isHidden(), true, 'at the bottom: no button');
    await ann.locator('#messages').evaluate((list) => (list.scrollTop = 0));
    await latest.waitFor();
    await latest.click();
    await latest.waitFor({ state: 'hidden' });
    assert.ok(await ann.locator('#messages').evaluate((l) => l.scrollHeight - l.scrollTop - l.clientHeight < 80), 'back at the bottom');
    // The permalink of an early message, opened in another browser, shows that message.
    await ann.context().grantPermissions(['clipboard-read', 'clipboard-write']);
    const early = item(ann, 'line 2');
    await early.hover();
    await early.getByRole('button', { name: 'Copy link' }).click();
    const link = await ann.evaluate(() => navigator.clipboard.readText());
    const seq = Number(await early.getAttribute('data-seq'));
    assert.equal(link, `${suite.server.base}/#room=${room}&msg=${seq}`);
    const { page: bob } = await person('bob', room, { viewport: { width: 900, height: 400 } });
    await bob.goto(link);
    await bob.reload();
    await bob.locator('#status', { hasText: /^online$/ }).waitFor();
    await eventually(() => bob.evaluate((s) => document.activeElement?.id === `msg-${s}`, seq), 5000, 'the linked message to have the focus');
    assert.deepEqual(errors, []);
  });
});

describe('accessibility', () => {
  /**
   * An axe-style pass over the page as it is (the rules an automated checker reports as serious,
   * checked by hand: no axe-core here): every control has an accessible name, every aria reference
   * points at an element, ids are unique, the page has a language and a main landmark, and nothing
   * focusable hides inside aria-hidden.
   */
  const violations = (page) =>
    page.evaluate(() => {
      const found = [];
      const visible = (n) => n.getClientRects().length > 0;
      const name = (n) =>
        (n.getAttribute('aria-label') ?? '').trim() ||
        (n.getAttribute('aria-labelledby') ?? '').split(/\s+/).map((id) => document.getElementById(id)?.textContent ?? '').join('').trim() ||
        (n.labels ? [...n.labels].map((l) => l.textContent).join('').trim() : '') ||
        (n.title ?? '').trim() ||
        (['INPUT', 'TEXTAREA', 'SELECT'].includes(n.tagName) ? '' : n.textContent.trim());
      for (const n of document.querySelectorAll('button, a[href], input:not([type=hidden]), textarea, select, [role=button]')) {
        if (visible(n) && !name(n)) found.push(`no accessible name: ${n.outerHTML.slice(0, 80)}`);
      }
      for (const n of document.querySelectorAll('[aria-labelledby], [aria-describedby], [aria-controls]')) {
        for (const attr of ['aria-labelledby', 'aria-describedby', 'aria-controls']) {
          for (const id of (n.getAttribute(attr) ?? '').split(/\s+/).filter(Boolean)) {
            if (!document.getElementById(id) && attr !== 'aria-controls') found.push(`${attr} → missing #${id}`);
          }
        }
      }
      const ids = [...document.querySelectorAll('[id]')].map((n) => n.id);
      for (const id of new Set(ids)) if (ids.filter((x) => x === id).length > 1) found.push(`duplicate id ${id}`);
      if (!document.documentElement.lang) found.push('no lang on <html>');
      if (!document.querySelector('main')) found.push('no main landmark');
      for (const n of document.querySelectorAll('[aria-hidden=true] button, [aria-hidden=true] a[href], [aria-hidden=true] input')) found.push(`focusable in aria-hidden: ${n.outerHTML.slice(0, 60)}`);
      for (const n of document.querySelectorAll('img:not([alt])')) found.push(`img without alt: ${n.src}`);
      return found;
    });

  test('no serious violations: the join form, a room with messages, the shortcut list, and on a phone', async () => {
    const room = uniqueRoom('a11y');
    const { page: first, errors } = await suite.open(`${suite.server.base}/#room=${room}`);
    assert.deepEqual(await violations(first), [], 'the join form');
    const { page: ann } = await person('ann', room);
    const { page: bob } = await person('bob', room, { viewport: { width: 390, height: 844 }, device: { isMobile: true, hasTouch: true } });
    await say(ann, 'hello **there**, see www.example.org');
    await say(bob, 'שלום');
    await item(ann, 'שלום').waitFor();
    await item(ann, 'hello').locator('.actions').evaluate(() => {}); // drawn
    assert.deepEqual(await violations(ann), [], 'a room on a desktop');
    await item(bob, 'hello').locator('.text').tap();
    assert.deepEqual(await violations(bob), [], 'a room on a phone, a message tapped');
    await ann.locator('#messages').focus();
    await ann.keyboard.press('?');
    await ann.locator('#shortcuts').waitFor();
    assert.deepEqual(await violations(ann), [], 'the shortcut list');
    assert.deepEqual(errors, []);
  });
});

describe('a moderator\'s deletion', () => {
  // The room logs a moderator's deletion but does not yet tell the room (src/room/living.rs): this test
  // plays the frame the page is built for, `{"type":"moderation","action":"delete","uid","seq","by","at"}`
  // (the shape of every other moderation frame), into the author's socket.
  test('its author is told a moderator deleted it, not shown it as their own deletion', async () => {
    const room = uniqueRoom('mod-delete');
    const sockets = [];
    const { page: ann, errors } = await person('ann', room, {
      async beforeGoto(context) {
        await context.routeWebSocket(ROOM_SOCKETS, (ws) => {
          ws.connectToServer();
          sockets.push(ws);
        });
      },
    });
    const { page: bob } = await person('bob', room);
    await say(ann, 'a message a moderator removes');
    const mine = item(ann, 'a message a moderator removes');
    await mine.waitFor();
    const seq = Number(await mine.getAttribute('data-seq'));
    const uid = await ann.evaluate(() => document.querySelector('#roster li.me .avatar')?.dataset.uid);
    // (the room's own deletion: the author's, standing in for the moderator's, which a plain test room cannot make)
    await mine.getByRole('button', { name: 'Delete', exact: true }).press('Enter');
    await mine.getByRole('button', { name: 'Yes, delete' }).click();
    await item(bob, 'a message a moderator removes').waitFor({ state: 'detached' });
    sockets.at(-1).send(JSON.stringify({ type: 'moderation', action: 'delete', uid, seq, by: { id: 'm1', name: 'Mo', uid: 'mo-uid' }, at: Date.now() }));
    await ann.locator(`#msg-${seq} .text.gone`, { hasText: 'a moderator (Mo) deleted your message' }).waitFor();
    assert.deepEqual(errors, []);
  });
});

describe('the join form', () => {
  test('a name over the limit is said while it is typed, before any round trip', async () => {
    const sockets = [];
    const { page, errors } = await suite.open(`${suite.server.base}/#room=${uniqueRoom('long-name')}`, {
      async beforeGoto(context) {
        context.on('page', (p) => p.on('websocket', (ws) => sockets.push(ws.url())));
      },
    });
    const hint = page.locator('#name-hint');
    await page.getByLabel('Your name').fill('n'.repeat(40));
    await hint.filter({ hasText: 'Names are at most 32 characters; this one has 40.' }).waitFor();
    assert.equal(sockets.length, 0, 'said without asking the room');
    await page.getByLabel('Your name').fill('ann');
    await hint.filter({ hasText: 'How the others in the room see you.' }).waitFor();
    assert.deepEqual(errors, []);
  });
});
