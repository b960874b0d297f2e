//! The DOM half of the browser client: the join form, the conversation, the roster and the status
//! line, drawn from the events of a `ChatClient` (client.js). Every piece of user text goes into the
//! page through `textContent`, never as HTML; the page's CSP (public/_headers) also enforces Trusted
//! Types, so an accidental `innerHTML` would throw instead of injecting.
//!
//! The page does not know the server's rules for names and rooms: it sends what was typed (trimmed)
//! and, when the server refuses it, says why in the server's words and puts the person where the fix
//! is (the name field, the room field, "sign in again").

import { ChatClient, DEFAULT_LIMITS, charCount, cleanName, privateRoomName } from './client.js';

const $ = (id) => document.getElementById(id);
const ui = {
  joinView: $('join-view'),
  joinForm: $('join-form'),
  name: $('name'),
  nameError: $('name-error'),
  room: $('room'),
  roomError: $('room-error'),
  newRoom: $('new-room'),
  chatView: $('chat-view'),
  roomTitle: $('room-title'),
  roomName: $('room-name'),
  roomActions: $('room-actions'),
  copyLink: $('copy-link'),
  leave: $('leave'),
  status: $('status'),
  reconnectNow: $('reconnect-now'),
  roster: $('roster'),
  onlineCount: $('online-count'),
  messages: $('messages'),
  typing: $('typing'),
  composer: $('composer'),
  input: $('message-input'),
  count: $('char-count'),
  announcer: $('announcer'),
  problem: $('problem'),
};

const NAME_KEY = 'edge-chat:name';
let client = null;
let statusTicker = null;
let unread = 0;
let shownReason = null; // the busy refusal last announced, so each is announced once

// ---- small DOM helpers (text only) ----

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(label, onClick, className) {
  const b = el('button', className, label);
  b.type = 'button';
  b.addEventListener('click', onClick);
  return b;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'medium' });

function timeElement(ms) {
  const d = new Date(ms);
  const today = new Date().toDateString() === d.toDateString();
  const t = el('time', 'when', (today ? timeFormat : dateTimeFormat).format(d));
  t.dateTime = d.toISOString();
  t.title = fullFormat.format(d);
  return t;
}

/** Screen readers hear new messages and joins/leaves through one polite live region (the message
 * list itself is not live, so loading 50 messages of history does not read them all out). */
function announce(text) {
  ui.announcer.append(el('p', '', text));
  while (ui.announcer.childElementCount > 5) ui.announcer.firstElementChild.remove();
}

// ---- the room in the URL: /#room=<name> (a fragment never reaches the server's logs) ----

function roomFromUrl() {
  return new URLSearchParams(location.hash.slice(1)).get('room')?.trim() || null;
}

function inviteUrl(room) {
  const u = new URL(location.href);
  u.hash = new URLSearchParams({ room }).toString();
  return u.href;
}

// ---- joining and leaving ----

