// Resuming, as docs/PROTOCOL.md asks a client to: keep the position (the highest seq seen, delivered or
// acked, and the room's last `rev`), reconnect with `after=<seq>&since=<rev>`, and resend every unacked
// message with its original `id` (the room acks a repeat with its first seq instead of storing it
// twice). Given to a `Client` with `reconnect: true` (tests/scenarios/restart.mjs, sharded-room.mjs),
// it records every broken guarantee it sees in `client.errors`: a seq twice or out of order, an id
// acked with two seqs, a resume the room truncated.

import WebSocket from 'ws';
import { now } from '../clock.mjs';
import { randomId } from '../ids.mjs';

export class Resume {
  /**
   * from: 'start' — the client owes every message of the room: its first connection asks `after=0`,
   *   so the welcome's history holds them; 'now' (default) — it owes what comes after its first
   *   welcome (`last_seq`), as a new member would.
   * bodies: also keep each delivered message's {seq, id, from, text}, to compare with storage.
   */
  constructor({ from = 'now', bodies = false } = {}) {
    this.startSeq = from === 'start' ? 0 : null; // null until the first welcome says where 'now' is
    this.maxSeen = 0; // highest seq seen: delivered or acked
    this.rev = null; // the room's last rev seen (welcome, message, ack, change)
    this.delivered = []; // seqs of message frames and resumed history, in arrival order
    this.messages = bodies ? [] : null; // { seq, id, from, text } of each, with `bodies`
    this.acks = new Map(); // id -> seq
    this.pending = new Map(); // id -> text, unacked, in send order
    this.firstConnection = new Map(); // id -> the connection (1, 2, …) it was first transmitted on
    this.storedBeforeCrash = 0; // acked only after a reconnect, yet already stored before it: deduplicated
    this.welcomeLastSeq = 0; // last_seq of the latest welcome
    this.rateLimited = 0; // rate_limited refusals of a pending message, each resent 250 ms later
    this.droppedAt = null; // when the socket last dropped
    this.resumeMs = []; // drop → welcome of each resume
  }

  attach(client) {
    this.client = client;
  }

  /** `after=` and `since=` once the position is known (not on a 'now' client's first connection). */
  query() {
    if (this.startSeq === null) return {};
    return { after: String(this.maxSeen), ...(this.rev === null ? {} : { since: String(this.rev) }) };
  }

  dropped() {
    this.droppedAt = now();
  }

  take(f) {
    if (typeof f.rev === 'number' && f.type !== 'welcome') this.rev = Math.max(this.rev ?? 0, f.rev);
    switch (f.type) {
      case 'welcome':
        this.welcomed(f);
        return false;
      case 'message':
        this.deliver(f);
        return false;
      case 'ack':
        this.acked(f);
        return false;
      case 'error':
        if (f.code !== 'rate_limited' || !this.pending.has(f.id)) return false;
        this.rateLimited += 1;
        setTimeout(() => this.pending.has(f.id) && this.transmit(f.id, this.pending.get(f.id)), 250).unref();
        return true;
      default:
        return false;
    }
  }

  welcomed(f) {
    this.welcomeLastSeq = f.last_seq;
    if (this.startSeq === null) {
      // A first connection gets the recent history, which it does not owe: it starts after last_seq.
      this.startSeq = f.last_seq;
      this.maxSeen = f.last_seq;
    } else {
      if (this.droppedAt !== null) this.resumeMs.push(now() - this.droppedAt);
      if (f.truncated) this.client.errors.push(`${this.client.name}: resume truncated at after=${this.maxSeen}`);
      for (const m of f.history) this.deliver(m);
    }
    if (typeof f.rev === 'number') this.rev = f.rev;
    // Resend everything unacked, with the same ids: the room acks duplicates with their original seq.
    for (const [id, text] of this.pending) this.transmit(id, text);
  }

  deliver(m) {
    if (m.seq <= this.maxSeen) {
      const twice = this.delivered.includes(m.seq) || [...this.acks.values()].includes(m.seq);
      this.client.errors.push(`${this.client.name}: seq ${m.seq} ${twice ? 'delivered twice' : 'arrived out of order'} (after ${this.maxSeen})`);
    }
    this.delivered.push(m.seq);
    this.messages?.push({ seq: m.seq, id: m.id, from: m.from.name, text: m.text });
    this.maxSeen = Math.max(this.maxSeen, m.seq);
  }

  acked(f) {
    const before = this.acks.get(f.id);
    if (before !== undefined && before !== f.seq) this.client.errors.push(`${this.client.name}: id ${f.id} acked as ${before}, then as ${f.seq}`);
    if (before === undefined && this.firstConnection.get(f.id) < this.client.connections && f.seq <= this.welcomeLastSeq) {
      this.storedBeforeCrash += 1;
    }
    this.acks.set(f.id, f.seq);
    this.pending.delete(f.id);
    // The room sends every lower seq to this socket before this ack (one sequencer turn at a time, one
    // ordered stream per socket), so the ack's seq counts as seen.
    this.maxSeen = Math.max(this.maxSeen, f.seq);
  }

  transmit(id, text) {
    const c = this.client;
    if (!c.ready || c.ws.readyState !== WebSocket.OPEN) return;
    if (!this.firstConnection.has(id)) this.firstConnection.set(id, c.connections);
    c.send({ type: 'message', text, id });
  }

  /** Queues a message: sent now if connected, else on the next reconnect. Returns its id. */
  send(text, id = randomId()) {
    this.pending.set(id, text);
    this.transmit(id, text);
    return id;
  }

  /** Every seq this client owes and has seen: its deliveries and its own acks, after `startSeq`. */
  seen() {
    const s = new Set(this.delivered.filter((q) => q > this.startSeq));
    for (const q of this.acks.values()) if (q > this.startSeq) s.add(q);
    return s;
  }
}
