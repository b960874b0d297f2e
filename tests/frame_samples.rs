//! One sample of every wire frame, both directions, written for the TypeScript check that keeps the
//! SDK's hand-written `packages/client/types/protocol.d.ts` honest (`tests/types.test.mjs` type-checks
//! each sample against the declared unions under `tsc --strict`, so a field or a frame added here in
//! Rust and not there fails the build).
//!
//! Completeness is the compiler's job: [`server_kind`] and [`client_kind`] match every variant with no
//! wildcard, so a new frame does not compile until it is named there, next to the list of kinds the
//! samples must cover. Every optional field is filled in the samples, so that a field TypeScript does
//! not know is an excess property there.

use std::collections::BTreeMap;

use edge_chat::config::Limits;
use edge_chat::delivery;
use edge_chat::domain::{
    ChatMessage, FileDescriptor, Preview, Reactor, Thread, ThreadSummary, User,
};
use edge_chat::error::ErrorCode;
use edge_chat::inbox::entry::{Entry, Last, Person, Update};
use edge_chat::inbox::frames::{InboxFrame, Snapshot};
use edge_chat::inbox::online::Seen;
use edge_chat::moderation::{Action, Parts, Rules, Stored};
use edge_chat::protocol::{Announced, ClientFrame, ReadPosition, ServerFrame};
use edge_chat::retention::Retained;
use edge_chat::search::SearchHit;
use edge_chat::session::Role;
use edge_chat::thread::ThreadUnread;
use serde_json::{json, Value};

/// The `type` of a server frame: every variant, no wildcard.
fn server_kind(frame: &ServerFrame<'_>) -> &'static str {
    match frame {
        ServerFrame::Welcome { .. } => "welcome",
        ServerFrame::Message(_) => "message",
        ServerFrame::Ack { .. } => "ack",
        ServerFrame::MessageUpdated { .. } => "message_updated",
        ServerFrame::Reaction { .. } => "reaction",
        ServerFrame::Read { .. } => "read",
        ServerFrame::History { .. } => "history",
        ServerFrame::SearchResults { .. } => "search_results",
        ServerFrame::Join { .. } => "join",
        ServerFrame::Leave { .. } => "leave",
        ServerFrame::Presence { .. } => "presence",
        ServerFrame::Roster { .. } => "roster",
        ServerFrame::Typing { .. } => "typing",
        ServerFrame::Expired { .. } => "expired",
        ServerFrame::Reactors { .. } => "reactors",
        ServerFrame::Moderation(_) => "moderation",
        ServerFrame::ModerationLog { .. } => "moderation_log",
        ServerFrame::AuthOk { .. } => "auth_ok",
        ServerFrame::ThreadUpdated { .. } => "thread_updated",
        ServerFrame::ThreadPage { .. } => "thread_page",
        ServerFrame::Unread { .. } => "unread",
        ServerFrame::Error { .. } => "error",
    }
}

/// What a client frame is: every variant, no wildcard (a moderation frame by its action).
fn client_kind(frame: &ClientFrame) -> &'static str {
    match frame {
        ClientFrame::Message { .. } => "message",
        ClientFrame::Typing => "typing",
        ClientFrame::Edit { .. } => "edit",
        ClientFrame::Delete { .. } => "delete",
        ClientFrame::React { .. } => "react",
        ClientFrame::Read { .. } => "read",
        ClientFrame::History { .. } => "history",
        ClientFrame::Thread { .. } => "thread",
        ClientFrame::Search { .. } => "search",
        ClientFrame::Roster { .. } => "roster",
        ClientFrame::Reactors { .. } => "reactors",
        ClientFrame::Auth { .. } => "auth",
        ClientFrame::Moderate { action, .. } => action.name(),
        ClientFrame::ModerationLog { .. } => "moderation_log",
    }
}

