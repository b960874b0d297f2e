// Link previews (docs/PROTOCOL.md "Files and previews"): the first link of a new message is fetched
// by the room after the message is acknowledged and broadcast, and what the page says of itself is
// recorded as a change of the message (`message_updated` under a new `rev`, in history and in a
// resume's changes). A real HTTP server on 127.0.0.1 stands in for the web — allowed by
// PREVIEW_ALLOW_HOSTS, as only a test may — and plays the hostile pages too: huge, slow, redirect
// loops, redirects to an address the rules refuse, not HTML. None of them breaks or holds up a message.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { Client, eventually, freePort, getJson, startServer, uniqueRoom } from './common/harness.mjs';

/** The web: `hits[path]` counts requests; `held` are the slow page's responses, never finished. */
function startWeb(port) {
  const web = { hits: {}, held: [], closed: 0, sent: {} };
  const page = (title, more = '') =>
    `<!doctype html><html><head><title>plain title</title>
     <meta property="og:title" content="${title}">
     <meta property="og:description" content="A page about &lt;things&gt; &amp; more">
     <meta property="og:site_name" content="Test Site">
     <meta property="og:image" content="/cover.png">${more}</head><body><h1>hello</h1></body></html>`;
  web.server = http.createServer((req, res) => {
    const path = req.url.split('?')[0];
    web.hits[path] = (web.hits[path] ?? 0) + 1;
    const done = () => (web.sent[path] = (web.sent[path] ?? 0) + 1);
    res.on('finish', done);
    switch (path) {
      case '/page':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return res.end(page('An OG <b>title</b>'));
      case '/moved':
        res.writeHead(301, { location: '/page' });
        return res.end();
      case '/huge': {
        // 4 MB, its tags at the start: only the first 512 KB are ever read.
        res.writeHead(200, { 'content-type': 'text/html' });
        res.write(page('Huge page'));
        const filler = `<p>${'x'.repeat(64 * 1024)}</p>`;
        let left = 64;
        const more = () => {
          while (left > 0) {
            left--;
            if (!res.write(filler)) return res.once('drain', more);
          }
          res.end();
        };
        res.on('close', () => (left = 0));
        return more();
      }
      case '/slow':
        // Headers, then nothing: the room gives up after its timeout.
        res.writeHead(200, { 'content-type': 'text/html' });
        res.write('<html><head>');
        web.held.push(res);
        req.on('close', () => web.closed++);
        return;
      case '/loop':
        res.writeHead(302, { location: '/loop' });
        return res.end();
      case '/to-local':
        res.writeHead(302, { location: `http://127.0.0.1:${web.trapPort}/secret` });
        return res.end();
      case '/binary':
        res.writeHead(200, { 'content-type': 'image/png' });
        return res.end(Buffer.alloc(2048, 1));
      default:
        res.writeHead(404, { 'content-type': 'text/plain' });
        return res.end('no');
    }
  });
  return new Promise((resolve) => web.server.listen(port, '127.0.0.1', () => resolve(web)));
}

let server;
let web;
let trap; // an address on the loopback no preview may reach: counts any request
let trapHits = 0;
before(async () => {
  const [webPort, trapPort] = [await freePort(), await freePort()];
  web = await startWeb(webPort);
  web.trapPort = trapPort;
  trap = http.createServer((req, res) => {
    trapHits++;
    res.end('<title>secret</title>');
  });
  await new Promise((r) => trap.listen(trapPort, '127.0.0.1', r));
  server = await startServer({ vars: { PREVIEW_ALLOW_HOSTS: `127.0.0.1:${webPort}` } });
  web.base = `http://127.0.0.1:${webPort}`;
});
after(async () => {
  for (const res of web?.held ?? []) res.destroy();
  await server?.stop();
  web?.server.close();
  trap?.close();
});

const updateOf = (client, seq) => client.next((f) => f.type === 'message_updated' && f.message.seq === seq, 15_000);
const stored = async (room, seq) =>
  (await getJson(`${server.base}/api/rooms/${room}/messages?after=${seq - 1}&limit=1`)).body.messages[0];

