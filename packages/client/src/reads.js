//! Read positions: ours (moved by what the page shows, sent at most once per READ_EVERY_MS, moved
//! too by our other tabs) and the others' read marks, from which come the unread count and "seen
//! by". Mixed into `ChatClient` (client.js); `readSeq`, `reads` and `unreadBase` are its fields.
//! The unread count is the main conversation's: a reply only in its thread counts there (threads.js).

import { inThreadOnly } from './threads.js';

/** The least time between two read marks we send (the room announces at most one a second anyway). */
export const READ_EVERY_MS = 1000;

/** @satisfies {ThisType<import('./client.js').ChatClient>} */
export const reads = {
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
    // The others' read positions (`welcome.reads`, rooms under the presence threshold): "seen by" is
    // right at once after a reload, each taken as the read mark it stands for.
    for (const r of Array.isArray(f.reads) ? f.reads : []) this.onRead(r);
  },

  /**
   * The SDK's name for markRead(): our read position moves up to `seq`. Nothing comes back — a `read`
   * frame has no id and no ack — so there is nothing to wait for; the `unread` event follows at once.
   */
  read(seq) {
    this.markRead(seq);
  },

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
  },

  sendReadSoon() {
    if (this.timers.read) return;
    const wait = this.lastReadSentAt + READ_EVERY_MS - Date.now();
    if (wait <= 0) this.sendRead();
    else this.timers.read = setTimeout(() => this.sendRead(), wait);
  },

  sendRead() {
    delete this.timers.read;
    if (!(this.readSeq > this.sentReadSeq)) return;
    if (!this.transmit({ type: 'read', seq: this.readSeq })) return; // the next welcome sends it
    this.sentReadSeq = this.readSeq;
    this.lastReadSentAt = Date.now();
  },

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
  },

  /** The names of the others known to have read up to `seq` (from their read marks), in order heard. */
  seenBy(seq) {
    const names = [];
    for (const { user, seq: upto } of this.reads.values()) if (upto >= seq && !names.includes(user.name)) names.push(user.name);
    return names;
  },

  /**
   * The others known to have read up to `seq`, as users ({id, name, uid}), one per uid, in order
   * heard: two people who chose the same name are two entries (seenBy() names them once).
   */
  seenByUsers(seq) {
    const users = [];
    for (const { user, seq: upto } of this.reads.values()) if (upto >= seq) users.push(user);
    return users;
  },

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
      if (m.deleted || this.isOwn(m) || inThreadOnly(m)) continue;
      if (m.seq > this.readSeq) n += 1;
      if (base && m.seq > base.readSeq && m.seq <= base.upto) loadedSinceBase += 1;
    }
    const oldest = this.oldestSeq();
    if (base && (oldest === null || this.readSeq < oldest - 1)) n += Math.max(0, base.count - loadedSinceBase);
    return n;
  },

  emitUnread() {
    const count = this.unreadCount();
    const key = `${count}:${this.readSeq}`;
    if (key === this.shownUnread) return;
    this.shownUnread = key;
    this.emit('unread', { count, readSeq: this.readSeq });
  },
};
