//! Scenario D, wake-up: how long the first message into a room takes when the room's Durable Object
//! has hibernated. `tries` rooms with two clients each are opened together and left idle past the
//! runtime's hibernation window (~10 s of no events under workerd); then one message goes into each
//! room in turn, so every try meets a sleeping object and the tries do not queue behind each other.
//! Whether the object really was rebuilt is checked with `GET /api/rooms/{room}` (its `instance`
//! changes on every construction; both servers answer it), read before the idle and after the wake.
//!
//! With `evicted` rooms, the same silence also empties rooms nobody stays in: each gets `history`
//! messages, then both clients leave, and the object, with no socket to hibernate, leaves memory.
//! After the silence two clients join each such room in turn and one message goes between them:
//! connect → welcome (the object rebuilt from its storage), and connect → first message received.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{sleep, timeout, Instant};
use tokio_tungstenite::tungstenite::Message;

use crate::features::Extra;
use crate::payload::{classify, message_frame, Seen, Stamp};
use crate::run::{connect, Ws};
use crate::stats::Percentiles;
use crate::Target;

/// What the wake scenario opens.
pub struct Shape {
    /// Rooms whose two clients stay connected through the silence (hibernation).
    pub tries: usize,
    pub idle: Duration,
    /// Rooms left by everyone before the silence (eviction).
    pub evicted: usize,
    /// Messages written into each of those first.
    pub history: usize,
}

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
    pub evicted: Option<Evicted>,
}

/// Rooms that nobody was connected to through the silence.
#[derive(Debug, Serialize)]
pub struct Evicted {
    pub tries: usize,
    pub history: usize,
    /// Tries whose object was re-constructed (it had left memory).
    pub rebuilt: usize,
    pub failed: usize,
    /// The first client's connect → welcome: the object built again, its storage read.
    pub welcome_ms: Percentiles,
    /// The first message between the two clients, send → receipt.
    pub first_ms: Percentiles,
    /// From the first client's connect to that message's receipt.
    pub total_ms: Percentiles,
}

pub async fn wake(target: &Target, shape: &Shape, prefix: &str) -> Result<WakeOutcome, String> {
    let clock = std::time::Instant::now();
    let stamp = |sender: usize, counter: u64| Stamp {
        sender: sender as u32,
        counter,
        sent_us: clock.elapsed().as_micros() as u64,
    };
    let mut rooms = Vec::with_capacity(shape.tries);
    for k in 0..shape.tries {
        let room = format!("{prefix}-{k}");
        let (a, _, _) = connect(&format!("{}/ws/{room}?name=a", target.ws_base)).await?;
        let (b, _, _) = connect(&format!("{}/ws/{room}?name=b", target.ws_base)).await?;
        let before = instance(target, &room).await;
        rooms.push((room, a, b, before));
    }
    // The evicted rooms: written to, then left.
    let mut empty = Vec::with_capacity(shape.evicted);
    for k in 0..shape.evicted {
        let room = format!("{prefix}-e{k}");
        let (mut a, _, _) = connect(&format!("{}/ws/{room}?name=a", target.ws_base)).await?;
        let (mut b, _, _) = connect(&format!("{}/ws/{room}?name=b", target.ws_base)).await?;
        let mut last = None;
        for counter in 0..shape.history as u64 {
            let s = stamp(k, counter);
            a.send(Message::text(message_frame(s, 64, &Extra::default())))
                .await
                .map_err(|e| format!("{room}: {e}"))?;
            last = Some(s);
        }
        if let Some(s) = last {
            if !received(&mut b, s).await {
                return Err(format!("{room}: its history was not relayed"));
            }
        }
        let before = instance(target, &room).await;
        let _ = a.close(None).await;
        let _ = b.close(None).await;
        empty.push((room, before));
    }
    eprintln!(
        "wake: {} rooms open, {} left; idle for {} s so that their objects hibernate or leave memory",
        shape.tries,
        shape.evicted,
        shape.idle.as_secs()
    );
    sleep(shape.idle).await;
    let (mut wake_us, mut warm_us) = (Vec::new(), Vec::new());
    let (mut woke, mut failed) = (0, 0);
    for (k, (room, mut a, mut b, before)) in rooms.into_iter().enumerate() {
        for (counter, samples) in [(0u64, &mut wake_us), (1, &mut warm_us)] {
            let s = stamp(k, counter);
            if a.send(Message::text(message_frame(s, 64, &Extra::default())))
                .await
                .is_err()
            {
                failed += 1;
                continue;
            }
            if received(&mut b, s).await {
                samples.push(micros(clock.elapsed().as_micros() as u64 - s.sent_us));
            } else {
                failed += 1;
            }
            if counter == 0 && rebuilt(target, &room, &before).await {
                woke += 1;
            }
        }
        let _ = a.close(None).await;
        let _ = b.close(None).await;
        sleep(Duration::from_millis(50)).await;
    }
    let evicted = if shape.evicted > 0 {
        Some(rejoin(target, empty, shape.history, &stamp).await)
    } else {
        None
    };
    Ok(WakeOutcome {
        tries: shape.tries,
        idle_s: shape.idle.as_secs(),
        woke,
        failed,
        wake_ms: Percentiles::of(&mut wake_us),
        warm_ms: Percentiles::of(&mut warm_us),
        evicted,
    })
}