/// Every kind the samples cover: the server's frames plus `batch` (built by `delivery`, not an enum
/// variant), and every client frame with each moderation action.
const SERVER_KINDS: &[&str] = &[
    "welcome",
    "message",
    "ack",
    "message_updated",
    "reaction",
    "read",
    "history",
    "search_results",
    "join",
    "leave",
    "presence",
    "roster",
    "typing",
    "expired",
    "reactors",
    "moderation",
    "moderation_log",
    "auth_ok",
    "thread_updated",
    "thread_page",
    "unread",
    "error",
];
const CLIENT_KINDS: &[&str] = &[
    "message",
    "typing",
    "edit",
    "delete",
    "react",
    "read",
    "history",
    "thread",
    "search",
    "roster",
    "reactors",
    "auth",
    "ban",
    "unban",
    "kick",
    "mute",
    "unmute",
    "slow_mode",
    "require_identity",
    "allow_anonymous",
    "retention",
    "block",
    "unblock",
    "purge",
    "moderation_log",
];

fn user(id: &str, name: &str, uid: Option<&str>) -> User {
    User {
        id: id.into(),
        name: name.into(),
        uid: uid.map(String::from),
    }
}

/// A message with every optional field set.
fn message(seq: u64) -> ChatMessage {
    let mut m = ChatMessage::new(
        seq,
        Some(format!("m{seq}")),
        user("3f9c0d2a7b1e4c55", "ann", Some("Q2hhdC1hdXRob3ItaWQx")),
        "hello".into(),
        1_764_080_000_000,
    );
    m.reply_to = Some(1);
    m.edited_at = Some(1_764_080_001_000);
    m.version = 2;
    m.reactions = BTreeMap::from([("👍".to_string(), 2)]);
    m.rev = seq + 10;
    m.files = vec![FileDescriptor {
        id: "0f1e2d3c4b5a69788796a5b4c3d2e1f0".into(),
        name: "screen shot.png".into(),
        content_type: "image/png".into(),
        size: 48_213,
        width: Some(1280),
        height: Some(720),
        thumb: true,
    }];
    m.preview = Some(Preview {
        url: "https://example.com/post".into(),
        title: "A post".into(),
        description: "What it says".into(),
        site: "Example".into(),
        image: Some("https://example.com/cover.png".into()),
    });
    m.thread = Some(Thread::In(1));
    m.also_in_room = true;
    m.mentions = vec!["bW9kZXJhdG9y".into()];
    m.mentions_room = true;
    m
}

/// A thread's root, with its summary.
fn root() -> ChatMessage {
    let mut m = message(1);
    m.thread = Some(Thread::Root(ThreadSummary {
        replies: 2,
        last_seq: 3,
        last_at: 1_764_080_002_000,
        participants: vec!["Q2hhdC1hdXRob3ItaWQx".into()],
    }));
    m.also_in_room = false;
    m
}

