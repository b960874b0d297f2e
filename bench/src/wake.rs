//! Scenario D, wake-up: how long the first message into a room takes when the room's Durable Object
//! has hibernated. `tries` rooms with two clients each are opened together and left idle past the
//! runtime's hibernation window (~10 s of no events under workerd); then one message goes into each
//! room in turn, so every try meets a sleeping object and the tries do not queue behind each other.
//! Whether the object really was rebuilt is checked with `GET /api/rooms/{room}` (its `instance`
//! changes on every construction; both servers answer it), read before the idle and after the wake.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{sleep, timeout};
use tokio_tungstenite::tungstenite::Message;

use crate::payload::{classify, message_frame, Seen, Stamp};
use crate::run::connect;
use crate::stats::Percentiles;
use crate::Target;

#[derive(Debug, Serialize)]
pub struct WakeOutcome {
    pub tries: usize,
    pub idle_s: u64,
    /// Tries whose object was re-constructed (it had hibernated).
    pub woke: usize,
    pub failed: usize,
    /// First message into a hibernated room, send → receipt.
    pub wake_ms: Percentiles,
    /// The next message into the same, now awake, room.
    pub warm_ms: Percentiles,
}

pub async fn wake(
    target: &Target,
    tries: usize,
    idle: Duration,
    prefix: &str,
) -> Result<WakeOutcome, String> {
    let clock = std::time::Instant::now();
    let mut rooms = Vec::with_capacity(tries);
    for k in 0..tries {
        let room = format!("{prefix}-{k}");
        let (a, _, _) = connect(&format!("{}/ws/{room}?name=a", target.ws_base)).await?;
        let (b, _, _) = connect(&format!("{}/ws/{room}?name=b", target.ws_base)).await?;
        let before = instance(target, &room).await;
        rooms.push((room, a, b, before));
    }
    eprintln!(
        "wake: {tries} rooms open; idle for {} s so that their objects hibernate",
        idle.as_secs()
    );
    sleep(idle).await;
    let (mut wake_us, mut warm_us) = (Vec::new(), Vec::new());
    let (mut woke, mut failed) = (0, 0);
    for (k, (room, mut a, mut b, before)) in rooms.into_iter().enumerate() {
        for (counter, samples) in [(0u64, &mut wake_us), (1, &mut warm_us)] {
            let stamp = Stamp {
                sender: k as u32,
                counter,
                sent_us: clock.elapsed().as_micros() as u64,
            };
            if a.send(Message::text(message_frame(stamp, 64)))
                .await
                .is_err()
            {
                failed += 1;
                continue;
            }
            let got = timeout(Duration::from_secs(10), async {
                while let Some(Ok(frame)) = b.next().await {
                    if let Message::Text(t) = frame {
                        if classify(&t) == Seen::Message(stamp) {
                            return true;
                        }
                    }
                }
                false
            })
            .await;
            if got == Ok(true) {
                let took = clock.elapsed().as_micros() as u64 - stamp.sent_us;
                samples.push(took.min(u32::MAX as u64) as u32);
            } else {
                failed += 1;
            }
            if counter == 0 {
                let after = instance(target, &room).await;
                if before.is_some() && after.is_some() && before != after {
                    woke += 1;
                }
            }
        }
        let _ = a.close(None).await;
        let _ = b.close(None).await;
        sleep(Duration::from_millis(50)).await;
    }
    Ok(WakeOutcome {
        tries,
        idle_s: idle.as_secs(),
        woke,
        failed,
        wake_ms: Percentiles::of(&mut wake_us),
        warm_ms: Percentiles::of(&mut warm_us),
    })
}

/// The room object's `instance` (random per construction), from `GET /api/rooms/{room}`: a bare
/// HTTP/1.1 request, to keep an HTTP client out of the generator.
async fn instance(target: &Target, room: &str) -> Option<String> {
    let mut tcp = TcpStream::connect(&target.host).await.ok()?;
    let request = format!(
        "GET /api/rooms/{room} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        target.host
    );
    tcp.write_all(request.as_bytes()).await.ok()?;
    // Read only until the field is complete: `wrangler dev` may keep the connection open.
    let key = "\"instance\":\"";
    let mut body = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = timeout(Duration::from_secs(10), tcp.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&body);
        if let Some(at) = text.find(key) {
            let rest = &text[at + key.len()..];
            if let Some(end) = rest.find('"') {
                return Some(rest[..end].to_string());
            }
        }
    }
}
