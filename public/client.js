//! The protocol half of the browser client: one `ChatClient` per (room, name) speaks protocol v1
//! (docs/PROTOCOL.md) over a WebSocket and keeps the promises the UI makes — reconnect with backoff,
//! resume with `after=<last seq>`, an outbox of unacked messages retried with the same `id`, a
//! heartbeat, the roster and "is typing". It never touches the DOM: it reports what happened as
//! events on an `EventTarget`, and app.js draws them. The WebSocket and the storage are passed in,
//! and time is only `Date.now`/`setTimeout`, so tests drive it with a fake socket and a fake clock.
//!
//! It copies none of the server's rules. What a valid room or name is, the server says by refusing
//! the socket (an `error` frame, then close 4000 + HTTP status); the sizes and the rate limit it
//! announces in `welcome.limits`, and the client paces and pre-checks by those.
//!
//! Events (each a CustomEvent; `detail` as listed):
//!   status   {state: 'connecting'|'online'|'waiting'|'reconnecting'|'refused'|'closed', retryAt,
//!             attempt, reason}  `reason` ({code, message, closeCode}) while waiting because the
//!             server said "not now" (room_full, rate_limited), else null
//!   refused  {code, message, closeCode}  the server refused us for good (bad_name, bad_room,
//!             unauthorized, …): the client has stopped and will not reconnect by itself
//!   message  {message, own, live}  a stored message (it has a `seq`), each seq at most once, in seq
//!                             order except for late acks of old messages (the UI places them by
//!                             seq); `live` is false for history delivered by a welcome
//!   outbox   {entries}        the unacked messages changed (entry: {key, id, text, createdAt, error?})
//!   roster   {members, you}   every open connection of the room
//!   join / leave {user}       somebody else came or went (only live changes, not the welcome)
//!   typing   {names}          who is typing right now (expires by itself)
//!   notice   {text}           something the user should know (history truncated, …)

/**
 * The limits assumed until a `welcome` announces the room's own (`welcome.limits`, which then
 * replace these). They only pace the outbox and pre-check sizes, never decide what is valid:
 * `text` and `frame_bytes` are protocol v1's fixed sizes, the bucket is half of v1's default
 * (RATE_BURST 20, RATE_PER_SEC 10), so a server configured tighter is rarely hit. A server that
 * announces nothing (older than `limits`) is paced by these too.
 */