fn server_samples() -> Vec<(String, Value)> {
    let ann = user("3f9c0d2a7b1e4c55", "ann", Some("Q2hhdC1hdXRob3ItaWQx"));
    let anon = user("9d2e0d2a7b1e4c55", "bob", Some("anon:9d2e0d2a7b1e4c55"));
    let bot = user("api", "deploy-bot", None);
    let history = [message(2), message(3)];
    let root = root();
    let threads = [ThreadUnread { root: 1, unread: 2 }];
    let hits = [SearchHit {
        message: message(2),
        snippet: "<mark>hello</mark>".into(),
    }];
    let counts = BTreeMap::from([("👍".to_string(), 2)]);
    // One reactor named, one from before names were kept with reactions.
    let reactors = [
        Reactor {
            uid: "Q2hhdC1hdXRob3ItaWQx".into(),
            name: Some("ann".into()),
        },
        Reactor {
            uid: "bW9kZXJhdG9y".into(),
            name: None,
        },
    ];
    let by = user("5f9c0d2a7b1e4c55", "mo", Some("bW9kZXJhdG9y"));
    let parts =
        |uid: Option<&str>, seconds, reason: Option<&str>, days, words: Option<&[&str]>| Parts {
            uid: uid.map(String::from),
            seconds,
            reason: reason.map(String::from),
            days,
            words: words.map(|w| w.iter().map(|w| w.to_string()).collect()),
        };
    let record = Action::parse(
        "mute",
        parts(Some("anon:9d2e0d2a7b1e4c55"), Some(60), None, None, None),
    )
    .unwrap()
    .record(&by, 1_764_080_000_000);
    let ban = Action::parse(
        "ban",
        parts(Some("Q2hhdC1hdXRob3ItaWQx"), None, Some("spam"), None, None),
    )
    .unwrap()
    .record(&bot, 1_764_080_000_000);
    let retention = Action::parse("retention", parts(None, None, None, Some(30), None))
        .unwrap()
        .record(&bot, 1_764_080_000_000);
    let blocked = Action::parse(
        "block",
        parts(None, None, None, None, Some(&["free money", "spam*"])),
    )
    .unwrap()
    .record(&by, 1_764_080_000_000);
    let mut rules = Rules::restore(Stored {
        bans: vec!["Q2hhdC1hdXRob3ItaWQx".into()],
        mutes: vec![("anon:9d2e0d2a7b1e4c55".into(), 1_764_080_060_000)],
        slow_secs: 30,
        identity_required: true,
        ..Stored::default()
    });
    rules.apply(&Action::Anonymous { allowed: false }, 1_764_080_000_000);
    rules.apply(&Action::Retention { days: Some(30) }, 1_764_080_000_000);
    rules.apply(
        &Action::Block {
            words: vec!["spam*".into()],
        },
        1_764_080_000_000,
    );
    let mut log_entry = serde_json::to_value(&ban).unwrap();
    log_entry["log_id"] = 12.into();
    let limits = Limits::default();
    let frames = vec![
        ServerFrame::Welcome {
            room: "lobby",
            you: &ann,
            members: vec![&ann, &anon],
            history: &history,
            last_seq: 3,
            truncated: true,
            limits: Announced::of(&limits),
            rev: 13,
            read_seq: Some(2),
            unread: 1,
            changes: Some(&history[..1]),
            online: Some(2),
            role: Role::Moderator,
            expires: Some(1_764_083_600),
            slow_mode: 30,
            identity_required: true,
            muted_until: Some(1_764_080_060_000),
            reads: Some(vec![ReadPosition {
                user: &anon,
                seq: 2,
            }]),
            mentions: Some(1),
            thread_unread: Some(2),
            threads: &threads,
            retention: Some(Retained {
                days: Some(30),
                upto: 1,
            }),
        },
        ServerFrame::Message(&history[0]),
        ServerFrame::Ack {
            id: Some("m4"),
            seq: 4,
            ts: 1_764_080_000_000,
            rev: 14,
            text: Some("h*llo"),
        },
        ServerFrame::MessageUpdated {
            message: &history[1],
            rev: 15,
        },
        ServerFrame::Reaction {
            seq: 2,
            emoji: "👍",
            user: &ann,
            on: true,
            counts: &counts,
            rev: 16,
        },
        ServerFrame::Read { user: &ann, seq: 3 },
        ServerFrame::History {
            id: Some("h1"),
            messages: &history,
            has_more: true,
        },
        ServerFrame::SearchResults {
            id: Some("s1"),
            results: &hits,
            has_more: false,
            next_before: Some(2),
            next_offset: Some(20),
        },
        ServerFrame::Join { user: &anon },
        ServerFrame::Leave { user: &anon },
        ServerFrame::Presence {
            online: 1204,
            joined: std::slice::from_ref(&anon),
            left: std::slice::from_ref(&ann),
            joins: 17,
            leaves: 3,
        },
        ServerFrame::Roster {
            id: Some("r1"),
            online: 2,
            members: vec![&ann, &anon],
            next: Some("9d2e0d2a7b1e4c55"),
        },
        ServerFrame::Typing { user: &ann },
        ServerFrame::Expired { upto: 1 },
        ServerFrame::Reactors {
            id: Some("w1"),
            seq: 2,
            emoji: "👍",
            users: &reactors,
            next: Some("Q2hhdC1hdXRob3ItaWQx"),
        },
        ServerFrame::Moderation(&record),
        ServerFrame::Moderation(&retention),
        ServerFrame::Moderation(&blocked),
        ServerFrame::ModerationLog {
            id: Some("l1"),
            records: std::slice::from_ref(&log_entry),
            has_more: false,
            rules: rules.view(1_764_080_000_000),
        },
        ServerFrame::AuthOk {
            id: Some("a1"),
            role: Role::Member,
            expires: 1_764_083_600,
        },
        ServerFrame::ThreadUpdated {
            root: 1,
            thread: root.summary().unwrap(),
            rev: 17,
        },
        ServerFrame::ThreadPage {
            id: Some("t1"),
            root: &root,
            replies: &history,
            has_more: false,
        },
        ServerFrame::Unread {
            mentions: 1,
            thread_unread: 2,
            threads: &threads,
        },
        ServerFrame::Error {
            code: ErrorCode::RateLimited,
            message: "slow down",
            id: Some("m5"),
        },
    ];
    let mut samples: Vec<(String, Value)> = frames
        .iter()
        .map(|f| {
            let v: Value = serde_json::from_str(&f.to_json()).unwrap();
            assert_eq!(v["type"], server_kind(f), "the kind names the frame's type");
            (server_kind(f).to_string(), v)
        })
        .collect();
    // A bot's message: the one author without a uid.
    let mut posted = message(5);
    posted.from = bot;
    let bot_message: Value =
        serde_json::from_str(&ServerFrame::Message(&posted).to_json()).unwrap();
    samples.push(("message".into(), bot_message));
    let (one, two) = (frames[1].to_json(), frames[2].to_json());
    let batch = delivery::pack(&[&one, &two]).unwrap();
    samples.push(("batch".into(), serde_json::from_str(&batch).unwrap()));
    samples
}

