//! The refusals a client can meet, as one typed error. The server's codes are the ones src/error.rs
//! sends (docs/PROTOCOL.md, "error"); a test reads that file and fails when it knows a code this list
//! does not. The client adds a few of its own for what no server said: the socket went before the
//! answer, the client was stopped, the person discarded a message.

/** Every `code` the server sends in an `error` frame or an HTTP refusal, as in src/error.rs. */
export const SERVER_ERROR_CODES = Object.freeze([
  'bad_json',
  'bad_request',
  'too_large',
  'rate_limited',
  'bad_room',
  'bad_name',
  'bad_key',
  'bad_after',
  'bad_limit',
  'bad_query',
  'bad_thread',
  'room_full',
  'not_found',
  'method_not_allowed',
  'upgrade_required',
  'forbidden_origin',
  'unauthorized',
  'token_expired',
  'forbidden',
  'banned',
  'kicked',
  'muted',
  'slow_mode',
  'id_conflict',
  'rejected',
  'moderation_unavailable',
  'disabled',
  'bad_config',
  'internal',
  'bad_file',
  'unsupported_type',
  'length_required',
  'bad_range',
]);

/**
 * Codes the client gives when no server answered:
 * - `offline`: not connected, or the socket went before the answer (a query; messages and changes
 *   are not failed by a drop: they wait in the outbox and go again after the reconnect);
 * - `closed`: `stop()` was called, or the server refused the connection for good (the error then
 *   carries the refusal's own code instead, see `ChatError.closeCode`);
 * - `discarded`: the message was taken out of the outbox with `discard()` before it was stored.
 */
export const CLIENT_ERROR_CODES = Object.freeze(['offline', 'closed', 'discarded']);

/** A refusal: `code` is one of SERVER_ERROR_CODES or CLIENT_ERROR_CODES, `message` says it in words. */
export class ChatError extends Error {
  /**
   * @param {string} code
   * @param {string} [message]
   * @param {{closeCode?: number | null, id?: string | null}} [details]
   */
  constructor(code, message, { closeCode = null, id = null } = {}) {
    super(message || code);
    this.name = 'ChatError';
    /** The protocol's error code. */
    this.code = code;
    /** For a refused or closed connection, its close code (4000 + HTTP status); else null. */
    this.closeCode = closeCode;
    /** The client id of the refused frame, when the server named it. */
    this.id = id;
  }
}
