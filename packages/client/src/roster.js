//! Who is here: the roster of open connections (whole, or above the room's presence threshold a
//! partial list kept by `presence` frames and paged with loadMembers()), and who is typing (shown
//! for TYPING_SHOWN_MS after each typing frame, since no frame says "stopped"). Mixed into
//! `ChatClient` (client.js); `members`, `online`, `partial` and `typers` are its fields.

/** How long "bob is typing…" stays after bob's last typing frame. */
export const TYPING_SHOWN_MS = 4000;

/** The least time between two typing frames we send (each one costs a rate-limit token). */
export const TYPING_EVERY_MS = 2500;

/** @satisfies {ThisType<import('./client.js').ChatClient>} */
export const roster = {
  /** Call on every keystroke in the composer; sends at most one typing frame per TYPING_EVERY_MS. */
  typing() {
    const now = Date.now();
    if (now - this.lastTypingSent < TYPING_EVERY_MS) return;
    if (this.transmit({ type: 'typing' })) this.lastTypingSent = now;
  },

  onTyping(user) {
    if (!user || user.id === this.you?.id) return;
    this.typers.set(user.id, { name: user.name, user, until: Date.now() + TYPING_SHOWN_MS });
    this.emitTyping();
  },

  stopTyping(id) {
    if (this.typers.delete(id)) this.emitTyping();
  },

  /** Reports who is typing and arms one timer for the next expiry (there is no "stopped" frame). */
  emitTyping() {
    const now = Date.now();
    for (const [id, t] of this.typers) if (t.until <= now) this.typers.delete(id);
    clearTimeout(this.timers.typing);
    if (this.typers.size) {
      const next = Math.min(...[...this.typers.values()].map((t) => t.until));
      this.timers.typing = setTimeout(() => this.emitTyping(), next - now + 5);
    }
    // `users`: one per person (uid; a connection without one by itself), so two people who chose the
    // same name are two typers; `names` stays as it was, each name once.
    const users = new Map();
    for (const t of this.typers.values()) {
      const key = t.user.uid ?? `conn:${t.user.id}`;
      if (!users.has(key)) users.set(key, t.user);
    }
    this.emit('typing', { names: [...new Set([...this.typers.values()].map((t) => t.name))], users: [...users.values()] });
  },

  /**
   * A `presence` frame (rooms above the threshold): the count, and a sample of who came and went since
   * the last one. Once the room is large the list stays partial; loadMembers() pages the rest.
   */
  onPresence(f) {
    for (const u of f.left ?? []) {
      this.members.delete(u.id);
      this.stopTyping(u.id);
    }
    for (const u of f.joined ?? []) this.members.set(u.id, u);
    if (typeof f.online === 'number') this.online = f.online;
    this.partial = this.members.size < this.online;
    this.emit('presence', { online: this.online, joins: f.joins ?? 0, leaves: f.leaves ?? 0 });
    this.emitRoster();
  },

  /** Asks for the next page of the roster (after the last id we hold); resolves when it is merged. */
  // Resolves with true once the page is merged (a `roster` event), false when it could not be had.
  loadMembers(limit = 100) {
    if (this.membersRequest) return this.membersRequest;
    const after = this.membersCursor;
    const page = this.request({ type: 'roster', limit, ...(after ? { after } : {}) }).then(
      (f) => this.onMembers(f),
      () => false,
    );
    this.membersRequest = page.finally(() => (this.membersRequest = null));
    return this.membersRequest;
  },

  onMembers(f) {
    for (const u of f.members ?? []) this.members.set(u.id, u);
    if (typeof f.online === 'number') this.online = f.online;
    this.membersCursor = f.next ?? null;
    this.partial = Boolean(f.next) || this.members.size < this.online;
    this.emitRoster();
    return true;
  },

  emitRoster() {
    this.emit('roster', { members: [...this.members.values()], you: this.you, online: this.online, partial: this.partial });
  },
};