fn client_samples() -> Vec<(String, Value)> {
    let frames = [
        json!({"type": "message", "text": "hi", "id": "m1", "reply_to": 3, "thread": 1, "also_in_room": true,
               "files": ["0f1e2d3c4b5a69788796a5b4c3d2e1f0"]}),
        json!({"type": "typing"}),
        json!({"type": "edit", "seq": 3, "text": "hi!", "id": "e1", "files": [], "preview": false}),
        json!({"type": "delete", "seq": 3, "reason": "off topic", "id": "d1"}),
        json!({"type": "react", "seq": 3, "emoji": "👍", "on": true, "id": "r1"}),
        json!({"type": "read", "seq": 3, "thread": 1}),
        json!({"type": "thread", "root": 1, "after": 2, "limit": 50, "id": "t1"}),
        json!({"type": "history", "before": 40, "limit": 50, "id": "h1"}),
        json!({"type": "search", "q": "hello", "limit": 20, "before": 40, "offset": 20, "id": "s1"}),
        json!({"type": "roster", "after": "3f9c0d2a7b1e4c55", "limit": 100, "id": "o1"}),
        json!({"type": "auth", "token": "v1.abc.def", "id": "a1"}),
        json!({"type": "reactors", "seq": 3, "emoji": "👍", "after": "Q2hhdC1hdXRob3ItaWQx", "limit": 20, "id": "w1"}),
        json!({"type": "ban", "uid": "anon:9d2e0d2a7b1e4c55", "reason": "spam", "id": "b1"}),
        json!({"type": "unban", "uid": "anon:9d2e0d2a7b1e4c55", "id": "b2"}),
        json!({"type": "kick", "uid": "anon:9d2e0d2a7b1e4c55", "id": "k1"}),
        json!({"type": "mute", "uid": "anon:9d2e0d2a7b1e4c55", "seconds": 600, "id": "u1"}),
        json!({"type": "unmute", "uid": "anon:9d2e0d2a7b1e4c55", "id": "u2"}),
        json!({"type": "slow_mode", "seconds": 30, "id": "w1"}),
        json!({"type": "require_identity", "id": "i1"}),
        json!({"type": "allow_anonymous", "id": "i2"}),
        json!({"type": "retention", "days": 30, "id": "t1"}),
        json!({"type": "block", "words": ["free money", "spam*"], "id": "k2"}),
        json!({"type": "unblock", "words": ["spam*"], "id": "k3"}),
        json!({"type": "purge", "uid": "anon:9d2e0d2a7b1e4c55", "seconds": 3600, "reason": "spam", "id": "p1"}),
        json!({"type": "moderation_log", "before": 12, "limit": 50, "id": "l1"}),
    ];
    frames
        .into_iter()
        .map(|v| {
            let decoded = ClientFrame::decode(&v.to_string())
                .unwrap_or_else(|e| panic!("the room must take its own sample {v}: {e:?}"));
            (client_kind(&decoded).to_string(), v)
        })
        .collect()
}

