//! One load run: connect every client (timing the upgrade up to the `welcome`), start the senders on
//! a common instant, let every client read and tally, then drain and count.
//!
//! All clients live in this one process and share one clock ([`Shared::clock`]), so send → receipt
//! latency needs no clock sync. A run never reuses a room: each gets fresh room names.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use tokio::net::TcpStream;
use tokio::sync::{watch, Semaphore};
use tokio::time::{interval_at, sleep, timeout, timeout_at, Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{connect_async_with_config, MaybeTlsStream, WebSocketStream};

use crate::inboxes;
use crate::payload::{classify, message_frame, unpack, Seen, Stamp};
use crate::stats::{Percentiles, Tracker};
use crate::Target;

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The shape of a run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub rooms: usize,
    /// Clients per room.
    pub clients: usize,
    /// Senders per room (the first `senders` clients of each room).
    pub senders: usize,
    /// Messages per second per sender; 0 = unpaced (each sender keeps `window` messages in flight).
    pub rate: f64,
    pub duration: Duration,
    pub window: usize,
    /// How long to wait for stragglers after the last send, at most.
    pub drain: Duration,
    /// A bound on the whole drain even while frames still arrive (a server far past saturation
    /// would otherwise be drained for minutes); what has not arrived by then counts as lost.
    pub drain_max: Option<Duration>,
    /// After the drain, keep every socket open until a line (or EOF) arrives on stdin, having said
    /// so on stderr: a caller measures the server with the rooms full and awake, or after they slept.
    pub hold: bool,
    /// Every message replies in a thread whose root each room's first client posts before the run.
    pub thread: bool,
    /// Every client connects with an identity key and every message mentions the next client.
    pub mention: bool,
    /// Bytes of chat text per message.
    pub size: usize,
    pub connect_concurrency: usize,
    /// Connect with `batch=1` (edge-chat's batched delivery).
    pub batch: bool,
    /// Room names are `{room_prefix}-{k}`.
    pub room_prefix: String,
    pub progress: bool,
    /// The server process (the user worker's workerd) whose CPU time the run measures, if known.
    pub cpu_pid: Option<u32>,
    /// Clients connect with a `key=` of their own (so each is a person with an inbox the room tells),
    /// the keys starting with this; `None`: anonymous, no inboxes.
    pub keys: Option<String>,
    /// Each client also holds its inbox socket, and the run measures ack → inbox frame.
    pub inboxes: bool,
}

/// The result of a run, as printed and as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub rooms: usize,
    pub clients_per_room: usize,
    pub senders_per_room: usize,
    pub rate: f64,
    pub duration_s: f64,
    pub sent: u64,
    pub expected: u64,
    pub delivered: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub out_of_order: u64,
    /// Deliveries of a message to a client that should not have got it (its own, another room's).
    pub foreign: u64,
    /// `error` frames received.
    pub errors: u64,
    pub acks: u64,
    /// Deliveries per second the senders asked for (`NaN`-free: 0 when unpaced).
    pub offered_per_s: f64,
    /// Deliveries received inside the send window, per second of it.
    pub deliveries_per_s: f64,
    pub latency_ms: Percentiles,
    pub ack_ms: Percentiles,
    pub connect_ms: Percentiles,
    /// From the first connect to the last welcome: `clients / this` is the rate the server accepted
    /// joins at (with `connect_concurrency` in flight).
    pub connect_total_ms: f64,
    /// WebSocket frames and bytes all clients received, welcomes included (a connect storm's cost).
    pub frames_in: u64,
    pub bytes_in: u64,
    /// CPU seconds the server process used from the first send to the end of the drain, and per
    /// delivery: unlike throughput, hardly disturbed by other work on the machine.
    pub server_cpu_s: Option<f64>,
    pub server_cpu_us_per_delivery: Option<f64>,
    /// With `--inboxes`: from a message's ack to each inbox's frame that shows it, and the frames.
    pub inbox_ms: Option<Percentiles>,
    pub inbox_frames: u64,
}

