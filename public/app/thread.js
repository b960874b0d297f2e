//! The thread panel beside the conversation: a thread's root, its replies as they come (each a living
//! message, drawn like the list's), and a box to reply in it with the same habits as the main one
//! (Enter sends, Shift+Enter a new line, `@` mentions, Escape closes), with "Also send to the room".
//! It opens from a root's "N replies" or a message's "Reply in thread" (an `edge-chat:thread` event,
//! so message.js need not import this), reads the thread's first page from the room, and while it is
//! on screen marks the thread read, so its unread mark goes on every page of ours.

import { ago } from '../format.js';
import { button, el, ui } from './dom.js';
import { attachMentions } from './mentions.js';
import { fill, storedItem } from './message.js';
import { client } from './state.js';

const panel = {
  box: document.getElementById('thread-panel'),
  list: document.getElementById('thread-messages'),
  close: document.getElementById('thread-close'),
  form: document.getElementById('thread-composer'),
  input: document.getElementById('thread-input'),
  also: document.getElementById('thread-also'),
};

/** The root of the thread shown, or null. */
export let openRoot = null;
const shown = new Map(); // seq → its <li> in the panel (the root and the replies)

document.addEventListener('edge-chat:thread', (e) => openThread(e.detail.root, e.detail.focus));

/** Shows the thread of `root` (its first page from the room), `focus` on its box or its root. */
export async function openThread(root, focus = true) {
  if (!client) return;
  if (openRoot !== root) {
    openRoot = root;
    shown.clear();
    panel.list.replaceChildren(el('li', 'notice', 'Loading the thread…'));
    panel.input.value = '';
    panel.also.checked = false;
  }
  panel.box.hidden = false;
  ui.chatView.classList.add('threaded');
  if (focus) panel.input.focus();
  try {
    const page = await client.thread(root, { limit: 100 });
    if (openRoot !== root) return;
    panel.list.replaceChildren();
    place(page.root);
    for (const m of page.replies) place(m);
    if (page.hasMore) panel.list.append(el('li', 'notice', 'Only the first 100 replies are shown.'));
  } catch (error) {
    if (openRoot !== root) return;
    panel.list.replaceChildren(el('li', 'notice', `Could not open the thread: ${error.message}.`));
  }
  if (!focus) shown.get(root)?.focus();
  markRead();
}

export function closeThread() {
  if (openRoot === null) return;
  const root = openRoot;
  openRoot = null;
  shown.clear();
  panel.box.hidden = true;
  ui.chatView.classList.remove('threaded');
  // Back where the thread was opened from.
  (document.getElementById(`msg-${root}`) ?? ui.input).focus();
}

/** Puts message `m` (the root, or one of its replies) in the panel, in seq order. */
function place(m) {
  const seq = m.seq;
  const held = client.messages.get(seq) ?? m;
  let li = shown.get(seq);
  if (li) return fill(li, held);
  li = storedItem(held, 'thread');
  shown.set(seq, li);
  const after = [...panel.list.querySelectorAll(':scope > li.msg')].find((x) => Number(x.dataset.seq) > seq);
  panel.list.insertBefore(li, after ?? panel.list.querySelector(':scope > .pending'));
  li.scrollIntoView({ block: 'nearest' });
}

/** A message arrived: a reply in the open thread joins the panel (and is read there at once). */
export function onThreadMessage(m) {
  if (openRoot === null || m.thread !== openRoot) return;
  place(m);
  markRead();
}

/** A message changed: its item in the panel follows (a root's summary too). */
export function onThreadUpdate(m) {
  const li = shown.get(m.seq);
  if (li) fill(li, m);
}

/** The thread on screen is read up to its newest reply (the room tells our other pages). */
export function markRead() {
  if (openRoot === null || !client || document.visibilityState !== 'visible' || panel.box.hidden) return;
  let newest = 0;
  for (const seq of shown.keys()) newest = Math.max(newest, seq);
  if (newest > openRoot) client.readThread(openRoot, newest);
}

/** Our replies to the open thread not stored yet, under its replies (as the list shows its own). */
export function renderThreadOutbox() {
  for (const li of panel.list.querySelectorAll(':scope > .pending')) li.remove();
  if (!client || openRoot === null) return;
  for (const entry of client.outbox) {
    if (entry.thread !== openRoot) continue;
    const li = el('li', entry.error ? 'msg own pending failed' : 'msg own pending');
    li.append(el('p', 'text', entry.text), el('p', 'state', entry.error ? `Not sent: ${entry.error}.` : 'sending…'));
    if (entry.error) {
      const fix = el('p', 'fix');
      fix.append(button('Retry', () => client.retry(entry.id)), button('Discard', () => client.discard(entry.id)));
      li.append(fix);
    }
    panel.list.append(li);
  }
}

panel.form.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = panel.input.value;
  if (!client || openRoot === null || !text.trim()) return;
  client.send(text, { thread: openRoot, alsoInRoom: panel.also.checked });
  panel.input.value = '';
  panel.input.focus();
});

attachMentions(panel.input);
panel.input.addEventListener('input', () => client?.typing());
panel.input.addEventListener('keydown', (e) => {
  // The main box's habits: Enter sends, Shift+Enter is a new line, Escape leaves.
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    panel.form.requestSubmit();
  } else if (e.key === 'Escape') {
    e.preventDefault();
    closeThread();
  }
});
panel.close.addEventListener('click', closeThread);
panel.box.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && e.target !== panel.input && !e.defaultPrevented) {
    e.preventDefault();
    closeThread();
  }
});
document.addEventListener('visibilitychange', markRead);
// "last 2 min ago" stays true while the page is open.
setInterval(() => {
  for (const span of document.querySelectorAll('.thread-last[data-at]')) {
    const text = ` · last ${ago(Number(span.dataset.at))}`;
    if (span.textContent !== text) span.textContent = text;
  }
}, 30_000);

/** Closes the panel without a word: joining another room empties the page. */
export function resetThread() {
  openRoot = null;
  shown.clear();
  panel.box.hidden = true;
  panel.list.replaceChildren();
  ui.chatView.classList.remove('threaded');
}
