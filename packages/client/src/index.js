//! @edge-chat/client: the typed client of edge-chat (docs/SDK.md). One `ChatClient` per room speaks
//! the protocol (docs/PROTOCOL.md) over any WebSocket implementation; the types are in ../types.

export * from './client.js';
export * from './errors.js';
