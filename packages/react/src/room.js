//! One room as `useRoom` sees it: a `ChatClient` of @edge-chat/client (one per room per provider)
//! and the immutable snapshot its events build. Each part of the snapshot — messages, pending sends,
//! members, typing, status, unread — is rebuilt only when an event about that part came, so an object
//! a component keeps (the `messages` array, say) stays the same object while only typing changed, and
//! `React.memo` children skip their render. The actions are bound once and ride in every snapshot.
//! Replies shown only in their thread stay out of `messages` (useThread lists them).
//! The client starts with the first subscriber (it opens from the offline store at once, then
//! connects) and stops a little after the last.

import { ChatClient, inThreadOnly } from '@edge-chat/client';
import { ExternalStore } from './external.js';

/** Which parts of the snapshot each client event changes. */
const PARTS = {
  cached: ['messages', 'status'],
  message: ['messages'],
  update: ['messages'],
  reset: ['messages'],
  older: ['messages'],
  outbox: ['pending'],
  roster: ['members'],
  typing: ['typing'],
  unread: ['unread'],
  counts: ['unread'],
  status: ['status'],
  welcome: ['status', 'messages'],
  refused: ['status'],
  rules: ['status'],
};

export class RoomHandle extends ExternalStore {
  /**
   * @param {string} room
   * @param {object} clientOptions  what every ChatClient of the provider is made with
   * @param {number} lingerMs
   * @param {() => Promise<void> | null} [clearing]  the store's emptying under way (sign-out), if any
   */
  constructor(room, clientOptions, lingerMs, clearing = () => null) {
    super({ onFirst: () => this.open(clearing()), onLast: () => this.client.stop(), lingerMs });
    this.room = room;
    this.client = new ChatClient({ ...clientOptions, room });
    this.dirty = new Set(['messages', 'pending', 'members', 'typing', 'unread', 'status']);
    this.typingUsers = [];
    this.refusal = null;
    this.fromCache = false;
    for (const [type, parts] of Object.entries(PARTS)) {
      this.client.addEventListener(type, (e) => {
        // A reply only in its thread is the thread's news (useThread), not the conversation's.
        if ((type === 'message' || type === 'update') && inThreadOnly(e.detail.message)) return;
        if (type === 'typing') this.typingUsers = e.detail.users ?? [];
        if (type === 'refused') this.refusal = e.detail;
        if (type === 'cached') this.fromCache = e.detail.messages > 0;
        for (const part of parts) this.dirty.add(part);
        this.changed();
      });
    }
    const c = this.client;
    // The actions, bound once: the same functions in every snapshot (safe in effect dependencies).
    this.actions = {
      send: (text, options) => c.send(text, options),
      edit: (seq, text) => c.edit(seq, text),
      remove: (seq, options) => c.delete(seq, options),
      react: (seq, emoji, on = true) => c.react(seq, emoji, on),
      toggleReaction: (seq, emoji) => c.toggleReaction(seq, emoji),
      markRead: (seq) => c.markRead(seq),
      loadOlder: (limit) => c.loadOlder(limit),
      retry: (id) => c.retry(id),
      discard: (id) => c.discard(id),
      sendTyping: () => c.typing(),
    };
  }

  /** Starts the client; after the store's emptying when one is under way (it must not open from it first). */
  open(clearing) {
    if (!clearing) return this.client.start();
    clearing.then(() => this.active && this.client.state === 'closed' && this.client.start());
  }

  build(previous) {
    const c = this.client;
    const dirty = this.dirty;
    const part = (name, make) => (!previous || dirty.has(name) ? make() : previous[name]);
    const next = {
      room: this.room,
      // The main conversation: a reply only in its thread is in useThread's list instead.
      messages: part('messages', () => [...c.messages.values()].filter((m) => !inThreadOnly(m)).sort((a, b) => a.seq - b.seq)),
      pending: part('pending', () => c.outbox.filter((e) => e.thread == null || e.alsoInRoom)),
      members: part('members', () => [...c.members.values()]),
      typing: part('typing', () => [...this.typingUsers]),
      status: c.state,
      fromCache: this.fromCache,
      refusal: this.refusal,
      you: c.you,
      online: c.online,
      hasOlder: c.hasOlder,
      unread: c.unreadCount(),
      mentions: c.mentionCount ?? 0,
      threadUnread: c.threadUnread ?? 0,
      readSeq: c.readSeq,
      client: c,
      ...this.actions,
    };
    dirty.clear();
    // Nothing shown changed (an event about something the snapshot does not show): the same object.
    if (previous && Object.keys(next).every((k) => next[k] === previous[k])) return previous;
    return next;
  }
}