export const DEFAULT_LIMITS = Object.freeze({ text: 4000, name: 32, id: 64, frame_bytes: 65_536, burst: 10, per_sec: 5, page: 1000 });
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
   * WebSocket; heartbeatMs / pongTimeoutMs / welcomeTimeoutMs; backoff options {base, cap} after a
   * dropped connection, busyBackoff {base, cap} after a room_full / rate_limited refusal.
   */
  constructor(options) {
    super();
    this.room = options.room;
    this.name = options.name;
    this.origin = options.origin ?? globalThis.location?.origin;
    this.storage = options.storage ?? globalThis.sessionStorage;
    this.WebSocket = options.WebSocket ?? globalThis.WebSocket;
    this.heartbeatMs = options.heartbeatMs ?? 25_000;
    this.pongTimeoutMs = options.pongTimeoutMs ?? 10_000;
    this.welcomeTimeoutMs = options.welcomeTimeoutMs ?? 10_000;
    this.backoffOptions = options.backoff ?? {};
    this.busyBackoffOptions = options.busyBackoff ?? { base: 4000, cap: 60_000 };

    this.state = 'closed';
    this.ws = null;
    this.you = null;
    this.limits = { ...DEFAULT_LIMITS }; // the room's own once a welcome announced them
    this.members = new Map(); // connection id → user
    this.lastSeq = null; // highest seq seen; null until the first welcome (then `after=` is sent)
    this.seen = new Set(); // seqs already reported, so history and live frames never double
    this.outbox = this.load(); // unacked messages, oldest first
    this.typers = new Map(); // connection id → {name, until}
    this.attempt = 0;
    this.retryAt = null;
    this.reason = null; // why we are waiting, when the server said "not now" (room_full, rate_limited)
    this.said = null; // the error frame of the current socket before its welcome: a refusal's reason
    this.lastTypingSent = -Infinity;
    this.timers = {};
  }

  get storageKey() {
    return `edge-chat:outbox:${this.room}:${this.name}`;
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
    this.connect();
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
    if (this.lastSeq !== null) u.searchParams.set('after', String(this.lastSeq));
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
    switch (f?.type) {
      case 'welcome':
        return this.onWelcome(f);
      case 'message':
        this.stopTyping(f.from?.id);
        return this.report(f, { live: true });
      case 'ack':
        return this.onAck(f);
      case 'join':
        this.members.set(f.user.id, f.user);
        this.emit('join', { user: f.user });
        return this.emitRoster();
      case 'leave':
        this.members.delete(f.user.id);
        this.stopTyping(f.user.id);
        this.emit('leave', { user: f.user });
        return this.emitRoster();
      case 'typing':
        return this.onTyping(f.user);
      case 'error':
        return this.onError(f);
    }
  }

  onWelcome(f) {
    clearTimeout(this.timers.welcome);
    this.you = f.you;
    this.members = new Map(f.members.map((m) => [m.id, m]));
    this.limits = announcedLimits(f.limits);
    const resumed = this.lastSeq !== null;
    if (f.truncated) {
      this.emit('notice', { text: resumed ? 'You were away for long: only the newest messages are shown.' : 'Older messages are no longer kept.' });
    }
    if (resumed && f.last_seq < this.lastSeq) {
      // The room is behind what we saw: its storage was reset (a fresh dev server, say). Its seqs
      // start again, so what we remember of the old ones would hide new messages.
      this.emit('notice', { text: 'The room was reset: its earlier messages are gone.' });
      this.seen.clear();
      this.lastSeq = 0;
    }
    // Everything up to last_seq is in history or already seen (the room sends the newest when it cuts).
    this.lastSeq = Math.max(this.lastSeq ?? 0, f.last_seq ?? 0);
    for (const m of f.history ?? []) this.report(m, { live: false });
    this.attempt = 0;
    this.reason = null;
    this.setState('online');
    this.emitRoster();
    // Whatever is still in the outbox may or may not have arrived before we lost the last socket:
    // resending with the same id is safe, the room acks a duplicate with the original seq.
    this.flushOutbox();
    this.timers.heartbeat = setInterval(() => this.beat(), this.heartbeatMs);
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
        if (!this.transmit({ type: 'message', text: entry.text, id: entry.id })) return;
      }
      if (to < pending.length) this.timers.flush = setTimeout(() => step(to), every);
    };
    step(0);
  }

  /**
   * Reports a stored message once, resolving our own outbox entry if it is one of ours: the room's
   * idempotency key, (name, id) with the same text. The same name and id with another text is
   * somebody else's message (the room answers ours with id_conflict), so our entry stays.
   */
  report(m, { own = false, live }) {
    if (typeof m?.seq !== 'number') return;
    const mine = own || (m.from?.name === this.name && this.outbox.some((e) => e.id === m.id && e.text === m.text));
    if (mine) this.settle(m.id);
    if (m.seq > (this.lastSeq ?? 0)) this.lastSeq = m.seq;
    if (this.seen.has(m.seq)) return;
    this.seen.add(m.seq);
    this.emit('message', { message: m, own: mine || m.from?.name === this.name, live });
  }

  onAck(f) {
    const entry = this.outbox.find((e) => e.id === f.id);
    if (!entry) return;
    this.report({ seq: f.seq, id: f.id, from: this.you, text: entry.text, ts: f.ts }, { own: true, live: true });
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
    const entry = f.id == null ? null : this.outbox.find((e) => e.id === f.id);
    if (!entry) {
      this.emit('notice', { text: `Server: ${f.message ?? f.code}` });
      return;
    }
    if (f.code === 'internal') {
      // Not stored, through no fault of the message: it stays pending and goes again (same id).
      setTimeout(() => this.outbox.includes(entry) && this.transmit({ type: 'message', text: entry.text, id: entry.id }), 2000);
      return;
    }
    if (f.code === 'id_conflict' && !entry.reissued) {
      // The room already stored another text under our (name, id). Our ids are random (messageId),
      // so that message is somebody else's who uses the same name, and ours was not stored: under a
      // fresh id it is simply a new message. Once only, so a server that kept refusing cannot loop us.
      entry.reissued = true;
      this.reissue(entry);
      this.transmit({ type: 'message', text: entry.text, id: entry.id });
      return;
    }
    const why = {
      rate_limited: 'rate limited — too many messages at once',
      too_large: `too large (at most ${this.limits.text} characters)`,
      id_conflict: 'its id was taken by another message',
      bad_request: 'refused by the server',
    }[f.code];
    this.fail(entry, f.code, why ?? f.message ?? f.code);
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

  /** Queues a message; it is sent now if we are online, else on the next welcome. */
  send(text) {
    const id = messageId();
    const entry = { key: id, id, text, createdAt: Date.now() };
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
    if (!entry.error) this.transmit({ type: 'message', text, id: entry.id });
    return entry;
  }

  /** Tries a failed message again: with its original id, or a new one if that id was taken. */
  retry(id) {
    const entry = this.outbox.find((e) => e.id === id);
    if (!entry || this.oversize(entry.text, entry.id)) return;
    if (entry.code === 'id_conflict') entry.id = messageId();
    delete entry.error;
    delete entry.code;
    this.save();
    this.emit('outbox', { entries: this.outbox });
    this.transmit({ type: 'message', text: entry.text, id: entry.id });
  }

  discard(id) {
    this.settle(id);
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

  emitRoster() {
    this.emit('roster', { members: [...this.members.values()], you: this.you });
  }
}