impl Outcome {
    /// Zero loss, duplication, reordering and errors.
    pub fn clean(&self) -> bool {
        self.lost == 0
            && self.duplicated == 0
            && self.out_of_order == 0
            && self.foreign == 0
            && self.errors == 0
    }
}

/// State every task of a run shares.
struct Shared {
    clock: std::time::Instant,
    rooms: usize,
    senders_per_room: usize,
    delivered: AtomicU64,
    /// End of the send window, in microseconds on `clock`.
    window_end_us: AtomicU64,
    /// Unpaced mode: one semaphore per sender, refilled by its witness's receipts.
    permits: Vec<Arc<Semaphore>>,
}

impl Shared {
    fn now_us(&self) -> u64 {
        self.clock.elapsed().as_micros() as u64
    }
}

/// Who a client is.
#[derive(Clone, Copy)]
struct Me {
    room: usize,
    /// Its global sender number, if it sends.
    sender: Option<u32>,
    /// The sender whose messages pace this client's receipts (unpaced mode).
    witness_for: Option<u32>,
}

/// What one client saw.
struct Inbox {
    trackers: Vec<Tracker>,
    latencies_us: Vec<u32>,
    in_window: u64,
    acks: u64,
    ack_us: Vec<u32>,
    /// (seq, when) of each ack (for the inbox latency).
    acked: Vec<(u64, u64)>,
    errors: u64,
    foreign: u64,
    received: Received,
}

/// What a client received over a run: WebSocket frames and their bytes (the welcome included).
#[derive(Debug, Clone, Copy, Default)]
pub struct Received {
    pub frames: u64,
    pub bytes: u64,
}

/// Opens a socket and waits for its first frame (`welcome`); returns it, the time it took and what it
/// received up to the welcome.
pub async fn connect(url: &str) -> Result<(Ws, Duration, Received), String> {
    connect_as(url, None).await
}

/// [`connect`], with an identity `key` offered in the handshake (`Sec-WebSocket-Protocol`).
pub async fn connect_as(url: &str, key: Option<&str>) -> Result<(Ws, Duration, Received), String> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let t0 = Instant::now();
    let mut request = url
        .into_client_request()
        .map_err(|e| format!("{url}: {e}"))?;
    if let Some(key) = key {
        let offer = crate::features::key_offer(key);
        let value = offer.parse().map_err(|_| format!("{url}: bad key"))?;
        request
            .headers_mut()
            .insert("sec-websocket-protocol", value);
    }
    // Nagle off: small frames must leave at once, or latency measures the kernel's 40 ms timer.
    let (mut ws, _) = timeout(
        Duration::from_secs(30),
        connect_async_with_config(request, None, true),
    )
    .await
    .map_err(|_| format!("{url}: connect timed out"))?
    .map_err(|e| format!("{url}: {e}"))?;
    let mut got = Received::default();
    loop {
        match timeout(Duration::from_secs(30), ws.next()).await {
            // Alone, or first in a batch (see `is_welcome`); the SDK reads either.
            Ok(Some(Ok(Message::Text(t)))) if crate::payload::is_welcome(&t) => {
                got.frames += 1;
                got.bytes += t.len() as u64;
                break;
            }
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(e))) => return Err(format!("{url}: {e}")),
            Ok(None) => return Err(format!("{url}: closed before welcome")),
            Err(_) => return Err(format!("{url}: no welcome within 30 s")),
        }
    }
    Ok((ws, t0.elapsed(), got))
}

