// Web Push on the page (issue 29) in headless Chromium against the real `wrangler dev`: the sidebar
// offers "Notify me" where the server has push on, asks the browser only on that click and says so
// when the browser refuses; each room's setting cycles from its entry; and the service worker shows a
// notification for a pushed payload (delivered through Chromium's DevTools protocol, the way a push
// service's message reaches it), titled for the sender, tagged per room, with the preview as its body;
// and signing out takes the device's subscription back (from the server and the browser) and closes
// what it shows.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startPushService } from './common/push-service.mjs';
import { eventually, getJson } from './common/harness.mjs';
import { browserSuite } from './common/browser.mjs';

const pair = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = pair.privateKey.export({ format: 'jwk' });
const vapidPublic = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]).toString('base64url');
const suite = browserSuite({
  vars: { VAPID_PUBLIC_KEY: vapidPublic, VAPID_PRIVATE_KEY: jwk.d, VAPID_SUBJECT: 'mailto:ops@example.com', PUSH_ALLOW_INSECURE: '127.0.0.1' },
});
let service; // the local push service a subscription's endpoint is at (tests/common/push-service.mjs)
before(async () => {
  service = await startPushService({ vapidPublicKey: vapidPublic });
});
after(() => service?.close());

/** The service worker's registration id, through the DevTools protocol. */
async function registrationId(cdp, origin) {
  let found = null;
  cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
    const r = registrations.find((x) => x.scopeURL.startsWith(origin) && !x.isDeleted);
    if (r) found = r.registrationId;
  });
  await cdp.send('ServiceWorker.enable');
  return eventually(() => found, 10_000, 'the service worker registration');
}

describe('notifications on the page', () => {
  test('the service worker shows a pushed notification, one per room', async () => {
    const room = `push-${crypto.randomBytes(4).toString('hex')}`;
    const origin = suite.server.base;
    const { page, context, errors } = await suite.join('ann', room, {
      beforeGoto: (ctx) => ctx.grantPermissions(['notifications'], { origin }),
    });
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    const cdp = await context.newCDPSession(page);
    const id = await registrationId(cdp, origin);
    const payload = (text, seq) => JSON.stringify({ room: 'design', seq, kind: 'mention', from: 'Bo', text, unread: seq, url: `/#room=design&msg=${seq}` });
    await cdp.send('ServiceWorker.deliverPushMessage', { origin, registrationId: id, data: payload('can you look?', 3) });
    const shown = () =>
      page.evaluate(async () =>
        (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag, url: n.data?.url })),
      );
    let list = await eventually(async () => ((await shown()).length ? shown() : null), 10_000, 'a notification');
    assert.equal(list.length, 1);
    assert.equal(list[0].title, 'Bo in design mentioned you');
    assert.equal(list[0].body, 'can you look? (3 unread)');
    assert.equal(list[0].tag, 'room:design');
    assert.equal(list[0].url, '/#room=design&msg=3');
    // A later push of the same room replaces the earlier notification.
    await cdp.send('ServiceWorker.deliverPushMessage', { origin, registrationId: id, data: payload('and this', 4) });
    await eventually(async () => (list = await shown()).some((n) => n.body.startsWith('and this')), 10_000, 'the newer one');
    assert.equal(list.length, 1, 'one notification per room');
    assert.deepEqual(errors, []);
  });

  test('signing out takes the subscription back, from the server and from the browser, and closes the notifications shown', async () => {
    const room = `push-${crypto.randomBytes(4).toString('hex')}`;
    const origin = suite.server.base;
    const sub = service.subscribe();
    const { page, context, errors } = await suite.join('cy', room, {
      async beforeGoto(ctx) {
        await ctx.grantPermissions(['notifications'], { origin });
        // Headless Chromium reaches no push service, so it has no subscription of its own to give: the
        // page gets the local service's, as PushManager.getSubscription() answers after "Notify me".
        await ctx.addInitScript((json) => {
          window.__subscription = { endpoint: json.endpoint, unsubscribed: false, toJSON: () => json, unsubscribe() { this.unsubscribed = true; return Promise.resolve(true); } };
          PushManager.prototype.getSubscription = () => Promise.resolve(window.__subscription.unsubscribed ? null : window.__subscription);
        }, sub.json);
      },
    });
    const key = await page.evaluate(() => localStorage.getItem('edge-chat:key'));
    const devices = async () => (await getJson(`${origin}/api/me/push?key=${key}`)).body.devices;
    // The server keeps the subscription, as "Notify me" leaves it.
    const kept = await page.evaluate((json) => fetch(`/api/me/push?key=${encodeURIComponent(localStorage.getItem('edge-chat:key'))}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(json) }).then((r) => r.status), sub.json);
    assert.equal(kept, 201);
    assert.equal(await devices(), 1);
    // A notification on screen.
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    const cdp = await context.newCDPSession(page);
    const id = await registrationId(cdp, origin);
    await cdp.send('ServiceWorker.deliverPushMessage', { origin, registrationId: id, data: JSON.stringify({ room, seq: 1, kind: 'message', from: 'Di', text: 'private words', unread: 1, url: `/#room=${room}&msg=1` }) });
    const shown = () => page.evaluate(async () => (await (await navigator.serviceWorker.ready).getNotifications()).length);
    await eventually(async () => (await shown()) === 1, 10_000, 'the notification');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#announcer', { hasText: 'Signed out.' }).waitFor();
    assert.equal(await devices(), 0, 'the server forgot the device');
    assert.equal(await page.evaluate(() => window.__subscription.unsubscribed), true, 'the browser let go of it');
    assert.equal(await shown(), 0, 'nothing of the person left on screen');
    assert.equal(await page.locator('#push-box').isVisible(), false);
    assert.deepEqual(errors, []);
  });

  test('"Notify me" asks only on a click, says when the browser refuses, and rooms cycle their setting', async () => {
    const room = `push-${crypto.randomBytes(4).toString('hex')}`;
    const { page, errors } = await suite.join('bo', room);
    const button = page.getByRole('button', { name: 'Notify me' });
    await button.waitFor();
    assert.equal(await page.evaluate(() => Notification.permission), 'default', 'nothing asked before the click');
    await button.click();
    await eventually(async () => /refused|blocked|Could not/.test(await page.locator('#push-state').textContent()), 10_000, 'the refusal said');
    await page.locator(`#sidebar li.entry[data-room="${room}"]`).waitFor();
    // The entry's actions show on hover or focus, as for a mouse user.
    await page.locator(`#sidebar li.entry[data-room="${room}"]`).hover();
    const notify = page.locator(`#sidebar li.entry[data-room="${room}"]`).getByRole('button', { name: /^Notify: / });
    assert.match(await notify.textContent(), /Notify: mentions/);
    await notify.click();
    // The list is drawn again: point at the new entry to read its actions.
    await eventually(async () => {
      await page.mouse.move(0, 0);
      await page.locator(`#sidebar li.entry[data-room="${room}"]`).hover();
      return /Notify: none/.test(await notify.textContent({ timeout: 2000 }));
    }, 10_000, 'the next setting');
    const state = await page.evaluate(() => fetch('/api/push/key').then((r) => r.json()));
    assert.equal(state.key, vapidPublic);
    assert.deepEqual(errors, []);
  });
});
