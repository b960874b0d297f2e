// @edge-chat/client: the types of the SDK's API (docs/SDK.md). The runtime is src/ (JavaScript, bundled
// into dist/index.js); these declarations are the reviewed contract, checked by tests/sdk.test.mjs:
// every name src/index.js exports is declared here and every name declared here is exported, the
// error codes match src/error.rs, and a consumer file type-checks under `tsc --strict`.
//
// Needs a lib that declares `Event` and `EventTarget`: "dom", @types/node, Deno or
// @cloudflare/workers-types.

import type {
  AckFrame,
  AuthOkFrame,
  ChatMessage,
  FileDescriptor,
  InboxBody,
  InboxEntry,
  Limits,
  ModerationLogFrame,
  ModerationRecord,
  ReactionFrame,
  Reactor,
  Retention,
  Role,
  SearchHit,
  ServerErrorCode,
  ThreadSummary,
  ThreadUnread,
  User,
  WelcomeFrame,
} from './protocol.js';

export type * from './protocol.js';

// ---------------------------------------------------------------------------------------------- errors

/** Every code of src/error.rs, in its order. */
export declare const SERVER_ERROR_CODES: readonly ServerErrorCode[];

/**
 * What the client says when no server answered: `offline` (not connected, or the socket went before
 * a query's answer), `closed` (stop() was called), `discarded` (discard() took the message out).
 */
export type ClientErrorCode = 'offline' | 'closed' | 'discarded';
export declare const CLIENT_ERROR_CODES: readonly ClientErrorCode[];

export type ErrorCode = ServerErrorCode | ClientErrorCode;

/** Every refusal: a rejected promise, a `refused` connection, an unanswered `error` frame. */
export declare class ChatError extends Error {
  constructor(code: ErrorCode, message?: string, details?: { closeCode?: number | null; id?: string | null });
  readonly name: 'ChatError';
  readonly code: ErrorCode;
  /** For a refused connection: its close code (4000 + HTTP status, e.g. 4401); else null. */
  readonly closeCode: number | null;
  /** The client id of the refused frame, when the server named it. */
  readonly id: string | null;
}

// --------------------------------------------------------------------------------------------- options

