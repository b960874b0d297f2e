//! A message's reactions: the row of counts under it (ours marked, ours not yet acked shown as
//! pending), who reacted — on hover, on focus, and on a long press on a touch screen, read from the
//! room a page at a time (client.reactors) — and the reaction picker: six quick ones, the recent
//! ones, and every emoji behind "More reactions" (emoji.js). message.js draws them into a message's
//! <li>; what they redraw goes through the `redraw` it passes in (this module does not import it
//! back).

import { emojiPicker, recentEmoji, rememberEmoji } from './emoji.js';
import { button, el } from './dom.js';
import { handle, label } from './people.js';
import { client, items } from './state.js';

/** The quick reactions offered first (any reaction others made shows and toggles too). */
const QUICK = [['👍', 'thumbs up'], ['❤️', 'heart'], ['😂', 'laughing'], ['🎉', 'party'], ['😮', 'surprised'], ['😢', 'sad']];
/** Names shown in "who reacted" before "and N others". */
const WHO_SHOWN = 10;

/** Whether a moderator muted us (we can read, not write, react or edit meanwhile). */
export function muted() {
  const until = client.rules?.().mutedUntil;
  return Boolean(until && until > Date.now());
}

/**
 * The reactions under a message, with ours not yet acked by the room (sent offline, say) shown as
 * they will be, marked pending, until the room's answer takes their place.
 */
export function reactionsRow(m, redraw) {
  const counts = Object.fromEntries(Object.entries(m.reactions ?? {}).filter(([, n]) => n > 0));
  const mine = client.myReactions(m.seq);
  const pending = new Map();
  for (const a of client.actions) {
    if (a.type !== 'react' || a.seq !== m.seq || Boolean(a.on) === mine.includes(a.emoji)) continue;
    pending.set(a.emoji, a.on);
    counts[a.emoji] = Math.max(0, (counts[a.emoji] ?? 0) + (a.on ? 1 : -1));
  }
  const shown = Object.entries(counts).filter(([emoji, n]) => n > 0 || pending.has(emoji));
  if (!shown.length) return null;
  const row = el('div', 'reactions');
  row.setAttribute('role', 'group');
  row.setAttribute('aria-label', 'Reactions');
  for (const [emoji, n] of shown) {
    const ours = pending.has(emoji) ? pending.get(emoji) : mine.includes(emoji);
    const b = button(`${emoji} ${n}`, () => {
      client.toggleReaction(m.seq, emoji);
      redraw(m.seq);
    }, pending.has(emoji) ? 'reaction pending' : 'reaction');
    b.dataset.key = `reaction:${emoji}`;
    b.dataset.emoji = emoji;
    b.setAttribute('aria-pressed', String(ours));
    b.title = pending.has(emoji) ? 'Not sent yet: it goes as soon as the room is reachable.' : ours ? 'You reacted. Click to take it back.' : 'Click to react too.';
    b.disabled = !client.identified || pending.has(emoji) || muted();
    if (!pending.has(emoji)) whoOn(b, m.seq, emoji);
    row.append(b);
  }
  return row;
}

// Who reacted. One is shown at a time: {seq, emoji} (it outlives the redraws of its message).
let showing = null;
const who = new Map(); // `${seq} ${emoji}` → {count, users, more} or {count, error}, as last read
const asking = new Set();

/** Hover (a mouse), focus, and a long press (a touch screen's context menu) show who reacted. */
function whoOn(b, seq, emoji) {
  const show = () => showWho(seq, emoji);
  const hide = () => {
    if (showing?.seq === seq && showing.emoji === emoji) hideWho();
  };
  b.addEventListener('pointerenter', (e) => e.pointerType === 'mouse' && show());
  b.addEventListener('pointerleave', (e) => e.pointerType === 'mouse' && hide());
  b.addEventListener('focus', show);
  b.addEventListener('blur', hide);
  b.addEventListener('contextmenu', (e) => {
    e.preventDefault(); // the long press shows the names, not the browser's menu
    show();
  });
}

// A tap anywhere else puts the names away again (a touch screen has no "pointer left").
document.addEventListener('pointerdown', (e) => {
  if (showing && !e.target.closest?.('.reaction, .who-reacted')) hideWho();
});

function showWho(seq, emoji) {
  const before = showing;
  showing = { seq, emoji };
  if (before && before.seq !== seq) drawWho(before.seq);
  drawWho(seq);
}

function hideWho() {
  const seq = showing?.seq;
  showing = null;
  if (seq != null) drawWho(seq);
}

/**
 * Puts "who reacted" into message `seq`'s reactions row (or takes it away): the names read from the
 * room for the count shown now, asked again when the count changed. Called by message.js after
 * every redraw of the message, so it survives them.
 */
