// The WebSocket close codes the server sends, named as the server names them, so a test says which
// close it expects (CLOSE_TOO_BIG) rather than a number. One place for the tests; it mirrors
//   - src/effect.rs          every CLOSE_* constant (tests/close-codes.test.mjs checks they agree)
//   - src/error.rs           `ErrorCode::close_code`: a refusal told on the socket closes with 4000 + the
//                            HTTP status of its error (docs/PROTOCOL.md, "Refusals a person can hit")
// 1000 (normal) and 1006 (no close frame at all: the connection just ended) are RFC 6455's own and
// stay literal in the tests.

/** Silent past SILENT_AFTER: the room takes the socket for gone (1001 "going away"). */
export const CLOSE_SILENT = 1001;
/** Kept flooding past the rate limit (1008 "policy violation"). */
export const CLOSE_FLOODING = 1008;
/** A frame over the size limit (1009 "message too big"). */
export const CLOSE_TOO_BIG = 1009;
/** A fault on the server's side (1011 "internal error"). */
export const CLOSE_INTERNAL = 1011;
/** A shard's sockets that missed frames: reconnect and resume from the history (1012 "service restart"). */
export const CLOSE_RESUME = 1012;

/** The close code of a refusal on the socket: 4000 + the HTTP status of its error code. */
export const refusalClose = (status) => 4000 + status;
/** bad_name, bad_room, bad_key, bad_after (400). */
export const CLOSE_BAD_REQUEST = refusalClose(400);
/** unauthorized, token_expired (401). */
export const CLOSE_UNAUTHORIZED = refusalClose(401);
/** forbidden, banned, kicked (403). */
export const CLOSE_FORBIDDEN = refusalClose(403);
/** rate_limited: one address opening sockets too fast (429). */
export const CLOSE_RATE_LIMITED = refusalClose(429);
/** internal, bad_config (500). */
export const CLOSE_REFUSED_INTERNAL = refusalClose(500);
/** room_full (503). */
export const CLOSE_ROOM_FULL = refusalClose(503);
