//! The hub a `<ChatProvider>` holds: one running client per room whatever the number of components
//! that show it, the searches being shown, and the offline store they share. Nothing in it touches
//! React, so it is what the hooks' tests and an app's non-React code can use as well. A room's
//! client is made on first use (a render may ask for it) but connects only when a hook subscribes.

import { defaultStore } from '@edge-chat/client';
import { InboxHandle } from './inbox.js';
import { RoomHandle } from './room.js';
import { SearchHandle } from './search.js';
import { ThreadHandle } from './thread.js';

export class ChatHub {
  /**
   * options: everything a ChatClient takes but `room` (origin, name, WebSocket, key, token,
   * getToken, store, cacheLimits, …), plus lingerMs (how long a room stays connected after its last
   * component went, default 1000) and searchDelayMs (how long a query must stay unchanged before it
   * is asked, default 250).
   */
  constructor({ lingerMs = 1000, searchDelayMs = 250, ...clientOptions } = {}) {
    this.lingerMs = lingerMs;
    this.searchDelayMs = searchDelayMs;
    // One store for every room of this provider (the browser's shared IndexedDB, or one in memory).
    this.store = clientOptions.store === undefined ? defaultStore() : clientOptions.store;
    this.clientOptions = { ...clientOptions, store: this.store };
    /** @type {Map<string, RoomHandle>} */
    this.rooms = new Map();
    /** @type {Map<string, SearchHandle>} */
    this.searches = new Map();
    /** @type {Map<string, ThreadHandle>} */
    this.threads = new Map();
  }

  /** The room's handle (made on first use, kept for the provider's life: its messages stay in memory). */
  room(room) {
    let handle = this.rooms.get(room);
    if (!handle) this.rooms.set(room, (handle = new RoomHandle(room, this.clientOptions, this.lingerMs, () => this.clearing)));
    return handle;
  }

  /** The room's ChatClient, for what the hooks do not cover. */
  client(room) {
    return this.room(room).client;
  }

  /** The search of `q` in `room` (forgotten once nothing shows it). */
  search(room, q) {
    const key = `${room}\n${q.trim()}`;
    let handle = this.searches.get(key);
    if (!handle) {
      handle = new SearchHandle(this.room(room), q, { delayMs: this.searchDelayMs, lingerMs: this.lingerMs, onDone: () => this.searches.get(key) === handle && this.searches.delete(key) });
      this.searches.set(key, handle);
    }
    return handle;
  }

  /** The person's inbox (one for the provider: one `/ws/me` socket whatever shows it). */
  inbox() {
    return (this.inboxHandle ??= new InboxHandle(this.clientOptions, this.store, this.lingerMs));
  }

  /** The thread of `root` in `room` (forgotten once nothing shows it). */
  thread(room, root) {
    const key = `${room}\n${root}`;
    let handle = this.threads.get(key);
    if (!handle) {
      handle = new ThreadHandle(this.room(room), root, { lingerMs: this.lingerMs, onDone: () => this.threads.get(key) === handle && this.threads.delete(key) });
      this.threads.set(key, handle);
    }
    return handle;
  }

  /**
   * Sign-out: stops every room and empties the offline store (messages, read positions, unsent
   * messages and changes), so the next person on this device finds nothing of ours. The rooms are
   * forgotten; a component still showing one starts it afresh.
   */
  async clearCache() {
    const rooms = [...this.rooms.values()];
    // The inbox stops and its kept snapshot goes with the store; shown again, it starts afresh.
    const inboxHandle = this.inboxHandle;
    this.inboxHandle = null;
    inboxHandle?.client.stop();
    if (inboxHandle) inboxHandle.store = null;
    // Forgotten first, so a component that re-renders meanwhile gets a fresh room, which waits for the
    // store to be empty before it opens from it.
    this.rooms.clear();
    this.searches.clear();
    this.threads.clear();
    const clearing = Promise.all([...rooms.map((handle) => handle.client.clearCache()), this.store?.clear()]);
    const settled = (this.clearing = clearing.then(() => undefined, () => undefined));
    try {
      await clearing;
    } finally {
      if (this.clearing === settled) this.clearing = null;
    }
    // Components still showing a room re-render, find it gone from the hub and start it afresh.
    for (const handle of rooms) handle.changed();
    inboxHandle?.changed();
  }
}
