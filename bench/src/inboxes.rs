//! The inboxes of a run (`--inboxes`, issue 28): every client also holds its person's inbox socket
//! (`/ws/me`), and the run measures how long after a message's `ack` each inbox hears of it — the
//! `entry` frame whose `last_seq` first reaches the message's `seq`. Rooms tell inboxes at most once a
//! second, so one frame covers every message since the last one; each (inbox, message) pair counts
//! once, from its message's ack to the frame. One clock: the run's.

use std::time::Duration;

use futures_util::stream::SplitStream;
use futures_util::StreamExt;
use tokio::sync::{watch, Semaphore};
use tokio::time::timeout;
use tokio_tungstenite::connect_async_with_config;
use tokio_tungstenite::tungstenite::Message;

use crate::run::Ws;
use crate::stats::Percentiles;

/// The key of client `i` of a run whose keys start with `prefix` (16 characters or more, as the
/// server wants).
pub fn key(prefix: &str, i: usize) -> String {
    format!("{prefix}{i:06}")
}

/// Opens the inbox socket of every key, `concurrency` at a time, each once its snapshot came.
pub async fn open(ws_base: &str, keys: &[String], concurrency: usize) -> Result<Vec<Ws>, String> {
    let gate = std::sync::Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = Vec::with_capacity(keys.len());
    for k in keys {
        let url = format!("{ws_base}/ws/me?key={k}");
        let gate = gate.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await;
            let (mut ws, _) = timeout(
                Duration::from_secs(30),
                connect_async_with_config(&url, None, true),
            )
            .await
            .map_err(|_| format!("{url}: connect timed out"))?
            .map_err(|e| format!("{url}: {e}"))?;
            loop {
                match timeout(Duration::from_secs(30), ws.next()).await {
                    Ok(Some(Ok(Message::Text(t)))) if t.starts_with(r#"{"type":"inbox""#) => {
                        return Ok(ws)
                    }
                    Ok(Some(Ok(_))) => continue,
                    _ => return Err(format!("{url}: no snapshot")),
                }
            }
        }));
    }
    let mut sockets = Vec::with_capacity(keys.len());
    for t in tasks {
        sockets.push(t.await.map_err(|e| e.to_string())??);
    }
    Ok(sockets)
}

/// An inbox's `entry` frames until told to stop: (room, last_seq, when), for the rooms named
/// `{prefix}-{k}` (k is the room's index).
pub async fn read(
    mut stream: SplitStream<Ws>,
    prefix: String,
    clock: std::time::Instant,
    mut stop: watch::Receiver<bool>,
) -> Vec<(usize, u64, u64)> {
    let mut seen = Vec::new();
    loop {
        let frame = tokio::select! {
            biased;
            _ = stop.changed() => break,
            frame = stream.next() => frame,
        };
        let text = match frame {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => break,
        };
        let now = clock.elapsed().as_micros() as u64;
        if let Some((room, last_seq)) = entry(&text, &prefix) {
            seen.push((room, last_seq, now));
        }
    }
    seen
}

/// The room index and `last_seq` of an `entry` frame for one of the run's rooms.
fn entry(frame: &str, prefix: &str) -> Option<(usize, u64)> {
    let v: serde_json::Value = serde_json::from_str(frame).ok()?;
    if v["type"] != "entry" {
        return None;
    }
    let room = v["entry"]["room"]
        .as_str()?
        .strip_prefix(prefix)?
        .strip_prefix('-')?;
    Some((room.parse().ok()?, v["entry"]["last_seq"].as_u64()?))
}

/// From each message's ack (room, seq, when) and each inbox's frames, the latency from the ack to
/// the first frame of each inbox that shows the message (ms percentiles), and how many frames came.
pub fn latencies(
    acks: &[(usize, u64, u64)],
    inboxes: &[Vec<(usize, u64, u64)>],
) -> (Percentiles, u64) {
    let acked: std::collections::HashMap<(usize, u64), u64> = acks
        .iter()
        .map(|&(room, seq, at)| ((room, seq), at))
        .collect();
    let mut samples = Vec::new();
    let mut frames = 0;
    for seen in inboxes {
        let mut shown: std::collections::HashMap<usize, u64> = std::collections::HashMap::new();
        for &(room, last_seq, at) in seen {
            frames += 1;
            let from = shown.insert(room, last_seq).unwrap_or(0);
            for seq in from + 1..=last_seq {
                if let Some(&acked_at) = acked.get(&(room, seq)) {
                    samples.push(at.saturating_sub(acked_at).min(u32::MAX as u64) as u32);
                }
            }
        }
    }
    (Percentiles::of(&mut samples), frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_covers_every_message_since_the_last_one() {
        let acks = [(0, 1, 1_000), (0, 2, 2_000), (0, 3, 3_000)];
        let inbox = vec![(0, 2, 2_500), (0, 3, 4_000)];
        let (p, frames) = latencies(&acks, &[inbox]);
        assert_eq!(frames, 2);
        assert_eq!(p.n, 3);
        assert_eq!(p.max, 1.5, "seq 1: 1.5 ms after its ack");
        assert_eq!(
            entry(
                r#"{"type":"entry","entry":{"room":"r-3","last_seq":9}}"#,
                "r"
            ),
            Some((3, 9))
        );
        assert_eq!(entry(r#"{"type":"inbox","rooms":[]}"#, "r"), None);
        assert_eq!(key("abcdefghijkl", 7), "abcdefghijkl000007");
    }
}
