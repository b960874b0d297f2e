// Files (docs/API.md "Files", docs/PROTOCOL.md "Files and previews"): uploads stream through the
// Worker into the R2 bucket `FILES` (wrangler dev's local R2), a message names them, a download gives
// back the same bytes with headers that make any file safe to serve from the chat's origin, and
// every file leaves the bucket with its message (deleted, trimmed, edited away) or after it waited
// unused too long. Every refusal is checked, with the right to send as a socket has it: a token, a
// ban, a mute, slow mode. Real wrangler dev, real R2, real sockets.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Client, eventually, getJson, startServer, uniqueRoom } from './common/harness.mjs';
import { png } from './common/png.mjs';

const API_TOKEN = 'test-api-token-files';
const JWT_SECRET = 'test-jwt-secret-files';
const TYPES = 'image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain,application/zip,image/svg+xml,text/html';

let open; // an open room's deployment
let signed; // a deployment where every room needs a token (JWT)
before(async () => {
  [open, signed] = await Promise.all([
    startServer({
      vars: { API_TOKEN, FILE_TYPES: TYPES, FILE_MAX_BYTES: '1000000', FILE_UNUSED_SECS: '5', HISTORY_LIMIT: '2', RATE_BURST: '1000', RATE_PER_SEC: '1000' },
    }),
    startServer({ vars: { API_TOKEN, JWT_SECRET } }),
  ]);
});
after(async () => {
  await Promise.all([open?.stop(), signed?.stop()]);
});

