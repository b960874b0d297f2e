//! Joining and leaving a room: the join form (only "is anything typed": what makes a good name or
//! room is the server's to say), one `ChatClient` per room with every part of the page listening to
//! its events, and the final refusals that send the person back to what to fix (docs/PROTOCOL.md,
//! "Connecting"); who the header says is signed in, and the signed-out page (signout.js does the rest).

import { ChatClient, cleanName } from '../sdk/edge-chat-client.js';
import { restoreDraft, setComposing } from './composer.js';
import { addNotice, onCounts, onMessage, onReset, onUpdate, renderOutbox } from './conversation.js';
import { announce, button, ui } from './dom.js';
import { renderUnread, schedule } from './list.js';
import { onModeration, renderRules } from './moderation.js';
import { forgetWho } from './reactions.js';
import { onJoin, onLeave, renderRoster, renderTyping } from './roster.js';
import { render as renderSidebar, renderTitle, startInbox } from './sidebar.js';
import { closeSearch } from './search.js';
import { currentToken, goSignIn, justSignedIn, loginUrl, signedInGetToken, signedInOnline, tokenName } from './signin.js';
import { client, items, setClient, versionsCache, versionsOpen, view } from './state.js';
import { resetThread } from './thread.js';
import { capitalised, onStatus, renderStatus, showProblem } from './status.js';
import { clearAttachments } from './uploads.js';
import { inviteUrl, roomFromUrl } from './url.js';

export const NAME_KEY = 'edge-chat:name';

