//! `edge-chat-bench`: a load generator for edge-chat (protocol v1) and for the baseline relay in
//! `bench/baseline/` (a minimal JavaScript Durable Object that forwards frames unchanged).
//!
//! N clients over K rooms, S senders per room at R messages/s each (or unpaced). It reports
//! deliveries/s, send → receipt latency (one clock: every client lives in this process), connect
//! latency, and lost, duplicated and out-of-order deliveries, per sender, from a counter embedded in
//! each message's text. A progress bar while it runs; a table and one JSON line at the end.
//!
//! # Layout
//! - `payload.rs` — the stamped message frame and how a received frame is read back
//! - `stats.rs`   — per-pair tracking of counters seen; latency percentiles
//! - `run.rs`     — one run: connect, send, read, drain, tally (`run`), used by `run` and `saturate`
//! - `wake.rs`    — scenario D: the first message into a hibernated room

mod inboxes;
mod payload;
mod run;
mod stats;
mod wake;
// After the others: what the feature scenarios add to a message (bench/features/).
mod features;

use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use serde_json::json;

use run::{Outcome, Plan};

/// Where the server is.
pub struct Target {
    /// `127.0.0.1:8787`
    pub host: String,
    /// `ws://127.0.0.1:8787`
    pub ws_base: String,
}

#[derive(Parser)]
#[command(version, about = "Load generator for edge-chat and its baseline relay")]
struct Cli {
    /// The server's base URL (only http://host:port).
    #[arg(long, default_value = "http://127.0.0.1:8787")]
    url: String,
    /// A label for the report (e.g. "edge-chat" or "baseline").
    #[arg(long, default_value = "server")]
    label: String,
    /// Tokio worker threads (the generator shares the machine with the server).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// The server's process id (the user worker's workerd), to report the CPU time each run costs it.
    #[arg(long)]
    cpu_pid: Option<u32>,
    /// Room names (and keys) start with this instead of a fresh prefix per run: a script can then
    /// prepare the run's rooms before it starts (bench/features/push.sh gives a room away members).
    #[arg(long)]
    prefix: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// One run at a fixed rate (or unpaced).
    Run(Load),
    /// Step the per-sender rate up (doubling, then bisecting) to the highest rate with zero loss and
    /// bounded p99, then measure again at half that rate.
    Saturate {
        #[command(flatten)]
        load: Load,
        /// A step passes only if its p99 latency is at most this.
        #[arg(long, default_value_t = 50.0)]
        p99_bound_ms: f64,
        /// Bisection steps after the first failing rate.
        #[arg(long, default_value_t = 3)]
        refine: usize,
        /// How many times a failing step is run again before the rate counts as saturated.
        #[arg(long, default_value_t = 1)]
        retries: usize,
        /// Never offer more than this per sender.
        #[arg(long, default_value_t = 20_000.0)]
        max_rate: f64,
    },
    /// Scenario D: the first message into rooms whose objects have hibernated (and, with
    /// `--evicted`, into rooms nobody was connected to, whose objects left memory).
    Wake {
        #[arg(long, default_value_t = 20)]
        tries: usize,
        /// Seconds of silence before the first message (workerd evicts an idle object after ~10 s).
        #[arg(long, default_value_t = 15)]
        idle: u64,
        /// Rooms written to and then left by everyone before the silence; each is then joined by
        /// two clients and one message goes between them.
        #[arg(long, default_value_t = 0)]
        evicted: usize,
        /// Messages each of those rooms holds before it is left.
        #[arg(long, default_value_t = 200)]
        history: usize,
    },
}

#[derive(Args, Clone)]
struct Load {
    /// Clients in all, spread evenly over the rooms.
    #[arg(long, default_value_t = 50)]
    clients: usize,
    #[arg(long, default_value_t = 1)]
    rooms: usize,
    /// Senders per room.
    #[arg(long, default_value_t = 5)]
    senders: usize,
    /// Messages per second per sender; 0 = unpaced (each sender keeps --window messages in flight,
    /// a message counting as landed when the next client of its room has it).
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// Seconds of sending.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    #[arg(long, default_value_t = 4)]
    window: usize,
    /// Seconds without progress after which the stragglers count as lost.
    #[arg(long, default_value_t = 5.0)]
    drain: f64,
    /// Seconds the drain may last at most, progress or not (what is still on its way counts as lost).
    #[arg(long)]
    drain_max: Option<f64>,
    /// After the drain, keep every socket open until a line arrives on stdin (announced on stderr).
    #[arg(long)]
    hold: bool,
    /// Every message replies in a thread (each room's first client posts its root first).
    #[arg(long)]
    thread: bool,
    /// Every client has an identity (a key, offered in the handshake) and every message mentions the
    /// next client of its room by name.
    #[arg(long)]
    mention: bool,
    /// Bytes of chat text per message.
    #[arg(long, default_value_t = 64)]
    size: usize,
    #[arg(long, default_value_t = 32)]
    connect_concurrency: usize,
    /// Connect with `batch=1`: edge-chat then sends each client one `batch` frame per flush.
    #[arg(long)]
    batch: bool,
    /// Each client connects with a key of its own: a person whose inbox the room tells.
    #[arg(long)]
    keyed: bool,
    /// Each client also holds its inbox socket (`/ws/me`; implies --keyed), and the run reports
    /// the time from a message's ack to each inbox's frame that shows it.
    #[arg(long)]
    inboxes: bool,
}

