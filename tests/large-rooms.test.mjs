// Large rooms: batched delivery (batch=1) next to v1 connections, presence by counts above
// PRESENCE_THRESHOLD for a crowd of 1,000 sockets, and sockets that fell silent dropped. Real wrangler
// dev, real WebSocket clients. The long crowd is in tests/soak/ (`make soak`).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, joinChat, say, shownMessages } from './common/browser.mjs';
import { CLOSE_SILENT } from './common/close-codes.mjs';
import { Client, eventually, figure, sleep, startServer, uniqueRoom } from './common/harness.mjs';
import { presenceCrowdScenario } from './scenarios/presence-crowd.mjs';

const THRESHOLD = 100;
let server;
before(async () => {
  server = await startServer({ vars: { RATE_PER_SEC: 1000, RATE_BURST: 1000 } });
});
after(async () => {
  await server?.stop();
});

/** Every frame `client` got (the harness reads a batch as its frames). */
const flat = (client) => client.frames;

describe('batched delivery', () => {
  test('batched and v1 connections in one room each see every message once, in seq order', async () => {
    const room = uniqueRoom('batch');
    const v1 = await Promise.all(['ann', 'bob'].map((name) => Client.connect(server.ws(room, { name }))));
    const batched = await Promise.all(['cy', 'dan'].map((name) => Client.connect(server.ws(room, { name, batch: '1' }))));
    assert.equal(batched[0].welcome.type, 'welcome', 'the welcome comes alone, as the first frame');
    const everyone = [...v1, ...batched];
    const senders = [v1[0], batched[0], batched[1]];
    // Sent back to back, so flushes hold several messages each.
    const acks = await Promise.all(senders.flatMap((c, i) => Array.from({ length: 20 }, (_, k) => c.say(`m${i}.${k}`))));
    const all = acks.map((a) => a.seq).sort((a, b) => a - b);
    for (const c of everyone) {
      const mine = new Set(acks.filter((_, j) => senders[Math.floor(j / 20)] === c).map((a) => a.seq));
      const want = all.filter((s) => !mine.has(s));
      await eventually(() => flat(c).filter((f) => f.type === 'message').length >= want.length, 10_000, 'all messages');
      assert.deepEqual(flat(c).filter((f) => f.type === 'message').map((f) => f.seq), want, 'each message once, in seq order');
      assert.equal(flat(c).filter((f) => f.type === 'ack').length, mine.size, 'an ack for each own message');
    }
    for (const c of v1) assert.equal(c.batches.length, 0, 'a v1 connection never sees a batch frame');
    const batches = batched.flatMap((c) => c.batches);
    assert.ok(batches.length > 0, 'batched connections got batch frames');
    for (const n of batches) assert.ok(n >= 2, 'a batch holds two frames or more (one goes alone)');
    const wire = (c) => c.raw.length;
    assert.ok(wire(batched[1]) < wire(v1[1]), `fewer WebSocket frames batched (${wire(batched[1])}) than v1 (${wire(v1[1])})`);
    // A frame of its own turn (typing) arrives alone, as it is.
    v1[1].send({ type: 'typing' });
    await batched[0].next('typing');
    for (const c of everyone) await c.close();
  });
});

describe('presence above the threshold', () => {
  test('a crowd of 1,000 sockets: counts right, joins and leaves coalesced, roster pages complete', async () => {
    const { figures } = await presenceCrowdScenario({ server, room: uniqueRoom('presence'), size: 1000, threshold: THRESHOLD });
    assert.ok(figures.framesPerSocketToConnect < 40, `frames per socket to connect stay bounded: ${figures.framesPerSocketToConnect}`);
    figure('presence crowd (1,000 sockets)', figures);
  });

  test('the HTTP roster refuses a bad page', async () => {
    const res = await fetch(`${server.base}/api/rooms/${uniqueRoom('r')}/members?limit=0`);
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error.code, 'bad_limit');
    const bad = await fetch(`${server.base}/api/rooms/${uniqueRoom('r')}/members?after=A%3B`);
    assert.equal(bad.status, 400);
  });
});

describe('silent sockets', () => {
  let quick;
  before(async () => {
    quick = await startServer({ vars: { SILENT_AFTER: 2 } });
  });
  after(async () => {
    await quick?.stop();
  });

  test('a socket that pinged and then fell silent is dropped on the room\'s next event; one that never pings stays', async () => {
    const room = uniqueRoom('silent');
    const vanished = await Client.connect(quick.ws(room, { name: 'lid' }));
    const pinger = await Client.connect(quick.ws(room, { name: 'tab' }));
    const quiet = await Client.connect(quick.ws(room, { name: 'v1' }));
    assert.equal(vanished.welcome.limits.silent_after, 2);
    vanished.send('ping');
    await vanished.next((f) => f.type === '_text' && f.text === 'pong');
    // `vanished` never pings again, as a tab that was closed without a close frame; `pinger` keeps on.
    const keepAlive = setInterval(() => pinger.send('ping'), 500);
    try {
      await sleep(3000);
      const late = await Client.connect(quick.ws(room, { name: 'late' }));
      const closed = await vanished.closedPromise();
      assert.equal(closed.code, CLOSE_SILENT, 'closed as going away');
      const names = late.welcome.members.map((u) => u.name).sort();
      assert.deepEqual(names, ['late', 'tab', 'v1'], 'the welcome no longer lists the silent socket');
      await pinger.next((f) => f.type === 'leave' && f.user.name === 'lid');
      assert.equal(quiet.closed, null, 'a client that never pings is never taken for gone');
      await late.close();
    } finally {
      clearInterval(keepAlive);
    }
    await pinger.close();
    await quiet.close();
  });
});

