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

import { ChatClient, DEFAULT_LIMITS, charCount, cleanName, privateRoomName, snippetParts } from './sdk/edge-chat-client.js';
import { dayKey, dayLabel, excerpt, linkParts } from './format.js';

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
  jumpNew: $('jump-new'),
  typing: $('typing'),
  composing: $('composing'),
  composingText: $('composing-text'),
  composingCancel: $('composing-cancel'),
  composer: $('composer'),
  input: $('message-input'),
  sendButton: $('send'),
  count: $('char-count'),
  announcer: $('announcer'),
  searchForm: $('search-form'),
  searchInput: $('search-input'),
  searchResults: $('search-results'),
  searchTitle: $('search-title'),
  searchList: $('search-list'),
  searchClose: $('search-close'),
  problem: $('problem'),
};

const NAME_KEY = 'edge-chat:name';
let client = null;
let statusTicker = null;
let shownReason = null; // the busy refusal last announced, so each is announced once

/** The quick reactions offered by the picker (any reaction others made shows and toggles too). */
const REACTIONS = [['👍', 'thumbs up'], ['❤️', 'heart'], ['😂', 'laughing'], ['🎉', 'party'], ['😮', 'surprised'], ['😢', 'sad']];

// The view of the conversation, beside the client's state of it.
const items = new Map(); // seq → its <li>
let composing = null; // {kind: 'reply' | 'edit', seq} while the composer answers or edits a message
let pickerFor = null; // the seq whose reaction picker is open
let confirmingDelete = null; // the seq whose "Delete this message?" is shown
const versionsOpen = new Set(); // seqs whose earlier versions are shown
const versionsCache = new Map(); // seq → {version, versions | error} fetched from the HTTP API
let dividerSeq = null; // the "New messages" divider stands before this message
let pinned = true; // the view follows the newest message (the reader is at the bottom)
let placed = false; // the first welcome of this room has placed the view (at the divider or the bottom)
let loadingOlder = false;

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
  items.clear();
  versionsOpen.clear();
  versionsCache.clear();
  setComposing(null);
  closeSearch();
  ui.searchInput.value = '';
  pickerFor = confirmingDelete = dividerSeq = null;
  pinned = true;
  placed = false;

  // An embedding app that signs its users in provides `window.edgeChat.getToken` (docs/API.md,
  // "Tokens on the page"): the client then connects with its token, renews it, and reconnects with a
  // fresh one when the room says it expired.
  client = new ChatClient({ room, name, getToken: globalThis.edgeChat?.getToken });
  client.addEventListener('status', onStatus);
  client.addEventListener('message', onMessage);
  client.addEventListener('update', onUpdate);
  client.addEventListener('reset', onReset);
  client.addEventListener('unread', renderUnread);
  client.addEventListener('reads', () => schedule());
  client.addEventListener('older', () => schedule());
  client.addEventListener('outbox', renderOutbox);
  client.addEventListener('roster', renderRoster);
  client.addEventListener('join', onJoin);
  client.addEventListener('leave', onLeave);
  client.addEventListener('typing', renderTyping);
  client.addEventListener('notice', (e) => addNotice(e.detail.text));
  client.addEventListener('refused', onRefused);
  client.addEventListener('moderation', onModeration);
  client.addEventListener('rules', renderRules);
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
  } else if (code === 'unauthorized' || code === 'token_expired') {
    showProblem(
      `Your session has expired or does not open this room, so you are not connected.${because} Sign in again to rejoin.`,
      button('Sign in again', () => location.reload(), 'primary'),
    );
    ui.problem.querySelector('button').focus();
  } else if (code === 'banned') {
    showProblem('A moderator banned you from this room, so you are not connected.', button('Choose another room', leave));
    ui.problem.querySelector('button').focus();
  } else if (code === 'kicked') {
    showProblem(
      'A moderator removed you from this room. You may join again.',
      button('Join again', () => join({ name: client.name, room }), 'primary'),
      button('Choose another room', leave),
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
  if (state === 'online' && !placed) placeView();
  if (state === 'online') ui.searchInput.maxLength = client.limits.query;
  if (state === 'online') schedule(); // actions offered depend on who we are now
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

/**
 * The text of a message, its links made clickable: only http and https URLs (format.js's
 * `linkParts`), each opened apart from this page — `noopener` (the linked page gets no
 * `window.opener`) and `noreferrer` (nor our address). Everything else is text nodes.
 */
function textWithLinks(className, text) {
  const p = el('p', className);
  for (const part of linkParts(text)) {
    if (!part.href) {
      p.append(part.text);
      continue;
    }
    const a = el('a', 'link', part.text);
    a.href = part.href;
    a.rel = 'noopener noreferrer';
    a.target = '_blank';
    p.append(a);
  }
  return p;
}

function metaLine(m, own) {
  const meta = el('p', 'meta');
  meta.append(el('span', 'who', m.from?.name ?? '?'));
  if (own) meta.append(el('span', 'you', 'you'));
  meta.append(timeElement(m.ts ?? Date.now()));
  return meta;
}

/** A message of ours not yet stored (the outbox): what we wrote, and what it answers. */
function messageItem(m, own) {
  const li = el('li', own ? 'msg own' : 'msg');
  li.dataset.ts = String(m.ts ?? Date.now());
  if (m.reply_to != null) li.append(quote(m.reply_to));
  li.append(metaLine(m, own), textWithLinks('text', m.text));
  return li;
}

/** A stored message: an <li> that `fill` redraws whenever the message changes. */
function storedItem(m) {
  const li = el('li', 'msg');
  li.dataset.seq = String(m.seq);
  li.id = `msg-${m.seq}`;
  li.tabIndex = -1; // a jump (a reply's quote, "N new") moves the focus here
  fill(li, m);
  return li;
}

/** Draws a stored message from its current state, keeping the keyboard focus on the same control. */
function fill(li, m) {
  const own = client.isOwn(m);
  const active = document.activeElement;
  const focusKey = active !== li && li.contains(active) ? active.dataset.key : null;
  li.classList.toggle('own', own);
  li.classList.toggle('deleted', m.deleted);
  li.dataset.ts = String(m.ts);
  if (m.reply_to != null) li.dataset.replyTo = String(m.reply_to);
  const parts = [];
  if (m.reply_to != null && !m.deleted) parts.push(quote(m.reply_to));
  const meta = metaLine(m, own);
  if (m.edited_at && !m.deleted) meta.append(editedMarker(m));
  parts.push(meta);
  if (m.deleted) {
    parts.push(el('p', 'text gone', 'message deleted'));
  } else {
    parts.push(textWithLinks('text', m.text));
    if (versionsOpen.has(m.seq)) parts.push(versionsBlock(m));
    const reactions = reactionsRow(m);
    if (reactions) parts.push(reactions);
    parts.push(...actionsFor(m, own));
  }
  li.replaceChildren(...parts);
  if (focusKey) (li.querySelector(`[data-key="${CSS.escape(focusKey)}"]`) ?? li).focus();
}

function redraw(seq) {
  const li = items.get(seq);
  const m = client?.messages.get(seq);
  if (li && m) fill(li, m);
  schedule();
}

/** The quote above a reply: who and the first line of what they said; a click goes there. */
function quote(seq) {
  const original = client.messages.get(seq);
  const who = original?.from?.name;
  const said = !original ? 'an earlier message' : original.deleted ? 'message deleted' : excerpt(original.text);
  const b = button('', () => jumpTo(seq), 'quote');
  b.dataset.key = 'quote';
  if (who) b.append(el('span', 'quote-who', who));
  b.append(el('span', 'quote-text', said));
  b.setAttribute('aria-label', `In reply to ${who ? `${who}: ` : ''}${said}. Go to that message.`);
  return b;
}

/** Redraws the replies to `seq` (their quote shows it). */
function refreshQuotesOf(seq) {
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
    item.append(timeElement(v.at), ' ', el('span', 'version-text', v.text));
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

function reactionsRow(m) {
  const counts = Object.entries(m.reactions ?? {}).filter(([, n]) => n > 0);
  if (!counts.length) return null;
  const mine = client.myReactions(m.seq);
  const row = el('div', 'reactions');
  row.setAttribute('role', 'group');
  row.setAttribute('aria-label', 'Reactions');
  for (const [emoji, n] of counts) {
    const ours = mine.includes(emoji);
    const b = button(`${emoji} ${n}`, () => client.toggleReaction(m.seq, emoji), 'reaction');
    b.dataset.key = `reaction:${emoji}`;
    b.dataset.emoji = emoji;
    b.setAttribute('aria-pressed', String(ours));
    b.title = ours ? 'You reacted. Click to take it back.' : 'Click to react too.';
    b.disabled = !client.you?.uid;
    row.append(b);
  }
  return row;
}

/** Reply, React, and for our own messages Edit and Delete; with the open picker or confirmation. */
function actionsFor(m, own) {
  const bar = el('div', 'actions');
  bar.setAttribute('role', 'group');
  bar.setAttribute('aria-label', 'Message actions');
  const add = (label, key, onClick) => {
    const b = button(label, onClick, 'action');
    b.dataset.key = key;
    bar.append(b);
    return b;
  };
  add('Reply', 'reply', () => startReply(m.seq));
  // Reactions, edits and deletions need an identity (a key): an anonymous page only replies.
  if (client.you?.uid) {
    add('React', 'react', () => togglePicker(m.seq)).setAttribute('aria-expanded', String(pickerFor === m.seq));
    if (own) {
      add('Edit', 'edit', () => startEdit(m.seq));
    }
    // A moderator may delete anyone's message, and act on its author (docs/PROTOCOL.md, "Moderation").
    const moderating = !own && client.role === 'moderator';
    if (own || moderating) {
      add('Delete', 'delete', () => askDelete(m.seq)).setAttribute('aria-expanded', String(confirmingDelete === m.seq));
    }
    if (moderating && m.from?.uid) {
      const who = m.from.name;
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
  if (pickerFor === m.seq) out.push(picker(m));
  if (confirmingDelete === m.seq) out.push(deleteConfirm(m));
  return out;
}

function picker(m) {
  const box = el('div', 'picker');
  box.setAttribute('role', 'group');
  box.setAttribute('aria-label', 'Pick a reaction');
  const mine = client.myReactions(m.seq);
  for (const [emoji, name] of REACTIONS) {
    const b = button(emoji, () => {
      closePicker(m.seq);
      client.react(m.seq, emoji, !mine.includes(emoji));
    }, 'pick');
    b.dataset.key = `pick:${emoji}`;
    b.setAttribute('aria-label', `React with ${name}`);
    b.setAttribute('aria-pressed', String(mine.includes(emoji)));
    b.title = name;
    box.append(b);
  }
  box.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      closePicker(m.seq);
    }
  });
  return box;
}

function focusControl(seq, key) {
  items.get(seq)?.querySelector(`[data-key="${key}"]`)?.focus();
}

function togglePicker(seq) {
  const previous = pickerFor;
  pickerFor = previous === seq ? null : seq;
  confirmingDelete = null;
  if (previous !== null && previous !== seq) redraw(previous);
  redraw(seq);
  if (pickerFor === seq) items.get(seq)?.querySelector('.pick')?.focus();
}

function closePicker(seq) {
  pickerFor = null;
  redraw(seq);
  focusControl(seq, 'react');
}

function askDelete(seq) {
  const previous = confirmingDelete;
  confirmingDelete = seq;
  pickerFor = null;
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
    confirmingDelete = null;
    redraw(m.seq);
    focusControl(m.seq, 'delete');
  };
  const yes = button('Yes, delete', () => {
    confirmingDelete = null;
    client.delete(m.seq);
    redraw(m.seq);
    items.get(m.seq)?.focus();
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

// ---- the composer: a new message, a reply, or an edit ----

function setComposing(mode) {
  composing = mode;
  ui.composing.hidden = !mode;
  ui.sendButton.textContent = mode?.kind === 'edit' ? 'Save' : 'Send';
  if (!mode) {
    ui.composingText.replaceChildren();
    return;
  }
  const m = client?.messages.get(mode.seq);
  if (mode.kind === 'reply') ui.composingText.replaceChildren('Replying to ', el('strong', '', m?.from?.name ?? '?'), `: ${excerpt(m?.text ?? '', 60)}`);
  else ui.composingText.replaceChildren('Editing your message (Enter saves, Escape cancels)');
}

function startReply(seq) {
  if (composing?.kind === 'edit') ui.input.value = '';
  setComposing({ kind: 'reply', seq });
  ui.input.focus();
}

function startEdit(seq) {
  const m = client.messages.get(seq);
  if (!m || m.deleted) return;
  setComposing({ kind: 'edit', seq });
  ui.input.value = m.text;
  ui.input.focus();
  ui.input.setSelectionRange(m.text.length, m.text.length);
}

function cancelComposing() {
  if (composing?.kind === 'edit') ui.input.value = '';
  setComposing(null);
  ui.input.focus();
}

// ---- the list: placing, decorating, scrolling, reading ----

/** Whether the view shows the newest messages (within a line of the bottom). */
function nearBottom() {
  const list = ui.messages;
  return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
}

/** Runs `change`, then keeps the view following the newest message if it did (or `force`). */
function keepingScroll(force, change) {
  change();
  if (force) pinned = true;
  schedule();
}

let scheduled = false;

/** After the current batch of events (a welcome brings many): separators, "seen by", scroll, reads. */
function schedule() {
  if (scheduled) return;
  scheduled = true;
  queueMicrotask(() => {
    scheduled = false;
    if (!client) return;
    decorate();
    renderSeen();
    if (pinned) ui.messages.scrollTop = ui.messages.scrollHeight;
    renderJump();
    scheduleRead();
    // Too few messages to scroll: nobody can scroll to the top to ask for more, so we do.
    if (client.hasOlder && client.state === 'online' && ui.messages.scrollHeight <= ui.messages.clientHeight + 60) loadOlderKeepingPlace();
  });
}

/** Stored messages sit in seq order, above the outbox (the not yet acked ones, always last). */
function insertBySeq(li, seq) {
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
    if (dividerSeq !== null && li.dataset.seq === String(dividerSeq)) {
      const divider = el('li', 'divider');
      divider.append(el('span', '', 'New messages'));
      li.before(divider);
    }
  }
}

/** "Seen by …" under our newest message, from the others' read marks. */
function renderSeen() {
  for (const p of ui.messages.querySelectorAll('.seen')) p.remove();
  const last = client.lastOwn();
  const li = last && items.get(last.seq);
  if (!li) return;
  const names = client.seenBy(last.seq);
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

/** On the first welcome of a room: at the "New messages" divider if there is something unread. */
function placeView() {
  placed = true;
  // A first visit (nothing read here yet) starts at the newest, like any chat; a return visit at
  // what is new since.
  dividerSeq = client.unreadCount() > 0 && client.readSeq > 0 ? firstUnread() : null;
  decorate();
  const divider = ui.messages.querySelector(':scope > .divider');
  if (divider) {
    divider.scrollIntoView({ block: 'start' });
    pinned = nearBottom();
  } else {
    pinned = true;
    ui.messages.scrollTop = ui.messages.scrollHeight;
  }
}

function renderUnread(e) {
  const n = e.detail.count;
  document.title = n > 0 ? `(${n}) ${client.room} · edge-chat` : `${client.room} · edge-chat`;
  renderJump();
}

/** "N new ↓": shown while others' messages wait after our read position. */
function renderJump() {
  const n = client?.unreadCount() ?? 0;
  ui.jumpNew.hidden = n === 0;
  const text = `${n} new`;
  if (ui.jumpNew.firstChild?.textContent !== text) {
    ui.jumpNew.replaceChildren(el('span', '', text), el('span', 'arrow', ' ↓'));
    ui.jumpNew.lastChild.setAttribute('aria-hidden', 'true');
    ui.jumpNew.setAttribute('aria-label', `${n} new ${n === 1 ? 'message' : 'messages'}: go to the first`);
  }
}

async function jumpToUnread() {
  const first = firstUnread() ?? client.oldestSeq();
  if (first !== null) await jumpTo(first, 'start');
}

/** Scrolls to message `seq` (loading older pages until it is there), focuses and highlights it. */
async function jumpTo(seq, block = 'center') {
  while (client && !items.has(seq) && client.hasOlder) {
    if (!(await loadOlderKeepingPlace())) break;
  }
  const li = items.get(seq);
  if (!li) {
    announce('That message is no longer there.');
    return;
  }
  li.scrollIntoView({ block });
  pinned = nearBottom();
  li.focus({ preventScroll: true });
  li.classList.remove('flash');
  void li.offsetWidth; // restart the highlight's animation
  li.classList.add('flash');
}

// ---- search ----

let searchRun = 0; // the newest search asked for: an older answer arriving late is dropped

/** Asks the room for `q` and lists the matches, best first. */
async function runSearch(q) {
  if (!client || !q) return;
  const run = ++searchRun;
  ui.searchResults.hidden = false;
  ui.searchTitle.textContent = `Searching for “${q}”…`;
  ui.searchList.replaceChildren();
  let answer;
  try {
    answer = await client.search(q);
  } catch (error) {
    if (run !== searchRun || !client) return;
    ui.searchTitle.textContent = error.code === 'offline' ? 'Not connected: search again once back online.' : `Could not search: ${error.message}`;
    announce(ui.searchTitle.textContent);
    return;
  }
  if (run !== searchRun || !client) return;
  const n = answer.results.length;
  ui.searchTitle.textContent =
    n === 0 ? `No messages match “${q}”` : `${n}${answer.hasMore ? '+' : ''} ${n === 1 ? 'message matches' : 'messages match'} “${q}”`;
  for (const r of answer.results) {
    const hit = button('', () => jumpTo(r.seq), 'search-hit');
    const snippet = el('span', 'snippet');
    for (const part of snippetParts(r.snippet)) snippet.append(part.mark ? el('mark', '', part.text) : document.createTextNode(part.text));
    hit.append(el('span', 'who', r.from?.name ?? ''), timeElement(r.ts), snippet);
    const li = el('li');
    li.append(hit);
    ui.searchList.append(li);
  }
  announce(ui.searchTitle.textContent);
}

function closeSearch() {
  searchRun++;
  ui.searchResults.hidden = true;
  ui.searchList.replaceChildren();
}

/** The first message at least partly on screen (the anchor a loaded page must not move). */
function firstVisibleItem() {
  const top = ui.messages.getBoundingClientRect().top;
  for (const li of ui.messages.querySelectorAll(':scope > li.msg')) if (li.getBoundingClientRect().bottom > top) return li;
  return null;
}

/** Loads the page before the oldest message without moving what the reader is looking at. */
async function loadOlderKeepingPlace() {
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
  pinned = nearBottom();
  return got;
}

let readFrame = 0;

function scheduleRead() {
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

function onMessage(e) {
  const { message: m, own, live } = e.detail;
  const li = storedItem(m);
  items.set(m.seq, li);
  insertBySeq(li, m.seq);
  if (own && live) pinned = true; // we just sent it: show it
  if (live && !own) {
    announce(`${m.from?.name}: ${m.text}`);
    // The first message nobody has seen yet (the tab is hidden, or the reader is further up): the
    // divider moves above it.
    if ((document.hidden || !pinned) && client.unreadCount() === 1) dividerSeq = m.seq;
  }
  refreshQuotesOf(m.seq);
  schedule();
}

function onUpdate(e) {
  const m = e.detail.message;
  const li = items.get(m.seq);
  if (m.deleted) {
    versionsOpen.delete(m.seq);
    if (pickerFor === m.seq) pickerFor = null;
    if (confirmingDelete === m.seq) confirmingDelete = null;
    if (composing?.seq === m.seq) {
      if (composing.kind === 'edit') ui.input.value = '';
      setComposing(null);
      announce('The message you were answering or editing was deleted.');
    }
  }
  if (li) fill(li, m);
  refreshQuotesOf(m.seq);
  schedule();
}

/** The client dropped what it knew (a resume too far behind): so does the view. */
function onReset() {
  for (const li of items.values()) li.remove();
  items.clear();
  dividerSeq = null;
  pinned = true;
  schedule();
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
        li = messageItem({ from: { name: client.name }, text: entry.text, ts: entry.createdAt, reply_to: entry.replyTo ?? null }, true);
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
  const items = names.map((name) => {
    const li = el('li', name === client.name ? 'me' : '');
    li.append(el('span', 'who', name));
    if (name === client.name) li.append(el('span', 'you', 'you'));
    if (counts.get(name) > 1) li.append(el('span', 'devices', `×${counts.get(name)}`));
    return li;
  });
  // A large room counts everyone (connections) but lists only who we know of: offer the next page.
  if (client.partial) {
    const more = el('li', 'more');
    const button = el('button', 'link', `and ${Math.max(0, client.online - client.members.size)} more — show`);
    button.type = 'button';
    button.addEventListener('click', () => client.loadMembers());
    more.append(button);
    items.push(more);
  }
  ui.roster.replaceChildren(...items);
  ui.onlineCount.textContent = String(client.partial ? client.online : names.length);
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

// ---- moderation: what a moderator did, our own mute, the room's slow mode ----

/** The display name of author `uid`, as far as this page knows it. */
function nameOf(uid) {
  for (const m of client.members.values()) if (m.uid === uid) return m.name;
  for (const m of client.messages.values()) if (m.from?.uid === uid) return m.from.name;
  return 'someone';
}

function onModeration(e) {
  const { record: r, mine } = e.detail;
  const who = mine ? 'you' : nameOf(r.uid);
  const by = r.by?.name ?? 'a moderator';
  const text = {
    ban: `${by} banned ${who}`,
    unban: `${by} lifted the ban on ${who}`,
    kick: `${by} removed ${who} from the room`,
    mute: `${by} muted ${who} for ${Math.round((r.seconds ?? 0) / 60)} min`,
    unmute: `${by} unmuted ${who}`,
    slow_mode: r.seconds ? `${by} turned on slow mode: one message every ${r.seconds} s` : `${by} turned off slow mode`,
  }[r.action];
  if (text) {
    addNotice(text);
    announce(text);
  }
}

let rulesTicker = null;

/** The line above the composer: our mute (with the time left) and the room's slow mode. */
function renderRules() {
  const rules = client?.rules();
  if (!rules) return;
  let note = document.getElementById('rules');
  if (!note) {
    note = el('p', 'rules');
    note.id = 'rules';
    note.setAttribute('role', 'status');
    ui.composer.before(note);
  }
  const parts = [];
  if (rules.mutedUntil) {
    const min = Math.ceil((rules.mutedUntil - Date.now()) / 60_000);
    parts.push(`A moderator muted you: you can read, but not write, for ${min} more min.`);
  }
  if (rules.slowMode) parts.push(`Slow mode: one message every ${rules.slowMode} s.`);
  note.textContent = parts.join(' ');
  note.hidden = parts.length === 0;
  ui.input.disabled = Boolean(rules.mutedUntil);
  ui.sendButton.disabled = Boolean(rules.mutedUntil);
  clearTimeout(rulesTicker);
  if (rules.mutedUntil) rulesTicker = setTimeout(renderRules, Math.min(60_000, rules.mutedUntil - Date.now() + 50));
  renderModeratorTools(rules);
}

/** The moderator's slow-mode switch in the room's actions; nothing for anyone else. */
function renderModeratorTools(rules) {
  let select = ui.roomActions.querySelector('.slow-mode');
  if (!rules.moderator) {
    select?.remove();
    return;
  }
  if (!select) {
    select = document.createElement('select');
    select.className = 'slow-mode';
    select.setAttribute('aria-label', 'Slow mode');
    for (const [seconds, label] of [[0, 'Slow mode: off'], [10, 'Slow: 10 s'], [30, 'Slow: 30 s'], [60, 'Slow: 1 min'], [300, 'Slow: 5 min']]) {
      const option = document.createElement('option');
      option.value = String(seconds);
      option.textContent = label;
      select.append(option);
    }
    select.addEventListener('change', () => client.moderate('slow_mode', { seconds: Number(select.value) }));
    ui.roomActions.prepend(select);
  }
  if (![...select.options].some((o) => o.value === String(rules.slowMode))) {
    const option = document.createElement('option');
    option.value = String(rules.slowMode);
    option.textContent = `Slow: ${rules.slowMode} s`;
    select.append(option);
  }
  select.value = String(rules.slowMode);
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
  if (composing?.kind === 'edit') {
    if (text !== client.messages.get(composing.seq)?.text) client.edit(composing.seq, text);
  } else {
    client.send(text, { replyTo: composing?.kind === 'reply' ? composing.seq : null });
  }
  setComposing(null);
  ui.input.value = '';
  ui.count.textContent = '';
  ui.input.focus();
});

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
ui.messages.addEventListener(
  'scroll',
  () => {
    pinned = nearBottom();
    if (ui.messages.scrollTop < 60) loadOlderKeepingPlace();
    scheduleRead();
  },
  { passive: true },
);
window.addEventListener('resize', scheduleRead);

ui.input.addEventListener('input', () => {
  if (composing?.kind !== 'edit') client?.typing();
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

// What arrived while the tab was hidden is read once it is shown (if it is on screen).
document.addEventListener('visibilitychange', scheduleRead);

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
