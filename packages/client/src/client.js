//! The client of the SDK (docs/SDK.md): one `ChatClient` per (room, name) speaks the protocol
//! (docs/PROTOCOL.md) over a WebSocket and keeps the promises an app makes — reconnect with backoff,
//! resume with `after=<last seq>&since=<last rev>`, an outbox of unacked messages retried with the
//! same `id`, a heartbeat, the roster and "is typing" — and keeps every message it knows as a living
//! object: replies, edits, deletions and reactions, read marks, older pages. It never touches the
//! DOM: it reports what happened as events on an `EventTarget` (the demo page, public/app.js, draws
//! them), and every request is a promise that settles on the room's answer to its `id` — the `ack`,
//! the answer frame, or an `error` frame naming the id (a `ChatError`). The WebSocket and the
//! storages are passed in, and time is only `Date.now`/`setTimeout`, so it runs in browsers, Node,
//! Deno and Workers alike, and tests drive it with a fake socket and a fake clock. Its types, for
//! every frame, event and option, are in ../types/index.d.ts.
//!
//! Two frames carry no `id` and are never answered to the sender: `read` (a read mark) and `typing`.
//! So `read()` and `typing()` return nothing to wait for; the room refuses neither for a client that
//! follows its rules (an anonymous client sends no read marks; typing over the rate limit is dropped
//! silently). An `error` frame that names no request we are waiting for is an `error` event.
//!
//! It copies none of the server's rules. What a valid room or name is, the server says by refusing
//! the socket (an `error` frame, then close 4000 + HTTP status); the sizes and the rate limit it
//! announces in `welcome.limits`, and the client paces and pre-checks by those.
//!
//! Identity: a random key made once per browser (`identityKey`, kept in localStorage) goes with
//! every connect in the handshake (`Sec-WebSocket-Protocol: edge-chat, key.<key>`: never in the URL,
//! which browsers print in connection errors); the room answers with our stable `uid`, which is what
//! makes a message "ours" (to edit, delete) and keeps our read position and reactions across visits.
//! Without a key the room gives the connection an `anon:` uid of its own (moderators act on it), which
//! is no identity (`identified` is false).
//!
//! Tokens: an app that signs its users in passes `getToken({room, name, reason})` (async, resolves to a
//! token string — a JWT or a `v1.` token — or null). The client connects with `token=` it, renews it on
//! the live socket (`{"type":"auth"}`) a minute before `welcome.expires`, and when the room closes the
//! socket with 4401 (`token_expired`, `unauthorized`) it asks for a fresh token once and reconnects,
//! resuming as after any drop. Without `getToken` a 4401 is a final refusal, as before.
//!
//! The room revision (`rev`) orders every change. The client remembers the newest it has seen — from
//! the welcome, acks, messages, `message_updated` and `reaction` frames; never from an older page,
//! whose messages say nothing about what else changed — and resumes with `since=` it, so the welcome's
//! `changes` bring what was edited, deleted or reacted to while we were away.
//!
//! Events (each a ChatEvent, an `Event` with a `detail` as listed; `on(type, fn)` passes the detail):
//!   status   {state: 'connecting'|'online'|'waiting'|'reconnecting'|'refused'|'closed', retryAt,
//!             attempt, reason}  `reason` ({code, message, closeCode}) while waiting because the
//!             server said "not now" (room_full, rate_limited), else null
//!   refused  {code, message, closeCode}  the server refused us for good (bad_name, bad_room,
//!             unauthorized, …): the client has stopped and will not reconnect by itself
//!   cached   {messages, outbox}  the room opened from the offline store (before connecting): that
//!                             many messages and unsent entries came from it, as events just before
//!   message  {message, own, live, older, cached}  a stored message (it has a `seq`), each seq at most once,
//!                             in seq order except for late acks and older pages (the UI places
//!                             them by seq); `live` is false for history delivered by a welcome or a
//!                             page, `older` true for a page loaded by loadOlder(), `cached` true for
//!                             one the offline store kept (reported by start(), before connecting)
//!   update   {message}        a message we know changed: edited, deleted, erased by retention,
//!                             reacted to, or our own reactions on it changed (`message` is its
//!                             whole current state)
//!   reset    {}               what we knew was dropped (a resume too far behind, see onWelcome);
//!                             messages follow again
//!   older    {count, hasOlder} an older page arrived (its messages came as `message` events first)
//!   action   {action, ok, code, message}  an edit/delete/react was acked (ok) or refused
//!   unread   {count, readSeq} how many others' messages after our read position
//!   reads    {reads}          the read marks of the others heard so far ([{user, seq}])
//!   outbox   {entries}        the unacked messages changed (entry: {key, id, text, createdAt,
//!                             replyTo?, error?})
//!   roster   {members, you, online, partial}  the open connections we know of; `online` counts
//!                             them all. Above the room's presence threshold (`welcome.online`) the
//!                             list is `partial`: the first page, those named by `presence` frames,
//!                             and the pages loaded by loadMembers()
//!   join / leave {user}       somebody else came or went (only live changes, not the welcome)
//!   typing   {names, users}   who is typing right now (expires by itself): `users` one per person
//!                             ({id, name, uid}), `names` each name once
//!   notice   {text}           something the user should know (history truncated, …)
//!   welcome  {welcome}        each welcome frame as the room sent it (after the state above is set)
//!   message_updated {message} the room's `message_updated` frame for a message (edited, deleted)
//!   reaction {reaction}       the room's `reaction` frame (who, which emoji, on or off, counts)
//!   presence {online, joins, leaves}  a `presence` frame (rooms above the presence threshold)
//!   moderation {record, mine} a moderator acted; `mine` when it was about us
//!   rules    {mutedUntil, slowMode, moderator}  what moderation means for us now
//!   error    {error}          an `error` frame answering no request we wait for (a ChatError)
//!   counts   {mentions, threadUnread, threads}  our unread mentions, and unread replies in the
//!                             threads we take part in (in all, and [{root, unread}] per thread)
//!   thread   {root, thread}   a thread's summary changed (a reply came or was deleted)
//!
//! Threads (`send(text, {thread: root})`, `thread(root)`, `readThread(root, seq)`) and mentions
//! (`isMentioned(m)`, `mentionCount`): a reply is a message like any other (a `message` event with
//! `thread` set); `unreadCount()` counts the main conversation only.
//!
//! Files: `uploadFile(file, {onProgress, thumbnail})` uploads to the room over HTTP (the
//! connection's token or key as credentials) and resolves with the file's descriptor;
//! `send(text, {files})` (or `send({text, files})`) sends a message carrying such descriptors;
//! `fileUrl(file, {thumb})` is where one is served. A message's link preview arrives later, as an
//! `update` (the room's `message_updated`); `removePreview(seq)` and `removeFile(seq, id)` edit ours.
//!
//! Search (`search(q)`) asks the room over the socket and resolves with its answer; a result's
//! `snippet` is HTML with only `<mark>` in it, which `snippetParts` turns into text pieces, so the
//! page draws it with text nodes (the CSP forbids HTML sinks).
//!
//! # Layout
//! `ChatClient` is one class; its methods live by concept in files beside this one, mixed into its
//! prototype below. Each file is an object of methods sharing the client's `this` (its state is all
//! declared in the constructor here); none imports another's methods, they call each other through
//! `this`. For tsc each object's `this` is the ChatClient (a JSDoc `ThisType`, a type reference only:
//! at run time client.js imports the parts and no part imports client.js):
//!   connection.js  socket, reconnect and backoff, heartbeat, tokens, refusals
//!   frames.js      the dispatch of server frames, the welcome, error frames
//!   requests.js    requests answered by id, as promises
//!   outbox.js      unacked messages: send, retry, discard, persistence, paced resend
//!   changes.js     edits, deletions and reactions waiting for their ack
//!   messages.js    the message map, living messages, our reactions, older pages, search
//!   reads.js       read positions, unread counts, "seen by"
//!   threads.js     threads, per-thread read marks, mentions and our counts of them
//!   roster.js      members, presence, typing
//!   moderation.js  rules for us, a moderator's actions
//!   files.js       uploads (with progress and thumbnails), file URLs
//!   cache.js       the offline store's side: open a room from it, write back what changed, clearCache()
//!   store.js, idb-store.js  the store's interface with MemoryStore, and IndexedDBStore (no client state)
//!   limits.js, identity.js, errors.js  pure helpers and constants (no client state)

