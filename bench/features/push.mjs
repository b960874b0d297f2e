// The report's section for the feature scenario `push` (bench/features/push.sh, scripts/bench/push.mjs):
// how many pushes one inbox sends a second and how soon after a message's ack each arrives (rows
// `push-rate`, servers edgepush-rooms, edgepush-devices, edgepush-paced), and what members who are away
// with push subscriptions cost a room's message path (rows `push-cpu-1`, `push-cpu-2`, servers
// edgepush-plain, edgepush-keyed, edgepush-push).

const SHAPES = [
  ['rooms', 'many rooms at once, 1 device'],
  ['devices', 'rooms at once, 10 devices each'],
  ['paced', '10 rooms a second, 1 device'],
];
const VARIANTS = [
  ['plain', 'no members: anonymous clients only'],
  ['keyed', 'members away, no push subscription'],
  ['push', 'members away, a device each, notify=all'],
];
const rate = (rows, shape) => rows.find((r) => r.scenario === 'push-rate' && r.server === `edgepush-${shape}` && r.result)?.result;
const runs = (rows, variant) => rows.filter((r) => /^push-cpu-\d+$/.test(r.scenario) && r.server === `edgepush-${variant}` && r.result);
const cpuOf = (h, rs) => h.mean(rs.map((r) => r.result.server_cpu_us_per_delivery).filter((x) => x != null));
/**
 * The pushes' own share of a push run's CPU per delivery, estimated: the pushes it sent × the CPU per
 * push of the ten-device load (mostly a push's own work) ÷ its deliveries. null without both.
 */
function share(rows, rs) {
  const perPush = rate(rows, 'devices')?.server_cpu_ms_per_push;
  const runsWith = rs.filter((r) => r.away && r.result.delivered);
  if (!perPush || !runsWith.length) return null;
  return runsWith.reduce((a, r) => a + (r.away.pushes * perPush * 1000) / r.result.delivered, 0) / runsWith.length;
}
const q = (h, p, d = 0) => (p ? `${h.f(p.p50, d)} / ${h.f(p.p90, d)} / ${h.f(p.p99, d)} / ${h.f(p.max, d)}` : '–');

