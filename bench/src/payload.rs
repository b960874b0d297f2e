//! What the load generator puts on the wire and how it reads it back. Each chat message carries its
//! sender's number, a per-sender counter and the send time (microseconds on the generator's one
//! clock) in its `text`, so the same measurement works against edge-chat (which re-frames the text in
//! a `message` frame with `seq`, `from`, `ts`) and against the baseline relay (which forwards the
//! client's frame unchanged). The client `id` carries the same stamp, so edge-chat's `ack` can be timed.

use crate::features::Extra;

/// The identity and send time of one chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub sender: u32,
    pub counter: u64,
    pub sent_us: u64,
}

/// A frame as the generator sees it.
#[derive(Debug, PartialEq, Eq)]
pub enum Seen {
    /// A relayed chat message that one of our senders wrote.
    Message(Stamp),
    /// edge-chat's acknowledgement of one of our messages.
    Ack(Stamp),
    /// An `error` frame (rate limit, refused, ...): counted, never expected.
    Error,
    /// Anything else (`welcome`, `join`, `leave`, `pong`): ignored.
    Other,
}

const TEXT_PREFIX: &str = "\"text\":\"bench:";
const ID_PREFIX: &str = "\"id\":\"b";

/// The client frame for message `counter` of `sender`, its text padded to `size` bytes, replying in a
/// thread and mentioning someone as `extra` says (after the stamp, so the text still starts with it).
pub fn message_frame(stamp: Stamp, size: usize, extra: &Extra) -> String {
    let Stamp {
        sender,
        counter,
        sent_us,
    } = stamp;
    let mut text = format!("bench:{sender}:{counter}:{sent_us}:");
    if let Some(name) = &extra.mention {
        text.push_str(&format!(" @{name} "));
    }
    while text.len() < size {
        text.push('x');
    }
    let thread = extra
        .thread
        .map_or(String::new(), |seq| format!(r#","thread":{seq}"#));
    format!(r#"{{"type":"message","text":"{text}","id":"b{sender}.{counter}.{sent_us}"{thread}}}"#)
}

/// Reads a server frame without a full JSON parse: the generator shares the CPU with the server, so
/// it looks only for the frame's type and the stamp.
pub fn classify(frame: &str) -> Seen {
    if frame.starts_with(r#"{"type":"message""#) {
        return after(frame, TEXT_PREFIX)
            .and_then(|rest| parse_stamp(rest, ':'))
            .map_or(Seen::Other, Seen::Message);
    }
    if frame.starts_with(r#"{"type":"ack""#) {
        return after(frame, ID_PREFIX)
            .and_then(|rest| parse_stamp(rest, '.'))
            .map_or(Seen::Other, Seen::Ack);
    }
    if frame.starts_with(r#"{"type":"error""#) {
        return Seen::Error;
    }
    Seen::Other
}

/// The `seq` an `ack` frame acknowledges.
pub fn ack_seq(frame: &str) -> Option<u64> {
    number(after(frame, "\"seq\":")?).map(|(seq, _)| seq)
}

const BATCH_PREFIX: &str = r#"{"type":"batch","frames":["#;

/// The frames a WebSocket frame holds: the elements of a `batch` frame (edge-chat with `batch=1`), or
/// the frame itself. The elements are split by tracking brace depth outside JSON strings, without a
/// full parse; a malformed batch yields what could be split (the rest is not counted, so it shows as
/// loss rather than passing unseen).
pub fn unpack(frame: &str) -> Vec<&str> {
    let Some(body) = frame.strip_prefix(BATCH_PREFIX) else {
        return vec![frame];
    };
    let mut out = Vec::new();
    let (mut depth, mut start, mut in_string, mut escaped) = (0usize, None, false, false);
    for (i, b) in body.bytes().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' => {
                if depth == 0 {
                    start = Some(i);
                }
                depth += 1;
            }
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    if let Some(s) = start.take() {
                        out.push(&body[s..=i]);
                    }
                }
            }
            b']' if depth == 0 => break,
            _ => {}
        }
    }
    out
}

fn after<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    s.find(prefix).map(|i| &s[i + prefix.len()..])
}