export function showError(input, errorEl, message) {
  errorEl.textContent = message;
  if (message) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

/** Only "is anything typed": what makes a good name or room is the server's to say (see onRefused). */
export function validate() {
  const name = cleanName(ui.name.value);
  const room = ui.room.value.trim();
  showError(ui.name, ui.nameError, name ? '' : 'Please enter a name.');
  showError(ui.room, ui.roomError, room ? '' : 'Please enter a room, or make a new private room.');
  if (!name) ui.name.focus();
  else if (!room) ui.room.focus();
  return name && room ? { name, room } : null;
}

export function join({ name, room }) {
  // A tab signed in through the server's login page (signin.js) is whoever its token says.
  const appGetToken = globalThis.edgeChat?.getToken;
  const token = appGetToken ? null : currentToken();
  if (token) name = tokenName(token) ?? name;
  client?.stop();
  showProblem('');
  showError(ui.name, ui.nameError, '');
  showError(ui.room, ui.roomError, '');
  try {
    localStorage.setItem(NAME_KEY, name);
  } catch {}
  if (roomFromUrl() !== room) history.replaceState(null, '', inviteUrl(room));
  clearConversation();
  ui.roomName.textContent = room;
  ui.roomName.title = room;
  ui.roomTitle.hidden = false;
  ui.roomActions.hidden = false;
  ui.joinView.hidden = true;
  ui.chatView.hidden = false;
  document.title = `${room} · edge-chat`;
  restoreDraft(room);

  // An embedding app that signs its users in provides `window.edgeChat.getToken` (docs/API.md,
  // "Tokens on the page"): the client then connects with its token, renews it, and reconnects with a
  // fresh one when the room says it expired.
  // A tab that came back from the server's login page with a token uses it, and goes back there
  // when it runs out (signin.js).
  setClient(new ChatClient({ room, name, getToken: appGetToken ?? (token ? signedInGetToken() : undefined) }));
  client.addEventListener('status', onStatus);
  client.addEventListener('message', onMessage);
  client.addEventListener('update', onUpdate);
  client.addEventListener('reset', onReset);
  client.addEventListener('unread', renderUnread);
  client.addEventListener('counts', () => {
    renderUnread();
    onCounts();
  });
  client.addEventListener('reads', () => schedule());
  client.addEventListener('welcome', onWelcomeReads);
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
  renderSidebar();
  renderIdentity();
  ui.input.focus();
}

/** Empties the page of the room on screen: its messages, people, thread, search, composer and view state. */
function clearConversation() {
  ui.messages.replaceChildren();
  ui.roster.replaceChildren();
  ui.typing.textContent = '';
  items.clear();
  versionsOpen.clear();
  versionsCache.clear();
  forgetWho();
  setComposing(null);
  clearAttachments();
  closeSearch();
  resetThread();
  ui.searchInput.value = '';
  view.pickerFor = view.confirmingDelete = view.confirmingPurge = view.dividerSeq = null;
  view.deletedBy.clear();
  view.pinned = true;
  view.placed = false;
}

/** The name this browser keeps for the person (the join form's last), or null. */
function keptName() {
  try {
    return localStorage.getItem(NAME_KEY);
  } catch {
    return null;
  }
}

/**
 * The header's "signed in as" and its Sign out (signout.js): shown while this browser knows the
 * person — a room welcomed them (under the name it took), a name is kept from the join form (not one
 * the room refused: that is forgotten), or the tab signed in through the login page.
 */
export function renderIdentity() {
  const token = currentToken();
  const name = client?.you?.name ?? keptName() ?? (token ? tokenName(token) : null);
  ui.identity.hidden = !name;
  ui.identityName.textContent = name ?? '';
}

/** A welcome: signed in and online (the others' read positions in it the client takes itself). The
 * room took the name: the inbox socket opens beside the room's, for the badges of every other room
 * (sidebar.js). */
function onWelcomeReads() {
  signedInOnline();
  startInbox(client.name);
  renderIdentity();
}

export function leave() {
  client?.stop();
  resetThread();
  setClient(null);
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
  renderSidebar();
  renderTitle();
  renderStatus();
  renderIdentity();
}

/**
 * The signed-out state (signout.js, once the sockets are closed and the store emptied): no room, none
 * of the conversation left in the page, an empty join form, and the room gone from the address (a
 * private room's name is the person's too).
 */
export function signedOut() {
  client?.stop();
  setClient(null);
  clearConversation();
  showProblem('');
  showError(ui.name, ui.nameError, '');
  showError(ui.room, ui.roomError, '');
  ui.input.value = '';
  ui.roomName.textContent = '';
  ui.name.value = '';
  ui.room.value = 'lobby';
  history.replaceState(null, '', location.pathname + location.search);
  showJoinForm();
  ui.name.focus();
}

/**
 * A final refusal (close 4400/4401/4403): the client has stopped, so the page says what to change.
 * A name or room the server does not take sends the person back to that field with the server's own
 * explanation; an expired or missing sign-in asks for a reload (which signs in again); anything
 * else is said as the server said it.
 */
/**
 * The room wants a token this page does not have: with a login page on the server (`LOGIN_URL`),
 * off to sign in — at once on a first visit, with a button when a fresh token was refused too —
 * else the words and the reload of a page whose app signs people in some other way.
 */
async function signIn(room, because) {
  const login = await loginUrl();
  if (client && client.room !== room) return; // the person went elsewhere meanwhile
  if (login && !justSignedIn()) {
    showProblem('This room is for signed-in people: taking you to the sign-in page…');
    goSignIn(login, room);
    return;
  }
  if (login) {
    showProblem(
      `You signed in, but that sign-in does not open this room.${because}`,
      button('Sign in again', () => goSignIn(login, room), 'primary'),
      button('Choose another room', leave),
    );
  } else {
    showProblem(
      `Your session has expired or does not open this room, so you are not connected.${because} Sign in again to rejoin.`,
      button('Sign in again', () => location.reload(), 'primary'),
    );
  }
  ui.problem.querySelector('button').focus();
}

function onRefused(e) {
  const { code, message } = e.detail;
  const room = client.room;
  const because = message ? ` ${capitalised(message)}.` : '';
  if (code === 'bad_name') {
    try {
      localStorage.removeItem(NAME_KEY); // so a reload does not try it again
    } catch {}
    showJoinForm(); // (and the header no longer names them)
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
  } else if ((code === 'unauthorized' || code === 'token_expired') && !globalThis.edgeChat?.getToken) {
    signIn(room, because);
  } else if (code === 'unauthorized' || code === 'token_expired') {
    showProblem(
      `Your session has expired or does not open this room, so you are not connected.${because} Sign in again to rejoin.`,
      button('Sign in again', () => location.reload(), 'primary'),
    );
    ui.problem.querySelector('button').focus();
  } else if (code === 'banned') {
    document.getElementById('rules')?.setAttribute('hidden', ''); // no "muted for N min" under a ban
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
