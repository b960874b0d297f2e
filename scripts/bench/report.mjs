// The sections of docs/PERFORMANCE.md that issue 33 added to `make bench` ("Performance of the whole
// product"), rendered from the same result rows as the rest (scripts/bench-report.mjs calls these):
// the targets against this run, the rate table with the batched anchors, joins, the reconnect storm,
// cold start, many rooms, memory per room, sharded fan-out, the feature figures (with their slots),
// the wasm per feature, and the seconds each scenario took. Pure: rows in, lines out
// (tests/bench-report.test.mjs renders fixtures through it).

/** The servers of the issue's table, in its order. */
export const ANCHORS = [
  ['baseline', 'raw relay'],
  ['rbatch', 'batched relay'],
  ['batched', 'durable relay (group commit)'],
  ['dbatch', 'durable batched relay'],
  ['edgena', 'edge-chat v1'],
  ['edgena-batch', 'edge-chat batch=1'],
];
const LABEL = Object.fromEntries(ANCHORS);

/** Formatting helpers shared with scripts/bench-report.mjs and the feature modules. */
export const h = {
  f: (x, d = 1) => (x === undefined || x === null || Number.isNaN(x) ? '–' : Number(x).toFixed(d)),
  n: (x) => (x === undefined || x === null || Number.isNaN(x) ? '–' : Math.round(x).toLocaleString('en-US')),
  ratio: (a, b) => (a && b ? (a / b).toFixed(2) : '–'),
  mean: (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined),
  clean: (r) => !!r && r.lost === 0 && r.duplicated === 0 && r.out_of_order === 0 && r.errors === 0 && r.foreign === 0,
  pct: (x, base) => (x && base ? `${x >= base ? '+' : ''}${(((x - base) / base) * 100).toFixed(1)} %` : '–'),
  kb: (b) => (b === undefined || b === null ? '–' : `${(b / 1024).toFixed(1)} KiB`),
  /** "24.5k" / "783k" / "1.2M": deliveries per second as the issue writes them. */
  k: (x) => (x === undefined || x === null ? '–' : x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e4 ? `${(x / 1e3).toFixed(x >= 1e5 ? 0 : 1)}k` : Math.round(x).toLocaleString('en-US')),
  /** Milliseconds as the issue writes them: "7.1 ms", "6.3 s". */
  ms: (x) => (x === undefined || x === null ? '–' : x >= 1000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(1)} ms`),
};
const { f, n, mean, clean, pct, k, ms } = h;

// A scenario's runs (not the `took_s` notes of scripts, which have neither a result nor a failure).
const by = (rows, scenario, server) =>
  rows.filter((r) => r.scenario === scenario && (server === undefined || r.server === server) && (r.result || r.failed));
const one = (rows, scenario, server) => by(rows, scenario, server).find((r) => r.result && !r.failed)?.result;
const cpu = (r) => r?.server_cpu_us_per_delivery;
/** A run kept up: nothing lost, ≥ 95 % of the offered deliveries in the window, p99 ≤ 100 ms. */
const keptUp = (r) => clean(r) && r.deliveries_per_s >= 0.95 * r.offered_per_s && r.latency_ms.p99 <= 100;
const rates = (rows) => [...new Set(rows.filter((r) => /^R-\d+$/.test(r.scenario)).map((r) => Number(r.scenario.slice(2))))].sort((a, b) => a - b);
const sat = (rows, server) => rows.find((r) => r.scenario === 'A' && r.server === server && r.path === 'direct') ?? rows.find((r) => r.scenario === 'A' && r.server === server);
/** undefined: no figures in this run; null: a figure the issue sets no bound for; else met or not. */
const verdict = (ok) => (ok === undefined ? 'not measured' : ok === null ? 'figure' : ok ? '**met**' : '**not met**');

/** Issue 33's targets against this run: one line each, with the figures it was judged by. */
export function targets(rows, env) {
  const out = ['## Issue 33: the targets against this run', '', '| target | this run | verdict |', '|---|---|---|'];
  const line = (target, figures, ok) => out.push(`| ${target} | ${figures} | ${verdict(figures === '–' ? undefined : ok)} |`);
  // Saturation: batch=1 against the batched relay, v1 against the group-commit relay.
  for (const [mine, anchor, name] of [
    ['edgena-batch', 'rbatch', '`batch=1` saturation ≥ the batched relay\'s'],
    ['edgena', 'batched', 'v1 saturation ≥ the durable relay\'s (group commit)'],
  ]) {
    const a = sat(rows, mine)?.saturation;
    const b = sat(rows, anchor)?.saturation;
    line(name, a && b ? `${n(a.deliveries_per_s)} vs ${n(b.deliveries_per_s)} deliveries/s (${h.ratio(a.deliveries_per_s, b.deliveries_per_s)}×), scenario A` : '–', a && b ? a.deliveries_per_s >= b.deliveries_per_s : undefined);
  }
  // p99 and CPU of batch=1 against the durable batched relay, at each rate of the table (and L).
  const pairs = rates(rows)
    .map((rate) => [`${rate}/s`, one(rows, `R-${rate}`, 'edgena-batch'), one(rows, `R-${rate}`, 'dbatch')])
    .filter(([, a, b]) => a && b);
  for (const round of ['L-1', 'L-2']) {
    const a = one(rows, round, 'edgena-batch');
    const b = one(rows, round, 'dbatch');
    if (a && b) pairs.push([`L ${round.slice(2)}`, a, b]);
  }
  const below = pairs.filter(([, a, b]) => keptUp(a) && keptUp(b));
  line(
    '`batch=1` p99 ≤ 1.2× the durable batched relay\'s at every rate below saturation',
    below.length ? below.map(([at, a, b]) => `${at}: ${f(a.latency_ms.p99)} vs ${f(b.latency_ms.p99)} ms (${h.ratio(a.latency_ms.p99, b.latency_ms.p99)}×)`).join('; ') : '–',
    below.length ? below.every(([, a, b]) => a.latency_ms.p99 <= 1.2 * b.latency_ms.p99) : undefined,
  );
  const withCpu = pairs.filter(([, a, b]) => cpu(a) && cpu(b));
  line(
    '`batch=1` CPU per delivery ≤ the durable batched relay\'s at every rate',
    withCpu.length ? withCpu.map(([at, a, b]) => `${at}: ${f(cpu(a))} vs ${f(cpu(b))} µs (${h.ratio(cpu(a), cpu(b))}×)`).join('; ') : '–',
    withCpu.length ? withCpu.every(([, a, b]) => cpu(a) <= cpu(b)) : undefined,
  );
  // Many rooms against the durable batched relay.
  const rb = one(rows, 'rooms', 'dbatch');
  for (const server of ['edgena', 'edgena-batch']) {
    const r = one(rows, 'rooms', server);
    line(
      `many rooms (${r ? `${r.rooms} × ${r.clients_per_room}` : '1,000 × 10'}), ${server === 'edgena' ? 'v1' : '`batch=1`'}: deliveries/s and CPU per delivery against the durable batched relay`,
      r && rb ? `${n(r.deliveries_per_s)} vs ${n(rb.deliveries_per_s)} deliveries/s; ${f(cpu(r))} vs ${f(cpu(rb))} µs (${h.ratio(cpu(r), cpu(rb))}×)` : '–',
      null,
    );
  }
  const me = one(rows, 'memory', 'edge');
  const mr = one(rows, 'memory', 'relay');
  line('active rooms in one isolate\'s 128 MB ≥ the JS relay\'s', me && mr ? `${n(me.fit_128mb)} vs ${n(mr.fit_128mb)} (${h.kb(me.per_active)} vs ${h.kb(mr.per_active)} per active room)` : '–', me && mr ? me.fit_128mb >= mr.fit_128mb : undefined);
  const jr = one(rows, 'joins', 'rbatch');
  for (const server of ['edgena', 'edgena-batch']) {
    const j = one(rows, 'joins', server);
    line(
      `joins/s into one room, ${server === 'edgena' ? 'v1' : '`batch=1`'}, against the batched relay's accept rate (Stream quotes ~4,000)`,
      j && jr ? `${n(joinsPerS(j))} vs ${n(joinsPerS(jr))} joins/s (${h.ratio(joinsPerS(j), joinsPerS(jr))}×)` : '–',
      null,
    );
  }
  const re = one(rows, 'resume', 'edge');
  line('reconnect storm after a restart: every socket back and caught up', re ? `${n(re.sockets)} sockets in ${n(re.all_back_ms)} ms (${n(re.joins_per_s)}/s), ${n(re.caught_up)} caught up` : '–', re && re.caught_up === re.sockets ? null : false);
  const dEdge = one(rows, 'D', 'edge');
  const dRelay = one(rows, 'D', 'baseline');
  line('first message into a hibernated room, against the JS relay\'s (p50)', dEdge && dRelay ? `${f(dEdge.wake_ms.p50, 2)} vs ${f(dRelay.wake_ms.p50, 2)} ms (${h.ratio(dEdge.wake_ms.p50, dRelay.wake_ms.p50)}×)` : '–', null);
  line('first message into an evicted room, against the JS relay\'s (connect → message, p50)', dEdge?.evicted && dRelay?.evicted ? `${f(dEdge.evicted.total_ms.p50, 2)} vs ${f(dRelay.evicted.total_ms.p50, 2)} ms (${h.ratio(dEdge.evicted.total_ms.p50, dRelay.evicted.total_ms.p50)}×)` : '–', null);
  const ce = one(rows, 'cold', 'edge');
  const cr = one(rows, 'cold', 'relay');
  line('cold start within 1.5× the JS relay\'s', ce && cr ? `${f(ce.start_ms)} vs ${f(cr.start_ms)} ms to the first answer (${h.ratio(ce.start_ms, cr.start_ms)}×; median of ${ce.rounds})` : '–', ce && cr ? ce.start_ms <= 1.5 * cr.start_ms : undefined);
  const gz = Number(env.WASM_GZ);
  line('release wasm ≤ 400 KB gzipped', gz ? `${n(gz)} B` : '–', gz ? gz <= 400_000 : undefined);
  const fs = one(rows, 'fanout', 'edgesh');
  const fo = one(rows, 'fanout', 'edgena');
  line('sharded fan-out p99: sockets over shards against one object holding all', fs && fo ? `${f(fs.latency_ms.p99)} vs ${f(fo.latency_ms.p99)} ms (${h.ratio(fs.latency_ms.p99, fo.latency_ms.p99)}×)` : '–', null);
  out.push('', '"not measured": the scenario was not in this run (`BENCH_ONLY`), or its row failed. "figure": the issue', 'asks for the figure against the relay and sets no bound (the reconnect storm fails only if a socket was not', 'caught up).', '');
  return out;
}

