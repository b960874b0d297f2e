//! One message as an <li>: drawn from the client's current state and redrawn whenever it changes (a
//! reply's quote, the "edited" marker with the earlier versions on demand, the "message deleted"
//! placeholder, the reactions, a thread's root its "3 replies · last 2 min ago" with the
//! participants' badges, a mention of us highlighted, and the actions — Reply, Reply in thread,
//! React, Edit, Delete, a moderator's Mute, Kick and Ban — as ordinary buttons, with the reaction
//! picker and the delete confirmation). The same item shows a message in the thread panel
//! (`place` 'thread'), where replying goes through the panel's own box. Opening a thread is asked
//! of the panel (app/thread.js) by an `edge-chat:thread` event, so this module needs none of it.

import { ago, excerpt, linkParts } from '../format.js';
import { blocks, inlineParts } from '../markup.js';
import { startEdit, startReply } from './composer.js';
import { button, el, fullFormat, timeElement, ui } from './dom.js';
import { jumpTo, schedule } from './list.js';
import { controlsTabbable } from './keys.js';
import { author, avatar, knownPerson, label } from './people.js';
import { client, items, versionsCache, versionsOpen, view } from './state.js';
import { messageUrl } from './url.js';

/** The quick reactions offered by the picker (any reaction others made shows and toggles too). */
const REACTIONS = [['👍', 'thumbs up'], ['❤️', 'heart'], ['😂', 'laughing'], ['🎉', 'party'], ['😮', 'surprised'], ['😢', 'sad']];

/** Every other reaction the picker offers under "More", found by name. `tone`: takes a skin tone. */
const MORE = [
  ['👎', 'thumbs down', true], ['👏', 'clapping hands', true], ['🙏', 'folded hands thanks please', true], ['👋', 'waving hand hello bye', true],
  ['💪', 'flexed biceps strong', true], ['🤞', 'crossed fingers luck', true], ['✌️', 'victory peace', true], ['👌', 'ok hand', true],
  ['🙌', 'raising hands hooray', true], ['🤝', 'handshake deal', false], ['😀', 'grinning smile happy', false], ['😊', 'smiling blush', false],
  ['😉', 'wink', false], ['😍', 'heart eyes love', false], ['🤔', 'thinking hmm', false], ['🙄', 'eye roll', false],
  ['😅', 'sweat smile phew', false], ['🤣', 'rolling on the floor laughing rofl', false], ['😭', 'crying sob', false], ['😡', 'angry', false],
  ['😱', 'scream shocked', false], ['🥳', 'partying face celebrate', false], ['😴', 'sleeping tired', false], ['🤯', 'mind blown', false],
  ['🔥', 'fire hot lit', false], ['✅', 'check done yes', false], ['❌', 'cross no wrong', false], ['👀', 'eyes looking', false],
  ['💯', 'hundred perfect', false], ['⭐', 'star', false], ['🚀', 'rocket launch ship', false], ['☕', 'coffee', false],
  ['🍕', 'pizza food', false], ['🍻', 'beers cheers', false], ['💡', 'idea light bulb', false], ['⚠️', 'warning', false],
];
const TONES = [['', 'No skin tone'], ['🏻', 'Light'], ['🏼', 'Medium-light'], ['🏽', 'Medium'], ['🏾', 'Medium-dark'], ['🏿', 'Dark']];
const RECENT_KEY = 'edge-chat:recent-reactions';
const TONE_KEY = 'edge-chat:skin-tone';

function stored(key, fallback) {
  try {
    return JSON.parse(localStorage.getItem(key)) ?? fallback;
  } catch {
    return fallback;
  }
}

function remember(emoji) {
  const recent = [emoji, ...stored(RECENT_KEY, []).filter((e) => e !== emoji)].slice(0, 8);
  try {
    localStorage.setItem(RECENT_KEY, JSON.stringify(recent));
  } catch {}
}

/** `emoji` with the chosen skin tone, when it is one that takes one (the modifier after its first code point). */
function toned(emoji, takesTone, tone) {
  if (!takesTone || !tone) return emoji;
  const [first] = [...emoji];
  return first + tone;
}

