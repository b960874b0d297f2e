// The wire frames of edge-chat protocol v1 (docs/PROTOCOL.md), as the server's serde types in
// src/protocol.rs, src/moderation.rs and src/search.rs define them. One interface per frame, a union
// per direction; `type` tells them apart. Fields an older server leaves out are optional.

/** A person (one connection): `id` tells connections apart, `uid` is the stable author id of an
 * identified client (its key or token), `anon:<id>` for an anonymous connection (lasts as long as it;
 * no identity, see `isIdentity`), null for the HTTP API's bot and on older servers. */
export interface User {
  id: string;
  name: string;
  uid?: string | null;
}

/** Reaction counts of a message: emoji → how many authors reacted with it. */
export type Reactions = Record<string, number>;

/** A file uploaded to the room (`POST /api/rooms/{room}/files`), as a message carries it. */
export interface FileDescriptor {
  /** 32 hex digits; download at `/api/rooms/{room}/files/{id}`. */
  id: string;
  name: string;
  /** Its media type, as uploaded. */
  type: string;
  /** Bytes. */
  size: number;
  /** An image's pixel size, when its header told it. */
  width?: number;
  height?: number;
  /** A thumbnail is stored beside it (`…/files/{id}/thumb`, a small WebP). */
  thumb?: boolean;
}

/** What a linked page says of itself, as plain text (never HTML). */
export interface Preview {
  /** The link as the message wrote it. */
  url: string;
  title: string;
  description: string;
  site: string;
  /** An absolute http(s) URL of the page's image; loading it is the client's choice. */
  image?: string;
}

/** A stored message: a living object, changed by edits, deletion and reactions, each under a new `rev`. */
export interface ChatMessage {
  seq: number;
  /** The sender's idempotency id, null if it sent none. */
  id: string | null;
  from: User;
  /** The current text; "" once deleted. */
  text: string;
  /** Milliseconds since the Unix epoch, stamped by the room when it stored the message. */
  ts: number;
  reply_to: number | null;
  edited_at: number | null;
  version: number;
  deleted: boolean;
  reactions: Reactions;
  rev: number;
  /** The files it carries; absent when none. */
  files?: FileDescriptor[];
  /** Its first link's preview, recorded after the message (a `message_updated`); absent when none. */
  preview?: Preview;
  /** A reply names its thread's root; a root with replies carries the thread's summary; absent otherwise. */
  thread?: number | ThreadSummary;
  /** A reply that is shown in the main conversation too. */
  also_in_room?: boolean;
  /** The people the text mentions (uids, resolved when it was written or last edited), at most 20. */
  mentions?: string[];
  /** The text says `@room` (a moderator's or the API's): it mentions everyone. */
  mentions_room?: boolean;
}

/** A thread's summary, on its root: replies not deleted, the newest one's seq and time, the first five repliers. */
export interface ThreadSummary {
  replies: number;
  last_seq: number;
  last_at: number;
  participants: string[];
}

/** Unread replies in one thread a person takes part in. */
export interface ThreadUnread {
  root: number;
  unread: number;
}

/** A search result: the whole current message plus `snippet` (HTML-escaped, hits in <mark>…</mark>). */
export interface SearchHit extends ChatMessage {
  snippet: string;
}

/** What a token made a connection in this room. */
export type Role = 'member' | 'moderator';

/** The rules a room enforces, announced in `welcome.limits` (lengths in Unicode scalar values). */
export interface Limits {
  text: number;
  name: number;
  id: number;
  frame_bytes: number;
  burst: number;
  per_sec: number;
  page: number;
  query: number;
  results: number;
  search_burst: number;
  search_per_sec: number;
  presence: number;
  roster_page: number;
  silent_after: number;
  /** Versions kept per message, the current text included; an edit past it drops the oldest. */
  versions: number;
  /** The largest upload (bytes), the media types taken (`type/*`: every subtype), files per message. */
  file_bytes?: number;
  file_types?: string[];
  files?: number;
  /** Whether new messages' first links get a preview. */
  previews?: boolean;
}

