//! One message as an <li>: drawn from the client's current state and redrawn whenever it changes (a
//! reply's quote, the "edited" marker with the earlier versions on demand, the "message deleted"
//! placeholder — saying which moderator deleted it, and why —, the reactions (reactions.js), a
//! thread's root its "3 replies · last 2 min ago" with the participants' badges, a mention of us
//! highlighted, and the actions — Reply, Reply in thread, React, Edit, Delete, a moderator's Mute,
//! Kick, Ban and "Delete recent" — as ordinary buttons, with the reaction picker and the
//! confirmations of a deletion and of a purge). The same item shows a message in the thread panel
//! (`place` 'thread'), where replying goes through the panel's own box. Opening a thread is asked
//! of the panel (app/thread.js) by an `edge-chat:thread` event, so this module needs none of it.

import { ago, excerpt, linkParts } from '../format.js';
import { blocks, inlineParts } from '../markup.js';
import { filesBlock, previewCard } from './attached.js';
import { startEdit, startReply } from './composer.js';
import { button, el, fullFormat, timeElement, ui } from './dom.js';
import { jumpTo, schedule } from './list.js';
import { controlsTabbable } from './keys.js';
import { author, avatar, knownPerson, label } from './people.js';
import { drawWho, freshPicker, muted, reactionPicker, reactionsRow } from './reactions.js';
import { client, items, versionsCache, versionsOpen, view } from './state.js';
import { messageUrl } from './url.js';

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
  const files = filesBlock(m);
  if (files) li.append(files);
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
    parts.push(gonePlaceholder(m, own));
  } else {
    parts.push(textWithLinks('text', m.text, view.highlight?.seq === m.seq ? view.highlight.terms : []));
    const files = filesBlock(m);
    if (files) parts.push(files);
    const card = previewCard(m, own);
    if (card) parts.push(card);
    if (versionsOpen.has(m.seq)) parts.push(versionsBlock(m));
    const reactions = reactionsRow(m, redraw);
    if (reactions) parts.push(reactions);
    parts.push(...actionsFor(m, own, inPanel));
  }
  // A root's thread shows under it in the list, also once the root is deleted (its replies stay).
  if (!inPanel && m.thread && typeof m.thread === 'object' && m.thread.replies > 0) parts.push(threadRow(m));
  li.replaceChildren(...parts);
  drawWho(m.seq);
  // One Tab stop for the whole list: a message's buttons are in the Tab order only while it has the focus.
  controlsTabbable(li, li.contains(active));
  if (focusKey) (li.querySelector(`[data-key="${CSS.escape(focusKey)}"]`) ?? li).focus();
}

/**
 * What stands where a deleted message was: a moderator's deletion (heard as a `moderation` frame)
 * says so, with the moderator's name to its author and the reason to everyone, so that nobody takes
 * it for the author's own deletion.
 */
function gonePlaceholder(m, own) {
  const by = view.deletedBy.get(m.seq);
  if (!by) return el('p', 'text gone', 'message deleted');
  const who = own ? `a moderator${by.by ? ` (${label(by.by)})` : ''} deleted your message` : 'message deleted by a moderator';
  const p = el('p', 'text gone', by.reason ? `${who}: ` : who);
  if (by.reason) {
    const why = el('q', 'reason', by.reason);
    why.dir = 'auto';
    p.append(why);
  }
  return p;
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
  // Its visible text is its name ("2 replies · last 3 min ago 1 new"), as a voice user says it.
  b.title = 'Open the thread';
  return b;
}

/** Above a reply shown in the room too: which thread it belongs to; a click opens it. */
function inThreadMarker(root) {
  const original = client.messages.get(root);
  const b = button('', () => openThread(root, false), 'quote in-thread');
  b.dataset.key = 'in-thread';
  b.append(el('span', 'quote-who', 'In a thread:'), el('span', 'quote-text', original ? (original.deleted ? 'message deleted' : excerpt(original.text)) : 'an earlier message'));
  b.title = 'Open the thread';
  return b;
}

/** The quote above a reply: who and the first line of what they said; a click goes there. */
function quote(seq) {
  const original = client.messages.get(seq);
  const who = original ? label(original.from) : null;
  const said = !original ? 'an earlier message' : original.deleted ? 'message deleted' : excerpt(original.text);
  const b = button('', () => jumpTo(seq), 'quote');
  b.dataset.key = 'quote';
  // Its name is what it shows, with the words a screen reader needs around it (hidden from sight):
  // an aria-label would hide the visible text from speech input ("click Bob…").
  b.append(el('span', 'visually-hidden', 'In reply to '));
  if (who) b.append(el('span', 'quote-who', who), el('span', 'visually-hidden', ': '));
  const text = el('span', 'quote-text', said);
  text.dir = 'auto';
  b.append(text, el('span', 'visually-hidden', '. Go to that message.'));
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
      add('Delete recent…', 'purge', () => askPurge(m.seq)).setAttribute('aria-expanded', String(view.confirmingPurge === m.seq));
    }
  }
  const out = [bar];
  if (view.pickerFor === m.seq) out.push(reactionPicker(m, closePicker));
  if (view.confirmingDelete === m.seq) out.push(deleteConfirm(m, !own));
  if (view.confirmingPurge === m.seq) out.push(purgeConfirm(m));
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