export function render(rows, h) {
  const shapes = SHAPES.filter(([shape]) => rate(rows, shape));
  const plain = runs(rows, 'plain');
  if (!shapes.length && !plain.length) return [];
  const out = [
    '## Feature: Web Push (issue 29)',
    '',
    'A real local push receiver (`scripts/bench/push-service.mjs`: the tests\' push service, which verifies',
    'each VAPID token and decrypts each payload as a real push service would, and refuses what one would',
    'refuse) and edge-chat without [assets], push on. One person is away (no socket anywhere) with one or ten',
    'subscribed browsers; others send them direct messages, one message per room. A room pushes once until',
    'the person comes back, so many rooms with one message each measure the sending rate, not the',
    'coalescing. Pushes/s over the middle 80 % of the arrivals ("steady": the sending rate) and from the',
    'first arrival to the last; the delay from each message\'s ack at its sender to each push\'s arrival (one',
    'clock); the gap between consecutive arrivals; the server\'s CPU per push (the user worker\'s workerd: the',
    'messages, the rooms\' rounds, the inbox\'s decisions, the encryption, the signature and the send — with',
    'ten devices per room, mostly the push\'s own).',
    '',
    '| load | pushes | pushes/s steady (first → last) | send → ack p50 / max ms | ack → push p50 / p90 / p99 / max ms | gap p50 / p90 / max ms | CPU ms per push | refused |',
    '|---|---:|---|---|---|---|---:|---:|',
  ];
  for (const [shape, name] of shapes) {
    const r = rate(rows, shape);
    const pushes = `${h.n(r.delivered)}${r.delivered < r.expected ? ` of ${h.n(r.expected)}` : ''}`;
    out.push(
      `| ${name} (${h.n(r.rooms)} × ${r.devices}) | ${pushes} | ${h.n(r.steady_per_s)} (${h.n(r.pushes_per_s)}) | ${h.f(r.ack_ms?.p50, 0)} / ${h.f(r.ack_ms?.max, 0)} | ${q(h, r.delay_ms)} | ${h.f(r.gap_ms?.p50, 0)} / ${h.f(r.gap_ms?.p90, 0)} / ${h.f(r.gap_ms?.max, 0)} | ${h.f(r.server_cpu_ms_per_push, 2)} | ${r.rejected} |`,
    );
  }
  out.push(
    '',
    'The bound: the inbox\'s alarm sends at most 20 pushes (`PUSHES_PER_ALARM`) and sets itself again at once',
    'while more are due, so the batch costs little (no gap stands out every 20th push); within it the pushes',
    'go one after another, each awaited (encrypt, sign, POST, read the answer). One inbox\'s rate is therefore',
    'about one push per push-service round trip: here a local receiver a few milliseconds away; a real push',
    'service 20–100 ms away would allow about 10–50 a second per person (an estimate from that round trip,',
    'not measured here). And the inbox is one object: while a burst of rooms\' updates comes in it takes them',
    'first (each a write to its storage, and a push\'s fetch waits for the writes before it, as every output',
    'of a Durable Object does). With one device per room every push is also a room\'s message (stored and',
    'acked first: send → ack) and an update, so first → last there measures the rooms\' side and this',
    'machine\'s disk as much as the sending. A room\'s second message is never a second push until the person',
    'comes back: that is the coalescing, which this load avoids.',
    '',
  );
  if (!plain.length) return out;
  const base = cpuOf(h, plain);
  const keyed = cpuOf(h, runs(rows, 'keyed'));
  out.push(
    "Scenario A20's load (50 anonymous clients, 1 room, 5 senders at 20 msg/s each, v1 framing, direct), two",
    'rounds in reversed order, in a room with no members; with members who are away (they joined once with a',
    'key, then left: the room tells each inbox of its messages, a round a second, and each inbox decides on a',
    'push each time) and no push subscription; and with a device each and notify=all, so every message is',
    'considered and the first of each person\'s is pushed (the rest coalesced). The CPU per delivery is the',
    'workerd process\'s, inbox objects and pushes included.',
    '',
    '| room | CPU µs per delivery (rounds) | mean | vs no members | vs away without push | message p50 / p99 ms (rounds) | pushes (expected) |',
    '|---|---|---:|---:|---:|---|---|',
  );
  for (const [variant, name] of VARIANTS) {
    const rs = runs(rows, variant);
    if (!rs.length) continue;
    const cpus = rs.map((r) => r.result.server_cpu_us_per_delivery).filter((x) => x != null);
    const lat = rs.map((r) => `${h.f(r.result.latency_ms.p50, 2)} / ${h.f(r.result.latency_ms.p99, 2)}${h.clean(r.result) ? '' : ' LOSSY'}`).join(', ');
    const members = rs[0].away?.members ? ` (${rs[0].away.members} members)` : '';
    const pushes = rs.map((r) => `${r.away?.pushes ?? '–'} (${r.away?.pushes_expected ?? '–'})${r.away?.rejected ? `, ${r.away.rejected} refused` : ''}`).join(', ');
    out.push(`| ${name}${members} | ${cpus.map((x) => h.f(x)).join(', ')} | ${h.f(h.mean(cpus))} | ${h.pct(h.mean(cpus), base)} | ${variant === 'plain' ? '–' : h.pct(h.mean(cpus), keyed)} | ${lat} | ${pushes} |`);
  }
  const own = share(rows, runs(rows, 'push'));
  if (own !== null) {
    out.push(
      '',
      `The pushes' own share, estimated: the pushes sent × the CPU per push of the ten-device load ÷ the`,
      `deliveries = ${h.f(own, 2)} µs per delivery (once per person and room until they come back; the later messages`,
      'cost their inboxes a decision each — a few small reads — not a push). A difference between the rows',
      'well beyond that, or of the other sign, is noise between runs on this machine: compare the two rounds',
      'of one row.',
    );
  }
  out.push('');
  return out;
}

export function figures(rows, h) {
  const out = [];
  const burst = SHAPES.slice(0, 2).map(([shape]) => [shape, rate(rows, shape)]).filter(([, r]) => r);
  if (burst.length) {
    out.push({
      figure: 'push: pushes per second one inbox sends, steady (first → last)',
      value: burst.map(([, r]) => `${h.n(r.steady_per_s)} (${h.n(r.pushes_per_s)}) with ${h.n(r.rooms)} rooms × ${r.devices}`).join('; '),
      target: 'figure',
    });
  }
  const paced = rate(rows, 'paced');
  const queued = rate(rows, 'rooms');
  if (paced) {
    out.push({
      figure: 'push: message ack → push p50 / p99',
      value: `${h.f(paced.delay_ms.p50, 0)} / ${h.f(paced.delay_ms.p99, 0)} ms at ${paced.pace} rooms/s${queued ? `; ${h.f(queued.delay_ms.p50, 0)} / ${h.f(queued.delay_ms.p99, 0)} ms behind a burst of ${h.n(queued.expected)}` : ''}`,
      target: 'figure',
    });
  }
  const plain = runs(rows, 'plain');
  const push = runs(rows, 'push');
  if (plain.length && push.length) {
    const [p, b, k] = [cpuOf(h, push), cpuOf(h, plain), cpuOf(h, runs(rows, 'keyed'))];
    out.push({
      figure: "push: the room's CPU per delivery, every member away with push",
      value: `${h.f(p)} vs ${h.f(b)} µs no members (${h.pct(p, b)})${k ? `, vs ${h.f(k)} away without push (${h.pct(p, k)})` : ''}${share(rows, push) === null ? '' : `; the pushes' own ≈ ${h.f(share(rows, push), 2)} µs`}`,
      target: 'unchanged against away without push (issue 29)',
    });
  }
  return out;
}