/** What the client needs of a WebSocket: the browser's, Deno's, Workers', Node 22's, or `ws` in Node 20. */
export interface WebSocketLike {
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** localStorage / sessionStorage, or anything with these three methods. */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface BackoffOptions {
  /** The first delay (ms); it doubles per attempt. */
  base?: number;
  /** The longest delay (ms). */
  cap?: number;
}

/** Why getToken is asked: before the first connect, ahead of expiry, after a 4401 close. */
export type TokenReason = 'connect' | 'renew' | 'expired';

export interface ChatClientOptions {
  /** The room (1–64 of A-Z a-z 0-9 _ . -; the server judges it). */
  room: string;
  /** The display name (the server judges it; with a token the token's name is used). */
  name: string;
  /** The server, e.g. "https://chat.example.com". Default: the page's `location.origin`; required elsewhere. */
  origin?: string;
  /** The WebSocket class. Default: the global one (Node 20 has none: pass `ws`). */
  WebSocket?: WebSocketConstructor;
  /**
   * The offline store: the room opens from it before connecting, and the outbox (messages, edits,
   * deletions, reactions, the read position) survives a reload, a crash or a restart in it.
   * Default: an IndexedDBStore shared by the page's clients in a browser, a MemoryStore of its own
   * elsewhere; null keeps nothing.
   */
  store?: ChatStore | null;
  /** The caps of what the store keeps (default CACHE_LIMITS: 1000 messages per room, 10 000 in all). */
  cacheLimits?: Partial<CacheLimits>;
  /** Only read: an outbox a page before the offline store kept there (default sessionStorage). */
  storage?: StorageLike;
  /** Where the identity key and our reactions live. Default: localStorage, if there is one. */
  keyStorage?: StorageLike;
  /** The identity key (16–128 of A-Z a-z 0-9 _ -) to connect with; null connects anonymously. Default: one made once and kept in keyStorage. */
  key?: string | null;
  /** A signed token (`v1.` or JWT) to connect with. */
  token?: string;
  /** Asked for a token before the first connect (when `token` is not given), ahead of expiry and after a 4401. */
  getToken?: (request: { room: string; name: string; reason: TokenReason }) => Promise<string | null> | string | null;
  /** How long before `expires` to renew the token (ms, default 60 000). */
  renewMarginMs?: number;
  /** Ask for batched frames (`batch=1`, default true). */
  batch?: boolean;
  /** Ping interval (ms, default 25 000). */
  heartbeatMs?: number;
  /** No answer to a ping within this (ms, default 10 000): the socket is dead, reconnect. */
  pongTimeoutMs?: number;
  /** No welcome within this (ms, default 10 000): reconnect. */
  welcomeTimeoutMs?: number;
  /** Reconnect delays after a drop (default base 500, cap 10 000), with jitter. */
  backoff?: BackoffOptions;
  /** Reconnect delays after room_full / rate_limited (default base 4000, cap 60 000). */
  busyBackoff?: BackoffOptions;
}

// ------------------------------------------------------------------------------------- offline store

/** A value now, or a promise of it: a store may answer either way. */
export type MaybePromise<T> = T | Promise<T>;

/** What the client keeps about a room beside its messages (its own format: a store keeps it as given). */
export interface RoomMeta {
  lastSeq?: number | null;
  rev?: number | null;
  readSeq?: number | null;
  uid?: string | null;
  you?: User | null;
  openedAt?: number;
  count?: number;
  [more: string]: unknown;
}

/** An entry of the kept outbox: an unsent message, or a change (`frame`) waiting for its ack. */
export type StoredOutboxEntry =
  | ({ kind: 'message' } & OutboxEntry)
  | { kind: 'change'; key: string; createdAt: number; frame: PendingAction };

/** Everything kept for one room. */
export interface RoomRecord {
  meta: RoomMeta;
  /** In any order. */
  messages: ChatMessage[];
  /** In any order (the client orders them by `createdAt`). */
  outbox: StoredOutboxEntry[];
}

/** One write: all of it or nothing. */
export interface RoomChange {
  meta?: RoomMeta;
  /** `put` replaces a kept message only with one whose `rev` is at least its own. */
  messages?: { put?: ChatMessage[]; remove?: number[] };
  outbox?: { put?: StoredOutboxEntry[]; remove?: string[] };
}

/**
 * The offline store's interface (docs/SDK.md, "Offline store"), keyed by the client's room key (the
 * server's origin and the room). Implement it to keep a React Native or Node app's rooms on disk;
 * MemoryStore is the example. Outbox entries leave it only by `save(…, {outbox: {remove}})` or `clear()`.
 */
export interface ChatStore {
  load(room: string): MaybePromise<RoomRecord | null>;
  save(room: string, change: RoomChange): MaybePromise<void>;
  /** Keeps the newest `keep` messages of the room (by seq). */
  trim(room: string, keep: number): MaybePromise<void>;
  rooms(): MaybePromise<{ room: string; count: number; openedAt: number }[]>;
  clear(): MaybePromise<void>;
}

export interface CacheLimits {
  /** Messages kept per room (the newest). */
  perRoom: number;
  /** Messages kept over all rooms (the rooms opened longest ago give up their oldest first). */
  total: number;
}

export declare const CACHE_LIMITS: Readonly<CacheLimits>;

/** The store in memory (synchronous): the default outside a browser, and the example of a store. */
export declare class MemoryStore implements ChatStore {
  constructor();
  load(room: string): RoomRecord | null;
  save(room: string, change: RoomChange): void;
  trim(room: string, keep: number): void;
  rooms(): { room: string; count: number; openedAt: number }[];
  clear(): void;
}

/** The store over IndexedDB (a browser's default): one database, `name` default "edge-chat". */
export declare class IndexedDBStore implements ChatStore {
  constructor(options?: { name?: string; indexedDB?: IDBFactory });
  load(room: string): Promise<RoomRecord | null>;
  save(room: string, change: RoomChange): Promise<void>;
  trim(room: string, keep: number): Promise<void>;
  rooms(): Promise<{ room: string; count: number; openedAt: number }[]>;
  clear(): Promise<void>;
}

/** The store a client gets when given none (a browser's shared IndexedDBStore, else a new MemoryStore). */
export declare function defaultStore(): ChatStore;
/** Empties `store` (default: the browser's shared store, opened if need be; none outside a browser). For sign-out. */
export declare function clearCache(store?: ChatStore | null): MaybePromise<void>;
/** An unsent message or change as the store keeps it, with the server and the room it is for. */
export type UnsentEntry = StoredOutboxEntry & { server: string; room: string; createdAt: number };
/**
 * What no room has acknowledged yet: every room's unsent messages and changes in `store` (default: the
 * browser's shared store), with those `clients` hold, each once, oldest first. What a sign-out asks about
 * before clearCache() discards it.
 */
export declare function unsentEntries(store?: ChatStore | null, clients?: ChatClient[]): Promise<UnsentEntry[]>;
/** What to trim so the store holds at most `total` messages: rooms opened longest ago first, `current` last. */
export declare function evictionPlan(rooms: { room: string; count: number; openedAt: number }[], total: number, current?: string): { room: string; keep: number }[];
/** The waiting changes still worth sending (the last about each thing), and which replaced which. */
export declare function pendingChanges<A extends { id: string; type: string; seq?: number; emoji?: string }>(actions: A[]): { kept: A[]; superseded: Map<string, string> };

// ------------------------------------------------------------------------------------------- results

/** A stored message of ours: what send() resolves with. */
export interface Sent {
  id: string;
  seq: number;
  ts: number;
  rev: number;
}

/** The ack of an edit, delete, reaction or moderator action (`seq` 0 for moderation). */
export type Acked = Omit<AckFrame, 'type'>;

export interface HistoryPage {
  /** Oldest first. */
  messages: ChatMessage[];
  hasMore: boolean;
}

/** A thread read with `thread(root)`: its root (with the summary) and a page of replies. */
export interface ThreadAnswer {
  root: ChatMessage;
  /** Oldest first. */
  replies: ChatMessage[];
  hasMore: boolean;
}

export interface SearchAnswer {
  /** Best match first. */
  results: SearchHit[];
  hasMore: boolean;
  /** The `before` that searches on past the newest matches the room ranked; absent when it covered all. */
  nextBefore?: number;
  /** The `offset` of the ranked window's next page (with the same `before`); absent when it has no more. */
  nextOffset?: number;
  /** The options of the next page's search (the window's next page first, then older matches); null at the end. */
  next: { before?: number; offset?: number } | null;
}

/** A page of who reacted with an emoji. */
export interface ReactorsPage {
  users: Reactor[];
  /** The `after` of the next page; null on the last one. */
  next: string | null;
}

/** An unsent message waiting in the outbox (with `error` and `code` once refused). */
export interface OutboxEntry {
  key: string;
  id: string;
  text: string;
  createdAt: number;
  replyTo?: number;
  thread?: number;
  alsoInRoom?: boolean;
  /** The files it carries (descriptors as uploadFile() resolved them, or `{id}` only). */
  files?: (FileDescriptor | { id: string })[];
  error?: string;
  code?: ErrorCode;
}

/** What send() takes besides the text. */
export interface SendOptions {
  /** The seq it answers (quoted above it). */
  replyTo?: number | null;
  /** Uploads of this room not used yet: their descriptors (or ids); at most `limits.files`. */
  files?: (FileDescriptor | string)[];
  /** The root of the thread it goes into. */
  thread?: number | null;
  /** In a thread: show it in the main conversation too. */
  alsoInRoom?: boolean;
}

/** How an upload goes. */
export interface UploadOptions {
  /** Called as bytes go out (by XMLHttpRequest in a browser; elsewhere at the start and the end). */
  onProgress?: (progress: { loaded: number; total: number }) => void;
  /** Default: the File's own. */
  name?: string;
  type?: string;
  /** A small WebP of an image, stored beside it (the descriptor then has `thumb: true`). */
  thumbnail?: Blob;
}

/** A change waiting for its ack. */
export type PendingAction = { id: string; type: 'edit' | 'delete' | 'react' | 'ban' | 'unban' | 'kick' | 'mute' | 'unmute' | 'slow_mode' | 'require_identity' | 'allow_anonymous' | 'purge' } & Record<string, unknown>;

export type ConnectionState = 'connecting' | 'online' | 'waiting' | 'reconnecting' | 'refused' | 'closed';

/** Why a connection was refused. */
export interface Refusal {
  code: string;
  message: string;
  closeCode: number;
}

export interface Rules {
  /** Until when we are muted (ms), or null. */
  mutedUntil: number | null;
  /** The room's slow mode (seconds, 0 off). */
  slowMode: number;
  moderator: boolean;
}

// -------------------------------------------------------------------------------------------- events

/** Every event's `detail`, by event type. */
export interface ChatEventMap {
  status: { state: ConnectionState; retryAt: number | null; attempt: number; reason: Refusal | null };
  refused: Refusal;
  welcome: { welcome: WelcomeFrame };
  /**
   * A stored message, each seq once: `live` false for history, `older` for a loadOlder() page,
   * `cached` for one the offline store kept (reported by start(), before connecting).
   */
  message: { message: ChatMessage; own: boolean; live: boolean; older: boolean; cached?: boolean };
  /** The room opened from the offline store: that many messages and unsent entries came from it. */
  cached: { messages: number; outbox: number };
  /** A message we hold has a new state (edited, deleted, reacted to). */
  update: { message: ChatMessage };
  message_updated: { message: ChatMessage };
  reaction: { reaction: ReactionFrame };
  reset: Record<string, never>;
  older: { count: number; hasOlder: boolean };
  action: { action: PendingAction; ok: boolean; code?: string; message?: string };
  unread: { count: number; readSeq: number | null };
  reads: { reads: { user: User; seq: number }[] };
  outbox: { entries: OutboxEntry[] };
  roster: { members: User[]; you: User | null; online: number; partial: boolean };
  presence: { online: number; joins: number; leaves: number };
  join: { user: User };
  leave: { user: User };
  /** `users`: one per person (two who chose the same name are two); `names`: each name once. */
  typing: { names: string[]; users: User[] };
  notice: { text: string };
  moderation: { record: ModerationRecord; mine: boolean };
  moderation_log: ModerationLogFrame;
  rules: Rules;
  /** An `error` frame that answers nothing we wait for. */
  error: { error: ChatError };
  /** Our unread mentions and unread replies in the threads we take part in changed. */
  counts: { mentions: number; threadUnread: number; threads: ThreadUnread[] };
  /** A thread's summary changed (its root, when we hold it, also comes as an `update`). */
  thread: { root: number; thread: ThreadSummary };
}

export type ChatEventType = keyof ChatEventMap;

export declare class ChatEvent<D = unknown> extends Event {
  constructor(type: string, detail: D);
  readonly detail: D;
}

// -------------------------------------------------------------------------------------------- client

export declare class ChatClient extends EventTarget {
  constructor(options: ChatClientOptions);

