//! What a notification says, before it is encrypted: a small JSON object the page's service worker
//! (`public/sw.js`) turns into a notification, and the `Topic` under which a push service keeps only
//! the newest undelivered push of a room (RFC 8030 §5.4), so a phone that was off shows one
//! notification per room, not a pile.
//!
//! ```json
//! {"room":"design","seq":42,"kind":"mention","from":"Ann","text":"@bo can you look?","unread":3,
//!  "url":"/#room=design&msg=42"}
//! ```

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::policy::Reason;

/// The longest text preview, in characters (the issue's 140; a lock screen shows fewer).
pub const PREVIEW_CHARS: usize = 140;

/// One notification's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub room: String,
    pub seq: u64,
    /// Why it was sent: `dm`, `mention`, `thread` or `message`.
    pub kind: Reason,
    /// The sender's display name.
    pub from: String,
    /// The message's first [`PREVIEW_CHARS`] characters; absent for a private room when the
    /// deployment says `PUSH_PREVIEW=0`.
    pub text: Option<String>,
    /// The person's unread messages in this room when it was sent.
    pub unread: u64,
    /// Opens the room at the message, relative to the page's origin.
    pub url: String,
}

impl Notification {
    /// The notification for message `seq` of `room`, its preview cut to [`PREVIEW_CHARS`] and left
    /// out when `preview` is false.
    pub fn new(
        room: &str,
        seq: u64,
        kind: Reason,
        from: &str,
        text: &str,
        unread: u64,
        preview: bool,
    ) -> Notification {
        let text = preview.then(|| cut(text));
        // A room's name is a `RoomName` (A-Z a-z 0-9 _ . -): nothing in it needs escaping in a URL.
        let url = format!("/#room={room}&msg={seq}");
        Notification {
            room: room.to_string(),
            seq,
            kind,
            from: from.to_string(),
            text,
            unread,
            url,
        }
    }

    /// The JSON the service worker receives, written by hand (no derived serializer in the wasm).
    pub fn to_json(&self) -> String {
        let mut json = String::with_capacity(128 + self.text.as_ref().map_or(0, String::len));
        json.push_str("{\"room\":");
        quoted(&mut json, &self.room);
        json.push_str(",\"seq\":");
        json.push_str(&self.seq.to_string());
        json.push_str(",\"kind\":\"");
        json.push_str(self.kind.as_str());
        json.push_str("\",\"from\":");
        quoted(&mut json, &self.from);
        if let Some(text) = &self.text {
            json.push_str(",\"text\":");
            quoted(&mut json, text);
        }
        json.push_str(",\"unread\":");
        json.push_str(&self.unread.to_string());
        json.push_str(",\"url\":");
        quoted(&mut json, &self.url);
        json.push('}');
        json
    }
}

/// The `Topic` header for a room's pushes: 32 characters of the URL-safe base64 alphabet (RFC 8030
/// §5.4 allows no more), from a hash so any room name fits and none is revealed to the push service.
pub fn topic(room: &str) -> String {
    let digest = Sha256::digest(room.as_bytes());
    URL_SAFE_NO_PAD.encode(digest)[..32].to_string()
}

/// `text` as a JSON string, escaped.
fn quoted(json: &mut String, text: &str) {
    json.push_str(&serde_json::Value::from(text).to_string());
}

/// The first [`PREVIEW_CHARS`] characters, with an ellipsis when something was cut.
fn cut(text: &str) -> String {
    match text.char_indices().nth(PREVIEW_CHARS) {
        None => text.to_string(),
        Some((at, _)) => format!("{}…", &text[..at]),
    }
}

#[cfg(test)]
mod tests {
    use super::super::encryption::MAX_PLAINTEXT;
    use super::*;
    use crate::validate::MAX_TEXT_CHARS;

    #[test]
    fn the_preview_is_cut_at_140_characters_not_bytes() {
        let long = "é".repeat(300);
        let n = Notification::new("r", 1, Reason::Message, "Ann", &long, 1, true);
        let text = n.text.unwrap();
        assert_eq!(text.chars().count(), PREVIEW_CHARS + 1);
        assert!(text.ends_with('…'));
        let short = Notification::new("r", 1, Reason::Message, "Ann", "hi", 1, true);
        assert_eq!(short.text.as_deref(), Some("hi"));
    }

    #[test]
    fn without_preview_no_text_is_sent() {
        let n = Notification::new("secret", 7, Reason::Dm, "Ann", "the plan", 2, false);
        let json = n.to_json();
        assert!(!json.contains("the plan"), "{json}");
        assert!(json.contains(r#""kind":"dm""#), "{json}");
    }

    #[test]
    fn the_json_says_every_field_and_escapes_text() {
        let n = Notification::new("r", 9, Reason::Mention, "A \"B\"", "x\ny\\", 3, true);
        let json: serde_json::Value = serde_json::from_str(&n.to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"room":"r","seq":9,"kind":"mention","from":"A \"B\"",
                "text":"x\ny\\","unread":3,"url":"/#room=r&msg=9"})
        );
    }

    #[test]
    fn the_url_opens_the_room_at_the_message() {
        let n = Notification::new("design-2.b_c", 42, Reason::Mention, "Ann", "x", 1, true);
        assert_eq!(n.url, "/#room=design-2.b_c&msg=42");
    }

    #[test]
    fn the_largest_notification_fits_one_push() {
        let n = Notification::new(
            &"r".repeat(64),
            u64::MAX,
            Reason::Thread,
            &"\u{1F600}".repeat(64),
            &"\u{1F600}".repeat(MAX_TEXT_CHARS),
            u64::MAX,
            true,
        );
        assert!(n.to_json().len() <= MAX_PLAINTEXT, "{}", n.to_json().len());
    }

    #[test]
    fn topics_are_32_url_safe_characters_per_room() {
        let t = topic("design");
        assert_eq!(t.len(), 32);
        assert!(t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(t, topic("design"));
        assert_ne!(t, topic("design2"));
    }
}
