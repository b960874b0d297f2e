// What search costs: fills a fresh room of a real `wrangler dev` with N messages of varied text (a
// fixed pseudo-random mix of common and rare words, 4–20 words each), reports the room's SQLite size
// per message, then times searches one after another — over HTTP (`GET …/search`, through the Worker
// and the Durable Object hop) and on the socket (the `search` frame) — and prints p50/p99 per kind
// of query. Run it on two builds for the index's size (the old build answers searches with 404,
// which is then all it says about them).
//   node scripts/search-cost.mjs [N=10000] [SEARCHES=200]     (after `make build`)

import { Client, getJson, startServer, stats } from '../tests/common/harness.mjs';

const N = Number(process.argv[2] ?? 10_000);
const SEARCHES = Number(process.argv[3] ?? 200);

// A deterministic generator (mulberry32), so every run and every build stores the same texts.
let seed = 15;
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const COMMON = 'the a to and of is in it you that for on with this be are at have was not but we can they just so what'.split(' ');
const SYLLABLES = 'ka lo mi ne ru sa te vi zo pa de fi gu ho ja ke li mo nu pe qui ra si tu'.split(' ');
const RARE = Array.from({ length: 3000 }, () =>
  Array.from({ length: 2 + Math.floor(random() * 3) }, () => SYLLABLES[Math.floor(random() * SYLLABLES.length)]).join(''),
);
// Zipf-like: low indexes (frequent words) are picked far more often.
const rare = () => RARE[Math.floor(RARE.length * random() ** 3)];
const text = () =>
  Array.from({ length: 4 + Math.floor(random() * 17) }, () => (random() < 0.45 ? COMMON[Math.floor(random() * COMMON.length)] : rare())).join(' ');

const server = await startServer({ vars: { RATE_BURST: '1000000', RATE_PER_SEC: '1000000' } });
try {
  const room = `search-cost-${Date.now()}`;
  const size = async () => (await getJson(`${server.base}/api/rooms/${room}`)).body.storage_bytes;
  const ann = await Client.connect(server.ws(room, { name: 'ann' }));
  const empty = await size();
  let textBytes = 0;
  for (let i = 0; i < N; i += 200) {
    const batch = Array.from({ length: Math.min(200, N - i) }, (_, k) => ({ type: 'message', text: text(), id: `m${i + k}` }));
    for (const f of batch) textBytes += Buffer.byteLength(f.text);
    const acks = batch.map((f) => ann.next((x) => (x.type === 'ack' || x.type === 'error') && x.id === f.id, 60_000));
    for (const f of batch) ann.send(f);
    for (const a of await Promise.all(acks)) if (a.type === 'error') throw new Error(JSON.stringify(a));
  }
  const full = await size();
  console.log(`FIGURE storage: ${((full - empty) / N).toFixed(1)} B per message (${empty} -> ${full} B; text ${(textBytes / N).toFixed(1)} B per message on average)`);

  const kinds = {
    'one common word': () => COMMON[Math.floor(random() * COMMON.length)],
    'one rare word': () => RARE[Math.floor(random() * RARE.length)],
    'two words': () => `${rare()} ${rare()}`,
    prefix: () => `${rare().slice(0, 3)}*`,
    phrase: () => `"${COMMON[Math.floor(random() * COMMON.length)]} ${rare()}"`,
  };
  const probe = await getJson(`${server.base}/api/rooms/${room}/search?q=the`);
  if (probe.status !== 200) {
    console.log(`search: ${probe.status} (this build has no search)`);
  } else {
    for (const [kind, make] of Object.entries(kinds)) {
      const http = [];
      const socket = [];
      let hits = 0;
      for (let i = 0; i < SEARCHES / Object.keys(kinds).length; i++) {
        const q = make();
        let t = performance.now();
        const res = await getJson(`${server.base}/api/rooms/${room}/search?${new URLSearchParams({ q, limit: '20' })}`);
        http.push(performance.now() - t);
        if (res.status !== 200) throw new Error(`${q}: ${res.status} ${JSON.stringify(res.body)}`);
        hits += res.body.results.length;
        t = performance.now();
        const id = `s${kind}${i}`;
        ann.send({ type: 'search', q, id, limit: 20 });
        await ann.next((f) => f.id === id, 30_000);
        socket.push(performance.now() - t);
      }
      const h = stats(http);
      const s = stats(socket);
      console.log(
        `FIGURE search ${kind}: HTTP p50 ${h.p50.toFixed(1)} p99 ${h.p99.toFixed(1)} ms; socket p50 ${s.p50.toFixed(1)} p99 ${s.p99.toFixed(1)} ms (${h.n} each, ${(hits / h.n).toFixed(1)} results on average)`,
      );
    }
  }
  await ann.close();
} finally {
  await server.stop();
}
