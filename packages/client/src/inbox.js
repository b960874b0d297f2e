//! A person's inbox (docs/SDK.md, "The inbox"): one socket (`/ws/me`) for every room the person is in,
//! instead of one per room. `inbox(options)` makes an `InboxClient`; `start()` opens the socket and
//! keeps it open with the room client's promises — a heartbeat, reconnects with backoff (longer after
//! "not now"), a final stop on a refusal, a fresh token once after a 4401 — and, since the server sends
//! the whole inbox first on every connection, resuming is complete by construction: after a reconnect
//! the client compares that snapshot with what it knew and reports every entry that changed meanwhile
//! (or went), so nothing is missed.
//!
//! It keeps each room's entry (`entries()`, most recent activity first), the direct-message partners'
//! online state (`online`), the totals for a badge or a title (`totals()`: unread and mentions of the
//! rooms not muted), and does the person's inbox requests over HTTP: `leave(room)`, `mute(room, on)`,
//! `openDm(uids)` (the room of the direct message with those people), and Web Push:
//! `notify(room, setting)`, `pushState()`, `subscribePush(subscription)`, `unsubscribePush(endpoint)`.
//!
//! Events (each a ChatEvent; `on(type, fn)` passes the detail):
//!   status   {state: 'connecting'|'online'|'waiting'|'reconnecting'|'refused'|'closed', retryAt, attempt}
//!   inbox    {entries, online, you}  the whole inbox, on every connection (after the events below)
//!   entry    {entry, previous}        a room's entry was added (`previous` null) or changed
//!   removed  {room}                   a room's entry went (left, or a member no more)
//!   online   {uid, online, lastSeen}  a partner came online or went
//!   totals   {unread, mentions, rooms}  the badge's numbers changed (rooms: how many have unread)
//!   refused  {code, message, closeCode}  refused for good; the client has stopped
//!   error    {error}                  an `error` frame from the inbox (a ChatError)

import { ChatEvent } from './client.js';
import { backoff, refusalKind } from './connection.js';
import { ChatError } from './errors.js';
import { SUBPROTOCOL, identityKey } from './identity.js';

/** Most entries the server lists in a snapshot (most recent first; older ones are kept there). */
export const INBOX_LISTED = 500;

/** Makes an inbox client (not started: call `start()`). Options as `InboxClient`'s. */
export function inbox(options) {
  return new InboxClient(options);
}

/** Most recent activity first, as the server lists them (ties by room name). */
export function byActivity(a, b) {
  return b.at - a.at || (a.room < b.room ? -1 : a.room > b.room ? 1 : 0);
}

/** The badge's numbers over `entries`: unread messages and mentions of the rooms not muted, and how
 * many such rooms have unread. A muted room's mentions still count: someone called for the person. */
export function inboxTotals(entries) {
  let unread = 0;
  let mentions = 0;
  let rooms = 0;
  for (const e of entries) {
    mentions += e.mentions ?? 0;
    if (e.muted) continue;
    unread += e.unread;
    if (e.unread > 0) rooms += 1;
  }
  return { unread, mentions, rooms };
}

export class InboxClient extends EventTarget {
  /**
   * options: origin (the server; default `location.origin`); WebSocket; fetch (default the global);
   * key (an identity key; default the one in keyStorage, shared with ChatClient) and keyStorage
   * (default localStorage); name (sent with `key`, so partners see it); token / getToken({reason})
   * for a signed-in person (any room's token says who they are); heartbeatMs, pongTimeoutMs,
   * welcomeTimeoutMs, backoff {base, cap}, busyBackoff {base, cap}.
   */
  constructor(options = {}) {
    super();
    this.origin = options.origin ?? globalThis.location?.origin;
    if (!this.origin) throw new TypeError('inbox: `origin` (the server) is required outside a browser');
    this.WebSocket = options.WebSocket ?? globalThis.WebSocket;
    if (typeof this.WebSocket !== 'function') throw new TypeError('inbox: no global WebSocket here; pass one as `WebSocket`');
    this.fetch = options.fetch ?? globalThis.fetch?.bind(globalThis);
    this.keyStorage = options.keyStorage ?? globalThis.localStorage;
    this.key = options.key !== undefined ? options.key : identityKey(this.keyStorage);
    this.name = options.name ?? null;
    this.token = options.token ?? null;
    this.getToken = typeof options.getToken === 'function' ? options.getToken : null;
    this.heartbeatMs = options.heartbeatMs ?? 25_000;
    this.pongTimeoutMs = options.pongTimeoutMs ?? 10_000;
    this.welcomeTimeoutMs = options.welcomeTimeoutMs ?? 10_000;
    this.backoffOptions = options.backoff ?? {};
    this.busyBackoffOptions = options.busyBackoff ?? { base: 4000, cap: 60_000 };
    this.state = 'closed';
    this.stopped = true;
    this.ws = null;
    this.you = null; // {uid, name} once the first snapshot came
    this.rooms = new Map(); // room → entry
    this.online = new Map(); // uid → {uid, online, lastSeen}
    this.synced = false; // a snapshot came on the current socket
    this.attempt = 0;
    this.retryAt = null;
    this.said = null; // an error frame before the snapshot: a refusal's reason
    this.tokenRetried = false;
    this.timers = {};
    this.shownTotals = null;
  }

