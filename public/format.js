//! How message text and times are shown, as pure functions (no DOM, no network), so that what
//! becomes a link and where a day starts is tested on its own (tests/client.test.mjs). app.js turns
//! the parts into nodes: text stays text, and only what `linkParts` vouches for becomes an <a>.

// A URL starts at a word boundary with http:// or https:// — or with www., or is a bare domain under
// a common top-level domain (example.org, example.co.uk/path) — and runs to whitespace or a character
// that cannot be part of one in running text (<, >, quotes, backtick). Not after an @ (an email
// address's domain is not a link) nor inside a longer word or dotted name (file.txt, v1.2.com.x).
const BARE_TLDS = 'com|org|net|io|dev|app|edu|gov|info|co|me|ai|uk|de|fr|eu|nl|ch|ca|au|jp|es|it|se|no|fi|be|at|pl|in|us';
const URL_IN_TEXT = new RegExp(
  `\\bhttps?:\\/\\/[^\\s<>"'\`]+|(?<![@\\w.-])(?:www\\.[^\\s<>"'\`]+|(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\\.)+(?:${BARE_TLDS})(?![\\w-]|\\.\\w)(?:[/?#][^\\s<>"'\`]*)?)`,
  'gi',
);
// Sentence punctuation right after a link belongs to the sentence, not to the link.
const TRAILING = /[.,;:!?\])}]$/;

function count(text, ch) {
  let n = 0;
  for (const c of text) if (c === ch) n += 1;
  return n;
}

/**
 * `text` cut into parts: `{text}` for plain text and `{text, href}` for a link. Only http: and https:
 * URLs that the URL parser accepts become links (so never javascript:, data: or anything else); a
 * closing bracket ends a link only when it has no opening one inside it (Wikipedia-style
 * `…/Foo_(bar)` keeps its own). Joining every part's `text` gives back `text` exactly.
 */
export function linkParts(text) {
  const parts = [];
  let from = 0;
  for (const match of text.matchAll(URL_IN_TEXT)) {
    let url = match[0];
    while (TRAILING.test(url)) {
      const last = url.at(-1);
      const open = { ')': '(', ']': '[', '}': '{' }[last];
      if (open && count(url, open) >= count(url, last)) break;
      url = url.slice(0, -1);
    }
    let href = null;
    try {
      const parsed = new URL(/^https?:\/\//i.test(url) ? url : `https://${url}`); // www. and bare domains: https
      if ((parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.hostname) href = parsed.href;
    } catch {}
    if (!href) continue;
    if (match.index > from) parts.push({ text: text.slice(from, match.index) });
    parts.push({ text: url, href });
    from = match.index + url.length;
  }
  if (from < text.length || parts.length === 0) parts.push({ text: text.slice(from) });
  return parts;
}

/** The local calendar day of a time (ms), as a key: equal keys, same day. */
export function dayKey(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
}

/**
 * The heading of a day separator: "Today", "Yesterday", else the date in the reader's locale (with
 * the year only when it is not this year's).
 */
export function dayLabel(ms, now = Date.now(), locale = undefined) {
  const key = dayKey(ms);
  if (key === dayKey(now)) return 'Today';
  const yesterday = new Date(now);
  yesterday.setDate(yesterday.getDate() - 1);
  if (key === dayKey(yesterday.getTime())) return 'Yesterday';
  const d = new Date(ms);
  const sameYear = d.getFullYear() === new Date(now).getFullYear();
  return new Intl.DateTimeFormat(locale, { weekday: 'long', day: 'numeric', month: 'long', ...(sameYear ? {} : { year: 'numeric' }) }).format(d);
}

/** The first line of `text`, cut to `max` characters with an ellipsis (a reply's quote). */
export function excerpt(text, max = 80) {
  const line = String(text ?? '').split('\n', 1)[0];
  const chars = [...line];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : line + (text.includes('\n') ? ' …' : '');
}

/** How long ago `ms` was, briefly ("just now", "2 min ago", "3 h ago", "4 d ago"): a thread's last reply. */
export function ago(ms, now = Date.now()) {
  const s = Math.max(0, Math.floor((now - ms) / 1000));
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

/** A file's size as people read it: `812 B`, `48.2 kB`, `3.1 MB` (decimal units, as the limits). */
export function fileSize(bytes) {
  const n = Number(bytes) || 0;
  if (n < 1000) return `${n} B`;
  const [value, unit] = n < 1e6 ? [n / 1e3, 'kB'] : n < 1e9 ? [n / 1e6, 'MB'] : [n / 1e9, 'GB'];
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${unit}`;
}

/** The box an image of `width`×`height` is shown in, at most `maxW`×`maxH`, its proportions kept. */
export function fitted(width, height, maxW = 320, maxH = 240) {
  if (!width || !height) return { width: maxW, height: maxH };
  const scale = Math.min(1, maxW / width, maxH / height);
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}
