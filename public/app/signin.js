//! Signing in on a server with signed access (JWT_SECRET, JWKS_URL or AUTH_SECRET) when no embedding
//! app hands the page its tokens (`window.edgeChat.getToken`, docs/API.md "Tokens on the page"): the
//! server names a login page (`LOGIN_URL`, read from `GET /api/config`); the page sends the person
//! there with `?return=<this page>`, and the login page sends them back with a token in the URL
//! fragment (`#room=lobby&token=…`, which never reaches a server's logs). The page takes it out of the
//! address bar at once, keeps it for this tab (sessionStorage), and when it runs out goes the same way
//! again — a login page that still knows the person answers at once, so that is a short round trip.
//!
//! Servers without signed access never see any of this: the config is asked for only once the room
//! has refused us for want of a token, or when a token came back in the address.

import { inviteUrl } from './url.js';

const TOKEN_KEY = 'edge-chat:token';
const LOGIN_KEY = 'edge-chat:login-url'; // this server asked for a sign-in before (localStorage)
const SENT_KEY = 'edge-chat:signin-sent'; // when this tab last went to the login page (ms)

function stored(storage, key) {
  try {
    return storage.getItem(key);
  } catch {
    return null;
  }
}

function store(storage, key, value) {
  try {
    if (value === null) storage.removeItem(key);
    else storage.setItem(key, value);
  } catch {}
}

/** The claims of a JWT (not verified: only the room does that; the page reads its name and expiry). */
export function claims(token) {
  try {
    const payload = atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'));
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(payload, (c) => c.charCodeAt(0))));
  } catch {
    return {};
  }
}

/**
 * Takes a token handed back by the login page out of the address (so it is neither bookmarked,
 * shared with an invitation link nor left in the history) and keeps it for this tab. Call first.
 */
export function takeTokenFromUrl() {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get('token');
  if (!token) return;
  params.delete('token');
  const u = new URL(location.href);
  u.hash = params.toString();
  history.replaceState(null, '', u.href);
  store(sessionStorage, TOKEN_KEY, token);
}

/** The token of this tab while it has at least a second to run, else null. */
export function currentToken() {
  const token = stored(sessionStorage, TOKEN_KEY);
  if (!token) return null;
  const { exp } = claims(token);
  return typeof exp !== 'number' || exp * 1000 > Date.now() + 1000 ? token : null;
}

/** The name the token gives (the room shows that one, whatever the form says). */
export function tokenName(token) {
  const c = claims(token);
  return typeof c.name === 'string' && c.name ? c.name : typeof c.sub === 'string' ? c.sub : null;
}

/** Whether this server sent us to a login page before (the join form then skips the name). */
export function knownLoginUrl() {
  return stored(localStorage, LOGIN_KEY);
}

/** The server's login page (`GET /api/config` → `{"login_url": …}`), or null when it has none. */
export async function loginUrl() {
  try {
    const res = await fetch('/api/config', { headers: { accept: 'application/json' } });
    const url = res.ok ? (await res.json()).login_url : null;
    const found = typeof url === 'string' && url ? url : null;
    store(localStorage, LOGIN_KEY, found);
    return found;
  } catch {
    return knownLoginUrl();
  }
}

/** Whether this tab went to the login page a moment ago and has not been let in since (a token
 * refused at once must not send the person round in a loop). */
export function justSignedIn() {
  return Date.now() - Number(stored(sessionStorage, SENT_KEY) ?? 0) < 60_000;
}

/** The room let us in: the next refusal for want of a token is a new one. */
export function signedInOnline() {
  store(sessionStorage, SENT_KEY, null);
}

/** Sends the person to `login` to sign in, coming back to `room`. */
export function goSignIn(login, room) {
  store(sessionStorage, SENT_KEY, String(Date.now()));
  store(sessionStorage, TOKEN_KEY, null);
  const u = new URL(login, location.href);
  u.searchParams.set('return', inviteUrl(room));
  location.assign(u.href);
}

/**
 * The client's `getToken` for a tab signed in this way: the token it has on connecting; nothing
 * ahead of expiry (a renewal would mean leaving the page); once expired, the same path again.
 */
export function signedInGetToken() {
  return async ({ room, reason }) => {
    if (reason !== 'expired') return currentToken();
    const login = knownLoginUrl() ?? (await loginUrl());
    if (!login) return null; // the refusal then says so
    goSignIn(login, room);
    return new Promise(() => {}); // the page is leaving
  };
}
