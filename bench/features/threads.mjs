// The report's section for the feature scenario `threads` (bench/features/threads.sh): threads and
// mentions on the message path, from the rows `threads-1` and `threads-2` (servers edgena-plain,
// edgena-thread, edgena-mention).

const VARIANTS = [
  ['plain', 'plain messages'],
  ['thread', 'every message a reply in one thread'],
  ['mention', 'identities, every message mentions one of them'],
];
const runs = (rows, variant) => rows.filter((r) => /^threads-\d+$/.test(r.scenario) && r.server === `edgena-${variant}` && r.result).map((r) => r.result);
const cpuOf = (h, rs) => h.mean(rs.map((r) => r.server_cpu_us_per_delivery).filter((x) => x != null));

export function render(rows, h) {
  if (!runs(rows, 'plain').length) return [];
  const base = cpuOf(h, runs(rows, 'plain'));
  const out = [
    '## Feature: threads and mentions (issue 27)',
    '',
    "Scenario A20's load (50 clients, 1 room, 5 senders at 20 msg/s each, v1 framing, direct), two rounds in",
    'reversed order: plain messages; every message a reply in one thread (each reply also revises the root\'s',
    'summary — a `thread_updated` to everyone — and the five senders\' thread counts, an `unread` frame each);',
    'every client an identity and every message mentioning the next one by `@name` (a mention row and an',
    '`unread` frame to that person; the row includes what identities cost by themselves). CPU per delivery',
    'counts the deliveries of the messages, so the extra frames show in it.',
    '',
    '| messages | CPU µs per delivery (rounds) | mean | vs plain | p50 / p99 ms (rounds) | frames per delivery |',
    '|---|---|---:|---:|---|---:|',
  ];
  for (const [variant, name] of VARIANTS) {
    const rs = runs(rows, variant);
    if (!rs.length) continue;
    const cpus = rs.map((r) => r.server_cpu_us_per_delivery).filter((x) => x != null);
    const lat = rs.map((r) => `${h.f(r.latency_ms.p50, 2)} / ${h.f(r.latency_ms.p99, 2)}${h.clean(r) ? '' : ' LOSSY'}`).join(', ');
    const frames = h.mean(rs.map((r) => r.frames_in / Math.max(1, r.delivered)));
    out.push(`| ${name} | ${cpus.map((x) => h.f(x)).join(', ')} | ${h.f(h.mean(cpus))} | ${h.pct(h.mean(cpus), base)} | ${lat} | ${h.f(frames, 2)} |`);
  }
  out.push('');
  return out;
}

export function figures(rows, h) {
  const plain = runs(rows, 'plain');
  if (!plain.length) return [];
  const base = cpuOf(h, plain);
  const p99 = (rs) => h.mean(rs.map((r) => r.latency_ms.p99));
  return VARIANTS.slice(1)
    .filter(([variant]) => runs(rows, variant).length)
    .map(([variant, name]) => {
      const rs = runs(rows, variant);
      return {
        figure: `${variant === 'thread' ? 'threads' : 'mentions'}: ${name}, CPU per delivery and p99 against plain`,
        value: `${h.f(cpuOf(h, rs))} vs ${h.f(base)} µs (${h.pct(cpuOf(h, rs), base)}); p99 ${h.f(p99(rs), 1)} vs ${h.f(p99(plain), 1)} ms`,
        target: 'measured',
      };
    });
}
