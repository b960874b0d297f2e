//! Who is here: the roster (one line per person — a uid — with a count of their devices, and "more"
//! to page a large room's), joins and leaves as notices, and who is typing. Two people who chose the
//! same name are two lines, two joins and two in the count: the room tells them apart by uid
//! (docs/PROTOCOL.md, "Identity"), and so does the page (people.js).

import { addNotice } from './conversation.js';
import { el, ui } from './dom.js';
import { author, label, personKey } from './people.js';
import { fill } from './message.js';
import { isIdentity } from '../sdk/edge-chat-client.js';
import { openDm } from './sidebar.js';
import { client, items as drawn } from './state.js';

let sharedNames = '';

/** When a name becomes shared (or stops being), the messages already drawn get their handles. */
function redrawIfNamesChanged() {
  const uidsByName = new Map();
  const see = (u) => u?.name && (uidsByName.get(u.name) ?? uidsByName.set(u.name, new Set()).get(u.name)).add(personKey(u));
  for (const u of client.members.values()) see(u);
  for (const m of client.messages.values()) see(m.from);
  const shared = [...uidsByName].filter(([, uids]) => uids.size > 1).map(([name]) => name).sort().join('\n');
  if (shared === sharedNames) return;
  sharedNames = shared;
  for (const [seq, li] of drawn) {
    const m = client.messages.get(seq);
    if (m) fill(li, m);
  }
}

/** The members grouped by person: uid → {user, devices}. */
function people() {
  const byUid = new Map();
  for (const m of client.members.values()) {
    const key = personKey(m);
    const seen = byUid.get(key);
    if (seen) seen.devices += 1;
    else byUid.set(key, { user: m, devices: 1 });
  }
  return byUid;
}

export function renderRoster() {
  const byUid = people();
  const me = personKey(client.you ?? { name: client.name });
  const entries = [...byUid.entries()].sort(([ka, a], [kb, b]) => (ka === me ? -1 : kb === me ? 1 : a.user.name.localeCompare(b.user.name) || ka.localeCompare(kb)));
  const items = entries.map(([key, { user, devices }]) => {
    const li = el('li', key === me ? 'me' : '');
    li.append(...author(user));
    if (key === me) li.append(el('span', 'you', 'you'));
    if (devices > 1) li.append(el('span', 'devices', `×${devices}`));
    // Anyone with an identity can be written to alone (a direct message, sidebar.js).
    if (key !== me && isIdentity(user.uid) && client.identified) {
      const dm = el('button', 'link dm', 'Message');
      dm.type = 'button';
      dm.setAttribute('aria-label', `Message ${user.name}`);
      dm.title = `Send ${user.name} a direct message`;
      dm.addEventListener('click', () => openDm(user.uid, user.name));
      li.append(dm);
    }
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
  ui.onlineCount.textContent = String(client.partial ? client.online : byUid.size);
  redrawIfNamesChanged();
}

function devicesOf(user) {
  const key = personKey(user);
  return [...client.members.values()].filter((m) => personKey(m) === key).length;
}

export function onJoin(e) {
  // Another tab or device of somebody already here is not news; somebody new with a known name is.
  if (devicesOf(e.detail.user) === 1) addNotice(`${label(e.detail.user)} joined`);
}

export function onLeave(e) {
  if (devicesOf(e.detail.user) === 0) addNotice(`${label(e.detail.user)} left`);
}

export function renderTyping(e) {
  // By person (the SDK's `users`), each with the handle a shared name needs; `names` from an older SDK.
  const names = e.detail.users ? e.detail.users.map(label) : e.detail.names;
  ui.typing.textContent =
    names.length === 0 ? '' :
    names.length === 1 ? `${names[0]} is typing…` :
    names.length === 2 ? `${names[0]} and ${names[1]} are typing…` :
    `${names.length} people are typing…`;
}