function showError(input, errorEl, message) {
  errorEl.textContent = message;
  if (message) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

/** Only "is anything typed": what makes a good name or room is the server's to say (see onRefused). */
function validate() {
  const name = cleanName(ui.name.value);
  const room = ui.room.value.trim();
  showError(ui.name, ui.nameError, name ? '' : 'Please enter a name.');
  showError(ui.room, ui.roomError, room ? '' : 'Please enter a room, or make a new private room.');
  if (!name) ui.name.focus();
  else if (!room) ui.room.focus();
  return name && room ? { name, room } : null;
}

function join({ name, room }) {
  client?.stop();
  showProblem('');
  showError(ui.name, ui.nameError, '');
  showError(ui.room, ui.roomError, '');
  try {
    localStorage.setItem(NAME_KEY, name);
  } catch {}
  if (roomFromUrl() !== room) history.replaceState(null, '', inviteUrl(room));
  ui.messages.replaceChildren();
  ui.roster.replaceChildren();
  ui.typing.textContent = '';
  ui.roomName.textContent = room;
  ui.roomName.title = room;
  ui.roomTitle.hidden = false;
  ui.roomActions.hidden = false;
  ui.joinView.hidden = true;
  ui.chatView.hidden = false;
  document.title = `${room} · edge-chat`;
  unread = 0;

  client = new ChatClient({ room, name });
  client.addEventListener('status', onStatus);
  client.addEventListener('message', onMessage);
  client.addEventListener('outbox', renderOutbox);
  client.addEventListener('roster', renderRoster);
  client.addEventListener('join', onJoin);
  client.addEventListener('leave', onLeave);
  client.addEventListener('typing', renderTyping);
  client.addEventListener('notice', (e) => addNotice(e.detail.text));
  client.addEventListener('refused', onRefused);
  client.start();
  ui.input.focus();
}

function leave() {
  client?.stop();
  client = null;
  showProblem('');
  showJoinForm();
  ui.room.value = roomFromUrl() ?? ui.room.value;
  ui.name.focus();
}

function showJoinForm() {
  ui.chatView.hidden = true;
  ui.roomTitle.hidden = true;
  ui.roomActions.hidden = true;
  ui.joinView.hidden = false;
  document.title = 'edge-chat';
  renderStatus();
}

// ---- refusals: the server said no, and why (docs/PROTOCOL.md, "Connecting") ----

/** The banner above the page (role="alert"): `text`, then `fixes` (buttons); '' clears it. */
function showProblem(text, ...fixes) {
  if (!text) {
    ui.problem.replaceChildren();
    return;
  }
  const fix = el('p', 'fix');
  fix.append(...fixes);
  ui.problem.replaceChildren(el('p', 'problem-text', text), fix);
}

/**
 * A final refusal (close 4400/4401/4403): the client has stopped, so the page says what to change.
 * A name or room the server does not take sends the person back to that field with the server's own
 * explanation; an expired or missing sign-in asks for a reload (which signs in again); anything
 * else is said as the server said it.
 */
function onRefused(e) {
  const { code, message } = e.detail;
  const room = client.room;
  const because = message ? ` ${capitalised(message)}.` : '';
  if (code === 'bad_name') {
    try {
      localStorage.removeItem(NAME_KEY); // so a reload does not try it again
    } catch {}
    showJoinForm();
    ui.room.value = room;
    showError(ui.name, ui.nameError, `The server did not accept this name.${because} Please choose another.`);
    announce('Could not join: the name was refused.');
    ui.name.focus();
    ui.name.select();
  } else if (code === 'bad_room') {
    showJoinForm();
    ui.room.value = room;
    showError(ui.room, ui.roomError, `The server did not accept this room.${because} Pick another room, or make a new private room.`);
    announce('Could not join: the room name was refused.');
    ui.room.focus();
    ui.room.select();
  } else if (code === 'unauthorized') {
    showProblem(
      `Your session has expired or does not open this room, so you are not connected.${because} Sign in again to rejoin.`,
      button('Sign in again', () => location.reload(), 'primary'),
    );
    ui.problem.querySelector('button').focus();
  } else {
    showProblem(`The server refused to let you into this room.${because}`, button('Choose another room', leave));
  }
}

const capitalised = (text) => text.charAt(0).toUpperCase() + text.slice(1).replace(/\.$/, '');

/** "Not now" refusals (close 4503/4429), retried by the client with a longer backoff. */
function busyText(reason) {
  if (reason.code === 'room_full') return 'room is full';
  if (reason.code === 'rate_limited') return 'too many connections from your network';
  return reason.message || 'the server is busy';
}

// ---- connection status ----

function onStatus(e) {
  const { state, reason } = e.detail;
  if (state === 'online') showProblem('');
  // Said once in words when it starts; the status line then counts down to the next try.
  if (state === 'waiting' && reason && reason.code !== shownReason) announce(`Not connected: ${busyText(reason)}. Retrying by itself.`);
  shownReason = state === 'waiting' || state === 'reconnecting' ? reason?.code : null;
  renderStatus();
  renderOutbox();
  clearInterval(statusTicker);
  if (client?.state === 'waiting') statusTicker = setInterval(renderStatus, 250);
}

function renderStatus() {
  const state = client?.state ?? 'closed';
  let text = { connecting: 'connecting…', online: 'online', reconnecting: 'reconnecting…', refused: 'not connected — refused', closed: 'not connected' }[state];
  const busy = client?.reason ? busyText(client.reason) : null;
  if (state === 'waiting') {
    const s = Math.max(0, Math.ceil((client.retryAt - Date.now()) / 1000));
    text = busy ? `${busy}, retrying in ${s} s` : `reconnecting in ${s} s`;
  } else if (state === 'reconnecting' && busy) {
    text = `${busy}, retrying…`;
  }
  if (ui.status.textContent !== text) ui.status.textContent = text;
  ui.status.dataset.state = state;
  // While we are not connected the roster is only what we last knew: say so by greying it.
  ui.roster.parentElement.classList.toggle('stale', state !== 'online');
  ui.reconnectNow.hidden = state !== 'waiting';
}

// ---- messages ----

function messageItem(m, own) {
  const li = el('li', own ? 'msg own' : 'msg');
  const meta = el('p', 'meta');
  meta.append(el('span', 'who', m.from?.name ?? '?'));
  if (own) meta.append(el('span', 'you', 'you'));
  meta.append(timeElement(m.ts ?? Date.now()));
  li.append(meta, el('p', 'text', m.text));
  return li;
}

/** Keeps the view pinned to the newest message unless the reader has scrolled up. */
function keepingScroll(force, change) {
  const list = ui.messages;
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  change();
  if (atBottom || force) list.scrollTop = list.scrollHeight;
}

/** Stored messages sit in seq order, above the outbox (the not yet acked ones, always last). */
function insertBySeq(li, seq) {
  li.dataset.seq = String(seq);
  const firstPending = ui.messages.querySelector('.pending');
  let before = firstPending;
  let cur = firstPending ? firstPending.previousElementSibling : ui.messages.lastElementChild;
  for (; cur; cur = cur.previousElementSibling) {
    if (!cur.dataset.seq) continue; // a notice
    if (Number(cur.dataset.seq) > seq) before = cur;
    else break;
  }
  ui.messages.insertBefore(li, before);
}

function onMessage(e) {
  const { message: m, own, live } = e.detail;
  keepingScroll(own, () => insertBySeq(messageItem(m, own), m.seq));
  if (live && !own) {
    announce(`${m.from?.name}: ${m.text}`);
    if (document.hidden) {
      unread += 1;
      document.title = `(${unread}) ${client.room} · edge-chat`;
    }
  }
}

function addNotice(text) {
  const li = el('li', 'notice', text);
  const firstPending = ui.messages.querySelector('.pending');
  keepingScroll(false, () => ui.messages.insertBefore(li, firstPending));
  announce(text);
}

function outboxState(entry) {
  if (entry.error) return `Not sent: ${entry.error}.`;
  return client?.state === 'online' ? 'sending…' : 'pending — will be sent when connected';
}

function renderOutbox() {
  if (!client) return;
  const entries = client.outbox;
  // Keyed by `key`, which stays when the client gives an entry a new id (after an id_conflict).
  const byKey = new Map([...ui.messages.querySelectorAll('.pending')].map((li) => [li.dataset.key, li]));
  keepingScroll(false, () => {
    for (const entry of entries) {
      let li = byKey.get(entry.key);
      byKey.delete(entry.key);
      if (!li) {
        li = messageItem({ from: { name: client.name }, text: entry.text, ts: entry.createdAt }, true);
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

// ---- roster, joins, typing ----

function renderRoster() {
  const counts = new Map();
  for (const m of client.members.values()) counts.set(m.name, (counts.get(m.name) ?? 0) + 1);
  const names = [...counts.keys()].sort((a, b) => (a === client.name ? -1 : b === client.name ? 1 : a.localeCompare(b)));
  ui.roster.replaceChildren(
    ...names.map((name) => {
      const li = el('li', name === client.name ? 'me' : '');
      li.append(el('span', 'who', name));
      if (name === client.name) li.append(el('span', 'you', 'you'));
      if (counts.get(name) > 1) li.append(el('span', 'devices', `×${counts.get(name)}`));
      return li;
    }),
  );
  ui.onlineCount.textContent = String(names.length);
}

function sameNameOnline(name) {
  return [...client.members.values()].filter((m) => m.name === name).length;
}

function onJoin(e) {
  // A second tab of somebody already here is not news.
  if (sameNameOnline(e.detail.user.name) === 1) addNotice(`${e.detail.user.name} joined`);
}

function onLeave(e) {
  if (sameNameOnline(e.detail.user.name) === 0) addNotice(`${e.detail.user.name} left`);
}

function renderTyping(e) {
  const names = e.detail.names;
  ui.typing.textContent =
    names.length === 0 ? '' :
    names.length === 1 ? `${names[0]} is typing…` :
    names.length === 2 ? `${names[0]} and ${names[1]} are typing…` :
    `${names.length} people are typing…`;
}

// ---- wiring ----

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
  if (!client || !text.trim()) return;
  client.send(text);
  ui.input.value = '';
  ui.count.textContent = '';
  ui.input.focus();
});

ui.input.addEventListener('keydown', (e) => {
  // Enter sends; Shift+Enter is a new line; Enter that confirms an IME composition is neither.
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    ui.composer.requestSubmit();
  }
});

ui.input.addEventListener('input', () => {
  client?.typing();
  // A counter near the limit, so a too-long message is no surprise (the client refuses it anyway).
  const max = client?.limits.text ?? DEFAULT_LIMITS.text; // the room's, once its welcome said
  const n = charCount(ui.input.value);
  ui.count.textContent = n > max - 500 ? `${n} / ${max}` : '';
  ui.count.classList.toggle('over', n > max);
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

document.addEventListener('visibilitychange', () => {
  if (!document.hidden && client) {
    unread = 0;
    document.title = `${client.room} · edge-chat`;
  }
});

window.addEventListener('hashchange', () => {
  const room = roomFromUrl();
  if (!room || room === client?.room) return;
  ui.room.value = room;
  const name = cleanName(ui.name.value);
  if (name) join({ name, room });
});

function init() {
  let saved = null;
  try {
    saved = localStorage.getItem(NAME_KEY);
  } catch {}
  if (saved) ui.name.value = saved;
  const room = roomFromUrl();
  ui.room.value = room ?? 'lobby';
  const name = cleanName(saved);
  // An invitation link opened by someone we already know goes straight into the room.
  if (room && name) join({ name, room });
  else (name ? ui.room : ui.name).focus();
  renderStatus();
}

init();