import { cache, defaultStore } from './cache.js';
import { changes } from './changes.js';
import { connection } from './connection.js';
import { files } from './files.js';
import { frames } from './frames.js';
import { identityKey, isIdentity } from './identity.js';
import { DEFAULT_LIMITS } from './limits.js';
import { messages } from './messages.js';
import { moderation } from './moderation.js';
import { outbox } from './outbox.js';
import { reads } from './reads.js';
import { requests } from './requests.js';
import { roster } from './roster.js';
import { CACHE_LIMITS } from './store.js';
import { threads } from './threads.js';

/**
 * The event every `ChatClient` event is: an `Event` with a `detail`. Not `CustomEvent`, which not
 * every runtime has (Node gained it in 19, and Workers follow the web platform only in part); `Event`
 * and `EventTarget` are everywhere.
 */
export class ChatEvent extends Event {
  constructor(type, detail) {
    super(type);
    this.detail = detail;
  }
}

// TypeScript does not see methods put on a prototype at run time, so the class extends EventTarget
// under a type that lists them (only for the checker: at run time `Base` is EventTarget itself).
/** @type {new () => EventTarget & typeof connection & typeof frames & typeof requests & typeof outbox & typeof changes & typeof messages & typeof reads & typeof roster & typeof moderation & typeof files & typeof threads & typeof cache} */
const Base = /** @type {any} */ (EventTarget);

