//! The moderation hook before the ack: what a room asks the app's endpoint (`MODERATION_URL`) about a
//! message or an edit before storing it, the answers it understands, and what a silence or a bad
//! answer means (`MODERATION_FAIL`). The room's side — holding the frames behind a question, in
//! arrival order — is `room/screen.rs`; the requests themselves are `worker/screener.rs`.
//!
//! The question is a signed POST, signed as a webhook is (`X-Edge-Chat-Signature: t=…,v1=…`, HMAC-SHA256
//! of `"<t>.<body>"` under `MODERATION_SECRET`). The endpoint answers within `MODERATION_TIMEOUT_MS`
//! with a 2xx and one of `{"action":"allow"}`, `{"action":"reject","reason":"…"}` or
//! `{"action":"replace","text":"…"}`. Anything else — no answer in time, a network error, another
//! status, a body over [`MAX_ANSWER_BYTES`], JSON that is not one of those, a replacement text the
//! room would refuse from a client — is a *failure*, and `MODERATION_FAIL` says what a failure means:
//! `open` stores the message as sent, `closed` refuses it with `moderation_unavailable`.

use serde::{Deserialize, Serialize};

use crate::domain::User;
use crate::error::{ErrorCode, Problem};
use crate::moderation::MAX_REASON_CHARS;
use crate::validate;

/// `MODERATION_TIMEOUT_MS` when unset.
pub const DEFAULT_TIMEOUT_MS: u64 = 1_500;
/// The longest `MODERATION_TIMEOUT_MS`: a frame held longer than this would look like a dead room.
pub const MAX_TIMEOUT_MS: u64 = 30_000;
/// The longest answer read; a longer one is a failure (and is not read past this).
pub const MAX_ANSWER_BYTES: usize = 16 * 1024;
/// Questions in flight at once per room; more wait their turn (their deadline runs meanwhile).
pub const MAX_IN_FLIGHT: usize = 32;
/// Frames a room holds behind open questions; past it new messages and edits are refused with
/// `rate_limited` until the endpoint catches up (each held frame is a client waiting for its ack).
pub const MAX_HELD: usize = 2_000;

/// What a failure to get a verdict means (`MODERATION_FAIL`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Fail {
    /// The message is stored as sent: chat goes on while the endpoint is down, unchecked.
    Open,
    /// The message is refused (`moderation_unavailable`): nothing unchecked is ever seen. The
    /// default: an app that set a hook asked for every message to pass it.
    #[default]
    Closed,
}

impl Fail {
    pub fn parse(raw: &str) -> Option<Fail> {
        match raw.trim() {
            "open" => Some(Fail::Open),
            "closed" => Some(Fail::Closed),
            _ => None,
        }
    }
}

/// What is asked about: a new message (socket or API) or an edit of message `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    Message { reply_to: Option<u64> },
    Edit { seq: u64 },
}

#[derive(Serialize)]
struct Question<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    room: &'a str,
    from: &'a User,
    text: &'a str,
    /// The client's idempotency id: a retry of the same message is asked with the same id.
    id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_to: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seq: Option<u64>,
    /// When the room received it (ms since the Unix epoch).
    at: u64,
}

/// The body the room POSTs about `text` from `from`.
pub fn question_body(
    asked: Asked,
    room: &str,
    from: &User,
    text: &str,
    id: Option<&str>,
    at: u64,
) -> String {
    let (kind, reply_to, seq) = match asked {
        Asked::Message { reply_to } => ("message", reply_to, None),
        Asked::Edit { seq } => ("edit", None, Some(seq)),
    };
    let question = Question {
        kind,
        room,
        from,
        text,
        id,
        reply_to,
        seq,
        at,
    };
    serde_json::to_string(&question).unwrap_or_default()
}

/// The endpoint's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Reject {
        reason: String,
    },
    /// Store this text instead (checked like a client's).
    Replace {
        text: String,
    },
}

/// Why there is no verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No answer by the deadline.
    Timeout,
    /// The request failed before an answer (network, DNS, a refused connection).
    Network(String),
    /// An answer with a status other than 2xx.
    Status(u16),
    /// An answer over [`MAX_ANSWER_BYTES`].
    TooLarge,
    /// An answer that is not a verdict.
    Malformed(String),
}

