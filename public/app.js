//! The DOM half of the browser client: the join form, the conversation, the roster and the status
//! line, drawn from the events of a `ChatClient` — the client SDK (packages/client), which the build
//! bundles into public/sdk/edge-chat-client.js, so the page itself needs no build step. Every piece
//! of user text goes into the page through `textContent`, never as HTML; the page's CSP
//! (public/_headers) also enforces Trusted Types, so an accidental `innerHTML` would throw instead of
//! injecting.
//!
//! The page does not know the server's rules for names and rooms: it sends what was typed (trimmed)
//! and, when the server refuses it, says why in the server's words and puts the person where the fix
//! is (the name field, the room field, "sign in again").
//!
//! Messages are living objects (notes/living.md): each one is an <li> redrawn from the client's
//! current state whenever it changes — a reply's quote, the "edited" marker with the earlier versions
//! on demand, the "message deleted" placeholder, the reactions, and the actions (Reply, React, Edit,
//! Delete) as ordinary buttons. Between them sit day separators and the "New messages" divider; the
//! list loads older pages when scrolled to the top, and what is on screen is reported as read.
//!
//! The search box in the header asks the room (client.search); the results list above the
//! conversation shows each match's author, time and snippet (hits in <mark>, drawn as text nodes by
//! snippetParts), and a click jumps to the message, loading older pages until it is on screen.
//!
//! This file is the entry module (index.html loads it): it wires the page's controls to the parts in
//! app/, each an ES module the browser loads as it is (no build step), none importing another in a
//! circle:
//!   app/dom.js           `ui` and the text-only DOM helpers
//!   app/state.js         the client and the view state the parts share
//!   app/url.js           the room (and a permalink's message) in the URL fragment
//!   app/session.js       joining, leaving, final refusals, who the header says is signed in
//!   app/signout.js       signing out: the sockets closed, the offline store emptied, the identity forgotten
//!   app/signin.js        signing in through the server's login page (LOGIN_URL) on signed-access servers
//!   app/status.js        the status line and the problem banner
//!   app/conversation.js  the client's message, update, reset, notice and outbox events
//!   app/message.js       one message's <li> and its controls
//!   app/reactions.js     a message's reactions, who reacted, the reaction picker
//!   app/emoji.js         the emoji picker (reactions and composer), its list fetched on first use
//!   app/list.js          the list: placing, decorating, scrolling, older pages, reading
//!   app/composer.js      new message, reply or edit, each room's draft, and its emoji picker
//!   app/uploads.js       the composer's attachments: uploads with progress, thumbnails, send waits
//!   app/attached.js      a message's files (thumbnails, the lightbox, chips) and its link's preview
//!   app/thread.js        the thread panel: a thread's root and replies, and replying in it
//!   app/mentions.js      `@` in a message box: the people to mention
//!   app/search.js        search and its results
//!   app/roster.js        the roster, joins and leaves, typing
//!   app/moderation.js    moderators' actions and panel, our mute, slow mode
//!   app/people.js        who someone is: the identity cue and handle beside every name
//!   app/keys.js          the keyboard: one Tab stop for the list, arrows, shortcuts and `?`
//!   app/sidebar.js       the person's rooms and direct messages across rooms (one inbox socket)
//! Beside them: format.js (links, days) and markup.js (basic formatting), pure and tested without a
//! browser (tests/client.test.mjs, tests/page-format.test.mjs); sw.js, the offline shell. Two files the
//! build writes beside them (git-ignored): sdk/edge-chat-client.js (the SDK) and emoji/emoji.json (the
//! emoji list, from the emojibase-data package, by scripts/emoji-data.mjs).

