// @edge-chat/react: the types of the hooks (docs/SDK.md, "React"). The runtime is src/ (plain ESM,
// shipped as written); tests/react.test.mjs checks that every name src/index.js exports is declared
// here, and a consumer type-checks under `tsc --strict` with @types/react.

import type { ReactNode } from 'react';
import type {
  Acked,
  ChatClient,
  ChatClientOptions,
  ChatError,
  ChatMessage,
  ChatStore,
  ConnectionState,
  OutboxEntry,
  Refusal,
  SearchHit,
  InboxClient,
  InboxEntry,
  InboxTotals,
  PartnerState,
  Sent,
  User,
} from '@edge-chat/client';

/** What every room's ChatClient of a provider is made with (everything but `room`), and the hub's own. */
export interface ChatHubOptions extends Omit<ChatClientOptions, 'room'> {
  /** How long a room stays connected after its last component went (ms, default 1000). */
  lingerMs?: number;
  /** How long a search query must stay unchanged before it is asked (ms, default 250). */
  searchDelayMs?: number;
}

/** One running client per room, the searches shown, and the offline store they share. */
export declare class ChatHub {
  constructor(options: ChatHubOptions);
  readonly store: ChatStore | null;
  /** The room's ChatClient (made on first use, connected while a hook shows it). */
  client(room: string): ChatClient;
  /** Sign-out: stops every room and empties the offline store. */
  clearCache(): Promise<void>;
}

/** The hub's options, or `hub`: a ChatHub made outside React (which has its own). */
export type ChatProviderProps = ((ChatHubOptions & { hub?: undefined }) | { hub: ChatHub }) & { children?: ReactNode };

export declare function ChatProvider(props: ChatProviderProps): ReactNode;
/** The provider's hub. Throws outside a <ChatProvider>. */
export declare function useChat(): ChatHub;

/** What `useRoom(room)` returns: the room's state (a new object only when it changed) and its actions (the same functions always). */
export interface RoomState {
  room: string;
  /** The main conversation: every message held but replies only in their thread, in seq order, each in its current state (the same array until one changed). */
  messages: ChatMessage[];
  /** Our messages not yet stored, oldest first (a refused one with `error`). */
  pending: OutboxEntry[];
  /** The open connections known (partial above the room's presence threshold). */
  members: User[];
  /** How many connections the room has. */
  online: number;
  /** Who is typing now, one per person. */
  typing: User[];
  status: ConnectionState;
  /** The room was opened from the offline store (its messages were drawn before connecting). */
  fromCache: boolean;
  /** Why the room refused us for good, or null. */
  refusal: Refusal | null;
  you: User | null;
  hasOlder: boolean;
  /** Others' messages after our read position. */
  unread: number;
  /** Our unread mentions in the room, and unread replies in the threads we take part in. */
  mentions: number;
  threadUnread: number;
  readSeq: number | null;
  /** The room's ChatClient, for what the hook does not cover. */
  client: ChatClient;
  send(text: string, options?: { replyTo?: number | null }): Promise<Sent>;
  edit(seq: number, text: string): Promise<Acked>;
  remove(seq: number, options?: { reason?: string }): Promise<Acked>;
  react(seq: number, emoji: string, on?: boolean): Promise<Acked>;
  toggleReaction(seq: number, emoji: string): Promise<Acked>;
  markRead(seq: number): void;
  loadOlder(limit?: number): Promise<{ count: number; hasOlder: boolean } | null>;
  retry(id: string): Promise<Sent>;
  discard(id: string): void;
  /** Call on each keystroke in the composer (at most one typing frame per 2.5 s). */
  sendTyping(): void;
}

/** A room: drawn from the offline store at once, then connected and resumed. */
export declare function useRoom(room: string): RoomState;

export interface SearchState {
  status: 'idle' | 'loading' | 'done' | 'error';
  /** Best match first, the pages loaded so far. */
  results: SearchHit[];
  hasMore: boolean;
  error: ChatError | null;
  /** Loads the next page and appends it (false when there is none or it failed). */
  more(): Promise<boolean>;
}

/** A search of the room's history, asked once the room is online and `q` stayed the same a moment. */
export declare function useSearch(room: string, q: string): SearchState;

/** What `useThread(room, root)` returns. */
export interface ThreadState {
  /** The root, with its summary (`thread`), once held (null before). */
  root: ChatMessage | null;
  /** The replies held, oldest first (pages, live replies, and those the offline store kept). */
  replies: ChatMessage[];
  /** Our replies in this thread not yet stored. */
  pending: OutboxEntry[];
  hasMore: boolean;
  status: 'loading' | 'done' | 'error';
  error: ChatError | null;
  /** Unread replies in this thread (a thread we take part in), as the room counts them. */
  unread: number;
  /** Replies in the thread (`alsoInRoom`: shown in the main conversation too). */
  send(text: string, options?: { alsoInRoom?: boolean }): Promise<Sent>;
  /** Our read position in the thread moves up to `seq`. */
  markRead(seq: number): void;
  /** Loads the replies after the newest held. */
  loadMore(): Promise<void>;
}

/** A thread of `room`: its first page once the room is online (and after each reconnect), live replies joining it. */
export declare function useThread(room: string, root: number): ThreadState;

/** What `useInbox()` returns. */
export interface InboxState {
  status: ConnectionState;
  /** Every room of the person, most recent activity first. */
  entries: InboxEntry[];
  /** The badge's numbers (rooms not muted; a muted room's mentions still count). */
  totals: InboxTotals;
  /** Direct-message partners' online state. */
  online: PartnerState[];
  you: { uid: string; name: string | null } | null;
  /** Drawn from the offline store: the socket's first snapshot has not come yet. */
  fromCache: boolean;
  client: InboxClient;
  leave(room: string): Promise<void>;
  mute(room: string, muted?: boolean): Promise<InboxEntry>;
  /** The room of the direct message with `uids` (one or up to 8). */
  openDm(uids: string | string[]): Promise<string>;
}

/** The person's inbox over one `/ws/me` socket for the provider, drawn from the offline store before it connects. */
export declare function useInbox(): InboxState;