describe('the page in a large room', () => {
  let small;
  let browser;
  before(async () => {
    [small, browser] = await Promise.all([startServer({ vars: { PRESENCE_THRESHOLD: 3 } }), launchBrowser()]);
  });
  after(async () => {
    await browser?.close();
    await small?.stop();
  });

  test('above the threshold the page shows the count, pages the roster on demand, and reads batched frames', async () => {
    const room = uniqueRoom('page-large');
    const crowd = await Promise.all(Array.from({ length: 60 }, (_, i) => Client.connect(small.ws(room, { name: `guest${i}` }))));
    const { page, errors, context } = await joinChat(browser, small.base, { name: 'ann', room });
    await page.locator('#online-count', { hasText: /^61$/ }).waitFor();
    const listed = () => page.locator('#roster .who').count();
    const shownFirst = await listed();
    assert.ok(shownFirst < 61, `a first page only (${shownFirst})`);
    await page.locator('#roster li.more button').click();
    await eventually(async () => (await listed()) > shownFirst, 10_000, 'the next roster page is shown');
    // Two leave and one joins: the count follows within a presence interval.
    await Promise.all([crowd[0].close(), crowd[1].close(), Client.connect(small.ws(room, { name: 'late' })).then((c) => crowd.push(c))]);
    await page.locator('#online-count', { hasText: /^60$/ }).waitFor({ timeout: 10_000 });
    // Messages sent back to back reach the page (batch=1) once each, in order.
    for (let i = 0; i < 10; i++) crowd[2 + (i % 3)].send({ type: 'message', text: `burst ${i}`, id: `b${i}` });
    await eventually(async () => (await shownMessages(page)).length === 10, 10_000, 'ten messages shown');
    const shown = await shownMessages(page);
    assert.deepEqual(shown.map((m) => m.text).sort(), Array.from({ length: 10 }, (_, i) => `burst ${i}`).sort(), 'each once');
    assert.ok(shown.every((m, i) => i === 0 || m.seq > shown[i - 1].seq), 'in seq order');
    await say(page, 'hello crowd');
    await crowd[5].next((f) => f.type === 'message' && f.text === 'hello crowd');
    assert.deepEqual(errors, []);
    await context.close();
    await Promise.all(crowd.slice(2).map((c) => c.close()));
  });
});

describe('across hibernation', () => {
  let sleepy;
  before(async () => {
    sleepy = await startServer({ vars: { PRESENCE_THRESHOLD: 2 } });
  });
  after(async () => {
    await sleepy?.stop();
  });

  test('a batched connection stays batched and a large room keeps counting after the room hibernated', async () => {
    const room = uniqueRoom('sleepy');
    const batched = await Client.connect(sleepy.ws(room, { name: 'ann', batch: '1' }));
    const others = [];
    for (const name of ['bob', 'cy', 'dan']) others.push(await Client.connect(sleepy.ws(room, { name })));
    const info = async () => (await fetch(`${sleepy.base}/api/rooms/${room}`)).json();
    const before = (await info()).instance;
    await sleep(15_000); // past the ~11 s after which workerd evicts an idle object
    // The first frame wakes it: the roster and each socket's framing come back from the attachments.
    for (let i = 0; i < 10; i++) others[0].send({ type: 'message', text: `after ${i}`, id: `a${i}` });
    await eventually(() => batched.all('message').length === 10, 10_000, 'ten messages after the wake');
    assert.notEqual((await info()).instance, before, 'the room was rebuilt');
    assert.deepEqual(batched.all('message').map((m) => m.text), Array.from({ length: 10 }, (_, i) => `after ${i}`));
    assert.ok(batched.batches.length > 0, 'still batched after the wake');
    assert.equal(others[1].batches.length, 0, 'still v1 after the wake');
    const late = await Client.connect(sleepy.ws(room, { name: 'eve' }));
    assert.equal(late.welcome.online, 5, 'the count includes everyone restored');
    const p = await batched.next((f) => f.type === 'presence' && f.joined.some((u) => u.name === 'eve'));
    assert.equal(p.online, 5);
    for (const c of [batched, ...others, late]) await c.close();
  });
});
