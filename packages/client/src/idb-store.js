//! The offline store of a browser: `ChatStore` (store.js) over IndexedDB, the client's default where
//! `indexedDB` exists. It lives in the page's origin, shared by its tabs, and outlasts a reload, a
//! crash of the tab and a restart of the browser. Three object stores in one database:
//!   rooms     {room, meta}                   keyed by room
//!   messages  {room, seq, message}           keyed by [room, seq] (a range reads one room in seq order)
//!   outbox    {room, key, entry}             keyed by [room, key]
//! `save` is one readwrite transaction over all three, so a crash leaves either all of a change or
//! none of it (IndexedDB's transactions are atomic), and a message is put only over an older rev
//! (read and written in that same transaction, so a second tab cannot slip between).

/** Opens (creating or upgrading) the database; rejects where IndexedDB is unusable (some private modes). */
function openDatabase(indexedDB, name) {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(name, 1);
    open.onupgradeneeded = () => {
      const db = open.result;
      db.createObjectStore('rooms', { keyPath: 'room' });
      db.createObjectStore('messages', { keyPath: ['room', 'seq'] });
      db.createObjectStore('outbox', { keyPath: ['room', 'key'] });
    };
    open.onsuccess = () => {
      const db = open.result;
      // Another tab upgrading the schema asks us to let go: close, and the next call opens anew.
      db.onversionchange = () => db.close();
      resolve(db);
    };
    open.onerror = () => reject(open.error);
    open.onblocked = () => reject(new Error('the offline store is held open by an older tab'));
  });
}

/** The whole of one room, as a key range over [room, …] (numbers and strings sort after -Infinity). */
function roomRange(room) {
  return IDBKeyRange.bound([room, -Infinity], [room, []]);
}

/** Settles when `tx` commits (or rejects when it aborts): IndexedDB's all-or-nothing. */
function committed(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = tx.onerror = () => reject(tx.error ?? new Error('the offline store refused the write'));
  });
}

export class IndexedDBStore {
  /** @param {{name?: string, indexedDB?: IDBFactory}} [options] */
  constructor({ name = 'edge-chat', indexedDB = globalThis.indexedDB } = {}) {
    this.name = name;
    this.indexedDB = indexedDB;
    this.db = null;
  }

  /** The open database (opened once; again after another tab's upgrade closed it). */
  async database() {
    if (!this.db) {
      this.db = openDatabase(this.indexedDB, this.name);
      this.db.catch(() => (this.db = null));
    }
    const db = await this.db;
    return db;
  }

  async transaction(stores, mode) {
    const db = await this.database();
    try {
      return db.transaction(stores, mode);
    } catch (e) {
      // Closed under us (a version change): open again once.
      this.db = null;
      return (await this.database()).transaction(stores, mode);
    }
  }

  async load(room) {
    const tx = await this.transaction(['rooms', 'messages', 'outbox'], 'readonly');
    /** @type {any} */
    const got = {};
    tx.objectStore('rooms').get(room).onsuccess = (e) => (got.room = e.target.result);
    tx.objectStore('messages').getAll(roomRange(room)).onsuccess = (e) => (got.messages = e.target.result);
    tx.objectStore('outbox').getAll(roomRange(room)).onsuccess = (e) => (got.outbox = e.target.result);
    await committed(tx);
    if (!got.room && !got.messages.length && !got.outbox.length) return null;
    return { meta: got.room?.meta ?? {}, messages: got.messages.map((r) => r.message), outbox: got.outbox.map((r) => r.entry) };
  }

  /** @param {string} room @param {{meta?: object, messages?: {put?: any[], remove?: number[]}, outbox?: {put?: any[], remove?: string[]}}} change */
  async save(room, { meta, messages, outbox } = {}) {
    const tx = await this.transaction(['rooms', 'messages', 'outbox'], 'readwrite');
    const done = committed(tx);
    try {
      if (meta) tx.objectStore('rooms').put({ room, meta });
      const kept = tx.objectStore('messages');
      for (const seq of messages?.remove ?? []) kept.delete([room, seq]);
      for (const m of messages?.put ?? []) {
        // (A throw in this handler aborts the transaction: IndexedDB's rule for request handlers.)
        kept.get([room, m.seq]).onsuccess = (e) => {
          const old = e.target.result?.message;
          if (!old || (m.rev ?? 0) >= (old.rev ?? 0)) kept.put({ room, seq: m.seq, message: m });
        };
      }
      const pending = tx.objectStore('outbox');
      for (const key of outbox?.remove ?? []) pending.delete([room, key]);
      for (const entry of outbox?.put ?? []) pending.put({ room, key: entry.key, entry });
    } catch (e) {
      // A request that could not even be made (a bad key): none of this change may be written.
      tx.abort();
      await done.catch(() => {});
      throw e;
    }
    await done;
  }

  async trim(room, keep) {
    const tx = await this.transaction(['rooms', 'messages'], 'readwrite');
    const messages = tx.objectStore('messages');
    messages.count(roomRange(room)).onsuccess = (e) => {
      let drop = e.target.result - keep;
      if (drop <= 0) return;
      // Oldest first: the key range walks the room in seq order.
      messages.openCursor(roomRange(room)).onsuccess = (ev) => {
        const cursor = ev.target.result;
        if (!cursor || drop <= 0) return;
        cursor.delete();
        drop -= 1;
        cursor.continue();
      };
    };
    const rooms = tx.objectStore('rooms');
    rooms.get(room).onsuccess = (e) => {
      const r = e.target.result;
      if (r) rooms.put({ room, meta: { ...r.meta, count: Math.min(r.meta?.count ?? 0, keep) } });
    };
    await committed(tx);
  }

  async rooms() {
    const tx = await this.transaction(['rooms'], 'readonly');
    let all = [];
    tx.objectStore('rooms').getAll().onsuccess = (e) => (all = e.target.result);
    await committed(tx);
    return all.map(({ room, meta }) => ({ room, count: meta?.count ?? 0, openedAt: meta?.openedAt ?? 0 }));
  }

  async clear() {
    const tx = await this.transaction(['rooms', 'messages', 'outbox'], 'readwrite');
    for (const name of ['rooms', 'messages', 'outbox']) tx.objectStore(name).clear();
    await committed(tx);
  }
}
