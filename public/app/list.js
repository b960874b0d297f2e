//! The list of messages as a whole: placing each by seq above the outbox, its furniture (the "Load
//! older" button, day separators, the "New messages" divider, "Seen by"), following the newest
//! message, jumping to one (loading older pages until it is there), and reporting what is on screen
//! as read. Redrawn once per batch of events (`schedule`).

import { dayKey, dayLabel } from '../format.js';
import { announce, button, el, ui } from './dom.js';
import { label, personKey } from './people.js';
import { client, items, view } from './state.js';
import { inviteUrl, messageFromUrl } from './url.js';

let loadingOlder = false;

/** Whether the view shows the newest messages (within a line of the bottom). */
export function nearBottom() {
  const list = ui.messages;
  return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
}

/** Runs `change`, then keeps the view following the newest message if it did (or `force`). */
export function keepingScroll(force, change) {
  change();
  if (force) view.pinned = true;
  schedule();
}

let scheduled = false;

/** After the current batch of events (a welcome brings many): separators, "seen by", scroll, reads. */
export function schedule() {
  if (scheduled) return;
  scheduled = true;
  queueMicrotask(() => {
    scheduled = false;
    if (!client) return;
    decorate();
    renderSeen();
    if (view.pinned) ui.messages.scrollTop = ui.messages.scrollHeight;
    renderJump();
    scheduleRead();
    // Too few messages to scroll: nobody can scroll to the top to ask for more, so we do.
    if (client.hasOlder && client.state === 'online' && ui.messages.scrollHeight <= ui.messages.clientHeight + 60) loadOlderKeepingPlace();
  });
}

/** Stored messages sit in seq order, above the outbox (the not yet acked ones, always last). */
export function insertBySeq(li, seq) {
  const firstPending = ui.messages.querySelector('.pending');
  let before = firstPending;
  let cur = firstPending ? firstPending.previousElementSibling : ui.messages.lastElementChild;
  for (; cur; cur = cur.previousElementSibling) {
    if (!cur.dataset.seq) continue; // a notice, a separator
    if (Number(cur.dataset.seq) > seq) before = cur;
    else break;
  }
  ui.messages.insertBefore(li, before);
}

let olderItem = null;

/** The list's furniture, redrawn after each batch: the "Load older" button, a separator before
 * each day's first message, and the "New messages" divider. */
function decorate() {
  const list = ui.messages;
  for (const d of list.querySelectorAll(':scope > .day, :scope > .divider')) d.remove();
  if (!olderItem) {
    olderItem = el('li', 'older');
    olderItem.append(button('Load older messages', () => loadOlderKeepingPlace()));
  }
  if (list.firstElementChild !== olderItem) list.prepend(olderItem);
  olderItem.hidden = !client.hasOlder;
  const olderButton = olderItem.firstElementChild;
  olderButton.disabled = loadingOlder;
  olderButton.textContent = loadingOlder ? 'Loading older messages…' : 'Load older messages';
  renderEmpty();
  let day = null;
  const now = Date.now();
  for (const li of list.querySelectorAll(':scope > li.msg')) {
    const ts = Number(li.dataset.ts);
    const key = dayKey(ts);
    if (key !== day) {
      day = key;
      const sep = el('li', 'day');
      sep.append(el('h3', 'day-label', dayLabel(ts, now)));
      li.before(sep);
    }
    if (view.dividerSeq !== null && li.dataset.seq === String(view.dividerSeq)) {
      const divider = el('li', 'divider');
      divider.append(el('span', '', 'New messages'));
      li.before(divider);
    }
  }
}

let emptyItem = null;

/** An empty room says so, with the link that invites someone (instead of a blank list). */
function renderEmpty() {
  const empty = !client.hasOlder && client.state === 'online' && !ui.messages.querySelector(':scope > li.msg');
  if (!empty) {
    emptyItem?.remove();
    return;
  }
  if (!emptyItem) {
    emptyItem = el('li', 'empty');
    emptyItem.append(el('p', 'empty-title', 'Nobody has written here yet.'), el('p', 'empty-text'));
  }
  const link = inviteUrl(client.room);
  const text = emptyItem.querySelector('.empty-text');
  if (text.dataset.link !== link) {
    text.dataset.link = link;
    const copy = button('Copy the link', () => ui.copyLink.click(), 'link');
    const shown = el('span', 'empty-link', link);
    text.replaceChildren('Invite someone: send them ', shown, ' ', copy);
  }
  if (!emptyItem.isConnected) ui.messages.append(emptyItem);
}

/** "Seen by …" under our newest message, from the others' read marks. */
function renderSeen() {
  for (const p of ui.messages.querySelectorAll('.seen')) p.remove();
  const last = client.lastOwn();
  const li = last && items.get(last.seq);
  if (!li) return;
  // By person, not by name: two people called ann who both read it are two (the SDK's seenByUsers).
  const readers = new Map();
  for (const user of client.seenByUsers(last.seq)) if (user.uid !== client.you?.uid) readers.set(personKey(user), user);
  const names = [...readers.values()].map(label);
  if (!names.length) return;
  const shown = names.length > 4 ? [...names.slice(0, 3), `${names.length - 3} others`] : names;
  li.append(el('p', 'seen', `Seen by ${new Intl.ListFormat('en', { type: 'conjunction' }).format(shown)}`));
}