  emit(type, detail) {
    this.dispatchEvent(new ChatEvent(type, detail));
  }

  /** Listens to one event type; the listener gets the event's `detail`. Returns the unsubscribe. */
  on(type, listener) {
    const handler = (e) => listener(e.detail);
    this.addEventListener(type, handler);
    return () => this.removeEventListener(type, handler);
  }

  /** Every entry, most recent activity first. */
  entries() {
    return [...this.rooms.values()].sort(byActivity);
  }

  /** The entry of `room`, if the person has one. */
  entry(room) {
    return this.rooms.get(room) ?? null;
  }

  /** The badge's numbers (see `inboxTotals`). */
  totals() {
    return inboxTotals(this.rooms.values());
  }

  setState(state) {
    this.state = state;
    this.emit('status', { state, retryAt: this.retryAt, attempt: this.attempt });
  }

  /** Opens the inbox socket and keeps it open until stop() or a final refusal. */
  start() {
    this.stopped = false;
    if (this.getToken && !this.token) return this.fetchToken('connect').then(() => this.stopped || this.connect());
    this.connect();
  }

  stop() {
    this.stopped = true;
    this.clearTimers();
    if (this.ws) {
      const ws = this.ws;
      this.detach();
      ws.close(1000, 'bye');
    }
    this.setState('closed');
  }

  async fetchToken(reason) {
    try {
      const token = await this.getToken({ room: null, name: this.name, reason });
      if (typeof token === 'string' && token) this.token = token;
    } catch {}
  }

  clearTimers() {
    for (const t of Object.values(this.timers)) clearTimeout(t);
    this.timers = {};
  }

  url() {
    const u = new URL('/ws/me', this.origin);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    if (this.token) u.searchParams.set('token', this.token);
    else if (this.name) u.searchParams.set('name', this.name);
    return u.href;
  }

  connect() {
    clearTimeout(this.timers.retry);
    this.retryAt = null;
    this.said = null;
    this.synced = false;
    this.setState(this.you === null && this.attempt === 0 ? 'connecting' : 'reconnecting');
    let ws;
    try {
      ws = new this.WebSocket(this.url(), this.key ? [SUBPROTOCOL, `key.${this.key}`] : undefined);
    } catch {
      this.dropped();
      return;
    }
    this.ws = ws;
    ws.onmessage = (ev) => this.onFrame(ev.data);
    ws.onclose = (ev) => this.onClose(ev);
    ws.onerror = () => {};
    this.timers.welcome = setTimeout(() => this.kill(), this.welcomeTimeoutMs);
  }

  detach() {
    const ws = this.ws;
    if (!ws) return;
    ws.onmessage = ws.onclose = ws.onerror = null;
    this.ws = null;
  }

  kill() {
    const ws = this.ws;
    this.detach();
    try {
      ws?.close(4000, 'no answer');
    } catch {}
    this.dropped();
  }

  onClose(ev) {
    const closeCode = ev?.code ?? 1006;
    const kind = refusalKind(closeCode);
    if (!kind) return this.dropped();
    const reason = { code: this.said?.code ?? (ev.reason || `closed_${closeCode}`), message: this.said?.message ?? '', closeCode };
    if (kind === 'busy') return this.dropped(true);
    if (closeCode === 4401 && this.getToken && !this.tokenRetried) {
      this.tokenRetried = true;
      this.detach();
      this.clearTimers();
      this.setState('reconnecting');
      return this.fetchToken('expired').then(() => this.stopped || this.connect());
    }
    this.detach();
    this.clearTimers();
    this.stopped = true;
    this.setState('refused');
    this.emit('refused', reason);
  }

  dropped(busy = false) {
    this.detach();
    this.clearTimers();
    if (this.stopped) return;
    const delay = backoff(this.attempt, busy ? this.busyBackoffOptions : this.backoffOptions);
    this.attempt += 1;
    this.retryAt = Date.now() + delay;
    this.timers.retry = setTimeout(() => this.connect(), delay);
    this.setState('waiting');
  }

  /** Skips the backoff wait (the browser came back online). */
  reconnectNow() {
    if (this.state === 'waiting' && !this.stopped) this.connect();
  }

  beat() {
    if (this.timers.pong || this.state !== 'online' || !this.ws) return;
    this.ws.send('ping');
    this.timers.pong = setTimeout(() => this.kill(), this.pongTimeoutMs);
  }

  onFrame(data) {
    clearTimeout(this.timers.pong);
    delete this.timers.pong;
    if (data === 'pong' || typeof data !== 'string') return;
    let f;
    try {
      f = JSON.parse(data);
    } catch {
      return;
    }
    if (f?.type === 'inbox') this.onSnapshot(f);
    else if (f?.type === 'entry' && f.entry) this.put(f.entry);
    else if (f?.type === 'removed') this.drop(f.room);
    else if (f?.type === 'online') this.seen(f);
    else if (f?.type === 'error') {
      if (!this.synced) this.said = f;
      else this.emit('error', { error: new ChatError(f.code, f.message) });
    }
  }

