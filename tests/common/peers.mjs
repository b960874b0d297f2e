// The scenario clients (tests/scenarios/): real `ws` clients that, unlike the harness's `Client`, keep
// no list of frames to wait on. Each checks its guarantees as frames arrive and keeps only what the
// scenario measures, because a scenario holds hundreds of them or keeps them through server restarts.
//   - `Peer`: one chat participant across many connections, resilient the way docs/PROTOCOL.md asks a
//     client to be: it reconnects with `after=<highest seq seen>` and resends every unacked message
//     with its original `id`. It records every broken guarantee it sees (a duplicate, a message out of
//     `seq` order, an id acked with two seqs).
//   - `LeanPeer`: one socket of a crowd (1000 in the soak): its roster, the seqs it got and when each
//     message arrived; an error for a duplicate join or leave, or a seq out of order. It can stop
//     reading (`pause`) to play a slow reader.

import WebSocket from 'ws';
import { now, randomId, sleep } from './harness.mjs';

/**
 * A chat client that survives server restarts the way docs/PROTOCOL.md tells clients to: it reconnects
 * with `after=<highest seq seen>`, and resends every unacked message with its original `id`.
 * `violations` collects every broken guarantee it observes (duplicate, out of order, changed ack).
 */
export class Peer {
  constructor(url, name) {
    this.url = url; // a function: (query) => ws url; the port stays the same across restarts
    this.name = name;
    this.delivered = []; // { seq, id, from, text } from welcome.history and message frames, in arrival order
    this.acks = new Map(); // id -> seq
    this.pending = new Map(); // id -> text, unacked, in send order
    this.sentAt = new Map(); // id -> time of the first send
    this.maxSeen = 0; // highest seq seen: delivered or acked
    this.violations = [];
    this.connections = 0;
    this.rateLimited = 0;
    this.firstConnection = new Map(); // id -> the connection (1, 2, …) it was first transmitted on
    this.storedBeforeCrash = 0; // acked only after a reconnect, yet already stored before it: deduplicated
    this.welcomeLastSeq = 0;
    this.stopped = false;
    this.ws = null;
    this.ready = false;
  }

  get seenSeqs() {
    const s = new Set(this.delivered.map((m) => m.seq));
    for (const seq of this.acks.values()) s.add(seq);
    return s;
  }

  /** Connects (retrying until `timeoutMs`), then keeps reconnecting whenever the socket drops. */
  async start(timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    while (!(await this.connectOnce())) {
      if (Date.now() > deadline) throw new Error(`${this.name}: could not connect within ${timeoutMs} ms`);
      await sleep(200);
    }
  }

  connectOnce() {
    return new Promise((resolve) => {
      const ws = new WebSocket(this.url({ name: this.name, after: String(this.maxSeen) }), { maxPayload: 8 << 20 });
      let welcomed = false;
      ws.on('error', () => {});
      ws.on('message', (data) => {
        const f = JSON.parse(data.toString());
        if (f.type === 'welcome') {
          welcomed = true;
          if (f.truncated) this.violations.push(`${this.name}: resume truncated at after=${this.maxSeen}`);
          for (const m of f.history) this.deliver(m);
          this.ws = ws;
          this.ready = true;
          this.connections += 1;
          this.welcomeLastSeq = f.last_seq;
          // Resend everything unacked, with the same ids: the room acks duplicates with their original seq.
          for (const [id, text] of this.pending) this.transmit(id, text);
          resolve(true);
        } else if (f.type === 'message') {
          this.deliver(f);
        } else if (f.type === 'ack') {
          this.acked(f);
        } else if (f.type === 'error') {
          if (f.code === 'rate_limited' && this.pending.has(f.id)) {
            this.rateLimited += 1;
            setTimeout(() => this.pending.has(f.id) && this.transmit(f.id, this.pending.get(f.id)), 250).unref();
          } else {
            this.violations.push(`${this.name}: unexpected error ${JSON.stringify(f)}`);
          }
        }
      });
      ws.on('close', () => {
        if (this.ws === ws) {
          this.ws = null;
          this.ready = false;
        }
        if (!welcomed) resolve(false);
        else if (!this.stopped) this.reconnect();
      });
    });
  }

  async reconnect() {
    while (!this.stopped && !(await this.connectOnce())) await sleep(150 + Math.random() * 150);
  }