pub async fn run(target: &Target, plan: &Plan) -> Result<Outcome, String> {
    let total_clients = plan.rooms * plan.clients;
    let total_senders = plan.rooms * plan.senders;
    if plan.senders > plan.clients || plan.clients < 2 || plan.rooms == 0 {
        return Err("need rooms ≥ 1, clients per room ≥ 2 and senders ≤ clients".into());
    }
    let shared = Arc::new(Shared {
        clock: std::time::Instant::now(),
        rooms: plan.rooms,
        senders_per_room: plan.senders,
        delivered: AtomicU64::new(0),
        window_end_us: AtomicU64::new(u64::MAX),
        permits: (0..total_senders)
            .map(|_| Arc::new(Semaphore::new(plan.window)))
            .collect(),
    });

    // Connect, a bounded number at a time (like a crowd arriving, not a SYN flood).
    let gate = Arc::new(Semaphore::new(plan.connect_concurrency.max(1)));
    let connect_started = Instant::now();
    let mut connecting = Vec::with_capacity(total_clients);
    for i in 0..total_clients {
        let key = match &plan.keys {
            Some(prefix) => format!("&key={}", inboxes::key(prefix, i)),
            None => String::new(),
        };
        let url = format!(
            "{}/ws/{}-{}?name=b{}{}{key}",
            target.ws_base,
            plan.room_prefix,
            i / plan.clients,
            i % plan.clients,
            if plan.batch { "&batch=1" } else { "" }
        );
        let gate = gate.clone();
        let key = plan
            .mention
            .then(|| crate::features::key(&plan.room_prefix, i));
        connecting.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await;
            connect_as(&url, key.as_deref()).await
        }));
    }
    let mut sockets = Vec::with_capacity(total_clients);
    let mut connect_us = Vec::with_capacity(total_clients);
    let mut failures = Vec::new();
    let mut welcomes = Received::default();
    for task in connecting {
        match task.await {
            Ok(Ok((ws, took, got))) => {
                connect_us.push(took.as_micros().min(u32::MAX as u128) as u32);
                welcomes.frames += got.frames;
                welcomes.bytes += got.bytes;
                sockets.push(ws);
            }
            Ok(Err(e)) => failures.push(e),
            Err(e) => failures.push(e.to_string()),
        }
    }
    let connect_total = connect_started.elapsed();
    if !failures.is_empty() {
        return Err(format!(
            "{} of {total_clients} connections failed; first: {}",
            failures.len(),
            failures[0]
        ));
    }

    // With --inboxes, every person's inbox socket too (once their rooms have told them of the join).
    let inbox_sockets = match (&plan.keys, plan.inboxes) {
        (Some(prefix), true) => {
            let keys: Vec<String> = (0..total_clients)
                .map(|i| inboxes::key(prefix, i))
                .collect();
            inboxes::open(&target.ws_base, &keys, plan.connect_concurrency).await?
        }
        _ => Vec::new(),
    };

    // Everyone reads from now on; senders start together a moment later.
    let (stop_tx, stop_rx) = watch::channel(false);
    let inbox_readers: Vec<_> = inbox_sockets
        .into_iter()
        .map(|ws| {
            let (sink, stream) = ws.split();
            let reader = tokio::spawn(inboxes::read(
                stream,
                plan.room_prefix.clone(),
                shared.clock,
                stop_rx.clone(),
            ));
            (sink, reader)
        })
        .collect();
    let start = Instant::now() + Duration::from_millis(300);
    let start_us = shared.now_us() + 300_000;
    shared.window_end_us.store(
        start_us + plan.duration.as_micros() as u64,
        Ordering::Relaxed,
    );
    let end = start + plan.duration;
    let mut readers = Vec::with_capacity(total_clients);
    let mut senders = Vec::with_capacity(total_senders);
    let mut idle_sinks = Vec::new();
    let mut root = None;
    for (i, mut ws) in sockets.into_iter().enumerate() {
        let (room, j) = (i / plan.clients, i % plan.clients);
        if plan.thread && j == 0 {
            root = Some(crate::features::post_root(&mut ws).await?);
        }
        let sender_no = |k: usize| (room * plan.senders + k) as u32;
        let prev = (j + plan.clients - 1) % plan.clients;
        let me = Me {
            room,
            sender: (j < plan.senders).then(|| sender_no(j)),
            witness_for: (prev < plan.senders).then(|| sender_no(prev)),
        };
        let (sink, stream) = ws.split();
        readers.push(tokio::spawn(read(
            stream,
            me,
            shared.clone(),
            stop_rx.clone(),
            total_senders,
        )));
        match me.sender {
            Some(sid) => {
                let phase = if plan.rate > 0.0 {
                    Duration::from_secs_f64(j as f64 / plan.senders as f64 / plan.rate)
                } else {
                    Duration::ZERO
                };
                let extra = crate::features::Extra {
                    thread: root,
                    mention: plan.mention.then(|| format!("b{}", (j + 1) % plan.clients)),
                };
                senders.push(tokio::spawn(send(
                    sink,
                    sid,
                    shared.clone(),
                    plan.clone(),
                    extra,
                    (start + phase, end),
                )));
            }
            None => idle_sinks.push(sink),
        }
    }

    tokio::time::sleep_until(start).await;
    let cpu_before = plan.cpu_pid.and_then(cpu_seconds);
    let bar = progress_bar(plan);
    let mut last = (Instant::now(), 0u64);
    while Instant::now() < end {
        sleep(Duration::from_millis(250)).await;
        let now = Instant::now();
        let delivered = shared.delivered.load(Ordering::Relaxed);
        let rate = (delivered - last.1) as f64 / (now - last.0).as_secs_f64();
        last = (now, delivered);
        bar.set_position(now.saturating_duration_since(start).as_millis() as u64);
        bar.set_message(format!("{rate:>9.0} deliveries/s  {delivered} delivered"));
    }
    let mut sent = vec![0u64; total_senders];
    let mut sinks = idle_sinks;
    for task in senders {
        let (sid, count, sink) = task.await.map_err(|e| e.to_string())?;
        sent[sid as usize] = count;
        sinks.push(sink);
    }
    let expected: u64 = sent.iter().sum::<u64>() * (plan.clients as u64 - 1);

    // Drain: wait until everything expected arrived, or nothing new came for `drain`.
    bar.set_message("draining");
    let drain_started = Instant::now();
    let mut progress_at = (Instant::now(), shared.delivered.load(Ordering::Relaxed));
    loop {
        let delivered = shared.delivered.load(Ordering::Relaxed);
        if delivered >= expected {
            break;
        }
        if delivered != progress_at.1 {
            progress_at = (Instant::now(), delivered);
        } else if progress_at.0.elapsed() >= plan.drain {
            break;
        }
        if plan.drain_max.is_some_and(|m| drain_started.elapsed() >= m) {
            break;
        }
        sleep(Duration::from_millis(20)).await;
    }
    bar.finish_and_clear();
    if plan.hold {
        hold().await; // (counted in the CPU figure: hold only where that is not read)
    }
    let cpu = plan
        .cpu_pid
        .and_then(cpu_seconds)
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    // The inboxes hear of the last messages up to a second after the rooms (they coalesce).
    if plan.inboxes {
        sleep(Duration::from_millis(2500)).await;
    }
    let _ = stop_tx.send(true);
    let mut inboxes = Vec::with_capacity(total_clients);
    for task in readers {
        inboxes.push(task.await.map_err(|e| e.to_string())?);
    }
    let mut inbox_seen = Vec::with_capacity(inbox_readers.len());
    let mut inbox_sinks = Vec::with_capacity(inbox_readers.len());
    for (sink, reader) in inbox_readers {
        inbox_seen.push(reader.await.map_err(|e| e.to_string())?);
        inbox_sinks.push(sink);
    }
    let acked: Vec<(usize, u64, u64)> = inboxes
        .iter()
        .enumerate()
        .flat_map(|(i, c)| {
            c.acked
                .iter()
                .map(move |&(seq, at)| (i / plan.clients, seq, at))
        })
        .collect();
    // Close politely, all at once; the server's leave broadcasts are not measured.
    sinks.extend(inbox_sinks);
    let closing: Vec<_> = sinks
        .into_iter()
        .map(|mut sink| {
            tokio::spawn(async move {
                let _ = timeout(Duration::from_secs(5), sink.close()).await;
            })
        })
        .collect();
    for c in closing {
        let _ = c.await;
    }

    let mut outcome = tally(
        plan, &shared, &sent, expected, inboxes, connect_us, welcomes,
    );
    outcome.server_cpu_s = cpu;
    if plan.inboxes {
        let (p, frames) = inboxes::latencies(&acked, &inbox_seen);
        outcome.inbox_ms = Some(p);
        outcome.inbox_frames = frames;
    }
    outcome.server_cpu_us_per_delivery = cpu
        .filter(|_| outcome.delivered > 0)
        .map(|c| c * 1e6 / outcome.delivered as f64);
    outcome.connect_total_ms = connect_total.as_secs_f64() * 1000.0;
    Ok(outcome)
}

