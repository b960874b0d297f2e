//! The messages we know, as living objects: the map seq → current state, each reported once (a
//! `message` event) and updated in place after an edit, a deletion or a reaction (`update`); the room
//! revision we resume from; our own reactions (the room sends only counts, so we remember ours in
//! keyStorage); older pages and search. Mixed into `ChatClient` (client.js); `messages`, `seen`,
//! `mine`, `lastSeq` and `rev` are its fields.

import { quiet } from './requests.js';

/** Messages per older page (the room allows 1..100). */
export const HISTORY_PAGE = 50;

/**
 * A message as the living-messages protocol describes it, with the fields an older server does not
 * send filled in (no reply, never edited, version 1, not deleted, no reactions, rev 0).
 */
export function living(m) {
  return { reply_to: null, edited_at: null, version: 1, deleted: false, rev: 0, ...m, reactions: { ...(m.reactions ?? {}) } };
}

/**
 * A search result's `snippet` (HTML-escaped text with hits in `<mark>…</mark>`, nothing else) as
 * pieces to draw with text nodes: [{text, mark}], the entities decoded. Anything unexpected in it
 * stays text: this never produces markup.
 */
export function snippetParts(html) {
  const decode = (s) => s.replace(/&(amp|lt|gt|quot|#39);/g, (_, e) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e]);
  const parts = [];
  let mark = false;
  for (const piece of String(html ?? '').split(/(<\/?mark>)/)) {
    if (piece === '<mark>') mark = true;
    else if (piece === '</mark>') mark = false;
    else if (piece) parts.push({ text: decode(piece), mark });
  }
  return parts;
}

/** @satisfies {ThisType<import('./client.js').ChatClient>} */
export const messages = {
  get reactionsKey() {
    return `edge-chat:reactions:${this.room}`;
  },

  /**
   * Our reactions, by seq. The room sends only counts (who reacted is not part of a message), so
   * which of them are ours we remember ourselves, next to the key that makes them ours; the
   * `reaction` frames about our uid (from any of our tabs) and our acks keep it current.
   */
  loadReactions() {
    try {
      const kept = JSON.parse(this.keyStorage?.getItem(this.reactionsKey) ?? '{}');
      return new Map(Object.entries(kept ?? {}).filter(([, v]) => Array.isArray(v)).map(([seq, v]) => [Number(seq), new Set(v)]));
    } catch {
      return new Map();
    }
  },

  saveReactions() {
    try {
      // The newest 500 messages we reacted to are plenty to draw any page we show.
      const seqs = [...this.mine.keys()].sort((a, b) => b - a).slice(0, 500);
      this.keyStorage?.setItem(this.reactionsKey, JSON.stringify(Object.fromEntries(seqs.map((s) => [s, [...this.mine.get(s)]]))));
    } catch {}
  },

  /** Remembers the newest room revision seen (frames of one connection come in rev order). */
  seeRev(rev) {
    if (typeof rev === 'number' && rev > (this.rev ?? -1)) this.rev = rev;
  },

  /** Whether `m` was written by us: by our uid when we have one, by our name on an older server. */
  isOwn(m) {
    if (this.identified) return m?.from?.uid === this.you.uid;
    return m?.from?.name === this.name;
  },

  /**
   * Reports a stored message once, resolving our own outbox entry if it is one of ours: the room's
   * idempotency key, (author, id) with the same text. The same author and id with another text is
   * somebody else's message (the room answers ours with id_conflict), so our entry stays. A message
   * we already have comes again only from a newer state (a page after a change): it updates it.
   */
  report(raw, { own = false, live, older = false }) {
    if (typeof raw?.seq !== 'number') return;
    const m = living(raw);
    const mine = own || (this.isOwn(m) && this.outbox.some((e) => e.id === m.id && e.text === m.text));
    if (mine) this.settle(m.id, m);
    if (m.seq > (this.lastSeq ?? 0)) this.lastSeq = m.seq;
    if (this.seen.has(m.seq)) {
      if (m.rev > (this.messages.get(m.seq)?.rev ?? 0)) this.apply(m);
      return;
    }
    this.seen.add(m.seq);
    this.messages.set(m.seq, m);
    this.emit('message', { message: m, own: mine || this.isOwn(m), live, older });
    if (live) this.countArrival(m);
    this.emitUnread();
  },

  /**
   * Retention erased every message up to `upto` (an `expired` frame, `welcome.retention`): each we
   * hold becomes the tombstone the room now keeps (no text, no reactions), reported as an `update`.
   */
  expire(upto) {
    if (typeof upto !== 'number') return;
    if (this.retention) this.retention = { ...this.retention, upto: Math.max(this.retention.upto ?? 0, upto) };
    for (const [seq, m] of this.messages) {
      if (seq > upto || (m.deleted && m.text === '')) continue;
      this.apply({ ...m, text: '', deleted: true, reactions: {} });
    }
  },

  /** A message we know has a new state (an edit, a deletion, from the welcome's `changes` too). */
  apply(raw) {
    if (typeof raw?.seq !== 'number' || !this.messages.has(raw.seq)) return; // not loaded: a page brings it as it is
    const m = living(raw);
    this.messages.set(m.seq, m);
    if (m.deleted && this.mine.delete(m.seq)) this.saveReactions();
    this.emit('update', { message: m });
    this.emitUnread();
  },

  onReaction(f) {
    this.seeRev(f.rev);
    if (f.user?.uid && f.user.uid === this.you?.uid) this.setMine(f.seq, f.emoji, f.on, false);
    const m = this.messages.get(f.seq);
    if (!m) return;
    this.messages.set(f.seq, { ...m, reactions: { ...(f.counts ?? {}) }, rev: Math.max(m.rev, f.rev ?? 0) });
    this.emit('update', { message: this.messages.get(f.seq) });
  },

  /** Records whether we reacted to `seq` with `emoji`; reports the message when that changed. */
  setMine(seq, emoji, on, report = true) {
    const set = this.mine.get(seq) ?? new Set();
    if (set.has(emoji) === Boolean(on)) return;
    if (on) set.add(emoji);
    else set.delete(emoji);
    if (set.size) this.mine.set(seq, set);
    else this.mine.delete(seq);
    this.saveReactions();
    if (report && this.messages.has(seq)) this.emit('update', { message: this.messages.get(seq) });
  },

  /** The emoji we reacted to `seq` with (only those the message still counts). */
  myReactions(seq) {
    const counts = this.messages.get(seq)?.reactions ?? {};
    return [...(this.mine.get(seq) ?? [])].filter((e) => counts[e] > 0);
  },

  /** Our newest message that is still there (for "seen by" and the Up arrow's edit), or null. */
  lastOwn() {
    let last = null;
    for (const m of this.messages.values()) if (this.isOwn(m) && !m.deleted && (!last || m.seq > last.seq)) last = m;
    return last;
  },

  /** The smallest seq we have, or null. */
  oldestSeq() {
    let oldest = null;
    for (const seq of this.messages.keys()) if (oldest === null || seq < oldest) oldest = seq;
    return oldest;
  },

  /**
   * A page of stored messages before `before` (default: the newest), oldest first, `limit` 1..100:
   * resolves with {messages, hasMore}. It changes nothing the client holds (loadOlder() does).
   * @param {{before?: number, limit?: number}} [options]
   */
  history({ before, limit = HISTORY_PAGE } = {}) {
    const page = this.request({ type: 'history', limit, ...(before != null ? { before } : {}) });
    return quiet(page.then((f) => ({ messages: Array.isArray(f.messages) ? f.messages.map(living) : [], hasMore: Boolean(f.has_more) })));
  },

  /**
   * Asks for the page of messages before the oldest we have. Resolves when it arrived (its messages
   * reported as `older`) with {count, hasOlder}, or with null when it could not be asked or answered
   * (offline, dropped, refused). One page at a time: a second call waits for the first.
   */
  loadOlder(limit = HISTORY_PAGE) {
    if (this.olderRequest) return this.olderRequest;
    const before = this.oldestSeq();
    if (before === null || before <= 1 || !this.hasOlder) {
      this.hasOlder = false;
      return Promise.resolve({ count: 0, hasOlder: false });
    }
    const page = this.history({ before, limit }).then(
      ({ messages, hasMore }) => {
        for (const m of messages) this.report(m, { live: false, older: true });
        this.hasOlder = hasMore && messages.length > 0;
        const done = { count: messages.length, hasOlder: this.hasOlder };
        this.emit('older', done);
        return done;
      },
      (error) => {
        if (error.code !== 'offline') this.emit('notice', { text: `Could not load older messages: ${error.message}` });
        return null;
      },
    );
    this.olderRequest = page.finally(() => (this.olderRequest = null));
    return this.olderRequest;
  },

  /**
   * Searches the room's history (best match first). Resolves with {results, hasMore, next} — each
   * result a whole message with its `snippet`, `next` the options of the next page's search — or
   * rejects with a ChatError when the room refused the query (bad_query, bad_limit, rate_limited) or
   * the connection went before it answered (offline). `limit`: 1..limits.results; `before`: only
   * messages with a smaller seq; `offset`: skip that many of the ranked window (0..199).
   * @param {string} q
   * @param {{limit?: number, before?: number, offset?: number}} [options]
   */
  search(q, { limit, before, offset } = {}) {
    const frame = { type: 'search', q };
    if (limit != null) frame.limit = limit;
    if (before != null) frame.before = before;
    if (offset) frame.offset = offset;
    // `nextBefore`: the room ranks only its newest matches; this is the `before` that searches on,
    // present only when there is more to search (a server before ranked windows never sends it).
    // `nextOffset`: the ranked window holds more than this page; asked with the same `before`.
    // `next`: whichever of the two comes first, as the options of the next page's search (null at
    // the end), so a "more" button need not know either.
    const answer = (f) => {
      const nextOffset = typeof f.next_offset === 'number' ? f.next_offset : undefined;
      const nextBefore = typeof f.next_before === 'number' ? f.next_before : undefined;
      const next =
        nextOffset !== undefined ? { ...(before != null ? { before } : {}), offset: nextOffset } :
        nextBefore !== undefined ? { before: nextBefore } :
        null;
      return {
        results: Array.isArray(f.results) ? f.results : [],
        hasMore: Boolean(f.has_more),
        ...(nextBefore !== undefined ? { nextBefore } : {}),
        ...(nextOffset !== undefined ? { nextOffset } : {}),
        next,
      };
    };
    return quiet(this.request(frame).then(answer));
  },

  /**
   * Who reacted to `seq` with `emoji`: resolves with {users: [{uid, name}], next} — a page in uid
   * order (`limit` 1..100, default 20), `next` the `after` of the following page or null. `name` is
   * what they were called when they reacted (null for a reaction older than the room's keeping of
   * names). Rejects with a ChatError (not_found, bad_request, offline) like any query.
   * @param {number} seq
   * @param {string} emoji
   * @param {{after?: string, limit?: number}} [options]
   */
  reactors(seq, emoji, { after, limit } = {}) {
    const frame = { type: 'reactors', seq, emoji };
    if (after != null) frame.after = after;
    if (limit != null) frame.limit = limit;
    return quiet(this.request(frame).then((f) => ({ users: Array.isArray(f.users) ? f.users : [], next: f.next ?? null })));
  },
};
