//! The keyboard: the message list is one Tab stop however long it is (a roving focus, as in WAI-ARIA's
//! "feed" and grid patterns), the arrow keys move between messages, a message's own controls are
//! reachable with Tab only while it has the focus, single-key shortcuts act on the focused message,
//! and `?` opens the list of them.

import { startEdit, startReply } from './composer.js';
import { ui } from './dom.js';
import { loadOlderKeepingPlace } from './list.js';
import { client } from './state.js';

/** What the shortcut list shows (and the keys below do). */
export const SHORTCUTS = [
  ['Tab', 'Into the message list, and through the focused message’s buttons'],
  ['↑ / ↓', 'The previous / next message (at the top, older messages load)'],
  ['Home / End', 'The first / newest message shown'],
  ['R', 'Reply to the focused message'],
  ['T', 'Reply in a thread to the focused message (opens the thread)'],
  ['E', 'Edit the focused message (your own)'],
  ['Escape', 'Back to the message box; in the box, cancel a reply or an edit'],
  ['Enter', 'In the message box: send (Shift+Enter: a new line)'],
  ['@', 'In a message box: mention someone (↑ / ↓ choose, Enter writes the name, Escape closes)'],
  ['Escape in a thread', 'Close the thread'],
  ['↑ in an empty box', 'Edit your last message'],
  ['?', 'This list'],
];

const CONTROLS = 'button, a[href], input, select, textarea';

/** Makes `li`'s own controls Tab stops (`on`) or reachable only by pointer and arrows (`off`). A
 * roving group inside it (`data-roving`: the emoji picker's grid) stays one Tab stop, its current item. */
export function controlsTabbable(li, on) {
  for (const c of li.querySelectorAll(CONTROLS)) {
    const roving = c.closest('[data-roving]');
    c.tabIndex = on && (!roving || c.dataset.current === 'true') ? 0 : -1;
  }
}

const messagesShown = () => [...ui.messages.querySelectorAll(':scope > li.msg[data-seq]')];

async function move(from, key) {
  let all = messagesShown();
  if (!all.length) return;
  let i = from ? all.indexOf(from) : -1;
  if (key === 'ArrowUp' && i === 0 && client?.hasOlder) {
    await loadOlderKeepingPlace();
    all = messagesShown();
    i = all.indexOf(from);
  }
  const next =
    key === 'Home' ? all[0] :
    key === 'End' ? all.at(-1) :
    key === 'ArrowUp' ? (i < 0 ? all.at(-1) : all[Math.max(0, i - 1)]) :
    i < 0 ? all.at(-1) : all[Math.min(all.length - 1, i + 1)];
  next.focus();
  next.scrollIntoView({ block: 'nearest' });
}

ui.messages.addEventListener('keydown', (e) => {
  if (e.altKey || e.ctrlKey || e.metaKey) return;
  const li = e.target.closest?.('li.msg[data-seq]');
  const onItem = e.target === li; // the message itself, not one of its buttons
  const onList = e.target === ui.messages;
  if (!onItem && !onList) return;
  if (['ArrowUp', 'ArrowDown', 'Home', 'End'].includes(e.key)) {
    e.preventDefault();
    move(onItem ? li : null, e.key);
    return;
  }
  if (!onItem) return;
  const seq = Number(li.dataset.seq);
  const m = client?.messages.get(seq);
  if (!m || m.deleted) return;
  if (e.key === 'r' || e.key === 'R') {
    e.preventDefault();
    startReply(seq);
  } else if ((e.key === 't' || e.key === 'T') && typeof m.thread !== 'number') {
    // Asked of the thread panel by its event (app/thread.js), as the message's own button does.
    e.preventDefault();
    document.dispatchEvent(new CustomEvent('edge-chat:thread', { detail: { root: seq, focus: true } }));
  } else if ((e.key === 'e' || e.key === 'E') && client.isOwn(m) && client.identified) {
    e.preventDefault();
    startEdit(seq);
  } else if (e.key === 'Escape') {
    e.preventDefault();
    ui.input.focus();
  }
});

// The focused message's controls join the Tab order; the one left behind's leave it.
// The focused message is itself a Tab stop meanwhile, so Shift+Tab from its first button returns to it.
ui.messages.addEventListener('focusin', (e) => {
  const li = e.target.closest?.('li.msg[data-seq]');
  if (!li) return;
  li.tabIndex = 0;
  controlsTabbable(li, true);
});
ui.messages.addEventListener('focusout', (e) => {
  const li = e.target.closest?.('li.msg[data-seq]');
  if (!li || li.contains(e.relatedTarget)) return;
  li.tabIndex = -1;
  controlsTabbable(li, false);
});

// `?` anywhere but in a text field: the shortcut list (a modal <dialog>: Escape closes it).
document.addEventListener('keydown', (e) => {
  if (e.key !== '?' || e.ctrlKey || e.metaKey || e.altKey) return;
  const t = e.target;
  if (t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t?.isContentEditable) return;
  e.preventDefault();
  openShortcuts();
});

export function openShortcuts() {
  const dialog = document.getElementById('shortcuts');
  const list = dialog.querySelector('dl');
  if (!list.childElementCount) {
    for (const [keys, what] of SHORTCUTS) {
      const dt = document.createElement('dt');
      const kbd = document.createElement('kbd');
      kbd.textContent = keys;
      dt.append(kbd);
      const dd = document.createElement('dd');
      dd.textContent = what;
      list.append(dt, dd);
    }
  }
  if (!dialog.open) dialog.showModal();
}
