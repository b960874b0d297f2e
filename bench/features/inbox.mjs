// The report's section for the feature scenario `inbox` (bench/features/inbox.sh): what a person's
// inbox costs the message path, and how soon an inbox hears of a message, from the rows `inbox-1` and
// `inbox-2` (servers edgena-plain, edgena-keyed, edgena-inboxes).

const VARIANTS = [
  ['plain', 'anonymous: nobody has an inbox'],
  ['keyed', 'a key each: every member’s inbox told'],
  ['inboxes', 'the same, every inbox socket held'],
];
const runs = (rows, variant) => rows.filter((r) => /^inbox-\d+$/.test(r.scenario) && r.server === `edgena-${variant}` && r.result).map((r) => r.result);
const cpuOf = (h, rs) => h.mean(rs.map((r) => r.server_cpu_us_per_delivery).filter((x) => x != null));

export function render(rows, h) {
  if (!runs(rows, 'plain').length) return [];
  const base = cpuOf(h, runs(rows, 'plain'));
  const out = [
    '## Feature: inboxes (issue 28)',
    '',
    "Scenario A20's load (50 clients, 1 room, 5 senders at 20 msg/s each, v1 framing, direct), two rounds in",
    'reversed order: anonymous clients (nobody has an inbox); every client a person with a key, so the room',
    'tells all 50 members\' inboxes of its messages — at most one update per inbox per second, each counted',
    'from the room\'s history — and the inbox objects, in the same workerd process, are in the CPU figure;',
    'the same with every person also holding their inbox socket, and the time from each message\'s ack to',
    'each inbox\'s frame that shows it (rooms coalesce to a round a second, so this is mostly the wait for',
    'the next round). Targets: at most +15 % CPU per delivery, inbox p99 under 2 s.',
    '',
    '| clients | CPU µs per delivery (rounds) | mean | vs anonymous | message p50 / p99 ms (rounds) | ack → inbox frame p50 / p90 / p99 / max ms | inbox frames |',
    '|---|---|---:|---:|---|---|---:|',
  ];
  for (const [variant, name] of VARIANTS) {
    const rs = runs(rows, variant);
    if (!rs.length) continue;
    const cpus = rs.map((r) => r.server_cpu_us_per_delivery).filter((x) => x != null);
    const lat = rs.map((r) => `${h.f(r.latency_ms.p50, 2)} / ${h.f(r.latency_ms.p99, 2)}${h.clean(r) ? '' : ' LOSSY'}`).join(', ');
    const held = rs.filter((r) => r.inbox_ms);
    const ib = held.map((r) => `${h.f(r.inbox_ms.p50, 0)} / ${h.f(r.inbox_ms.p90, 0)} / ${h.f(r.inbox_ms.p99, 0)} / ${h.f(r.inbox_ms.max, 0)}`).join(', ');
    out.push(`| ${name} | ${cpus.map((x) => h.f(x)).join(', ')} | ${h.f(h.mean(cpus))} | ${h.pct(h.mean(cpus), base)} | ${lat} | ${ib || '–'} | ${held.length ? h.n(h.mean(held.map((r) => r.inbox_frames))) : '–'} |`);
  }
  out.push('');
  return out;
}

export function figures(rows, h) {
  const plain = runs(rows, 'plain');
  if (!plain.length) return [];
  const base = cpuOf(h, plain);
  const out = [];
  const keyed = runs(rows, 'keyed');
  if (keyed.length) {
    out.push({
      figure: "inbox: the room's CPU per delivery, every member's inbox told",
      value: `${h.f(cpuOf(h, keyed))} vs ${h.f(base)} µs (${h.pct(cpuOf(h, keyed), base)})`,
      target: '≤ +15 %',
    });
  }
  const held = runs(rows, 'inboxes').filter((r) => r.inbox_ms);
  if (held.length) {
    const p = (q) => h.mean(held.map((r) => r.inbox_ms[q]));
    out.push({ figure: 'inbox: message ack → inbox frame p50 / p99', value: `${h.f(p('p50'), 0)} / ${h.f(p('p99'), 0)} ms`, target: 'p99 < 2 s' });
  }
  return out;
}
