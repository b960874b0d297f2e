// One member's searches cannot stall a room (issue 24, item 1). A room of 4,000 messages of ~2.5 KB,
// every one of which matches the broadest query the server accepts; one member floods that query over
// the socket at 10 frames a second (the frame rate allows it) while another member keeps talking. The
// talker's ack latency under the flood is measured against quiet, in the same run.
//
// Before the fix, `a* b* … p*` (16 one-letter prefixes) cost ~0.4 s of the room's only thread each,
// and a 5 s flood delayed the talker's acks by ~25 s. Now a prefix needs 2 characters, a query holds at
// most 4 prefixes, the index has prefix entries, only the newest 200 matches are ranked, and a
// connection's searches draw on a bucket of their own (SEARCH_BURST, SEARCH_PER_SEC).
//
// Seeding goes through the HTTP bot API (4,000 posts, 8 in flight): ~15-30 s on a busy 2-core machine.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, test } from 'node:test';
import { Client, figure, getJson, now, pool, sleep, startServer, stats, uniqueRoom } from './common/harness.mjs';

const API_TOKEN = 'search-stall-token';
const MESSAGES = 4000;
let server;
before(async () => {
  server = await startServer({ vars: { API_TOKEN } });
});
after(async () => {
  await server?.stop();
});

// A deterministic vocabulary (the same room every run), and 16 words every message holds: their first
// letters are a…p, so the old worst query `a* … p*` matches every row; `th* an* re* st*` too.
let state = 42;
const rand = (n) => {
  state = (state * 1103515245 + 12345) % 2147483648;
  return state % n;
};
const letters = 'abcdefghijklmnopqrstuvwxyz';
const vocabulary = Array.from({ length: 5000 }, () =>
  Array.from({ length: 3 + rand(7) }, () => letters[rand(26)]).join(''));
const EVERY = ['apple', 'banana', 'cherry', 'date', 'elder', 'fig', 'grape', 'honey', 'ink', 'jam', 'kiwi',
  'lemon', 'mango', 'nut', 'olive', 'pear', 'the', 'and', 'report', 'status'];
function text() {
  const words = [...EVERY];
  let length = words.join(' ').length;
  while (length < 2500) {
    const w = vocabulary[rand(vocabulary.length)];
    words.push(w);
    length += w.length + 1;
  }
  return words.join(' ');
}

const OLD_BROADEST = 'a* b* c* d* e* f* g* h* i* j* k* l* m* n* o* p*';
const NEW_BROADEST = 'th* an* re* st* apple banana cherry date elder fig grape honey ink jam kiwi lemon';

test('a member flooding the broadest searches does not hold up another member\'s acks', async () => {
  const room = uniqueRoom('stall');
  const t0 = now();
  await pool(Array.from({ length: MESSAGES }, (_, i) => i), 8, async (i) => {
    const res = await getJson(`${server.base}/api/rooms/${room}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` },
      body: JSON.stringify({ name: 'seeder', text: text(), id: `seed-${i}` }),
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  });
  figure('search stall: seeding 4,000 × 2.5 KB (s)', Math.round((now() - t0) / 100) / 10);

  // The broadest query this server accepts: the old one where it is still allowed.
  const probe = await getJson(`${server.base}/api/rooms/${room}/search?${new URLSearchParams({ q: OLD_BROADEST })}`);
  const broadest = probe.status === 200 ? OLD_BROADEST : NEW_BROADEST;
  if (probe.status !== 200) assert.equal(probe.body.error.code, 'bad_query');
  const timed = [];
  for (let i = 0; i < 3; i++) {
    const t = now();
    const res = await getJson(`${server.base}/api/rooms/${room}/search?${new URLSearchParams({ q: broadest })}`);
    timed.push(now() - t);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.results.length, 20, 'the query matches every message');
  }
  figure(`search stall: one broadest search over HTTP (ms), q=${JSON.stringify(broadest)}`, stats(timed));

  const key = () => crypto.randomBytes(18).toString('base64url');
  const talker = await Client.connect(server.ws(room, { name: 'talker', key: key() }));
  const searcher = await Client.connect(server.ws(room, { name: 'searcher', key: key() }));

  /** Sends one message every 100 ms for `ms`; resolves with each ack's latency. */
  async function talk(ms) {
    const latencies = [];
    const acks = [];
    const end = now() + ms;
    for (let i = 0; now() < end; i++) {
      const id = crypto.randomUUID();
      const sent = now();
      talker.send({ type: 'message', text: `still here ${i}`, id });
      acks.push(talker.next((f) => f.id === id, 120_000).then((f) => {
        assert.equal(f.type, 'ack', JSON.stringify(f));
        latencies.push(now() - sent);
      }));
      await sleep(100);
    }
    await Promise.all(acks);
    return latencies;
  }

  const quiet = stats(await talk(3000));
  // The flood: 10 searches a second for 5 s, the talker talking all along.
  const answers = [];
  const flood = (async () => {
    for (let i = 0; i < 50; i++) {
      const id = `s${i}`;
      searcher.send({ type: 'search', q: broadest, id });
      answers.push(searcher.next((f) => f.id === id, 120_000));
      await sleep(100);
    }
  })();
  const loud = stats(await talk(5000));
  await flood;
  const answered = await Promise.all(answers);
  const ran = answered.filter((f) => f.type === 'search_results').length;
  const limited = answered.filter((f) => f.type === 'error' && f.code === 'rate_limited').length;
  figure('search stall: talker ack latency quiet (ms)', quiet);
  figure('search stall: talker ack latency under the search flood (ms)', loud);
  figure('search stall: searches answered / rate limited', `${ran} / ${limited}`);
  assert.equal(ran + limited, 50, 'every search is answered with results or rate_limited');
  assert.ok(ran >= 1, 'searching still works');
  // Quiet p99 is a few ms; before the fix the flood's was ~25 s.
  assert.ok(loud.p99 < Math.max(1000, 20 * quiet.p99), `ack p99 under the flood ${loud.p99} ms (quiet ${quiet.p99} ms)`);
  await Promise.all([talker.close(), searcher.close()]);
});
