//! Moderation as the client sees it: what a moderator's action means for us (our mute, the room's
//! slow mode, our role), and a moderator's own actions and the log. Mixed into `ChatClient`
//! (client.js).

import { HISTORY_PAGE } from './messages.js';

/** @satisfies {ThisType<import('./client.js').ChatClient>} */
export const moderation = {
  /** What the room's moderation means for us now: our mute (ms, or null) and its slow mode (s). */
  rules() {
    const mutedUntil = this.mutedUntil && this.mutedUntil > Date.now() ? this.mutedUntil : null;
    return { mutedUntil, slowMode: this.slowModeSecs ?? 0, moderator: this.role === 'moderator' };
  },

  /** A moderator acted (docs/PROTOCOL.md, "Moderation"): keep what concerns us, tell the page. */
  onModeration(f) {
    const mine = Boolean(f.uid) && f.uid === this.you?.uid;
    if (f.action === 'slow_mode') this.slowModeSecs = f.seconds ?? 0;
    if (mine && f.action === 'mute') this.mutedUntil = Date.now() + (f.seconds ?? 0) * 1000;
    if (mine && f.action === 'unmute') this.mutedUntil = null;
    this.emit('moderation', { record: f, mine });
    this.emit('rules', this.rules());
  },

  /**
   * A moderator's action (`ban`, `unban`, `kick`, `mute`, `unmute`, `slow_mode`, `require_identity`,
   * `allow_anonymous`, `purge`) with its fields
   * (`uid`, `seconds`, `reason`); acked like a change to a message.
   */
  moderate(action, fields = {}) {
    return this.act({ type: action, ...fields });
  },

  /**
   * Bans the author `uid` from the room (moderators only); `reason` at most 200 characters.
   * @param {string} uid
   * @param {{reason?: string}} [options]
   */
  ban(uid, { reason } = {}) {
    return this.moderate('ban', reason == null ? { uid } : { uid, reason });
  },

  unban(uid) {
    return this.moderate('unban', { uid });
  },

  /** Closes the author's sockets (4403 `kicked`); they may join again. */
  kick(uid) {
    return this.moderate('kick', { uid });
  },

  /** Refuses the author's messages, edits and reactions for `seconds` (1 s to 30 days). */
  mute(uid, seconds) {
    return this.moderate('mute', { uid, seconds });
  },

  unmute(uid) {
    return this.moderate('unmute', { uid });
  },

  /**
   * Deletes the author `uid`'s messages of the last `seconds` (1 s to 7 days; at most 500, newest
   * first): the room acks at once and deletes them a batch per turn, each heard as a moderator's
   * deletion (`update` events, and `moderation` with action `delete` and the `reason`).
   * @param {string} uid
   * @param {number} seconds
   * @param {{reason?: string}} [options]
   */
  purge(uid, seconds, { reason } = {}) {
    return this.moderate('purge', reason ? { uid, seconds, reason } : { uid, seconds });
  },

  /** One message per author per `seconds` (0 switches it off, at most 3600). */
  slowMode(seconds) {
    return this.moderate('slow_mode', { seconds });
  },

  /**
   * Whether anonymous connections may speak (`true`, the default) or only those with a key or a token
   * (`false`: the others may still read).
   * @param {boolean} allowed
   */
  allowAnonymous(allowed) {
    return this.moderate(allowed ? 'allow_anonymous' : 'require_identity');
  },

  /**
   * A page of the room's moderation log, newest first (moderators only): resolves with the
   * `moderation_log` frame ({records, has_more, rules}); it is also told as a `moderation_log` event.
   * @param {{before?: number, limit?: number}} [options]
   */
  moderationLog({ before, limit = HISTORY_PAGE } = {}) {
    return this.request({ type: 'moderation_log', limit, ...(before != null ? { before } : {}) });
  },
};
