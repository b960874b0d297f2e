// Browser helpers for the page tests (tests/browser*.test.mjs): Debian's Chromium (never a downloaded
// one) driven by playwright-core, headless, with only 127.0.0.1 reachable, a page object per chat
// participant, and `browserSuite`, the server-and-browser setup each of those files shares.

import { after, afterEach, before } from 'node:test';
import { chromium } from 'playwright-core';
import { startServer } from './harness.mjs';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** A room's sockets (`/ws/{room}`), not the person's inbox socket (`/ws/me`), which the page keeps
 * beside the room's: what a test routes to play a room going away or refusing. */
export const ROOM_SOCKETS = /\/ws\/(?!me(?:[?#]|$))/;

export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage', '--disable-component-update'],
  });
}

/**
 * A fresh browser context (its own storage, like another person's browser) with one page on `url`.
 * Anything not addressed to 127.0.0.1 is aborted, and every console error, page error and CSP
 * violation is collected in `errors`, so a test can assert that the page stayed clean.
 * options: viewport, colorScheme ('light' | 'dark'), beforeGoto(context), device (more context options,
 * e.g. {isMobile: true, hasTouch: true} for a phone).
 */
export async function openPage(browser, url, { viewport = { width: 1000, height: 700 }, colorScheme = 'light', beforeGoto, device = {} } = {}) {
  const context = await browser.newContext({ viewport, colorScheme, locale: 'en-GB', timezoneId: 'UTC', ...device });
  await context.route('**/*', (route) => {
    const { hostname } = new URL(route.request().url());
    return hostname === '127.0.0.1' ? route.continue() : route.abort();
  });
  await beforeGoto?.(context); // e.g. routeWebSocket, which only sees sockets opened after it
  const page = await context.newPage();
  const errors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  page.on('pageerror', (err) => errors.push(String(err)));
  await page.goto(url);
  return { context, page, errors };
}

/** Opens the page for `room` (as an invitation link would) and joins as `name`; resolves when online. */
export async function joinChat(browser, base, { name, room, ...options }) {
  const chat = await openPage(browser, `${base}/#room=${room}`, options);
  const { page } = chat;
  await page.getByLabel('Your name').fill(name);
  await page.getByLabel('Your name').press('Enter');
  await page.locator('#status', { hasText: /^online$/ }).waitFor();
  return chat;
}

/** Types `text` into the message box and sends it with Enter, as a keyboard user would. */
export async function say(page, text) {
  const box = page.getByLabel('Message', { exact: true });
  await box.fill(text);
  await box.press('Enter');
}

/** The stored (acked or received) messages shown on a page, oldest first. */
export function shownMessages(page) {
  return page.locator('#messages li.msg:not(.pending)').evaluateAll((items) =>
    items.map((li) => ({
      name: li.querySelector('.who').textContent,
      text: li.querySelector('.text').textContent,
      own: li.classList.contains('own'),
      seq: Number(li.dataset.seq),
      time: li.querySelector('time')?.textContent ?? '',
    })),
  );
}

/**
 * The setup of a page-test file: one `wrangler dev` (started with `serverOptions`) and one Chromium
 * for the whole file, each person in a fresh browser context, closed after every test. `suite.server`
 * and `suite.browser` are set once the file's `before` ran (a test that restarts the server assigns
 * `suite.server`); `suite.join` and `suite.open` are joinChat and openPage whose contexts are closed
 * for you; a context opened otherwise goes into `suite.contexts`.
 */
export function browserSuite(serverOptions = {}) {
  const suite = {
    server: null,
    browser: null,
    contexts: [],
    async join(name, room, options = {}, base = suite.server.base) {
      const chat = await joinChat(suite.browser, base, { name, room, ...options });
      suite.contexts.push(chat.context);
      return chat;
    },
    async open(url, options) {
      const chat = await openPage(suite.browser, url, options);
      suite.contexts.push(chat.context);
      return chat;
    },
  };
  before(async () => {
    [suite.server, suite.browser] = await Promise.all([startServer(serverOptions), launchBrowser()]);
  });
  after(async () => {
    await suite.browser?.close();
    await suite.server?.stop();
  });
  afterEach(async () => {
    await Promise.all(suite.contexts.splice(0).map((c) => c.close().catch(() => {})));
  });
  return suite;
}