describe('link previews', () => {
  test('a link gets its page\'s preview as a later change, in live frames, history and a resume', async () => {
    const room = uniqueRoom('preview');
    const ann = await Client.connect(server.ws(room, { name: 'ann', key: 'k'.repeat(20) }));
    const bob = await Client.connect(server.ws(room, { name: 'bob' }));
    const link = `${web.base}/page`;
    const ack = await ann.act({ type: 'message', text: `have a look: ${link}.` });
    const message = await bob.next((f) => f.type === 'message' && f.seq === ack.seq);
    assert.equal(message.preview, undefined, 'the message goes out before any preview');
    const update = await updateOf(bob, ack.seq);
    assert.deepEqual(update.message.preview, {
      url: link,
      title: 'An OG <b>title</b>',
      description: 'A page about <things> & more',
      site: 'Test Site',
      image: `${web.base}/cover.png`,
    });
    assert.equal(update.rev, ack.rev + 1);
    assert.equal((await updateOf(ann, ack.seq)).rev, update.rev, 'the sender hears it too');
    assert.deepEqual((await stored(room, ack.seq)).preview, update.message.preview);
    // a client that left before the preview came gets it on its resume
    const back = await Client.connect(server.ws(room, { name: 'cy', after: ack.seq, since: ack.rev }));
    assert.deepEqual(back.welcome.changes.map((m) => [m.seq, m.preview?.title]), [[ack.seq, 'An OG <b>title</b>']]);

    // a redirect is followed, and the preview names the link as written
    const moved = await ann.act({ type: 'message', text: `${web.base}/moved` });
    assert.equal((await updateOf(bob, moved.seq)).message.preview.url, `${web.base}/moved`);

    // the sender removes it
    await ann.act({ type: 'edit', seq: ack.seq, preview: false });
    const removed = await updateOf(bob, ack.seq);
    assert.equal(removed.message.preview, undefined);
    assert.equal((await stored(room, ack.seq)).preview, undefined);
    await Promise.all([ann.close(), bob.close(), back.close()]);
  });

  test('hostile pages never break or hold up a message, and never get a preview', async () => {
    const room = uniqueRoom('hostile');
    const ann = await Client.connect(server.ws(room, { name: 'ann' }));
    const bob = await Client.connect(server.ws(room, { name: 'bob' }));

    // slow: the message is acknowledged and broadcast while the page still holds the fetch
    const slow = await ann.say(`${web.base}/slow`);
    await bob.next((f) => f.type === 'message' && f.seq === slow.seq);
    await eventually(() => web.held.length === 1, 5_000, 'the room to ask for the slow page');
    assert.equal(web.closed, 0, 'acked and broadcast before the page answered');
    await eventually(() => web.closed === 1, 10_000, 'the room to give up on the slow page');

    const loop = await ann.say(`see ${web.base}/loop`);
    const local = await ann.say(`${web.base}/to-local`);
    const binary = await ann.say(`${web.base}/binary`);
    const huge = await ann.say(`${web.base}/huge`);
    for (const m of [loop, local, binary, huge]) await bob.next((f) => f.type === 'message' && f.seq === m.seq);

    // the huge page is read only so far, and its tags are at the start: it has a preview
    assert.equal((await updateOf(bob, huge.seq)).message.preview.title, 'Huge page');
    await eventually(() => web.sent['/binary'] === 1 && web.hits['/to-local'] === 1 && web.hits['/loop'] === 4, 10_000, () => `the other fetches to end: ${JSON.stringify(web.hits)}`);
    // one more preview after those: by its time every earlier fetch has been dealt with
    const last = await ann.say(`${web.base}/page`);
    await updateOf(bob, last.seq);
    assert.equal(web.hits['/loop'], 4, 'the link and three redirects, no more');
    assert.equal(trapHits, 0, 'a redirect to a refused address is not followed');
    for (const m of [slow, loop, local, binary]) {
      assert.equal((await stored(room, m.seq)).preview, undefined, `no preview for ${m.seq}`);
    }
    assert.equal(bob.all('message_updated').filter((f) => [slow, loop, local, binary].some((m) => m.seq === f.message.seq)).length, 0);
    await Promise.all([ann.close(), bob.close()]);
  });

  test('links to loopback and private addresses outside the allow list are never fetched', async () => {
    const room = uniqueRoom('ssrf');
    const ann = await Client.connect(server.ws(room, { name: 'ann' }));
    const trapPort = web.trapPort;
    const texts = [
      `http://127.0.0.1:${trapPort}/secret`,
      `http://localhost:${trapPort}/`,
      `http://[::1]:${trapPort}/`,
      `http://2130706433:${trapPort}/`,
      'http://169.254.169.254/latest/meta-data/',
    ];
    const acks = [];
    for (const text of texts) acks.push(await ann.say(text));
    const last = await ann.say(`${web.base}/page`);
    await updateOf(ann, last.seq);
    assert.equal(trapHits, 0);
    for (const a of acks) assert.equal((await stored(room, a.seq)).preview, undefined);
    await ann.close();
  });
});
