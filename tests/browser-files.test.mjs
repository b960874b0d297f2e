// Files and previews on the page (the server half is tests/files.test.mjs and tests/previews.test.mjs):
// in Debian's headless Chromium against the real `wrangler dev` and its local R2, two browsers. An
// image pasted into the box uploads with a progress bar and a thumbnail the browser makes, shows on
// both pages (the thumbnail, from the room's own origin), and opens full size; a file that is not an
// image is a chip that downloads; a link gets its page's card, which its author can remove; and a
// hostile file, opened on its own, runs nothing.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { freePort, getJson, uniqueRoom } from './common/harness.mjs';
import { browserSuite, say } from './common/browser.mjs';
import { png } from './common/png.mjs';

const webPort = await freePort();
let web;
let beacons = 0; // requests a hostile file's script would make
const suite = browserSuite({
  vars: { PREVIEW_ALLOW_HOSTS: `127.0.0.1:${webPort}`, FILE_TYPES: 'image/png,image/webp,text/plain,image/svg+xml' },
});
before(async () => {
  web = http.createServer((req, res) => {
    if (req.url.startsWith('/beacon')) {
      beacons++;
      return res.end();
    }
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<html><head><title>x</title><meta property="og:title" content="The &lt;linked&gt; page">
      <meta property="og:description" content="What it is about"><meta property="og:site_name" content="Local Web"></head></html>`);
  });
  await new Promise((r) => web.listen(webPort, '127.0.0.1', r));
});
after(() => web?.close());

const person = suite.join;
const box = (page) => page.getByLabel('Message', { exact: true });
/** The stored message whose files include one named `name`. */
const withFile = (page, name) => page.locator('#messages li.msg:not(.pending)').filter({ has: page.locator(`img[alt="${name}"], .file-name:text-is("${name}")`) });

/** Pastes `files` ({name, type, base64}) into the message box, as a clipboard with files would. */
function paste(page, files) {
  return box(page).evaluate((input, all) => {
    const dt = new DataTransfer();
    for (const f of all) {
      const bytes = Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0));
      dt.items.add(new File([bytes], f.name, { type: f.type }));
    }
    input.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
  }, files);
}

describe('files and previews on the page', () => {
  test('a pasted image uploads with its progress and a thumbnail, shows on both pages, and opens full size', async () => {
    const room = uniqueRoom('paste');
    const { page: ann, errors } = await person('ann', room);
    const { page: bob, errors: bobErrors } = await person('bob', room);
    // Progress values as the page shows them, recorded as they change.
    await ann.evaluate(() => {
      window.progressSeen = [];
      new MutationObserver(() => {
        for (const p of document.querySelectorAll('.upload progress')) window.progressSeen.push([p.value, p.max]);
      }).observe(document.getElementById('uploads'), { subtree: true, childList: true, attributes: true });
    });
    const image = png(640, 480, [30, 120, 220], 600_000);
    await paste(ann, [{ name: 'screenshot.png', type: 'image/png', base64: image.toString('base64') }]);
    const upload = ann.locator('#uploads .upload', { hasText: 'screenshot.png' });
    await upload.and(ann.locator('.uploaded')).waitFor();
    const [value, max] = await upload.locator('progress').evaluate((p) => [p.value, p.max]);
    assert.ok(max > 0 && value === max, `the bar is full once uploaded (${value}/${max})`);
    assert.ok((await ann.evaluate(() => window.progressSeen.length)) > 0, 'the bar was drawn while it went');

    await box(ann).fill('my screen');
    await box(ann).press('Enter');
    for (const page of [ann, bob]) {
      const img = withFile(page, 'screenshot.png').locator('img.thumb');
      await img.waitFor();
      await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await img.elementHandle());
      const { src, natural } = await img.evaluate((el) => ({ src: el.src, natural: el.naturalWidth }));
      assert.match(src, /\/files\/[0-9a-f]{32}\/thumb$/, 'the thumbnail the browser made, stored beside the image');
      assert.ok(natural <= 320, `a thumbnail, not the full image (${natural} px)`);
    }
    const stored = (await getJson(`${suite.server.base}/api/rooms/${room}/messages`)).body.messages;
    const [file] = stored.at(-1).files;
    assert.deepEqual([file.name, file.type, file.width, file.height, file.thumb], ['screenshot.png', 'image/png', 640, 480, true]);
    assert.equal(stored.at(-1).text, 'my screen');

    // a click opens the full image
    await withFile(bob, 'screenshot.png').locator('button.file-image').click();
    const full = bob.locator('#lightbox img');
    await bob.locator('#lightbox[open]').waitFor();
    await bob.waitForFunction((el) => el.complete && el.naturalWidth > 0, await full.elementHandle());
    assert.equal(await full.evaluate((el) => el.naturalWidth), 640);
    assert.match(await bob.locator('#lightbox-caption').textContent(), /screenshot\.png · 640×480/);
    await bob.keyboard.press('Escape');
    await bob.locator('#lightbox:not([open])').waitFor({ state: 'attached' });

    // a file that is not an image, chosen with the button: a chip that downloads it
    await ann.locator('#file-input').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello file') });
    await ann.locator('#uploads .upload.uploaded', { hasText: 'notes.txt' }).waitFor();
    await box(ann).press('Enter'); // files alone: no text needed
    const chip = withFile(bob, 'notes.txt').locator('a.file-chip');
    await chip.waitFor();
    assert.match(await chip.textContent(), /notes\.txt.*10 B.*text\/plain/);
    const download = bob.waitForEvent('download');
    await chip.click();
    assert.equal((await download).suggestedFilename(), 'notes.txt');
    assert.deepEqual([...errors, ...bobErrors], [], 'no console errors, no CSP violations');
  });

  test('a link shows its page\'s card on both pages, as text; its author removes it', async () => {
    const room = uniqueRoom('card');
    const { page: ann, errors } = await person('ann', room);
    const { page: bob } = await person('bob', room);
    await say(ann, `read http://127.0.0.1:${webPort}/article please`);
    for (const page of [ann, bob]) {
      const card = page.locator('#messages .preview');
      await card.waitFor();
      assert.equal(await card.locator('.preview-title').textContent(), 'The <linked> page', 'text, not markup');
      assert.equal(await card.locator('.preview-site').textContent(), 'Local Web');
      assert.equal(await card.locator('a').getAttribute('href'), `http://127.0.0.1:${webPort}/article`);
      assert.equal(await card.locator('a').getAttribute('rel'), 'noopener noreferrer');
    }
    assert.equal(await bob.locator('.preview-remove').count(), 0, 'only its author may remove it');
    await ann.locator('.preview-remove').click();
    await bob.locator('#messages .preview').waitFor({ state: 'detached' });
    assert.deepEqual(errors, []);
  });

  test('an uploaded SVG with a script, opened on its own, runs nothing', async () => {
    const room = uniqueRoom('svg');
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>fetch("http://127.0.0.1:${webPort}/beacon")</script></svg>`;
    const up = await getJson(`${suite.server.base}/api/rooms/${room}/files?name=x.svg`, { method: 'POST', headers: { 'content-type': 'image/svg+xml' }, body: svg });
    assert.equal(up.status, 201);
    const { page } = await suite.open(`${suite.server.base}/`);
    // Opened by its URL, it is a download (attachment), never a document of the chat's origin.
    const download = page.waitForEvent('download');
    await page.evaluate((url) => {
      const a = document.createElement('a');
      a.href = url;
      document.body.append(a);
      a.click();
    }, `/api/rooms/${room}/files/${up.body.file.id}`);
    await download;
    // Even loaded as a document where a browser would show it, the sandbox keeps its script off.
    const res = await page.context().request.get(`${suite.server.base}/api/rooms/${room}/files/${up.body.file.id}`);
    assert.match(res.headers()['content-security-policy'], /sandbox/);
    assert.equal(beacons, 0);
  });
});
