//! What a message carries in the feature scenarios of `make bench` (bench/features/): a thread to
//! reply in (`--thread`: the first client of each room posts a root before the run, every message
//! of the run is a reply to it) and a person to mention (`--mention`: every client has an identity,
//! its key offered in the handshake, and each message names the next client of its room by `@name`).

use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;

use crate::run::Ws;

/// Beyond its stamp, what a message of one sender carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extra {
    /// The `seq` of the root the message replies to.
    pub thread: Option<u64>,
    /// A name the text mentions (`@name`).
    pub mention: Option<String>,
}

/// The identity key of client `i` of a run whose rooms start with `prefix` (a run's prefix is its
/// own, so its people are too): 16–128 characters of `A-Z a-z 0-9 _ -`, as keys are.
pub fn key(prefix: &str, i: usize) -> String {
    format!("{prefix}-person-{i:06}")
}

/// The `Sec-WebSocket-Protocol` offer that carries `key` (PROTOCOL.md, *Credentials out of the URL*).
pub fn key_offer(key: &str) -> String {
    format!("edge-chat, key.{key}")
}

/// Posts a thread's root from `ws` (a client that has its welcome) and returns its `seq`, from the
/// ack; the other frames it meets meanwhile are dropped (nothing of the run is under way yet).
pub async fn post_root(ws: &mut Ws) -> Result<u64, String> {
    ws.send(Message::text(
        r#"{"type":"message","text":"a thread's root","id":"root"}"#,
    ))
    .await
    .map_err(|e| format!("root: {e}"))?;
    let seq = timeout(Duration::from_secs(30), async {
        while let Some(Ok(frame)) = ws.next().await {
            if let Message::Text(t) = frame {
                for f in crate::payload::unpack(&t) {
                    if let Some(seq) = ack_of_root(f) {
                        return Some(seq);
                    }
                }
            }
        }
        None
    })
    .await;
    seq.ok()
        .flatten()
        .ok_or_else(|| "no ack for the thread's root".to_string())
}

/// The seq an `ack` frame for the root gives.
fn ack_of_root(frame: &str) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_str(frame).ok()?;
    (v["type"] == "ack" && v["id"] == "root")
        .then(|| v["seq"].as_u64())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_what_the_server_accepts_and_the_root_ack_is_read() {
        let k = key("bench-1234-567890", 7);
        assert!((16..=128).contains(&k.len()));
        assert!(k
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_ne!(k, key("bench-1234-567890", 8));
        assert_eq!(key_offer("abc"), "edge-chat, key.abc");
        assert_eq!(
            ack_of_root(r#"{"type":"ack","id":"root","seq":12,"ts":1}"#),
            Some(12)
        );
        assert_eq!(
            ack_of_root(r#"{"type":"ack","id":"b1.2.3","seq":12}"#),
            None
        );
        assert_eq!(ack_of_root("pong"), None);
    }
}
