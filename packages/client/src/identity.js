//! Who we are and what we call things, made here without asking the room: this browser's identity
//! key (kept in localStorage, offered in the handshake beside the `edge-chat` subprotocol) and what a
//! uid says about it, a fresh id for each message, a private room's name, a person's name as sent.
//! Randomness is `crypto.getRandomValues`, which every runtime the SDK runs in has.

/** The subprotocol the server answers with; our key is offered beside it (docs/PROTOCOL.md). */
export const SUBPROTOCOL = 'edge-chat';

/**
 * Whether `uid` is an identity's (from a key or a token), not an anonymous connection's
 * (`anon:<connection id>`, which lasts as long as that connection) nor the HTTP API bot's (none).
 * @param {string | null | undefined} uid
 */
export function isIdentity(uid) {
  return typeof uid === 'string' && uid !== '' && !uid.startsWith('anon:');
}

/** Where the identity key lives (localStorage: it is this browser's, in every tab and room). */
export const KEY_STORAGE_KEY = 'edge-chat:key';

/** A fresh identity key: 192 bits from `crypto.getRandomValues`, as 32 characters of base64url. */
export function newKey() {
  const buf = new Uint8Array(24);
  crypto.getRandomValues(buf);
  return btoa(String.fromCharCode(...buf)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * This browser's identity key: the one in `storage`, or a new one stored there. The server derives
 * our public `uid` from it and never sends it back, so it stays a secret of this browser. Without
 * working storage the key lives as long as the page (we are then a new author after a reload).
 */
export function identityKey(storage, { renew = false } = {}) {
  try {
    const kept = storage?.getItem(KEY_STORAGE_KEY);
    if (!renew && typeof kept === 'string' && kept) return kept;
  } catch {}
  const key = newKey();
  try {
    storage?.setItem(KEY_STORAGE_KEY, key);
  } catch {}
  return key;
}

function hex(bytes) {
  const buf = new Uint8Array(bytes);
  crypto.getRandomValues(buf);
  return Array.from(buf, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A room name nobody can guess: 128 bits from `crypto.getRandomValues`, as 32 hex digits. */
export function privateRoomName() {
  return hex(16);
}

/** A fresh idempotency key for one message (the server dedupes on (name, id)). */
export function messageId() {
  return `c-${Date.now().toString(36)}-${hex(6)}`;
}

/**
 * The name as it will be shown and sent: trimmed, nothing more. Whether the server accepts it is
 * its word (a `bad_name` refusal), not ours; null only for an empty field (nothing to send at all).
 */
export function cleanName(raw) {
  return String(raw ?? '').trim() || null;
}