const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
/** An HS256 JWT for `room`, as an app's identity provider signs it. */
function jwt(room, sub, role = 'member') {
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, name: sub, role, rooms: [room], exp: Math.floor(Date.now() / 1000) + 600 })}`;
  return `${input}.${crypto.createHmac('sha256', JWT_SECRET).update(input).digest('base64url')}`;
}

/** A fresh identity key (what the page keeps in localStorage). */
const newKey = () => crypto.randomBytes(24).toString('base64url');

/** POSTs `bytes` as a file to `room`: {status, body}. */
function upload(server, room, bytes, { name = 'shot.png', type = 'image/png', key, token, headers = {} } = {}) {
  const h = { 'content-type': type, ...headers };
  if (key) h['x-edge-chat-key'] = key;
  if (token) h.authorization = `Bearer ${token}`;
  return getJson(`${server.base}/api/rooms/${room}/files?name=${encodeURIComponent(name)}`, { method: 'POST', headers: h, body: bytes });
}

/** GETs a file: {status, headers, bytes}. */
async function download(server, room, id, { thumb = false, headers = {}, query = '' } = {}) {
  const res = await fetch(`${server.base}/api/rooms/${room}/files/${id}${thumb ? '/thumb' : ''}${query}`, { headers });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

/** The keys of `room`'s objects in the bucket (the operators' listing). */
async function objects(server, room) {
  const res = await getJson(`${server.base}/api/rooms/${room}/files`, { headers: { authorization: `Bearer ${API_TOKEN}` } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.objects.map((o) => o.key).sort();
}

describe('uploads, messages and downloads', () => {
  test('an upload is stored, a message carries it, and the download is the same bytes with safe headers', async () => {
    const room = uniqueRoom('files');
    const key = newKey();
    const ann = await Client.connect(open.ws(room, { name: 'ann', key }));
    const bob = await Client.connect(open.ws(room, { name: 'bob' }));
    const limits = ann.welcome.limits;
    assert.deepEqual([limits.file_bytes, limits.files, limits.previews], [1_000_000, 10, true]);
    assert.ok(limits.file_types.includes('image/png'));

    const image = png(64, 48, [10, 200, 30], 5000);
    const up = await upload(open, room, image, { name: 'Zoë "shot".png', key });
    assert.equal(up.status, 201, JSON.stringify(up.body));
    const file = up.body.file;
    assert.match(file.id, /^[0-9a-f]{32}$/);
    assert.deepEqual(
      [file.name, file.type, file.size, file.width, file.height],
      ['Zoë "shot".png', 'image/png', image.length, 64, 48],
    );

    const ack = await ann.act({ type: 'message', text: 'look', files: [file.id] });
    const seen = await bob.next((f) => f.type === 'message' && f.seq === ack.seq);
    assert.deepEqual(seen.files, [file]);
    const page = await getJson(`${open.base}/api/rooms/${room}/messages`);
    assert.deepEqual(page.body.messages.at(-1).files, [file]);

    const got = await download(open, room, file.id);
    assert.equal(got.status, 200);
    assert.ok(got.bytes.equals(image), 'byte-identical');
    assert.equal(got.headers.get('content-type'), 'image/png');
    assert.equal(got.headers.get('x-content-type-options'), 'nosniff');
    assert.match(got.headers.get('content-security-policy'), /sandbox/);
    assert.match(got.headers.get('content-disposition'), /^inline; filename="Zo_ _shot_.png"; filename\*=UTF-8''Zo%C3%AB%20%22shot%22.png$/);
    assert.match(got.headers.get('cache-control'), /^private/);
    const etag = got.headers.get('etag');
    assert.ok(etag);

    const part = await download(open, room, file.id, { headers: { range: 'bytes=8-23' } });
    assert.equal(part.status, 206);
    assert.ok(part.bytes.equals(image.subarray(8, 24)));
    assert.equal(part.headers.get('content-range'), `bytes 8-23/${image.length}`);
    const tail = await download(open, room, file.id, { headers: { range: 'bytes=-12' } });
    assert.ok(tail.bytes.equals(image.subarray(image.length - 12)));
    const past = await download(open, room, file.id, { headers: { range: `bytes=${image.length + 5}-` } });
    assert.equal(past.status, 416);
    assert.equal(past.headers.get('content-range'), `bytes */${image.length}`);
    const cached = await download(open, room, file.id, { headers: { 'if-none-match': etag } });
    assert.equal(cached.status, 304);
    assert.equal(cached.bytes.length, 0);

    // the same id in another room names nothing there
    assert.equal((await download(open, uniqueRoom('elsewhere'), file.id)).status, 404);
    assert.equal((await download(open, room, 'f'.repeat(32))).status, 404);
    await Promise.all([ann.close(), bob.close()]);
  });

  test('an HTML page or an SVG with a script is served so that it cannot run', async () => {
    const room = uniqueRoom('hostile');
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>');
    const html = Buffer.from('<!doctype html><script>fetch("/api/rooms")</script>');
    for (const [bytes, type, name] of [[svg, 'image/svg+xml', 'x.svg'], [html, 'text/html', 'x.html']]) {
      const up = await upload(open, room, bytes, { type, name });
      assert.equal(up.status, 201, JSON.stringify(up.body));
      const got = await download(open, room, up.body.file.id);
      assert.ok(got.bytes.equals(bytes));
      assert.equal(got.headers.get('content-type'), type);
      assert.match(got.headers.get('content-disposition'), /^attachment;/, 'downloaded, never shown');
      assert.equal(got.headers.get('x-content-type-options'), 'nosniff');
      const csp = got.headers.get('content-security-policy');
      assert.match(csp, /(^|; )sandbox($|;)/, 'an opaque origin without script');
      assert.match(csp, /default-src 'none'/);
    }
  });

  test('what an upload may be: its size, its type, and bytes that match an image type', async () => {
    const room = uniqueRoom('refused');
    // FILE_MAX_BYTES is 1 MB here
    const big = await upload(open, room, png(8, 8, [0, 0, 0], 1_000_001));
    assert.deepEqual([big.status, big.body.error.code], [413, 'too_large']);
    assert.equal((await upload(open, room, png(8, 8, [0, 0, 0], 999_000))).status, 201);
    const exe = await upload(open, room, Buffer.from('MZ...'), { type: 'application/x-msdownload', name: 'a.exe' });
    assert.deepEqual([exe.status, exe.body.error.code], [415, 'unsupported_type']);
    const fake = await upload(open, room, Buffer.from('<svg onload=alert(1)>'), { type: 'image/png' });
    assert.deepEqual([fake.status, fake.body.error.code], [415, 'unsupported_type']);
    const bigFake = await upload(open, room, Buffer.alloc(900_000, 'x'), { type: 'image/png' });
    assert.deepEqual([bigFake.status, bigFake.body?.error?.code], [415, 'unsupported_type'], 'the answer arrives whole');
    const jpegAsPng = await upload(open, room, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16]), { type: 'image/png' });
    assert.equal(jpegAsPng.status, 415);
    const noName = await upload(open, room, png(1, 1), { name: '' });
    assert.deepEqual([noName.status, noName.body.error.code], [400, 'bad_request']);
    // a page of another site may not upload in a visitor's name
    const foreign = await upload(open, room, png(1, 1), { headers: { origin: 'https://evil.example' } });
    assert.deepEqual([foreign.status, foreign.body.error.code], [403, 'forbidden_origin']);
    assert.equal((await objects(open, room)).length, 1, 'nothing refused was stored');
  });

  test('a message may name only unused uploads of its room: others are bad_file and nothing is stored', async () => {
    const room = uniqueRoom('claims');
    const other = uniqueRoom('claims-other');
    const key = newKey();
    const ann = await Client.connect(open.ws(room, { name: 'ann', key }));
    const bob = await Client.connect(open.ws(room, { name: 'bob', key: newKey() }));
    const mine = (await upload(open, room, png(2, 2), { key })).body.file;
    const elsewhere = (await upload(open, other, png(2, 2), { key })).body.file;
    const refusal = (frame) => ann.act(frame).then(() => null, (e) => e.frame.code);
    assert.equal(await refusal({ type: 'message', files: [elsewhere.id] }), 'bad_file', 'another room');
    await assert.rejects(bob.act({ type: 'message', files: [mine.id] }), (e) => e.frame.code === 'bad_file', "ann's upload");
    assert.equal(await refusal({ type: 'message', files: ['0'.repeat(32)] }), 'bad_file', 'never uploaded');
    assert.equal(await refusal({ type: 'message', files: ['nope'] }), 'bad_file');
    const eleven = Array.from({ length: 11 }, (_, i) => i.toString(16).padStart(32, '0'));
    assert.equal(await refusal({ type: 'message', files: eleven }), 'too_large');
    assert.equal(ann.welcome.last_seq, (await getJson(`${open.base}/api/rooms/${room}`)).body.last_seq, 'nothing stored');
    const first = await ann.act({ type: 'message', text: '', files: [mine.id] });
    assert.equal(await refusal({ type: 'message', text: 'again', files: [mine.id] }), 'bad_file', 'used already');
    // a retry of the same message is acknowledged with its seq
    const retry = await ann.act({ type: 'message', text: '', files: [mine.id] }, first.id);
    assert.equal(retry.seq, first.seq);
    await Promise.all([ann.close(), bob.close()]);
  });
});

describe('the right to upload is the right to send', () => {
  test('a private room: a token for it, or 401/403; downloads need the read right too', async () => {
    const room = uniqueRoom('private');
    const none = await upload(signed, room, png(1, 1));
    assert.deepEqual([none.status, none.body.error.code], [401, 'unauthorized']);
    const wrong = await upload(signed, room, png(1, 1), { token: jwt(uniqueRoom('other'), 'ann') });
    assert.equal(wrong.status, 403);
    const up = await upload(signed, room, png(3, 3), { token: jwt(room, 'ann') });
    assert.equal(up.status, 201, JSON.stringify(up.body));
    const id = up.body.file.id;
    assert.equal((await download(signed, room, id)).status, 401);
    assert.equal((await download(signed, room, id, { query: `?token=${jwt(uniqueRoom('x'), 'eve')}` })).status, 403);
    const got = await download(signed, room, id, { headers: { authorization: `Bearer ${jwt(room, 'bob')}` } });
    assert.equal(got.status, 200);
    assert.ok(got.bytes.equals(png(3, 3)));
    assert.equal((await download(signed, room, id, { query: `?token=${jwt(room, 'bob')}` })).status, 200);
  });

  test('a banned or muted author may not upload; slow mode lets the upload of a message that could be sent', async () => {
    const room = uniqueRoom('rules');
    const mod = await Client.connect(signed.ws(room, { token: jwt(room, 'mo', 'moderator') }));
    const ann = await Client.connect(signed.ws(room, { token: jwt(room, 'ann') }));
    const uid = ann.welcome.you.uid;
    const tryUpload = () => upload(signed, room, png(1, 1), { token: jwt(room, 'ann') });
    await mod.act({ type: 'mute', uid, seconds: 60 });
    const muted = await tryUpload();
    assert.deepEqual([muted.status, muted.body.error.code], [403, 'muted']);
    // refused after its first bytes were read, a big file's refusal still arrives whole
    const big = await upload(signed, room, png(8, 8, [0, 0, 0], 4_000_000), { token: jwt(room, 'ann') });
    assert.deepEqual([big.status, big.body?.error?.code], [403, 'muted']);
    await mod.act({ type: 'unmute', uid });
    await mod.act({ type: 'slow_mode', seconds: 30 });
    assert.equal((await tryUpload()).status, 201, 'no message yet: the next may go');
    await ann.say('now');
    const slow = await tryUpload();
    assert.deepEqual([slow.status, slow.body.error.code], [429, 'slow_mode']);
    await mod.act({ type: 'slow_mode', seconds: 0 });
    await mod.act({ type: 'ban', uid });
    const banned = await tryUpload();
    assert.deepEqual([banned.status, banned.body.error.code], [403, 'banned']);
    await mod.close();
  });
});

describe('files leave the bucket with their messages', () => {
  test('deleting a message, editing a file away and trimming the history delete their objects', async () => {
    const room = uniqueRoom('gone');
    const key = newKey();
    const ann = await Client.connect(open.ws(room, { name: 'ann', key }));
    const up = async (n) => (await upload(open, room, png(n, n), { key })).body.file;
    const [a, b] = [await up(1), await up(2)];
    const thumb = await fetch(`${open.base}/api/rooms/${room}/files/${a.id}/thumb`, {
      method: 'POST',
      headers: { 'content-type': 'image/webp', 'x-edge-chat-key': key },
      body: Buffer.from('RIFF\x1a\0\0\0WEBPVP8L\x0d\0\0\0\x2f\0\0\0\x10\x07\x10\x11\x11\x88\x88\xfe\x07\0', 'latin1'),
    });
    assert.equal(thumb.status, 201, await thumb.clone().text());
    assert.equal((await thumb.json()).file.thumb, true);
    const keyOf = (f) => `${room}/${f.id}`;
    assert.deepEqual(await objects(open, room), [keyOf(a), `${keyOf(a)}/thumb`, keyOf(b)].sort());

    const first = await ann.act({ type: 'message', text: 'two', files: [a.id, b.id] });
    await ann.act({ type: 'edit', seq: first.seq, files: [b.id] });
    await eventually(async () => !(await objects(open, room)).includes(keyOf(a)), 10_000, 'the edited-away file to go');
    assert.ok(!(await objects(open, room)).includes(`${keyOf(a)}/thumb`), 'its thumbnail with it');
    // an edit may not add a file
    const c = await up(3);
    await assert.rejects(ann.act({ type: 'edit', seq: first.seq, files: [b.id, c.id] }), (e) => e.frame.code === 'bad_file');
    await ann.act({ type: 'delete', seq: first.seq });
    await eventually(async () => !(await objects(open, room)).includes(keyOf(b)), 10_000, 'the deleted message\'s file to go');

    // HISTORY_LIMIT is 2 here: the 64th message trims what is older, files and all
    const kept = await ann.act({ type: 'message', text: 'kept a while', files: [c.id] });
    for (let i = 0; kept.seq + i < 64; i++) await ann.say(`filler ${i}`);
    await eventually(async () => (await objects(open, room)).length === 0, 10_000, 'the trimmed message\'s file to go');
    assert.equal((await download(open, room, c.id)).status, 404);
    await ann.close();
  });

  test('an upload no message uses is swept when FILE_UNUSED_SECS (5 here) has passed', async () => {
    const room = uniqueRoom('swept');
    const unused = (await upload(open, room, png(4, 4))).body.file;
    const used = (await upload(open, room, png(5, 5))).body.file;
    const ann = await Client.connect(open.ws(room, { name: 'ann' }));
    await ann.act({ type: 'message', text: 'this one', files: [used.id] });
    await eventually(async () => !(await objects(open, room)).includes(`${room}/${unused.id}`), 20_000, 'the unused upload to be swept');
    assert.deepEqual(await objects(open, room), [`${room}/${used.id}`], 'the used one stays');
    assert.equal((await download(open, room, used.id)).status, 200);
    await ann.close();
  });
});

describe('streaming', () => {
  test('a 25 MB upload goes through without the Worker holding it: its wasm memory grows by less than 2 MB', async () => {
    const room = uniqueRoom('big');
    const health = async () => (await getJson(`${signed.base}/health`, { headers: { authorization: `Bearer ${API_TOKEN}` } })).body.wasm_memory_bytes;
    const image = png(32, 32, [1, 2, 3], 25_000_000 - png(32, 32, [1, 2, 3]).length - 12);
    assert.equal(image.length, 25_000_000);
    const before = await health();
    assert.ok(before > 0);
    const up = await upload(signed, room, image, { name: 'big.png', token: jwt(room, 'ann') });
    assert.equal(up.status, 201, JSON.stringify(up.body));
    assert.deepEqual([up.body.file.size, up.body.file.width], [25_000_000, 32]);
    const grown = (await health()) - before;
    console.log(`FIGURE wasm memory growth during a 25 MB upload: ${grown} B`);
    assert.ok(grown < 2 * 1024 * 1024, `the wasm memory grew by ${grown} B`);
    const got = await download(signed, room, up.body.file.id, { query: `?token=${jwt(room, 'ann')}` });
    assert.equal(got.bytes.length, image.length);
    assert.ok(crypto.createHash('sha256').update(got.bytes).digest().equals(crypto.createHash('sha256').update(image).digest()));
  });
});