/**
 * The text of a message: its basic formatting (markup.js: bold, italic, code, code blocks, quotes)
 * as elements holding text, its links made clickable — only http and https URLs (format.js's
 * `linkParts`), each opened apart from this page: `noopener` (the linked page gets no
 * `window.opener`) and `noreferrer` (nor our address) — and a search's `terms` marked. Everything a
 * person wrote stays text nodes: formatting only chooses which element holds them.
 */
function textWithLinks(className, text, terms = []) {
  const parts = blocks(text);
  const simple = parts.length === 1 && parts[0].type === 'text';
  const box = el(simple ? 'p' : 'div', className);
  box.dir = 'auto'; // each message's own direction: Arabic or Hebrew reads right to left
  for (const b of parts) {
    if (b.type === 'code') {
      const pre = el('pre', 'code-block');
      pre.append(el('code', '', b.text));
      box.append(pre);
      continue;
    }
    const holder = simple ? box : el(b.type === 'quote' ? 'blockquote' : 'p', b.type === 'quote' ? 'said' : 'para');
    holder.dir = 'auto';
    holder.append(...inline(b.text, terms));
    if (holder !== box) box.append(holder);
  }
  return box;
}

/** One block's inline formatting as nested elements (strong, em, code), links and marks inside. */
function inline(text, terms) {
  const out = [];
  for (const part of inlineParts(text)) {
    let nodes = part.styles.includes('code') ? [el('code', '', part.text)] : linked(part.text, terms);
    for (const style of [...part.styles].reverse()) {
      if (style === 'code') continue;
      const wrap = el(style);
      wrap.append(...nodes);
      nodes = [wrap];
    }
    out.push(...nodes);
  }
  return out;
}

function linked(text, terms) {
  const out = [];
  for (const part of linkParts(text)) {
    if (!part.href) {
      out.push(...marked(part.text, terms));
      continue;
    }
    const a = el('a', 'link', part.text);
    a.href = part.href;
    a.rel = 'noopener noreferrer';
    a.target = '_blank';
    out.push(a);
  }
  return out;
}

/** `text` as nodes, each occurrence of one of `terms` (a search's hits) in a <mark>. */
function marked(text, terms) {
  if (!terms.length) return [text];
  const escaped = terms.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const out = [];
  for (const [i, piece] of text.split(new RegExp(`(${escaped.join('|')})`, 'giu')).entries()) {
    if (piece) out.push(i % 2 ? el('mark', 'hit', piece) : piece);
  }
  return out;
}

function metaLine(m, own) {
  const meta = el('p', 'meta');
  meta.append(...author(m.from));
  if (own) meta.append(el('span', 'you', 'you'));
  meta.append(timeElement(m.ts ?? Date.now()));
  return meta;
}

/** A message of ours not yet stored (the outbox): what we wrote, and what it answers. */
export function messageItem(m, own) {
  const li = el('li', own ? 'msg own' : 'msg');
  li.dataset.ts = String(m.ts ?? Date.now());
  if (m.reply_to != null) li.append(quote(m.reply_to));
  li.append(metaLine(m, own), textWithLinks('text', m.text));
  return li;
}

/** Asks the thread panel to open the thread of `root` (and `focus` its box). */
export function openThread(root, focus = true) {
  document.dispatchEvent(new CustomEvent('edge-chat:thread', { detail: { root, focus } }));
}

/** A stored message: an <li> that `fill` redraws whenever the message changes. `place` 'thread': in
 * the thread panel (its own id, no thread controls). */
export function storedItem(m, place = 'list') {
  const li = el('li', 'msg');
  li.dataset.seq = String(m.seq);
  li.dataset.place = place;
  li.id = place === 'thread' ? `thread-msg-${m.seq}` : `msg-${m.seq}`;
  li.tabIndex = -1; // a jump (a reply's quote, "N new") moves the focus here
  // On a touch screen the actions show for the message tapped (focused); a long press does the same
  // instead of the browser's own menu.
  li.addEventListener('contextmenu', (e) => {
    if (!matchMedia('(hover: none)').matches || e.target.closest('a')) return;
    e.preventDefault();
    li.focus();
  });
  fill(li, m);
  return li;
}

