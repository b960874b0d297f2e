//! The page's elements by name (`ui`) and the small helpers every part draws with: elements with
//! text only (never HTML: the CSP's Trusted Types would refuse it anyway), times, and the polite live
//! region screen readers hear news through.

const $ = (id) => document.getElementById(id);
export const ui = {
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
  identity: $('identity'),
  identityName: $('identity-name'),
  signOut: $('sign-out'),
  status: $('status'),
  reconnectNow: $('reconnect-now'),
  roster: $('roster'),
  onlineCount: $('online-count'),
  messages: $('messages'),
  jumpNew: $('jump-new'),
  jumpLatest: $('jump-latest'),
  typing: $('typing'),
  composing: $('composing'),
  composingText: $('composing-text'),
  composingCancel: $('composing-cancel'),
  composer: $('composer'),
  uploads: $('uploads'),
  attach: $('attach'),
  fileInput: $('file-input'),
  input: $('message-input'),
  sendButton: $('send'),
  emojiButton: $('emoji-button'),
  emojiPanel: $('emoji-panel'),
  count: $('char-count'),
  announcer: $('announcer'),
  searchForm: $('search-form'),
  searchInput: $('search-input'),
  searchResults: $('search-results'),
  searchTitle: $('search-title'),
  searchList: $('search-list'),
  searchClose: $('search-close'),
  problem: $('problem'),
  main: $('main'),
};

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function button(label, onClick, className) {
  const b = el('button', className, label);
  b.type = 'button';
  b.addEventListener('click', onClick);
  return b;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
export const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'medium' });

export function timeElement(ms) {
  const d = new Date(ms);
  const today = new Date().toDateString() === d.toDateString();
  const t = el('time', 'when', (today ? timeFormat : dateTimeFormat).format(d));
  t.dateTime = d.toISOString();
  t.title = fullFormat.format(d);
  return t;
}

/** Screen readers hear new messages and joins/leaves through one polite live region (the message
 * list itself is not live, so loading 50 messages of history does not read them all out). */
export function announce(text) {
  ui.announcer.append(el('p', '', text));
  while (ui.announcer.childElementCount > 5) ui.announcer.firstElementChild.remove();
}
