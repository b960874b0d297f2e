//! Every refusal edge-chat can give, in one place: the [`ErrorCode`]s a client can be told about (on the
//! socket as an `error` frame, over HTTP as a JSON body), each with its wire name, its HTTP status and
//! the WebSocket close code that carries it when a socket is refused, and [`Problem`]: a code with the
//! sentence that explains it. Every other module returns `Problem`s; none of them picks a status.

use serde::{Deserialize, Serialize};

/// Every error a client can be told about. The wire name (serde's `snake_case`), the HTTP status and
/// the close code live here and nowhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadJson,
    BadRequest,
    TooLarge,
    RateLimited,
    BadRoom,
    BadName,
    BadKey,
    BadAfter,
    BadLimit,
    BadQuery,
    /// A message sent into a thread whose root does not exist, is deleted, or is itself a reply.
    BadThread,
    RoomFull,
    NotFound,
    MethodNotAllowed,
    UpgradeRequired,
    ForbiddenOrigin,
    Unauthorized,
    /// A token that was valid has expired: at the door, or on a live socket (close 4401).
    TokenExpired,
    Forbidden,
    /// A moderator banned this author from the room (close 4403; refused at the door until unbanned).
    Banned,
    /// A moderator removed this connection from the room (close 4403); it may come back.
    Kicked,
    /// A moderator muted this author: no messages, edits or reactions for a while.
    Muted,
    /// The room's slow mode: one message per author per interval; the message says how long to wait.
    SlowMode,
    IdConflict,
    /// The room's moderation hook refused this message or edit (the message says why).
    Rejected,
    /// The room's moderation hook did not answer (or not usefully) and the room refuses what it
    /// cannot check (`MODERATION_FAIL=closed`).
    ModerationUnavailable,
    Disabled,
    BadConfig,
    Internal,
    /// A message names a file that is not an unused upload of this room (or not the sender's).
    BadFile,
    /// An upload's type is not one the room takes (`FILE_TYPES`), or its bytes are not that type.
    UnsupportedType,
    /// An upload without `Content-Length` (a file is streamed to storage, which needs its size).
    LengthRequired,
    /// A `Range` of a download that starts past its end.
    BadRange,
}

impl ErrorCode {
    /// Every code, for tests that must cover them all.
    pub const ALL: [ErrorCode; 33] = [
        ErrorCode::BadJson,
        ErrorCode::BadRequest,
        ErrorCode::TooLarge,
        ErrorCode::RateLimited,
        ErrorCode::BadRoom,
        ErrorCode::BadName,
        ErrorCode::BadKey,
        ErrorCode::BadAfter,
        ErrorCode::BadLimit,
        ErrorCode::BadQuery,
        ErrorCode::BadThread,
        ErrorCode::RoomFull,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::UpgradeRequired,
        ErrorCode::ForbiddenOrigin,
        ErrorCode::Unauthorized,
        ErrorCode::TokenExpired,
        ErrorCode::Forbidden,
        ErrorCode::Banned,
        ErrorCode::Kicked,
        ErrorCode::Muted,
        ErrorCode::SlowMode,
        ErrorCode::IdConflict,
        ErrorCode::Rejected,
        ErrorCode::ModerationUnavailable,
        ErrorCode::Disabled,
        ErrorCode::BadConfig,
        ErrorCode::Internal,
        ErrorCode::BadFile,
        ErrorCode::UnsupportedType,
        ErrorCode::LengthRequired,
        ErrorCode::BadRange,
    ];

    /// The wire name, as serde writes it (a test holds the two together). Used where a `&'static str`
    /// is needed: a WebSocket close reason.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadJson => "bad_json",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::BadRoom => "bad_room",
            ErrorCode::BadName => "bad_name",
            ErrorCode::BadKey => "bad_key",
            ErrorCode::BadAfter => "bad_after",
            ErrorCode::BadLimit => "bad_limit",
            ErrorCode::BadQuery => "bad_query",
            ErrorCode::BadThread => "bad_thread",
            ErrorCode::RoomFull => "room_full",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::UpgradeRequired => "upgrade_required",
            ErrorCode::ForbiddenOrigin => "forbidden_origin",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::Banned => "banned",
            ErrorCode::Kicked => "kicked",
            ErrorCode::Muted => "muted",
            ErrorCode::SlowMode => "slow_mode",
            ErrorCode::IdConflict => "id_conflict",
            ErrorCode::Rejected => "rejected",
            ErrorCode::ModerationUnavailable => "moderation_unavailable",
            ErrorCode::Disabled => "disabled",
            ErrorCode::BadConfig => "bad_config",
            ErrorCode::Internal => "internal",
            ErrorCode::BadFile => "bad_file",
            ErrorCode::UnsupportedType => "unsupported_type",
            ErrorCode::LengthRequired => "length_required",
            ErrorCode::BadRange => "bad_range",
        }
    }

    /// The HTTP status this error is answered with when it refuses a request.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadJson
            | ErrorCode::BadRequest
            | ErrorCode::BadRoom
            | ErrorCode::BadName
            | ErrorCode::BadKey
            | ErrorCode::BadAfter
            | ErrorCode::BadLimit
            | ErrorCode::BadQuery
            | ErrorCode::BadFile
            | ErrorCode::BadThread => 400,
            ErrorCode::Unauthorized | ErrorCode::TokenExpired => 401,
            ErrorCode::ForbiddenOrigin
            | ErrorCode::Forbidden
            | ErrorCode::Disabled
            | ErrorCode::Banned
            | ErrorCode::Kicked
            | ErrorCode::Muted => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::IdConflict => 409,
            ErrorCode::LengthRequired => 411,
            ErrorCode::Rejected => 422,
            ErrorCode::TooLarge => 413,
            ErrorCode::UnsupportedType => 415,
            ErrorCode::BadRange => 416,
            ErrorCode::UpgradeRequired => 426,
            ErrorCode::RateLimited | ErrorCode::SlowMode => 429,
            ErrorCode::BadConfig | ErrorCode::Internal => 500,
            ErrorCode::RoomFull | ErrorCode::ModerationUnavailable => 503,
        }
    }

    /// The close code of a socket refused with this error: 4000 + the HTTP status (4400, 4401, 4503…).
    /// A browser never sees the status of a refused upgrade (only a bare 1006), so a refusal a person
    /// can hit is an accepted socket that sends the `error` frame and closes with this code.
    pub fn close_code(self) -> u16 {
        4000 + self.http_status()
    }
}

/// An error with the sentence that explains it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: ErrorCode,
    pub message: String,
}

impl Problem {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Problem {
            code,
            message: message.into(),
        }
    }

    /// The JSON body of an HTTP refusal: `{"error":{"code":"…","message":"…"}}`.
    pub fn to_http_body(&self) -> String {
        serde_json::json!({"error": {"code": self.code, "message": self.message}}).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_str_is_the_serde_name_of_every_code() {
        for code in ErrorCode::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }

    #[test]
    fn refusal_close_codes_are_4000_plus_the_status() {
        assert_eq!(ErrorCode::BadName.close_code(), 4400);
        assert_eq!(ErrorCode::Unauthorized.close_code(), 4401);
        assert_eq!(ErrorCode::RateLimited.close_code(), 4429);
        assert_eq!(ErrorCode::RoomFull.close_code(), 4503);
    }

    #[test]
    fn http_body() {
        assert_eq!(
            Problem::new(ErrorCode::BadRoom, "no").to_http_body(),
            r#"{"error":{"code":"bad_room","message":"no"}}"#
        );
    }
}
