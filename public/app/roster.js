//! Who is here: the roster (one line per name, with a count of devices, and "more" to page a large
//! room's), joins and leaves as notices, and who is typing.

import { addNotice } from './conversation.js';
import { el, ui } from './dom.js';
import { client } from './state.js';

export function renderRoster() {
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

export function onJoin(e) {
  // A second tab of somebody already here is not news.
  if (sameNameOnline(e.detail.user.name) === 1) addNotice(`${e.detail.user.name} joined`);
}

export function onLeave(e) {
  if (sameNameOnline(e.detail.user.name) === 0) addNotice(`${e.detail.user.name} left`);
}

export function renderTyping(e) {
  const names = e.detail.names;
  ui.typing.textContent =
    names.length === 0 ? '' :
    names.length === 1 ? `${names[0]} is typing…` :
    names.length === 2 ? `${names[0]} and ${names[1]} are typing…` :
    `${names.length} people are typing…`;
}
