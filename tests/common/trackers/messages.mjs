// The messages one socket received, for scenarios that measure delivery on a single connection
// (crowd, flood, slow reader, presence crowd): their seqs in arrival order (a seq not above the one
// before is a broken guarantee), when each id arrived (its message frame, or its ack for the sender),
// and which of this socket's own messages were acked or refused with rate_limited (a refusal is
// expected under load, so it claims that error frame). For a client that reconnects, see resume.mjs.

import { now } from '../clock.mjs';

export class Messages {
  constructor() {
    this.seqs = [];
    this.arrivals = new Map(); // message id -> time received (its message frame, or its ack for the sender)
    this.acked = new Set(); // ids of this socket's messages that were acked
    this.refused = new Set(); // ids of this socket's messages refused with rate_limited
  }

  attach(client) {
    this.client = client;
  }

  take(f) {
    switch (f.type) {
      case 'message':
        if (this.seqs.length && f.seq <= this.seqs.at(-1)) this.client.errors.push(`${this.client.name}: seq ${f.seq} after ${this.seqs.at(-1)}`);
        this.seqs.push(f.seq);
        this.arrivals.set(f.id, now());
        return false;
      case 'ack':
        this.arrivals.set(f.id, now());
        this.acked.add(f.id);
        return false;
      case 'error':
        if (f.code !== 'rate_limited') return false;
        this.refused.add(f.id);
        return true;
      default:
        return false;
    }
  }
}
