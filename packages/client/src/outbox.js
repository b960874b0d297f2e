//! The outbox: the messages we sent that the room has not stored yet, oldest first. Each keeps its
//! idempotency `id` and goes again after every reconnect until an `ack` (or the message itself in a
//! welcome) settles it; one the room refused stays, marked, for retry() or discard(). It is kept in
//! the client's store (cache.js: IndexedDB in a browser), so a reload, a crash of the tab or a restart
//! does not lose it, and resent paced under the room's rate limit. `load()` reads what a page before
//! the store kept in `storage` (sessionStorage), once; the store takes it from there. Mixed into `ChatClient` (client.js); `outbox` and `sends` are its
//! fields.

import { ChatError } from './errors.js';
import { messageId } from './identity.js';
import { charCount } from './limits.js';
import { quiet } from './requests.js';

/** The `message` frame of an outbox entry (with `reply_to` only when it answers a message, `files`
 * only when it carries some: their ids, `thread` only in a thread). */
export function messageFrame(entry) {
  const frame = { type: 'message', text: entry.text, id: entry.id };
  if (entry.replyTo != null) frame.reply_to = entry.replyTo;
  if (entry.files?.length) frame.files = entry.files.map((f) => f.id);
  if (entry.thread != null) frame.thread = entry.thread;
  if (entry.thread != null && entry.alsoInRoom) frame.also_in_room = true;
  return frame;
}

/** Files as a message names them: descriptors (an upload's answer), or bare ids. */
function fileList(files) {
  return (files ?? []).map((f) => (typeof f === 'string' ? { id: f } : f)).filter((f) => typeof f?.id === 'string');
}