/// The `type` of an inbox socket's frame: every variant, no wildcard.
fn inbox_kind(frame: &InboxFrame<'_>) -> &'static str {
    match frame {
        InboxFrame::Inbox(_) => "inbox",
        InboxFrame::Entry { .. } => "entry",
        InboxFrame::Removed { .. } => "removed",
        InboxFrame::Online(_) => "online",
        InboxFrame::Error { .. } => "error",
    }
}

const INBOX_KINDS: &[&str] = &["inbox", "entry", "removed", "online", "error"];

/// One sample of every inbox frame, a direct message's entry among them (every optional field set).
fn inbox_samples() -> Vec<(String, Value)> {
    let update = Update {
        room: "dm.0123456789abcdef0123456789abcdef".into(),
        stamp: 7,
        last_seq: 12,
        read_seq: 10,
        unread: 2,
        mentions: 1,
        threads: 0,
        last: Some(Last {
            seq: 12,
            uid: Some("Q2hhdC1hdXRob3ItaWQx".into()),
            name: "ann".into(),
            text: "see you".into(),
            at: 1_764_080_000_000,
        }),
        big: false,
        dm: Some(vec![Person {
            uid: "Q2hhdC1hdXRob3ItaWQx".into(),
            name: Some("ann".into()),
        }]),
        gone: false,
    };
    let mut bot = update.clone();
    bot.room = "lobby".into();
    bot.dm = None;
    bot.last = Some(Last {
        uid: None,
        ..bot.last.clone().unwrap()
    });
    let (dm, room) = (Entry::new(&update, 1), Entry::new(&bot, 2));
    let seen = [
        Seen {
            uid: "Q2hhdC1hdXRob3ItaWQx".into(),
            online: false,
            last_seen: Some(1_764_080_000_000),
        },
        Seen {
            uid: "bW9kZXJhdG9y".into(),
            online: true,
            last_seen: None,
        },
    ];
    let frames = [
        InboxFrame::Inbox(Snapshot {
            uid: "bW9kZXJhdG9y",
            name: Some("mo"),
            rooms: vec![dm.view(), room.view()],
            online: &seen,
        }),
        InboxFrame::Entry { entry: dm.view() },
        InboxFrame::Entry { entry: room.view() },
        InboxFrame::Removed { room: "lobby" },
        InboxFrame::Online(&seen[0]),
        InboxFrame::Online(&seen[1]),
        InboxFrame::Error {
            code: ErrorCode::BadRequest,
            message: "the inbox socket takes no frames",
        },
    ];
    frames
        .iter()
        .map(|f| {
            let v: Value = serde_json::from_str(&f.to_json()).unwrap();
            assert_eq!(v["type"], inbox_kind(f));
            (inbox_kind(f).to_string(), v)
        })
        .collect()
}

fn kinds(samples: &[(String, Value)]) -> Vec<String> {
    let mut k: Vec<String> = samples.iter().map(|(k, _)| k.clone()).collect();
    k.sort();
    k.dedup();
    k
}

#[test]
fn every_frame_has_a_sample_and_they_are_written_for_the_type_check() {
    let server = server_samples();
    let client = client_samples();
    let mut want: Vec<String> = SERVER_KINDS.iter().map(|s| s.to_string()).collect();
    want.push("batch".into());
    want.sort();
    assert_eq!(kinds(&server), want, "a sample of every server frame");
    let mut want: Vec<String> = CLIENT_KINDS.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(kinds(&client), want, "a sample of every client frame");
    let inbox = inbox_samples();
    let mut want: Vec<String> = INBOX_KINDS.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(kinds(&inbox), want, "a sample of every inbox frame");
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/.artifacts");
    std::fs::create_dir_all(&out).unwrap();
    let body = json!({
        "server": server.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
        "client": client.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
        "inbox": inbox.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
    });
    std::fs::write(
        out.join("frame-samples.json"),
        serde_json::to_string_pretty(&body).unwrap(),
    )
    .unwrap();
}
