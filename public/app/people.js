//! Who wrote or did something, shown so that two people are never mistaken for one: a name says only
//! what somebody chose to be called, so every author also gets a cue derived from their `uid` (a
//! colour and initials), and when two different uids share a name, a short handle (the uid's first
//! four characters) beside it. The room keeps people apart by uid (docs/PROTOCOL.md, "Identity"):
//! an identity's uid is the same in every room and tab, an anonymous connection's is `anon:<id>`.

import { isIdentity } from '../sdk/edge-chat-client.js';
import { el } from './dom.js';
import { client } from './state.js';

/** The uid a user is known by, or its connection id when it has none (a bot's message). */
export function personKey(user) {
  return user?.uid ?? (user?.id ? `conn:${user.id}` : `name:${user?.name ?? ''}`);
}

/** A short handle for `user`: the uid's first four characters (after `anon:` for an anonymous one). */
export function handle(user) {
  const key = user?.uid ?? user?.id ?? '';
  return key.replace(/^anon:/, '').slice(0, 4);
}

/** Every uid this page has seen use `name` (in the roster, the messages, the read marks). */
function uidsNamed(name) {
  const uids = new Set();
  if (!client) return uids;
  const see = (u) => u?.name === name && uids.add(personKey(u));
  for (const u of client.members.values()) see(u);
  for (const m of client.messages.values()) see(m.from);
  for (const r of client.reads.values()) see(r.user);
  if (client.you) see(client.you);
  return uids;
}

/** Someone this page knows by `uid` (online, or the author of a message it holds), or a stand-in
 * with only the uid (a thread's participant whose messages are not loaded). */
export function knownPerson(uid) {
  if (client) {
    for (const u of client.members.values()) if (u.uid === uid) return u;
    for (const m of client.messages.values()) if (m.from?.uid === uid) return m.from;
  }
  return { uid, name: '?' };
}

/** Everyone this page knows who can be mentioned (an identity), but us: online first, then authors. */
export function mentionable() {
  const people = new Map();
  if (!client) return [];
  const add = (u) => {
    if (u?.uid && isIdentity(u.uid) && u.uid !== client.you?.uid && !people.has(u.uid)) people.set(u.uid, u);
  };
  for (const u of client.members.values()) add(u);
  for (const m of [...client.messages.values()].reverse()) add(m.from);
  return [...people.values()];
}

/** Whether `user`'s name is shared by somebody else this page knows of. */
export function nameCollides(user) {
  return uidsNamed(user?.name).size > 1;
}

/** The name as text, with the handle when the name is shared: "ann (#Q2hh)". */
export function label(user) {
  const name = user?.name ?? '?';
  return nameCollides(user) ? `${name} (#${handle(user)})` : name;
}

function hue(key) {
  let h = 0;
  for (const c of key) h = (h * 31 + c.codePointAt(0)) >>> 0;
  return h % 360;
}

function initials(name) {
  const words = String(name ?? '?').trim().split(/\s+/).filter(Boolean);
  const first = (w) => [...w][0] ?? '';
  return ((words.length > 1 ? first(words[0]) + first(words[1]) : [...(words[0] ?? '?')].slice(0, 2).join('')) || '?').toUpperCase();
}

/** The identity cue: a round badge whose colour comes from the uid, with the name's initials. An
 * anonymous author's badge is dashed (nothing vouches for it beyond this connection). */
export function avatar(user) {
  const a = el('span', isIdentity(user?.uid) ? 'avatar' : 'avatar anon', initials(user?.name));
  a.setAttribute('aria-hidden', 'true');
  a.dataset.uid = personKey(user);
  // CSSOM, not a style attribute: the CSP's style-src 'self' governs markup, not element.style.
  a.style.setProperty('--hue', String(hue(personKey(user))));
  return a;
}

/**
 * An author as the page shows them everywhere: the badge, the name isolated from the text around it
 * (<bdi>, so a right-to-left name does not reorder the time beside it) in `.who`, and the handle
 * when the name is shared.
 */
export function author(user, { cue = true } = {}) {
  const parts = [];
  if (cue) parts.push(avatar(user));
  const who = el('bdi', 'who', user?.name ?? '?');
  who.dataset.uid = personKey(user);
  parts.push(who);
  if (nameCollides(user)) {
    const h = el('span', 'handle', `#${handle(user)}`);
    h.title = 'Another person here has the same name: this is their short id.';
    parts.push(h);
  }
  return parts;
}
