// Search a room's history: the FTS5 index finds word stems and unaccented words, ranks by relevance,
// follows edits, deletions and the history limit, answers over HTTP and on the socket alike, and no
// query — quotes, `*`, `NEAR(`, `OR`, parentheses, empty, huge, random punctuation — gets anything but
// results or a 400 `bad_query`; a room stored before the index existed is indexed after its wake.
// Real wrangler dev, real WebSocket clients (and Python's sqlite3 to take a room back to schema v3).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Client, eventually, getJson, startServer, uniqueRoom } from './common/harness.mjs';

const HISTORY_LIMIT = 100;
let server;
before(async () => {
  server = await startServer({ vars: { HISTORY_LIMIT: String(HISTORY_LIMIT) } });
});
after(async () => {
  await server?.stop();
});

const key = () => crypto.randomBytes(18).toString('base64url');
const person = (room, name) => Client.connect(server.ws(room, { name, key: key() }));
const search = (room, params) =>
  getJson(`${server.base}/api/rooms/${room}/search?${new URLSearchParams(params)}`);
const seqs = (res) => res.body.results.map((r) => r.seq);

/** Sends `frame` with a fresh id and resolves with the answer carrying that id (ack, results, error). */
async function ask(client, frame) {
  const id = crypto.randomUUID();
  client.send({ ...frame, id });
  return client.next((f) => f.id === id);
}