const joinsPerS = (r) => (r?.connect_total_ms ? ((r.rooms * r.clients_per_room) / r.connect_total_ms) * 1000 : undefined);

/** The issue's table: deliveries/s, p99 and CPU per delivery at each rate, the six servers side by side. */
export function ratesTable(rows) {
  const rs = rates(rows);
  if (!rs.length) return [];
  const path = rows.find((r) => /^R-\d+$/.test(r.scenario))?.path ?? 'proxy';
  const out = [
    '## The message path against the anchors (issue 33\'s table)',
    '',
    `50 clients, 1 room, 5 senders at a fixed rate each, through ${path === 'proxy' ? 'wrangler dev\'s proxy' : 'the user worker\'s own socket'}; each cell: deliveries/s,`,
    'p99 and server CPU per delivery (the CPU only where the run kept up: nothing lost, ≥ 95 % of the offered',
    'deliveries arriving in the window). The batched relays send one turn\'s frames as one `batch` frame per',
    'socket (bench/baseline/relay.js `SEND:batch`); the durable ones append the turn to SQLite in one commit',
    'first. "—": not run at this rate, since the server fell under half the offered deliveries at a lower one.',
    '',
    `| msg/s per sender | ${ANCHORS.map(([, l]) => l).join(' | ')} |`,
    `|---|${ANCHORS.map(() => '---').join('|')}|`,
  ];
  for (const rate of rs) {
    const cells = ANCHORS.map(([server]) => {
      const r = one(rows, `R-${rate}`, server);
      if (!r) return '—';
      const flag = clean(r) ? '' : ' LOSSY';
      return keptUp(r) || (clean(r) && r.deliveries_per_s >= 0.95 * r.offered_per_s)
        ? `${k(r.deliveries_per_s)}, ${ms(r.latency_ms.p99)}, ${f(cpu(r))} µs${flag}`
        : `${k(r.deliveries_per_s)}, ${ms(r.latency_ms.p99)}${flag}`;
    });
    out.push(`| ${n(rate)} | ${cells.join(' | ')} |`);
  }
  out.push('', 'Every run of the table:', '', '| rate | server | offered/s | deliveries/s | p50 | p90 | p99 | max ms | frames in | lost | dup | ooo | CPU µs/delivery |', '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const rate of rs) {
    for (const [server, label] of ANCHORS) {
      const r = one(rows, `R-${rate}`, server);
      if (!r) continue;
      out.push(`| ${n(rate)} | ${label} | ${n(r.offered_per_s)} | ${n(r.deliveries_per_s)} | ${f(r.latency_ms.p50, 2)} | ${f(r.latency_ms.p90, 2)} | ${f(r.latency_ms.p99, 2)} | ${f(r.latency_ms.max, 2)} | ${n(r.frames_in)} | ${r.lost} | ${r.duplicated} | ${r.out_of_order} | ${f(cpu(r))} |`);
    }
  }
  out.push('');
  return out;
}

