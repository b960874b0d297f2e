//! The client's offline store: what it keeps of a room between visits (its messages by seq with their
//! revision, the read position and where to resume from) and what must not be lost (the outbox: the
//! messages written and the changes made that the room has not acknowledged yet). One interface,
//! `ChatStore`, with two implementations in the package: `MemoryStore` here (the default outside a
//! browser, and the example to follow for a React Native or Node app's own) and `IndexedDBStore`
//! (idb-store.js, the default in a browser). cache.js is the client's side: it opens a room from the
//! store and writes what changed. The policy of the caps (what to evict) is `evictionPlan`, pure.
//!
//! # The interface (docs/SDK.md, "Offline store")
//! A store keeps, per room key (the server's origin and the room's name, made by the client):
//!   meta      one plain object the client owns ({lastSeq, rev, readSeq, sentReadSeq, uid, openedAt,
//!             count, …}); the store keeps it as given
//!   messages  by `seq`: a message is replaced only by one whose `rev` is at least its own (so two tabs
//!             writing the same room never put an older state over a newer one)
//!   outbox    by `key`: entries the client wrote ({key, kind: 'message'|'change', createdAt, …}); the
//!             store never drops one by itself — only `save(…, {outbox: {remove}})` or `clear()` does
//! and answers five calls. Each may return its result or a Promise of it: a synchronous store (this one)
//! lets the client open a room in the same turn as `start()`, an asynchronous one (IndexedDB,
//! AsyncStorage) a moment later but still before the socket is asked for.
//!   load(room)            → {meta, messages (any order), outbox (any order)} or null: everything kept
//!   save(room, change)    writes {meta?, messages?: {put?, remove?}, outbox?: {put?, remove?}} as one
//!                         change: all of it or nothing (the resume point in `meta` must never be
//!                         newer than the messages written with it)
//!   trim(room, keep)      keeps the newest `keep` messages of the room (by seq) and drops the rest
//!   rooms()               → [{room, count, openedAt}] from each room's meta (what the total cap needs)
//!   clear()               drops everything: messages, outboxes, metas (sign-out)

/** The caps a client applies unless told otherwise: messages kept per room, and over all rooms. */
export const CACHE_LIMITS = Object.freeze({ perRoom: 1000, total: 10_000 });

/** Calls `fn` with `value`, now if it is a plain value, once it resolves if it is a promise. */
export function whenReady(value, fn) {
  return value && typeof value.then === 'function' ? value.then(fn) : fn(value);
}

/**
 * What to trim so the whole store holds at most `total` messages: rooms opened longest ago give up
 * their oldest messages first, the room being written (`current`) last. Returns [{room, keep}] (keep
 * the newest `keep` of that room). Outbox entries are not messages: no plan ever touches them.
 * @param {{room: string, count: number, openedAt: number}[]} rooms
 * @param {number} total
 * @param {string} [current]
 */
export function evictionPlan(rooms, total, current) {
  let over = rooms.reduce((n, r) => n + (r.count ?? 0), 0) - total;
  if (over <= 0) return [];
  const order = [...rooms].sort((a, b) => Number(a.room === current) - Number(b.room === current) || (a.openedAt ?? 0) - (b.openedAt ?? 0));
  const plan = [];
  for (const r of order) {
    if (over <= 0) break;
    const take = Math.min(r.count ?? 0, over);
    if (take <= 0) continue;
    plan.push({ room: r.room, keep: r.count - take });
    over -= take;
  }
  return plan;
}

/**
 * The store in memory: the default outside a browser (each client its own unless one is passed to
 * several), and the reference for writing another — every call is synchronous here, and a store that
 * writes to disk keeps the same rules (one `save` is all or nothing; a message only replaced by a
 * newer rev; outbox entries only removed when asked). Nothing survives the process.
 */
export class MemoryStore {
  constructor() {
    /** @type {Map<string, {meta: object, messages: Map<number, any>, outbox: Map<string, any>}>} */
    this.byRoom = new Map();
  }

  room(room) {
    let r = this.byRoom.get(room);
    if (!r) this.byRoom.set(room, (r = { meta: {}, messages: new Map(), outbox: new Map() }));
    return r;
  }

  /** @returns {{meta: any, messages: any[], outbox: any[]} | null} */
  load(room) {
    const r = this.byRoom.get(room);
    if (!r) return null;
    // Copies: what the client holds and what the store holds must not be one object.
    return { meta: { ...r.meta }, messages: [...r.messages.values()].sort((a, b) => a.seq - b.seq).map(clone), outbox: [...r.outbox.values()].map(clone) };
  }

  /** @param {string} room @param {{meta?: object, messages?: {put?: any[], remove?: number[]}, outbox?: {put?: any[], remove?: string[]}}} change */
  save(room, { meta, messages, outbox } = {}) {
    // Everything that can fail (a copy, a record without its key) before anything changes: all or nothing.
    const puts = (messages?.put ?? []).map(clone);
    const entries = (outbox?.put ?? []).map(clone);
    if (puts.some((m) => typeof m?.seq !== 'number') || entries.some((e) => typeof e?.key !== 'string')) {
      throw new TypeError('MemoryStore: a message needs its seq and an outbox entry its key');
    }
    const r = this.room(room);
    if (meta) r.meta = clone(meta);
    for (const seq of messages?.remove ?? []) r.messages.delete(seq);
    for (const m of puts) {
      const kept = r.messages.get(m.seq);
      if (!kept || (m.rev ?? 0) >= (kept.rev ?? 0)) r.messages.set(m.seq, m);
    }
    for (const key of outbox?.remove ?? []) r.outbox.delete(key);
    for (const e of entries) r.outbox.set(e.key, e);
  }

  trim(room, keep) {
    const r = this.byRoom.get(room);
    if (!r) return;
    const seqs = [...r.messages.keys()].sort((a, b) => a - b);
    for (const seq of seqs.slice(0, Math.max(0, seqs.length - keep))) r.messages.delete(seq);
    r.meta = { ...r.meta, count: r.messages.size };
  }

  rooms() {
    return [...this.byRoom].map(([room, r]) => ({ room, count: r.messages.size, openedAt: r.meta.openedAt ?? 0 }));
  }

  clear() {
    this.byRoom.clear();
  }
}

/** A deep copy of plain data (messages and entries are JSON: the wire's and the client's own). */
function clone(v) {
  return v === undefined ? v : JSON.parse(JSON.stringify(v));
}
