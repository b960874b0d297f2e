//! Webhooks: what a room tells the app's backend, and the rules for getting it there.
//!
//! A change (a message stored, edited, deleted, reacted to) becomes an event body — JSON, built once
//! here — which the Durable Object writes into an *outbox* table in the same turn as the change, so the
//! two commit together: no acknowledged message without its event, and no event for a message that was
//! never stored. A Durable Object alarm then POSTs the outbox to `WEBHOOK_URL` and deletes what the
//! receiver accepted (any 2xx). Delivery is at least once: an event whose POST failed, timed out or was
//! cut short by a restart is sent again, with the same `event_id`, so a receiver dedupes on it.
//!
//! The room never waits for the receiver: chat goes on whatever the receiver does, and the outbox is
//! bounded ([`MAX_OUTBOX`] events, none older than [`MAX_AGE_MS`]; the oldest are dropped and counted).
//! While the receiver fails, the whole queue backs off ([`backoff_ms`]), so a receiver that is down
//! gets one small batch per interval, not every event's retries at once.
//!
//! Signing follows Stripe and Slack: `X-Edge-Chat-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
//! "<t>.<raw body>" under WEBHOOK_SECRET>`. The timestamp is signed too, so a receiver can refuse
//! replays older than a few minutes (docs/API.md shows how to verify).

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::domain::{ChatMessage, User};
use crate::moderation::Record;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Edge-Chat-Signature";
/// At most this many undelivered events per room; beyond it the oldest are dropped (and counted).
pub const MAX_OUTBOX: u64 = 10_000;
/// An event not delivered within three days (Stripe's retry window) is dropped (and counted).
pub const MAX_AGE_MS: u64 = 3 * 24 * 60 * 60 * 1000;
/// Events POSTed at once per delivery round.
pub const BATCH: usize = 8;
/// A POST that has not answered by then counts as failed (and is retried).
pub const TIMEOUT_MS: u64 = 10_000;
/// The longest wait between two attempts while the receiver keeps failing.
pub const MAX_BACKOFF_MS: u64 = 10 * 60 * 1000;

/// What happened, as the `type` of the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    MessageCreated,
    MessageUpdated,
    MessageDeleted,
    ReactionAdded,
    ReactionRemoved,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::MessageCreated => "message.created",
            EventKind::MessageUpdated => "message.updated",
            EventKind::MessageDeleted => "message.deleted",
            EventKind::ReactionAdded => "reaction.added",
            EventKind::ReactionRemoved => "reaction.removed",
        }
    }
}

/// Who reacted with what (reaction events only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ReactionChange<'a> {
    pub emoji: &'a str,
    pub user: &'a User,
}

#[derive(Serialize)]
struct Event<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    event_id: String,
    room: &'a str,
    /// When the change happened (ms since the Unix epoch, like every time in the protocol).
    at: u64,
    /// The message as it stands after the change (a tombstone once deleted).
    message: &'a ChatMessage,
    #[serde(skip_serializing_if = "Option::is_none")]
    reaction: Option<ReactionChange<'a>>,
}

/// The id of the event for the change that took the room to revision `rev`: every change has its own
/// `rev`, so the id is unique in the room and the same on every retry.
pub fn event_id(room: &str, rev: u64) -> String {
    format!("{room}/{rev}")
}

/// The JSON body of an event; `message.rev` names the change (and orders a message's events).
pub fn event_body(
    kind: EventKind,
    room: &str,
    message: &ChatMessage,
    at: u64,
    reaction: Option<ReactionChange<'_>>,
) -> String {
    let event = Event {
        kind: kind.as_str(),
        event_id: event_id(room, message.rev),
        room,
        at,
        message,
        reaction,
    };
    // Serializing plain structs of strings and numbers cannot fail.
    serde_json::to_string(&event).unwrap_or_default()
}

/// The JSON body of a moderation event (`member.banned`, `member.unbanned`, `member.kicked`,
/// `member.muted`, `member.unmuted`, `member.purged`, `room.retention`, `room.blocklist`, `room.slow_mode`,
/// `room.identity`): the record says who did what to whom. Its id
/// names the moderation log entry (`<room>/mod-<n>`), unique in the room like a change's `rev`.
pub fn moderation_body(room: &str, record: &Record, log_id: u64) -> String {
    let kind = match record.action {
        "ban" => "member.banned",
        "unban" => "member.unbanned",
        "kick" => "member.kicked",
        "mute" => "member.muted",
        "unmute" => "member.unmuted",
        "retention" => "room.retention",
        "block" | "unblock" => "room.blocklist",
        "purge" => "member.purged",
        "slow_mode" => "room.slow_mode",
        "require_identity" | "allow_anonymous" => "room.identity",
        // An action added later without its own event type still reaches the app, named as such.
        _ => "room.moderation",
    };
    serde_json::json!({
        "type": kind,
        "event_id": format!("{room}/mod-{log_id}"),
        "room": room,
        "at": record.at,
        "moderation": record,
    })
    .to_string()
}

/// The `X-Edge-Chat-Signature` value for `body` sent at `t` (unix seconds).
pub fn signature(secret: &str, t: u64, body: &str) -> String {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail; the fallback keeps it total.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| Hmac::<Sha256>::new(&Default::default()));
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let digest = mac.finalize().into_bytes();
    let mut hex = String::with_capacity(64);
    for b in digest {
        hex.push_str(&format!("{b:02x}"));
    }
    format!("t={t},v1={hex}")
}

