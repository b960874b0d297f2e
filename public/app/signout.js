//! Signing out: nothing this browser kept of the person stays for the next one on the device. The
//! room's socket and the inbox's are closed, and this device's push subscription and notifications go
//! (sidebar.js); the offline store — every room's messages, read positions and unsent outbox — is
//! emptied (the SDK's clearCache()); the identity key the rooms know us by, the name, a sign-in's
//! token and everything else the page and the SDK keep under the `edge-chat:` prefix in localStorage
//! and sessionStorage (drafts, our reactions, recent emoji) are forgotten; and the page is back at an
//! empty join form (session.js `signedOut`). The next person who joins gets a new key:
//! a new uid, nobody's read positions, nobody's rooms.
//!
//! What the rooms have not acknowledged yet (messages written offline, edits and reactions in flight,
//! in any room of the store) is not discarded without asking: the dialog lists it, and "Stay signed
//! in" is the default. Another tab of this browser follows a sign-out (the `storage` event of the key's
//! removal) without asking again: the person chose in the first. An embedding app that signs its users
//! in hears of it through `window.edgeChat.signOut()` (docs/API.md, "Tokens on the page").

import { KEY_STORAGE_KEY, clearCache, unsentEntries } from '../sdk/edge-chat-client.js';
import { excerpt } from '../format.js';
import { announce, el, ui } from './dom.js';
import { signedOut } from './session.js';
import { stopInbox } from './sidebar.js';
import { client } from './state.js';

/** What the page and the SDK keep in the browser's storages starts with this (identity.js's key too). */
const PREFIX = 'edge-chat:';
/** How many unsent items the dialog names (the rest it counts). */
const LISTED = 5;

const dialog = document.getElementById('signout');
const listed = document.getElementById('signout-unsent');
const said = document.getElementById('signout-text');

let running = null;

/**
 * Signs the person out (asking first when something is unsent and `ask`); resolves true once the page
 * is signed out, false when they chose to stay. One at a time: a second click waits for the first.
 */
export function signOut({ ask = true } = {}) {
  running ??= (async () => {
    try {
      if (ask && !(await mayDiscard())) return false;
      const leaving = client;
      // Both stopped before anything is forgotten, so neither writes again; the shared store holds the
      // rooms of earlier visits as well as this one's. The inbox's client still asks the server to
      // forget this device's push subscription, with the credentials it was made with.
      const unpushed = stopInbox();
      const emptied = Promise.all([leaving?.clearCache(), clearCache()]).catch(() => {});
      forgetStored();
      signedOut();
      await Promise.all([emptied, unpushed]);
      announce('Signed out. Nothing of your conversations is kept in this browser.');
      try {
        globalThis.edgeChat?.signOut?.();
      } catch {}
      return true;
    } finally {
      running = null;
    }
  })();
  return running;
}

/** Every `edge-chat:` key of localStorage and sessionStorage: the identity key, the name, the token, … */
function forgetStored() {
  for (const storage of [globalThis.localStorage, globalThis.sessionStorage]) {
    try {
      const ours = [];
      for (let i = 0; i < storage.length; i++) if (storage.key(i)?.startsWith(PREFIX)) ours.push(storage.key(i));
      for (const key of ours) storage.removeItem(key);
    } catch {}
  }
}

/** How one unsent item reads in the dialog. */
function describe(entry) {
  const where = `in ${entry.room}`;
  if (entry.kind === 'message') return entry.text ? `“${excerpt(entry.text, 80)}” ${where}` : `a message with files ${where}`;
  const change = { edit: 'an edit', delete: 'a deletion', react: 'a reaction' }[entry.frame?.type] ?? 'a change';
  return `${change} of a message ${where}`;
}

/**
 * Whether the outbox may go: true at once when nothing is unsent, else the person's answer in the
 * dialog. A store that cannot be read is asked about as if it held something.
 */
async function mayDiscard() {
  let unsent;
  try {
    unsent = await unsentEntries(undefined, client ? [client] : []);
  } catch {
    unsent = null;
  }
  if (unsent && !unsent.length) return true;
  if (unsent) {
    const n = unsent.length;
    said.textContent = `${n} ${n === 1 ? 'thing you wrote has' : 'things you wrote have'} not reached the server yet. Signing out discards ${n === 1 ? 'it' : 'them'} from this browser.`;
    listed.replaceChildren(...unsent.slice(0, LISTED).map((e) => el('li', '', describe(e))));
    if (n > LISTED) listed.append(el('li', '', `and ${n - LISTED} more`));
  } else {
    said.textContent = 'This browser could not say whether everything you wrote reached the server. Signing out discards anything that did not.';
    listed.replaceChildren();
  }
  dialog.returnValue = '';
  dialog.showModal();
  await new Promise((resolve) => dialog.addEventListener('close', resolve, { once: true }));
  return dialog.returnValue === 'discard';
}

ui.signOut.addEventListener('click', () => signOut());

// Another tab signed out (its key went from localStorage, or all of the storage was cleared): this one
// follows, so it neither writes the store again nor goes on as the person.
window.addEventListener('storage', (e) => {
  if (e.storageArea !== globalThis.localStorage || (e.key !== null && e.key !== KEY_STORAGE_KEY) || e.newValue !== null) return;
  if (dialog.open) dialog.close('discard');
  else signOut({ ask: false });
});