impl Load {
    fn plan(&self, prefix: String, progress: bool, cpu_pid: Option<u32>) -> Result<Plan, String> {
        if self.rooms == 0 || !self.clients.is_multiple_of(self.rooms) {
            return Err("--clients must be a multiple of --rooms".into());
        }
        Ok(Plan {
            rooms: self.rooms,
            clients: self.clients / self.rooms,
            senders: self.senders,
            rate: self.rate,
            duration: Duration::from_secs_f64(self.duration),
            window: self.window.max(1),
            drain: Duration::from_secs_f64(self.drain),
            drain_max: self.drain_max.map(Duration::from_secs_f64),
            hold: self.hold,
            thread: self.thread,
            mention: self.mention,
            size: self.size.max(32),
            connect_concurrency: self.connect_concurrency,
            batch: self.batch,
            room_prefix: prefix.clone(),
            progress,
            cpu_pid,
            keys: (self.keyed || self.inboxes).then(|| format!("{prefix}-k")),
            inboxes: self.inboxes,
        })
    }
}

fn main() {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cli.threads.max(1))
        .enable_all()
        .build();
    let result = match runtime {
        Ok(rt) => rt.block_on(real_main(cli)),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = result {
        eprintln!("edge-chat-bench: {e}");
        std::process::exit(1);
    }
}

