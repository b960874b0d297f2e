//! The person's inbox as `useInbox()` sees it: @edge-chat/client's `InboxClient` (one `/ws/me` socket
//! for every room the person is in), started with the first component that shows it and stopped a
//! moment after the last, and drawn from the offline store before it connects: its last snapshot is
//! kept in the provider's store under the server's inbox key (`<server> @inbox`), written whenever an
//! entry changed. Snapshot: {status, entries (most recent first), totals, online, you, fromCache} and the actions
//! {leave, mute, openDm}.

import { byActivity, inbox, inboxTotals } from '@edge-chat/client';
import { ExternalStore } from './external.js';

/** What of an InboxClient's options a provider's client options give (the rest are the room's). */
const INBOX_OPTIONS = ['origin', 'WebSocket', 'fetch', 'key', 'keyStorage', 'name', 'token', 'getToken', 'heartbeatMs', 'pongTimeoutMs', 'welcomeTimeoutMs', 'backoff', 'busyBackoff'];

export class InboxHandle extends ExternalStore {
  /**
   * @param {object} clientOptions  the provider's client options
   * @param {any} store  the provider's offline store (or null)
   * @param {number} lingerMs
   */
  constructor(clientOptions, store, lingerMs) {
    super({ onFirst: () => this.open(), onLast: () => this.client.stop(), lingerMs });
    const options = Object.fromEntries(INBOX_OPTIONS.filter((k) => clientOptions[k] !== undefined).map((k) => [k, clientOptions[k]]));
    this.client = inbox(options);
    this.store = store;
    let server = this.client.origin;
    try {
      server = new URL(server).origin;
    } catch {}
    // Beside the rooms' keys (`<server> <room>`) but never one of them: no room name has an `@`
    // (`<server> inbox` was the record of a room called "inbox", which each wrote over the other's).
    this.storeKey = `${server} @inbox`;
    this.kept = null; // the snapshot the store had, until the socket's first one
    this.restored = false;
    this.writing = false;
    const c = this.client;
    for (const type of ['status', 'inbox', 'entry', 'removed', 'online', 'totals', 'refused']) {
      c.addEventListener(type, () => {
        if (type === 'inbox') {
          this.kept = null;
          this.seenLive = true;
        }
        if (type === 'inbox' || type === 'entry' || type === 'removed') this.keep();
        this.changed();
      });
    }
    this.actions = {
      leave: (room) => c.leave(room),
      mute: (room, muted = true) => c.mute(room, muted),
      openDm: (uids) => c.openDm(uids),
    };
  }

  /** Reads the kept snapshot (drawn until the socket's own arrives), then starts the inbox socket. */
  open() {
    if (this.restored || !this.store) return this.client.start();
    this.restored = true;
    const take = (record) => {
      const kept = record?.meta?.inbox;
      if (kept && Array.isArray(kept.entries) && !this.client.synced && !this.seenLive) {
        this.kept = kept;
        this.changed();
      }
      if (this.active) this.client.start();
    };
    try {
      const loaded = this.store.load(this.storeKey);
      if (loaded && typeof loaded.then === 'function') loaded.then(take, () => take(null));
      else take(loaded);
    } catch {
      take(null);
    }
  }

  /** Writes the inbox as it now stands (one write at a time; the last state wins). */
  keep() {
    if (!this.store || this.writing) {
      this.again = Boolean(this.store);
      return;
    }
    this.writing = true;
    const done = () => {
      this.writing = false;
      if (this.again) {
        this.again = false;
        this.keep();
      }
    };
    const c = this.client;
    const meta = { inbox: { entries: c.entries(), you: c.you }, openedAt: Date.now(), count: 0 };
    try {
      const saved = this.store.save(this.storeKey, { meta });
      if (saved && typeof saved.then === 'function') saved.then(done, done);
      else done();
    } catch {
      done();
    }
  }

  build() {
    const c = this.client;
    const kept = this.kept; // until the socket's first snapshot
    const entries = kept ? [...kept.entries].sort(byActivity) : c.entries();
    return {
      status: c.state,
      entries,
      totals: kept ? inboxTotals(entries) : c.totals(),
      online: [...c.online.values()],
      you: kept?.you ?? c.you,
      fromCache: Boolean(kept),
      client: c,
      ...this.actions,
    };
  }
}