/// `sender<sep>counter<sep>sent_us` followed by anything that is not a digit.
fn parse_stamp(s: &str, sep: char) -> Option<Stamp> {
    let (sender, rest) = number(s)?;
    let rest = rest.strip_prefix(sep)?;
    let (counter, rest) = number(rest)?;
    let rest = rest.strip_prefix(sep)?;
    let (sent_us, _) = number(rest)?;
    Some(Stamp {
        sender: u32::try_from(sender).ok()?,
        counter,
        sent_us,
    })
}

/// Whether a server frame is the `welcome`: alone (PROTOCOL.md), or first in a batch — what a
/// `batch=1` connection gets when it joins in the turn its room crosses the presence threshold.
pub fn is_welcome(frame: &str) -> bool {
    unpack(frame)
        .first()
        .is_some_and(|f| f.starts_with(r#"{"type":"welcome""#))
}

fn number(s: &str) -> Option<(u64, &str)> {
    let end = s
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(s.len());
    if end == 0 || end > 19 {
        return None;
    }
    Some((s[..end].parse().ok()?, &s[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAMP: Stamp = Stamp {
        sender: 7,
        counter: 42,
        sent_us: 123_456,
    };

    #[test]
    fn the_relay_forwards_our_own_frame_and_we_read_it_back() {
        let frame = message_frame(STAMP, 64, &Extra::default());
        assert_eq!(classify(&frame), Seen::Message(STAMP));
        assert!(frame.contains(&format!(
            "\"text\":\"{}\"",
            "bench:7:42:123456:".to_string() + &"x".repeat(64 - 18)
        )));
    }

    #[test]
    fn a_reply_that_mentions_keeps_the_stamp_first() {
        let extra = Extra {
            thread: Some(5),
            mention: Some("b3".into()),
        };
        let frame = message_frame(STAMP, 64, &extra);
        assert_eq!(classify(&frame), Seen::Message(STAMP));
        assert!(frame.contains(r#""text":"bench:7:42:123456: @b3 x"#));
        assert!(frame.ends_with(r#","thread":5}"#));
        assert!(!message_frame(STAMP, 64, &Extra::default()).contains("thread"));
    }

    #[test]
    fn edge_chat_message_and_ack_frames_carry_the_stamp() {
        let msg = r#"{"type":"message","seq":3,"id":"b7.42.123456","from":{"id":"ab","name":"b1"},"text":"bench:7:42:123456:xx","ts":1}"#;
        assert_eq!(classify(msg), Seen::Message(STAMP));
        let ack = r#"{"type":"ack","id":"b7.42.123456","seq":3,"ts":1}"#;
        assert_eq!(classify(ack), Seen::Ack(STAMP));
    }

    #[test]
    fn a_batch_is_split_into_its_frames_and_a_plain_frame_is_its_own() {
        let batch = r#"{"type":"batch","frames":[{"type":"ack","id":"b7.42.123456"},{"type":"message","text":"a } \" { ]","from":{"id":"x"}}]}"#;
        let frames = unpack(batch);
        assert_eq!(frames.len(), 2);
        assert_eq!(classify(frames[0]), Seen::Ack(STAMP));
        assert!(frames[1].ends_with(r#"{"id":"x"}}"#));
        assert_eq!(unpack("pong"), vec!["pong"]);
    }

    #[test]
    fn a_welcome_is_read_alone_or_first_in_a_batch() {
        assert!(is_welcome(r#"{"type":"welcome","room":"r"}"#));
        assert!(is_welcome(
            r#"{"type":"batch","frames":[{"type":"welcome","room":"r"},{"type":"presence","online":101}]}"#
        ));
        assert!(!is_welcome(
            r#"{"type":"batch","frames":[{"type":"presence","online":101},{"type":"welcome"}]}"#
        ));
        assert!(!is_welcome(
            r#"{"type":"message","text":"{\"type\":\"welcome\"}"}"#
        ));
    }

    #[test]
    fn other_frames_are_ignored_and_errors_counted() {
        assert_eq!(classify(r#"{"type":"welcome","room":"r"}"#), Seen::Other);
        assert_eq!(classify("pong"), Seen::Other);
        assert_eq!(
            classify(r#"{"type":"message","text":"hello"}"#),
            Seen::Other
        );
        assert_eq!(
            classify(r#"{"type":"error","code":"rate_limited","message":"","id":null}"#),
            Seen::Error
        );
    }
}