export interface WelcomeFrame {
  type: 'welcome';
  room: string;
  you: User;
  members: User[];
  history: ChatMessage[];
  last_seq: number;
  truncated: boolean;
  limits: Limits;
  rev: number;
  read_seq: number | null;
  unread: number;
  /** Only on a resume with `after=` and `since=`: what changed while away, in `rev` order. */
  changes?: ChatMessage[];
  /** Only above the presence threshold: how many are online (`members` is then a first page). */
  online?: number;
  role: Role;
  /** When this connection's token expires (Unix seconds); null without a token. */
  expires: number | null;
  slow_mode: number;
  /** Only connections with a key or a token may speak here (`require_identity`); absent: anyone. */
  identity_required?: boolean;
  /** Until when this author is muted (ms), if it is. */
  muted_until?: number;
  /** Below the presence threshold: how far the others online have read (as their `read` frames say). */
  reads?: { user: User; seq: number }[];
  /** Our unread mentions (absent when anonymous). */
  mentions?: number;
  /** Unread replies in the threads we take part in (absent when anonymous)… */
  thread_unread?: number;
  /** …and those threads with any, most recently active first (absent when none). */
  threads?: ThreadUnread[];
  /** The room's retention, when a policy is in force or something was erased. */
  retention?: Retention;
}

/** A room's retention: messages older than `days` are erased (null: kept); every `seq` up to `upto` was. */
export interface Retention {
  days: number | null;
  upto: number;
}

export interface MessageFrame extends ChatMessage {
  type: 'message';
}

/** The answer to a message, edit, delete, react or moderation frame (`seq` 0 for moderation). */
export interface AckFrame {
  type: 'ack';
  id: string | null;
  seq: number;
  ts: number;
  rev: number;
  /** The text as stored, only when it is not the one sent (the room's moderation hook replaced it). */
  text?: string;
}

/** Retention erased every message up to `upto`: drop what you keep of them. */
export interface ExpiredFrame {
  type: 'expired';
  upto: number;
}

export interface MessageUpdatedFrame {
  type: 'message_updated';
  message: ChatMessage;
  rev: number;
}

export interface ReactionFrame {
  type: 'reaction';
  seq: number;
  emoji: string;
  user: User;
  on: boolean;
  counts: Reactions;
  rev: number;
}

export interface ReadFrame {
  type: 'read';
  user: User;
  seq: number;
}

/** A thread's summary changed (a reply came, one was deleted): the root's change, as revision `rev`. */
export interface ThreadUpdatedFrame {
  type: 'thread_updated';
  root: number;
  thread: ThreadSummary;
  rev: number;
}

/** Answers a `thread` frame: the root and a page of its replies, oldest first. */
export interface ThreadPageFrame {
  type: 'thread_page';
  id: string | null;
  root: ChatMessage;
  replies: ChatMessage[];
  has_more: boolean;
}

/** Our counts, to each of our connections, when something that concerns us alone changed them
 * (the main conversation's unread count is each connection's own to keep). */
export interface UnreadFrame {
  type: 'unread';
  mentions: number;
  thread_unread: number;
  threads: ThreadUnread[];
}

export interface HistoryFrame {
  type: 'history';
  id: string | null;
  messages: ChatMessage[];
  has_more: boolean;
}

export interface SearchResultsFrame {
  type: 'search_results';
  id: string | null;
  results: SearchHit[];
  has_more: boolean;
  /** When older messages may match too: the `before` that searches on from where this one stopped. */
  next_before: number | null;
  /** When the ranked window holds more: the `offset` of its next page (asked with the same `before`).
   * Absent from servers before it. */
  next_offset?: number | null;
}

export interface JoinFrame {
  type: 'join';
  user: User;
}

export interface LeaveFrame {
  type: 'leave';
  user: User;
}

export interface PresenceFrame {
  type: 'presence';
  online: number;
  joined: User[];
  left: User[];
  joins: number;
  leaves: number;
}

export interface RosterFrame {
  type: 'roster';
  id: string | null;
  online: number;
  members: User[];
  /** The `after` of the next page; null on the last one. */
  next: string | null;
}