  readonly room: string;
  readonly name: string;
  readonly state: ConnectionState;
  /** Ourselves, from the last welcome (null before). */
  readonly you: User | null;
  /** Whether we have an identity (key or token); an anonymous connection may not change messages. */
  readonly identified: boolean;
  /** The last welcome (undefined before). */
  readonly welcome?: WelcomeFrame;
  /** The room's limits from `welcome.limits` (DEFAULT_LIMITS before). */
  readonly limits: Limits;
  /** What our token made us here (null before a welcome). */
  readonly role: Role | null;
  /** The open connections we know of, by connection id (partial above the presence threshold). */
  readonly members: Map<string, User>;
  readonly online: number;
  readonly partial: boolean;
  /** Every message we hold, by seq, in its current state. */
  readonly messages: Map<number, ChatMessage>;
  readonly outbox: OutboxEntry[];
  readonly actions: PendingAction[];
  /** The highest seq seen (resumes `after=` it), null before the first welcome. */
  readonly lastSeq: number | null;
  /** The newest room revision seen (resumes `since=` it). */
  readonly rev: number | null;
  /** The room's retention (`welcome.retention`, moved on by `expired` frames), null when it has none. */
  readonly retention: Retention | null;
  readonly readSeq: number | null;
  /** Our unread mentions (the welcome's, kept current). */
  readonly mentionCount: number;
  /** Unread replies in the threads we take part in. */
  readonly threadUnread: number;
  /** Root → unread replies, for the threads we take part in that have any. */
  readonly threadCounts: Map<number, number>;
  readonly hasOlder: boolean;
  /** When the next reconnect is due (ms), while waiting. */
  readonly retryAt: number | null;
  /** Why we wait, when the server said "not now" (room_full, rate_limited). */
  readonly reason: Refusal | null;

