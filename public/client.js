//! The protocol half of the browser client: one `ChatClient` per (room, name) speaks the protocol
//! (docs/PROTOCOL.md) over a WebSocket and keeps the promises the UI makes — reconnect with backoff,
//! resume with `after=<last seq>&since=<last rev>`, an outbox of unacked messages retried with the
//! same `id`, a heartbeat, the roster and "is typing" — and keeps every message it knows as a living
//! object: replies, edits, deletions and reactions (notes/living.md), read marks, older pages. It
//! never touches the DOM: it reports what happened as events on an `EventTarget`, and app.js draws
//! them. The WebSocket and the storages are passed in, and time is only `Date.now`/`setTimeout`, so
//! tests drive it with a fake socket and a fake clock.
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
//! Events (each a CustomEvent; `detail` as listed):
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
//!
//! Search (`search(q)`) asks the room over the socket and resolves with its answer; a result's
//! `snippet` is HTML with only `<mark>` in it, which `snippetParts` turns into text pieces, so the
//! page draws it with text nodes (the CSP forbids HTML sinks).

/**
 * The limits assumed until a `welcome` announces the room's own (`welcome.limits`, which then
 * replace these). They only pace the outbox and pre-check sizes, never decide what is valid:
 * `text` and `frame_bytes` are protocol v1's fixed sizes, the bucket is half of v1's default
 * (RATE_BURST 20, RATE_PER_SEC 10), so a server configured tighter is rarely hit. A server that
 * announces nothing (older than `limits`) is paced by these too.
 */
