// The test peer: one real `ws` client speaking protocol v1, used by every integration test and scenario.
// By default it records every frame, and `next(pred)` waits for one. A crowd's socket is `lean`: it
// keeps no frames at all (a scenario holds 2,400 of them), and only its trackers see what arrives.
// Trackers (tests/common/trackers/) are small objects, each keeping one thing a test measures or
// checks: the resume position and the unacked messages (`Resume`), the count of presence
// (`Presence`), the member list (`Roster`), the messages that arrived (`Messages`), what crossed the
// wire (`Traffic`). A client is given any of them under names of the test's choosing:
//
//   const p = await Client.connect(server.ws(room, { name }), { lean: true, track: { presence: new Presence() } });
//   p.presence.online
//
// With `reconnect`, the client outlives its sockets, as docs/PROTOCOL.md asks a client to: when a
// socket drops it opens another, its trackers adding their query (a `Resume` adds `after=`/`since=`)
// and resending what they must.
//
// A tracker may define, all optional:
//   attach(client)   once, when the client is made (to send, or to name the client in its errors);
//   query()          the query parameters the next connection adds to the URL (`after`, `since`);
//   wire(text, outer) each WebSocket frame as received (`outer`: parsed, a batch not yet unpacked);
//   take(frame)      each frame, a batch's one by one, the welcome too; returning true claims an
//                    `error` frame (e.g. a rate_limited refusal it retries), which otherwise goes to
//                    `client.errors`;
//   dropped()        the socket closed without the client asking, a reconnect follows.
// It records the guarantees it sees broken in `client.errors`, which a scenario asserts is empty.

import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { sleep } from './clock.mjs';
import { randomId } from './ids.mjs';

/**
 * A WebSocket client. `next(pred)` waits for the next unread frame matching `pred` (frames skipped on
 * the way stay readable by later calls with other predicates; a lean client only sees frames that
 * arrive while it waits); `closedPromise()` resolves once the socket is closed, by either side.
 *
 * options:
 *   protocols, headers  the subprotocols to offer and extra handshake headers (credentials out of the URL);
 *   welcome             `connect` waits for the welcome (default true);
 *   lean                keep no frames (`frames`, `raw`, `batches` stay unset): for crowds;
 *   track               { name: tracker }: each tracker becomes `client[name]`;
 *   reconnect           reopen the socket when it drops (100–300 ms apart), and retry a failed first
 *                       connect for `connectTimeoutMs` (60 s);
 *   closeTimeoutMs      `close()` cuts the TCP connection if the server has not answered its close by
 *                       then (a server whose object was just aborted never does);
 *   deflate             offer permessage-deflate (ws's default: true; crowds turn it off, see
 *                       tests/scenarios/presence-crowd.mjs);
 *   maxPayload          the largest frame accepted (1 MiB; 8 MiB when lean or reconnecting: a resumed welcome is big).
 */
export class Client {
  #welcomed; // the current socket's welcome: { promise, resolve, reject }
  #closers = []; // resolvers of closedPromise()

  constructor(url, options = {}) {
    this.address = url; // the URL asked for; each connection adds its trackers' query to it
    this.url = url; // the URL of the current socket
    this.name = new URL(url).searchParams.get('name');
    this.options = options;
    this.lean = options.lean ?? false;
    if (!this.lean) {
      this.frames = []; // every parsed frame, in arrival order (a batch's frames one by one)
      this.raw = []; // every text frame as received
      this.batches = []; // the size of each batch frame received
      this.consumed = new Set();
    }
    this.waiters = [];
    this.errors = []; // broken guarantees and unclaimed error frames, for a scenario to assert empty
    this.closed = null; // { code, reason } once closed for good
    this.welcome = undefined; // the latest welcome (a lean client's without history and members)
    this.ready = false; // welcomed on the current socket, and it is still open
    this.connections = 0; // welcomes received: 1 + the successful reconnects
    this.drops = 0; // closes it did not ask for
    this.failedAttempts = 0; // reconnects refused or closed before their welcome
    this.stopped = false; // close() was called
    this.trackers = [];
    for (const [name, tracker] of Object.entries(options.track ?? {})) {
      if (name in this) throw new Error(`a tracker cannot be named "${name}": Client has that field`);
      this[name] = tracker;
      this.trackers.push(tracker);
      tracker.attach?.(this);
    }
    this.#open();
  }