export function drawWho(seq) {
  const li = items.get(seq);
  if (!li) return;
  for (const old of li.querySelectorAll('.who-reacted')) old.remove();
  for (const chip of li.querySelectorAll('.reaction[aria-describedby]')) chip.removeAttribute('aria-describedby');
  if (showing?.seq !== seq) return;
  const chip = [...li.querySelectorAll('.reaction')].find((c) => c.dataset.emoji === showing.emoji);
  const m = client?.messages.get(seq);
  if (!chip || !m) return;
  const count = m.reactions?.[showing.emoji] ?? 0;
  const key = `${seq} ${showing.emoji}`;
  const got = who.get(key);
  const tip = el('div', 'who-reacted');
  tip.id = `who-reacted-${seq}`;
  tip.setAttribute('role', 'tooltip');
  tip.dir = 'auto';
  if (!got || got.count !== count) {
    tip.textContent = 'Loading who reacted…';
    askWho(seq, showing.emoji, count);
  } else if (got.error) {
    tip.textContent = `Could not load who reacted: ${got.error}`;
  } else {
    tip.textContent = `${showing.emoji} ${whoText(got, count)}`;
  }
  chip.setAttribute('aria-describedby', tip.id);
  chip.parentElement.append(tip);
}

/** "ann, you and 3 others" — a name shared by two people gets its handle (people.js). */
function whoText(got, count) {
  const names = got.users.map((u) => (u.uid === client.you?.uid ? 'you' : u.name ? label(u) : `#${handle(u)}`));
  const others = count - names.length;
  const parts = others > 0 ? [...names, `${others} ${others === 1 ? 'other' : 'others'}`] : names;
  return parts.length ? new Intl.ListFormat('en', { type: 'conjunction' }).format(parts) : 'nobody any more';
}

async function askWho(seq, emoji, count) {
  const key = `${seq} ${emoji}`;
  if (asking.has(key)) return;
  asking.add(key);
  const room = client.room;
  let got;
  try {
    const page = await client.reactors(seq, emoji, { limit: WHO_SHOWN });
    got = { count, users: page.users, more: page.next != null };
  } catch (error) {
    got = { count, error: error.code === 'offline' ? 'not connected' : error.message };
  }
  asking.delete(key);
  if (client?.room !== room) return;
  who.set(key, got);
  drawWho(seq);
}

/** Forgets what was read of who reacted (another room). */
export function forgetWho() {
  who.clear();
  showing = null;
}

/** What the reaction picker keeps across the redraws of its message: "More" open, the search typed. */
let pickerState = { seq: null, moreOpen: false, query: '' };

/** A picker opened anew starts closed and empty (message.js calls this when React opens one). */
export function freshPicker() {
  pickerState = { seq: null, moreOpen: false, query: '' };
}

/**
 * The reaction picker: the quick six, the recent ones, and every emoji under "More reactions" (built
 * when first opened). `close(seq)` puts it away (a pick, Escape).
 */
export function reactionPicker(m, close) {
  if (pickerState.seq !== m.seq) pickerState = { seq: m.seq, moreOpen: false, query: '' };
  const box = el('div', 'picker-box');
  const mine = client.myReactions(m.seq);
  const react = (emoji) => {
    rememberEmoji(emoji);
    client.react(m.seq, emoji, !mine.includes(emoji));
    close(m.seq); // redraws it: a reaction sent offline shows as pending at once
  };
  const pick = (emoji, name, className) => {
    const b = button(emoji, () => react(emoji), className);
    b.dataset.key = `pick:${emoji}`;
    b.setAttribute('aria-label', `React with ${name}`);
    b.setAttribute('aria-pressed', String(mine.includes(emoji)));
    b.title = name;
    return b;
  };
  const quick = el('div', 'picker');
  quick.setAttribute('role', 'group');
  quick.setAttribute('aria-label', 'Pick a reaction');
  for (const [emoji, name] of QUICK) quick.append(pick(emoji, name, 'pick'));
  box.append(quick);
  const recent = recentEmoji().filter((e) => !QUICK.some(([q]) => q === e)).slice(0, 8);
  if (recent.length) {
    const row = el('div', 'picker recent');
    row.setAttribute('role', 'group');
    row.setAttribute('aria-label', 'Recent reactions');
    for (const emoji of recent) row.append(pick(emoji, emoji, 'pick recent'));
    box.append(row);
  }
  const more = el('details', 'picker-more');
  const summary = el('summary', '', 'More reactions');
  summary.dataset.key = 'picker-more';
  more.append(summary);
  const fillMore = () => {
    if (more.querySelector('.emoji-picker')) return;
    more.append(emojiPicker({ verb: 'React with', searchLabel: 'Find a reaction', onPick: react, pressed: (e) => mine.includes(e), state: pickerState }));
  };
  more.addEventListener('toggle', () => {
    pickerState.moreOpen = more.open;
    if (more.open) {
      fillMore();
      more.querySelector('.picker-search')?.focus();
    }
  });
  if (pickerState.moreOpen) {
    more.open = true;
    fillMore();
  }
  box.append(more);
  box.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      close(m.seq);
    }
  });
  return box;
}