/// Keeps the run's sockets open (their readers still reading) until the caller says so: a line or
/// EOF on stdin. What is said on stderr is the signal that the rooms are full.
async fn hold() {
    eprintln!("HOLDING: every socket open; a line on stdin closes them");
    let _ = tokio::task::spawn_blocking(|| std::io::stdin().read_line(&mut String::new())).await;
}

/// User + system CPU time of process `pid`, from /proc/PID/stat (Linux; None elsewhere).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after its closing parenthesis are fixed.
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split(' ').collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // Clock ticks; USER_HZ is 100 on every Linux this runs on.
    Some((utime + stime) / 100.0)
}

fn tally(
    plan: &Plan,
    shared: &Shared,
    sent: &[u64],
    expected: u64,
    inboxes: Vec<Inbox>,
    mut connect_us: Vec<u32>,
    welcomes: Received,
) -> Outcome {
    let (mut frames_in, mut bytes_in) = (welcomes.frames, welcomes.bytes);
    let (mut delivered, mut lost, mut duplicated, mut out_of_order) = (0, 0, 0, 0);
    let (mut foreign, mut errors, mut acks, mut in_window) = (0, 0, 0, 0);
    let mut latencies = Vec::new();
    let mut ack_us = Vec::new();
    for (i, inbox) in inboxes.into_iter().enumerate() {
        let room = i / plan.clients;
        let me = (i % plan.clients < plan.senders).then(|| room * plan.senders + i % plan.clients);
        let first = room * plan.senders;
        let room_senders = first..first + plan.senders;
        for (s, (t, &sent_by_s)) in inbox.trackers.iter().zip(&sent[room_senders]).enumerate() {
            if Some(first + s) == me {
                continue;
            }
            delivered += t.unique;
            lost += sent_by_s.saturating_sub(t.unique);
            duplicated += t.duplicated;
            out_of_order += t.out_of_order;
        }
        foreign += inbox.foreign;
        frames_in += inbox.received.frames;
        bytes_in += inbox.received.bytes;
        errors += inbox.errors;
        acks += inbox.acks;
        in_window += inbox.in_window;
        latencies.extend(inbox.latencies_us);
        ack_us.extend(inbox.ack_us);
    }
    let secs = plan.duration.as_secs_f64();
    let others = (plan.clients - 1) as f64;
    Outcome {
        rooms: shared.rooms,
        clients_per_room: plan.clients,
        senders_per_room: shared.senders_per_room,
        rate: plan.rate,
        duration_s: secs,
        sent: sent.iter().sum(),
        expected,
        delivered,
        lost,
        duplicated,
        out_of_order,
        foreign,
        errors,
        acks,
        offered_per_s: plan.rate * (plan.rooms * plan.senders) as f64 * others,
        deliveries_per_s: in_window as f64 / secs,
        latency_ms: Percentiles::of(&mut latencies),
        ack_ms: Percentiles::of(&mut ack_us),
        connect_ms: Percentiles::of(&mut connect_us),
        connect_total_ms: 0.0,
        frames_in,
        bytes_in,
        server_cpu_s: None,
        server_cpu_us_per_delivery: None,
        inbox_ms: None,
        inbox_frames: 0,
    }
}

