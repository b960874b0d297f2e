//! The client's side of the offline store (store.js): a room opens from what the store kept — its
//! messages drawn at once, before the socket connects and with the server down — and resumes from
//! there with `after=`/`since=`, so the welcome brings only what changed; and what the client holds
//! is written back as it changes, in one `save` per turn of the event loop: the messages (the newest
//! `perRoom` of them), the resume point beside them, the read position, and the outbox — the messages
//! not yet stored and the edits, deletions and reactions not yet acknowledged, each with the
//! idempotency id it is sent with, so a reload, a crash of the tab or a restart of the app sends each
//! again under that same id (the room stores it once) and in the order it was made.
//!
//! Every write is a diff against what this client wrote before (`cachedSeqs`, `cachedOutbox`,
//! `cachedMeta`), so a busy room costs one small write per turn, and a second tab writing the same
//! room never has its outbox entries removed by this one. The caps: a room keeps its newest `perRoom`
//! messages; over `total` in the whole store, the rooms opened longest ago give up their oldest
//! (`evictionPlan`); outbox entries are never evicted. `clearCache()` drops it all (sign-out).
//! Mixed into `ChatClient` (client.js); its fields are declared there.

import { isIdentity } from './identity.js';
import { living } from './messages.js';
import { IndexedDBStore } from './idb-store.js';
import { MemoryStore, evictionPlan, whenReady } from './store.js';

/** How many of a room's kept messages (the newest) are reported at once when it opens; the rest follow a task later. */
const FIRST_REPORTED = 100;

/** The changes that wait in the outbox across a reload (a moderator's actions do not: they are meant now). */
const KEPT_CHANGES = new Set(['edit', 'delete', 'react']);

let browserStore = null;

/** The browser's one IndexedDBStore for the page's origin (made on first use), or null outside a browser. */
function sharedStore() {
  if (typeof globalThis.indexedDB?.open !== 'function' || typeof globalThis.IDBKeyRange !== 'function') return null;
  return (browserStore ??= new IndexedDBStore());
}

/**
 * The store a client uses when given none: in a browser one IndexedDBStore for every client of the
 * page (the page's origin holds it), elsewhere a MemoryStore of the client's own (pass one store to
 * several clients to share it, or your own implementation to keep it on disk).
 */
export function defaultStore() {
  return sharedStore() ?? new MemoryStore();
}

/**
 * Drops everything `store` (default: the browser's shared store — what earlier visits kept too, even
 * when no client of this page opened it) keeps: messages, read positions, unsent messages and changes.
 * For sign-out, after stopping the clients (ChatClient#clearCache does both).
 */
export function clearCache(store = sharedStore()) {
  return store ? whenReady(store.clear(), () => undefined) : undefined;
}

/** A room's key in a store: the server's origin and the room, so one store can serve several servers. */
function roomKey(origin, room) {
  let server = origin;
  try {
    server = new URL(origin).origin;
  } catch {}
  return `${server} ${room}`;
}

/** The server and the room of a store key (an origin has no space; what follows the first is the room). */
function keyParts(key) {
  const at = key.indexOf(' ');
  return at < 0 ? { server: '', room: key } : { server: key.slice(0, at), room: key.slice(at + 1) };
}

/**
 * What no room has acknowledged yet: the unsent messages and changes `store` (default: the browser's
 * shared store) keeps for any room, with those the `clients` hold (a store that failed to write them
 * has them only there), each once, oldest first — [{server, room, ...record}], a record as the store
 * keeps it ({kind: 'message', key, id, text, createdAt, …} or {kind: 'change', key, createdAt, frame}).
 * What a sign-out asks about before clearCache() discards it. It reads every room the store lists.
 * @param {any} [store]  a ChatStore (store.js), or null for none
 * @param {import('./client.js').ChatClient[]} [clients]
 */
export async function unsentEntries(store = sharedStore(), clients = []) {
  const found = new Map();
  const add = (key, record) => {
    if (typeof record?.key !== 'string') return;
    const id = `${key}\n${record.key}`;
    if (!found.has(id)) found.set(id, { ...keyParts(key), ...record, createdAt: record.createdAt ?? 0 });
  };
  for (const client of clients) for (const record of client.outboxRecords()) add(client.cacheKey, record);
  if (store) {
    for (const { room } of await store.rooms()) {
      const kept = await store.load(room);
      for (const record of kept?.outbox ?? []) add(room, record);
    }
  }
  return [...found.values()].sort((a, b) => a.createdAt - b.createdAt);
}