/** @satisfies {ThisType<import('./client.js').ChatClient>} */
export const outbox = {
  get storageKey() {
    return `edge-chat:outbox:${this.room}:${this.name}`;
  },

  load() {
    try {
      const list = JSON.parse(this.storage?.getItem(this.storageKey) ?? '[]');
      if (!Array.isArray(list)) return [];
      return list.filter((e) => e && typeof e.id === 'string' && typeof e.text === 'string').map((e) => ({ key: e.id, ...e }));
    } catch {
      return [];
    }
  },

  /** The outbox changed: the store writes it at the end of this turn (cache.js). */
  save() {
    this.persistSoon();
  },

  /**
   * Resends the pending outbox after a (re)connect, paced under the connection's token bucket as
   * `welcome.limits` announced it: half the burst at once (the other half stays for what the person
   * types now), then one per 1.5 refill periods — with the default bucket (20, 10/s) 10 at once and
   * one every 150 ms — so a long offline queue is neither refused as `rate_limited` nor closed as a
   * flood. Stops when the socket goes; the next welcome starts again (resending an id the room
   * already stored is harmless: it is acked, not stored). An entry queued offline that the room's
   * limits turn out too small for is marked too large instead of sent.
   */
  flushOutbox() {
    clearTimeout(this.timers.flush);
    for (const entry of this.outbox) {
      const why = entry.error ? null : this.oversize(entry.text, entry.id, entry.files);
      if (why) this.fail(entry, 'too_large', why);
    }
    const pending = this.outbox.filter((e) => !e.error);
    const first = Math.max(1, Math.floor(this.limits.burst / 2));
    const every = Math.ceil(1500 / this.limits.per_sec);
    const step = (from) => {
      const to = Math.min(from + (from === 0 ? first : 1), pending.length);
      for (let k = from; k < to; k++) {
        const entry = pending[k];
        if (!this.outbox.includes(entry) || entry.error) continue;
        if (!this.transmit(messageFrame(entry))) return;
      }
      if (to < pending.length) this.timers.flush = setTimeout(() => step(to), every);
    };
    step(0);
  },

  /**
   * Why `text` cannot go out under the room's limits, or null. Checked before sending because a frame
   * over `frame_bytes` is not refused but makes the room close the socket (1009) — and the outbox
   * would resend it after every reconnect.
   */
  oversize(text, id, files = []) {
    const n = charCount(text);
    if (n > this.limits.text) return `too large (${n} characters, at most ${this.limits.text})`;
    if (files.length > this.limits.files) return `too many files (${files.length}, at most ${this.limits.files})`;
    const bytes = new TextEncoder().encode(JSON.stringify({ type: 'message', text, id, files: files.map((f) => f.id) })).length;
    if (bytes > this.limits.frame_bytes) return `too large (${bytes} bytes, at most ${this.limits.frame_bytes})`;
    return null;
  },

  /**
   * Queues a message (`replyTo`: the seq it answers; `files`: the descriptors of uploads, or their
   * ids; `thread`: the root of the thread it goes into, `alsoInRoom` to show it in the main
   * conversation too) and returns its outbox entry: it is sent now if we are online, else on the next
   * welcome, and again (same id) after every reconnect until the room stores it. The lower half of
   * send(), for a UI that draws the outbox.
   */
  queue(text, { replyTo = null, files = [], thread = null, alsoInRoom = false } = {}) {
    const id = messageId();
    const entry = { key: id, id, text, createdAt: Date.now() };
    if (replyTo != null) entry.replyTo = replyTo;
    if (thread != null) entry.thread = thread;
    if (thread != null && alsoInRoom) entry.alsoInRoom = true;
    const attached = fileList(files);
    if (attached.length) entry.files = attached;
    const why = this.oversize(text, id, attached);
    if (why) {
      entry.error = why;
      entry.code = 'too_large';
    }
    this.outbox.push(entry);
    this.save();
    // The others drop our typing line when the message arrives; the next keystroke may say so again.
    this.lastTypingSent = -Infinity;
    this.emit('outbox', { entries: this.outbox });
    if (!entry.error) this.transmit(messageFrame(entry));
    return entry;
  },

  /**
   * Sends a message — `send(text, {replyTo, files})`, or `send({text, files, replyTo})` — and
   * resolves with {id, seq, ts, rev} once the room stored it (its `ack`, or — when the ack went with a
   * dropped socket — the message itself in the next welcome), rejects with a ChatError when the room
   * refused it (too_large, rate_limited, muted, bad_file for a file not uploaded here or used
   * already, not_found for a deleted `replyTo`, …; the entry then stays in the outbox, marked, for
   * retry() or discard()). A drop does not fail it: it waits in the outbox and goes again after the
   * reconnect. A message with files may have no text.
   */
  send(text, options) {
    if (text !== null && typeof text === 'object') {
      const { text: t = '', ...rest } = text;
      return this.send(t, { ...rest, ...options });
    }
    const entry = this.queue(text, options);
    return this.waitFor(entry);
  },

  /** The promise of an outbox entry: settles when settle() or fail() does. */
  waitFor(entry) {
    if (entry.error) return quiet(Promise.reject(new ChatError(entry.code ?? 'bad_request', entry.error, { id: entry.id })));
    return quiet(new Promise((resolve, reject) => this.sends.set(entry.key, { resolve, reject })));
  },

  /** Tries a failed message again: with its original id, or a new one if that id was taken. */
  retry(id) {
    const entry = this.outbox.find((e) => e.id === id);
    if (!entry) return quiet(Promise.reject(new ChatError('not_found', `no message ${id} in the outbox`, { id })));
    const why = this.oversize(entry.text, entry.id, entry.files);
    if (why) return quiet(Promise.reject(new ChatError('too_large', why, { id })));
    if (entry.code === 'id_conflict') entry.id = messageId();
    if (entry.code === 'not_found') delete entry.replyTo; // what it answered is gone: send it plain
    delete entry.error;
    delete entry.code;
    this.save();
    this.emit('outbox', { entries: this.outbox });
    const done = this.waitFor(entry);
    this.transmit(messageFrame(entry));
    return done;
  },

  /** Takes a message out of the outbox unsent (its send() rejects with `discarded`). */
  discard(id) {
    this.settle(id);
  },

  onAck(f) {
    this.seeRev(f.rev);
    const action = this.actions.find((a) => a.id === f.id);
    if (action) {
      this.actions = this.actions.filter((a) => a !== action);
      if (action.type === 'react') this.setMine(action.seq, action.emoji, action.on);
      this.emit('action', { action, ok: true });
      this.answer(action.id, { id: f.id, seq: f.seq, ts: f.ts, rev: f.rev });
      return;
    }
    const entry = this.outbox.find((e) => e.id === f.id);
    if (!entry) return;
    // `text` only when the room stored another text than ours (its moderation hook replaced it).
    const text = typeof f.text === 'string' ? f.text : entry.text;
    const message = { seq: f.seq, id: f.id, from: this.you, text, ts: f.ts, reply_to: entry.replyTo ?? null, rev: f.rev ?? 0 };
    if (entry.files?.length) message.files = entry.files;
    if (entry.thread != null) message.thread = entry.thread;
    if (entry.alsoInRoom) message.also_in_room = true;
    this.report(message, { own: true, live: true });
  },

  /**
   * Takes the entry `id` out of the outbox: stored (`stored`, the message as the room has it), its
   * send() resolves; discarded (no `stored`), it rejects.
   */
  settle(id, stored = null) {
    const entry = this.outbox.find((e) => e.id === id);
    if (!entry) return;
    this.outbox = this.outbox.filter((e) => e !== entry);
    this.save();
    this.emit('outbox', { entries: this.outbox });
    const waiter = this.sends.get(entry.key);
    if (!waiter) return;
    this.sends.delete(entry.key);
    if (stored) waiter.resolve({ id: entry.id, seq: stored.seq, ts: stored.ts, rev: stored.rev ?? 0 });
    else waiter.reject(new ChatError('discarded', 'the message was discarded before it was stored', { id }));
  },

  /** Marks an entry as not sent, with the reason shown to the person; its send() rejects. */
  fail(entry, code, why) {
    entry.error = why;
    entry.code = code;
    this.save();
    this.emit('outbox', { entries: this.outbox });
    const waiter = this.sends.get(entry.key);
    if (!waiter) return;
    this.sends.delete(entry.key);
    waiter.reject(new ChatError(code, why, { id: entry.id }));
  },

  /** Gives an entry a new idempotency key (the old one is taken by another message). */
  reissue(entry) {
    entry.id = messageId();
    this.save();
    this.emit('outbox', { entries: this.outbox });
  },
};
