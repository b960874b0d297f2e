//! @edge-chat/react: React hooks over @edge-chat/client (docs/SDK.md, "React"). A `<ChatProvider>`
//! holds one client per room (hub.js); `useRoom`, `useSearch`, `useThread` and `useInbox` each read
//! their own slice through `useSyncExternalStore` (hooks.js). React is a peer dependency; the types
//! are in ../types/index.d.ts.

export { ChatHub } from './hub.js';
export { useInbox, useRoom, useSearch, useThread } from './hooks.js';
export { ChatProvider, useChat } from './provider.js';
