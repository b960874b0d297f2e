//! The client of the SDK (docs/SDK.md): one `ChatClient` per (room, name) speaks the protocol
//! (docs/PROTOCOL.md) over a WebSocket and keeps the promises an app makes — reconnect with backoff,
//! resume with `after=<last seq>&since=<last rev>`, an outbox of unacked messages retried with the
//! same `id`, a heartbeat, the roster and "is typing" — and keeps every message it knows as a living
//! object: replies, edits, deletions and reactions, read marks, older pages. It never touches the
//! DOM: it reports what happened as events on an `EventTarget` (the demo page, public/app.js, draws
//! them), and every request is a promise that settles on the room's answer to its `id` — the `ack`,
//! the answer frame, or an `error` frame naming the id (a `ChatError`). The WebSocket and the
//! storages are passed in, and time is only `Date.now`/`setTimeout`, so it runs in browsers, Node,
//! Deno and Workers alike, and tests drive it with a fake socket and a fake clock. Its types, for
//! every frame, event and option, are in ../types/index.d.ts.
//!
//! Two frames carry no `id` and are never answered to the sender: `read` (a read mark) and `typing`.
//! So `read()` and `typing()` return nothing to wait for; the room refuses neither for a client that
//! follows its rules (an anonymous client sends no read marks; typing over the rate limit is dropped
//! silently). An `error` frame that names no request we are waiting for is an `error` event.
//!
//! It copies none of the server's rules. What a valid room or name is, the server says by refusing
//! the socket (an `error` frame, then close 4000 + HTTP status); the sizes and the rate limit it
//! announces in `welcome.limits`, and the client paces and pre-checks by those.
//!
//! Identity: a random key made once per browser (`identityKey`, kept in localStorage) goes with
//! every connect as `key=`; the room answers with our stable `uid`, which is what makes a message
//! "ours" (to edit, delete) and keeps our read position and reactions across visits.
//!
//! Tokens: an app that signs its users in passes `getToken({room, name, reason})` (async, resolves to a
//! token string — a JWT or a `v1.` token — or null). The client connects with `token=` it, renews it on
//! the live socket (`{"type":"auth"}`) a minute before `welcome.expires`, and when the room closes the
//! socket with 4401 (`token_expired`, `unauthorized`) it asks for a fresh token once and reconnects,
//! resuming as after any drop. Without `getToken` a 4401 is a final refusal, as before.
//!
//! The room revision (`rev`) orders every change. The client remembers the newest it has seen — from
//! the welcome, acks, messages, `message_updated` and `reaction` frames; never from an older page,
//! whose messages say nothing about what else changed — and resumes with `since=` it, so the welcome's
//! `changes` bring what was edited, deleted or reacted to while we were away.
//!
//! Events (each a ChatEvent, an `Event` with a `detail` as listed; `on(type, fn)` passes the detail):
//!   status   {state: 'connecting'|'online'|'waiting'|'reconnecting'|'refused'|'closed', retryAt,
//!             attempt, reason}  `reason` ({code, message, closeCode}) while waiting because the
//!             server said "not now" (room_full, rate_limited), else null
//!   refused  {code, message, closeCode}  the server refused us for good (bad_name, bad_room,
//!             unauthorized, …): the client has stopped and will not reconnect by itself
//!   message  {message, own, live, older}  a stored message (it has a `seq`), each seq at most once,
//!                             in seq order except for late acks and older pages (the UI places
//!                             them by seq); `live` is false for history delivered by a welcome or a
//!                             page, `older` true for a page loaded by loadOlder()
//!   update   {message}        a message we know changed: edited, deleted, reacted to, or our own
//!                             reactions on it changed (`message` is its whole current state)
//!   reset    {}               what we knew was dropped (a resume too far behind, see onWelcome);
//!                             messages follow again
//!   older    {count, hasOlder} an older page arrived (its messages came as `message` events first)
//!   action   {action, ok, code, message}  an edit/delete/react was acked (ok) or refused
//!   unread   {count, readSeq} how many others' messages after our read position
//!   reads    {reads}          the read marks of the others heard so far ([{user, seq}])
//!   outbox   {entries}        the unacked messages changed (entry: {key, id, text, createdAt,
//!                             replyTo?, error?})
//!   roster   {members, you, online, partial}  the open connections we know of; `online` counts
//!                             them all. Above the room's presence threshold (`welcome.online`) the
//!                             list is `partial`: the first page, those named by `presence` frames,
//!                             and the pages loaded by loadMembers()
//!   join / leave {user}       somebody else came or went (only live changes, not the welcome)
//!   typing   {names}          who is typing right now (expires by itself)
//!   notice   {text}           something the user should know (history truncated, …)
//!   welcome  {welcome}        each welcome frame as the room sent it (after the state above is set)
//!   message_updated {message} the room's `message_updated` frame for a message (edited, deleted)
//!   reaction {reaction}       the room's `reaction` frame (who, which emoji, on or off, counts)
//!   presence {online, joins, leaves}  a `presence` frame (rooms above the presence threshold)
//!   moderation {record, mine} a moderator acted; `mine` when it was about us
//!   rules    {mutedUntil, slowMode, moderator}  what moderation means for us now
//!   error    {error}          an `error` frame answering no request we wait for (a ChatError)
//!
//! Search (`search(q)`) asks the room over the socket and resolves with its answer; a result's
//! `snippet` is HTML with only `<mark>` in it, which `snippetParts` turns into text pieces, so the
//! page draws it with text nodes (the CSP forbids HTML sinks).

import { ChatError } from './errors.js';

/**
 * The limits assumed until a `welcome` announces the room's own (`welcome.limits`, which then
 * replace these). They only pace the outbox and pre-check sizes, never decide what is valid:
 * `text` and `frame_bytes` are protocol v1's fixed sizes, the bucket is half of v1's default
 * (RATE_BURST 20, RATE_PER_SEC 10), so a server configured tighter is rarely hit. A server that
 * announces nothing (older than `limits`) is paced by these too.
 */
export const DEFAULT_LIMITS = Object.freeze({
  text: 4000,
  name: 32,
  id: 64,
  frame_bytes: 65_536,
  burst: 10,
  per_sec: 5,
  page: 1000,
  query: 200,
  results: 50,
  presence: 100,
  roster_page: 500,
  silent_after: 120,
  versions: 100,
});
/** How long "bob is typing…" stays after bob's last typing frame. */
export const TYPING_SHOWN_MS = 4000;
/** The least time between two typing frames we send (each one costs a rate-limit token). */
export const TYPING_EVERY_MS = 2500;

/**
 * What a close code of a refused socket (4000 + HTTP status, docs/PROTOCOL.md) asks of us:
 * 'final' — the same request is refused again (bad_name/bad_room/bad_after 4400, unauthorized 4401,
 *   banned/forbidden 4403, any other 44xx): stop and let the person fix it;
 * 'busy' — the server is full or we opened too many sockets (room_full 4503, rate_limited 4429):
 *   try again, later than after a network failure;
 * null — anything else (a network failure, a restart, 4500): the usual reconnect.
 */
export function refusalKind(closeCode) {
  if (closeCode === 4429 || closeCode === 4503) return 'busy';
  if (closeCode >= 4400 && closeCode < 4500) return 'final';
  return null;
}

/** Length in Unicode scalar values (what the server's limits count), not UTF-16 units. */
export function charCount(text) {
  let n = 0;
  for (const _ of text) n += 1;
  return n;
}

/**
 * The name as it will be shown and sent: trimmed, nothing more. Whether the server accepts it is
 * its word (a `bad_name` refusal), not ours; null only for an empty field (nothing to send at all).
 */
export function cleanName(raw) {
  return String(raw ?? '').trim() || null;
}

