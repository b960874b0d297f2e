//! One thread as `useThread(room, root)` sees it, over the room's client and its thread API
//! (@edge-chat/client's threads: `thread(root, {after})` pages, `readThread`, the `counts` event):
//! the root (its summary kept current by `thread_updated`), the replies held (reported by the pages
//! and live as messages, so a thread opened before is drawn from the offline store too), our replies
//! not yet stored, and this thread's unread count. Its own store: only an event about this thread —
//! a reply in it, a change to the root or one of its replies, its count — re-renders it.

import { ExternalStore } from './external.js';

export class ThreadHandle extends ExternalStore {
  /**
   * @param {import('./room.js').RoomHandle} room
   * @param {number} root
   * @param {{lingerMs?: number, onDone?: () => void}} options
   */
  constructor(room, root, { lingerMs = 1000, onDone } = {}) {
    super({ onFirst: () => this.open(), onLast: () => this.close(), lingerMs });
    this.roomHandle = room;
    this.root = root;
    this.onDone = onDone;
    this.hasMore = false;
    this.status = 'loading';
    this.error = null;
    this.loading = null;
    this.unread = 0;
    const c = room.client;
    this.actions = {
      send: (text, { alsoInRoom = false } = {}) => c.send(text, { thread: root, alsoInRoom }),
      markRead: (seq) => c.readThread(root, seq),
      loadMore: () => this.page(),
    };
  }

  /** Whether a client event concerns this thread. */
  about(m) {
    return m && (m.seq === this.root || m.thread === this.root);
  }

  open() {
    const c = this.roomHandle.client;
    const offs = [
      c.on('message', ({ message }) => this.about(message) && this.changed()),
      c.on('update', ({ message }) => this.about(message) && this.changed()),
      c.on('outbox', ({ entries }) => {
        const mine = entries.filter((e) => e.thread === this.root).map((e) => e.key).join();
        if (mine !== this.pendingKeys) this.changed();
      }),
      c.on('counts', ({ threads }) => {
        const unread = threads.find((t) => t.root === this.root)?.unread ?? 0;
        if (unread === this.unread) return;
        this.unread = unread;
        this.changed();
      }),
      // Each (re)connection: the first page again, which brings what was replied meanwhile.
      c.on('welcome', () => this.page(true)),
    ];
    this.off = () => offs.forEach((off) => off());
    // The room's client runs while the thread is shown (listening first: it may open from the store at once).
    this.release = this.roomHandle.subscribe(() => {});
    this.changed();
    if (c.state === 'online') this.page(true);
  }

  close() {
    this.off?.();
    this.release?.();
    this.onDone?.();
  }

  /** Loads the first page (`fresh`) or the one after the newest reply held; one at a time. */
  page(fresh = false) {
    if (this.loading) return this.loading;
    const c = this.roomHandle.client;
    const replies = this.replies();
    const after = fresh || !replies.length ? undefined : replies.at(-1).seq;
    this.loading = c
      .thread(this.root, after === undefined ? {} : { after })
      .then(
        ({ hasMore }) => {
          this.hasMore = hasMore;
          this.status = 'done';
          this.error = null;
        },
        (error) => {
          this.status = error.code === 'offline' ? this.status : 'error';
          this.error = error;
        },
      )
      .finally(() => {
        this.loading = null;
        this.changed();
      });
    return this.loading;
  }

  replies() {
    const out = [];
    for (const m of this.roomHandle.client.messages.values()) if (m.thread === this.root) out.push(m);
    return out.sort((a, b) => a.seq - b.seq);
  }

  build() {
    const c = this.roomHandle.client;
    const pending = c.outbox.filter((e) => e.thread === this.root);
    this.pendingKeys = pending.map((e) => e.key).join();
    return {
      root: c.messages.get(this.root) ?? null,
      replies: this.replies(),
      pending,
      hasMore: this.hasMore,
      status: this.status,
      error: this.error,
      unread: this.unread,
      ...this.actions,
    };
  }
}