/** Joins/s into one room, and the reconnect storm after a restart. */
export function storms(rows) {
  const out = [];
  const joins = by(rows, 'joins');
  if (joins.length) {
    out.push(
      '## Joins into one room',
      '',
      'N sockets connect to one room, 64 at a time, straight at the user worker: joins/s is N over the time from the',
      'first connect to the last welcome. The batched relay answers a connect with a fixed one-line welcome;',
      'edge-chat checks the name and the client, adds the member, reads the room\'s last 50 messages and sends the',
      'welcome (presence by counts above 100 members). Then one message to all (fan-out p50/p99).',
      '',
      '| server | sockets | joins/s | connect p50 / p99 ms | welcome bytes per socket | fan-out p50 / p99 ms |',
      '|---|---:|---:|---|---:|---|',
    );
    for (const row of joins) {
      const r = row.result;
      const name = LABEL[row.server] ?? row.server;
      if (row.failed || !r) {
        out.push(`| ${name} | ${n(row.clients)} | failed | | | |`);
        continue;
      }
      const N = r.rooms * r.clients_per_room;
      out.push(`| ${name} | ${n(N)} | ${n(joinsPerS(r))} | ${f(r.connect_ms.p50)} / ${f(r.connect_ms.p99)} | ${n(r.bytes_in / N)} | ${f(r.latency_ms.p50, 2)} / ${f(r.latency_ms.p99, 2)}${clean(r) ? '' : ' LOSSY'} |`);
    }
    out.push('');
  }
  const resume = by(rows, 'resume');
  if (resume.length) {
    out.push(
      '## A reconnect storm after a restart',
      '',
      'scripts/bench/resume.mjs: N sockets in one room; 5 messages everyone sees; the server restarted (SIGTERM, a new',
      '`wrangler dev` on the same state); a writer posts M messages the moment it is back; then all N resume with',
      '`after=<the last seq each saw>`, 64 at a time, straight at the user worker. A socket is caught up when its',
      'welcome holds exactly the M messages it missed, up to `last_seq`, not truncated. The JS relay (durable batched)',
      'restarts the same way; it has nothing to resume, so only "back" applies to it.',
      '',
      '| server | sockets | missed each | restart ms | all back (and caught up) ms | joins/s | caught up | welcome p50 / p99 ms | welcome bytes | first storm ms |',
      '|---|---:|---:|---:|---:|---:|---:|---|---:|---:|',
    );
    for (const row of resume) {
      const r = row.result;
      if (row.failed) {
        out.push(`| ${row.server} | ${n(r.sockets)} | failed: ${r.error} | | | | | | | |`);
        continue;
      }
      out.push(`| ${row.server === 'relay' ? 'JS relay' : 'edge-chat'} | ${n(r.sockets)} | ${r.missed} | ${n(r.restart_ms)} | ${n(r.all_back_ms)} | ${n(r.joins_per_s)} | ${n(r.caught_up)} | ${f(r.welcome_ms.p50)} / ${f(r.welcome_ms.p99)} | ${n(r.welcome_bytes)} | ${n(r.first_storm_ms)} |`);
    }
    out.push('');
  }
  return out;
}

