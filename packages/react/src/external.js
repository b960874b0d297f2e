//! What every hook's source has in common: an external store in React's sense (`subscribe`,
//! `getSnapshot`, for `useSyncExternalStore`) whose snapshot is an immutable object rebuilt only when
//! something it shows changed, and whose listeners hear of a burst of changes once (a welcome brings
//! hundreds of events; React should render once). It also counts who listens, so the hub can start
//! what a hook needs on the first subscriber and stop it a little after the last (StrictMode
//! subscribes, unsubscribes and subscribes again at once: the pause keeps that from reconnecting).

export class ExternalStore {
  /**
   * @param {{onFirst?: () => void, onLast?: () => void, lingerMs?: number}} [lifecycle]
   */
  constructor({ onFirst, onLast, lingerMs = 1000 } = {}) {
    this.listeners = new Set();
    this.snapshot = null;
    this.stale = true;
    this.notifying = false;
    this.onFirst = onFirst;
    this.onLast = onLast;
    this.lingerMs = lingerMs;
    this.lingering = null;
    this.active = false;
    // Bound once: React compares `subscribe` by identity and resubscribes when it changes.
    this.subscribe = this.subscribe.bind(this);
    this.getSnapshot = this.getSnapshot.bind(this);
  }

  subscribe(listener) {
    this.listeners.add(listener);
    clearTimeout(this.lingering);
    this.lingering = null;
    if (!this.active) {
      this.active = true;
      this.onFirst?.();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size || this.lingering) return;
      this.lingering = setTimeout(() => {
        this.lingering = null;
        if (this.listeners.size || !this.active) return;
        this.active = false;
        this.onLast?.();
      }, this.lingerMs);
    };
  }

  /** The current snapshot: the same object until something in it changed. */
  getSnapshot() {
    if (this.stale || !this.snapshot) {
      this.snapshot = this.build(this.snapshot);
      this.stale = false;
    }
    return this.snapshot;
  }

  /** Builds the next snapshot from the previous one (null the first time). Each source says how. */
  build(previous) {
    return previous;
  }

  /** Something shown changed: the snapshot is rebuilt when next asked, listeners hear once this turn. */
  changed() {
    this.stale = true;
    if (this.notifying) return;
    this.notifying = true;
    queueMicrotask(() => {
      this.notifying = false;
      for (const listener of [...this.listeners]) listener();
    });
  }
}