  /** Opens a socket (and resolves once it is welcomed); `reconnect` clients retry until `connectTimeoutMs`. */
  static async connect(url, options = {}) {
    const c = new Client(url, options);
    if (options.reconnect) {
      const deadline = Date.now() + (options.connectTimeoutMs ?? 60_000);
      while (!(await c.#welcomed.promise.then(() => true, () => false))) {
        if (Date.now() > deadline) throw new Error(`${c.name}: no welcome within ${options.connectTimeoutMs ?? 60_000} ms`);
        await sleep(200);
        c.#open();
      }
      return c;
    }
    await c.opened;
    if (options.welcome === false) return c;
    if (c.lean) await c.#welcomed.promise;
    else c.welcome = await c.next('welcome');
    return c;
  }

  /**
   * Opens `url` expecting the server to refuse the upgrade; resolves with the refusal (an Error with
   * `status` and the parsed JSON `body`), and fails if the socket was accepted instead.
   */
  static async refused(url, options) {
    const c = new Client(url, options);
    const err = await c.opened.then(() => null, (e) => e);
    if (!err) {
      c.terminate();
      throw new Error(`${url} was accepted, but it must be refused`);
    }
    return err;
  }

  /**
   * Opens `url` expecting a refusal told on the socket, as a browser can read it: the socket is
   * accepted, one `error` frame arrives, then a close with 4000 + the HTTP status. Resolves with
   * {code, message, closeCode, reason}; fails if a welcome comes instead or the upgrade is refused.
   */
  static async refusedOnSocket(url, options) {
    const c = new Client(url, options);
    await c.opened;
    const frame = await c.next((f) => f.type === 'error' || f.type === 'welcome');
    if (frame.type === 'welcome') {
      c.terminate();
      throw new Error(`${url} was welcomed, but it must be refused`);
    }
    const closed = await c.closedPromise();
    assert.equal(c.frames.length, 1, `only the error frame before the close: ${JSON.stringify(c.frames)}`);
    return { code: frame.code, message: frame.message, closeCode: closed.code, reason: closed.reason };
  }

  /** The URL of the next connection: the address plus every tracker's query. */
  #nextUrl() {
    const query = Object.assign({}, ...this.trackers.map((t) => t.query?.() ?? {}));
    if (!Object.keys(query).length) return this.address;
    const u = new URL(this.address);
    for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
    return u.toString();
  }

