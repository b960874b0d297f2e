//! The hooks. Each reads one external store of the provider's hub through `useSyncExternalStore`,
//! React's own way to read outside state so that a concurrent render never shows two states at once
//! and StrictMode's double mounting is harmless (subscribing twice is counted, not connected twice).
//! Each store is its own slice: a component re-renders when its room, search, thread or inbox changed,
//! not when another did.

import { useSyncExternalStore } from 'react';
import { useChat } from './provider.js';

/**
 * A room: {messages, pending, members, online, typing, status, fromCache, refusal, you, hasOlder,
 * unread, readSeq, client} and the actions {send, edit, remove, react, toggleReaction, markRead,
 * loadOlder, retry, discard, sendTyping}. It opens from the offline store at once (`fromCache`), then
 * connects and resumes.
 * @param {string} room
 */
export function useRoom(room) {
  const handle = useChat().room(room);
  return useSyncExternalStore(handle.subscribe, handle.getSnapshot, handle.getSnapshot);
}

/**
 * A search of `room`'s history: {status: 'idle'|'loading'|'done'|'error', results, hasMore, error,
 * more}. Asked once `q` (trimmed, non-empty) stayed the same for the provider's `searchDelayMs`.
 * @param {string} room
 * @param {string} q
 */
export function useSearch(room, q) {
  const handle = useChat().search(room, q ?? '');
  return useSyncExternalStore(handle.subscribe, handle.getSnapshot, handle.getSnapshot);
}

/**
 * A thread: {root (with its summary), replies (oldest first), pending (our replies not yet stored),
 * hasMore, status: 'loading'|'done'|'error', error, unread} and the actions {send(text, {alsoInRoom}),
 * markRead(seq), loadMore()}. The first page is asked once the room is online, and again after each
 * reconnect; replies arriving live join it, and a thread opened before is drawn from the offline store.
 * @param {string} room
 * @param {number} root
 */
export function useThread(room, root) {
  const handle = useChat().thread(room, root);
  return useSyncExternalStore(handle.subscribe, handle.getSnapshot, handle.getSnapshot);
}

/**
 * The person's inbox (every room they are in, over one `/ws/me` socket): {status, entries (most recent
 * activity first), totals ({unread, mentions, rooms}), online, you, fromCache, client} and the actions
 * {leave(room), mute(room, muted), openDm(uids)}. Drawn from the offline store before it connects.
 */
export function useInbox() {
  const handle = useChat().inbox();
  return useSyncExternalStore(handle.subscribe, handle.getSnapshot, handle.getSnapshot);
}