  /** Connects, and keeps connected until stop() or a final refusal. */
  start(): Promise<void> | void;
  /** Closes for good; what still waits rejects with `closed` (the outbox stays in the store). */
  stop(): void;
  /** Stops, and empties the store of every room's messages and outbox (sign-out); nothing more is written. */
  clearCache(): Promise<void>;
  /** The offline store in use (null: none). */
  readonly store: ChatStore | null;
  /** Skips the backoff wait. */
  reconnectNow(): void;
  /** Resolves with the welcome once online; rejects with the refusal, or `closed` after stop(). */
  ready(): Promise<WelcomeFrame>;

  /** Listens to one event; the listener gets its detail. Returns the unsubscribe. */
  on<K extends ChatEventType>(type: K, listener: (detail: ChatEventMap[K]) => void): () => void;
  addEventListener<K extends ChatEventType>(type: K, listener: (event: ChatEvent<ChatEventMap[K]>) => void, options?: boolean | { once?: boolean; signal?: AbortSignal }): void;
  addEventListener(type: string, listener: ((event: Event) => void) | { handleEvent(event: Event): void } | null, options?: boolean | { once?: boolean; signal?: AbortSignal }): void;
  removeEventListener<K extends ChatEventType>(type: K, listener: (event: ChatEvent<ChatEventMap[K]>) => void): void;
  removeEventListener(type: string, listener: ((event: Event) => void) | { handleEvent(event: Event): void } | null): void;