/// A sender: paced by a timer (a late tick is caught up at once, so the offered rate is honest), or
/// unpaced with a window of messages in flight.
async fn send(
    mut sink: SplitSink<Ws, Message>,
    sid: u32,
    shared: Arc<Shared>,
    plan: Plan,
    extra: crate::features::Extra,
    (start, end): (Instant, Instant),
) -> (u32, u64, SplitSink<Ws, Message>) {
    let mut counter = 0u64;
    let mut ticks = (plan.rate > 0.0).then(|| {
        let mut t = interval_at(start, Duration::from_secs_f64(1.0 / plan.rate));
        t.set_missed_tick_behavior(MissedTickBehavior::Burst);
        t
    });
    let permits = shared.permits[sid as usize].clone();
    if ticks.is_none() {
        tokio::time::sleep_until(start).await;
    }
    loop {
        match ticks.as_mut() {
            Some(t) => {
                if timeout_at(end, t.tick()).await.is_err() {
                    break;
                }
            }
            None => match timeout_at(end, permits.acquire()).await {
                Ok(Ok(p)) => p.forget(),
                _ => break,
            },
        }
        if Instant::now() >= end {
            break;
        }
        let stamp = Stamp {
            sender: sid,
            counter,
            sent_us: shared.now_us(),
        };
        if sink
            .send(Message::text(message_frame(stamp, plan.size, &extra)))
            .await
            .is_err()
        {
            break;
        }
        counter += 1;
    }
    (sid, counter, sink)
}