  /** Opens a new socket; `opened` settles with its upgrade, the private `#welcomed` with its welcome. */
  #open() {
    this.url = this.#nextUrl();
    const lean = this.lean || this.options.reconnect;
    const ws = new WebSocket(this.url, this.options.protocols ?? [], {
      headers: this.options.headers ?? {},
      maxPayload: this.options.maxPayload ?? (lean ? 8 << 20 : 1 << 20),
      ...(this.options.deflate === undefined ? {} : { perMessageDeflate: this.options.deflate }),
    });
    this.ws = ws;
    let resolve;
    let reject;
    const promise = new Promise((res, rej) => ((resolve = res), (reject = rej)));
    promise.catch(() => {});
    this.#welcomed = { promise, resolve, reject };
    ws.on('message', (data, isBinary) => this.#receive(ws, data, isBinary));
    ws.on('close', (code, reason) => this.#onClose(ws, code, reason.toString()));
    ws.on('error', () => {});
    this.opened = new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('unexpected-response', (req, res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => {
          const err = new Error(`HTTP ${res.statusCode}: ${body}`);
          err.status = res.statusCode;
          try {
            err.body = JSON.parse(body);
          } catch {
            err.body = body;
          }
          reject(err);
          this.#welcomed.reject(err);
          // A reconnecting client moves on to its next attempt: end this one (it emits `close`).
          if (this.options.reconnect) ws.terminate();
        });
      });
      ws.once('error', reject);
      ws.once('close', () => reject(new Error('closed before open')));
    });
    this.opened.catch(() => {});
  }

  #receive(ws, data, isBinary) {
    if (ws !== this.ws) return;
    const text = isBinary ? null : data.toString();
    let outer;
    try {
      outer = JSON.parse(text);
    } catch {
      outer = { type: '_text', text };
    }
    for (const t of this.trackers) t.wire?.(text, outer);
    if (!this.lean) this.raw.push(text);
    // A batch (batch=1) is read as the frames it holds, in order; `batches` counts them.
    const batch = outer?.type === 'batch' && Array.isArray(outer.frames);
    if (batch && !this.lean) this.batches.push(outer.frames.length);
    for (const frame of batch ? outer.frames : [outer]) this.#take(ws, frame);
  }

  #take(ws, frame) {
    if (frame?.type === 'welcome') {
      if (this.stopped && this.options.reconnect) {
        // A reconnect that was under way when the test closed this client: leave nothing open.
        ws.terminate();
        return;
      }
      // A lean client keeps the welcome without its lists (history, members): its trackers took what
      // they need, and 2,400 copies of a roster page would outweigh the sockets.
      this.welcome = this.lean ? { ...frame, history: undefined, members: undefined } : frame;
      this.ready = true;
      this.connections += 1;
    }
    let claimed = false;
    for (const t of this.trackers) claimed = t.take?.(frame) === true || claimed;
    if (frame?.type === 'error' && !claimed) this.errors.push(`${this.name}: error ${frame.code}: ${frame.message}`);
    if (frame?.type === 'welcome') this.#welcomed.resolve(frame);
    if (this.lean) {
      const i = this.waiters.findIndex((w) => w.test(frame));
      if (i >= 0) this.waiters[i].resolve(frame);
    } else {
      this.frames.push(frame);
      this.wake();
    }
  }

  #onClose(ws, code, reason) {
    if (ws !== this.ws) return;
    const wasReady = this.ready;
    this.ready = false;
    this.#welcomed.reject(new Error(`closed ${code} before welcome`));
    if (this.options.reconnect && !this.stopped) {
      // Not final: a drop (then a reconnect), or an attempt that failed (its loop tries again).
      if (wasReady) {
        this.drops += 1;
        for (const t of this.trackers) t.dropped?.();
        this.#reconnect();
      }
      return;
    }
    this.#final({ code, reason });
  }

  #final(closed) {
    this.closed = closed;
    for (const resolve of this.#closers.splice(0)) resolve(closed);
    this.wake();
  }

  async #reconnect() {
    for (;;) {
      this.#open();
      if (await this.#welcomed.promise.then(() => true, () => false)) return;
      if (this.stopped) return;
      this.failedAttempts += 1;
      await sleep(100 + Math.random() * 200);
      if (this.stopped) return;
    }
  }

  /** Resolves with {code, reason} once the socket is closed (for good, for a reconnecting client). */
  closedPromise() {
    if (this.closed) return Promise.resolve(this.closed);
    return new Promise((resolve) => this.#closers.push(resolve));
  }

  wake() {
    for (const w of [...this.waiters]) w.check?.();
    if (this.lean && this.closed) for (const w of [...this.waiters]) w.fail();
  }

  /** Next unread frame whose type is `type` (string) or that satisfies `pred` (function). */
  next(pred, timeoutMs = 10_000) {
    const test = typeof pred === 'string' ? (f) => f.type === pred : pred;
    return new Promise((resolve, reject) => {
      const waiter = {
        test,
        resolve: (f) => {
          done();
          resolve(f);
        },
        fail: () => {
          done();
          reject(new Error(`socket closed (${this.closed.code}) while waiting for ${pred}`));
        },
      };
      if (!this.lean) {
        waiter.check = () => {
          for (let i = 0; i < this.frames.length; i++) {
            if (!this.consumed.has(i) && test(this.frames[i])) {
              this.consumed.add(i);
              waiter.resolve(this.frames[i]);
              return true;
            }
          }
          if (this.closed) {
            waiter.fail();
            return true;
          }
          return false;
        };
      }
      const timer = setTimeout(() => {
        done();
        const seen = this.lean ? '(a lean client keeps no frames)' : JSON.stringify(this.frames).slice(0, 2000);
        reject(new Error(`timeout waiting for ${pred} on ${this.url}; got ${seen}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== waiter);
      };
      if (this.lean && this.closed) waiter.fail();
      else if (!waiter.check?.()) this.waiters.push(waiter);
    });
  }

  /** Frames of `type` received so far (not on a lean client, which keeps none). */
  all(type) {
    if (this.lean) throw new Error('a lean client keeps no frames');
    return this.frames.filter((f) => f.type === type);
  }

  send(obj) {
    this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
  }

  /** Sends a message and resolves with its ack (or rejects with the error frame). */
  say(text, id = randomId()) {
    return this.act({ type: 'message', text }, id);
  }

  /** Sends `frame` under a fresh `id` and resolves with its ack (or rejects with the error frame). */
  async act(frame, id = randomId()) {
    this.send({ ...frame, id });
    const reply = await this.next((f) => (f.type === 'ack' || f.type === 'error') && f.id === id);
    if (reply.type === 'error') throw Object.assign(new Error(reply.message), { frame: reply });
    return reply;
  }

  /**
   * Sends `frame` under a fresh `id` and resolves with the first frame that answers that id, whatever
   * its type (a `roster` page, an ack…); rejects with an error frame.
   */
  async ask(frame, timeoutMs = 10_000) {
    const id = randomId();
    this.send({ ...frame, id });
    const reply = await this.next((f) => f.id === id && f.type !== 'message', timeoutMs);
    if (reply.type === 'error') throw Object.assign(new Error(reply.message), { frame: reply });
    return reply;
  }

  /**
   * Stops reading from the socket (ws's public `pause()`, which pauses the TCP stream): frames pile up
   * in the kernel's buffers, then in the server's send queue for this socket, as for a stalled reader.
   */
  stopReading() {
    this.ws.pause();
  }

  startReading() {
    this.ws.resume();
  }

  /**
   * Closes cleanly and resolves with the close {code, reason} the client saw. A reconnecting client
   * stops reconnecting; a socket still connecting is cut.
   */
  close(code = 1000, reason = 'bye') {
    this.stopped = true;
    const closed = this.closedPromise();
    if (this.closed) return closed;
    const ws = this.ws;
    if (!this.options.reconnect) {
      ws.close(code, reason);
    } else if (ws.readyState === WebSocket.OPEN) {
      ws.close(code, reason);
    } else if (ws.readyState === WebSocket.CLOSED) {
      this.#final({ code: 1006, reason: 'closed between reconnects' }); // no socket to close
    } else {
      ws.terminate();
    }
    if (this.options.closeTimeoutMs) setTimeout(() => ws.terminate(), this.options.closeTimeoutMs).unref();
    return closed;
  }

  terminate() {
    this.ws.terminate();
  }
}