/** Cold start of the Worker and its first room. */
export function cold(rows) {
  const cs = by(rows, 'cold');
  if (!cs.length) return [];
  const floor = one(rows, 'cold', 'empty');
  const relay = one(rows, 'cold', 'relay');
  const out = [
    '## Cold start',
    '',
    'scripts/bench/cold.mjs: each try starts `workerd serve` on a generated config (no wrangler, no dev proxy, no',
    'asset router) and times, on one clock: spawn → the first `/health` answered (workerd up, the isolate made,',
    'the module evaluated: for edge-chat the wasm compiled and instantiated), then one socket into a new room →',
    'its welcome (the object constructed), then a second socket and one message between them (the first calls',
    'into each wasm function compile it). The kinds alternate each round; medians, with the range.',
    '',
    '| Worker | tries | start ms (range) | start − empty Worker ms | vs JS relay | first welcome ms | first message ms | start → first message ms |',
    '|---|---:|---|---:|---:|---:|---:|---:|',
  ];
  for (const kind of ['empty', 'relay', 'edge']) {
    const r = one(rows, 'cold', kind);
    if (!r) continue;
    const total = r.welcome_ms !== undefined ? r.start_ms + r.welcome_ms + r.message_ms : undefined;
    out.push(`| ${r.label} | ${r.rounds} | ${f(r.start_ms)} (${r.start_range_ms?.map((x) => f(x)).join('–') ?? '–'}) | ${floor ? f(r.start_ms - floor.start_ms) : '–'} | ${relay ? h.ratio(r.start_ms, relay.start_ms) : '–'} | ${f(r.welcome_ms)} | ${f(r.message_ms)} | ${f(total)} |`);
  }
  out.push('');
  return out;
}