import { DEFAULT_LIMITS, charCount, cleanName, privateRoomName } from './sdk/edge-chat-client.js';
import { cancelComposing, composing, restoreDraft, saveDraft, setComposing, startEdit } from './app/composer.js';
import { ui } from './app/dom.js';
import './app/keys.js';
import { jumpTo, jumpToLatest, jumpToUnread, loadOlderKeepingPlace, nearBottom, renderJump, scheduleRead } from './app/list.js';
import { closeSearch, runSearch } from './app/search.js';
import { attachMentions } from './app/mentions.js';
import { NAME_KEY, join, leave, renderIdentity, showError, validate } from './app/session.js';
import './app/signout.js';
import { client, view } from './app/state.js';
import { startInbox } from './app/sidebar.js';
import { attach, hasAttachments, takeAttachments } from './app/uploads.js';
import { renderStatus } from './app/status.js';
import { currentToken, takeTokenFromUrl } from './app/signin.js';
import { inviteUrl, messageFromUrl, roomFromUrl } from './app/url.js';

ui.joinForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const choice = validate();
  if (choice) join(choice);
});

ui.newRoom.addEventListener('click', () => {
  ui.room.value = privateRoomName();
  showError(ui.room, ui.roomError, '');
  if (cleanName(ui.name.value)) join({ name: cleanName(ui.name.value), room: ui.room.value });
  else validate();
});

ui.composer.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = ui.input.value;
  const editing = composing?.kind === 'edit';
  if (!client || (!text.trim() && (editing || !hasAttachments()))) return;
  if (editing) {
    if (text !== client.messages.get(composing.seq)?.text) client.edit(composing.seq, text);
  } else {
    // A message with files waits for their uploads (the list shows their progress), then goes.
    const replyTo = composing?.kind === 'reply' ? composing.seq : null;
    const sender = client;
    takeAttachments().then((files) => {
      if (sender === client && (text.trim() || files.length)) sender.send(text.trim() ? text : '', { replyTo, files });
    });
  }
  const edited = editing;
  setComposing(null);
  if (edited) restoreDraft(client.room); // the draft the edit put aside
  else {
    ui.input.value = '';
    saveDraft();
  }
  ui.count.textContent = '';
  ui.input.focus();
});

// Before the box's own keys: while the `@` list is open, Enter, Tab, the arrows and Escape are its.
attachMentions(ui.input);

ui.input.addEventListener('keydown', (e) => {
  // Enter sends; Shift+Enter is a new line; Enter that confirms an IME composition is neither.
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    ui.composer.requestSubmit();
  } else if (e.key === 'ArrowUp' && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey && ui.input.value === '' && composing?.kind !== 'edit') {
    // Up in an empty box edits our last message, as in most chat apps.
    const last = client?.lastOwn();
    if (last) {
      e.preventDefault();
      startEdit(last.seq);
    }
  } else if (e.key === 'Escape' && composing) {
    e.preventDefault();
    cancelComposing();
  }
});

ui.composingCancel.addEventListener('click', cancelComposing);

// Attachments: the button, a drop anywhere on the conversation, or a paste of files into the box.
ui.attach.addEventListener('click', () => ui.fileInput.click());
ui.fileInput.addEventListener('change', () => {
  attach([...ui.fileInput.files]);
  ui.fileInput.value = '';
  ui.input.focus();
});
ui.input.addEventListener('paste', (e) => {
  const files = [...(e.clipboardData?.files ?? [])];
  if (!files.length) return;
  e.preventDefault();
  attach(files);
});
const conversation = ui.composer.parentElement;
conversation.addEventListener('dragover', (e) => {
  if (!client || !e.dataTransfer?.types.includes('Files')) return;
  e.preventDefault();
  conversation.classList.add('dropping');
});
conversation.addEventListener('dragleave', (e) => {
  if (!conversation.contains(e.relatedTarget)) conversation.classList.remove('dropping');
});
conversation.addEventListener('drop', (e) => {
  conversation.classList.remove('dropping');
  if (!client || !e.dataTransfer?.files.length) return;
  e.preventDefault();
  attach([...e.dataTransfer.files]);
  ui.input.focus();
});
ui.searchForm.addEventListener('submit', (e) => {
  e.preventDefault();
  runSearch(ui.searchInput.value.trim());
});
ui.searchInput.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') closeSearch();
});
ui.searchClose.addEventListener('click', () => {
  closeSearch();
  ui.searchInput.focus();
});
ui.jumpNew.addEventListener('click', jumpToUnread);
ui.jumpLatest.addEventListener('click', jumpToLatest);
ui.messages.addEventListener(
  'scroll',
  () => {
    view.pinned = nearBottom();
    renderJump();
    if (ui.messages.scrollTop < 60) loadOlderKeepingPlace();
    scheduleRead();
  },
  { passive: true },
);
window.addEventListener('resize', scheduleRead);