  deliver(m) {
    if (m.seq <= this.maxSeen) {
      const twice = this.delivered.some((d) => d.seq === m.seq);
      this.violations.push(`${this.name}: seq ${m.seq} ${twice ? 'delivered twice' : 'arrived out of order'} (after ${this.maxSeen})`);
    }
    this.delivered.push({ seq: m.seq, id: m.id, from: m.from.name, text: m.text });
    this.maxSeen = Math.max(this.maxSeen, m.seq);
  }

  acked(f) {
    const before = this.acks.get(f.id);
    if (before !== undefined && before !== f.seq) this.violations.push(`${this.name}: id ${f.id} acked as ${before}, then as ${f.seq}`);
    if (before === undefined && this.firstConnection.get(f.id) < this.connections && f.seq <= this.welcomeLastSeq) {
      this.storedBeforeCrash += 1;
    }
    this.acks.set(f.id, f.seq);
    this.pending.delete(f.id);
    // Every message with a lower seq was sent on this socket before this ack (the room handles events
    // one at a time and a socket delivers in order), so the ack's seq counts as seen.
    this.maxSeen = Math.max(this.maxSeen, f.seq);
  }

  transmit(id, text) {
    if (this.ready && this.ws?.readyState === WebSocket.OPEN) {
      if (!this.firstConnection.has(id)) this.firstConnection.set(id, this.connections);
      this.ws.send(JSON.stringify({ type: 'message', text, id }));
    }
  }

  /** Queues a message: sent now if connected, else on the next reconnect. */
  send(text, id = `${this.name}-${randomId()}`) {
    this.pending.set(id, text);
    if (!this.sentAt.has(id)) this.sentAt.set(id, now());
    this.transmit(id, text);
    return id;
  }

  async stop() {
    this.stopped = true;
    const ws = this.ws;
    if (ws && ws.readyState === WebSocket.OPEN) {
      await new Promise((resolve) => {
        ws.once('close', resolve);
        ws.close(1000, 'done');
        setTimeout(resolve, 5000).unref();
      });
    } else ws?.terminate();
  }
}

/** A light client for crowds: a roster, the message seqs it got, its close code. */
export class LeanPeer {
  static async connect(url) {
    const p = new LeanPeer();
    await p.open(url);
    return p;
  }

  open(url) {
    this.roster = new Map();
    this.seqs = [];
    this.arrivals = new Map(); // message id -> time received (its message frame, or its ack for the sender)
    this.acked = new Set(); // ids of this socket's messages that were acked
    this.refused = new Set(); // ids of this socket's messages refused with rate_limited
    this.errors = [];
    this.closed = null;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { maxPayload: 8 << 20 });
      this.ws = ws;
      ws.on('error', (e) => reject(e));
      ws.on('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.on('message', (data) => {
        const f = JSON.parse(data.toString());
        switch (f.type) {
          case 'welcome':
            this.me = f.you;
            for (const u of f.members) this.roster.set(u.id, u.name);
            resolve();
            break;
          case 'join':
            if (this.roster.has(f.user.id)) this.errors.push(`join for ${f.user.id} already present`);
            this.roster.set(f.user.id, f.user.name);
            break;
          case 'leave':
            if (!this.roster.delete(f.user.id)) this.errors.push(`leave for ${f.user.id} not present`);
            break;
          case 'message':
            if (this.seqs.length && f.seq <= this.seqs.at(-1)) this.errors.push(`seq ${f.seq} after ${this.seqs.at(-1)}`);
            this.seqs.push(f.seq);
            this.arrivals.set(f.id, now());
            break;
          case 'ack':
            this.arrivals.set(f.id, now());
            this.acked.add(f.id);
            break;
          case 'error':
            if (f.code === 'rate_limited') this.refused.add(f.id);
            else this.errors.push(`error ${f.code}`);
            break;
          default:
            break;
        }
      });
      ws.on('close', (code) => {
        this.closed = code;
        reject(new Error(`closed ${code} before welcome`));
      });
    });
  }

  say(text, id) {
    this.ws.send(JSON.stringify({ type: 'message', text, id }));
  }

  /**
   * Stops reading from the socket (ws's public `pause()`, which pauses the TCP stream): frames pile up
   * in the kernel's buffers, then in the server's send queue for this socket, as for a stalled reader.
   */
  pause() {
    this.ws.pause();
  }

  resume() {
    this.ws.resume();
  }

  close(code = 1000) {
    if (this.closed !== null) return Promise.resolve(this.closed);
    return new Promise((resolve) => {
      this.ws.once('close', (c) => resolve(c));
      this.ws.close(code, 'bye');
    });
  }
}