/** Many rooms at once, the isolate's memory per room, and sharded fan-out. */
export function scale(rows) {
  const out = [];
  const rooms = by(rows, 'rooms');
  if (rooms.length) {
    const base = one(rows, 'rooms', 'dbatch');
    const first = rooms.find((r) => r.result)?.result;
    out.push(
      '## Many rooms',
      '',
      `${first ? `${n(first.rooms)} rooms × ${first.clients_per_room} sockets, one sender each at ${f(first.rate)} msg/s` : 'Many rooms'}, straight at the user worker: deliveries/s and`,
      'server CPU per delivery against the durable batched relay.',
      '',
      '| server | sockets | offered/s | deliveries/s | p50 / p99 ms | connect p50 / p99 ms | joins/s | CPU µs/delivery | vs durable batched relay | lost |',
      '|---|---:|---:|---:|---|---|---:|---:|---:|---:|',
    );
    for (const row of rooms) {
      const r = row.result;
      const name = LABEL[row.server] ?? row.server;
      if (row.failed || !r) {
        out.push(`| ${name} | ${n(row.clients)} | failed | | | | | | | |`);
        continue;
      }
      out.push(`| ${name} | ${n(r.rooms * r.clients_per_room)} | ${n(r.offered_per_s)} | ${n(r.deliveries_per_s)} | ${f(r.latency_ms.p50, 2)} / ${f(r.latency_ms.p99, 2)} | ${f(r.connect_ms.p50)} / ${f(r.connect_ms.p99)} | ${n(joinsPerS(r))} | ${f(cpu(r))} | ${h.ratio(cpu(r), cpu(base))} | ${r.lost} |`);
    }
    out.push('');
  }
  const mem = by(rows, 'memory');
  if (mem.length) {
    const first = mem.find((r) => !r.failed)?.result;
    out.push(
      '## Memory per room',
      '',
      `scripts/bench/memory.mjs: a fresh server of each kind; ${first ? `${n(first.rooms)} rooms of ${first.sockets_per_room} sockets with ${first.messages_per_room} messages each` : 'N rooms'} (wave 1),`,
      'read through the inspector while active, again after 15 s of silence (every room hibernated), and after a',
      'second wave of as many active rooms while the first slept. JS: the V8 heap in use after a collection; wasm:',
      'the module\'s linear memory (one instance per isolate, shared by every room in it; it never shrinks, so a',
      'hibernated room\'s wasm cost is what the second wave had to add). A warm-up of a few rooms first pays for',
      'what all rooms share (compiled code, caches). Fit: (128 MiB − the isolate after warm-up) / per active room.',
      'edge-chat keeps no message cache in the isolate: a room\'s messages live in SQLite, outside it.',
      '',
      '| server | per active room (JS + wasm) | per hibernated room (JS + wasm) | isolate after warm-up (JS + wasm) | active rooms in 128 MB | lost |',
      '|---|---|---|---|---:|---:|',
    );
    for (const row of mem) {
      const r = row.result;
      if (row.failed) {
        out.push(`| ${r.kind} | failed: ${r.error} | | | | |`);
        continue;
      }
      const name = r.kind === 'relay' ? 'JS relay (durable batched)' : 'edge-chat';
      out.push(`| ${name} | ${h.kb(r.per_active)} (${h.kb(r.per_active_js)} + ${h.kb(r.per_active_wasm)}) | ${h.kb(r.per_hibernated)} (${h.kb(r.per_hibernated_js)} + ${h.kb(r.per_hibernated_wasm)}) | ${h.kb(r.base.js)} + ${h.kb(r.base.wasm)} | ${n(r.fit_128mb)} | ${r.lost} |`);
    }
    out.push('');
  }
  const fan = by(rows, 'fanout');
  if (fan.length) {
    out.push(
      '## Sharded fan-out',
      '',
      'One room\'s sockets over shards (`SHARD_SOCKETS` = sockets / shards) against one object holding them all,',
      'straight at the user worker, 64 connecting at a time; then one sender at 2 msg/s, so each message is a fan-out',
      'of its own: send → receipt at every socket.',
      '',
      '| server | sockets | fan-out p50 / p90 / p99 / max ms | connect all ms | connect p50 / p99 ms | deliveries | lost |',
      '|---|---:|---|---:|---|---:|---:|',
    );
    for (const row of fan) {
      const r = row.result;
      const name = row.server === 'edgesh' ? 'over shards' : 'one object';
      if (row.failed || !r) {
        out.push(`| ${name} | ${n(row.clients)} | failed | | | | |`);
        continue;
      }
      out.push(`| ${name} | ${n(r.rooms * r.clients_per_room)} | ${f(r.latency_ms.p50, 2)} / ${f(r.latency_ms.p90, 2)} / ${f(r.latency_ms.p99, 2)} / ${f(r.latency_ms.max, 2)} | ${n(r.connect_total_ms)} | ${f(r.connect_ms.p50)} / ${f(r.connect_ms.p99)} | ${n(r.delivered)} | ${r.lost} |`);
    }
    out.push('');
  }
  return out;
}

