// How fast a visited room opens on the page, with and without the offline store: a room of N messages
// (default 1000) in a real `wrangler dev`, the page in Debian's headless Chromium under its service
// worker (a visited page), and for each load the time from navigation start to the first message
// inserted into the list and to the next animation frame after it (drawn). "Without the cache" is
// the same load after the page's IndexedDB was deleted (the room then waits for the welcome).
// Each pair is measured on loopback as it is, and with 150 ms of added latency per request and per
// socket handshake (Chromium's network emulation: a phone far from the server). Prints FIGURE lines
// (medians of R loads each).
//   node scripts/page-open.mjs [N=1000] [R=7]     (after `make build`)

import crypto from 'node:crypto';
import { launchBrowser } from '../tests/common/browser.mjs';
import { Client, startServer } from '../tests/common/harness.mjs';

const N = Number(process.argv[2] ?? 1000);
const R = Number(process.argv[3] ?? 7);
const server = await startServer({ vars: { RATE_BURST: '1000000', RATE_PER_SEC: '1000000' } });
const browser = await launchBrowser();
try {
  const room = `open-${Date.now()}`;
  const bob = await Client.connect(server.ws(room, { name: 'bob', key: crypto.randomBytes(18).toString('base64url') }));
  for (let i = 0; i < N; i += 200) {
    const batch = Array.from({ length: Math.min(200, N - i) }, (_, k) => ({ type: 'message', id: `m-${i + k}`, text: `message ${i + k}: the quick brown fox jumps over the lazy dog` }));
    const acks = batch.map((f) => bob.next((x) => x.type === 'ack' && x.id === f.id, 60_000));
    for (const f of batch) bob.send(f);
    await Promise.all(acks);
  }
  await bob.close();

  const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  await context.addInitScript(() => {
    localStorage.setItem('edge-chat:name', 'ann');
    window.__open = {};
    new MutationObserver((_, observer) => {
      if (!document.querySelector('#messages li.msg')) return;
      observer.disconnect();
      window.__open.inserted = performance.now();
      requestAnimationFrame(() => (window.__open.drawn = performance.now()));
    }).observe(document, { childList: true, subtree: true });
  });
  const page = await context.newPage();
  const url = `${server.base}/#room=${room}`;
  const online = () => page.locator('#status', { hasText: /^online$/ }).waitFor({ timeout: 60_000 });
  await page.goto(url);
  await online();
  await page.evaluate(() => navigator.serviceWorker.ready);
  // A few older pages, so the store holds the room's newest 1000 (the cap) as a long-time reader's would.
  for (let i = 0; i < 25 && (await page.evaluate(() => document.querySelectorAll('#messages li.msg').length)) < Math.min(N, 1000); i++) {
    await page.locator('#messages').evaluate((list) => (list.scrollTop = 0));
    await page.waitForTimeout(300);
  }
  const held = await page.evaluate(() => document.querySelectorAll('#messages li.msg').length);

  const load = async (cached) => {
    await page.goto(`${server.base}/favicon.svg`); // off the room: its client is gone
    if (!cached) {
      await page.evaluate(() => new Promise((resolve) => {
        const q = indexedDB.deleteDatabase('edge-chat');
        q.onsuccess = q.onerror = q.onblocked = resolve;
      }));
    }
    await page.goto(url);
    await online();
    await page.waitForFunction(() => window.__open.drawn);
    const shown = await page.evaluate(() => document.querySelectorAll('#messages li.msg').length);
    return { ...(await page.evaluate(() => window.__open)), shown };
  };
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  for (const latency of [0, 150]) {
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency, downloadThroughput: -1, uploadThroughput: -1 });
  const runs = { with: [], without: [] };
  for (let r = 0; r < R; r++) {
    runs.without.push(await load(false));
    // Refill the store as a visit does (the welcome's 50, then pages as the reader scrolls) before timing it.
    for (let i = 0; i < 25 && (await page.evaluate(() => document.querySelectorAll('#messages li.msg').length)) < held; i++) {
      await page.locator('#messages').evaluate((list) => (list.scrollTop = 0));
      await page.waitForTimeout(300);
    }
    await page.waitForTimeout(500); // the store's last write
    runs.with.push(await load(true));
  }
  for (const kind of ['without', 'with']) {
    const xs = runs[kind];
    console.log(`FIGURE page open, ${latency ? `+${latency} ms latency` : 'loopback'}, ${kind} the cache (room of ${N}, ${median(xs.map((x) => x.shown))} shown once online): first message inserted ${median(xs.map((x) => x.inserted)).toFixed(0)} ms, drawn ${median(xs.map((x) => x.drawn)).toFixed(0)} ms after navigation start (median of ${R})`);
  }
  }
} finally {
  await browser.close();
  await server.stop();
}