export class ChatClient extends Base {
  /**
   * options: room, name (trimmed; the server judges them); origin (the page's, default
   * `location.origin`); store (the offline store, store.js: default IndexedDB in a browser, memory
   * elsewhere; null for none) and cacheLimits {perRoom, total} (messages kept); storage (default
   * sessionStorage: only read, for an outbox a page before the store kept there);
   * keyStorage (default localStorage: the identity key and our reactions, shared by every tab); key
   * (an identity key to use instead of keyStorage's; null connects anonymously); WebSocket;
   * heartbeatMs / pongTimeoutMs / welcomeTimeoutMs; backoff options {base, cap} after a dropped
   * connection, busyBackoff {base, cap} after a room_full / rate_limited refusal; token (a signed
   * token to connect with) and getToken({room, name, reason}) → Promise<string|null>, asked for a
   * token before the first connect (reason 'connect', when no token was given), ahead of expiry
   * ('renew') and after a 4401 close ('expired'); renewMarginMs (default 60 s) how long before
   * `welcome.expires` to renew.
   */
  constructor(options) {
    super();
    this.room = options.room;
    this.name = options.name;
    this.origin = options.origin ?? globalThis.location?.origin;
    // Outside a page there is no location to take the server from, and Node 20 has no global
    // WebSocket: say so now rather than fail on the first connect.
    if (!this.origin) throw new TypeError('ChatClient: `origin` (the server, e.g. "https://chat.example.com") is required outside a browser');
    this.storage = options.storage ?? globalThis.sessionStorage;
    this.keyStorage = options.keyStorage ?? globalThis.localStorage;
    this.WebSocket = options.WebSocket ?? globalThis.WebSocket;
    if (typeof this.WebSocket !== 'function') throw new TypeError('ChatClient: no global WebSocket here; pass one as `WebSocket` (e.g. the `ws` package in Node 20)');
    this.heartbeatMs = options.heartbeatMs ?? 25_000;
    this.pongTimeoutMs = options.pongTimeoutMs ?? 10_000;
    this.welcomeTimeoutMs = options.welcomeTimeoutMs ?? 10_000;
    this.backoffOptions = options.backoff ?? {};
    this.busyBackoffOptions = options.busyBackoff ?? { base: 4000, cap: 60_000 };
    this.key = options.key !== undefined ? options.key : identityKey(this.keyStorage);
    this.token = options.token ?? null;
    this.getToken = typeof options.getToken === 'function' ? options.getToken : null;
    this.renewMarginMs = options.renewMarginMs ?? 60_000;
    this.tokenRetried = false; // a 4401 was answered with a fresh token; reset by the next welcome
    this.role = null; // welcome.role: what our token made us in this room
    this.slowModeSecs = 0; // the room's slow mode (welcome.slow_mode, moderation frames)
    this.mutedUntil = null; // when our mute ends (ms), or null

    this.state = 'closed';
    this.stopped = false; // stop() was called, or the room refused us for good: no reconnect
    this.ws = null;
    this.welcome = undefined; // the last welcome frame
    this.you = null;
    this.limits = { ...DEFAULT_LIMITS }; // the room's own once a welcome announced them
    this.members = new Map(); // connection id → user
    this.online = 0; // how many connections the room has (the roster may list only some: `partial`)
    this.partial = false; // above the presence threshold: `members` is not the whole roster
    this.membersRequest = null; // the promise of the roster page asked for (one at a time)
    this.membersCursor = null; // the `after` of the next roster page (ids sort as the room pages them)
    this.batch = options.batch ?? true; // batch=1: one frame per room turn instead of one per message
    this.lastSeq = null; // highest seq seen; null until the first welcome (then `after=` is sent)
    this.rev = null; // newest room revision seen (then `since=` is sent); null from a server without revs
    this.retention = null; // the room's retention {days, upto} (welcome.retention), null when none
    this.seen = new Set(); // seqs already reported, so history and live frames never double
    this.messages = new Map(); // seq → the message's current state, for every message reported
    this.outbox = this.load(); // unacked messages, oldest first
    this.actions = []; // edits, deletions and reactions sent but not yet acked (resent after a reconnect)
    this.mine = this.loadReactions(); // seq → Set of the emoji we reacted with
    this.readSeq = null; // our read position (null: anonymous, or no welcome yet)
    this.sentReadSeq = 0; // the read position the room has from us
    this.lastReadSentAt = -Infinity;
    this.unreadBase = null; // {readSeq, count, upto}: what the welcome said about unread messages
    this.shownUnread = null;
    this.reads = new Map(); // uid → {user, seq}: the others' read marks heard so far
    this.mentionCount = 0; // our unread mentions (welcome.mentions, `unread` frames, new @room messages)
    this.threadUnread = 0; // unread replies in the threads we take part in
    this.threadCounts = new Map(); // root → unread replies, for the threads with any
    this.threadReads = new Map(); // root → the read mark we sent for that thread
    this.shownCounts = null;
    this.hasOlder = false; // whether older messages than the oldest we have may exist
    this.olderRequest = null; // the promise of the older page asked for (one at a time)
    this.typers = new Map(); // connection id → {name, user, until}
    this.sends = new Map(); // outbox entry key → {resolve, reject} of the send() waiting for its ack
    this.pending = new Map(); // request id → {resolve, reject, kind}: actions and queries waiting
    this.attempt = 0;
    this.retryAt = null;
    this.reason = null; // why we are waiting, when the server said "not now" (room_full, rate_limited)
    this.said = null; // the error frame of the current socket before its welcome: a refusal's reason
    this.keyRenewed = false;
    this.lastTypingSent = -Infinity;
    this.timers = {};
    this.unwatchNetwork = null; // stops listening to the browser's online/offline events

    // The offline store (cache.js): what it kept of this room opens it, what changes is written back.
    this.store = options.store === undefined ? defaultStore() : options.store;
    this.cacheLimits = { ...CACHE_LIMITS, ...(options.cacheLimits ?? {}) };
    this.restored = false; // the store's copy of the room was taken (once, by the first start())
    this.cachedSeqs = new Set(); // the seqs this client wrote to the store (or read from it)
    this.dirtySeqs = new Set(); // seqs changed since they were written
    this.cachedOutbox = new Map(); // outbox key → the record this client wrote, as JSON
    this.cachedMeta = null; // the meta this client wrote, as JSON
    this.restoredKeys = new Set(); // outbox keys that came from the store (another session wrote them)
    this.changeTimes = new Map(); // change id → when it was made (the outbox's order)
    this.cacheOwner = null; // the uid whose outbox the store holds for this room
    this.cacheOpenedAt = 0;
    this.legacyOutbox = false;
    this.persistQueued = this.persisting = this.persistAgain = false;
    this.checkedCount = -Infinity;
    this.watchCache();
  }

  emit(type, detail) {
    this.dispatchEvent(new ChatEvent(type, detail));
  }

  /** Listens to one event type; the listener gets the event's `detail`. Returns the unsubscribe. */
  on(type, listener) {
    const handler = (e) => listener(e.detail);
    this.addEventListener(type, handler);
    return () => this.removeEventListener(type, handler);
  }

  /** Whether we have an identity (a key or a token): an anonymous connection's uid is only its own. */
  get identified() {
    return isIdentity(this.you?.uid);
  }
}

// The methods of each concept, as if written in the class: not enumerable, getters kept as getters.
// A name defined twice would silently replace the first, so it stops the module from loading.
for (const part of [connection, frames, requests, outbox, changes, messages, reads, roster, moderation, files, threads, cache]) {
  for (const [name, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(part))) {
    if (name in ChatClient.prototype) throw new Error(`ChatClient.${name} is defined twice`);
    Object.defineProperty(ChatClient.prototype, name, { ...descriptor, enumerable: false });
  }
}