/** An outbox message as the store keeps it (the client's entry, marked as a message). */
function messageRecord(entry) {
  return { kind: 'message', ...entry };
}

/** @satisfies {ThisType<import('./client.js').ChatClient>} */
export const cache = {
  /** The room's key in the store: the server and the room, so one store can serve several servers. */
  get cacheKey() {
    return roomKey(this.origin, this.room);
  },

  /** The outbox as the store keeps it: the messages not yet stored, then the changes kept across a reload. */
  outboxRecords() {
    return [...this.outbox.map(messageRecord), ...this.actions.filter((a) => KEPT_CHANGES.has(a.type)).map((a) => this.changeRecord(a))];
  },

  /** Writes back whenever what the client holds changed (its own events say when). */
  watchCache() {
    this.addEventListener('update', (e) => this.touchCached(e));
    this.addEventListener('refused', (e) => this.forgetRoom(/** @type {any} */ (e).detail));
    for (const type of ['message', 'update', 'outbox', 'unread', 'welcome', 'action', 'reset', 'status']) {
      this.addEventListener(type, () => this.persistSoon());
    }
  },

  /**
   * Opens the room from the store, then calls `go` (start()'s connect): in the same turn when the
   * store answers synchronously, once it answered otherwise. A store that fails is no store: the
   * client goes on without one rather than not at all.
   */
  restore(go) {
    if (!this.store || this.restored) return go();
    let loaded;
    try {
      loaded = this.store.load(this.cacheKey);
    } catch {
      loaded = null;
    }
    const open = (kept) => {
      try {
        this.takeCache(kept);
      } catch {
        this.restored = true;
      }
      return this.stopped ? undefined : go();
    };
    if (loaded && typeof loaded.then === 'function') return loaded.then(open, () => open(null));
    return open(loaded);
  },

  /** What the store kept of this room becomes what the client holds, reported as events. */
  takeCache(kept) {
    this.restored = true;
    const meta = kept?.meta ?? {};
    this.cacheOwner = meta.uid ?? null;
    this.cachedMeta = JSON.stringify(meta);
    this.cacheOpenedAt = Date.now();
    this.legacyOutbox = this.outbox.length > 0; // entries an older page kept in sessionStorage

    // The outbox: messages in the order written, changes in the order made.
    const entries = (kept?.outbox ?? []).filter((e) => e && typeof e.key === 'string').sort((a, b) => (a.createdAt ?? 0) - (b.createdAt ?? 0));
    const restoredMessages = [];
    for (const e of entries) {
      this.cachedOutbox.set(e.key, JSON.stringify(e));
      this.restoredKeys.add(e.key);
      if (e.kind === 'change') {
        if (e.frame && KEPT_CHANGES.has(e.frame.type) && !this.actions.some((a) => a.id === e.frame.id)) {
          this.actions.push({ ...e.frame });
          this.changeTimes.set(e.frame.id, e.createdAt ?? 0);
        }
      } else if (typeof e.id === 'string' && typeof e.text === 'string' && !this.outbox.some((o) => o.key === e.key)) {
        const { kind, ...entry } = e;
        restoredMessages.push(entry);
      }
    }
    this.outbox = [...restoredMessages, ...this.outbox].sort((a, b) => (a.createdAt ?? 0) - (b.createdAt ?? 0));
    this.actions = this.collapseChanges(this.actions);

    // The messages, and where to resume from: only with messages kept is the resume point theirs.
    const messages = (kept?.messages ?? []).filter((m) => typeof m?.seq === 'number').map(living).sort((a, b) => a.seq - b.seq);
    if (!this.you && meta.you) this.you = meta.you;
    if (messages.length && this.lastSeq === null) {
      for (const m of messages) {
        this.seen.add(m.seq);
        this.messages.set(m.seq, m);
        this.cachedSeqs.add(m.seq);
      }
      this.lastSeq = Math.max(meta.lastSeq ?? 0, messages.at(-1).seq);
      this.rev = typeof meta.rev === 'number' ? meta.rev : null;
      this.hasOlder = messages[0].seq > 1;
    }
    if (typeof meta.readSeq === 'number' && this.readSeq === null) this.readSeq = meta.readSeq;
    // The newest first screenful is reported now; the rest of a long kept history a task later (as
    // older messages), so a page draws what it shows first without waiting for a thousand items it
    // does not. The client holds them all already: a resume applies its changes to every one.
    const now = messages.slice(-FIRST_REPORTED);
    const later = messages.slice(0, -FIRST_REPORTED).reverse();
    for (const m of now) this.emit('message', { message: m, own: this.isOwn(m), live: false, older: false, cached: true });
    if (later.length) {
      setTimeout(() => {
        for (const m of later) if (this.messages.get(m.seq) === m) this.emit('message', { message: m, own: this.isOwn(m), live: false, older: true, cached: true });
      }, 0);
    }
    this.emit('cached', { messages: messages.length, outbox: this.outbox.length + this.actions.filter((a) => KEPT_CHANGES.has(a.type)).length });
    this.emit('outbox', { entries: this.outbox });
    this.emitUnread();
    this.persistSoon();
    this.checkedCount = -Infinity; // the total cap is checked after the first write
  },

  /**
   * The welcome says who we are now: a kept outbox another identity wrote (a different person signed
   * in on this device without a sign-out) is not sent as ours, nor is their read position taken.
   */
  ownCache(welcome) {
    const uid = welcome?.you?.uid;
    const owner = this.cacheOwner;
    if (isIdentity(uid)) this.cacheOwner = uid;
    if (!isIdentity(owner) || !isIdentity(uid) || owner === uid || !this.restoredKeys.size) return;
    const foreign = (key) => this.restoredKeys.has(key);
    const dropped = this.outbox.filter((e) => foreign(e.key)).length + this.actions.filter((a) => foreign(a.id)).length;
    this.outbox = this.outbox.filter((e) => !foreign(e.key));
    this.actions = this.actions.filter((a) => !foreign(a.id));
    this.restoredKeys.clear();
    this.readSeq = null;
    if (dropped) this.emit('notice', { text: `${dropped} unsent ${dropped === 1 ? 'item from another sign-in on this device was' : 'items from another sign-in on this device were'} not sent.` });
    this.emit('outbox', { entries: this.outbox });
  },

  /** Writes what changed at the end of this turn (every event of one frame, or of a welcome, in one write). */
  persistSoon() {
    if (!this.store || !this.restored || this.persistQueued) return;
    this.persistQueued = true;
    queueMicrotask(() => {
      this.persistQueued = false;
      this.persist();
    });
  },

  /** One `save` of what changed since the last; one at a time (the next waits for this one). */
  persist() {
    if (!this.store) return;
    if (this.persisting) {
      this.persistAgain = true;
      return;
    }
    const change = this.cacheChange();
    if (!change) return;
    this.persisting = true;
    const finish = (ok) => {
      this.persisting = false;
      if (!ok) change.undo();
      else if (this.legacyOutbox) {
        this.legacyOutbox = false;
        try {
          this.storage?.removeItem(this.storageKey); // the store holds them now
        } catch {}
      }
      if (ok) this.keepTotal();
      if (this.persistAgain) {
        this.persistAgain = false;
        this.persist();
      }
    };
    let saved;
    try {
      saved = this.store.save(this.cacheKey, change.write);
    } catch {
      return finish(false);
    }
    if (saved && typeof saved.then === 'function') saved.then(() => finish(true), () => finish(false));
    else finish(true);
  },

  /**
   * What to write: the newest `perRoom` messages we hold that the store lacks or holds in an older
   * state, those it holds that fell out of that window, the outbox entries that are new or changed
   * and those that left, and the meta. Null when nothing changed. `undo` puts the bookkeeping back
   * when the write fails, so the next one tries again.
   */
  cacheChange() {
    const newest = new Set([...this.messages.keys()].sort((a, b) => b - a).slice(0, this.cacheLimits.perRoom));
    const put = [];
    for (const seq of newest) if (!this.cachedSeqs.has(seq) || this.dirtySeqs.has(seq)) put.push(this.messages.get(seq));
    const remove = [...this.cachedSeqs].filter((seq) => !newest.has(seq));

    const records = this.outboxRecords();
    const outPut = [];
    const present = new Set();
    for (const r of records) {
      present.add(r.key);
      const sig = JSON.stringify(r);
      if (this.cachedOutbox.get(r.key) !== sig) outPut.push([r, sig]);
    }
    const outRemove = [...this.cachedOutbox.keys()].filter((key) => !present.has(key));

    const meta = {
      lastSeq: this.lastSeq,
      rev: this.rev,
      readSeq: this.readSeq,
      uid: this.cacheOwner,
      you: this.you,
      openedAt: this.cacheOpenedAt,
      count: newest.size,
    };
    const metaSig = JSON.stringify(meta);
    if (!put.length && !remove.length && !outPut.length && !outRemove.length && metaSig === this.cachedMeta) return null;

    const before = { dirty: new Set(this.dirtySeqs), seqs: new Set(this.cachedSeqs), outbox: new Map(this.cachedOutbox), meta: this.cachedMeta };
    this.dirtySeqs.clear();
    for (const m of put) this.cachedSeqs.add(m.seq);
    for (const seq of remove) this.cachedSeqs.delete(seq);
    for (const [r, sig] of outPut) this.cachedOutbox.set(r.key, sig);
    for (const key of outRemove) this.cachedOutbox.delete(key);
    this.cachedMeta = metaSig;
    return {
      write: { meta, messages: { put, remove }, outbox: { put: outPut.map(([r]) => r), remove: outRemove } },
      undo: () => {
        for (const seq of before.dirty) this.dirtySeqs.add(seq);
        for (const m of put) this.dirtySeqs.add(m.seq);
        this.cachedSeqs = before.seqs;
        this.cachedOutbox = before.outbox;
        this.cachedMeta = before.meta;
      },
    };
  },

  /** A change waiting for its ack, as the store keeps it: the frame (with its id) and when it was made. */
  changeRecord(action) {
    if (!this.changeTimes.has(action.id)) this.changeTimes.set(action.id, Date.now());
    return { kind: 'change', key: action.id, createdAt: this.changeTimes.get(action.id), frame: { ...action } };
  },

  /**
   * The room refused us for good as a matter of rights (4401: no valid sign-in; 4403: banned, or not
   * a member): what the store kept of its messages goes, so the device no longer shows a room its
   * person may not read. The outbox stays (never evicted: a sign-in again may still send it).
   */
  forgetRoom(refusal) {
    if (!this.store || (refusal?.closeCode !== 4401 && refusal?.closeCode !== 4403)) return;
    this.messages.clear();
    this.seen.clear();
    this.lastSeq = null;
    this.rev = null;
    this.emit('reset', {});
  },

  /** Marks a message we hold as changed, to be written again. */
  touchCached(e) {
    const seq = e.detail?.message?.seq;
    if (typeof seq === 'number') this.dirtySeqs.add(seq);
  },

  /**
   * The total cap, checked after a write that grew this room by 100 messages or more (and after the
   * first): the store lists its rooms, and the plan trims those opened longest ago.
   */
  keepTotal() {
    if (this.cachedSeqs.size < this.checkedCount + 100) return;
    this.checkedCount = this.cachedSeqs.size;
    const key = this.cacheKey;
    try {
      whenReady(this.store.rooms(), (rooms) => {
        for (const { room, keep } of evictionPlan(rooms, this.cacheLimits.total, key)) {
          if (room === key) {
            // Our own room over the whole total (a total below perRoom): our record of it follows.
            const seqs = [...this.cachedSeqs].sort((a, b) => b - a);
            for (const seq of seqs.slice(keep)) this.cachedSeqs.delete(seq);
          }
          whenReady(this.store.trim(room, keep), () => {})?.catch?.(() => {});
        }
      })?.catch?.(() => {});
    } catch {}
  },

  /**
   * Stops this client and drops everything its store keeps — every room's messages, read positions
   * and unsent outbox (sign-out: what the next person on this device sees must not be ours). Resolves
   * once the store is empty; the client writes nothing more.
   */
  clearCache() {
    this.stop();
    const store = this.store;
    this.store = null;
    this.cachedSeqs.clear();
    this.cachedOutbox.clear();
    return store ? Promise.resolve(whenReady(store.clear(), () => undefined)) : Promise.resolve();
  },
};
