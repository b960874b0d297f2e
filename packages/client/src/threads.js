//! Threads and mentions: reading a thread (a promise of its root and a page of replies), our read
//! marks per thread, a root's summary kept current from `thread_updated`, and our own counts — unread
//! mentions, unread replies in the threads we take part in (per thread and in all) — as the welcome
//! and the room's `unread` frames say them. The room tells us those counts whenever something that
//! concerns us alone changed them; the one change it leaves to us is a new `@room` message (it would
//! otherwise tell every member of a large room one by one), which we count as it arrives. Mixed into
//! `ChatClient` (client.js); `mentionCount`, `threadUnread` and `threadCounts` are its fields.

import { living } from './messages.js';
import { quiet } from './requests.js';

/** Replies per thread page when none is asked (the room allows 1..100 over the socket). */
export const THREAD_PAGE = 50;

/** Whether `m` is a reply in a thread (and not also shown in the main conversation). */
export function inThreadOnly(m) {
  return typeof m?.thread === 'number' && !m.also_in_room;
}

/** @satisfies {ThisType<import('./client.js').ChatClient>} */
export const threads = {
  /**
   * The thread of `root`: resolves with {root, replies, hasMore} (replies oldest first, after
   * `after`, at most `limit` 1..100), or rejects with a ChatError (bad_thread for a reply, not_found,
   * offline). The replies are reported as messages too, so the thread's panel and the client agree.
   * @param {number} root
   * @param {{after?: number, limit?: number}} [options]
   */
  thread(root, { after, limit = THREAD_PAGE } = {}) {
    const frame = { type: 'thread', root, limit };
    if (after != null) frame.after = after;
    const answer = (f) => {
      const replies = Array.isArray(f.replies) ? f.replies.map(living) : [];
      for (const m of replies) this.report(m, { live: false });
      return { root: living(f.root), replies, hasMore: Boolean(f.has_more) };
    };
    return quiet(this.request(frame).then(answer));
  },

  /**
   * We have read the thread of `root` up to `seq` (the page calls this while the thread is on
   * screen). No answer comes back; the room tells each of our connections the new counts.
   */
  readThread(root, seq) {
    if (this.readSeq === null || !(seq > (this.threadReads.get(root) ?? 0))) return;
    this.threadReads.set(root, seq);
    this.transmit({ type: 'read', seq, thread: root });
  },

  /** Whether `m` calls on us: it names our uid, or the room, and it is not ours. */
  isMentioned(m) {
    if (!m || this.isOwn(m) || !this.identified) return false;
    return Boolean(m.mentions_room) || (Array.isArray(m.mentions) && m.mentions.includes(this.you.uid));
  },

  /** Our counts as the welcome or an `unread` frame says them (absent fields: an older server). */
  takeCounts(f) {
    if (typeof f.mentions === 'number') this.mentionCount = f.mentions;
    if (typeof f.thread_unread === 'number') this.threadUnread = f.thread_unread;
    if (f.type === 'unread' || typeof f.thread_unread === 'number') {
      this.threadCounts = new Map((Array.isArray(f.threads) ? f.threads : []).map((t) => [t.root, t.unread]));
    }
    this.emitCounts();
  },

  /** A message arrived live: a new `@room` one counts at once (the room sends no count for it). */
  countArrival(m) {
    if (m.mentions_room && this.isMentioned(m)) {
      this.mentionCount += 1;
      this.emitCounts();
    }
  },

  /** A thread's summary changed: the root we hold takes it (an `update`), and `thread` says so. */
  onThreadUpdated(f) {
    this.seeRev(f.rev);
    const m = this.messages.get(f.root);
    if (m && (m.rev ?? 0) <= (f.rev ?? 0)) {
      this.messages.set(f.root, { ...m, thread: f.thread, rev: f.rev });
      this.emit('update', { message: this.messages.get(f.root) });
    }
    this.emit('thread', { root: f.root, thread: f.thread });
  },

  emitCounts() {
    const threads = [...this.threadCounts].map(([root, unread]) => ({ root, unread }));
    const key = `${this.mentionCount}:${this.threadUnread}:${JSON.stringify(threads)}`;
    if (key === this.shownCounts) return;
    this.shownCounts = key;
    this.emit('counts', { mentions: this.mentionCount, threadUnread: this.threadUnread, threads });
  },
};
