//! One search as `useSearch(room, q)` sees it: the room's client (kept running while the search is
//! shown) asks the room once it is online, a moment after the query stopped changing, and the answer
//! becomes a snapshot {status, results, hasMore, error, more}. `more()` asks for the next page (the
//! ranked window's, then older matches) and appends it. A query the dropped socket took with it is
//! asked again on the next welcome. Its own store: a room's messages or typing never re-render a
//! component that only shows search results.

import { ExternalStore } from './external.js';

const IDLE = Object.freeze({ status: 'idle', results: Object.freeze([]), hasMore: false, error: null });

export class SearchHandle extends ExternalStore {
  /**
   * @param {import('./room.js').RoomHandle} room
   * @param {string} q
   * @param {{delayMs?: number, limit?: number, lingerMs?: number, onDone?: () => void}} options
   */
  constructor(room, q, { delayMs = 250, limit, lingerMs = 1000, onDone } = {}) {
    super({ onFirst: () => this.open(), onLast: () => this.close(), lingerMs });
    this.roomHandle = room;
    this.q = q.trim();
    this.delayMs = delayMs;
    this.limit = limit;
    this.onDone = onDone;
    this.state = this.q ? { ...IDLE, status: 'loading' } : { ...IDLE };
    this.next = null;
    this.timer = null;
    this.generation = 0;
    this.more = this.more.bind(this);
  }

  build() {
    return { ...this.state, more: this.more };
  }

  set(state) {
    this.state = { ...this.state, ...state };
    this.changed();
  }

  open() {
    // The room's client runs while the search is shown, as if a component showed the room.
    this.release = this.roomHandle.subscribe(() => {});
    this.offWelcome = this.roomHandle.client.on('welcome', () => {
      if (this.state.error?.code === 'offline') this.ask();
    });
    if (!this.q) return;
    this.timer = setTimeout(() => this.ask(), this.delayMs);
  }

  close() {
    clearTimeout(this.timer);
    this.generation += 1; // an answer still on its way is for nobody
    this.offWelcome?.();
    this.release?.();
    this.onDone?.();
  }

  /** Asks the room for the first page, once it is online. */
  async ask() {
    const generation = ++this.generation;
    const client = this.roomHandle.client;
    this.set({ status: 'loading', error: null });
    try {
      await client.ready();
      const answer = await client.search(this.q, this.limit ? { limit: this.limit } : {});
      if (generation !== this.generation) return;
      this.next = answer.next;
      this.set({ status: 'done', results: answer.results, hasMore: answer.next !== null });
    } catch (error) {
      if (generation === this.generation) this.set({ status: 'error', error });
    }
  }

  /** Asks for the next page and appends it; resolves when it is shown (false when there is none). */
  async more() {
    if (!this.next || this.state.status === 'loading') return false;
    const generation = this.generation;
    const client = this.roomHandle.client;
    this.set({ status: 'loading' });
    try {
      const answer = await client.search(this.q, { ...(this.limit ? { limit: this.limit } : {}), ...this.next });
      if (generation !== this.generation) return false;
      this.next = answer.next;
      this.set({ status: 'done', results: [...this.state.results, ...answer.results], hasMore: answer.next !== null });
      return true;
    } catch (error) {
      if (generation === this.generation) this.set({ status: 'error', error });
      return false;
    }
  }
}