function focusControl(seq, key) {
  itemOf(seq)?.querySelector(`[data-key="${key}"]`)?.focus();
}

function togglePicker(seq) {
  const previous = view.pickerFor;
  view.pickerFor = previous === seq ? null : seq;
  view.confirmingDelete = view.confirmingPurge = null;
  freshPicker();
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
  const previous = [view.confirmingDelete, view.confirmingPurge];
  view.confirmingDelete = seq;
  view.pickerFor = view.confirmingPurge = null;
  for (const p of previous) if (p !== null && p !== seq) redraw(p);
  redraw(seq);
  focusControl(seq, 'cancel-delete'); // the safe choice has the focus
}

/** A moderator's reason, told to everyone with the deletion (at most 200 characters, as the room takes). */
function reasonField(m, key, hint) {
  const id = `${key}-${m.seq}`;
  const field = el('p', 'reason-field');
  const labelEl = el('label', '', 'Reason (optional)');
  labelEl.htmlFor = id;
  const input = el('input');
  input.id = id;
  input.type = 'text';
  input.maxLength = 200;
  input.dir = 'auto';
  input.autocomplete = 'off';
  input.dataset.key = key;
  input.setAttribute('aria-describedby', `${id}-hint`);
  const note = el('span', 'hint', hint);
  note.id = `${id}-hint`;
  field.append(labelEl, input, note);
  return { field, input };
}

/** "Delete this message?"; a moderator deleting someone else's may say why. */
function deleteConfirm(m, moderating) {
  const box = el('div', 'confirm');
  box.setAttribute('role', 'group');
  box.setAttribute('aria-label', 'Confirm deletion');
  box.append(el('p', 'confirm-text', 'Delete this message for everyone? Its text and earlier versions are erased.'));
  const reason = moderating ? reasonField(m, 'delete-reason', 'Everyone sees it, its author too.') : null;
  if (reason) box.append(reason.field);
  const cancel = () => {
    view.confirmingDelete = null;
    redraw(m.seq);
    focusControl(m.seq, 'delete');
  };
  const yes = button('Yes, delete', () => {
    view.confirmingDelete = null;
    client.delete(m.seq, { reason: reason?.input.value.trim() || undefined });
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

function askPurge(seq) {
  const previous = [view.confirmingDelete, view.confirmingPurge];
  view.confirmingPurge = seq;
  view.pickerFor = view.confirmingDelete = null;
  for (const p of previous) if (p !== null && p !== seq) redraw(p);
  redraw(seq);
  focusControl(seq, 'cancel-purge');
}

/** How far back "Delete recent" reaches (the room takes up to 7 days, and at most 500 messages). */
const PURGE_SPANS = [[3600, 'the last hour'], [86_400, 'the last 24 hours'], [604_800, 'the last 7 days']];

/**
 * A moderator's "delete all of this person's recent messages": how far back, a reason, and a
 * confirmation naming the person. The room deletes them a batch at a time; each one then shows as
 * deleted by a moderator, with the reason.
 */
function purgeConfirm(m) {
  const who = label(m.from);
  const box = el('div', 'confirm');
  box.setAttribute('role', 'group');
  box.setAttribute('aria-label', `Delete the recent messages of ${who}`);
  box.append(el('p', 'confirm-text', `Delete every message ${who} sent in:`));
  const span = document.createElement('select');
  span.dataset.key = 'purge-span';
  span.setAttribute('aria-label', 'How far back');
  for (const [seconds, text] of PURGE_SPANS) {
    const option = el('option', '', text);
    option.value = String(seconds);
    span.append(option);
  }
  box.append(span);
  const reason = reasonField(m, 'purge-reason', 'Everyone sees it beside each deleted message.');
  box.append(reason.field);
  const cancel = () => {
    view.confirmingPurge = null;
    redraw(m.seq);
    focusControl(m.seq, 'purge');
  };
  const yes = button(`Delete ${who}'s messages`, async (e) => {
    e.currentTarget.disabled = true;
    const uid = m.from.uid;
    view.confirmingPurge = null;
    redraw(m.seq);
    items.get(m.seq)?.focus();
    try {
      await client.purge(uid, Number(span.value), { reason: reason.input.value.trim() || undefined });
    } catch {} // the client says why in a notice
  }, 'danger');
  yes.dataset.key = 'confirm-purge';
  const no = button('Cancel', cancel);
  no.dataset.key = 'cancel-purge';
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