  /** Sends a message (into a thread with `thread`); resolves once stored (survives reconnects: same id), rejects on a refusal. */
  send(text: string, options?: SendOptions): Promise<Sent>;
  send(message: SendOptions & { text?: string }): Promise<Sent>;
  /** Queues a message and returns its outbox entry (send() without the promise). */
  queue(text: string, options?: SendOptions): OutboxEntry;
  /** Uploads a file to the room; resolves with its descriptor, to send with a message. */
  uploadFile(file: Blob | ArrayBuffer | Uint8Array, options?: UploadOptions): Promise<FileDescriptor>;
  /** Where a file of this room is served (its thumbnail with `thumb`), with our token when we have one. */
  fileUrl(file: FileDescriptor | string, options?: { thumb?: boolean }): string;
  /** Takes a file off our message (an edit may remove files, never add them). */
  removeFile(seq: number, fileId: string): Promise<Acked>;
  /** Removes our message's link preview. */
  removePreview(seq: number): Promise<Acked>;
  /** Sends a refused outbox entry again. */
  retry(id: string): Promise<Sent>;
  /** Drops an outbox entry unsent (its send() rejects with `discarded`). */
  discard(id: string): void;

  edit(seq: number, text: string): Promise<Acked>;
  /** A moderator deleting someone else's message may give a `reason` (everyone hears it). */
  delete(seq: number, options?: { reason?: string }): Promise<Acked>;
  react(seq: number, emoji: string, on?: boolean): Promise<Acked>;
  toggleReaction(seq: number, emoji: string): Promise<Acked>;
  /** Moves our read position up to `seq` (no answer comes back: a `read` frame has no id). */
  read(seq: number): void;
  markRead(seq: number): void;
  /** Call on each keystroke: at most one typing frame per 2.5 s. */
  typing(): void;

