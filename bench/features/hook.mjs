// The report's section for the feature scenario `hook` (bench/features/hook.sh): the moderation hook's
// cost on the message path, from the rows `hook-1` and `hook-2` (servers edgena and edgehook).

const runs = (rows, server) => rows.filter((r) => r.scenario.startsWith('hook-') && r.server === server && r.result).map((r) => r.result);

export function render(rows, h) {
  const plain = runs(rows, 'edgena');
  const hooked = runs(rows, 'edgehook');
  if (!plain.length || !hooked.length) return [];
  const out = [
    '## Feature: the moderation hook (issue 32)',
    '',
    "Scenario L's load (50 clients, 1 room, 5 senders at 100 msg/s each, v1 framing, direct), two rounds in",
    'reversed order, edge-chat without a hook and with `MODERATION_URL` pointing at a local endpoint that',
    'allows everything after 5 ms: every frame waits for its verdict before it is stored and shown.',
    '',
    '| server | p50 / p99 ms (rounds) | mean p99 | CPU µs per delivery (rounds) | mean | vs no hook |',
    '|---|---|---:|---|---:|---:|',
  ];
  const base = h.mean(plain.map((r) => r.server_cpu_us_per_delivery).filter((x) => x != null));
  for (const [name, rs] of [['no hook', plain], ['hook, 5 ms endpoint', hooked]]) {
    const cpus = rs.map((r) => r.server_cpu_us_per_delivery).filter((x) => x != null);
    const lat = rs.map((r) => `${h.f(r.latency_ms.p50, 2)} / ${h.f(r.latency_ms.p99, 2)}${h.clean(r) ? '' : ' LOSSY'}`).join(', ');
    out.push(`| ${name} | ${lat} | ${h.f(h.mean(rs.map((r) => r.latency_ms.p99)), 2)} | ${cpus.map((x) => h.f(x)).join(', ')} | ${h.f(h.mean(cpus))} | ${h.pct(h.mean(cpus), base)} |`);
  }
  out.push('');
  return out;
}

export function figures(rows, h) {
  const plain = runs(rows, 'edgena');
  const hooked = runs(rows, 'edgehook');
  if (!plain.length || !hooked.length) return [];
  const p = (rs, k) => h.mean(rs.map((r) => r.latency_ms[k]));
  const cpu = (rs) => h.mean(rs.map((r) => r.server_cpu_us_per_delivery).filter((x) => x != null));
  return [
    {
      figure: 'moderation hook (5 ms endpoint): p50 / p99 added at 100 msg/s per sender',
      value: `+${h.f(p(hooked, 'p50') - p(plain, 'p50'), 1)} / +${h.f(p(hooked, 'p99') - p(plain, 'p99'), 1)} ms (${h.f(p(hooked, 'p99'), 1)} vs ${h.f(p(plain, 'p99'), 1)} ms p99)`,
      target: 'measured (hook off for the message-path ratios)',
    },
    { figure: 'moderation hook: CPU per delivery', value: `${h.f(cpu(hooked))} vs ${h.f(cpu(plain))} µs (${h.pct(cpu(hooked), cpu(plain))})`, target: '—' },
  ];
}