ui.input.addEventListener('input', () => {
  if (composing?.kind !== 'edit') client?.typing();
  saveDraft();
  // A counter near the limit, so a too-long message is no surprise (the client refuses it anyway).
  const max = client?.limits.text ?? DEFAULT_LIMITS.text; // the room's, once its welcome said
  const n = charCount(ui.input.value);
  ui.count.textContent = n > max - 500 ? `${n} / ${max}` : '';
  ui.count.classList.toggle('over', n > max);
});

// A name over the limit is said while it is typed, not only after the room refuses it. The limit is
// the SDK's default (a room announces its own only in its welcome); the room still has the last word.
const nameHint = ui.name.getAttribute('aria-describedby') && document.getElementById('name-hint');
const nameHintText = nameHint?.textContent;
ui.name.addEventListener('input', () => {
  const n = charCount(cleanName(ui.name.value) ?? '');
  const max = DEFAULT_LIMITS.name;
  nameHint.textContent = n > max ? `Names are at most ${max} characters; this one has ${n}.` : nameHintText;
  nameHint.classList.toggle('over', n > max);
});

ui.reconnectNow.addEventListener('click', () => client?.reconnectNow());
ui.leave.addEventListener('click', leave);

ui.copyLink.addEventListener('click', async () => {
  const url = inviteUrl(client?.room ?? ui.room.value);
  const label = ui.copyLink.textContent;
  try {
    await navigator.clipboard.writeText(url);
    ui.copyLink.textContent = 'Link copied';
  } catch {
    window.prompt('Copy this link to invite someone:', url);
  }
  setTimeout(() => (ui.copyLink.textContent = label), 2000);
});

// The browser knows before our backoff timer does when the network is back.
window.addEventListener('online', () => client?.reconnectNow());

// What arrived while the tab was hidden is read once it is shown (if it is on screen).
document.addEventListener('visibilitychange', scheduleRead);

window.addEventListener('hashchange', () => {
  const room = roomFromUrl();
  const linked = messageFromUrl();
  if (room && room === client?.room && linked !== null) jumpTo(linked); // a permalink into this room
  if (!room || room === client?.room) return;
  ui.room.value = room;
  const name = cleanName(ui.name.value);
  if (name) join({ name, room });
});

function init() {
  takeTokenFromUrl(); // first: a token handed back by the login page leaves the address bar at once
  let saved = null;
  try {
    saved = localStorage.getItem(NAME_KEY);
  } catch {}
  if (saved) ui.name.value = saved;
  const room = roomFromUrl();
  ui.room.value = room ?? 'lobby';
  const name = cleanName(saved);
  // The person's rooms, before they pick one (a known person only: the inbox is theirs by their key).
  if (name) startInbox(name);
  // A tab signed in through the server's login page goes straight in as its token says.
  if (currentToken() && !globalThis.edgeChat?.getToken) join({ name: name ?? 'someone', room: room ?? ui.room.value });
  // An invitation link opened by someone we already know goes straight into the room.
  else if (room && name) join({ name, room });
  else (name ? ui.room : ui.name).focus();
  renderStatus();
  renderIdentity();
}

init();

// The offline shell (sw.js): a reload while the server is down still shows the page. Only where the
// browser allows service workers (a secure context: https, or localhost in development). Under the
// CSP's Trusted Types a script URL must come from a policy: `edge-chat-sw` (the only one public/_headers
// allows) makes exactly one, this one.
if ('serviceWorker' in navigator && window.isSecureContext) {
  const only = (url) => {
    if (url !== '/sw.js') throw new TypeError(`edge-chat-sw makes only /sw.js, not ${url}`);
    return url;
  };
  try {
    const policy = window.trustedTypes?.createPolicy('edge-chat-sw', { createScriptURL: only });
    navigator.serviceWorker.register(policy ? policy.createScriptURL('/sw.js') : '/sw.js').catch(() => {});
  } catch {}
}