  /** A page of messages before `before`, oldest first (changes nothing the client holds). */
  history(options?: { before?: number; limit?: number }): Promise<HistoryPage>;
  /** Loads the page before the oldest message we hold (as `message` events with `older`); null if it failed. */
  loadOlder(limit?: number): Promise<{ count: number; hasOlder: boolean } | null>;
  search(q: string, options?: { limit?: number; before?: number; offset?: number }): Promise<SearchAnswer>;
  /** Who reacted to `seq` with `emoji`: a page in uid order (`limit` 1–100, default 20). */
  reactors(seq: number, emoji: string, options?: { after?: string; limit?: number }): Promise<ReactorsPage>;
  /** The thread of `root`: its root and replies after `after` (oldest first, `limit` 1–100); rejects with bad_thread for a reply. */
  thread(root: number, options?: { after?: number; limit?: number }): Promise<ThreadAnswer>;
  /** Moves our read position in the thread of `root` up to `seq` (no answer: the room tells our connections the new counts). */
  readThread(root: number, seq: number): void;
  /** Loads the next roster page (true once merged into `members`). */
  loadMembers(limit?: number): Promise<boolean>;

  moderate(action: 'ban' | 'unban' | 'kick' | 'mute' | 'unmute' | 'slow_mode' | 'require_identity' | 'allow_anonymous' | 'purge', fields?: { uid?: string; seconds?: number; reason?: string }): Promise<Acked>;
  ban(uid: string, options?: { reason?: string }): Promise<Acked>;
  unban(uid: string): Promise<Acked>;
  kick(uid: string): Promise<Acked>;
  mute(uid: string, seconds: number): Promise<Acked>;
  unmute(uid: string): Promise<Acked>;
  slowMode(seconds: number): Promise<Acked>;
  /** Deletes the author's messages of the last `seconds` (1 s – 7 days, at most 500), a batch per turn. */
  purge(uid: string, seconds: number, options?: { reason?: string }): Promise<Acked>;
  /** Whether anonymous connections may speak (true) or only those with a key or a token (false). */
  allowAnonymous(allowed: boolean): Promise<Acked>;
  moderationLog(options?: { before?: number; limit?: number }): Promise<ModerationLogFrame>;
  /** Presents a fresh token on the live socket. */
  authenticate(token: string): Promise<AuthOkFrame>;