impl Failure {
    /// The failure in a few words, for the room's info and the log.
    pub fn describe(&self) -> String {
        match self {
            Failure::Timeout => "no answer in time".to_string(),
            Failure::Network(e) => format!("request failed: {e}"),
            Failure::Status(s) => format!("answered HTTP {s}"),
            Failure::TooLarge => format!("answer over {MAX_ANSWER_BYTES} bytes"),
            Failure::Malformed(why) => format!("not a verdict: {why}"),
        }
    }
}

#[derive(Deserialize)]
struct Answer {
    action: Option<String>,
    reason: Option<String>,
    text: Option<String>,
}

/// The verdict in an answer with HTTP `status` and `body` (read up to [`MAX_ANSWER_BYTES`] + 1).
pub fn read_answer(status: u16, body: &str) -> Result<Verdict, Failure> {
    if !(200..=299).contains(&status) {
        return Err(Failure::Status(status));
    }
    if body.len() > MAX_ANSWER_BYTES {
        return Err(Failure::TooLarge);
    }
    let answer: Answer = serde_json::from_str(body)
        .map_err(|_| Failure::Malformed("not a JSON object with an \"action\"".into()))?;
    match answer.action.as_deref() {
        Some("allow") => Ok(Verdict::Allow),
        Some("reject") => {
            let reason = answer
                .reason
                .map(|r| r.trim().chars().take(MAX_REASON_CHARS).collect::<String>())
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| "the room's moderation refused this message".to_string());
            Ok(Verdict::Reject { reason })
        }
        Some("replace") => {
            let text = answer
                .text
                .ok_or_else(|| Failure::Malformed("replace without \"text\"".into()))?;
            validate::check_text(&text)
                .map_err(|p| Failure::Malformed(format!("replacement refused: {}", p.message)))?;
            Ok(Verdict::Replace { text })
        }
        _ => Err(Failure::Malformed(
            "\"action\" must be allow, reject or replace".into(),
        )),
    }
}

/// What happens to the frame, given the verdict or the failure and the room's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Stored as sent.
    Allow,
    /// Stored with this text instead.
    Replace(String),
    /// Refused: `rejected`, with the endpoint's reason.
    Reject(String),
    /// Refused: `moderation_unavailable` (a failure, under `MODERATION_FAIL=closed`).
    Unavailable(Failure),
}

pub fn decide(answer: Result<Verdict, Failure>, fail: Fail) -> Outcome {
    match (answer, fail) {
        (Ok(Verdict::Allow), _) | (Err(_), Fail::Open) => Outcome::Allow,
        (Ok(Verdict::Reject { reason }), _) => Outcome::Reject(reason),
        (Ok(Verdict::Replace { text }), _) => Outcome::Replace(text),
        (Err(failure), Fail::Closed) => Outcome::Unavailable(failure),
    }
}

impl Outcome {
    /// The refusal a client hears, if this outcome refuses.
    pub fn refusal(&self) -> Option<Problem> {
        match self {
            Outcome::Allow | Outcome::Replace(_) => None,
            Outcome::Reject(reason) => Some(Problem::new(ErrorCode::Rejected, reason.clone())),
            Outcome::Unavailable(_) => Some(Problem::new(
                ErrorCode::ModerationUnavailable,
                "this room checks every message before it is stored, and the check is not answering; try again",
            )),
        }
    }
}