/// Whether a POST's outcome means the receiver has the event: any 2xx. Everything else — another
/// status, a timeout, a network error (`None`) — is retried; a receiver answering 4xx by mistake gets
/// its events once it is fixed, within the outbox's bounds.
pub fn delivered(status: Option<u16>) -> bool {
    matches!(status, Some(200..=299))
}

/// How long the queue waits after `failures` failed rounds in a row (1 or more): 1 s, 2 s, 4 s, …,
/// at most [`MAX_BACKOFF_MS`], less up to a fifth at random (`jitter` in 0..1) so that rooms which
/// failed together do not all retry together.
pub fn backoff_ms(failures: u32, jitter: f64) -> u64 {
    let base = 1000u64
        .saturating_mul(1u64 << failures.saturating_sub(1).min(20))
        .min(MAX_BACKOFF_MS);
    let jitter = jitter.clamp(0.0, 1.0);
    base - (base as f64 * 0.2 * jitter) as u64
}

/// What the outbox must drop before taking more: `(expired_before, over)` — events created before
/// `expired_before` (ms) are too old, and the `over` oldest of the rest exceed [`MAX_OUTBOX`].
pub fn overflow(pending: u64, now_ms: u64) -> (u64, u64) {
    (
        now_ms.saturating_sub(MAX_AGE_MS),
        pending.saturating_sub(MAX_OUTBOX),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> ChatMessage {
        ChatMessage {
            rev: 7,
            ..ChatMessage::new(
                3,
                Some("c1".into()),
                User {
                    id: "conn".into(),
                    name: "ana".into(),
                    uid: Some("u".repeat(22)),
                },
                "hi <b>".into(),
                1_700_000_000_000,
            )
        }
    }

    #[test]
    fn each_moderation_action_has_its_own_event_type() {
        let by = message().from;
        for (action, kind) in [
            ("ban", "member.banned"),
            ("purge", "member.purged"),
            ("slow_mode", "room.slow_mode"),
            ("require_identity", "room.identity"),
            ("allow_anonymous", "room.identity"),
            ("block", "room.blocklist"),
        ] {
            let record = Record {
                action,
                ..Record::deletion(None, 1, None, &by, 5)
            };
            let v: serde_json::Value =
                serde_json::from_str(&moderation_body("lobby", &record, 2)).unwrap();
            assert_eq!(v["type"], kind, "{action}");
            assert_eq!(v["moderation"]["action"], action);
        }
    }

    #[test]
    fn an_event_names_its_change_room_and_message() {
        let body = event_body(EventKind::MessageCreated, "lobby", &message(), 5, None);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["type"], "message.created");
        assert_eq!(v["event_id"], "lobby/7");
        assert_eq!(v["room"], "lobby");
        assert_eq!(v["at"], 5);
        assert_eq!(v["message"]["seq"], 3);
        assert_eq!(v["message"]["text"], "hi <b>");
        assert!(v.get("reaction").is_none());
    }

    #[test]
    fn a_reaction_event_says_who_reacted_with_what() {
        let m = message();
        let body = event_body(
            EventKind::ReactionRemoved,
            "lobby",
            &m,
            5,
            Some(ReactionChange {
                emoji: "👍",
                user: &m.from,
            }),
        );
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["type"], "reaction.removed");
        assert_eq!(v["reaction"]["emoji"], "👍");
        assert_eq!(v["reaction"]["user"]["name"], "ana");
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_time_dot_body() {
        // Node: crypto.createHmac('sha256','whsec').update('1700000000.{"a":1}').digest('hex')
        assert_eq!(
            signature("whsec", 1_700_000_000, r#"{"a":1}"#),
            "t=1700000000,v1=8ad37ba156048ae0e0a5533c75cdf26fee88b07f93cb57ee4c80adb053012032"
        );
    }

    #[test]
    fn only_2xx_counts_as_delivered() {
        assert!(delivered(Some(200)));
        assert!(delivered(Some(204)));
        assert!(!delivered(Some(301)));
        assert!(!delivered(Some(400)));
        assert!(!delivered(Some(500)));
        assert!(!delivered(None));
    }

    #[test]
    fn backoff_doubles_up_to_its_cap_and_jitter_only_shortens_it() {
        assert_eq!(backoff_ms(1, 0.0), 1000);
        assert_eq!(backoff_ms(2, 0.0), 2000);
        assert_eq!(backoff_ms(5, 0.0), 16_000);
        assert_eq!(backoff_ms(40, 0.0), MAX_BACKOFF_MS);
        assert_eq!(backoff_ms(1, 1.0), 800);
        assert!(backoff_ms(3, 0.5) < backoff_ms(3, 0.0));
        assert_eq!(backoff_ms(0, 0.0), 1000);
    }

    #[test]
    fn the_outbox_drops_the_too_old_and_the_too_many() {
        let now = MAX_AGE_MS + 10;
        assert_eq!(overflow(5, now), (10, 0));
        assert_eq!(overflow(MAX_OUTBOX + 3, now), (10, 3));
        assert_eq!(overflow(0, 5), (0, 0));
    }
}