/** Draws a stored message from its current state, keeping the keyboard focus on the same control. */
export function fill(li, m) {
  const own = client.isOwn(m);
  const active = document.activeElement;
  const focusKey = active !== li && li.contains(active) ? active.dataset.key : null;
  const inPanel = li.dataset.place === 'thread';
  const mentionsMe = !m.deleted && client.isMentioned(m);
  li.classList.toggle('own', own);
  li.classList.toggle('deleted', m.deleted);
  li.classList.toggle('mentions-me', mentionsMe);
  li.dataset.ts = String(m.ts);
  if (m.reply_to != null) li.dataset.replyTo = String(m.reply_to);
  const parts = [];
  if (!inPanel && typeof m.thread === 'number') parts.push(inThreadMarker(m.thread));
  if (m.reply_to != null && !m.deleted) parts.push(quote(m.reply_to));
  const meta = metaLine(m, own);
  if (mentionsMe) meta.append(el('span', 'mention-tag', m.mentions_room ? '@room' : '@you'));
  if (m.edited_at && !m.deleted) meta.append(editedMarker(m));
  parts.push(meta);
  if (m.deleted) {
    const by = view.deletedBy.has(m.seq) ? view.deletedBy.get(m.seq) : undefined;
    parts.push(el('p', 'text gone', by === undefined ? 'message deleted' : own ? `a moderator${by ? ` (${label(by)})` : ''} deleted your message` : 'message deleted by a moderator'));
  } else {
    parts.push(textWithLinks('text', m.text, view.highlight?.seq === m.seq ? view.highlight.terms : []));
    if (versionsOpen.has(m.seq)) parts.push(versionsBlock(m));
    const reactions = reactionsRow(m);
    if (reactions) parts.push(reactions);
    parts.push(...actionsFor(m, own, inPanel));
  }
  // A root's thread shows under it in the list, also once the root is deleted (its replies stay).
  if (!inPanel && m.thread && typeof m.thread === 'object' && m.thread.replies > 0) parts.push(threadRow(m));
  li.replaceChildren(...parts);
  // One Tab stop for the whole list: a message's buttons are in the Tab order only while it has the focus.
  controlsTabbable(li, li.contains(active));
  if (focusKey) (li.querySelector(`[data-key="${CSS.escape(focusKey)}"]`) ?? li).focus();
}

/** Redraws message `seq` wherever it shows: in the list, in the thread panel, or both. */
export function redraw(seq) {
  const m = client?.messages.get(seq);
  for (const li of [items.get(seq), document.getElementById(`thread-msg-${seq}`)]) if (li && m) fill(li, m);
  schedule();
}

/** The item of `seq` whose controls have the focus, or else the list's (for focusing one of them). */
function itemOf(seq) {
  const panel = document.getElementById(`thread-msg-${seq}`);
  return panel?.contains(document.activeElement) ? panel : (items.get(seq) ?? panel);
}

/** "3 replies · last 2 min ago" under a thread's root, with the first repliers' badges, marked when
 * replies wait unread for us; a click opens the thread. */
function threadRow(m) {
  const s = m.thread;
  const unread = client.threadCounts.get(m.seq) ?? 0;
  const b = button('', () => openThread(m.seq, false), unread ? 'thread-row unread' : 'thread-row');
  b.dataset.key = 'thread';
  const faces = el('span', 'thread-faces');
  for (const uid of s.participants ?? []) faces.append(avatar(knownPerson(uid)));
  const count = `${s.replies} ${s.replies === 1 ? 'reply' : 'replies'}`;
  const last = el('span', 'thread-last', ` · last ${ago(s.last_at)}`);
  last.dataset.at = String(s.last_at);
  b.append(faces, el('span', 'thread-count', count), last);
  if (unread) b.append(el('span', 'thread-new', `${unread} new`));
  b.setAttribute('aria-label', `${count}${unread ? `, ${unread} unread` : ''}, last ${ago(s.last_at)}. Open the thread.`);
  return b;
}