export interface TypingFrame {
  type: 'typing';
  user: User;
}

/** Somebody who reacted: their uid, and the name they had then (null for a reaction stored before
 * names were kept with reactions). */
export interface Reactor {
  uid: string;
  name: string | null;
}

/** Who reacted to message `seq` with `emoji`, answering a `reactors` frame: a page in uid order. */
export interface ReactorsFrame {
  type: 'reactors';
  id: string | null;
  seq: number;
  emoji: string;
  users: Reactor[];
  /** The `after` of the next page; null on the last one. */
  next: string | null;
}

export type ModerationAction =
  | 'ban'
  | 'unban'
  | 'kick'
  | 'mute'
  | 'unmute'
  | 'slow_mode'
  | 'require_identity'
  | 'allow_anonymous'
  | 'purge'
  | 'retention'
  | 'block'
  | 'unblock'
  | 'delete';

/** A moderator's action as every connection hears it, and as the log keeps it (with `log_id`). */
export interface ModerationRecord {
  action: ModerationAction;
  uid?: string;
  /** The deleted message (`delete`). */
  seq?: number;
  seconds?: number;
  reason?: string;
  /** `retention`: the room's policy in days (0: keep everything); absent: back to the deployment's. */
  days?: number;
  /** `block`, `unblock` (told to moderators only): the entries, normalized. */
  words?: string[];
  by: User;
  at: number;
  log_id?: number;
}

export interface ModerationFrame extends ModerationRecord {
  type: 'moderation';
}

/** The moderation rules in force. */
export interface ModerationRules {
  bans: string[];
  mutes: { uid: string; until: number }[];
  slow_mode: number;
  identity_required?: boolean;
  /** How many client addresses bans bar now (open rooms; the addresses themselves are never shown). */
  address_bans?: number;
  /** The room's own retention setting in days (null: the deployment's default). */
  retention_days?: number | null;
  /** The room's blocked words and phrases (moderators only see the log). */
  blocked?: string[];
}

export interface ModerationLogFrame {
  type: 'moderation_log';
  id: string | null;
  records: ModerationRecord[];
  has_more: boolean;
  rules: ModerationRules;
}

export interface AuthOkFrame {
  type: 'auth_ok';
  id: string | null;
  role: Role;
  expires: number;
}

/** Every code the server sends (src/error.rs). */
export type ServerErrorCode =
  | 'bad_json'
  | 'bad_request'
  | 'too_large'
  | 'rate_limited'
  | 'bad_room'
  | 'bad_name'
  | 'bad_key'
  | 'bad_after'
  | 'bad_limit'
  | 'bad_query'
  | 'bad_thread'
  | 'room_full'
  | 'not_found'
  | 'method_not_allowed'
  | 'upgrade_required'
  | 'forbidden_origin'
  | 'unauthorized'
  | 'token_expired'
  | 'forbidden'
  | 'banned'
  | 'kicked'
  | 'muted'
  | 'slow_mode'
  | 'id_conflict'
  | 'rejected'
  | 'moderation_unavailable'
  | 'disabled'
  | 'bad_config'
  | 'internal'
  | 'bad_file'
  | 'unsupported_type'
  | 'length_required'
  | 'bad_range';

export interface ErrorFrame {
  type: 'error';
  code: ServerErrorCode;
  message: string;
  /** The client id of the refused frame, when it could be read. */
  id?: string | null;
}

/** Only to a connection that asked for `batch=1`: one room turn's frames, in order. */
export interface BatchFrame {
  type: 'batch';
  frames: ServerFrame[];
}

export type ServerFrame =
  | WelcomeFrame
  | MessageFrame
  | AckFrame
  | MessageUpdatedFrame
  | ReactionFrame
  | ReadFrame
  | ThreadUpdatedFrame
  | ThreadPageFrame
  | UnreadFrame
  | HistoryFrame
  | SearchResultsFrame
  | JoinFrame
  | LeaveFrame
  | PresenceFrame
  | RosterFrame
  | TypingFrame
  | ReactorsFrame
  | ExpiredFrame
  | ModerationFrame
  | ModerationLogFrame
  | AuthOkFrame
  | ErrorFrame;