  /** The whole inbox: what changed since we last knew is reported as it would have been live. */
  onSnapshot(f) {
    clearTimeout(this.timers.welcome);
    this.you = { uid: f.uid, name: f.name ?? null };
    const listed = new Set(f.rooms.map((e) => e.room));
    // A snapshot lists the most recent entries only: one we knew that it leaves out is gone only if
    // it would have been listed (more recent than its oldest), else it is merely older.
    const oldest = f.rooms.length ? Math.min(...f.rooms.map((e) => e.at)) : Infinity;
    for (const [room, known] of [...this.rooms]) {
      if (!listed.has(room) && (f.rooms.length < INBOX_LISTED || known.at >= oldest)) this.drop(room);
    }
    for (const e of f.rooms) this.put(e);
    for (const s of f.online ?? []) this.seen(s);
    this.synced = true;
    this.attempt = 0;
    this.tokenRetried = false;
    this.setState('online');
    this.timers.heartbeat = setInterval(() => this.beat(), this.heartbeatMs);
    this.emit('inbox', { entries: this.entries(), online: [...this.online.values()], you: this.you });
  }

  put(entry) {
    const previous = this.rooms.get(entry.room) ?? null;
    if (previous && JSON.stringify(previous) === JSON.stringify(entry)) return;
    this.rooms.set(entry.room, entry);
    this.emit('entry', { entry, previous });
    this.tellTotals();
  }

  drop(room) {
    if (!this.rooms.delete(room)) return;
    this.emit('removed', { room });
    this.tellTotals();
  }

  seen(s) {
    const next = { uid: s.uid, online: !!s.online, lastSeen: s.last_seen ?? null };
    const known = this.online.get(s.uid);
    if (known && known.online === next.online && known.lastSeen === next.lastSeen) return;
    this.online.set(s.uid, next);
    this.emit('online', next);
  }

  tellTotals() {
    const t = this.totals();
    const s = this.shownTotals;
    if (s && s.unread === t.unread && s.mentions === t.mentions && s.rooms === t.rooms) return;
    this.shownTotals = t;
    this.emit('totals', t);
  }

  /** An HTTP request of the person's own (`/api/me…`, `/api/dms`), with their credentials. */
  async call(method, path, body, retried = false) {
    // With an app's getToken, a call made before the socket asked for a token (or after it ran out)
    // asks for one itself: without it the call would go out with no credentials, or as the key's
    // person instead of the token's.
    if (this.getToken && !this.token) await this.fetchToken('call');
    const u = new URL(path, this.origin);
    const headers = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    else if (this.key) u.searchParams.set('key', this.key);
    if (!this.token && this.name) u.searchParams.set('name', this.name);
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await this.fetch(u.href, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const answer = await res.json().catch(() => ({}));
    if (res.status === 401 && this.getToken && this.token && !retried) {
      this.token = null;
      return this.call(method, path, body, true);
    }
    if (!res.ok) throw new ChatError(answer?.error?.code ?? `http_${res.status}`, answer?.error?.message ?? `HTTP ${res.status}`);
    return answer;
  }

  /** Leaves `room`'s entry: it goes from the inbox, and the room stops telling it. */
  async leave(room) {
    await this.call('DELETE', `/api/me/rooms/${encodeURIComponent(room)}`);
    this.drop(room);
  }

  /** Mutes (or unmutes) `room`: its unread no longer counts in `totals()` (its mentions still do). */
  async mute(room, muted = true) {
    const entry = await this.call('PATCH', `/api/me/rooms/${encodeURIComponent(room)}`, { muted });
    this.put(entry);
    return entry;
  }

  /** The direct message with `uids` (one uid or a list of up to 8): resolves with its room's name. */
  async openDm(uids) {
    const answer = await this.call('POST', '/api/dms', { with: uids });
    return answer.room;
  }

  /** The inbox over HTTP (`GET /api/me`), without a socket. */
  read() {
    return this.call('GET', '/api/me');
  }

  /** How a room notifies the person when they are away: 'all' | 'mentions' | 'none'. */
  notify(room, setting) {
    return this.call('PATCH', `/api/me/rooms/${encodeURIComponent(room)}`, { notify: setting });
  }

  /** Web Push (docs/SDK.md, "Notifications"): `{enabled, devices, notify: {room: setting}}`. */
  pushState() {
    return this.call('GET', '/api/me/push');
  }

  /** Keeps a browser's `PushSubscription` (or its JSON) so the person is told when away. */
  subscribePush(subscription) {
    const json = typeof subscription?.toJSON === 'function' ? subscription.toJSON() : subscription;
    return this.call('POST', '/api/me/push', json);
  }

  /** Forgets the subscription of `endpoint`. */
  unsubscribePush(endpoint) {
    return this.call('DELETE', '/api/me/push', { endpoint });
  }
}