/** The feature slots (bench/features/README.md) and the figures each adds. */
export const SLOTS = [
  ['inbox', 28, 'inbox: ack → inbox frame p50/p99, the room\'s CPU with every member\'s inbox told'],
  ['threads', 27, 'threads and mentions: CPU per delivery and p99 against the same load without them'],
  ['push', 29, 'push: pushes per second one inbox sends'],
  ['hook', 32, 'the moderation hook: latency and CPU with a 5 ms endpoint'],
];

/**
 * The feature figures: each slot's module (bench/features/NAME.mjs, passed in as `modules`) renders
 * its section and its summary lines; an empty slot says so.
 */
export function features(rows, modules) {
  const summary = ['## Feature figures (each feature\'s cost, in this run)', '', '| slot | figure | this run | target |', '|---|---|---|---|'];
  const sections = [];
  for (const [slot, issue, what] of SLOTS) {
    const mod = modules[slot];
    let figs = mod?.figures ? mod.figures(rows, h) : [];
    if (mod?.render) sections.push(...mod.render(rows, h));
    if (figs.length) for (const x of figs) summary.push(`| ${slot} (issue ${issue}) | ${x.figure} | ${x.value} | ${x.target ?? ''} |`);
    else summary.push(`| ${slot} (issue ${issue}) | ${what} | ${mod ? 'not in this run' : `empty slot: bench/features/${slot}.sh comes with issue ${issue}`} | |`);
  }
  // Modules of features this list does not know yet still get their section.
  for (const [slot, mod] of Object.entries(modules)) {
    if (SLOTS.some(([s]) => s === slot)) continue;
    if (mod.render) sections.push(...mod.render(rows, h));
    for (const x of mod.figures ? mod.figures(rows, h) : []) summary.push(`| ${slot} | ${x.figure} | ${x.value} | ${x.target ?? ''} |`);
  }
  return [...summary, '', ...sections];
}