describe('search', () => {
  test('stems and accents: "runs" finds "running", "cafe" finds "café"; best match first; snippets are safe HTML', async () => {
    const room = uniqueRoom('search');
    const ann = await person(room, 'ann');
    const running = await ann.say('I was running late for the meeting');
    const cafe = await ann.say('Meet me at the café <b>downstairs</b> & bring the notes');
    await ann.say('nothing to see here');
    const twice = await ann.say('meeting about the meeting schedule');

    const runs = await search(room, { q: 'runs' });
    assert.equal(runs.status, 200);
    assert.deepEqual(seqs(runs), [running.seq]);
    assert.equal(runs.body.has_more, false);
    assert.equal(runs.body.results[0].snippet, 'I was <mark>running</mark> late for the meeting');
    assert.equal(runs.body.results[0].text, 'I was running late for the meeting');
    assert.equal(runs.body.results[0].from.name, 'ann');
    assert.equal(typeof runs.body.results[0].ts, 'number');

    const cafes = await search(room, { q: 'CAFE notes' });
    assert.deepEqual(seqs(cafes), [cafe.seq]);
    const snippet = cafes.body.results[0].snippet;
    assert.match(snippet, /<mark>café<\/mark>/);
    assert.match(snippet, /&lt;b&gt;downstairs&lt;\/b&gt; &amp; bring the <mark>notes<\/mark>/);
    assert.equal(snippet.replace(/<\/?mark>/g, '').includes('<'), false, 'no markup but <mark>');

    // Stems both ways ("Meet" is "meeting"'s stem too); bm25 puts the message saying it twice first,
    // and the shorter of the other two before the longer.
    const meetings = await search(room, { q: 'meeting' });
    assert.deepEqual(seqs(meetings), [twice.seq, running.seq, cafe.seq]);
    // prefix, phrase, limit and before
    assert.deepEqual(seqs(await search(room, { q: 'sched*' })), [twice.seq]);
    assert.deepEqual(seqs(await search(room, { q: '"the meeting schedule"' })), [twice.seq]);
    assert.deepEqual(seqs(await search(room, { q: '"schedule the meeting"' })), []);
    const one = await search(room, { q: 'meeting', limit: '1' });
    assert.deepEqual([seqs(one), one.body.has_more], [[twice.seq], true]);
    assert.deepEqual(seqs(await search(room, { q: 'meeting', before: String(cafe.seq) })), [running.seq]);
    await ann.close();
  });

  test('the socket search answers the asker with search_results, and searches take rate-limit tokens', async () => {
    const room = uniqueRoom('search-ws');
    const ann = await person(room, 'ann');
    const bob = await person(room, 'bob');
    const m = await ann.say('the quick brown fox');
    const answer = await ask(bob, { type: 'search', q: 'foxes' });
    assert.equal(answer.type, 'search_results');
    assert.deepEqual(answer.results.map((r) => [r.seq, r.snippet]), [[m.seq, 'the quick brown <mark>fox</mark>']]);
    assert.equal(answer.has_more, false);
    const refused = await ask(bob, { type: 'search', q: '()' });
    assert.deepEqual([refused.type, refused.code], ['error', 'bad_query']);
    // A burst past RATE_BURST (20) of searches is refused like any other frame.
    const ids = Array.from({ length: 30 }, (_, i) => `burst-${i}`);
    for (const id of ids) bob.send({ type: 'search', q: 'fox', id });
    const answers = await Promise.all(ids.map((id) => bob.next((f) => f.id === id)));
    const limited = answers.filter((f) => f.type === 'error' && f.code === 'rate_limited').length;
    assert.ok(limited >= 5, `${limited} of 30 searches were rate limited`);
    assert.ok(answers.some((f) => f.type === 'search_results'));
    assert.equal(ann.all('search_results').length, 0, 'nobody else hears a search');
    await Promise.all([ann.close(), bob.close()]);
  });

  test('the index follows edits and deletions, and forgets what the history limit drops', async () => {
    const room = uniqueRoom('search-live');
    const ann = await person(room, 'ann');
    const zebra = await ann.say('a zebra crossing');
    const edited = await ask(ann, { type: 'edit', seq: zebra.seq, text: 'a giraffe crossing' });
    assert.equal(edited.type, 'ack');
    assert.deepEqual(seqs(await search(room, { q: 'zebra' })), []);
    const giraffe = await search(room, { q: 'giraffe' });
    assert.deepEqual(seqs(giraffe), [zebra.seq]);
    assert.equal(giraffe.body.results[0].version, 2);
    const gone = await ann.say('secret plans for the weekend');
    assert.equal((await ask(ann, { type: 'delete', seq: gone.seq })).type, 'ack');
    assert.deepEqual(seqs(await search(room, { q: 'secret plans' })), []);
    // Past HISTORY_LIMIT the oldest messages are neither read nor found.
    // (Seven writers, each within its own rate-limit bucket.)
    const writers = await Promise.all(Array.from({ length: 7 }, (_, i) => person(room, `w${i}`)));
    await Promise.all(writers.map(async (w, i) => {
      for (let j = 0; j < 19; j++) await w.say(`filler ${i}.${j}`);
    }));
    await Promise.all(writers.map((w) => w.close()));
    assert.deepEqual(seqs(await search(room, { q: 'giraffe' })), []);
    const fillers = await search(room, { q: 'filler', limit: '50' });
    assert.equal(fillers.body.results.length, 50);
    assert.equal(fillers.body.has_more, true);
    await ann.close();
  });

  test('hostile queries get results or 400 bad_query, never a 500 or an FTS syntax error', async () => {
    const room = uniqueRoom('search-hostile');
    const ann = await person(room, 'ann');
    await ann.say('cats OR dogs "quoted" NEAR(x y) col:umn ^start (paren');
    const hostile = [
      '"', '""', '"""', 'cats"', '"cats', '*', '**', 'cat*', '*cat', 'OR', 'cats OR', 'OR dogs', 'AND', 'NOT',
      'NOT cats', 'NEAR(', 'NEAR(cats dogs', 'NEAR(cats dogs, 2)', '(', ')', '(cats', 'cats)', '((((', 'text:cats',
      'col:umn', '^start', '-cats', '+cats', '{cats}', '[cats]', 'cats; DROP TABLE messages', "' OR 1=1 --",
      '\\', '\u0000', 'a\u0000b', '\u200b', '🙂', 'ß', 'İ', '漢字', '   ', '', 'x'.repeat(200),
    ];
    for (const q of hostile) {
      const res = await search(room, { q });
      assert.ok(
        res.status === 200 || (res.status === 400 && res.body.error.code === 'bad_query'),
        `${JSON.stringify(q)} -> ${res.status} ${JSON.stringify(res.body)}`,
      );
    }
    for (const q of ['NEAR(', 'cats OR', '"quoted"', '(paren']) {
      assert.equal((await search(room, { q })).body.results.length, 1, q);
    }
    const tooLong = await search(room, { q: 'x'.repeat(201) });
    assert.deepEqual([tooLong.status, tooLong.body.error.code], [400, 'bad_query']);
    const empty = await search(room, { q: '' });
    assert.deepEqual([empty.status, empty.body.error.code], [400, 'bad_query']);
    assert.equal((await getJson(`${server.base}/api/rooms/${room}/search`)).status, 400);
    for (const limit of ['0', '51', 'x', '-1']) {
      assert.equal((await search(room, { q: 'cats', limit })).body.error.code, 'bad_limit', limit);
    }
    // Random strings over FTS5's syntax characters.
    const alphabet = ['"', '*', '(', ')', ':', '^', '-', '+', ' ', 'OR', 'AND', 'NOT', 'NEAR', ',', 'cats', '\'', '\\', '.', 'é'];
    for (let i = 0; i < 150; i++) {
      const q = Array.from({ length: 1 + (i % 12) }, () => alphabet[crypto.randomInt(alphabet.length)]).join('');
      const res = await search(room, { q });
      assert.ok(res.status === 200 || res.body?.error?.code === 'bad_query', `${JSON.stringify(q)} -> ${res.status}`);
    }
    await ann.close();
  });

  test('a room stored before the index existed (schema v3) is indexed after its first wake, and stays in step', async () => {
    // A room written by this build, then taken back to schema v3 on disk — what every room looked
    // like before migration 4 — with Python's sqlite3 while no server runs; then served again.
    const old = await startServer({ vars: { RATE_BURST: '1000000', RATE_PER_SEC: '1000000' } });
    const room = uniqueRoom('pre-index');
    const words = { 5: 'the aardvark arrives', 7: 'an ocelot to edit', 1100: 'a wombat waves' };
    try {
      const ann = await Client.connect(old.ws(room, { name: 'ann', key: 'k'.repeat(24) }));
      for (let i = 1; i <= 1200; i += 200) {
        const batch = Array.from({ length: 200 }, (_, k) => ({ type: 'message', text: words[i + k] ?? `older message ${i + k}`, id: `m${i + k}` }));
        const acks = batch.map((f) => ann.next((x) => x.id === f.id, 60_000));
        for (const f of batch) ann.send(f);
        await Promise.all(acks);
      }
      await ann.close();
    } finally {
      await old.stop({ keepState: true });
    }
    const downgraded = execFileSync('python3', ['-c', `
import glob, sqlite3, sys
done = 0
for path in glob.glob(sys.argv[1] + '/v3/do/*ChatRoom/*.sqlite'):
    if path.endswith('/metadata.sqlite'):
        continue
    db = sqlite3.connect(path)
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'messages_fts'").fetchone():
        db.executescript("""
          DROP TRIGGER messages_fts_insert; DROP TRIGGER messages_fts_update; DROP TRIGGER messages_fts_delete;
          DROP TABLE messages_fts; DELETE FROM meta WHERE key = 'fts_pending';
          UPDATE meta SET value = 3 WHERE key = 'schema';""")
        done += 1
    db.commit()
    db.close()
print(done)
`, old.persistDir]).toString();
    assert.ok(Number(downgraded) >= 1, `no room database found to take back to v3 under ${old.persistDir}`);
    const served = await startServer({ persistDir: old.persistDir });
    const find = async (q) => (await getJson(`${served.base}/api/rooms/${room}/search?q=${q}`)).body.results.map((r) => r.seq);
    try {
      // 1200 messages, 500 per turn: the oldest are found once the last batch is done.
      await eventually(async () => (await find('aardvark')).length === 1, 10_000, 'seq 5 to be indexed');
      assert.deepEqual(await find('wombats'), [1100]);
      const older = await getJson(`${served.base}/api/rooms/${room}/search?q=older&limit=50`);
      assert.equal(older.body.has_more, true);
      const ann = await Client.connect(served.ws(room, { name: 'ann', key: 'k'.repeat(24) }));
      assert.equal((await ask(ann, { type: 'edit', seq: 7, text: 'a lynx now' })).type, 'ack');
      assert.deepEqual([await find('ocelot'), await find('lynx')], [[], [7]]);
      assert.equal((await ask(ann, { type: 'delete', seq: 5 })).type, 'ack');
      const fresh = await ann.say('a fresh aardvark');
      assert.deepEqual(await find('aardvark'), [fresh.seq]);
      await ann.close();
    } finally {
      await served.stop();
      rmSync(old.persistDir, { recursive: true, force: true });
    }
  });
});