/// A client's reading half: tallies every frame until told to stop.
async fn read(
    mut stream: SplitStream<Ws>,
    me: Me,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    total_senders: usize,
) -> Inbox {
    let mut inbox = Inbox {
        // Only this room's senders: with 1,000 rooms a tracker per sender per client would be 10^7.
        trackers: vec![Tracker::default(); shared.senders_per_room],
        latencies_us: Vec::new(),
        in_window: 0,
        acks: 0,
        ack_us: Vec::new(),
        acked: Vec::new(),
        errors: 0,
        foreign: 0,
        received: Received::default(),
    };
    let window_end = || shared.window_end_us.load(Ordering::Relaxed);
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
        let now = shared.now_us();
        inbox.received.frames += 1;
        inbox.received.bytes += text.len() as u64;
        for frame in unpack(&text) {
            inbox.tally(frame, now, &me, &shared, total_senders, window_end());
        }
    }
    inbox
}

impl Inbox {
    /// Tallies one server frame (one element of a batch, or a frame sent alone).
    fn tally(
        &mut self,
        frame: &str,
        now: u64,
        me: &Me,
        shared: &Shared,
        total_senders: usize,
        window_end: u64,
    ) {
        let inbox = self;
        match classify(frame) {
            Seen::Message(stamp) => {
                let s = stamp.sender as usize;
                let mine = s < total_senders
                    && s / shared.senders_per_room == me.room
                    && Some(stamp.sender) != me.sender;
                match mine
                    .then(|| inbox.trackers[s % shared.senders_per_room].record(stamp.counter))
                    .flatten()
                {
                    None => {
                        inbox.foreign += 1;
                        return;
                    }
                    Some(false) => return, // a duplicate: counted by the tracker
                    Some(true) => {}
                }
                inbox
                    .latencies_us
                    .push(now.saturating_sub(stamp.sent_us).min(u32::MAX as u64) as u32);
                if now <= window_end {
                    inbox.in_window += 1;
                }
                shared.delivered.fetch_add(1, Ordering::Relaxed);
                if me.witness_for == Some(stamp.sender) {
                    shared.permits[s].add_permits(1);
                }
            }
            Seen::Ack(stamp) => {
                if let Some(seq) = crate::payload::ack_seq(frame) {
                    inbox.acked.push((seq, now));
                }
                inbox.acks += 1;
                inbox
                    .ack_us
                    .push(now.saturating_sub(stamp.sent_us).min(u32::MAX as u64) as u32);
            }
            Seen::Error => inbox.errors += 1,
            Seen::Other => {}
        }
    }
}

fn progress_bar(plan: &Plan) -> ProgressBar {
    if !plan.progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(plan.duration.as_millis() as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {msg}")
    {
        bar.set_style(style);
    }
    bar
}
