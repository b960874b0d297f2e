//! The protocol half of the browser client: one `ChatClient` per (room, name) speaks protocol v1
//! (docs/PROTOCOL.md) over a WebSocket and keeps the promises the UI makes — reconnect with backoff,
//! resume with `after=<last seq>`, an outbox of unacked messages retried with the same `id`, a
//! heartbeat, the roster and "is typing". It never touches the DOM: it reports what happened as
//! events on an `EventTarget`, and app.js draws them. The WebSocket and the storage are passed in,
//! and time is only `Date.now`/`setTimeout`, so tests drive it with a fake socket and a fake clock.
//!
//! Events (each a CustomEvent; `detail` as listed):
//!   status   {state: 'connecting'|'online'|'waiting'|'reconnecting'|'closed', retryAt, attempt}
//!   message  {message, own, live}  a stored message (it has a `seq`), each seq at most once, in seq
//!                             order except for late acks of old messages (the UI places them by
//!                             seq); `live` is false for history delivered by a welcome
//!   outbox   {entries}        the unacked messages changed (entry: {id, text, createdAt, error?})
//!   roster   {members, you}   every open connection of the room
//!   join / leave {user}       somebody else came or went (only live changes, not the welcome)
//!   typing   {names}          who is typing right now (expires by itself)
//!   notice   {text}           something the user should know (history truncated, …)

/** Room names the server accepts: 1–64 characters of `A-Z a-z 0-9 _ . -`. */
export const ROOM_RE = /^[A-Za-z0-9_.-]{1,64}$/;
/** The longest message text, in characters (Unicode scalar values, as the server counts). */
export const MAX_TEXT = 4000;
/** How long "bob is typing…" stays after bob's last typing frame. */
export const TYPING_SHOWN_MS = 4000;
/** The least time between two typing frames we send (each one costs a rate-limit token). */
export const TYPING_EVERY_MS = 2500;

const REASONS = {
  rate_limited: 'rate limited — too many messages at once',
  too_large: `too large (at most ${MAX_TEXT} characters)`,
  bad_request: 'refused by the server',
};

/** Length in Unicode scalar values (what the server's limits count), not UTF-16 units. */
export function charCount(text) {
  let n = 0;
  for (const _ of text) n += 1;
  return n;
}

/** The name the server will use, or null when it would answer 400 bad_name. */
export function cleanName(raw) {
  const name = String(raw ?? '').trim();
  const n = charCount(name);
  // eslint-disable-next-line no-control-regex
  if (n < 1 || n > 32 || /[\u0000-\u001f\u007f-\u009f]/.test(name)) return null;
  return name;
}

export function isRoomName(room) {
  return ROOM_RE.test(room);
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

export class ChatClient extends EventTarget {
  /**
   * options: room, name (already checked with isRoomName/cleanName); origin (the page's, default
   * `location.origin`); storage (default sessionStorage: the outbox survives a reload of this tab);
   * WebSocket; heartbeatMs / pongTimeoutMs / welcomeTimeoutMs; backoff options {base, cap}.
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

    this.state = 'closed';
    this.ws = null;
    this.you = null;
    this.members = new Map(); // connection id → user
    this.lastSeq = null; // highest seq seen; null until the first welcome (then `after=` is sent)
    this.seen = new Set(); // seqs already reported, so history and live frames never double
    this.outbox = this.load(); // unacked messages, oldest first
    this.typers = new Map(); // connection id → {name, until}
    this.attempt = 0;
    this.retryAt = null;
    this.lastTypingSent = -Infinity;
    this.timers = {};
  }

  get storageKey() {
    return `edge-chat:outbox:${this.room}:${this.name}`;
  }

  load() {
    try {
      const list = JSON.parse(this.storage?.getItem(this.storageKey) ?? '[]');
      return Array.isArray(list) ? list.filter((e) => e && typeof e.id === 'string' && typeof e.text === 'string') : [];
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
    this.emit('status', { state, retryAt: this.retryAt, attempt: this.attempt });
  }

  /** Opens the connection (and keeps it open until stop()). */
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
    ws.onclose = () => this.dropped();
    // A refusal before the upgrade (room_full, forbidden_origin) reaches a browser only as a close.
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

  dropped() {
    this.detach();
    this.clearTimers();
    this.typers.clear();
    this.emit('typing', { names: [] });
    if (this.stopped) return;
    const delay = backoff(this.attempt, this.backoffOptions);
    this.attempt += 1;
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
    this.setState('online');
    this.emitRoster();
    // Whatever is still in the outbox may or may not have arrived before we lost the last socket:
    // resending with the same id is safe, the room acks a duplicate with the original seq.
    this.flushOutbox();
    this.timers.heartbeat = setInterval(() => this.beat(), this.heartbeatMs);
  }

  /**
   * Resends the pending outbox after a (re)connect, paced under the room's default rate limit
   * (burst 20, then 10/s): 10 at once, then one every 150 ms, so a long offline queue is neither
   * refused as `rate_limited` nor closed as a flood. Stops when the socket goes; the next welcome
   * starts again (resending an id the room already stored is harmless: it is acked, not stored).
   */
  flushOutbox() {
    clearTimeout(this.timers.flush);
    const pending = this.outbox.filter((e) => !e.error);
    const step = (from) => {
      const to = Math.min(from + (from === 0 ? 10 : 1), pending.length);
      for (let k = from; k < to; k++) {
        const entry = pending[k];
        if (!this.outbox.includes(entry) || entry.error) continue;
        if (!this.transmit({ type: 'message', text: entry.text, id: entry.id })) return;
      }
      if (to < pending.length) this.timers.flush = setTimeout(() => step(to), 150);
    };
    step(0);
  }

  /** Reports a stored message once, resolving our own outbox entry if it is one of ours. */
  report(m, { own = false, live }) {
    if (typeof m?.seq !== 'number') return;
    const mine = own || (m.from?.name === this.name && this.outbox.some((e) => e.id === m.id));
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

  onError(f) {
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
    entry.error = REASONS[f.code] ?? f.message ?? f.code;
    entry.code = f.code;
    this.save();
    this.emit('outbox', { entries: this.outbox });
  }

  /** Queues a message; it is sent now if we are online, else on the next welcome. */
  send(text) {
    const entry = { id: messageId(), text, createdAt: Date.now() };
    if (charCount(text) > MAX_TEXT) {
      // Checked here as well: a frame over 64 KiB would make the room close the socket (1009).
      entry.error = `too large (${charCount(text)} characters, at most ${MAX_TEXT})`;
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

  /** Tries a failed message again, with its original id. */
  retry(id) {
    const entry = this.outbox.find((e) => e.id === id);
    if (!entry || entry.code === 'too_large') return;
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