/** The first of the others' messages after our read position that we have, or null. */
function firstUnread() {
  if (client.readSeq === null) return null;
  let first = null;
  for (const m of client.messages.values()) {
    if (m.seq > client.readSeq && !m.deleted && !client.isOwn(m) && (first === null || m.seq < first)) first = m.seq;
  }
  return first;
}

/** Back to the newest message, following it again. */
export function jumpToLatest() {
  ui.messages.scrollTop = ui.messages.scrollHeight;
  view.pinned = true;
  renderJump();
  scheduleRead();
}

/** On the first welcome of a room: at the message a permalink names, else at the "New messages"
 * divider if there is something unread. */
export function placeView() {
  view.placed = true;
  const linked = messageFromUrl();
  if (linked !== null) {
    view.dividerSeq = null;
    view.pinned = false;
    jumpTo(linked);
    return;
  }
  // A first visit (nothing read here yet) starts at the newest, like any chat; a return visit at
  // what is new since.
  view.dividerSeq = client.unreadCount() > 0 && client.readSeq > 0 ? firstUnread() : null;
  decorate();
  const divider = ui.messages.querySelector(':scope > .divider');
  if (divider) {
    divider.scrollIntoView({ block: 'start' });
    view.pinned = nearBottom();
  } else {
    view.pinned = true;
    ui.messages.scrollTop = ui.messages.scrollHeight;
  }
}

/** The title counts what waits for us: unread messages, and mentions of us ("(@2 · 5) room"); the
 * badge beside the room's name says the mentions. */
export function renderUnread() {
  if (!client) return;
  const n = client.unreadCount();
  const mentions = client.mentionCount;
  const counts = [mentions > 0 ? `@${mentions}` : null, n > 0 ? String(n) : null].filter(Boolean);
  document.title = counts.length ? `(${counts.join(' · ')}) ${client.room} · edge-chat` : `${client.room} · edge-chat`;
  const badge = document.getElementById('mention-badge');
  badge.hidden = mentions === 0;
  badge.textContent = `@${mentions}`;
  badge.title = `${mentions} unread ${mentions === 1 ? 'mention' : 'mentions'} of you`;
  renderJump();
}

/** "N new ↓": shown while others' messages wait after our read position; else, scrolled up,
 * "Jump to latest". */
export function renderJump() {
  const n = client?.unreadCount() ?? 0;
  ui.jumpNew.hidden = n === 0;
  ui.jumpLatest.hidden = n > 0 || view.pinned || !client || nearBottom();
  const text = `${n} new`;
  if (ui.jumpNew.firstChild?.textContent !== text) {
    ui.jumpNew.replaceChildren(el('span', '', text), el('span', 'arrow', ' ↓'));
    ui.jumpNew.lastChild.setAttribute('aria-hidden', 'true');
    ui.jumpNew.setAttribute('aria-label', `${n} new ${n === 1 ? 'message' : 'messages'}: go to the first`);
  }
}

export async function jumpToUnread() {
  const first = firstUnread() ?? client.oldestSeq();
  if (first !== null) await jumpTo(first, 'start');
}

/** Scrolls to message `seq` (loading older pages until it is there), focuses and highlights it. */
export async function jumpTo(seq, block = 'center') {
  while (client && !items.has(seq) && client.hasOlder) {
    if (!(await loadOlderKeepingPlace())) break;
  }
  const li = items.get(seq);
  if (!li) {
    announce('That message is no longer there.');
    return;
  }
  li.scrollIntoView({ block });
  view.pinned = nearBottom();
  li.focus({ preventScroll: true });
  li.classList.remove('flash');
  void li.offsetWidth; // restart the highlight's animation
  li.classList.add('flash');
}

/** The first message at least partly on screen (the anchor a loaded page must not move). */
function firstVisibleItem() {
  const top = ui.messages.getBoundingClientRect().top;
  for (const li of ui.messages.querySelectorAll(':scope > li.msg')) if (li.getBoundingClientRect().bottom > top) return li;
  return null;
}

/** Loads the page before the oldest message without moving what the reader is looking at. */
export async function loadOlderKeepingPlace() {
  if (loadingOlder || !client?.hasOlder) return null;
  loadingOlder = true;
  decorate();
  const anchor = firstVisibleItem();
  const top = anchor?.getBoundingClientRect().top;
  const got = await client.loadOlder();
  loadingOlder = false;
  if (!client) return null;
  decorate();
  if (anchor?.isConnected) ui.messages.scrollTop += anchor.getBoundingClientRect().top - top;
  view.pinned = nearBottom();
  return got;
}

let readFrame = 0;

export function scheduleRead() {
  if (readFrame) return;
  readFrame = requestAnimationFrame(() => {
    readFrame = 0;
    markVisibleRead();
  });
}

/**
 * Tells the client how far the reader has seen: the newest message whose end is on screen (or that
 * fills the screen), while the page is visible. The client throttles what reaches the room.
 */
function markVisibleRead() {
  if (!client || client.readSeq === null || document.visibilityState !== 'visible' || ui.chatView.hidden) return;
  const box = ui.messages.getBoundingClientRect();
  const all = ui.messages.querySelectorAll(':scope > li.msg[data-seq]');
  for (let i = all.length - 1; i >= 0; i--) {
    const r = all[i].getBoundingClientRect();
    if (r.top >= box.bottom) continue; // below the view
    if (r.bottom <= box.top) break; // above it, and so is everything before
    if (r.bottom <= box.bottom + 2 || (r.top <= box.top && r.bottom >= box.bottom)) {
      client.markRead(Number(all[i].dataset.seq));
      return;
    }
  }
}