/**
 * What each feature cost in wasm bytes: rows of bench/wasm-history.tsv (written by
 * scripts/wasm-history.sh: feature, before and after commits, their gzipped and raw sizes), and the
 * budget line of the release wasm section stays above it.
 */
export function wasmHistory(tsv) {
  const rowsOf = (tsv ?? '').split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split('\t'));
  const out = ['## Where the wasm goes: bytes per feature', ''];
  if (rowsOf.length) {
    out.push(
      'Each feature\'s merge into main built before and after (`scripts/wasm-history.sh`, each commit with its own',
      '`scripts/build.sh`, so the build settings of the day; bench/wasm-history.tsv keeps the figures). Gzipped -9.',
      '',
      '| feature | before → after | gzipped before → after | Δ gzipped | raw before → after | Δ raw |',
      '|---|---|---:|---:|---:|---:|',
    );
    for (const [feature, before, after, gzBefore, gzAfter, rawBefore, rawAfter] of rowsOf) {
      const dg = Number(gzAfter) - Number(gzBefore);
      const dr = Number(rawAfter) - Number(rawBefore);
      out.push(`| ${feature} | \`${before}\` → \`${after}\` | ${n(Number(gzBefore))} → ${n(Number(gzAfter))} | ${dg >= 0 ? '+' : ''}${n(dg)} | ${n(Number(rawBefore))} → ${n(Number(rawAfter))} | ${dr >= 0 ? '+' : ''}${n(dr)} |`);
    }
    out.push('');
  }
  else out.push('bench/wasm-history.tsv is missing: `bash scripts/wasm-history.sh` writes it.', '');
  return out;
}

/** The seconds each scenario took (bench.sh notes `took_s` per run and per script). */
export function elapsed(rows, total) {
  const sums = new Map();
  for (const r of rows) {
    if (typeof r.took_s !== 'number') continue;
    const key = r.scenario.replace(/-\d+$/, '');
    sums.set(key, (sums.get(key) ?? 0) + r.took_s);
  }
  if (!sums.size) return [];
  const cells = [...sums.entries()].map(([key, s]) => `${key} ${n(s)}`).join(', ');
  return [`- seconds per scenario: ${cells}${total ? ` (the whole run ${n(Number(total))} s, servers' start and the build included)` : ''}`];
}
