// A line chart as a standalone SVG (no dependencies, no fonts to fetch), for the curves of
// docs/PERFORMANCE.md where a curve says more than a table: scenario A's search steps, p99 against the
// deliveries each server was offered, one line per server. Log-log axes, decade grid lines. Pure
// (tests/bench-report.test.mjs checks what it draws).

const W = 760;
const H = 420;
const M = { left: 64, right: 200, top: 36, bottom: 48 };
const COLOURS = ['#1b6ca8', '#d1495b', '#2e933c', '#edae49', '#6a4c93', '#00798c', '#8d6a9f', '#444'];
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v) => (v >= 1e6 ? `${v / 1e6}M` : v >= 1e3 ? `${v / 1e3}k` : `${v}`);

/**
 * series: [{ name, points: [[x, y], ...] }] (x, y > 0); title, xLabel, yLabel: text. Returns the SVG,
 * or null when there is nothing to draw.
 */
export function lineChart({ series, title, xLabel, yLabel }) {
  const all = series.flatMap((s) => s.points).filter(([x, y]) => x > 0 && y > 0);
  if (!all.length) return null;
  const decades = (vals) => [Math.floor(Math.log10(Math.min(...vals))), Math.ceil(Math.log10(Math.max(...vals)))];
  const [x0, x1] = decades(all.map(([x]) => x));
  const [y0, y1] = decades(all.map(([, y]) => y));
  const span = (a, b) => Math.max(b - a, 1);
  const X = (x) => M.left + ((Math.log10(x) - x0) / span(x0, x1)) * (W - M.left - M.right);
  const Y = (y) => H - M.bottom - ((Math.log10(y) - y0) / span(y0, y1)) * (H - M.top - M.bottom);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${M.left}" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  for (let d = x0; d <= Math.max(x1, x0 + 1); d++) {
    const x = X(10 ** d);
    out.push(`<line x1="${x.toFixed(1)}" y1="${M.top}" x2="${x.toFixed(1)}" y2="${H - M.bottom}" stroke="#ddd"/>`, `<text x="${x.toFixed(1)}" y="${H - M.bottom + 16}" text-anchor="middle">${fmt(10 ** d)}</text>`);
  }
  for (let d = y0; d <= Math.max(y1, y0 + 1); d++) {
    const y = Y(10 ** d);
    out.push(`<line x1="${M.left}" y1="${y.toFixed(1)}" x2="${W - M.right}" y2="${y.toFixed(1)}" stroke="#ddd"/>`, `<text x="${M.left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end">${fmt(10 ** d)}</text>`);
  }
  out.push(
    `<text x="${(M.left + W - M.right) / 2}" y="${H - 10}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text x="16" y="${(M.top + H - M.bottom) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(M.top + H - M.bottom) / 2})">${esc(yLabel)}</text>`,
  );
  series.forEach((s, i) => {
    const pts = s.points.filter(([x, y]) => x > 0 && y > 0).sort((a, b) => a[0] - b[0]);
    if (!pts.length) return;
    const colour = COLOURS[i % COLOURS.length];
    out.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${pts.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(' ')}"><title>${esc(s.name)}</title></polyline>`);
    for (const [x, y] of pts) out.push(`<circle cx="${X(x).toFixed(1)}" cy="${Y(y).toFixed(1)}" r="3" fill="${colour}"/>`);
    const ly = M.top + 10 + i * 18;
    out.push(`<line x1="${W - M.right + 12}" y1="${ly}" x2="${W - M.right + 32}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`, `<text x="${W - M.right + 38}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push('</svg>', '');
  return out.join('\n');
}
