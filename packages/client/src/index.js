//! @edge-chat/client: the typed client of edge-chat (docs/SDK.md). One `ChatClient` per room speaks
//! the protocol (docs/PROTOCOL.md) over any WebSocket implementation, and one `InboxClient`
//! (`inbox()`) per person tells of every room they are in; the types are in ../types.
//! What the package exports is listed here; client.js says where each part of the client lives.

export * from './client.js';
export * from './errors.js';
export { clearCache, defaultStore, unsentEntries } from './cache.js';
export { pendingChanges } from './changes.js';
export { backoff, refusalKind } from './connection.js';
export { IndexedDBStore } from './idb-store.js';
export { KEY_STORAGE_KEY, SUBPROTOCOL, cleanName, identityKey, isIdentity, messageId, newKey, privateRoomName } from './identity.js';
export { typeTaken } from './files.js';
export { DEFAULT_LIMITS, announcedLimits, charCount } from './limits.js';
export { HISTORY_PAGE, living, snippetParts } from './messages.js';
export { INBOX_LISTED, InboxClient, byActivity, inbox, inboxTotals } from './inbox.js';
export { READ_EVERY_MS } from './reads.js';
export { TYPING_EVERY_MS, TYPING_SHOWN_MS } from './roster.js';
export { CACHE_LIMITS, MemoryStore, evictionPlan } from './store.js';
export { THREAD_PAGE, inThreadOnly } from './threads.js';