  /** Whether `m` is ours (by uid; by name on a server without uids). */
  isOwn(m: ChatMessage): boolean;
  /** The emoji we reacted to `seq` with. */
  myReactions(seq: number): string[];
  /** The names of the others who have read up to `seq` (each name once). */
  seenBy(seq: number): string[];
  /** The others who have read up to `seq`, one per person (uid). */
  seenByUsers(seq: number): User[];
  lastOwn(): ChatMessage | null;
  /** Others' messages after our read position in the main conversation (thread-only replies left out). */
  unreadCount(): number;
  /** Whether `m` mentions us (our uid, or `@room`) and is not ours. */
  isMentioned(m: ChatMessage): boolean;
  oldestSeq(): number | null;
  rules(): Rules;
}

// ------------------------------------------------------------------------------------------- helpers

/** The limits assumed until a welcome announces the room's own. */
export declare const DEFAULT_LIMITS: Readonly<Limits>;
export declare const TYPING_SHOWN_MS: number;
export declare const TYPING_EVERY_MS: number;
export declare const READ_EVERY_MS: number;
export declare const HISTORY_PAGE: number;
export declare const KEY_STORAGE_KEY: string;
/** The subprotocol the client offers (with `key.<key>` beside it) and the server answers with. */
export declare const SUBPROTOCOL: string;

/** What a close code asks: 'final' (stop), 'busy' (retry later), null (the usual reconnect). */
export declare function refusalKind(closeCode: number): 'final' | 'busy' | null;
/** Length in Unicode scalar values, as the server counts. */
export declare function charCount(text: string): number;
/** The name trimmed; null when nothing is left. */
export declare function cleanName(raw: unknown): string | null;
/** 32 random hex digits. */
export declare function privateRoomName(): string;
/** A fresh idempotency id. */
export declare function messageId(): string;
/** A fresh identity key (32 characters of base64url). */
export declare function newKey(): string;
/** Whether `uid` is an identity's (key or token), not an anonymous connection's or the API bot's. */
export declare function isIdentity(uid: string | null | undefined): boolean;
/** The identity key kept in `storage` (made and stored if missing, or when `renew`). */
export declare function identityKey(storage: StorageLike | undefined | null, options?: { renew?: boolean }): string;
/** A message with the fields an older server leaves out filled in. */
export declare function living(m: Partial<ChatMessage> & { seq: number }): ChatMessage;
/** Reconnect delay for `attempt`: exponential, capped, with equal jitter. */
export declare function backoff(attempt: number, options?: BackoffOptions & { random?: () => number }): number;
/** `welcome.limits` over DEFAULT_LIMITS. */
export declare function announcedLimits(announced: Partial<Limits> | null | undefined): Limits;
/** Replies per page of `thread()` when none is asked. */
export declare const THREAD_PAGE: number;
/** Whether `m` is a reply shown only in its thread (not also in the main conversation). */
export declare function inThreadOnly(m: Pick<ChatMessage, 'thread' | 'also_in_room'> | null | undefined): boolean;
/** A search snippet as text pieces (never markup). */
// --------------------------------------------------------------------------------------------- inbox

/** `InboxClient`'s options (docs/SDK.md, "The inbox"). */
export interface InboxOptions {
  /** The server (default `location.origin`). */
  origin?: string;
  WebSocket?: new (url: string, protocols?: string | string[]) => WebSocketLike;
  fetch?: (url: string, init?: { method?: string; headers?: Record<string, string>; body?: string }) => Promise<{ ok: boolean; status: number; json(): Promise<any> }>;
  /** An identity key (default the one in keyStorage, shared with ChatClient); null: none. */
  key?: string | null;
  keyStorage?: StorageLike;
  /** The person's name, sent with the key so their partners see it. */
  name?: string | null;
  /** A signed token (any room's says who the person is). */
  token?: string | null;
  getToken?: (request: { room: null; name: string | null; reason: 'connect' | 'expired' }) => Promise<string | null>;
  heartbeatMs?: number;
  pongTimeoutMs?: number;
  welcomeTimeoutMs?: number;
  backoff?: BackoffOptions;
  busyBackoff?: BackoffOptions;
}

/** A partner's online state as `InboxClient` keeps it. */
export interface PartnerState {
  uid: string;
  online: boolean;
  lastSeen: number | null;
}

/** The badge's numbers: unread and mentions of the rooms not muted (mentions everywhere). */
export interface InboxTotals {
  unread: number;
  mentions: number;
  /** How many rooms not muted have unread messages. */
  rooms: number;
}

/** Every `InboxClient` event's `detail`, by event type. */
export interface InboxEventMap {
  status: { state: ConnectionState; retryAt: number | null; attempt: number };
  inbox: { entries: InboxEntry[]; online: PartnerState[]; you: { uid: string; name: string | null } };
  entry: { entry: InboxEntry; previous: InboxEntry | null };
  removed: { room: string };
  online: PartnerState;
  totals: InboxTotals;
  refused: Refusal;
  error: { error: ChatError };
}

/** A person's inbox: one socket for every room they are in. */
export declare class InboxClient extends EventTarget {
  constructor(options?: InboxOptions);
  readonly state: ConnectionState;
  readonly you: { uid: string; name: string | null } | null;
  readonly rooms: ReadonlyMap<string, InboxEntry>;
  readonly online: ReadonlyMap<string, PartnerState>;
  start(): void | Promise<void>;
  stop(): void;
  reconnectNow(): void;
  on<K extends keyof InboxEventMap>(type: K, listener: (detail: InboxEventMap[K]) => void): () => void;
  /** Every entry, most recent activity first. */
  entries(): InboxEntry[];
  entry(room: string): InboxEntry | null;
  totals(): InboxTotals;
  /** Leaves the room's entry (the room stops telling the inbox). */
  leave(room: string): Promise<void>;
  mute(room: string, muted?: boolean): Promise<InboxEntry>;
  /** How a room notifies the person while they are away (Web Push). */
  notify(room: string, setting: NotifySetting): Promise<{ room: string; notify: NotifySetting }>;
  /** Whether push is on, how many devices the person subscribed, and rooms' non-default settings. */
  pushState(): Promise<PushState>;
  /** Keeps a browser's PushSubscription (or its JSON). */
  subscribePush(subscription: PushSubscriptionJSON | { toJSON(): PushSubscriptionJSON }): Promise<PushState>;
  /** Forgets one subscription. */
  unsubscribePush(endpoint: string): Promise<{ unsubscribed: boolean }>;
  /** The direct message with one person or up to 8: resolves with its room's name. */
  openDm(uids: string | string[]): Promise<string>;
  /** `GET /api/me`, without a socket. */
  read(): Promise<InboxBody>;
}

/** Makes an `InboxClient` (call `start()`). */
export declare function inbox(options?: InboxOptions): InboxClient;
/** Most recent activity first (the server's order). */
export declare function byActivity(a: InboxEntry, b: InboxEntry): number;
export declare function inboxTotals(entries: Iterable<InboxEntry>): InboxTotals;
/** Most entries a snapshot lists. */
export declare const INBOX_LISTED: number;

export declare function snippetParts(html: string | null | undefined): { text: string; mark: boolean }[];
/** Whether a media type is among a room's `file_types` (`type/*` takes every subtype; no list: yes). */
export declare function typeTaken(type: string, taken: readonly string[] | undefined): boolean;

/** A room's notification setting for one person. */
export type NotifySetting = 'all' | 'mentions' | 'none';

/** `GET /api/me/push`. */
export interface PushState {
  enabled: boolean;
  devices: number;
  notify: Record<string, NotifySetting>;
}

/** A browser's PushSubscription as JSON (`subscription.toJSON()`). */
export interface PushSubscriptionJSON {
  endpoint: string;
  expirationTime?: number | null;
  keys: { p256dh: string; auth: string };
}

/** What the service worker receives in a push (decrypted by the browser). */
export interface PushPayload {
  room: string;
  seq: number;
  kind: 'dm' | 'mention' | 'thread' | 'message';
  from: string;
  /** Absent for a private room when the server says PUSH_PREVIEW=0. */
  text?: string;
  unread: number;
  /** Opens the room at the message (relative to the page's origin). */
  url: string;
}
