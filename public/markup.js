//! Basic formatting in message text — `**bold**`, `_italic_` or `*italic*`, `` `code` ``, fenced
//! code blocks and `> quote` lines — read into plain parts, as pure functions (no DOM), so that what
//! is formatted is tested on its own. The page draws the parts as elements with text in them: a
//! message can never become markup, whatever it holds (the CSP's Trusted Types forbid it anyway).

/**
 * The blocks of a message: `{type: 'code', text}` for a fenced block (```…```), `{type: 'quote',
 * text}` for consecutive lines starting with `>`, `{type: 'text', text}` for the rest (newlines kept).
 */
export function blocks(text) {
  const out = [];
  const FENCE = /```[^\S\n]*[\w+-]*[^\S\n]*\n?([\s\S]*?)\n?```/g;
  let from = 0;
  for (const match of text.matchAll(FENCE)) {
    if (match.index > from) out.push(...quoteBlocks(text.slice(from, match.index)));
    out.push({ type: 'code', text: match[1] });
    from = match.index + match[0].length;
  }
  if (from < text.length || out.length === 0) out.push(...quoteBlocks(text.slice(from)));
  if (out.length === 1) return out;
  // Newlines next to a fence or a quote belong to the layout, not to the text.
  return out.map((b) => (b.type === 'text' ? { ...b, text: b.text.replace(/^\n+|\n+$/g, '') } : b)).filter((b) => b.type !== 'text' || b.text !== '');
}

function quoteBlocks(text) {
  const out = [];
  const push = (type, line) => {
    const last = out.at(-1);
    if (last?.type === type) last.text += `\n${line}`;
    else out.push({ type, text: line });
  };
  for (const line of text.split('\n')) {
    const quoted = /^>\s?(.*)$/.exec(line);
    if (quoted) push('quote', quoted[1]);
    else push('text', line);
  }
  return out;
}

// Inline styles: code first (nothing inside it is formatted), then bold, then italic. A marker must
// hug its text (`* not this *`), and `_` only counts at word edges (snake_case_names stay as they are).
const INLINE = [
  ['code', /`([^`\n]+)`/],
  ['strong', /\*\*(?=\S)([^\n]*?\S)\*\*/],
  ['em', /(?<![\w*])\*(?=[^\s*])([^*\n]*?[^\s*])\*(?![\w*])/],
  ['em', /(?<![\p{L}\p{N}_])_(?=\S)([^_\n]*?\S)_(?![\p{L}\p{N}_])/u],
];

/**
 * `text` cut into inline parts: `{text, styles}` where styles lists 'code', 'strong', 'em' as they
 * nest. Joining every part's text gives `text` without its markers.
 */
export function inlineParts(text, styles = []) {
  if (styles.includes('code')) return [{ text, styles }];
  let best = null;
  for (const [style, re] of INLINE) {
    const m = re.exec(text);
    if (m && (best === null || m.index < best.m.index)) best = { style, m };
  }
  if (!best) return text ? [{ text, styles }] : [];
  const { style, m } = best;
  return [
    ...(m.index > 0 ? [{ text: text.slice(0, m.index), styles }] : []),
    ...inlineParts(m[1], [...styles, style]),
    ...inlineParts(text.slice(m.index + m[0].length), styles),
  ];
}