/** Above a reply shown in the room too: which thread it belongs to; a click opens it. */
function inThreadMarker(root) {
  const original = client.messages.get(root);
  const b = button('', () => openThread(root, false), 'quote in-thread');
  b.dataset.key = 'in-thread';
  b.append(el('span', 'quote-who', 'In a thread:'), el('span', 'quote-text', original ? (original.deleted ? 'message deleted' : excerpt(original.text)) : 'an earlier message'));
  b.setAttribute('aria-label', 'Replied in a thread. Open the thread.');
  return b;
}

/** The quote above a reply: who and the first line of what they said; a click goes there. */
function quote(seq) {
  const original = client.messages.get(seq);
  const who = original ? label(original.from) : null;
  const said = !original ? 'an earlier message' : original.deleted ? 'message deleted' : excerpt(original.text);
  const b = button('', () => jumpTo(seq), 'quote');
  b.dataset.key = 'quote';
  if (who) b.append(el('span', 'quote-who', who));
  const text = el('span', 'quote-text', said);
  text.dir = 'auto';
  b.append(text);
  b.setAttribute('aria-label', `In reply to ${who ? `${who}: ` : ''}${said}. Go to that message.`);
  return b;
}

/** Redraws the replies to `seq` (their quote shows it). */
export function refreshQuotesOf(seq) {
  for (const li of ui.messages.querySelectorAll(`li[data-reply-to="${seq}"]`)) {
    const m = client.messages.get(Number(li.dataset.seq));
    if (m) fill(li, m);
  }
}

function editedMarker(m) {
  const b = button('edited', () => toggleVersions(m.seq), 'edited link');
  b.dataset.key = 'edited';
  b.title = `Edited ${fullFormat.format(new Date(m.edited_at))}. Show the earlier versions.`;
  b.setAttribute('aria-expanded', String(versionsOpen.has(m.seq)));
  b.setAttribute('aria-controls', `versions-${m.seq}`);
  return b;
}

function toggleVersions(seq) {
  if (versionsOpen.has(seq)) versionsOpen.delete(seq);
  else {
    versionsOpen.add(seq);
    if (versionsCache.get(seq)?.error) versionsCache.delete(seq); // asked again: try again
  }
  redraw(seq);
}

/** The earlier versions of an edited message (the newest page of them), fetched once per version from
 * the HTTP API. */
function versionsBlock(m) {
  const box = el('div', 'versions');
  box.id = `versions-${m.seq}`;
  const got = versionsCache.get(m.seq);
  if (!got || got.version !== m.version) {
    box.append(el('p', 'versions-state', 'Loading the earlier versions…'));
    loadVersions(m);
    return box;
  }
  if (got.error) {
    box.append(el('p', 'versions-state', `Could not load the earlier versions: ${got.error}.`));
    return box;
  }
  const earlier = got.versions.filter((v) => v.version < m.version);
  box.append(el('p', 'versions-title', earlier.length ? 'Earlier versions' : 'No earlier versions are kept.'));
  const list = el('ol');
  for (const v of earlier) {
    const item = el('li', 'version');
    const text = el('span', 'version-text', v.text);
    text.dir = 'auto';
    item.append(timeElement(v.at), ' ', text);
    list.append(item);
  }
  box.append(list);
  // The API answers the newest page; older versions (if the room still keeps any) are not listed here.
  if (got.more) box.append(el('p', 'versions-state', 'Older versions are not shown.'));
  return box;
}

const versionsLoading = new Set();

async function loadVersions(m) {
  if (versionsLoading.has(m.seq)) return;
  versionsLoading.add(m.seq);
  const room = client.room;
  let got;
  try {
    // Same origin, so the CSP's connect-src 'self' allows it; the same read rights as the history.
    const res = await fetch(`/api/rooms/${encodeURIComponent(room)}/messages/${m.seq}/versions`, { headers: { accept: 'application/json' } });
    const body = await res.json().catch(() => ({}));
    got = res.ok && Array.isArray(body.versions)
      ? { version: body.versions.at(-1)?.version ?? m.version, versions: body.versions, more: body.next !== undefined }
      : { version: m.version, error: body.message ?? `the server answered ${res.status}` };
  } catch {
    got = { version: m.version, error: 'the server could not be reached' };
  }
  versionsLoading.delete(m.seq);
  if (client?.room !== room) return;
  versionsCache.set(m.seq, got);
  redraw(m.seq);
}