/// The fingerprint of a text moderation replaced, kept with the stored message so that a retry of
/// the text as sent is known as the same message (and never asked about, nor stored, twice). A
/// SHA-256 prefix: the text itself must not be kept (it was replaced for a reason).
pub fn fingerprint(text: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(text.as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_verdicts_are_read() {
        assert_eq!(
            read_answer(200, r#"{"action":"allow"}"#),
            Ok(Verdict::Allow)
        );
        assert_eq!(
            read_answer(200, r#"{"action":"reject","reason":" spam "}"#),
            Ok(Verdict::Reject {
                reason: "spam".into()
            })
        );
        assert_eq!(
            read_answer(201, r#"{"action":"replace","text":"***","extra":1}"#),
            Ok(Verdict::Replace { text: "***".into() })
        );
        let Ok(Verdict::Reject { reason }) = read_answer(200, r#"{"action":"reject"}"#) else {
            panic!("a reject without a reason is still a reject");
        };
        assert!(!reason.is_empty());
    }

    #[test]
    fn anything_else_is_a_failure() {
        assert_eq!(
            read_answer(500, r#"{"action":"allow"}"#),
            Err(Failure::Status(500))
        );
        assert_eq!(read_answer(302, ""), Err(Failure::Status(302)));
        for body in [
            "",
            "allow",
            "[]",
            r#"{"action":"maybe"}"#,
            r#"{"action":5}"#,
            r#"{"verdict":"allow"}"#,
            r#"{"action":"replace"}"#,
            r#"{"action":"replace","text":"  "}"#,
        ] {
            assert!(
                matches!(read_answer(200, body), Err(Failure::Malformed(_))),
                "{body:?}"
            );
        }
        let huge = format!(
            r#"{{"action":"allow","pad":"{}"}}"#,
            "x".repeat(MAX_ANSWER_BYTES)
        );
        assert_eq!(read_answer(200, &huge), Err(Failure::TooLarge));
        let long = "é".repeat(validate::MAX_TEXT_CHARS + 1);
        let body = serde_json::json!({"action": "replace", "text": long}).to_string();
        assert!(matches!(
            read_answer(200, &body),
            Err(Failure::Malformed(_))
        ));
    }

    #[test]
    fn a_reason_is_kept_short() {
        let body = serde_json::json!({"action": "reject", "reason": "r".repeat(1000)}).to_string();
        let Ok(Verdict::Reject { reason }) = read_answer(200, &body) else {
            panic!("a reject");
        };
        assert_eq!(reason.chars().count(), MAX_REASON_CHARS);
    }

    #[test]
    fn the_policy_decides_what_a_failure_means() {
        assert_eq!(decide(Err(Failure::Timeout), Fail::Open), Outcome::Allow);
        assert_eq!(
            decide(Err(Failure::Timeout), Fail::Closed),
            Outcome::Unavailable(Failure::Timeout)
        );
        assert_eq!(decide(Ok(Verdict::Allow), Fail::Closed), Outcome::Allow);
        let rejected = decide(
            Ok(Verdict::Reject {
                reason: "no".into(),
            }),
            Fail::Open,
        );
        assert_eq!(rejected.refusal().unwrap().code, ErrorCode::Rejected);
        assert_eq!(
            decide(Err(Failure::Status(503)), Fail::Closed)
                .refusal()
                .unwrap()
                .code,
            ErrorCode::ModerationUnavailable
        );
        assert_eq!(Fail::parse("open"), Some(Fail::Open));
        assert_eq!(Fail::parse("closed"), Some(Fail::Closed));
        assert_eq!(Fail::parse("sometimes"), None);
        assert_eq!(Fail::default(), Fail::Closed);
    }

    #[test]
    fn a_question_says_what_who_and_where() {
        let ann = User {
            id: "c1".into(),
            name: "ann".into(),
            uid: Some("u-ann".into()),
        };
        let body = question_body(
            Asked::Message { reply_to: Some(3) },
            "lobby",
            &ann,
            "hi",
            Some("m1"),
            7,
        );
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["type"], "message");
        assert_eq!(v["room"], "lobby");
        assert_eq!(v["from"]["uid"], "u-ann");
        assert_eq!(v["text"], "hi");
        assert_eq!(v["id"], "m1");
        assert_eq!(v["reply_to"], 3);
        assert!(v.get("seq").is_none());
        let v: serde_json::Value = serde_json::from_str(&question_body(
            Asked::Edit { seq: 9 },
            "lobby",
            &ann,
            "hi!",
            None,
            8,
        ))
        .unwrap();
        assert_eq!(v["type"], "edit");
        assert_eq!(v["seq"], 9);
    }

    #[test]
    fn fingerprints_tell_texts_apart_without_keeping_them() {
        assert_eq!(fingerprint("abc"), fingerprint("abc"));
        assert_ne!(fingerprint("abc"), fingerprint("abd"));
        assert_eq!(fingerprint("abc").len(), 32);
        assert!(!fingerprint("secret words").contains("secret"));
    }
}
