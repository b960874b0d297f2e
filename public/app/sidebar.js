//! The person's rooms and direct messages, across rooms: a sidebar drawn from one inbox socket (the
//! SDK's `inbox()`), most recent first, each with its unread and mention badges and a preview of the
//! last message; a direct message shows its people and whether they are online. The page keeps this
//! one inbox socket and a room socket only for the room on screen (session.js). The window title
//! counts the unread messages of the rooms not muted. On a phone the sidebar folds away behind the
//! "Rooms" button in the header.
//!
//! Notifications when away (Web Push): "Notify me" asks the browser's permission only on that click,
//! subscribes this device with the server's VAPID key, and says so — or says that the browser
//! refused. Each room's entry has a button that cycles its setting (all, mentions, none). Signing out
//! (signout.js) takes the subscription back, from the server and from the browser.
//!
//! Starting a direct message (from a member's name in the roster, roster.js) asks the inbox for the
//! room of the two people (`openDm`) and goes there like any link to a room.

import { inbox } from '../sdk/edge-chat-client.js';
import { announce, button, el, ui } from './dom.js';
import { currentToken } from './signin.js';
import { client } from './state.js';
import { inviteUrl } from './url.js';

const $ = (id) => document.getElementById(id);
/** Each room's notify setting, as the server keeps it (rooms at their default are absent). */
let notifySettings = {};

const side = {
  nav: $('sidebar'),
  rooms: $('inbox-rooms'),
  dms: $('inbox-dms'),
  empty: $('inbox-empty'),
  toggle: $('sidebar-toggle'),
  toggleCount: $('sidebar-count'),
  push: $('push-box'),
  pushOn: $('push-on'),
  pushState: $('push-state'),
};

/** The inbox client, once started. */
let box = null;
let boxName = null;

/**
 * Opens the inbox socket for the person (their key, or the token this tab signed in with), sending
 * `name` so their partners see it; again only when the name changed.
 */
export function startInbox(name) {
  if (box && boxName === name) return;
  box?.stop();
  boxName = name;
  const appGetToken = globalThis.edgeChat?.getToken;
  const token = appGetToken ? null : currentToken();
  box = inbox({
    name,
    token,
    // An embedding app's token for the room on screen says who the person is as well as any would.
    getToken: appGetToken ? (r) => appGetToken({ ...r, room: client?.room ?? null }) : undefined,
  });
  box.on('inbox', render);
  box.on('entry', render);
  box.on('removed', render);
  box.on('online', render);
  box.on('totals', renderTitle);
  box.on('refused', () => {
    side.nav.hidden = true;
    side.toggle.hidden = true;
  });
  box.start();
  showPush();
}

/** Shows "Notify me" where the server has push on and the browser can take it. */
async function showPush() {
  const can = 'serviceWorker' in navigator && 'PushManager' in window && window.isSecureContext;
  let state;
  try {
    state = await box.pushState();
  } catch {
    return;
  }
  notifySettings = state.notify ?? {};
  render();
  if (!state.enabled || !can) return;
  side.push.hidden = false;
  if (Notification.permission === 'denied') {
    side.pushState.textContent = 'Notifications are blocked for this site in your browser’s settings.';
  } else if (state.devices > 0 && Notification.permission === 'granted') {
    side.pushOn.hidden = true;
    side.pushState.textContent = 'Notifications are on when you are away.';
  }
}

/** "Notify me": the permission (asked only now, after the click), then this device's subscription. */
async function enablePush() {
  side.pushOn.disabled = true;
  try {
    const permission = await Notification.requestPermission();
    if (permission !== 'granted') {
      side.pushState.textContent = 'Your browser refused notifications; you can allow them in its site settings.';
      return;
    }
    const res = await fetch('/api/push/key');
    const { key } = await res.json();
    const registration = await navigator.serviceWorker.ready;
    const subscription = await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: key,
    });
    await box.subscribePush(subscription);
    side.pushOn.hidden = true;
    side.pushState.textContent = 'Notifications are on when you are away.';
  } catch (e) {
    side.pushState.textContent = `Could not turn notifications on: ${e.message ?? e}`;
  } finally {
    side.pushOn.disabled = false;
  }
}
side.pushOn.addEventListener('click', enablePush);

const NEXT_SETTING = { all: 'mentions', mentions: 'none', none: 'all' };

/** The entry's setting: its own, or the default (everything in a direct message, else mentions). */
function settingOf(entry) {
  return notifySettings[entry.room] ?? (entry.dm ? 'all' : 'mentions');
}

/**
 * Sign-out: closes the inbox socket and empties the sidebar, and this device stops being told of the
 * person — its push subscription goes from the server (asked with the person's credentials, which the
 * inbox client still holds) and from the browser, and the notifications shown are closed. Resolves once
 * that is done (or could not be: a browser without push, a server that did not answer).
 */
export function stopInbox() {
  const leaving = box;
  box?.stop();
  box = null;
  boxName = null;
  notifySettings = {};
  side.rooms.replaceChildren();
  side.dms.replaceChildren();
  side.nav.hidden = true;
  side.toggle.hidden = true;
  side.push.hidden = true;
  side.pushOn.hidden = false;
  side.pushState.textContent = '';
  ui.main.classList.remove('sidebar-open');
  side.toggle.setAttribute('aria-expanded', 'false');
  renderTitle();
  return forgetPush(leaving);
}

/** This device's Web Push subscription and notifications gone (see stopInbox). */
async function forgetPush(inbox) {
  try {
    const registration = await navigator.serviceWorker?.getRegistration();
    if (!registration) return;
    for (const shown of await registration.getNotifications()) shown.close();
    const subscription = await registration.pushManager?.getSubscription();
    if (!subscription) return;
    // The server first: once the browser let go, the endpoint is no longer ours to name.
    await inbox?.unsubscribePush(subscription.endpoint).catch(() => {});
    await subscription.unsubscribe();
  } catch {}
}