/**
 * The reactions under a message, with ours not yet acked by the room (sent offline, say) shown as
 * they will be, marked pending, until the room's answer takes their place.
 */
function reactionsRow(m) {
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
    row.append(b);
  }
  return row;
}

/** Whether a moderator muted us (we can read, not write, react or edit meanwhile). */
function muted() {
  const until = client.rules?.().mutedUntil;
  return Boolean(until && until > Date.now());
}

/** Reply, Reply in thread, React, and for our own messages Edit and Delete; with the open picker or
 * confirmation. In the thread panel replying is the panel's box, so neither reply is offered. */
function actionsFor(m, own, inPanel) {
  const bar = el('div', 'actions');
  bar.setAttribute('role', 'group');
  bar.setAttribute('aria-label', 'Message actions');
  const add = (label, key, onClick) => {
    const b = button(label, onClick, 'action');
    b.dataset.key = key;
    bar.append(b);
    return b;
  };
  if (!inPanel) add('Reply', 'reply', () => startReply(m.seq));
  // One level of threads: a reply in a thread has none of its own.
  if (!inPanel && typeof m.thread !== 'number') add('Reply in thread', 'thread-reply', () => openThread(m.seq));
  if (!inPanel) add('Copy link', 'permalink', (e) => copyLink(e.currentTarget, m.seq)).title = 'Copy a link that opens the room at this message';
  // Reactions, edits and deletions need an identity (a key): an anonymous page only replies.
  if (client.identified && !muted()) {
    add('React', 'react', () => togglePicker(m.seq)).setAttribute('aria-expanded', String(view.pickerFor === m.seq));
    if (own) {
      add('Edit', 'edit', () => startEdit(m.seq));
    }
    // A moderator may delete anyone's message, and act on its author (docs/PROTOCOL.md, "Moderation").
    const moderating = !own && client.role === 'moderator';
    if (own || moderating) {
      add('Delete', 'delete', () => askDelete(m.seq)).setAttribute('aria-expanded', String(view.confirmingDelete === m.seq));
    }
    if (moderating && m.from?.uid) {
      const who = label(m.from);
      add('Mute 10 min', 'mute', () => client.moderate('mute', { uid: m.from.uid, seconds: 600 })).title = `Mute ${who} for 10 minutes`;
      add('Kick', 'kick', () => client.moderate('kick', { uid: m.from.uid })).title = `Remove ${who} from the room (they may come back)`;
      add('Ban', 'ban', () => {
        if (window.confirm(`Ban ${who} from this room? They are removed now and cannot come back until unbanned.`)) {
          client.moderate('ban', { uid: m.from.uid });
        }
      }).title = `Ban ${who} from the room`;
    }
  }
  const out = [bar];
  if (view.pickerFor === m.seq) out.push(picker(m));
  if (view.confirmingDelete === m.seq) out.push(deleteConfirm(m));
  return out;
}

/** Copies the permalink of `seq` (the room opened at that message), or offers it to copy by hand. */
async function copyLink(b, seq) {
  const url = messageUrl(client.room, seq);
  try {
    await navigator.clipboard.writeText(url);
    b.textContent = 'Link copied';
    setTimeout(() => (b.textContent = 'Copy link'), 2000);
  } catch {
    window.prompt('Copy this link to the message:', url);
  }
}