function hex(bytes) {
  const buf = new Uint8Array(bytes);
  crypto.getRandomValues(buf);
  return Array.from(buf, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A room name nobody can guess: 128 bits from `crypto.getRandomValues`, as 32 hex digits. */
export function privateRoomName() {
  return hex(16);
}

/** A fresh idempotency key for one message (the server dedupes on (name, id)). */
export function messageId() {
  return `c-${Date.now().toString(36)}-${hex(6)}`;
}

/** Where the identity key lives (localStorage: it is this browser's, in every tab and room). */
export const KEY_STORAGE_KEY = 'edge-chat:key';
/** The least time between two read marks we send (the room announces at most one a second anyway). */
export const READ_EVERY_MS = 1000;
/** Messages per older page (the room allows 1..100). */
export const HISTORY_PAGE = 50;

/** A fresh identity key: 192 bits from `crypto.getRandomValues`, as 32 characters of base64url. */
export function newKey() {
  const buf = new Uint8Array(24);
  crypto.getRandomValues(buf);
  return btoa(String.fromCharCode(...buf)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * This browser's identity key: the one in `storage`, or a new one stored there. The server derives
 * our public `uid` from it and never sends it back, so it stays a secret of this browser. Without
 * working storage the key lives as long as the page (we are then a new author after a reload).
 */
export function identityKey(storage, { renew = false } = {}) {
  try {
    const kept = storage?.getItem(KEY_STORAGE_KEY);
    if (!renew && typeof kept === 'string' && kept) return kept;
  } catch {}
  const key = newKey();
  try {
    storage?.setItem(KEY_STORAGE_KEY, key);
  } catch {}
  return key;
}

/**
 * A message as the living-messages protocol describes it, with the fields an older server does not
 * send filled in (no reply, never edited, version 1, not deleted, no reactions, rev 0).
 */
export function living(m) {
  return { reply_to: null, edited_at: null, version: 1, deleted: false, rev: 0, ...m, reactions: { ...(m.reactions ?? {}) } };
}

/** Reconnect delay: exponential from `base`, capped, with "equal jitter" (half fixed, half random),
 * so a room full of clients dropped by one restart does not come back in lockstep. */
export function backoff(attempt, { base = 500, cap = 10_000, random = Math.random } = {}) {
  const d = Math.min(cap, base * 2 ** attempt);
  return Math.round(d / 2 + random() * (d / 2));
}

/** `welcome.limits` over the defaults: each known limit the server announced as a positive number. */
export function announcedLimits(announced) {
  const limits = { ...DEFAULT_LIMITS };
  for (const k of Object.keys(limits)) {
    const v = announced?.[k];
    if (typeof v === 'number' && Number.isFinite(v) && v > 0) limits[k] = v;
  }
  return limits;
}

/**
 * The event every `ChatClient` event is: an `Event` with a `detail`. Not `CustomEvent`, which not
 * every runtime has (Node gained it in 19, and Workers follow the web platform only in part); `Event`
 * and `EventTarget` are everywhere.
 */
export class ChatEvent extends Event {
  constructor(type, detail) {
    super(type);
    this.detail = detail;
  }
}

/** Marks a promise handled, so a caller who does not wait for an answer gets no unhandled rejection
 * (Node ends the process on one); a caller who awaits it still gets the error. */
function quiet(promise) {
  promise.catch(() => {});
  return promise;
}

export class ChatClient extends EventTarget {
  /**
   * options: room, name (trimmed; the server judges them); origin (the page's, default
   * `location.origin`); storage (default sessionStorage: the outbox survives a reload of this tab);
   * keyStorage (default localStorage: the identity key and our reactions, shared by every tab); key
   * (an identity key to use instead of keyStorage's; null connects anonymously); WebSocket;
   * heartbeatMs / pongTimeoutMs / welcomeTimeoutMs; backoff options {base, cap} after a dropped
   * connection, busyBackoff {base, cap} after a room_full / rate_limited refusal; token (a signed
   * token to connect with) and getToken({room, name, reason}) → Promise<string|null>, asked for a
   * token before the first connect (reason 'connect', when no token was given), ahead of expiry
   * ('renew') and after a 4401 close ('expired'); renewMarginMs (default 60 s) how long before
   * `welcome.expires` to renew.
   */
  constructor(options) {
    super();
    this.room = options.room;
    this.name = options.name;
    this.origin = options.origin ?? globalThis.location?.origin;
    // Outside a page there is no location to take the server from, and Node 20 has no global
    // WebSocket: say so now rather than fail on the first connect.
    if (!this.origin) throw new TypeError('ChatClient: `origin` (the server, e.g. "https://chat.example.com") is required outside a browser');
    this.storage = options.storage ?? globalThis.sessionStorage;
    this.keyStorage = options.keyStorage ?? globalThis.localStorage;
    this.WebSocket = options.WebSocket ?? globalThis.WebSocket;
    if (typeof this.WebSocket !== 'function') throw new TypeError('ChatClient: no global WebSocket here; pass one as `WebSocket` (e.g. the `ws` package in Node 20)');
    this.heartbeatMs = options.heartbeatMs ?? 25_000;
    this.pongTimeoutMs = options.pongTimeoutMs ?? 10_000;
    this.welcomeTimeoutMs = options.welcomeTimeoutMs ?? 10_000;
    this.backoffOptions = options.backoff ?? {};
    this.busyBackoffOptions = options.busyBackoff ?? { base: 4000, cap: 60_000 };
    this.key = options.key !== undefined ? options.key : identityKey(this.keyStorage);
    this.token = options.token ?? null;
    this.getToken = typeof options.getToken === 'function' ? options.getToken : null;
    this.renewMarginMs = options.renewMarginMs ?? 60_000;
    this.tokenRetried = false; // a 4401 was answered with a fresh token; reset by the next welcome
    this.role = null; // welcome.role: what our token made us in this room

    this.state = 'closed';
    this.ws = null;
    this.you = null;
    this.limits = { ...DEFAULT_LIMITS }; // the room's own once a welcome announced them
    this.members = new Map(); // connection id → user
    this.online = 0; // how many connections the room has (the roster may list only some: `partial`)
    this.partial = false; // above the presence threshold: `members` is not the whole roster
    this.membersRequest = null; // the promise of the roster page asked for (one at a time)
    this.membersCursor = null; // the `after` of the next roster page (ids sort as the room pages them)
    this.batch = options.batch ?? true; // batch=1: one frame per room turn instead of one per message
    this.lastSeq = null; // highest seq seen; null until the first welcome (then `after=` is sent)
    this.rev = null; // newest room revision seen (then `since=` is sent); null from a server without revs
    this.seen = new Set(); // seqs already reported, so history and live frames never double
    this.messages = new Map(); // seq → the message's current state, for every message reported
    this.outbox = this.load(); // unacked messages, oldest first
    this.actions = []; // edits, deletions and reactions sent but not yet acked (resent after a reconnect)
    this.mine = this.loadReactions(); // seq → Set of the emoji we reacted with
    this.readSeq = null; // our read position (null: anonymous, or no welcome yet)
    this.sentReadSeq = 0; // the read position the room has from us
    this.lastReadSentAt = -Infinity;
    this.unreadBase = null; // {readSeq, count, upto}: what the welcome said about unread messages
    this.shownUnread = null;
    this.reads = new Map(); // uid → {user, seq}: the others' read marks heard so far
    this.hasOlder = false; // whether older messages than the oldest we have may exist
    this.olderRequest = null; // the promise of the older page asked for (one at a time)
    this.typers = new Map(); // connection id → {name, until}
    this.sends = new Map(); // outbox entry key → {resolve, reject} of the send() waiting for its ack
    this.pending = new Map(); // request id → {resolve, reject, kind}: actions and queries waiting
    this.attempt = 0;
    this.retryAt = null;
    this.reason = null; // why we are waiting, when the server said "not now" (room_full, rate_limited)
    this.said = null; // the error frame of the current socket before its welcome: a refusal's reason
    this.keyRenewed = false;
    this.lastTypingSent = -Infinity;
    this.timers = {};
  }

  get storageKey() {
    return `edge-chat:outbox:${this.room}:${this.name}`;
  }

  get reactionsKey() {
    return `edge-chat:reactions:${this.room}`;
  }

  load() {
    try {
      const list = JSON.parse(this.storage?.getItem(this.storageKey) ?? '[]');
      if (!Array.isArray(list)) return [];
      return list.filter((e) => e && typeof e.id === 'string' && typeof e.text === 'string').map((e) => ({ key: e.id, ...e }));
    } catch {
      return [];
    }
  }

  save() {
    try {
      if (this.outbox.length) this.storage?.setItem(this.storageKey, JSON.stringify(this.outbox));
      else this.storage?.removeItem(this.storageKey);
    } catch {
      // Storage full or disabled: the outbox still lives in memory for this page.
    }
  }

  /**
   * Our reactions, by seq. The room sends only counts (who reacted is not part of a message), so
   * which of them are ours we remember ourselves, next to the key that makes them ours; the
   * `reaction` frames about our uid (from any of our tabs) and our acks keep it current.
   */
  loadReactions() {
    try {
      const kept = JSON.parse(this.keyStorage?.getItem(this.reactionsKey) ?? '{}');
      return new Map(Object.entries(kept ?? {}).filter(([, v]) => Array.isArray(v)).map(([seq, v]) => [Number(seq), new Set(v)]));
    } catch {
      return new Map();
    }
  }

  saveReactions() {
    try {
      // The newest 500 messages we reacted to are plenty to draw any page we show.
      const seqs = [...this.mine.keys()].sort((a, b) => b - a).slice(0, 500);
      this.keyStorage?.setItem(this.reactionsKey, JSON.stringify(Object.fromEntries(seqs.map((s) => [s, [...this.mine.get(s)]]))));
    } catch {}
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

  /**
   * Resolves with the welcome once the client is online (at once if it is), rejects with a ChatError
   * if the room refuses it for good or the client is stopped first.
   */
  ready() {
    if (this.state === 'online' && this.welcome) return Promise.resolve(this.welcome);
    return quiet(
      new Promise((resolve, reject) => {
        const offWelcome = this.on('welcome', ({ welcome }) => done(() => resolve(welcome)));
        const offRefused = this.on('refused', (r) => done(() => reject(new ChatError(r.code, r.message || r.code, { closeCode: r.closeCode }))));
        const offStatus = this.on('status', ({ state }) => state === 'closed' && done(() => reject(new ChatError('closed', 'the client was stopped'))));
        const done = (settle) => {
          offWelcome();
          offRefused();
          offStatus();
          settle();
        };
      }),
    );
  }

  /**
   * Sends a frame that the room answers by its `id` (an ack, or an answer frame) and waits for that
   * answer: resolves with it, rejects with a ChatError when the room refuses the frame. `kind` says
   * what a dropped socket means: 'query' (history, search, roster, log, auth) fails with `offline`,
   * since its answer went with the socket; 'action' (an edit, deletion, reaction, moderation) stays
   * and is sent again after the reconnect (each is idempotent at the room), so it waits on.
   */
  request(frame, kind = 'query') {
    const id = frame.id ?? messageId();
    const sent = { ...frame, id };
    if (kind === 'query' && !this.transmit(sent)) return quiet(Promise.reject(new ChatError('offline', 'not connected')));
    const promise = quiet(new Promise((resolve, reject) => this.pending.set(id, { resolve, reject, kind, frame: sent })));
    return promise;
  }

  /** The answer to request `id` arrived: the waiting promise resolves (true if one was waiting). */
  answer(id, value) {
    const waiter = id == null ? null : this.pending.get(id);
    if (!waiter) return false;
    this.pending.delete(id);
    waiter.resolve(value);
    return true;
  }

  /** Request `id` was refused (or can no longer be answered): the waiting promise rejects. */
  refuseRequest(id, error) {
    const waiter = id == null ? null : this.pending.get(id);
    if (!waiter) return false;
    this.pending.delete(id);
    waiter.reject(error);
    return true;
  }

  /** Rejects every promise still waiting (messages and requests): the client stopped or was refused. */
  failAll(error) {
    for (const id of [...this.pending.keys()]) this.refuseRequest(id, error);
    for (const [key, waiter] of [...this.sends]) {
      this.sends.delete(key);
      waiter.reject(error);
    }
  }

  setState(state) {
    this.state = state;
    this.emit('status', { state, retryAt: this.retryAt, attempt: this.attempt, reason: this.reason });
  }

  /** Opens the connection (and keeps it open until stop() or a final refusal). */
  start() {
    this.stopped = false;
    this.emit('outbox', { entries: this.outbox });
    if (this.getToken && !this.token) return this.fetchToken('connect').then(() => this.stopped || this.connect());
    this.connect();
  }

  /** Asks the app for a token (`getToken`); keeps the one we have when it fails or gives none. */
  async fetchToken(reason) {
    try {
      const token = await this.getToken({ room: this.room, name: this.name, reason });
      if (typeof token === 'string' && token) this.token = token;
      return typeof token === 'string' && token ? token : null;
    } catch {
      return null;
    }
  }

  /** Renews our token on the live socket a little before it expires (`welcome.expires`, `auth_ok`). */
  scheduleRenewal(expires) {
    clearTimeout(this.timers.renew);
    if (!this.getToken || typeof expires !== 'number') return;
    const delay = Math.max(1000, expires * 1000 - Date.now() - this.renewMarginMs);
    this.timers.renew = setTimeout(async () => {
      const token = await this.fetchToken('renew');
      // A renewal the room refuses changes nothing: the token we have runs until it expires, then a
      // 4401 close asks the app again.
      if (token) this.authenticate(token).catch(() => {});
    }, delay);
  }

  /**
   * Presents a fresh token on the live socket (`auth`); resolves with the room's `auth_ok` (the new
   * `role` and `expires`), rejects with its refusal (`unauthorized`, `token_expired`, `forbidden` for
   * another user's token, `disabled`). Tokens fetched through `getToken` are renewed by themselves.
   */
  authenticate(token) {
    return this.request({ type: 'auth', token });
  }

  /** Closes for good (the user left the room). The outbox stays in storage for next time. */
  stop() {
    this.stopped = true;
    this.clearTimers();
    // Messages stay in the outbox (storage) and go with the next start(); nobody waits for them now.
    this.failAll(new ChatError('closed', 'the client was stopped'));
    if (this.ws) {
      const ws = this.ws;
      this.detach();
      ws.close(1000, 'bye');
    }
    this.typers.clear();
    this.reason = null;
    this.setState('closed');
  }

  clearTimers() {
    // One pool for timeouts and intervals (HTML spec), so clearTimeout also ends the heartbeat.
    for (const t of Object.values(this.timers)) clearTimeout(t);
    this.timers = {};
  }

  url() {
    const u = new URL(`/ws/${encodeURIComponent(this.room)}`, this.origin);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    u.searchParams.set('name', this.name);
    if (this.key) u.searchParams.set('key', this.key);
    if (this.batch) u.searchParams.set('batch', '1');
    if (this.token) u.searchParams.set('token', this.token);
    if (this.lastSeq !== null) {
      u.searchParams.set('after', String(this.lastSeq));
      if (this.rev !== null) u.searchParams.set('since', String(this.rev));
    }
    return u.href;
  }

  connect() {
    clearTimeout(this.timers.retry);
    this.retryAt = null;
    this.said = null;
    this.setState(this.lastSeq === null && this.attempt === 0 ? 'connecting' : 'reconnecting');
    let ws;
    try {
      ws = new this.WebSocket(this.url());
    } catch {
      this.dropped();
      return;
    }
    this.ws = ws;
    ws.onmessage = (ev) => this.onFrame(ev.data);
    ws.onclose = (ev) => this.onClose(ev);
    // A refusal before the upgrade (forbidden_origin) reaches a browser only as a close (1006).
    ws.onerror = () => {};
    this.timers.welcome = setTimeout(() => this.kill(), this.welcomeTimeoutMs);
  }

  detach() {
    const ws = this.ws;
    if (!ws) return;
    ws.onmessage = ws.onclose = ws.onerror = null;
    this.ws = null;
    // A query asked on this socket will never be answered: whoever waits for it stops waiting.
    // Actions wait on: they go again after the reconnect.
    for (const [id, waiter] of [...this.pending]) {
      if (waiter.kind === 'query') this.refuseRequest(id, new ChatError('offline', 'the connection dropped before the answer'));
    }
  }

  /** Gives up on a socket that stopped answering. Its close handshake may never finish (that is why
   * it is dead), so we do not wait for the close event: we detach it and reconnect now. */
  kill() {
    const ws = this.ws;
    this.detach();
    try {
      ws?.close(4000, 'no answer');
    } catch {}
    this.dropped();
  }

  /**
   * The socket closed. A refused socket was accepted only to tell us why: an `error` frame, then
   * close 4000 + HTTP status with the code as the reason (docs/PROTOCOL.md, "Connecting"). The close
   * code decides what we do (refusalKind); the frame, when it came, says it in words.
   */
  onClose(ev) {
    const closeCode = ev?.code ?? 1006;
    const kind = refusalKind(closeCode);
    if (!kind) {
      if (this.said) this.emit('notice', { text: `Server: ${this.said.message ?? this.said.code}` });
      return this.dropped();
    }
    const reason = { code: this.said?.code ?? (ev.reason || `closed_${closeCode}`), message: this.said?.message ?? '', closeCode };
    if (kind === 'busy') return this.dropped(reason);
    if (closeCode === 4401 && this.getToken && !this.tokenRetried) {
      // Our token ran out (or was refused): a fresh one from the app, and we resume where we were.
      // Once per welcome, so a token the room keeps refusing ends in a refusal, not a loop.
      this.tokenRetried = true;
      this.detach();
      this.clearTimers();
      this.setState('reconnecting');
      return this.fetchToken('expired').then(() => this.stopped || this.connect());
    }
    if (reason.code === 'bad_key' && this.key && !this.keyRenewed) {
      // Our stored key is not one the server takes (edited by hand, or a rule changed): a new one
      // makes us a new author, which beats not getting in at all. Once only.
      this.keyRenewed = true;
      this.key = identityKey(this.keyStorage, { renew: true });
      this.detach();
      return this.connect();
    }
    this.refuse(reason);
  }

  /** A final refusal: reconnecting unchanged would be refused again, so we stop and say why. */
  refuse(reason) {
    this.detach();
    this.clearTimers();
    this.failAll(new ChatError(reason.code, reason.message || reason.code, { closeCode: reason.closeCode }));
    this.stopped = true;
    this.retryAt = null;
    this.reason = null;
    this.typers.clear();
    this.emit('typing', { names: [] });
    this.setState('refused');
    this.emit('refused', reason);
  }

  /** Reconnects after a backoff; a longer one when the server said "not now" (`reason`). */
  dropped(reason = null) {
    this.detach();
    this.clearTimers();
    this.typers.clear();
    this.emit('typing', { names: [] });
    if (this.stopped) return;
    const delay = backoff(this.attempt, reason ? this.busyBackoffOptions : this.backoffOptions);
    this.attempt += 1;
    this.reason = reason;
    this.retryAt = Date.now() + delay;
    this.timers.retry = setTimeout(() => this.connect(), delay);
    this.setState('waiting');
  }

  /** Skips the backoff wait (the "reconnect now" button, or the browser coming back online). */
  reconnectNow() {
    if (this.state === 'waiting' && !this.stopped) this.connect();
  }

  transmit(frame) {
    if (this.state !== 'online' || !this.ws) return false;
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
    return true;
  }

  heard() {
    clearTimeout(this.timers.pong);
    delete this.timers.pong;
  }

  /** Every `heartbeatMs` a `ping` (answered by the runtime without waking the room); when nothing at
   * all comes back within `pongTimeoutMs`, the connection is dead even if TCP has not noticed. */
  beat() {
    if (this.timers.pong || !this.transmit('ping')) return;
    this.timers.pong = setTimeout(() => this.kill(), this.pongTimeoutMs);
  }

  onFrame(data) {
    this.heard();
    if (data === 'pong' || typeof data !== 'string') return;
    let f;
    try {
      f = JSON.parse(data);
    } catch {
      return;
    }
    // batch=1: everything one turn of the room had for us, in order.
    if (f?.type === 'batch' && Array.isArray(f.frames)) {
      for (const inner of f.frames) this.onServerFrame(inner);
      return;
    }
    this.onServerFrame(f);
  }

  onServerFrame(f) {
    switch (f?.type) {
      case 'welcome':
        return this.onWelcome(f);
      case 'message':
        this.stopTyping(f.from?.id);
        this.seeRev(f.rev);
        return this.report(f, { live: true });
      case 'ack':
        return this.onAck(f);
      case 'message_updated':
        this.seeRev(f.rev);
        this.apply(f.message);
        if (typeof f.message?.seq === 'number') this.emit('message_updated', { message: living(f.message) });
        return;
      case 'reaction':
        this.onReaction(f);
        return this.emit('reaction', { reaction: f });
      case 'read':
        return this.onRead(f);
      case 'history':
      case 'search_results':
      case 'roster':
        return this.answer(f.id, f);
      case 'join':
        this.members.set(f.user.id, f.user);
        this.online += 1;
        this.emit('join', { user: f.user });
        return this.emitRoster();
      case 'leave':
        this.members.delete(f.user.id);
        this.online = Math.max(0, this.online - 1);
        this.stopTyping(f.user.id);
        this.emit('leave', { user: f.user });
        return this.emitRoster();
      case 'presence':
        return this.onPresence(f);
      case 'typing':
        return this.onTyping(f.user);
      case 'moderation':
        return this.onModeration(f);
      case 'moderation_log':
        this.emit('moderation_log', f);
        return this.answer(f.id, f);
      case 'auth_ok':
        this.role = f.role ?? this.role;
        this.scheduleRenewal(f.expires);
        return this.answer(f.id, f);
      case 'error':
        return this.onError(f);
    }
  }

  /** What the room's moderation means for us now: our mute (ms, or null) and its slow mode (s). */
  rules() {
    const mutedUntil = this.mutedUntil && this.mutedUntil > Date.now() ? this.mutedUntil : null;
    return { mutedUntil, slowMode: this.slowModeSecs ?? 0, moderator: this.role === 'moderator' };
  }

  /** A moderator acted (docs/PROTOCOL.md, "Moderation"): keep what concerns us, tell the page. */
  onModeration(f) {
    const mine = Boolean(f.uid) && f.uid === this.you?.uid;
    if (f.action === 'slow_mode') this.slowModeSecs = f.seconds ?? 0;
    if (mine && f.action === 'mute') this.mutedUntil = Date.now() + (f.seconds ?? 0) * 1000;
    if (mine && f.action === 'unmute') this.mutedUntil = null;
    this.emit('moderation', { record: f, mine });
    this.emit('rules', this.rules());
  }

  /**
   * A moderator's action (`ban`, `unban`, `kick`, `mute`, `unmute`, `slow_mode`) with its fields
   * (`uid`, `seconds`, `reason`); acked like a change to a message.
   */
  moderate(action, fields = {}) {
    return this.act({ type: action, ...fields });
  }

  /**
   * Bans the author `uid` from the room (moderators only); `reason` at most 200 characters.
   * @param {string} uid
   * @param {{reason?: string}} [options]
   */
  ban(uid, { reason } = {}) {
    return this.moderate('ban', reason == null ? { uid } : { uid, reason });
  }

  unban(uid) {
    return this.moderate('unban', { uid });
  }

  /** Closes the author's sockets (4403 `kicked`); they may join again. */
  kick(uid) {
    return this.moderate('kick', { uid });
  }

  /** Refuses the author's messages, edits and reactions for `seconds` (1 s to 30 days). */
  mute(uid, seconds) {
    return this.moderate('mute', { uid, seconds });
  }

  unmute(uid) {
    return this.moderate('unmute', { uid });
  }

  /** One message per author per `seconds` (0 switches it off, at most 3600). */
  slowMode(seconds) {
    return this.moderate('slow_mode', { seconds });
  }

  /**
   * A page of the room's moderation log, newest first (moderators only): resolves with the
   * `moderation_log` frame ({records, has_more, rules}); it is also told as a `moderation_log` event.
   * @param {{before?: number, limit?: number}} [options]
   */
  moderationLog({ before, limit = HISTORY_PAGE } = {}) {
    return this.request({ type: 'moderation_log', limit, ...(before != null ? { before } : {}) });
  }

  /** Remembers the newest room revision seen (frames of one connection come in rev order). */
  seeRev(rev) {
    if (typeof rev === 'number' && rev > (this.rev ?? -1)) this.rev = rev;
  }

  onWelcome(f) {
    clearTimeout(this.timers.welcome);
    this.welcome = f;
    this.you = f.you;
    this.members = new Map(f.members.map((m) => [m.id, m]));
    // Above the presence threshold the welcome counts (`online`) and lists a first page only.
    this.online = typeof f.online === 'number' ? f.online : this.members.size;
    this.partial = this.members.size < this.online;
    // The welcome's first page is in id order: the next page starts after its last id.
    this.membersCursor = this.partial ? (f.members.at(-1)?.id ?? null) : null;
    this.limits = announcedLimits(f.limits);
    const resumed = this.lastSeq !== null;
    if (resumed && f.last_seq < this.lastSeq) {
      // The room is behind what we saw: its storage was reset (a fresh dev server, say). Its seqs
      // start again, so what we remember of the old ones would hide new messages.
      this.emit('notice', { text: 'The room was reset: its earlier messages are gone.' });
      this.seen.clear();
      this.messages.clear();
      this.lastSeq = 0;
      this.rev = null;
    } else if (resumed && f.truncated) {
      // We missed more than one page (of messages, or of changes to the ones we have): what we show
      // would have a hole, or stale messages in it. So we drop it all and start again from the
      // newest, as after a reload — without one; older pages load as the reader scrolls up.
      this.emit('notice', { text: 'You were away for long: only the newest messages are shown.' });
      this.seen.clear();
      this.messages.clear();
      this.emit('reset', {});
    }
    // Everything up to last_seq is in history or already seen (the room sends the newest when it cuts).
    this.lastSeq = Math.max(this.lastSeq ?? 0, f.last_seq ?? 0);
    // The history and the changes are the room's state at welcome.rev: that is now what we have seen.
    if (typeof f.rev === 'number') this.rev = f.rev;
    for (const m of f.changes ?? []) this.apply(m);
    for (const m of f.history ?? []) this.report(m, { live: false });
    const oldest = this.oldestSeq();
    if (!resumed || this.messages.size === (f.history?.length ?? 0)) this.hasOlder = oldest !== null && oldest > 1;
    this.welcomeReads(f);
    this.role = f.role ?? null;
    this.slowModeSecs = f.slow_mode ?? 0;
    this.mutedUntil = f.muted_until ?? null;
    this.emit('rules', this.rules());
    this.tokenRetried = false;
    this.scheduleRenewal(f.expires);
    this.attempt = 0;
    this.reason = null;
    this.setState('online');
    this.emitRoster();
    // Whatever is still in the outbox may or may not have arrived before we lost the last socket:
    // resending with the same id is safe, the room acks a duplicate with the original seq. So are
    // the changes not yet acked: an edit to the same text, a deletion of a deleted message and a
    // reaction set to what it is are all acked without changing anything.
    this.flushOutbox();
    for (const action of this.actions) this.transmit(action);
    if (this.readSeq > this.sentReadSeq) this.sendReadSoon();
    this.timers.heartbeat = setInterval(() => this.beat(), this.heartbeatMs);
    this.emit('welcome', { welcome: f });
  }

  /** Our read position from the welcome (the room's, or ours if we read further while away). */
  welcomeReads(f) {
    if (typeof f.read_seq !== 'number') {
      this.readSeq = null;
      this.unreadBase = null;
    } else {
      this.sentReadSeq = f.read_seq;
      this.readSeq = Math.max(this.readSeq ?? 0, f.read_seq);
      this.unreadBase = { readSeq: f.read_seq, count: f.unread ?? 0, upto: f.last_seq ?? 0 };
    }
    this.emitUnread();
  }

  /**
   * Resends the pending outbox after a (re)connect, paced under the connection's token bucket as
   * `welcome.limits` announced it: half the burst at once (the other half stays for what the person
   * types now), then one per 1.5 refill periods — with the default bucket (20, 10/s) 10 at once and
   * one every 150 ms — so a long offline queue is neither refused as `rate_limited` nor closed as a
   * flood. Stops when the socket goes; the next welcome starts again (resending an id the room
   * already stored is harmless: it is acked, not stored). An entry queued offline that the room's
   * limits turn out too small for is marked too large instead of sent.
   */
  flushOutbox() {
    clearTimeout(this.timers.flush);
    for (const entry of this.outbox) {
      const why = entry.error ? null : this.oversize(entry.text, entry.id);
      if (why) this.fail(entry, 'too_large', why);
    }
    const pending = this.outbox.filter((e) => !e.error);
    const first = Math.max(1, Math.floor(this.limits.burst / 2));
    const every = Math.ceil(1500 / this.limits.per_sec);
    const step = (from) => {
      const to = Math.min(from + (from === 0 ? first : 1), pending.length);
      for (let k = from; k < to; k++) {
        const entry = pending[k];
        if (!this.outbox.includes(entry) || entry.error) continue;
        if (!this.transmit(messageFrame(entry))) return;
      }
      if (to < pending.length) this.timers.flush = setTimeout(() => step(to), every);
    };
    step(0);
  }

  /** Whether `m` was written by us: by our uid when we have one, by our name on an older server. */
  isOwn(m) {
    if (this.you?.uid) return m?.from?.uid === this.you.uid;
    return m?.from?.name === this.name;
  }

  /**
   * Reports a stored message once, resolving our own outbox entry if it is one of ours: the room's
   * idempotency key, (author, id) with the same text. The same author and id with another text is
   * somebody else's message (the room answers ours with id_conflict), so our entry stays. A message
   * we already have comes again only from a newer state (a page after a change): it updates it.
   */
  report(raw, { own = false, live, older = false }) {
    if (typeof raw?.seq !== 'number') return;
    const m = living(raw);
    const mine = own || (this.isOwn(m) && this.outbox.some((e) => e.id === m.id && e.text === m.text));
    if (mine) this.settle(m.id, m);
    if (m.seq > (this.lastSeq ?? 0)) this.lastSeq = m.seq;
    if (this.seen.has(m.seq)) {
      if (m.rev > (this.messages.get(m.seq)?.rev ?? 0)) this.apply(m);
      return;
    }
    this.seen.add(m.seq);
    this.messages.set(m.seq, m);
    this.emit('message', { message: m, own: mine || this.isOwn(m), live, older });
    this.emitUnread();
  }

  /** A message we know has a new state (an edit, a deletion, from the welcome's `changes` too). */
  apply(raw) {
    if (typeof raw?.seq !== 'number' || !this.messages.has(raw.seq)) return; // not loaded: a page brings it as it is
    const m = living(raw);
    this.messages.set(m.seq, m);
    if (m.deleted && this.mine.delete(m.seq)) this.saveReactions();
    this.emit('update', { message: m });
    this.emitUnread();
  }

  onReaction(f) {
    this.seeRev(f.rev);
    if (f.user?.uid && f.user.uid === this.you?.uid) this.setMine(f.seq, f.emoji, f.on, false);
    const m = this.messages.get(f.seq);
    if (!m) return;
    this.messages.set(f.seq, { ...m, reactions: { ...(f.counts ?? {}) }, rev: Math.max(m.rev, f.rev ?? 0) });
    this.emit('update', { message: this.messages.get(f.seq) });
  }

  /** Records whether we reacted to `seq` with `emoji`; reports the message when that changed. */
  setMine(seq, emoji, on, report = true) {
    const set = this.mine.get(seq) ?? new Set();
    if (set.has(emoji) === Boolean(on)) return;
    if (on) set.add(emoji);
    else set.delete(emoji);
    if (set.size) this.mine.set(seq, set);
    else this.mine.delete(seq);
    this.saveReactions();
    if (report && this.messages.has(seq)) this.emit('update', { message: this.messages.get(seq) });
  }

  /** The emoji we reacted to `seq` with (only those the message still counts). */
  myReactions(seq) {
    const counts = this.messages.get(seq)?.reactions ?? {};
    return [...(this.mine.get(seq) ?? [])].filter((e) => counts[e] > 0);
  }

  onAck(f) {
    this.seeRev(f.rev);
    const action = this.actions.find((a) => a.id === f.id);
    if (action) {
      this.actions = this.actions.filter((a) => a !== action);
      if (action.type === 'react') this.setMine(action.seq, action.emoji, action.on);
      this.emit('action', { action, ok: true });
      this.answer(action.id, { id: f.id, seq: f.seq, ts: f.ts, rev: f.rev });
      return;
    }
    const entry = this.outbox.find((e) => e.id === f.id);
    if (!entry) return;
    const message = { seq: f.seq, id: f.id, from: this.you, text: entry.text, ts: f.ts, reply_to: entry.replyTo ?? null, rev: f.rev ?? 0 };
    this.report(message, { own: true, live: true });
  }

  /**
   * Takes the entry `id` out of the outbox: stored (`stored`, the message as the room has it), its
   * send() resolves; discarded (no `stored`), it rejects.
   */
  settle(id, stored = null) {
    const entry = this.outbox.find((e) => e.id === id);
    if (!entry) return;
    this.outbox = this.outbox.filter((e) => e !== entry);
    this.save();
    this.emit('outbox', { entries: this.outbox });
    const waiter = this.sends.get(entry.key);
    if (!waiter) return;
    this.sends.delete(entry.key);
    if (stored) waiter.resolve({ id: entry.id, seq: stored.seq, ts: stored.ts, rev: stored.rev ?? 0 });
    else waiter.reject(new ChatError('discarded', 'the message was discarded before it was stored', { id }));
  }

  /** Marks an entry as not sent, with the reason shown to the person; its send() rejects. */
  fail(entry, code, why) {
    entry.error = why;
    entry.code = code;
    this.save();
    this.emit('outbox', { entries: this.outbox });
    const waiter = this.sends.get(entry.key);
    if (!waiter) return;
    this.sends.delete(entry.key);
    waiter.reject(new ChatError(code, why, { id: entry.id }));
  }

  /** Gives an entry a new idempotency key (the old one is taken by another message). */
  reissue(entry) {
    entry.id = messageId();
    this.save();
    this.emit('outbox', { entries: this.outbox });
  }

  onError(f) {
    if (this.state !== 'online') {
      // Before the welcome, an error is the socket's refusal; its close code (onClose) says what it means.
      this.said = f;
      return;
    }
    if ((f.code === 'banned' || f.code === 'kicked') && f.id == null) {
      // A moderator removed us; the close (4403) follows and ends the connection with this reason.
      this.said = f;
      return;
    }
    if (f.code === 'token_expired' && f.id == null) {
      // The room is closing this socket because our token ran out; the close (4401) may take a while
      // to arrive, so act on the frame that announces it: as if the socket had closed with 4401.
      this.said = f;
      const ws = this.ws;
      this.onClose({ code: 4401, reason: 'token_expired' });
      try {
        ws?.close(1000, 'token expired');
      } catch {}
      return;
    }
    const action = f.id == null ? null : this.actions.find((a) => a.id === f.id);
    if (action) return this.actionFailed(action, f);
    if (this.refuseRequest(f.id, new ChatError(f.code, f.message ?? f.code, { id: f.id }))) return;
    const entry = f.id == null ? null : this.outbox.find((e) => e.id === f.id);
    if (!entry) {
      this.emit('notice', { text: `Server: ${f.message ?? f.code}` });
      this.emit('error', { error: new ChatError(f.code, f.message ?? f.code, { id: f.id ?? null }) });
      return;
    }
    if (f.code === 'internal') {
      // Not stored, through no fault of the message: it stays pending and goes again (same id).
      setTimeout(() => this.outbox.includes(entry) && this.transmit(messageFrame(entry)), 2000);
      return;
    }
    if (f.code === 'slow_mode') {
      // Not stored: the room holds each author's messages apart. It goes again once the wait is over.
      const wait = Math.max(1, this.slowModeSecs ?? 1) * 1000;
      this.emit('notice', { text: `${f.message} — it goes automatically.` });
      setTimeout(() => this.outbox.includes(entry) && this.transmit(messageFrame(entry)), wait);
      return;
    }
    if (f.code === 'id_conflict' && !entry.reissued) {
      // The room already stored another text under our (author, id). Our ids are random (messageId),
      // so that message is somebody else's who uses the same name, and ours was not stored: under a
      // fresh id it is simply a new message. Once only, so a server that kept refusing cannot loop us.
      entry.reissued = true;
      this.reissue(entry);
      this.transmit(messageFrame(entry));
      return;
    }
    const why = {
      rate_limited: 'rate limited — too many messages at once',
      too_large: `too large (at most ${this.limits.text} characters)`,
      id_conflict: 'its id was taken by another message',
      muted: f.message ? `${f.message}` : 'not sent: a moderator muted you',
      not_found: 'the message it replies to was deleted',
      bad_request: 'refused by the server',
    }[f.code];
    this.fail(entry, f.code, why ?? f.message ?? f.code);
  }

  /** An edit, deletion or reaction the room refused: forgotten (the view never changed for it). */
  actionFailed(action, f) {
    if (f.code === 'internal') {
      setTimeout(() => this.actions.includes(action) && this.transmit(action), 2000);
      return;
    }
    this.actions = this.actions.filter((a) => a !== action);
    const what = { edit: 'edit the message', delete: 'delete the message', react: 'react to the message' }[action.type] ?? action.type.replace('_', ' ');
    const why = {
      forbidden: action.type in { edit: 1, delete: 1, react: 1 } ? 'only its author can change a message' : 'only a moderator may do that',
      not_found: 'that message was deleted',
      rate_limited: 'too many changes at once, try again in a moment',
    }[f.code] ?? f.message ?? f.code;
    this.emit('action', { action, ok: false, code: f.code, message: why });
    this.emit('notice', { text: `Could not ${what}: ${why}.` });
    this.refuseRequest(action.id, new ChatError(f.code, f.message ?? why, { id: action.id }));
  }

  /**
   * Why `text` cannot go out under the room's limits, or null. Checked before sending because a frame
   * over `frame_bytes` is not refused but makes the room close the socket (1009) — and the outbox
   * would resend it after every reconnect.
   */
  oversize(text, id) {
    const n = charCount(text);
    if (n > this.limits.text) return `too large (${n} characters, at most ${this.limits.text})`;
    const bytes = new TextEncoder().encode(JSON.stringify({ type: 'message', text, id })).length;
    if (bytes > this.limits.frame_bytes) return `too large (${bytes} bytes, at most ${this.limits.frame_bytes})`;
    return null;
  }

  /**
   * Queues a message (`replyTo`: the seq it answers) and returns its outbox entry: it is sent now if
   * we are online, else on the next welcome, and again (same id) after every reconnect until the
   * room stores it. The lower half of send(), for a UI that draws the outbox.
   */
  queue(text, { replyTo = null } = {}) {
    const id = messageId();
    const entry = { key: id, id, text, createdAt: Date.now() };
    if (replyTo != null) entry.replyTo = replyTo;
    const why = this.oversize(text, id);
    if (why) {
      entry.error = why;
      entry.code = 'too_large';
    }
    this.outbox.push(entry);
    this.save();
    // The others drop our typing line when the message arrives; the next keystroke may say so again.
    this.lastTypingSent = -Infinity;
    this.emit('outbox', { entries: this.outbox });
    if (!entry.error) this.transmit(messageFrame(entry));
    return entry;
  }

  /**
   * Sends a message; resolves with {id, seq, ts, rev} once the room stored it (its `ack`, or — when
   * the ack went with a dropped socket — the message itself in the next welcome), rejects with a
   * ChatError when the room refused it (too_large, rate_limited, muted, not_found for a deleted
   * `replyTo`, …; the entry then stays in the outbox, marked, for retry() or discard()). A drop
   * does not fail it: it waits in the outbox and goes again after the reconnect.
   */
  send(text, options) {
    const entry = this.queue(text, options);
    return this.waitFor(entry);
  }

  /** The promise of an outbox entry: settles when settle() or fail() does. */
  waitFor(entry) {
    if (entry.error) return quiet(Promise.reject(new ChatError(entry.code ?? 'bad_request', entry.error, { id: entry.id })));
    return quiet(new Promise((resolve, reject) => this.sends.set(entry.key, { resolve, reject })));
  }

  /** Tries a failed message again: with its original id, or a new one if that id was taken. */
  retry(id) {
    const entry = this.outbox.find((e) => e.id === id);
    if (!entry) return quiet(Promise.reject(new ChatError('not_found', `no message ${id} in the outbox`, { id })));
    const why = this.oversize(entry.text, entry.id);
    if (why) return quiet(Promise.reject(new ChatError('too_large', why, { id })));
    if (entry.code === 'id_conflict') entry.id = messageId();
    if (entry.code === 'not_found') delete entry.replyTo; // what it answered is gone: send it plain
    delete entry.error;
    delete entry.code;
    this.save();
    this.emit('outbox', { entries: this.outbox });
    const done = this.waitFor(entry);
    this.transmit(messageFrame(entry));
    return done;
  }

  /** Takes a message out of the outbox unsent (its send() rejects with `discarded`). */
  discard(id) {
    this.settle(id);
  }

  /**
   * Sends a change (`edit`, `delete`, `react` or a moderator's action) and resolves with its ack
   * ({id, seq, ts, rev}; seq 0 for moderation), or rejects with the room's refusal. It waits in
   * `actions` until answered and goes again after a reconnect (each is idempotent at the room).
   * Anonymous connections change nothing: refused here as the room would (`forbidden`).
   */
  act(frame) {
    if (!this.you?.uid && this.you) {
      this.emit('notice', { text: 'Only a connection with an identity can change messages.' });
      return quiet(Promise.reject(new ChatError('forbidden', 'only a connection with an identity (key or token) can change messages')));
    }
    const action = { ...frame, id: messageId() };
    this.actions.push(action);
    const done = this.request(action, 'action');
    this.transmit(action);
    return done;
  }

  /** Replaces the text of our message `seq` (the room keeps the earlier versions). */
  edit(seq, text) {
    const why = this.oversize(text, 'edit');
    if (why) {
      this.emit('notice', { text: `Could not edit the message: ${why}.` });
      return quiet(Promise.reject(new ChatError('too_large', why)));
    }
    return this.act({ type: 'edit', seq, text });
  }

  /**
   * Deletes message `seq` (ours, or anyone's for a moderator): its text and every earlier version are
   * erased, a placeholder stays.
   */
  delete(seq) {
    return this.act({ type: 'delete', seq });
  }

  /** Sets our reaction `emoji` on `seq` on (default) or off. */
  react(seq, emoji, on = true) {
    return this.act({ type: 'react', seq, emoji, on: Boolean(on) });
  }

  /** Flips our reaction `emoji` on `seq` (a click on a reaction). */
  toggleReaction(seq, emoji) {
    return this.react(seq, emoji, !this.myReactions(seq).includes(emoji));
  }

  /** The smallest seq we have, or null. */
  oldestSeq() {
    let oldest = null;
    for (const seq of this.messages.keys()) if (oldest === null || seq < oldest) oldest = seq;
    return oldest;
  }

  /**
   * A page of stored messages before `before` (default: the newest), oldest first, `limit` 1..100:
   * resolves with {messages, hasMore}. It changes nothing the client holds (loadOlder() does).
   * @param {{before?: number, limit?: number}} [options]
   */
  history({ before, limit = HISTORY_PAGE } = {}) {
    const page = this.request({ type: 'history', limit, ...(before != null ? { before } : {}) });
    return quiet(page.then((f) => ({ messages: Array.isArray(f.messages) ? f.messages.map(living) : [], hasMore: Boolean(f.has_more) })));
  }

  /**
   * Asks for the page of messages before the oldest we have. Resolves when it arrived (its messages
   * reported as `older`) with {count, hasOlder}, or with null when it could not be asked or answered
   * (offline, dropped, refused). One page at a time: a second call waits for the first.
   */
  loadOlder(limit = HISTORY_PAGE) {
    if (this.olderRequest) return this.olderRequest;
    const before = this.oldestSeq();
    if (before === null || before <= 1 || !this.hasOlder) {
      this.hasOlder = false;
      return Promise.resolve({ count: 0, hasOlder: false });
    }
    const page = this.history({ before, limit }).then(
      ({ messages, hasMore }) => {
        for (const m of messages) this.report(m, { live: false, older: true });
        this.hasOlder = hasMore && messages.length > 0;
        const done = { count: messages.length, hasOlder: this.hasOlder };
        this.emit('older', done);
        return done;
      },
      (error) => {
        if (error.code !== 'offline') this.emit('notice', { text: `Could not load older messages: ${error.message}` });
        return null;
      },
    );
    this.olderRequest = page.finally(() => (this.olderRequest = null));
    return this.olderRequest;
  }

  /**
   * Searches the room's history (best match first). Resolves with {results, hasMore} — each result a
   * whole message with its `snippet` — or rejects with a ChatError when the room refused the query
   * (bad_query, bad_limit, rate_limited) or the connection went before it answered (offline).
   * `limit`: 1..limits.results; `before`: only messages with a smaller seq.
   * @param {string} q
   * @param {{limit?: number, before?: number}} [options]
   */
  search(q, { limit, before } = {}) {
    const frame = { type: 'search', q };
    if (limit != null) frame.limit = limit;
    if (before != null) frame.before = before;
    return quiet(this.request(frame).then((f) => ({ results: Array.isArray(f.results) ? f.results : [], hasMore: Boolean(f.has_more) })));
  }

  /**
   * The SDK's name for markRead(): our read position moves up to `seq`. Nothing comes back — a `read`
   * frame has no id and no ack — so there is nothing to wait for; the `unread` event follows at once.
   */
  read(seq) {
    this.markRead(seq);
  }

  /**
   * We have seen everything up to `seq` (the page calls this for what is actually on screen).
   * Unread counts drop at once; the room hears of it at most once per READ_EVERY_MS, with the
   * newest position, and again after a reconnect if it had not.
   */
  markRead(seq) {
    if (this.readSeq === null || !(seq > this.readSeq)) return;
    this.readSeq = seq;
    this.emitUnread();
    this.sendReadSoon();
  }

  sendReadSoon() {
    if (this.timers.read) return;
    const wait = this.lastReadSentAt + READ_EVERY_MS - Date.now();
    if (wait <= 0) this.sendRead();
    else this.timers.read = setTimeout(() => this.sendRead(), wait);
  }

  sendRead() {
    delete this.timers.read;
    if (!(this.readSeq > this.sentReadSeq)) return;
    if (!this.transmit({ type: 'read', seq: this.readSeq })) return; // the next welcome sends it
    this.sentReadSeq = this.readSeq;
    this.lastReadSentAt = Date.now();
  }

  /** A read mark of somebody else (or of another tab of ours, which moves our own position). */
  onRead(f) {
    if (!f.user || typeof f.seq !== 'number') return;
    if (f.user.uid && f.user.uid === this.you?.uid) {
      if (this.readSeq !== null && f.seq > this.readSeq) {
        this.readSeq = f.seq;
        this.sentReadSeq = Math.max(this.sentReadSeq, f.seq);
        this.emitUnread();
      }
      return;
    }
    const who = f.user.uid ?? f.user.id;
    const before = this.reads.get(who);
    if (before && before.seq >= f.seq) return;
    this.reads.set(who, { user: f.user, seq: f.seq });
    this.emit('reads', { reads: [...this.reads.values()] });
  }

  /** The names of the others known to have read up to `seq` (from their read marks), in order heard. */
  seenBy(seq) {
    const names = [];
    for (const { user, seq: upto } of this.reads.values()) if (upto >= seq && !names.includes(user.name)) names.push(user.name);
    return names;
  }

  /** Our newest message that is still there (for "seen by" and the Up arrow's edit), or null. */
  lastOwn() {
    let last = null;
    for (const m of this.messages.values()) if (this.isOwn(m) && !m.deleted && (!last || m.seq > last.seq)) last = m;
    return last;
  }

  /**
   * How many of the others' messages come after our read position: those we have, plus — while our
   * position is older than anything we have — the ones the welcome counted that we have not loaded.
   */
  unreadCount() {
    if (this.readSeq === null) return 0;
    let n = 0;
    let loadedSinceBase = 0;
    const base = this.unreadBase;
    for (const m of this.messages.values()) {
      if (m.deleted || this.isOwn(m)) continue;
      if (m.seq > this.readSeq) n += 1;
      if (base && m.seq > base.readSeq && m.seq <= base.upto) loadedSinceBase += 1;
    }
    const oldest = this.oldestSeq();
    if (base && (oldest === null || this.readSeq < oldest - 1)) n += Math.max(0, base.count - loadedSinceBase);
    return n;
  }

  emitUnread() {
    const count = this.unreadCount();
    const key = `${count}:${this.readSeq}`;
    if (key === this.shownUnread) return;
    this.shownUnread = key;
    this.emit('unread', { count, readSeq: this.readSeq });
  }

  /** Call on every keystroke in the composer; sends at most one typing frame per TYPING_EVERY_MS. */
  typing() {
    const now = Date.now();
    if (now - this.lastTypingSent < TYPING_EVERY_MS) return;
    if (this.transmit({ type: 'typing' })) this.lastTypingSent = now;
  }

  onTyping(user) {
    if (!user || user.id === this.you?.id) return;
    this.typers.set(user.id, { name: user.name, until: Date.now() + TYPING_SHOWN_MS });
    this.emitTyping();
  }

  stopTyping(id) {
    if (this.typers.delete(id)) this.emitTyping();
  }

  /** Reports who is typing and arms one timer for the next expiry (there is no "stopped" frame). */
  emitTyping() {
    const now = Date.now();
    for (const [id, t] of this.typers) if (t.until <= now) this.typers.delete(id);
    clearTimeout(this.timers.typing);
    if (this.typers.size) {
      const next = Math.min(...[...this.typers.values()].map((t) => t.until));
      this.timers.typing = setTimeout(() => this.emitTyping(), next - now + 5);
    }
    this.emit('typing', { names: [...new Set([...this.typers.values()].map((t) => t.name))] });
  }

  /**
   * A `presence` frame (rooms above the threshold): the count, and a sample of who came and went since
   * the last one. Once the room is large the list stays partial; loadMembers() pages the rest.
   */
  onPresence(f) {
    for (const u of f.left ?? []) {
      this.members.delete(u.id);
      this.stopTyping(u.id);
    }
    for (const u of f.joined ?? []) this.members.set(u.id, u);
    if (typeof f.online === 'number') this.online = f.online;
    this.partial = this.members.size < this.online;
    this.emit('presence', { online: this.online, joins: f.joins ?? 0, leaves: f.leaves ?? 0 });
    this.emitRoster();
  }

  /** Asks for the next page of the roster (after the last id we hold); resolves when it is merged. */
  // Resolves with true once the page is merged (a `roster` event), false when it could not be had.
  loadMembers(limit = 100) {
    if (this.membersRequest) return this.membersRequest;
    const after = this.membersCursor;
    const page = this.request({ type: 'roster', limit, ...(after ? { after } : {}) }).then(
      (f) => this.onMembers(f),
      () => false,
    );
    this.membersRequest = page.finally(() => (this.membersRequest = null));
    return this.membersRequest;
  }

  onMembers(f) {
    for (const u of f.members ?? []) this.members.set(u.id, u);
    if (typeof f.online === 'number') this.online = f.online;
    this.membersCursor = f.next ?? null;
    this.partial = Boolean(f.next) || this.members.size < this.online;
    this.emitRoster();
    return true;
  }

  emitRoster() {
    this.emit('roster', { members: [...this.members.values()], you: this.you, online: this.online, partial: this.partial });
  }
}

/**
 * A search result's `snippet` (HTML-escaped text with hits in `<mark>…</mark>`, nothing else) as
 * pieces to draw with text nodes: [{text, mark}], the entities decoded. Anything unexpected in it
 * stays text: this never produces markup.
 */
export function snippetParts(html) {
  const decode = (s) => s.replace(/&(amp|lt|gt|quot|#39);/g, (_, e) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e]);
  const parts = [];
  let mark = false;
  for (const piece of String(html ?? '').split(/(<\/?mark>)/)) {
    if (piece === '<mark>') mark = true;
    else if (piece === '</mark>') mark = false;
    else if (piece) parts.push({ text: decode(piece), mark });
  }
  return parts;
}

/** The `message` frame of an outbox entry (with `reply_to` only when it answers a message). */
function messageFrame(entry) {
  const frame = { type: 'message', text: entry.text, id: entry.id };
  if (entry.replyTo != null) frame.reply_to = entry.replyTo;
  return frame;
}
