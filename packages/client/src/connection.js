//! The connection: one WebSocket at a time, opened with our name, resume point (`after=`, `since=`)
//! and token in the URL and our identity key in the handshake; kept alive by a heartbeat; given up
//! when silent; reconnected after a backoff (a longer one when the room said "not now"), or stopped
//! for good when the room refused us (a close code 44xx, see refusalKind). Tokens are fetched from
//! the app before connecting, renewed on the live socket before they expire, and once more after a
//! 4401 close. Every frame that arrives goes to `onServerFrame` (frames.js). Mixed into `ChatClient`
//! (client.js); its state (`ws`, `state`, `attempt`, `timers`, …) is the client's.

import { ChatError } from './errors.js';
import { SUBPROTOCOL, identityKey } from './identity.js';
import { quiet } from './requests.js';

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

/** Reconnect delay: exponential from `base`, capped, with "equal jitter" (half fixed, half random),
 * so a room full of clients dropped by one restart does not come back in lockstep. */
export function backoff(attempt, { base = 500, cap = 10_000, random = Math.random } = {}) {
  const d = Math.min(cap, base * 2 ** attempt);
  return Math.round(d / 2 + random() * (d / 2));
}

/** @satisfies {ThisType<import('./client.js').ChatClient>} */
export const connection = {
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
  },

  setState(state) {
    this.state = state;
    this.emit('status', { state, retryAt: this.retryAt, attempt: this.attempt, reason: this.reason });
  },

  /**
   * Opens the connection (and keeps it open until stop() or a final refusal). The room's kept state
   * comes first (cache.js: its messages and outbox are reported before the socket is asked for).
   */
  start() {
    this.stopped = false;
    this.emit('outbox', { entries: this.outbox });
    this.watchNetwork();
    return this.restore(() => {
      if (this.getToken && !this.token) return this.fetchToken('connect').then(() => this.stopped || this.connect());
      this.connect();
    });
  },

  /**
   * Where the runtime says when the network goes and comes back (a browser's `offline` and `online`
   * events): gone, the socket is dropped at once — it may look open for the heartbeat's whole wait,
   * and what is sent meanwhile should wait in the outbox as pending rather than vanish into it —
   * and back, the backoff's wait is skipped.
   */
  watchNetwork() {
    const target = globalThis.addEventListener ? globalThis : null;
    if (!target || this.unwatchNetwork) return;
    const offline = () => this.ws && this.kill();
    const online = () => this.reconnectNow();
    target.addEventListener('offline', offline);
    target.addEventListener('online', online);
    this.unwatchNetwork = () => {
      target.removeEventListener('offline', offline);
      target.removeEventListener('online', online);
      this.unwatchNetwork = null;
    };
  },

  /** Asks the app for a token (`getToken`); keeps the one we have when it fails or gives none. */
  async fetchToken(reason) {
    try {
      const token = await this.getToken({ room: this.room, name: this.name, reason });
      if (typeof token === 'string' && token) this.token = token;
      return typeof token === 'string' && token ? token : null;
    } catch {
      return null;
    }
  },

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
  },

  /**
   * Presents a fresh token on the live socket (`auth`); resolves with the room's `auth_ok` (the new
   * `role` and `expires`), rejects with its refusal (`unauthorized`, `token_expired`, `forbidden` for
   * another user's token, `disabled`). Tokens fetched through `getToken` are renewed by themselves.
   */
  authenticate(token) {
    return this.request({ type: 'auth', token });
  },

  /** Closes for good (the user left the room). The outbox stays in the store for next time. */
  stop() {
    this.stopped = true;
    this.clearTimers();
    this.unwatchNetwork?.();
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
  },

  clearTimers() {
    // One pool for timeouts and intervals (HTML spec), so clearTimeout also ends the heartbeat.
    for (const t of Object.values(this.timers)) clearTimeout(t);
    this.timers = {};
  },

  url() {
    const u = new URL(`/ws/${encodeURIComponent(this.room)}`, this.origin);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    u.searchParams.set('name', this.name);
    if (this.batch) u.searchParams.set('batch', '1');
    if (this.token) u.searchParams.set('token', this.token);
    if (this.lastSeq !== null) {
      u.searchParams.set('after', String(this.lastSeq));
      if (this.rev !== null) u.searchParams.set('since', String(this.rev));
    }
    return u.href;
  },

  /**
   * The subprotocols we offer: our identity key rides in the handshake (`key.<key>` beside
   * `edge-chat`), never in the URL, which browsers print in connection errors and proxies log. None
   * without a key, so an anonymous client talks to any server as before.
   */
  protocols() {
    return this.key ? [SUBPROTOCOL, `key.${this.key}`] : undefined;
  },

  connect() {
    clearTimeout(this.timers.retry);
    this.retryAt = null;
    this.said = null;
    // A first connect is 'connecting' even when the offline store gave us a place to resume from.
    this.setState(!this.welcome && this.attempt === 0 ? 'connecting' : 'reconnecting');
    let ws;
    try {
      ws = new this.WebSocket(this.url(), this.protocols());
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
  },

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
  },

  /** Gives up on a socket that stopped answering. Its close handshake may never finish (that is why
   * it is dead), so we do not wait for the close event: we detach it and reconnect now. */
  kill() {
    const ws = this.ws;
    this.detach();
    try {
      ws?.close(4000, 'no answer');
    } catch {}
    this.dropped();
  },

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
  },

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
  },

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
  },

  /** Skips the backoff wait (the "reconnect now" button, or the browser coming back online). */
  reconnectNow() {
    if (this.state === 'waiting' && !this.stopped) this.connect();
  },

  transmit(frame) {
    if (this.state !== 'online' || !this.ws) return false;
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
    return true;
  },

  heard() {
    clearTimeout(this.timers.pong);
    delete this.timers.pong;
  },

  /** Every `heartbeatMs` a `ping` (answered by the runtime without waking the room); when nothing at
   * all comes back within `pongTimeoutMs`, the connection is dead even if TCP has not noticed. */
  beat() {
    if (this.timers.pong || !this.transmit('ping')) return;
    this.timers.pong = setTimeout(() => this.kill(), this.pongTimeoutMs);
  },

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
  },
};