async fn real_main(cli: Cli) -> Result<(), String> {
    let host = cli
        .url
        .strip_prefix("http://")
        .ok_or("--url must start with http://")?
        .trim_end_matches('/')
        .to_string();
    let target = Target {
        ws_base: format!("ws://{host}"),
        host,
    };
    // Fresh rooms every time (or the ones `--prefix` names, prepared for the run): a run never meets
    // another run's history or members.
    let prefix = cli
        .prefix
        .clone()
        .unwrap_or_else(|| format!("bench-{}-{}", std::process::id(), unix_ms() % 1_000_000));
    let progress = !cli.quiet;
    let head = json!({"label": cli.label, "url": cli.url});
    match cli.command {
        Command::Run(load) => {
            let outcome = run::run(&target, &load.plan(prefix, progress, cli.cpu_pid)?).await?;
            println!("{}", table(&cli.label, &[(&outcome, None)]));
            let mut line = json!({"mode": "run", "result": outcome});
            merge(&mut line, &head);
            println!("{line}");
        }
        Command::Saturate {
            load,
            p99_bound_ms,
            refine,
            retries,
            max_rate,
        } => {
            let mut steps: Vec<(Outcome, bool)> = Vec::new();
            let step = |rate: f64, steps: &mut Vec<(Outcome, bool)>| {
                let mut plan =
                    load.plan(format!("{prefix}-s{}", steps.len()), progress, cli.cpu_pid)?;
                plan.rate = rate;
                let target = &target;
                Ok::<_, String>(async move {
                    for attempt in 0.. {
                        let o = run::run(target, &plan).await?;
                        let pass = o.clean()
                            && o.latency_ms.p99 <= p99_bound_ms
                            && o.deliveries_per_s >= 0.95 * o.offered_per_s;
                        eprintln!(
                            "  rate {:>8.1}/s per sender: {:>9.0} deliveries/s (offered {:>9.0}), p99 {:>7.1} ms, lost {}, dup {}, server {:.1} µs CPU/delivery → {}",
                            rate, o.deliveries_per_s, o.offered_per_s, o.latency_ms.p99, o.lost, o.duplicated,
                            o.server_cpu_us_per_delivery.unwrap_or(f64::NAN),
                            if pass { "ok" } else { "saturated" }
                        );
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        // A failed step is tried again (`--retries`): on a shared machine a burst of
                        // other work can blow one run's p99 without the server being saturated.
                        if pass || attempt >= retries {
                            return Ok::<_, String>((o, pass));
                        }
                        plan.room_prefix = format!("{}-r{}", plan.room_prefix, attempt + 1);
                    }
                    unreachable!("the loop returns")
                })
            };
            let (mut lo, mut hi) = (0.0f64, f64::INFINITY);
            let mut rate = load.rate.max(1.0);
            // Double until a step fails (or halve until one passes).
            loop {
                let (o, pass) = step(rate, &mut steps)?.await?;
                steps.push((o, pass));
                if pass {
                    lo = rate;
                    if hi.is_finite() || rate * 2.0 > max_rate {
                        break;
                    }
                    rate *= 2.0;
                } else {
                    hi = rate;
                    if lo > 0.0 || rate < 1.0 {
                        break;
                    }
                    rate /= 2.0;
                }
            }
            for _ in 0..refine {
                if !hi.is_finite() || lo <= 0.0 {
                    break;
                }
                let mid = ((lo + hi) / 2.0).round();
                if mid <= lo || mid >= hi {
                    break;
                }
                let (o, pass) = step(mid, &mut steps)?.await?;
                steps.push((o, pass));
                if pass {
                    lo = mid
                } else {
                    hi = mid
                }
            }
            let best = steps
                .iter()
                .filter(|(o, pass)| *pass && o.rate == lo)
                .map(|(o, _)| o.clone())
                .next();
            let half = if lo > 0.0 {
                let (o, _) = step(lo / 2.0, &mut steps)?.await?;
                Some(o)
            } else {
                None
            };
            let mut rows: Vec<(&Outcome, Option<bool>)> =
                steps.iter().map(|(o, p)| (o, Some(*p))).collect();
            if let Some(h) = &half {
                rows.push((h, None));
            }
            println!("{}", table(&cli.label, &rows));
            let mut line = json!({
                "mode": "saturate",
                "p99_bound_ms": p99_bound_ms,
                "saturation_rate": lo,
                "saturation": best,
                "half": half,
                "steps": steps.iter().map(|(o, p)| json!({"pass": p, "result": o})).collect::<Vec<_>>(),
            });
            merge(&mut line, &head);
            println!("{line}");
        }
        Command::Wake {
            tries,
            idle,
            evicted,
            history,
        } => {
            let shape = wake::Shape {
                tries,
                idle: Duration::from_secs(idle),
                evicted,
                history,
            };
            let w = wake::wake(&target, &shape, &prefix).await?;
            println!(
                "{}: wake-up over {} tries ({} hibernated, {} failed): p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms; awake p50 {:.1} ms",
                cli.label, w.tries, w.woke, w.failed, w.wake_ms.p50, w.wake_ms.p90, w.wake_ms.max, w.warm_ms.p50
            );
            if let Some(e) = &w.evicted {
                println!(
                    "{}: evicted rooms, {} tries ({} re-built, {} failed): connect → welcome p50 {:.1} ms, first message p50 {:.1} ms, connect → first message p50 {:.1} ms",
                    cli.label, e.tries, e.rebuilt, e.failed, e.welcome_ms.p50, e.first_ms.p50, e.total_ms.p50
                );
            }
            let mut line = json!({"mode": "wake", "result": w});
            merge(&mut line, &head);
            println!("{line}");
        }
    }
    Ok(())
}

fn merge(line: &mut serde_json::Value, head: &serde_json::Value) {
    if let (Some(l), Some(h)) = (line.as_object_mut(), head.as_object()) {
        for (k, v) in h {
            l.insert(k.clone(), v.clone());
        }
    }
}

fn unix_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// The human table: one row per run.
fn table(label: &str, rows: &[(&Outcome, Option<bool>)]) -> String {
    let mut out = format!(
        "{label}\n{:>6} {:>5} {:>7} {:>9} {:>10} {:>10} {:>8} {:>8} {:>8} {:>8} {:>8} {:>5} {:>4} {:>4} {:>4} {:>8} {:>9}\n",
        "rooms", "cli", "senders", "rate/s", "offered/s", "deliv/s", "p50 ms", "p90 ms", "p99 ms",
        "max ms", "conn p50", "lost", "dup", "ooo", "err", "cpu µs/d", "verdict"
    );
    for (o, pass) in rows {
        let verdict = match pass {
            Some(true) => "ok",
            Some(false) => "saturated",
            None if o.clean() => "clean",
            None => "LOSSY",
        };
        out += &format!(
            "{:>6} {:>5} {:>7} {:>9.1} {:>10.0} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>5} {:>4} {:>4} {:>4} {:>8.1} {:>9}\n",
            o.rooms, o.clients_per_room, o.senders_per_room, o.rate, o.offered_per_s,
            o.deliveries_per_s, o.latency_ms.p50, o.latency_ms.p90, o.latency_ms.p99,
            o.latency_ms.max, o.connect_ms.p50, o.lost, o.duplicated, o.out_of_order,
            o.errors + o.foreign, o.server_cpu_us_per_delivery.unwrap_or(f64::NAN), verdict
        );
    }
    out
}
