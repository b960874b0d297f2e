//! Changes we ask of the room: edits, deletions and reactions (and, through moderation.js, a
//! moderator's actions). Each waits in `actions` until acked, goes again after a reconnect (each is
//! idempotent at the room), and is forgotten with a notice when refused. Mixed into `ChatClient`
//! (client.js).

import { ChatError } from './errors.js';
import { messageId } from './identity.js';
import { quiet } from './requests.js';

/**
 * The changes of `actions` still worth sending, in order. Each edit, reaction and deletion sets a
 * state (this text; this emoji on or off; deleted), which the room acks without a second effect when
 * it already holds it — so of several waiting about one thing only the last is needed: a later edit of
 * a message replaces an earlier one, a later reaction with the same emoji replaces an earlier one, and
 * a deletion replaces everything before it about that message. Resending only those makes a change
 * sent before a drop (or a reload) and again after it take effect once. A moderator's other actions
 * pass as they are. Returns {kept, superseded}: superseded maps each dropped change's id to the id of
 * the change that replaced it.
 * @param {Array<{id: string, type: string, seq?: number, emoji?: string}>} actions
 */
export function pendingChanges(actions) {
  const kept = [];
  const superseded = new Map();
  const last = new Map(); // what a change is about → the id of the newest change about it
  for (let i = actions.length - 1; i >= 0; i--) {
    const a = actions[i];
    const about = a.type === 'edit' ? `edit ${a.seq}` : a.type === 'react' ? `react ${a.seq} ${a.emoji}` : null;
    const deletion = a.type in { edit: 1, react: 1, delete: 1 } ? last.get(`delete ${a.seq}`) : undefined;
    const by = deletion ?? (about ? last.get(about) : undefined);
    if (by) {
      superseded.set(a.id, by);
      continue;
    }
    if (a.type === 'delete') last.set(`delete ${a.seq}`, a.id);
    else if (about) last.set(about, a.id);
    kept.unshift(a);
  }
  return { kept, superseded };
}

/** @satisfies {ThisType<import('./client.js').ChatClient>} */
export const changes = {
  /**
   * Sends a change (`edit`, `delete`, `react` or a moderator's action) and resolves with its ack
   * ({id, seq, ts, rev}; seq 0 for moderation), or rejects with the room's refusal. It waits in
   * `actions` until answered and goes again after a reconnect (each is idempotent at the room).
   * Anonymous connections change nothing: refused here as the room would (`forbidden`).
   */
  act(frame) {
    if (!this.identified && this.you) {
      this.emit('notice', { text: 'Only a connection with an identity can change messages.' });
      return quiet(Promise.reject(new ChatError('forbidden', 'only a connection with an identity (key or token) can change messages')));
    }
    const action = { ...frame, id: messageId() };
    this.actions.push(action);
    const done = this.request(action, 'action');
    this.persistSoon(); // kept in the store's outbox until acked (cache.js)
    this.transmit(action);
    return done;
  },

  /** Replaces the text of our message `seq` (the room keeps the earlier versions). */
  edit(seq, text) {
    const why = this.oversize(text, 'edit');
    if (why) {
      this.emit('notice', { text: `Could not edit the message: ${why}.` });
      return quiet(Promise.reject(new ChatError('too_large', why)));
    }
    return this.act({ type: 'edit', seq, text });
  },

  /** Takes file `fileId` off our message `seq` (an edit may remove files, never add them). */
  removeFile(seq, fileId) {
    const kept = (this.messages.get(seq)?.files ?? []).map((f) => f.id).filter((id) => id !== fileId);
    return this.act({ type: 'edit', seq, files: kept });
  },

  /** Removes the link preview of our message `seq` (one on its way never shows either). */
  removePreview(seq) {
    return this.act({ type: 'edit', seq, preview: false });
  },

  /**
   * Deletes message `seq` (ours, or anyone's for a moderator): its text and every earlier version are
   * erased, a placeholder stays. A moderator deleting someone else's message may say why (`reason`, at
   * most 200 characters): everyone hears it in the `moderation` frame, its author too.
   * @param {number} seq
   * @param {{reason?: string}} [options]
   */
  delete(seq, { reason } = {}) {
    return this.act(reason ? { type: 'delete', seq, reason } : { type: 'delete', seq });
  },

  /** Sets our reaction `emoji` on `seq` on (default) or off. */
  react(seq, emoji, on = true) {
    return this.act({ type: 'react', seq, emoji, on: Boolean(on) });
  },

  /** Flips our reaction `emoji` on `seq` (a click on a reaction). */
  toggleReaction(seq, emoji) {
    return this.react(seq, emoji, !this.myReactions(seq).includes(emoji));
  },

  /**
   * The waiting changes reduced to those still worth sending (pendingChanges); whoever waits for a
   * dropped one settles with the change that replaced it.
   */
  collapseChanges(actions) {
    const { kept, superseded } = pendingChanges(actions);
    for (const [old, by] of superseded) {
      const waiter = this.pending.get(old);
      if (!waiter) continue;
      this.pending.delete(old);
      const survivor = this.pending.get(by);
      const both = (settle) => (value) => {
        survivor?.[settle](value);
        waiter[settle](value);
      };
      this.pending.set(by, { ...(survivor ?? waiter), resolve: both('resolve'), reject: both('reject') });
    }
    return kept;
  },

  /** An edit, deletion or reaction the room refused: forgotten (the view never changed for it). */
  actionFailed(action, f) {
    if (f.code === 'internal') {
      setTimeout(() => this.actions.includes(action) && this.transmit(action), 2000);
      return;
    }
    this.actions = this.actions.filter((a) => a !== action);
    const what = { edit: 'edit the message', delete: 'delete the message', react: 'react to the message' }[action.type] ?? action.type.replace('_', ' ');
    const why = {
      forbidden: action.type in { edit: 1, delete: 1, react: 1 } ? 'only its author can change a message' : 'only a moderator may do that',
      not_found: 'that message was deleted',
      rate_limited: 'too many changes at once, try again in a moment',
    }[f.code] ?? f.message ?? f.code;
    this.emit('action', { action, ok: false, code: f.code, message: why });
    this.emit('notice', { text: `Could not ${what}: ${why}.` });
    this.refuseRequest(action.id, new ChatError(f.code, f.message ?? why, { id: action.id }));
  },
};