export const DEFAULT_LIMITS = Object.freeze({ text: 4000, name: 32, id: 64, frame_bytes: 65_536, burst: 10, per_sec: 5, page: 1000, query: 200, results: 50 });
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
  return { reply_to: null, edited_at: null, version: 1, deleted: false, reactions: {}, rev: 0, ...m, reactions: { ...(m.reactions ?? {}) } };
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
    this.storage = options.storage ?? globalThis.sessionStorage;
    this.keyStorage = options.keyStorage ?? globalThis.localStorage;
    this.WebSocket = options.WebSocket ?? globalThis.WebSocket;
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
    this.membersRequest = null; // {id, resolve} of the roster page asked for
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
    this.olderRequest = null; // {id, resolve} of the history page asked for
    this.searches = new Map(); // id → resolve of each search asked for and not answered yet
    this.typers = new Map(); // connection id → {name, until}
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
    this.dispatchEvent(new CustomEvent(type, { detail }));
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
      if (token) this.transmit({ type: 'auth', token, id: `auth-${Date.now().toString(36)}` });
    }, delay);
  }

  /** Closes for good (the user left the room). The outbox stays in storage for next time. */
  stop() {
    this.stopped = true;
    this.clearTimers();
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
    // A page asked for on this socket will never be answered: whoever waits for it stops waiting.
    this.olderRequest?.resolve(null);
    this.olderRequest = null;
    for (const id of [...this.searches.keys()]) this.answerSearch(id, { error: { code: 'offline', message: 'the connection dropped' } });
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
        return this.apply(f.message);
      case 'reaction':
        return this.onReaction(f);
      case 'read':
        return this.onRead(f);
      case 'history':
        return this.onHistory(f);
      case 'search_results':
        return this.answerSearch(f.id, { results: Array.isArray(f.results) ? f.results : [], hasMore: Boolean(f.has_more) });
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
      case 'roster':
        return this.onMembers(f);
      case 'typing':
        return this.onTyping(f.user);
      case 'moderation':
        return this.onModeration(f);
      case 'moderation_log':
        return this.emit('moderation_log', f);
      case 'auth_ok':
        this.role = f.role ?? this.role;
        return this.scheduleRenewal(f.expires);
      case 'error':
        return this.onError(f);
    }
  }

  /** What the room's moderation means for us now: our mute (ms, or null) and its slow mode (s). */
  rules() {
    const mutedUntil = this.mutedUntil && this.mutedUntil > Date.now() ? this.mutedUntil : null;
    return { mutedUntil, slowMode: this.slowMode ?? 0, moderator: this.role === 'moderator' };
  }

  /** A moderator acted (docs/PROTOCOL.md, "Moderation"): keep what concerns us, tell the page. */
  onModeration(f) {
    const mine = Boolean(f.uid) && f.uid === this.you?.uid;
    if (f.action === 'slow_mode') this.slowMode = f.seconds ?? 0;
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

  /** Asks for the moderation log (moderators only); it arrives as a `moderation_log` event. */
  moderationLog(limit = HISTORY_PAGE) {
    this.transmit({ type: 'moderation_log', limit, id: messageId() });
  }

  /** Remembers the newest room revision seen (frames of one connection come in rev order). */
  seeRev(rev) {
    if (typeof rev === 'number' && rev > (this.rev ?? -1)) this.rev = rev;
  }

  onWelcome(f) {
    clearTimeout(this.timers.welcome);
    this.you = f.you;
    this.members = new Map(f.members.map((m) => [m.id, m]));
    // Above the presence threshold the welcome counts (`online`) and lists a first page only.
    this.online = typeof f.online === 'number' ? f.online : this.members.size;
    this.partial = this.members.size < this.online;
    this.membersRequest = null;
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
    this.slowMode = f.slow_mode ?? 0;
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
    if (mine) this.settle(m.id);
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
      return;
    }
    const entry = this.outbox.find((e) => e.id === f.id);
    if (!entry) return;
    const message = { seq: f.seq, id: f.id, from: this.you, text: entry.text, ts: f.ts, reply_to: entry.replyTo ?? null, rev: f.rev ?? 0 };
    this.report(message, { own: true, live: true });
  }

  settle(id) {
    const before = this.outbox.length;
    this.outbox = this.outbox.filter((e) => e.id !== id);
    if (this.outbox.length !== before) {
      this.save();
      this.emit('outbox', { entries: this.outbox });
    }
  }

  /** Marks an entry as not sent, with the reason shown to the person. */
  fail(entry, code, why) {
    entry.error = why;
    entry.code = code;
    this.save();
    this.emit('outbox', { entries: this.outbox });
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
    if (f.id != null && this.searches.has(f.id)) {
      this.answerSearch(f.id, { error: { code: f.code, message: f.message ?? f.code } });
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
    if (f.id != null && this.olderRequest?.id === f.id) {
      this.olderRequest.resolve(null);
      this.olderRequest = null;
      this.emit('notice', { text: `Could not load older messages: ${f.message ?? f.code}` });
      return;
    }
    // A renewal the room refused: the token we have runs until it expires, then a 4401 close asks again.
    if (typeof f.id === 'string' && f.id.startsWith('auth-')) return;
    const action = f.id == null ? null : this.actions.find((a) => a.id === f.id);
    if (action) return this.actionFailed(action, f);
    const entry = f.id == null ? null : this.outbox.find((e) => e.id === f.id);
    if (!entry) {
      this.emit('notice', { text: `Server: ${f.message ?? f.code}` });
      return;
    }
    if (f.code === 'internal') {
      // Not stored, through no fault of the message: it stays pending and goes again (same id).
      setTimeout(() => this.outbox.includes(entry) && this.transmit(messageFrame(entry)), 2000);
      return;
    }
    if (f.code === 'slow_mode') {
      // Not stored: the room holds each author's messages apart. It goes again once the wait is over.
      const wait = Math.max(1, this.slowMode ?? 1) * 1000;
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
   * Queues a message (`replyTo`: the seq it answers); it is sent now if we are online, else on the
   * next welcome.
   */
  send(text, { replyTo = null } = {}) {
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

  /** Tries a failed message again: with its original id, or a new one if that id was taken. */
  retry(id) {
    const entry = this.outbox.find((e) => e.id === id);
    if (!entry || this.oversize(entry.text, entry.id)) return;
    if (entry.code === 'id_conflict') entry.id = messageId();
    if (entry.code === 'not_found') delete entry.replyTo; // what it answered is gone: send it plain
    delete entry.error;
    delete entry.code;
    this.save();
    this.emit('outbox', { entries: this.outbox });
    this.transmit(messageFrame(entry));
  }

  discard(id) {
    this.settle(id);
  }

  /**
   * Sends a change to a message: `edit`, `delete` or `react`. It waits in `actions` until acked, and
   * goes again after a reconnect (each is idempotent at the room). Null when it cannot be asked at
   * all: anonymous connections change nothing (the room would say forbidden).
   */
  act(frame) {
    if (!this.you?.uid && this.you) {
      this.emit('notice', { text: 'Only a connection with an identity can change messages.' });
      return null;
    }
    const action = { ...frame, id: messageId() };
    this.actions.push(action);
    this.transmit(action);
    return action;
  }

  /** Replaces the text of our message `seq` (the room keeps the earlier versions). */
  edit(seq, text) {
    const why = this.oversize(text, 'edit');
    if (why) {
      this.emit('notice', { text: `Could not edit the message: ${why}.` });
      return null;
    }
    return this.act({ type: 'edit', seq, text });
  }

  /** Deletes our message `seq`: its text and every earlier version are erased, a placeholder stays. */
  remove(seq) {
    return this.act({ type: 'delete', seq });
  }

  /** Sets our reaction `emoji` on `seq` on or off. */
  react(seq, emoji, on) {
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
   * Asks for the page of messages before the oldest we have. Resolves when it arrived (its messages
   * reported as `older`) with {count, hasOlder}, or with null when it could not be asked or answered
   * (offline, dropped, refused). One page at a time: a second call waits for the first.
   */
  loadOlder(limit = HISTORY_PAGE) {
    if (this.olderRequest) return this.olderRequest.promise;
    const before = this.oldestSeq();
    if (before === null || before <= 1 || !this.hasOlder) {
      this.hasOlder = false;
      return Promise.resolve({ count: 0, hasOlder: false });
    }
    const id = messageId();
    if (!this.transmit({ type: 'history', before, limit, id })) return Promise.resolve(null);
    const request = { id };
    request.promise = new Promise((resolve) => (request.resolve = resolve));
    this.olderRequest = request;
    return request.promise;
  }

  /**
   * Searches the room's history (best match first). Resolves with {results, hasMore} — each result a
   * whole message with its `snippet` — or {error: {code, message}} when the room refused the query
   * (bad_query, rate_limited) or the connection went before it answered. `limit`: 1..limits.results.
   */
  search(q, { limit, before } = {}) {
    const id = messageId();
    const frame = { type: 'search', q, id };
    if (limit != null) frame.limit = limit;
    if (before != null) frame.before = before;
    if (!this.transmit(frame)) return Promise.resolve({ error: { code: 'offline', message: 'not connected' } });
    return new Promise((resolve) => this.searches.set(id, resolve));
  }

  answerSearch(id, answer) {
    const resolve = this.searches.get(id);
    if (!resolve) return;
    this.searches.delete(id);
    resolve(answer);
  }

  onHistory(f) {
    const request = this.olderRequest;
    if (!request || f.id !== request.id) return;
    this.olderRequest = null;
    const messages = Array.isArray(f.messages) ? f.messages : [];
    for (const m of messages) this.report(m, { live: false, older: true });
    this.hasOlder = Boolean(f.has_more) && messages.length > 0;
    const done = { count: messages.length, hasOlder: this.hasOlder };
    this.emit('older', done);
    request.resolve(done);
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
  loadMembers(limit = 100) {
    if (this.membersRequest) return this.membersRequest.promise;
    const id = `r-${Math.random().toString(36).slice(2)}`;
    const after = this.membersCursor;
    let resolve;
    const promise = new Promise((r) => (resolve = r));
    const frame = { type: 'roster', id, limit, ...(after ? { after } : {}) };
    if (!this.transmit(frame)) return Promise.resolve(false);
    this.membersRequest = { id, resolve, promise };
    return promise;
  }

  onMembers(f) {
    const request = this.membersRequest;
    if (!request || f.id !== request.id) return;
    this.membersRequest = null;
    for (const u of f.members ?? []) this.members.set(u.id, u);
    if (typeof f.online === 'number') this.online = f.online;
    this.membersCursor = f.next ?? null;
    this.partial = Boolean(f.next) || this.members.size < this.online;
    this.emitRoster();
    request.resolve(true);
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