// Client → server.

export type ClientFrame =
  | { type: 'message'; text?: string; id?: string; reply_to?: number; thread?: number; also_in_room?: boolean; files?: string[] }
  | { type: 'typing' }
  | { type: 'edit'; seq: number; text?: string; id?: string; files?: string[]; preview?: false }
  | { type: 'delete'; seq: number; reason?: string; id?: string }
  | { type: 'react'; seq: number; emoji: string; on?: boolean; id?: string }
  | { type: 'read'; seq: number; thread?: number }
  | { type: 'thread'; root: number; after?: number; limit?: number; id?: string }
  | { type: 'history'; before?: number; limit?: number; id?: string }
  | { type: 'search'; q: string; limit?: number; before?: number; offset?: number; id?: string }
  | { type: 'roster'; after?: string; limit?: number; id?: string }
  | { type: 'reactors'; seq: number; emoji: string; after?: string; limit?: number; id?: string }
  | { type: 'auth'; token: string; id?: string }
  | { type: 'ban'; uid: string; reason?: string; id?: string }
  | { type: 'unban'; uid: string; id?: string }
  | { type: 'kick'; uid: string; id?: string }
  | { type: 'mute'; uid: string; seconds: number; id?: string }
  | { type: 'unmute'; uid: string; id?: string }
  | { type: 'slow_mode'; seconds: number; id?: string }
  | { type: 'require_identity'; id?: string }
  | { type: 'allow_anonymous'; id?: string }
  | { type: 'purge'; uid: string; seconds: number; reason?: string; id?: string }
  | { type: 'retention'; days?: number; id?: string }
  | { type: 'block'; words: string[]; id?: string }
  | { type: 'unblock'; words: string[]; id?: string }
  | { type: 'moderation_log'; before?: number; limit?: number; id?: string };

// The inbox socket (`/ws/me`), server → client (src/inbox/frames.rs). The inbox takes no frames.

/** The last message of a room, as an inbox shows it (its text cut at 140 characters). */
export interface InboxPreview {
  seq: number;
  /** The author's uid; null for a bot through the HTTP API. */
  uid: string | null;
  name: string;
  text: string;
  /** When it was written (ms). */
  at: number;
}

/** A member of a direct message, as the others' entries show them (`name` null until seen). */
export interface DmPerson {
  uid: string;
  name: string | null;
}

/** One room in a person's inbox (`GET /api/me`'s `rooms`, the inbox socket's frames). */
export interface InboxEntry {
  room: string;
  /** Messages after `read_seq` by others, not deleted. */
  unread: number;
  /** Of those, the ones that mention the person. */
  mentions: number;
  /** Unread replies in the threads the person takes part in. */
  threads: number;
  read_seq: number;
  last_seq: number;
  /** The newest message not deleted; null while there is none. */
  last: InboxPreview | null;
  muted: boolean;
  /** A direct message: its other members. */
  dm?: DmPerson[];
  /** The most recent activity (ms): the last message's time, or when the room was added. */
  at: number;
}

/** A direct-message partner's online state. */
export interface OnlineState {
  uid: string;
  online: boolean;
  /** When they were last online (ms), once gone; null while online or never seen. */
  last_seen: number | null;
}

/** `GET /api/me`: the person, their rooms (most recent activity first) and their partners' state. */
export interface InboxBody {
  uid: string;
  name: string | null;
  rooms: InboxEntry[];
  online: OnlineState[];
}

export interface InboxSnapshotFrame extends InboxBody {
  type: 'inbox';
}

export interface InboxEntryFrame {
  type: 'entry';
  entry: InboxEntry;
}

export interface InboxRemovedFrame {
  type: 'removed';
  room: string;
}

export interface InboxOnlineFrame extends OnlineState {
  type: 'online';
}

export type InboxFrame = InboxSnapshotFrame | InboxEntryFrame | InboxRemovedFrame | InboxOnlineFrame | ErrorFrame;
