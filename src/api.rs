//! The bodies of the HTTP API's writes, read and checked once: a bot's message (`POST
//! /api/rooms/{room}/messages`) and a token request (`POST /api/tokens`). The Worker reads a body as
//! text and hands it here; the size limit, the JSON shape and every field are checked in this module.

use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, Problem};
use crate::moderation::{Action, Parts};
use crate::validate::{self, UserName, MAX_BODY_BYTES};

/// Default lifetime of a minted token, in seconds.
pub const DEFAULT_TOKEN_TTL: u64 = 3600;
/// Longest lifetime of a minted token, in seconds (7 days).
pub const MAX_TOKEN_TTL: u64 = 7 * 24 * 3600;

/// Parses a JSON body of at most [`MAX_BODY_BYTES`] into `T`: `too_large`, `bad_json` (not JSON) or
/// `bad_request` (JSON of the wrong shape).
pub fn parse_body<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, Problem> {
    if text.len() > MAX_BODY_BYTES {
        return Err(Problem::new(
            ErrorCode::TooLarge,
            format!("request body is larger than {} KiB", MAX_BODY_BYTES / 1024),
        ));
    }
    serde_json::from_str(text).map_err(|e| {
        if e.is_data() {
            Problem::new(ErrorCode::BadRequest, format!("unexpected body: {e}"))
        } else {
            Problem::new(ErrorCode::BadJson, "body is not JSON")
        }
    })
}

/// A bot's message: `{"name","text","id"?,"thread"?,"also_in_room"?}`, with a valid name and id.
/// Its text (and thread) are checked by the room, as every message's are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    pub name: String,
    pub text: String,
    pub id: Option<String>,
    /// The root of the thread it replies in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<u64>,
    /// A reply shown in the main conversation too.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub also_in_room: bool,
}

impl Post {
    /// Reads and checks a post body (the name is trimmed, as a socket's is).
    pub fn parse(body: &str) -> Result<Post, Problem> {
        let post: Post = parse_body(body)?;
        let name = UserName::parse(&post.name)?.into_string();
        let id = post
            .id
            .as_deref()
            .map(validate::check_client_id)
            .transpose()?;
        if post.thread == Some(0) {
            return Err(crate::thread::bad_thread(
                "thread must be the seq of a stored message (1 or more)",
            ));
        }
        if post.also_in_room && post.thread.is_none() {
            return Err(Problem::new(
                ErrorCode::BadRequest,
                "also_in_room is for a reply in a thread (send \"thread\" too)",
            ));
        }
        Ok(Post { name, id, ..post })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A moderator's action through the API (`POST /api/rooms/{room}/moderation`):
/// `{"action","uid"?,"seconds"?,"reason"?,"days"?,"words"?,"by"?}` — `by` names the moderator in the room's log and in
/// the `moderation` frame (default "moderator").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModerationRequest {
    pub action: String,
    pub uid: Option<String>,
    pub seconds: Option<u64>,
    pub reason: Option<String>,
    /// `retention`: the room's policy in days (0 keeps everything; absent: the deployment's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u64>,
    /// `block`, `unblock`: the words or phrases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub words: Option<Vec<String>>,
    pub by: Option<String>,
}

impl ModerationRequest {
    /// Reads and checks the body: the action with its parts, and the moderator's name.
    pub fn parse(body: &str) -> Result<ModerationRequest, Problem> {
        let request: ModerationRequest = parse_body(body)?;
        request.action()?;
        let by = UserName::parse(request.by.as_deref().unwrap_or(DEFAULT_MODERATOR))?;
        Ok(ModerationRequest {
            by: Some(by.into_string()),
            ..request
        })
    }

    pub fn action(&self) -> Result<Action, Problem> {
        Action::parse(
            &self.action,
            Parts {
                uid: self.uid.clone(),
                seconds: self.seconds,
                reason: self.reason.clone(),
                days: self.days,
                words: self.words.clone(),
            },
        )
    }

    pub fn by(&self) -> &str {
        self.by.as_deref().unwrap_or(DEFAULT_MODERATOR)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The name the API's moderation goes by when the request names none.
pub const DEFAULT_MODERATOR: &str = "moderator";

/// `POST /api/tokens`: `{"room","name","ttl"?,"uid"?}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TokenRequest {
    pub room: String,
    pub name: String,
    pub ttl: Option<u64>,
    /// The holder's author id in the app; derived from the name when absent.
    pub uid: Option<String>,
}

impl TokenRequest {
    pub fn parse(body: &str) -> Result<TokenRequest, Problem> {
        parse_body(body)
    }

    /// The token's lifetime: `ttl` clamped to 1 s..7 days, 1 hour when not given.
    pub fn ttl(&self) -> u64 {
        self.ttl
            .unwrap_or(DEFAULT_TOKEN_TTL)
            .clamp(1, MAX_TOKEN_TTL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posts_are_checked_and_trimmed() {
        let p = Post::parse(r#"{"name":" bot ","text":"hi","id":"d1"}"#).unwrap();
        assert_eq!(
            p,
            Post {
                name: "bot".into(),
                text: "hi".into(),
                id: Some("d1".into()),
                thread: None,
                also_in_room: false,
            }
        );
        assert_eq!(Post::parse(&p.to_json()), Ok(p));
        for (body, code) in [
            ("{", ErrorCode::BadJson),
            (r#"{"text":"hi"}"#, ErrorCode::BadRequest),
            (r#"{"name":"","text":"hi"}"#, ErrorCode::BadName),
            (r#"{"name":"b","text":"hi","id":""}"#, ErrorCode::BadRequest),
        ] {
            assert_eq!(Post::parse(body).unwrap_err().code, code, "{body}");
        }
        let big = format!(r#"{{"name":"b","text":"{}"}}"#, "x".repeat(MAX_BODY_BYTES));
        assert_eq!(Post::parse(&big).unwrap_err().code, ErrorCode::TooLarge);
    }

    #[test]
    fn token_ttl_is_clamped() {
        let req = |ttl| TokenRequest {
            room: "r".into(),
            name: "n".into(),
            ttl,
            uid: None,
        };
        assert_eq!(req(None).ttl(), 3600);
        assert_eq!(req(Some(0)).ttl(), 1);
        assert_eq!(req(Some(u64::MAX)).ttl(), MAX_TOKEN_TTL);
        assert_eq!(req(Some(60)).ttl(), 60);
    }
}