/// Two clients join each emptied room in turn; one message goes between them.
async fn rejoin(
    target: &Target,
    empty: Vec<(String, Option<String>)>,
    history: usize,
    stamp: &impl Fn(usize, u64) -> Stamp,
) -> Evicted {
    let (mut welcome_us, mut first_us, mut total_us) = (Vec::new(), Vec::new(), Vec::new());
    let (mut rebuilt_n, mut failed) = (0, 0);
    let tries = empty.len();
    for (k, (room, before)) in empty.into_iter().enumerate() {
        let t0 = Instant::now();
        let joined = async {
            let (a, took, _) = connect(&format!("{}/ws/{room}?name=a", target.ws_base)).await?;
            let (b, _, _) = connect(&format!("{}/ws/{room}?name=b", target.ws_base)).await?;
            Ok::<_, String>((a, b, took))
        }
        .await;
        let Ok((mut a, mut b, took)) = joined else {
            failed += 1;
            continue;
        };
        let s = stamp(k, history as u64);
        let sent = Instant::now();
        if a.send(Message::text(message_frame(s, 64, &Extra::default())))
            .await
            .is_ok()
            && received(&mut b, s).await
        {
            welcome_us.push(micros(took.as_micros() as u64));
            first_us.push(micros(sent.elapsed().as_micros() as u64));
            total_us.push(micros(t0.elapsed().as_micros() as u64));
        } else {
            failed += 1;
        }
        if rebuilt(target, &room, &before).await {
            rebuilt_n += 1;
        }
        let _ = a.close(None).await;
        let _ = b.close(None).await;
        sleep(Duration::from_millis(50)).await;
    }
    Evicted {
        tries,
        history,
        rebuilt: rebuilt_n,
        failed,
        welcome_ms: Percentiles::of(&mut welcome_us),
        first_ms: Percentiles::of(&mut first_us),
        total_ms: Percentiles::of(&mut total_us),
    }
}

/// Whether `ws` gets the message stamped `s` within 10 s (other frames are skipped).
async fn received(ws: &mut Ws, s: Stamp) -> bool {
    let got = timeout(Duration::from_secs(10), async {
        while let Some(Ok(frame)) = ws.next().await {
            if let Message::Text(t) = frame {
                if crate::payload::unpack(&t)
                    .into_iter()
                    .any(|f| classify(f) == Seen::Message(s))
                {
                    return true;
                }
            }
        }
        false
    })
    .await;
    got == Ok(true)
}

/// Whether the room's object is another than the one `before` named.
async fn rebuilt(target: &Target, room: &str, before: &Option<String>) -> bool {
    let after = instance(target, room).await;
    before.is_some() && after.is_some() && *before != after
}

fn micros(us: u64) -> u32 {
    us.min(u32::MAX as u64) as u32
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
