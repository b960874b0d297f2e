//! The room's frames, read: one dispatch from each frame type to the concept that handles it, the
//! `welcome` (which sets every concept's state at once, then resends what waits), and `error` frames
//! (a refusal of the socket, of a request, of an outbox entry, or of nothing we wait for). Mixed into
//! `ChatClient` (client.js).

import { ChatError } from './errors.js';
import { announcedLimits } from './limits.js';
import { living } from './messages.js';
import { messageFrame } from './outbox.js';

/** @satisfies {ThisType<import('./client.js').ChatClient>} */
export const frames = {
  onServerFrame(f) {
    switch (f?.type) {
      case 'welcome':
        return this.onWelcome(f);
      case 'message':
        this.stopTyping(f.from?.id);
        this.seeRev(f.rev);
        return this.report(f, { live: true });
      case 'ack':
        return this.onAck(f);
      case 'message_updated':
        this.seeRev(f.rev);
        this.apply(f.message);
        if (typeof f.message?.seq === 'number') this.emit('message_updated', { message: living(f.message) });
        return;
      case 'reaction':
        this.onReaction(f);
        return this.emit('reaction', { reaction: f });
      case 'read':
        return this.onRead(f);
      case 'thread_updated':
        return this.onThreadUpdated(f);
      case 'unread':
        return this.takeCounts(f);
      case 'history':
      case 'search_results':
      case 'roster':
      case 'thread_page':
      case 'reactors':
        return this.answer(f.id, f);
      case 'join':
        this.members.set(f.user.id, f.user);
        this.online += 1;
        this.emit('join', { user: f.user });
        return this.emitRoster();
      case 'leave':
        this.members.delete(f.user.id);
        this.online = Math.max(0, this.online - 1);
        this.stopTyping(f.user.id);
        this.emit('leave', { user: f.user });
        return this.emitRoster();
      case 'presence':
        return this.onPresence(f);
      case 'typing':
        return this.onTyping(f.user);
      case 'expired':
        return this.expire(f.upto);
      case 'moderation':
        return this.onModeration(f);
      case 'moderation_log':
        this.emit('moderation_log', f);
        return this.answer(f.id, f);
      case 'auth_ok':
        this.role = f.role ?? this.role;
        this.scheduleRenewal(f.expires);
        return this.answer(f.id, f);
      case 'error':
        return this.onError(f);
    }
  },

  onWelcome(f) {
    clearTimeout(this.timers.welcome);
    this.welcome = f;
    this.you = f.you;
    this.ownCache(f); // a kept outbox is sent only under the identity that wrote it (cache.js)
    this.members = new Map(f.members.map((m) => [m.id, m]));
    // Above the presence threshold the welcome counts (`online`) and lists a first page only.
    this.online = typeof f.online === 'number' ? f.online : this.members.size;
    this.partial = this.members.size < this.online;
    // The welcome's first page is in id order: the next page starts after its last id.
    this.membersCursor = this.partial ? (f.members.at(-1)?.id ?? null) : null;
    this.limits = announcedLimits(f.limits);
    const resumed = this.lastSeq !== null;
    if (resumed && f.last_seq < this.lastSeq) {
      // The room is behind what we saw: its storage was reset (a fresh dev server, say). Its seqs
      // start again, so what we remember of the old ones would hide new messages.
      this.emit('notice', { text: 'The room was reset: its earlier messages are gone.' });
      this.seen.clear();
      this.messages.clear();
      this.lastSeq = 0;
      this.rev = null;
    } else if (resumed && f.truncated) {
      // We missed more than one page (of messages, or of changes to the ones we have): what we show
      // would have a hole, or stale messages in it. So we drop it all and start again from the
      // newest, as after a reload — without one; older pages load as the reader scrolls up.
      this.emit('notice', { text: 'You were away for long: only the newest messages are shown.' });
      this.seen.clear();
      this.messages.clear();
      this.emit('reset', {});
    }
    // Everything up to last_seq is in history or already seen (the room sends the newest when it cuts).
    this.lastSeq = Math.max(this.lastSeq ?? 0, f.last_seq ?? 0);
    // The history and the changes are the room's state at welcome.rev: that is now what we have seen.
    if (typeof f.rev === 'number') this.rev = f.rev;
    for (const m of f.changes ?? []) this.apply(m);
    for (const m of f.history ?? []) this.report(m, { live: false });
    this.retention = f.retention ?? null;
    // What retention erased while we were away: the room sends no change for it, only where it ends.
    if (this.retention?.upto) this.expire(this.retention.upto);
    const oldest = this.oldestSeq();
    if (!resumed || this.messages.size === (f.history?.length ?? 0)) this.hasOlder = oldest !== null && oldest > 1;
    this.welcomeReads(f);
    this.takeCounts(f);
    this.role = f.role ?? null;
    this.slowModeSecs = f.slow_mode ?? 0;
    this.mutedUntil = f.muted_until ?? null;
    this.emit('rules', this.rules());
    this.tokenRetried = false;
    this.scheduleRenewal(f.expires);
    this.attempt = 0;
    this.reason = null;
    this.setState('online');
    this.emitRoster();
    // Whatever is still in the outbox may or may not have arrived before we lost the last socket:
    // resending with the same id is safe, the room acks a duplicate with the original seq. So are
    // the changes not yet acked: an edit to the same text, a deletion of a deleted message and a
    // reaction set to what it is are all acked without changing anything.
    this.flushOutbox();
    this.actions = this.collapseChanges(this.actions);
    for (const action of this.actions) this.transmit(action);
    if (this.readSeq > this.sentReadSeq) this.sendReadSoon();
    this.timers.heartbeat = setInterval(() => this.beat(), this.heartbeatMs);
    this.emit('welcome', { welcome: f });
  },

  onError(f) {
    if (this.state !== 'online') {
      // Before the welcome, an error is the socket's refusal; its close code (onClose) says what it means.
      this.said = f;
      return;
    }
    if ((f.code === 'banned' || f.code === 'kicked') && f.id == null) {
      // A moderator removed us; the close (4403) follows and ends the connection with this reason.
      this.said = f;
      return;
    }
    if (f.code === 'token_expired' && f.id == null) {
      // The room is closing this socket because our token ran out; the close (4401) may take a while
      // to arrive, so act on the frame that announces it: as if the socket had closed with 4401.
      this.said = f;
      const ws = this.ws;
      this.onClose({ code: 4401, reason: 'token_expired' });
      try {
        ws?.close(1000, 'token expired');
      } catch {}
      return;
    }
    const action = f.id == null ? null : this.actions.find((a) => a.id === f.id);
    if (action) return this.actionFailed(action, f);
    if (this.refuseRequest(f.id, new ChatError(f.code, f.message ?? f.code, { id: f.id }))) return;
    const entry = f.id == null ? null : this.outbox.find((e) => e.id === f.id);
    if (!entry) {
      this.emit('notice', { text: `Server: ${f.message ?? f.code}` });
      this.emit('error', { error: new ChatError(f.code, f.message ?? f.code, { id: f.id ?? null }) });
      return;
    }
    if (f.code === 'internal') {
      // Not stored, through no fault of the message: it stays pending and goes again (same id).
      setTimeout(() => this.outbox.includes(entry) && this.transmit(messageFrame(entry)), 2000);
      return;
    }
    if (f.code === 'slow_mode') {
      // Not stored: the room holds each author's messages apart. It goes again once the wait is over.
      const wait = Math.max(1, this.slowModeSecs ?? 1) * 1000;
      this.emit('notice', { text: `${f.message} — it goes automatically.` });
      setTimeout(() => this.outbox.includes(entry) && this.transmit(messageFrame(entry)), wait);
      return;
    }
    if (f.code === 'id_conflict' && !entry.reissued) {
      // The room already stored another text under our (author, id). Our ids are random (messageId),
      // so that message is somebody else's who uses the same name, and ours was not stored: under a
      // fresh id it is simply a new message. Once only, so a server that kept refusing cannot loop us.
      entry.reissued = true;
      this.reissue(entry);
      this.transmit(messageFrame(entry));
      return;
    }
    const why = {
      rate_limited: 'rate limited — too many messages at once',
      too_large: `too large (at most ${this.limits.text} characters)`,
      id_conflict: 'its id was taken by another message',
      muted: f.message ? `${f.message}` : 'not sent: a moderator muted you',
      not_found: 'the message it replies to was deleted',
      bad_thread: 'its thread is gone (the message it answers was deleted)',
      bad_request: 'refused by the server',
    }[f.code];
    this.fail(entry, f.code, why ?? f.message ?? f.code);
  },
};
