//! `<ChatProvider>` and the context the hooks read: one ChatHub (hub.js) per provider, made once
//! (a re-render with new props keeps it; a provider with another `origin` or `name` is a new one:
//! give it a `key`). No JSX, so the package ships as it is written.

import { createContext, createElement, useContext, useState } from 'react';
import { ChatHub } from './hub.js';

const HubContext = createContext(/** @type {ChatHub | null} */ (null));

/**
 * Provides the rooms to the hooks below it. Props: every ChatClient option but `room` (origin, name,
 * WebSocket, key, token, getToken, store, cacheLimits, …), lingerMs, searchDelayMs; or `hub`, a
 * ChatHub made outside React.
 */
export function ChatProvider({ children, hub, ...options }) {
  const [own] = useState(() => hub ?? new ChatHub(options));
  return createElement(HubContext.Provider, { value: hub ?? own }, children);
}

/** The provider's hub: its rooms' clients (`client(room)`) and `clearCache()` for sign-out. */
export function useChat() {
  const hub = useContext(HubContext);
  if (!hub) throw new Error('@edge-chat/react: a hook was used outside <ChatProvider>');
  return hub;
}
