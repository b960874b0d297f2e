// Renders docs/PERFORMANCE.md from the JSON lines `scripts/bench.sh` collected (one per generator run,
// tagged with scenario, server and path) and the machine facts it passes in the environment.
// Usage: node scripts/bench-report.mjs RESULTS.jsonl OUT.md
// Issue 33's sections (the targets, the anchors' table, storms, cold start, many rooms, memory, fan-out,
// the feature slots, the wasm per feature) are rendered by scripts/bench/report.mjs; a feature's own
// section by its bench/features/NAME.mjs.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { lineChart } from './bench/plot.mjs';
import * as product from './bench/report.mjs';

const [resultsPath, outPath] = process.argv.slice(2);
const rows = readFileSync(resultsPath, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
const env = process.env;
const find = (scenario, server, path = 'proxy') =>
  rows.find((r) => r.scenario === scenario && r.server === server && r.path === path);
const f = (x, d = 1) => (x === undefined || x === null ? '–' : Number(x).toFixed(d));
const n = (x) => (x === undefined || x === null ? '–' : Math.round(x).toLocaleString('en-US'));
const ratio = (a, b) => (a && b ? (a / b).toFixed(2) : '–');
const kb = (b) => `${(b / 1024).toFixed(1)} KiB`;
const clean = (r) => r && r.lost === 0 && r.duplicated === 0 && r.out_of_order === 0 && r.errors === 0 && r.foreign === 0;

const SERVERS = ['baseline', 'rbatch', 'stored', 'batched', 'dbatch', 'edgena', 'edgena-batch', 'edge'];
const NAMES = {
  baseline: 'baseline: raw relay, no storage',
  rbatch: 'batched relay: one batch frame per socket per turn, no storage',
  stored: 'baseline + one SQLite INSERT per frame, one commit each',
  batched: 'durable relay: one SQLite INSERT per frame, group commit',
  dbatch: 'durable batched relay: group commit, then one batch frame per socket',
  edgena: 'edge-chat without [assets] (no asset router)',
  'edgena-batch': 'edge-chat without [assets], every client batch=1',
  edge: 'edge-chat, as shipped (static assets)',
};
const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined);
const out = [];
const p = (s = '') => out.push(s);
p('# edge-chat performance');
p();
p('Written by `make bench` (scripts/bench.sh); every figure below comes from one run of it. edge-chat');
p('runs with history persisted (SQLite, default `HISTORY_LIMIT`, trimming on), acks, idempotency and');
p('validation on; only the per-connection rate limit is raised (`RATE_PER_SEC`/`RATE_BURST` = 1000000),');
p('because the generator sends far faster than a person. The baseline (`bench/baseline/relay.js`) is a');
p('hibernating JavaScript Durable Object that forwards each frame unchanged to the room\'s other sockets:');
p('no parsing, no storage. A second instance of it (`--var STORE:1`) also appends each frame to SQLite');
p('before relaying it, in the frame\'s own event, so each frame costs the runtime one commit; a third');
p('(`--var STORE:batch`) queues the frames that arrive before a zero-delay timer fires and writes them');
p('in that one turn, so they share one commit (group commit, as edge-chat does): the ceiling for a relay');
p('that keeps history durable before anyone sees it. Two more (`--var SEND:batch`, alone and with');
p('`STORE:batch`) send the frames of one turn as one `batch` frame per socket, as edge-chat does for its');
p('`batch=1` connections: the batched relay and the durable batched relay, the floor for that path.');
p('edge-chat runs twice: as shipped, and with the same');
p('build but a `wrangler.toml` without `[assets]` — with static assets, wrangler dev routes every request,');
p('`/ws` included, through an asset router worker, and each WebSocket frame crosses one more pipe inside');
p('workerd; the baselines serve no assets, so that second row is the like-for-like one. All of them run');
p('under the same `wrangler dev` (local workerd) on this machine, at the same time, measured one after');
p('the other by the same load generator (`bench/`, one process, one clock for send → receipt).');
p();
p('`wrangler dev` serves its URL through a proxy worker in a second workerd process, which relays every');
p('WebSocket frame once more. Scenario A is measured straight at the user worker\'s own entry socket');
p('(**direct**; `BENCH_A_PATHS="direct proxy"` adds the proxy rows); B–D and the anchors\' table go through');
p('the proxy (**proxy**), as a developer would; the storms and many rooms go direct (the proxy takes ~6 file');
p('descriptors per socket).');
p();
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
for (const line of product.targets(rows, env)) p(line);
p('## Scenario A — 50 clients, 1 room, 5 senders: saturation');
p();
p('The per-sender rate doubles, then bisects, up to the highest rate whose run has zero loss, duplication');
p(`and reordering, p99 ≤ ${rows.find((r) => r.mode === 'saturate')?.p99_bound_ms ?? 100} ms and ≥ 95 % of the offered deliveries arriving within the window`);
p('("saturation"); then it runs again at half that rate. A failing step is run once more before it');
p('counts: on this shared machine a burst of other work can spoil one run\'s p99.');
p();
p('| server | path | saturation rate (msg/s per sender) | deliveries/s | p50 ms | p99 ms | at half rate: p50 / p90 / p99 / max ms | ratio to baseline |');
p('|---|---|---:|---:|---:|---:|---|---:|');
for (const path of ['direct', 'proxy']) {
  const base = find('A', 'baseline', path);
  for (const server of SERVERS) {
    const r = find('A', server, path);
    if (!r) continue;
    const s = r.saturation;
    const h = r.half;
    p(`| ${NAMES[server]} | ${path} | ${f(r.saturation_rate)} | ${n(s?.deliveries_per_s)} | ${f(s?.latency_ms.p50, 2)} | ${f(s?.latency_ms.p99, 2)} | ${h ? `${f(h.latency_ms.p50, 2)} / ${f(h.latency_ms.p90, 2)} / ${f(h.latency_ms.p99, 2)} / ${f(h.latency_ms.max, 2)}` : '–'}${h && !clean(h) ? ' LOSSY' : ''} | ${ratio(s?.deliveries_per_s, base?.saturation?.deliveries_per_s)} |`);
  }
}
p();
p('### The same load at one fixed rate: server CPU per delivery');
p();
p('50 clients, 5 senders at 20 msg/s each (4,900 deliveries/s), direct, two rounds interleaved. The CPU');
p('time is the user worker\'s workerd process (all its threads) from the first send to the end of the drain,');
p('divided by the deliveries: a figure the machine\'s other work hardly moves, unlike saturation.');
p();
p('| server | CPU µs per delivery (rounds) | mean | ratio baseline / server | p50 / p90 / p99 / max ms (round 1) |');
p('|---|---|---:|---:|---|');
const fixed = (server) => rows.filter((r) => r.scenario.startsWith('A20-') && r.server === server).map((r) => r.result);
const baseCpu = mean(fixed('baseline').map((r) => r.server_cpu_us_per_delivery).filter((x) => x != null));
for (const server of SERVERS) {
  const rs = fixed(server);
  if (!rs.length) continue;
  const cpus = rs.map((r) => r.server_cpu_us_per_delivery).filter((x) => x != null);
  const m = mean(cpus);
  const l = rs[0].latency_ms;
  p(`| ${NAMES[server]} | ${cpus.map((x) => f(x)).join(', ')} | ${f(m)} | ${ratio(baseCpu, m)} | ${f(l.p50, 2)} / ${f(l.p90, 2)} / ${f(l.p99, 2)} / ${f(l.max, 2)}${rs.every(clean) ? '' : ' LOSSY'} |`);
}
p();
p('Every step of the search:');
p();
p('| server | path | rate/s | offered/s | deliveries/s | p50 | p90 | p99 | max ms | lost | dup | ooo | CPU µs/delivery | verdict |');
p('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
for (const r of rows.filter((x) => x.scenario === 'A')) {
  for (const st of r.steps) {
    const o = st.result;
    p(`| ${r.server} | ${r.path} | ${f(o.rate)} | ${n(o.offered_per_s)} | ${n(o.deliveries_per_s)} | ${f(o.latency_ms.p50, 2)} | ${f(o.latency_ms.p90, 2)} | ${f(o.latency_ms.p99, 2)} | ${f(o.latency_ms.max, 2)} | ${o.lost} | ${o.duplicated} | ${o.out_of_order} | ${f(o.server_cpu_us_per_delivery)} | ${st.pass ? 'ok' : 'saturated'} |`);
  }
}
p();
// The curves of the search: p99 and CPU per delivery against the deliveries each step got, a line per
// server, as SVG beside the report (OUT-saturation.svg, OUT-cpu.svg).
const label = Object.fromEntries(product.ANCHORS);
const searches = rows.filter((x) => x.scenario === 'A' && x.path === 'direct');
const curve = (key) =>
  searches.map((r) => ({
    name: label[r.server] ?? r.server,
    points: r.steps.map((st) => [st.result.deliveries_per_s, key(st.result)]).filter(([, y]) => y != null),
  }));
const charts = [
  ['saturation', 'p99 against deliveries/s, every step of scenario A (direct)', 'p99 ms', (o) => o.latency_ms.p99],
  ['cpu', 'server CPU per delivery against deliveries/s, every step of scenario A (direct)', 'CPU µs per delivery', (o) => o.server_cpu_us_per_delivery],
];
for (const [name, title, yLabel, key] of charts) {
  const svg = lineChart({ series: curve(key), title, xLabel: 'deliveries/s', yLabel });
  if (!svg) continue;
  const file = `${path.basename(outPath, '.md')}-${name}.svg`;
  writeFileSync(path.join(path.dirname(outPath), file), svg);
  p(`![${title}](${file})`);
  p();
}
for (const line of product.ratesTable(rows)) p(line);
const L = (server) => rows.filter((r) => r.scenario.startsWith('L-') && r.server === server).map((r) => r.result);
if (L('batched').length) {
  p('## Scenario L — latency at 100 msg/s per sender');
  p();
  p('50 clients, 1 room, 5 senders at 100 msg/s each (24,500 deliveries/s), direct, two rounds (the order');
  p('reversed in the second). The floor for a room that stores before anyone sees a message is the');
  p('group-commit baseline relay (`STORE:batch`); for `batch=1` connections, the durable batched relay');
  p('(`STORE:batch SEND:batch`: the same commit, then one batch frame per socket).');
  p();
  p('| server | p50 / p90 / p99 / max ms (round 1) | (round 2) | mean p99 | p99 ratio to group-commit baseline | p99 ratio to durable batched relay | CPU µs/delivery |');
  p('|---|---|---|---:|---:|---:|---:|');
  const baseP99 = mean(L('batched').map((r) => r.latency_ms.p99));
  const batchP99 = mean(L('dbatch').map((r) => r.latency_ms.p99));
  for (const server of ['batched', 'dbatch', 'edgena', 'edgena-batch']) {
    const rs = L(server);
    if (!rs.length) continue;
    const q = (r) => (r ? `${f(r.latency_ms.p50, 2)} / ${f(r.latency_ms.p90, 2)} / ${f(r.latency_ms.p99, 2)} / ${f(r.latency_ms.max, 2)}${clean(r) ? '' : ' LOSSY'}` : '–');
    const m = mean(rs.map((r) => r.latency_ms.p99));
    p(`| ${NAMES[server]} | ${q(rs[0])} | ${q(rs[1])} | ${f(m, 2)} | ${ratio(m, baseP99)} | ${ratio(m, batchP99)} | ${f(mean(rs.map((r) => r.server_cpu_us_per_delivery).filter((x) => x != null)))} |`);
  }
  p();
}
const storms = rows.filter((r) => r.scenario.startsWith('S-'));
if (storms.length) {
  p('## Scenario S — a connect storm into one room');
  p();
  p('N sockets connect to one room, 64 at a time, through the proxy (as shipped); then 1 sender at 1 msg/s');
  p('for 2 s. "edge-chat" tells presence by counts above `PRESENCE_THRESHOLD` (100); "v1 presence" is the');
  p('same build with the threshold above N (a `join` to everyone per join, the whole roster in each');
  p('`welcome`). Frames and bytes: everything all clients received, welcomes included, per socket.');
  p();
  p('| N | server | connect p50 / p99 ms | frames per socket | bytes per socket | total frames | total bytes | fan-out p50 / p99 ms |');
  p('|---:|---|---|---:|---:|---:|---:|---|');
  for (const r of storms) {
    const o = r.result;
    if (!o) {
      p(`| ${n(r.clients)} | ${r.server === 'edgev1' ? 'edge-chat, v1 presence' : 'edge-chat'} | failed: connections timed out (30 s) | – | – | – | – | – |`);
      continue;
    }
    const N = o.rooms * o.clients_per_room;
    p(`| ${n(N)} | ${r.server === 'edgev1' ? 'edge-chat, v1 presence' : 'edge-chat'} | ${f(o.connect_ms.p50)} / ${f(o.connect_ms.p99)} | ${f(o.frames_in / N, 1)} | ${n(o.bytes_in / N)} | ${n(o.frames_in)} | ${n(o.bytes_in)} | ${f(o.latency_ms.p50, 2)} / ${f(o.latency_ms.p99, 2)}${clean(o) ? '' : ' LOSSY'} |`);
  }
  p();
}
p('## Scenarios B and C — many clients');
p();
p('B: 10 rooms × 100 clients, 2 senders per room at 2 msg/s. C: 1 room, 1000 clients, 1 sender at 5 msg/s.');
p();
p('| scenario | server | clients | offered/s | deliveries/s | p50 | p90 | p99 | max ms | connect p50 / p99 ms | sent | lost | dup | ooo | errors |');
p('|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|');
for (const sc of ['B', 'C']) {
  for (const server of ['baseline', 'edge']) {
    const r = find(sc, server)?.result;
    if (!r) continue;
    p(`| ${sc} | ${server} | ${r.rooms * r.clients_per_room} | ${n(r.offered_per_s)} | ${n(r.deliveries_per_s)} | ${f(r.latency_ms.p50, 2)} | ${f(r.latency_ms.p90, 2)} | ${f(r.latency_ms.p99, 2)} | ${f(r.latency_ms.max, 2)} | ${f(r.connect_ms.p50)} / ${f(r.connect_ms.p99)} | ${r.sent} | ${r.lost} | ${r.duplicated} | ${r.out_of_order} | ${r.errors + r.foreign} |`);
  }
}
p();
p('## Scenario D — wake-up');
p();
p('Rooms with two clients each stay silent for 15 s, past workerd\'s hibernation window; then one message');
p('goes into each room in turn (send → receipt by the other client). "hibernated" counts the tries whose');
p('object was really re-constructed (its `instance` changed). In the same silence as many other rooms, each');
p('written to (200 messages) and then left by everyone, leave memory ("evicted": no socket to hibernate');
p('with); two clients join each again and one message goes between them: the first connect → its welcome');
p('(the object built again from its storage) and connect → that message\'s receipt. The isolate stays up:');
p('a new isolate is the cold start\'s figure.');
p();
p('| server | tries | hibernated | wake-up p50 | p90 | max ms | same room awake, p50 ms | evicted: rebuilt | connect → welcome p50 / p90 ms | connect → first message p50 / p90 ms |');
p('|---|---:|---:|---:|---:|---:|---:|---:|---|---|');
for (const server of ['baseline', 'dbatch', 'edge']) {
  const r = find('D', server)?.result;
  if (!r) continue;
  const e = r.evicted;
  const ev = e ? `| ${e.rebuilt} of ${e.tries} | ${f(e.welcome_ms.p50, 2)} / ${f(e.welcome_ms.p90, 2)} | ${f(e.total_ms.p50, 2)} / ${f(e.total_ms.p90, 2)} |` : '| – | – | – |';
  p(`| ${NAMES[server] ? NAMES[server].split(':')[0] : server} | ${r.tries} | ${r.woke} | ${f(r.wake_ms.p50, 2)} | ${f(r.wake_ms.p90, 2)} | ${f(r.wake_ms.max, 2)} | ${f(r.warm_ms.p50, 2)} ${ev}`);
}
p();
for (const line of [...product.storms(rows), ...product.cold(rows), ...product.scale(rows)]) p(line);
// The feature slots: each bench/features/NAME.mjs present renders its section and its figures.
const featureDir = path.join(root, 'bench/features');
const modules = {};
for (const file of existsSync(featureDir) ? readdirSync(featureDir).filter((x) => x.endsWith('.mjs')).sort() : []) {
  modules[file.slice(0, -4)] = await import(path.join(featureDir, file));
}
for (const line of product.features(rows, modules)) p(line);
const H = rows.filter((r) => r.scenario === 'H-run');
if (H.length) {
  p('## Scenario H — one room over many shards (issue 18)');
  p();
  p('`scripts/bench-shard.mjs`: each row is its own `wrangler dev` with `SHARD_SOCKETS` = sockets / shards;');
  p('the sockets connect 64 at a time through the dev proxy, then 4 senders send the given rate in all');
  p('for a fixed window and every socket gets every message. CPU is the user worker\'s workerd process');
  p('(/proc, every thread, its idle rate subtracted), which runs the sequencer and every shard; "pushes"');
  p('are the sequencer\'s calls to shards (`shard_calls`), "flushes" its message-writing turns');
  p('(`commits.turns`). Senders sit on the sequencer\'s own shard unless the row says otherwise.');
  p();
  p('| series | sockets | shards | placed (per shard) | msgs | CPU µs/msg | CPU µs/delivery | pushes/msg | pushes/flush | sequencer rebuilt | complete |');
  p('|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---|');
  for (const { result: r, failed } of H.filter((x) => x.result.series !== 'storm')) {
    if (failed) {
      p(`| ${r.series} | ${r.sockets} | ${r.shards} | failed: ${r.error} | | | | | | | |`);
      continue;
    }
    const perMsg = r.pushes === null ? null : r.pushes / r.sent;
    p(`| ${r.series}${r.senders_on === 'shard' && !r.series.includes('shard') ? ' (senders on a shard)' : ''} | ${n(r.sockets)} | ${r.shards} | ${r.placed.join(' / ') || '–'} | ${r.sent} | ${n(r.cpu_us_per_msg)} | ${f(r.cpu_us_per_delivery, 2)} | ${f(perMsg, 2)} | ${f(r.pushes_per_flush, 2)} | ${r.sequencer_rebuilds ?? '–'} | ${r.complete ? 'yes' : 'NO'} |`);
  }
  const fitRow = rows.find((r) => r.scenario === 'H-fit')?.result;
  if (fitRow) {
    p();
    p(`Least squares over the ${fitRow.runs} complete runs with senders on the sequencer: **CPU per message ≈ ${f(fitRow.fixed_us, 0)} µs`);
    p(`+ ${f(fitRow.per_shard_us, 0)} µs × (shards − 1) + ${f(fitRow.per_socket_us, 2)} µs × sockets** (r² ${f(fitRow.r2, 3)}). The per-socket term is the`);
    p('fan-out on whichever object holds the socket; the per-shard term is what one more shard costs per message');
    p('(the sequencer\'s push and the shard\'s receiving it). The sequencer\'s own cost per message is at most');
    p('fixed + per-shard × (shards − 1) + per-socket × SHARD_SOCKETS: linear in shards, bounded in sockets.');
    p(`Each series alone: ${f(fitRow.few_sockets_per_shard_us, 0)} µs per extra shard (a few sockets over many shards),`);
    p(`${f(fitRow.same_shards_per_socket_us, 2)} µs per socket (4 shards, growing sockets).`);
  }
  const storms = H.filter((x) => x.result.series === 'storm');
  if (storms.length) {
    p();
    p('Connect storm (64 connecting at a time, through the proxy; connect → welcome):');
    p();
    p('| sockets | shards | placed (per shard) | all connected ms | p50 ms | p99 ms | max ms |');
    p('|---:|---:|---|---:|---:|---:|---:|');
    for (const { result: r, failed } of storms) {
      if (failed) p(`| ${n(r.sockets)} | ${r.shards} | failed: ${r.error} | | | | |`);
      else p(`| ${n(r.sockets)} | ${r.shards} | ${r.placed.join(' / ') || '–'} | ${n(r.connect_total_ms)} | ${f(r.connect_ms.p50)} | ${f(r.connect_ms.p99)} | ${f(r.connect_ms.max)} |`);
    }
  }
  p();
}
p('## Release wasm');
p();
p(`build/index_bg.wasm: ${n(env.WASM_RAW)} bytes raw (${kb(env.WASM_RAW)}), ${n(env.WASM_GZ)} bytes gzipped -9 (${kb(env.WASM_GZ)}).`);
p();
const history = path.join(root, 'bench/wasm-history.tsv');
for (const line of product.wasmHistory(existsSync(history) ? readFileSync(history, 'utf8') : '')) p(line);
p('## How it was run');
p();
p('```');
p('make bench            # = bash scripts/bench.sh');
p('```');
p();
p(`- commit ${env.COMMIT}; the run took ${env.BENCH_SECONDS} s`);
p(`- ${env.NPROC} CPUs: ${env.CPU_MODEL}; ${env.MEM} RAM; ${env.OS}, Linux ${env.KERNEL}`);
p(`- load average at the end of the run: ${env.LOADAVG} (other work on the machine shows up as noise)`);
p(`- ${env.RUSTC}; wrangler ${env.WRANGLER}; ${env.WORKERD}`);
p('- generator: `target/loadgen/edge-chat-bench` (tokio, one worker thread, tokio-tungstenite, Nagle off)');
for (const line of product.elapsed(rows, env.BENCH_SECONDS)) p(line);
p();
// The hand-written analysis below the marker survives a re-run; everything above it is regenerated.
const MARKER = '<!-- analysis: written by hand, kept by make bench -->';
let previous = '';
try {
  previous = readFileSync(outPath, 'utf8');
} catch {}
const at = previous.indexOf(MARKER);
p(at >= 0 ? previous.slice(at).trim() : MARKER);
p();
writeFileSync(outPath, out.join('\n'));