function picker(m) {
  const box = el('div', 'picker-box');
  const quick = el('div', 'picker');
  quick.setAttribute('role', 'group');
  quick.setAttribute('aria-label', 'Pick a reaction');
  const mine = client.myReactions(m.seq);
  const pick = (emoji, name, className = 'pick') => {
    const b = button(emoji, () => {
      remember(emoji);
      client.react(m.seq, emoji, !mine.includes(emoji));
      closePicker(m.seq); // redraws it: a reaction sent offline shows as pending at once
    }, className);
    b.dataset.key = `pick:${emoji}`;
    b.setAttribute('aria-label', `React with ${name}`);
    b.setAttribute('aria-pressed', String(mine.includes(emoji)));
    b.title = name;
    return b;
  };
  for (const [emoji, name] of REACTIONS) quick.append(pick(emoji, name));
  box.append(quick);
  // Recently used, then every other one: searchable by name, hands in the chosen skin tone.
  const recent = stored(RECENT_KEY, []).filter((e) => !REACTIONS.some(([q]) => q === e));
  if (recent.length) {
    const row = el('div', 'picker recent');
    row.setAttribute('role', 'group');
    row.setAttribute('aria-label', 'Recent reactions');
    for (const emoji of recent) row.append(pick(emoji, emoji, 'pick recent'));
    box.append(row);
  }
  const more = el('details', 'picker-more');
  more.append(el('summary', '', 'More reactions'));
  const search = el('input', 'picker-search');
  search.type = 'search';
  search.placeholder = 'Find a reaction';
  search.setAttribute('aria-label', 'Find a reaction');
  const tone = document.createElement('select');
  tone.className = 'picker-tone';
  tone.setAttribute('aria-label', 'Skin tone');
  for (const [value, name] of TONES) {
    const option = document.createElement('option');
    option.value = value;
    option.textContent = value ? `✋${value} ${name}` : `✋ ${name}`;
    tone.append(option);
  }
  tone.value = stored(TONE_KEY, '');
  const all = el('div', 'picker all');
  all.setAttribute('role', 'group');
  all.setAttribute('aria-label', 'More reactions');
  const fillAll = () => {
    const q = search.value.trim().toLowerCase();
    all.replaceChildren(...MORE.filter(([, name]) => !q || name.includes(q)).map(([emoji, name, takesTone]) => pick(toned(emoji, takesTone, tone.value), name.split(' ').slice(0, 2).join(' '), 'pick more')));
    if (!all.childElementCount) all.append(el('p', 'picker-none', 'No reaction has that name.'));
  };
  search.addEventListener('input', fillAll);
  tone.addEventListener('change', () => {
    try {
      localStorage.setItem(TONE_KEY, JSON.stringify(tone.value));
    } catch {}
    fillAll();
  });
  fillAll();
  const tools = el('div', 'picker-tools');
  tools.append(search, tone);
  more.append(tools, all);
  box.append(more);
  box.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      closePicker(m.seq);
    }
  });
  return box;
}

function focusControl(seq, key) {
  itemOf(seq)?.querySelector(`[data-key="${key}"]`)?.focus();
}

function togglePicker(seq) {
  const previous = view.pickerFor;
  view.pickerFor = previous === seq ? null : seq;
  view.confirmingDelete = null;
  if (previous !== null && previous !== seq) redraw(previous);
  redraw(seq);
  if (view.pickerFor === seq) itemOf(seq)?.querySelector('.pick')?.focus();
}

function closePicker(seq) {
  view.pickerFor = null;
  redraw(seq);
  focusControl(seq, 'react');
}

function askDelete(seq) {
  const previous = view.confirmingDelete;
  view.confirmingDelete = seq;
  view.pickerFor = null;
  if (previous !== null && previous !== seq) redraw(previous);
  redraw(seq);
  focusControl(seq, 'cancel-delete'); // the safe choice has the focus
}

function deleteConfirm(m) {
  const box = el('div', 'confirm');
  box.setAttribute('role', 'group');
  box.setAttribute('aria-label', 'Confirm deletion');
  box.append(el('p', 'confirm-text', 'Delete this message for everyone? Its text and earlier versions are erased.'));
  const cancel = () => {
    view.confirmingDelete = null;
    redraw(m.seq);
    focusControl(m.seq, 'delete');
  };
  const yes = button('Yes, delete', () => {
    view.confirmingDelete = null;
    client.delete(m.seq);
    redraw(m.seq);
    itemOf(m.seq)?.focus();
  }, 'danger');
  yes.dataset.key = 'confirm-delete';
  const no = button('Cancel', cancel);
  no.dataset.key = 'cancel-delete';
  const buttons = el('p', 'fix');
  buttons.append(yes, no);
  box.append(buttons);
  box.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      cancel();
    }
  });
  return box;
}
