//! The composer's mode: a new message, a reply (with the quote of what it answers), or an edit of
//! one of ours; each room's draft; and the emoji picker that inserts at the caret.

import { excerpt } from '../format.js';
import { el, ui } from './dom.js';
import { emojiPicker } from './emoji.js';
import { label } from './people.js';
import { client } from './state.js';

const draftKey = (room) => `edge-chat:draft:${room}`;

/** Keeps what is typed (not an edit of a sent message) as this room's draft, in this browser. */
export function saveDraft() {
  if (!client || composing?.kind === 'edit') return;
  try {
    if (ui.input.value.trim()) localStorage.setItem(draftKey(client.room), ui.input.value);
    else localStorage.removeItem(draftKey(client.room));
  } catch {}
}

/** Puts `room`'s draft (or nothing) in the box: a draft stays with its room. */
export function restoreDraft(room) {
  let draft = null;
  try {
    draft = localStorage.getItem(draftKey(room));
  } catch {}
  ui.input.value = draft ?? '';
}

/** {kind: 'reply' | 'edit', seq} while the composer answers or edits a message (set only here). */
export let composing = null;

export function setComposing(mode) {
  composing = mode;
  ui.composing.hidden = !mode;
  ui.sendButton.textContent = mode?.kind === 'edit' ? 'Save' : 'Send';
  if (!mode) {
    ui.composingText.replaceChildren();
    return;
  }
  const m = client?.messages.get(mode.seq);
  if (mode.kind === 'reply') ui.composingText.replaceChildren('Replying to ', el('strong', '', m ? label(m.from) : '?'), `: ${excerpt(m?.text ?? '', 60)}`);
  else ui.composingText.replaceChildren('Editing your message (Enter saves, Escape cancels)');
}

export function startReply(seq) {
  if (composing?.kind === 'edit') restoreDraft(client.room);
  setComposing({ kind: 'reply', seq });
  ui.input.focus();
}

export function startEdit(seq) {
  const m = client.messages.get(seq);
  if (!m || m.deleted) return;
  setComposing({ kind: 'edit', seq });
  ui.input.value = m.text;
  ui.input.focus();
  ui.input.setSelectionRange(m.text.length, m.text.length);
}

export function cancelComposing() {
  if (composing?.kind === 'edit') restoreDraft(client.room); // the draft the edit put aside
  setComposing(null);
  ui.input.focus();
}

/** The composer's emoji picker: made the first time it opens, kept (with what was searched) after. */
let picker = null;

/** Puts `emoji` where the caret is (over the selection), as if it was typed: the draft, the typing
 * hint and the counter follow. */
function insertEmoji(emoji) {
  const { selectionStart: start, selectionEnd: end } = ui.input;
  ui.input.setRangeText(emoji, start, end, 'end');
  ui.input.dispatchEvent(new Event('input', { bubbles: true }));
  closeEmoji();
  ui.input.focus();
}

export function openEmoji() {
  if (!picker) {
    picker = emojiPicker({ verb: 'Insert', searchLabel: 'Find an emoji', onPick: insertEmoji, state: {} });
    ui.emojiPanel.append(picker);
  }
  ui.emojiPanel.hidden = false;
  ui.emojiButton.setAttribute('aria-expanded', 'true');
  // Opened anew: no search left from last time, the recent ones (the last pick first) on top.
  const search = picker.querySelector('.picker-search');
  search.value = '';
  search.dispatchEvent(new Event('input'));
  search.focus();
}

export function closeEmoji({ focus = false } = {}) {
  if (ui.emojiPanel.hidden) return;
  ui.emojiPanel.hidden = true;
  ui.emojiButton.setAttribute('aria-expanded', 'false');
  if (focus) ui.emojiButton.focus();
}

ui.emojiButton.addEventListener('click', () => (ui.emojiPanel.hidden ? openEmoji() : closeEmoji()));
ui.emojiPanel.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') {
    e.preventDefault();
    closeEmoji({ focus: true });
  }
});
// A click or tap anywhere else puts it away.
document.addEventListener('pointerdown', (e) => {
  if (!ui.emojiPanel.hidden && !ui.emojiPanel.contains(e.target) && !ui.emojiButton.contains(e.target)) closeEmoji();
});
