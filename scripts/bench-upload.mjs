// Upload throughput through the Worker into R2 (`wrangler dev`'s local R2), issue 30's figure: files
// of SIZE_MB posted one after another, then PARALLEL at once, each answered 201 and counted only
// then; MB/s is decimal megabytes of file per second of wall time, and the wasm memory the Worker
// reports before and after (it only grows) shows whether the bytes ever passed through it.
//   node scripts/bench-upload.mjs            (SIZE_MB=10, COUNT=10, PARALLEL=4)
// A timing, so not a test: the machine's load moves it. The test suite checks the bound it implies
// (tests/files.test.mjs: a 25 MB upload grows the wasm memory by less than 2 MB).

import crypto from 'node:crypto';
import { startServer } from '../tests/common/harness.mjs';
import { png } from '../tests/common/png.mjs';

const SIZE_MB = Number(process.env.SIZE_MB ?? 10);
const COUNT = Number(process.env.COUNT ?? 10);
const PARALLEL = Number(process.env.PARALLEL ?? 4);
const API_TOKEN = 'bench-upload';

const bytes = SIZE_MB * 1e6;
const head = png(64, 64, [1, 2, 3]);
const file = png(64, 64, [1, 2, 3], bytes - head.length - 12);

const server = await startServer({ vars: { API_TOKEN, FILE_UNUSED_SECS: '3600' } });
const memory = async () =>
  (await (await fetch(`${server.base}/health`, { headers: { authorization: `Bearer ${API_TOKEN}` } })).json()).wasm_memory_bytes;
async function upload(i) {
  const res = await fetch(`${server.base}/api/rooms/bench-upload/files?name=f${i}.png`, {
    method: 'POST',
    // A key each: an author may hold only 20 uploads no message uses.
    headers: { 'content-type': 'image/png', 'x-edge-chat-key': crypto.randomBytes(24).toString('base64url') },
    body: file,
  });
  const body = await res.text();
  if (res.status !== 201) throw new Error(`upload ${i}: ${res.status} ${body}`);
}
try {
  await upload(-1); // warm the isolate and the room's object
  const before = await memory();
  let t = performance.now();
  for (let i = 0; i < COUNT; i++) await upload(i);
  const serial = (COUNT * bytes) / 1e6 / ((performance.now() - t) / 1000);
  t = performance.now();
  await Promise.all(Array.from({ length: COUNT }, (_, i) => i).reduce((lanes, i) => {
    lanes[i % PARALLEL].push(i);
    return lanes;
  }, Array.from({ length: PARALLEL }, () => [])).map(async (lane) => {
    for (const i of lane) await upload(COUNT + i);
  }));
  const parallel = (COUNT * bytes) / 1e6 / ((performance.now() - t) / 1000);
  const grown = (await memory()) - before;
  console.log(`FIGURE upload ${SIZE_MB} MB files, one at a time: ${serial.toFixed(1)} MB/s`);
  console.log(`FIGURE upload ${SIZE_MB} MB files, ${PARALLEL} at once: ${parallel.toFixed(1)} MB/s`);
  console.log(`FIGURE wasm memory growth over ${2 * COUNT} uploads (${(2 * COUNT * SIZE_MB)} MB): ${grown} B`);
} finally {
  await server.stop();
}
