//! The composer's mode: a new message, a reply (with the quote of what it answers), or an edit of
//! one of ours.

import { excerpt } from '../format.js';
import { el, ui } from './dom.js';
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
