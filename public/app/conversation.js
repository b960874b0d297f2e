//! The client's message events drawn into the list: a stored message arrives or changes, the client
//! resets what it knew, a notice, and the outbox (our messages not yet stored, with Retry, Edit and
//! Discard for the refused ones). A reply only in its thread goes to the thread panel, not the list.

import { inThreadOnly } from '../sdk/edge-chat-client.js';
import { composing, setComposing } from './composer.js';
import { announce, button, el, ui } from './dom.js';
import { insertBySeq, keepingScroll, schedule } from './list.js';
import { fill, messageItem, refreshQuotesOf, storedItem } from './message.js';
import { label } from './people.js';
import { client, items, versionsOpen, view } from './state.js';
import { onThreadMessage, onThreadUpdate, renderThreadOutbox } from './thread.js';

export function onMessage(e) {
  const { message: m, own, live } = e.detail;
  onThreadMessage(m);
  if (inThreadOnly(m)) {
    if (live && !own && client.isMentioned(m)) announce(`${label(m.from)} mentioned you in a thread: ${m.text}`);
    return;
  }
  const li = storedItem(m);
  items.set(m.seq, li);
  insertBySeq(li, m.seq);
  if (own && live) view.pinned = true; // we just sent it: show it
  if (live && !own) {
    announce(`${label(m.from)}: ${m.text}`);
    // The first message nobody has seen yet (the tab is hidden, or the reader is further up): the
    // divider moves above it.
    if ((document.hidden || !view.pinned) && client.unreadCount() === 1) view.dividerSeq = m.seq;
  }
  refreshQuotesOf(m.seq);
  schedule();
}

export function onUpdate(e) {
  const m = e.detail.message;
  const li = items.get(m.seq);
  if (m.deleted) {
    versionsOpen.delete(m.seq);
    if (view.pickerFor === m.seq) view.pickerFor = null;
    if (view.confirmingDelete === m.seq) view.confirmingDelete = null;
    if (view.confirmingPurge === m.seq) view.confirmingPurge = null;
    if (composing?.seq === m.seq) {
      if (composing.kind === 'edit') ui.input.value = '';
      setComposing(null);
      announce('The message you were answering or editing was deleted.');
    }
  }
  if (li) fill(li, m);
  onThreadUpdate(m);
  refreshQuotesOf(m.seq);
  schedule();
}

/** Our counts changed: each thread's root shows its unread mark as it now is. */
export function onCounts() {
  for (const [seq, li] of items) {
    const m = client.messages.get(seq);
    if (m && typeof m.thread === 'object' && m.thread) fill(li, m);
  }
  schedule();
}

/** The client dropped what it knew (a resume too far behind): so does the view. */
export function onReset() {
  for (const li of items.values()) li.remove();
  items.clear();
  view.dividerSeq = null;
  view.pinned = true;
  schedule();
}

export function addNotice(text) {
  const li = el('li', 'notice', text);
  const firstPending = ui.messages.querySelector('.pending');
  keepingScroll(false, () => ui.messages.insertBefore(li, firstPending));
  announce(text);
}

function outboxState(entry) {
  if (entry.error) return `Not sent: ${entry.error}.`;
  return client?.state === 'online' ? 'sending…' : 'pending — will be sent when connected';
}

export function renderOutbox() {
  if (!client) return;
  renderThreadOutbox();
  // A reply only in its thread waits in the thread panel.
  const entries = client.outbox.filter((entry) => entry.thread == null || entry.alsoInRoom);
  // Keyed by `key`, which stays when the client gives an entry a new id (after an id_conflict).
  const byKey = new Map([...ui.messages.querySelectorAll('.pending')].map((li) => [li.dataset.key, li]));
  keepingScroll(false, () => {
    for (const entry of entries) {
      let li = byKey.get(entry.key);
      byKey.delete(entry.key);
      if (!li) {
        li = messageItem({ from: client.you ?? { name: client.name }, text: entry.text, ts: entry.createdAt, reply_to: entry.replyTo ?? null, files: entry.files }, true);
        li.classList.add('pending');
        li.dataset.key = entry.key;
        li.append(el('p', 'state'), el('p', 'fix'));
        ui.messages.append(li);
      }
      li.dataset.id = entry.id;
      const state = outboxState(entry);
      const stateEl = li.querySelector('.state');
      if (stateEl.textContent !== state) stateEl.textContent = state;
      li.classList.toggle('failed', Boolean(entry.error));
      const fix = li.querySelector('.fix');
      if (entry.error && !fix.childElementCount) {
        if (entry.code === 'too_large') fix.append(button('Edit', () => editFailed(entry)));
        else fix.append(button('Retry', () => client.retry(entry.id)));
        fix.append(button('Discard', () => client.discard(entry.id)));
        announce(`Message not sent: ${entry.error}`);
      } else if (!entry.error) {
        fix.replaceChildren();
      }
    }
    for (const li of byKey.values()) li.remove(); // acked (now shown by seq) or discarded
  });
}

function editFailed(entry) {
  client.discard(entry.id);
  ui.input.value = entry.text;
  ui.input.focus();
}