/** The label of an entry: its room, or a direct message's people. */
export function entryLabel(entry) {
  if (!entry?.dm) return entry?.room ?? '';
  const names = entry.dm.map((p) => p.name ?? 'someone');
  return names.length ? names.join(', ') : 'just you';
}

/** Whether `room` is one of the person's direct messages (as far as the inbox knows). */
export function isDm(room) {
  return !!box?.entry(room)?.dm;
}

/** The direct message with `uid`: opened, then gone to like any room. */
export async function openDm(uid, name) {
  if (!box) return;
  try {
    const room = await box.openDm(uid);
    location.hash = new URLSearchParams({ room }).toString();
  } catch (e) {
    announce(`Could not start a direct message with ${name ?? 'them'}: ${e.message}`);
  }
}

/** The window title: the room on screen, after the unread count of every room not muted. */
export function renderTitle() {
  const totals = box?.totals() ?? { unread: 0, mentions: 0 };
  const room = client?.room;
  const where = room ? `${box?.entry(room)?.dm ? entryLabel(box.entry(room)) : room} · edge-chat` : 'edge-chat';
  const count = totals.unread + (totals.mentions > 0 ? ` · @${totals.mentions}` : '');
  document.title = totals.unread > 0 || totals.mentions > 0 ? `(${count}) ${where}` : where;
  side.toggleCount.textContent = totals.unread > 0 ? String(totals.unread) : '';
}

function presence(entry) {
  const uid = entry.dm?.[0]?.uid;
  const seen = uid ? box.online.get(uid) : null;
  const dot = el('span', `presence ${seen?.online ? 'on' : 'off'}`);
  dot.setAttribute('aria-hidden', 'true');
  return { dot, words: seen?.online ? 'online' : seen?.lastSeen ? `last seen ${new Date(seen.lastSeen).toLocaleString()}` : 'offline' };
}

function item(entry) {
  const current = entry.room === client?.room;
  const li = el('li', ['entry', entry.unread > 0 && !entry.muted ? 'unread' : '', entry.muted ? 'muted' : '', current ? 'current' : ''].filter(Boolean).join(' '));
  li.dataset.room = entry.room;
  const a = el('a', 'go');
  a.href = inviteUrl(entry.room);
  if (current) a.setAttribute('aria-current', 'page');
  a.addEventListener('click', () => ui.main.classList.remove('sidebar-open'));
  const head = el('span', 'entry-head');
  // What the badges and the dot show, said in words for a screen reader (they are hidden from it).
  const spoken = [];
  if (entry.dm) {
    const { dot, words } = presence(entry);
    head.append(dot);
    spoken.push(words);
  }
  head.append(el('bdi', 'entry-name', entryLabel(entry)));
  const badge = (cls, text) => {
    const b = el('span', cls, text);
    b.setAttribute('aria-hidden', 'true');
    return b;
  };
  if (entry.mentions > 0) {
    head.append(badge('badge mention', `@${entry.mentions}`));
    spoken.push(`${entry.mentions} mentioning you`);
  }
  if (entry.unread > 0 && !entry.muted) {
    head.append(badge('badge', entry.unread > 99 ? '99+' : String(entry.unread)));
    spoken.push(`${entry.unread} unread`);
  }
  if (entry.muted) spoken.push('muted');
  if (spoken.length) head.append(el('span', 'visually-hidden', `, ${spoken.join(', ')}`));
  const preview = el('span', 'preview');
  if (entry.last) preview.append(el('bdi', 'preview-who', entry.last.name), `: ${entry.last.text}`);
  else preview.textContent = 'No messages yet';
  a.append(head, preview);
  const mute = button(entry.muted ? 'Unmute' : 'Mute', () => box.mute(entry.room, !entry.muted).catch(() => {}), 'link entry-action');
  mute.setAttribute('aria-label', `${entry.muted ? 'Unmute' : 'Mute'} ${entryLabel(entry)}`);
  const setting = settingOf(entry);
  const notify = button(`Notify: ${setting}`, async () => {
    const next = NEXT_SETTING[settingOf(entry)];
    try {
      await box.notify(entry.room, next);
      notifySettings = { ...notifySettings, [entry.room]: next };
      render();
      announce(`${entryLabel(entry)}: notify ${next}`);
    } catch {}
  }, 'link entry-action');
  notify.setAttribute('aria-label', `Notify: ${setting}, ${entryLabel(entry)}`);
  const leave = button('Leave', () => box.leave(entry.room).catch(() => {}), 'link entry-action');
  leave.setAttribute('aria-label', `Leave ${entryLabel(entry)}`);
  li.append(a, el('span', 'entry-actions'));
  li.lastChild.append(mute, notify, leave);
  return li;
}

/** Draws both lists (and the room's title when it is a direct message). */
export function render() {
  if (!box) return;
  const entries = box.entries();
  side.nav.hidden = false;
  side.toggle.hidden = false;
  side.rooms.replaceChildren(...entries.filter((e) => !e.dm).map(item));
  side.dms.replaceChildren(...entries.filter((e) => e.dm).map(item));
  side.empty.hidden = entries.length > 0;
  const here = client && box.entry(client.room);
  if (here?.dm) ui.roomName.textContent = entryLabel(here);
  renderTitle();
}

side.toggle.addEventListener('click', () => {
  const open = ui.main.classList.toggle('sidebar-open');
  side.toggle.setAttribute('aria-expanded', String(open));
  if (open) side.nav.querySelector('a')?.focus();
});
