//! Issue 7, hostile input: property tests (proptest) over everything a client controls — the frame
//! decoder, the validators of names, ids, rooms and queries, the routes, tokens, and the room state
//! machine fed arbitrary event sequences. Nothing may panic (a panic in the Worker takes down every room
//! of its isolate), every refusal carries the documented error code, and what one socket sends never
//! reaches another unless it is a valid message.
//!
//! The decoder's answers are checked against a small oracle written from docs/PROTOCOL.md, so a
//! difference is either a bug in the decoder or in the document. The same decoder is also fuzzed with
//! libFuzzer: `make fuzz` (fuzz/fuzz_targets/decode.rs).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use edge_chat::access;
use edge_chat::auth;
use edge_chat::config::{Config, Limits};
use edge_chat::domain::{ChatMessage, User};
use edge_chat::effect::{Effect, CLOSE_FLOODING, CLOSE_TOO_BIG};
use edge_chat::error::ErrorCode;
use edge_chat::history::MemoryHistory;
use edge_chat::identity::AddressTag;
use edge_chat::protocol::{Announced, ClientFrame, ServerFrame};
use edge_chat::rate::{Rate, TokenBucket, FLOOD_STRIKES};
use edge_chat::room::{Incoming, Room};
use edge_chat::routes::Route;
use edge_chat::subprotocol::Offer;
use edge_chat::validate::{
    self, RoomName, UserName, MAX_FRAME_BYTES, MAX_ID_CHARS, MAX_TEXT_CHARS,
};
use proptest::prelude::*;
use serde_json::{json, Value};

/// `cases` runs per property, or `PROPTEST_CASES` when set (`make soak` runs many more).
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ------------------------------------------------------------------------------------------ strategies

/// Characters that break naive code: controls, separators, whitespace that `trim` knows, invisible
/// ones it does not, combining marks, surrogate neighbours, the last scalar value, JSON's specials.
const EDGE_CHARS: &[char] = &[
    '\0',
    '\u{7}',
    '\t',
    '\n',
    '\r',
    '\u{1b}',
    '\u{7f}',
    '\u{85}',
    '\u{a0}',
    ' ',
    '\u{2003}',
    '\u{3000}',
    '\u{2028}',
    '\u{2029}',
    '\u{200b}',
    '\u{200d}',
    '\u{feff}',
    '\u{301}',
    'e',
    'é',
    'ß',
    '\u{d7ff}',
    '\u{e000}',
    '\u{fffd}',
    '\u{ffff}',
    '\u{10ffff}',
    '🦀',
    '👩',
    '"',
    '\\',
    '/',
    '{',
    '}',
    '[',
    ']',
    ':',
    ',',
    'a',
    'Z',
    '0',
    '-',
    '_',
    '.',
    '%',
    '<',
];

/// Strings of edge characters, most short, some near the limits that matter (32, 64, 4000).
fn edgy_string() -> impl Strategy<Value = String> {
    let chars = prop::sample::select(EDGE_CHARS);
    prop_oneof![
        4 => prop::collection::vec(chars.clone(), 0..40).prop_map(|v| v.into_iter().collect()),
        1 => (prop::collection::vec(chars.clone(), 1..4), 28usize..70).prop_map(|(v, n)| v.iter().cycle().take(n).collect()),
        1 => (prop::collection::vec(chars, 1..4), 3990usize..4010).prop_map(|(v, n)| v.iter().cycle().take(n).collect()),
        2 => any::<String>(),
    ]
}

/// Any JSON value, nested a few levels, with edgy strings and keys that the decoder looks at.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        edgy_string().prop_map(Value::String),
        prop::sample::select(vec!["message", "typing", "Message", "ack", ""])
            .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec!["type", "text", "id"]).prop_map(String::from),
        1 => edgy_string(),
    ]
}

/// Objects shaped like client frames, with each field missing, null, of a wrong type or edgy.
fn frame_like() -> impl Strategy<Value = Value> {
    let field = |common: Value| {
        prop_oneof![
            2 => Just(None),
            1 => Just(Some(Value::Null)),
            3 => Just(Some(common)),
            3 => edgy_string().prop_map(|s| Some(Value::String(s))),
            1 => json_value().prop_map(Some),
        ]
    };
    let number = prop_oneof![
        3 => (0u64..50).prop_map(|n| json!(n)),
        1 => Just(json!(-1)),
        1 => Just(json!(1.5)),
        1 => Just(json!(u64::MAX)),
        1 => json_value(),
    ];
    let emoji = prop_oneof![
        2 => prop::sample::select(vec!["👍", "👍🏽", "👩‍💻", "lol", "", "👍 👍"]).prop_map(|e| json!(e)),
        1 => json_value(),
    ];
    let living = (
        prop::option::of(number.clone()),
        prop::option::of(number.clone()),
        prop::option::of(emoji),
        prop::option::of(prop_oneof![
            Just(json!(true)),
            Just(json!(false)),
            json_value()
        ]),
        prop::option::of(number.clone()),
        prop::option::of(number),
        // a search's `q`: words, FTS5 syntax, nothing to search for, or not a string at all
        prop::option::of(prop_oneof![
            2 => prop::sample::select(vec!["cafe", "NEAR(", "\"", "()", "", "run* OR \"a b\""]).prop_map(|q| json!(q)),
            1 => edgy_string().prop_map(Value::String),
            1 => json_value(),
        ]),
    );
    (
        field(json!("message")),
        field(json!("hello")),
        field(json!("c-1")),
        prop::collection::btree_map(edgy_string(), json_value(), 0..3),
        living,
        prop::sample::select(vec![
            "message", "edit", "delete", "react", "read", "history", "search", "typing",
        ]),
        any::<bool>(),
    )
        .prop_map(
            |(
                kind,
                text,
                id,
                extra,
                (seq, reply_to, emoji, on, before, limit, q),
                living_kind,
                use_living,
            )| {
                let mut m: serde_json::Map<String, Value> = extra.into_iter().collect();
                let kind = if use_living {
                    Some(json!(living_kind))
                } else {
                    kind
                };
                for (k, v) in [
                    ("seq", seq),
                    ("reply_to", reply_to),
                    ("emoji", emoji),
                    ("on", on),
                    ("before", before),
                    ("limit", limit),
                    ("q", q),
                ] {
                    if let Some(v) = v {
                        m.insert(k.to_string(), v);
                    }
                }
                for (k, v) in [("type", kind), ("text", text), ("id", id)] {
                    match v {
                        Some(v) => m.insert(k.to_string(), v),
                        None => m.remove(k),
                    };
                }
                Value::Object(m)
            },
        )
}

// ---------------------------------------------------------------------------------------- the oracle

#[derive(Debug, PartialEq)]
enum Expected {
    Message {
        text: String,
        id: Option<String>,
    },
    Typing,
    /// A valid edit, delete, react, read, history or search frame.
    Living,
    Refused(ErrorCode),
}

/// What docs/PROTOCOL.md says the room answers to a frame that is valid JSON.
fn oracle(v: &Value) -> Expected {
    use Expected::Refused;
    let Value::Object(m) = v else {
        return Refused(ErrorCode::BadRequest); // not an object
    };
    // `null` reads as absent; any other non-string is a wrong type.
    let field = |k: &str| match m.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(()),
    };
    let (Ok(kind), Ok(text), Ok(id)) = (field("type"), field("text"), field("id")) else {
        return Refused(ErrorCode::BadRequest);
    };
    // The fields of the living-message frames: whole numbers 0..=u64::MAX, a string, a boolean —
    // read (and type-checked) whatever the frame's type.
    let number = |k: &str| match m.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or(()),
    };
    let (Ok(seq), Ok(_reply_to), Ok(before), Ok(limit)) = (
        number("seq"),
        number("reply_to"),
        number("before"),
        number("limit"),
    ) else {
        return Refused(ErrorCode::BadRequest);
    };
    let (Ok(emoji), Ok(q), Ok(())) = (
        field("emoji"),
        field("q"),
        match m.get("on") {
            None | Some(Value::Null) | Some(Value::Bool(_)) => Ok(()),
            Some(_) => Err(()),
        },
    ) else {
        return Refused(ErrorCode::BadRequest);
    };
    if let Some(id) = &id {
        if id.is_empty() || id.chars().count() > MAX_ID_CHARS || id.chars().any(char::is_control) {
            return Refused(ErrorCode::BadRequest);
        }
    }
    let checked_text = |text: Option<String>| match text {
        None => Err(Refused(ErrorCode::BadRequest)),
        Some(t) if t.trim().is_empty() => Err(Refused(ErrorCode::BadRequest)),
        Some(t) if t.chars().count() > MAX_TEXT_CHARS => Err(Refused(ErrorCode::TooLarge)),
        Some(text) => Ok(text),
    };
    match kind.as_deref() {
        Some("typing") => Expected::Typing,
        Some("message") => match checked_text(text) {
            Ok(text) => Expected::Message { text, id },
            Err(e) => e,
        },
        // the target first, then the text
        Some("edit") if seq.is_none() => Refused(ErrorCode::BadRequest),
        Some("edit") => match checked_text(text) {
            Err(e) => e,
            Ok(_) => Expected::Living,
        },
        Some("delete" | "read") if seq.is_none() => Refused(ErrorCode::BadRequest),
        Some("delete" | "read") => Expected::Living,
        Some("react") => match emoji {
            Some(e) if seq.is_some() && validate::check_emoji(&e).is_ok() => Expected::Living,
            _ => Refused(ErrorCode::BadRequest),
        },
        // `q` first (missing: bad_request; nothing to search for, too long: bad_query), then `limit`
        Some("search") => match q {
            None => Refused(ErrorCode::BadRequest),
            Some(q) if edge_chat::search::SearchQuery::parse(&q).is_err() => {
                Refused(ErrorCode::BadQuery)
            }
            Some(_) => match limit {
                Some(n) if !(1..=50).contains(&n) => Refused(ErrorCode::BadLimit),
                _ => Expected::Living,
            },
        },
        Some("history") => match limit {
            Some(n) if !(1..=100).contains(&n) => Refused(ErrorCode::BadLimit),
            _ => {
                let _ = before;
                Expected::Living
            }
        },
        _ => Refused(ErrorCode::BadRequest),
    }
}

fn decoded(raw: &str) -> Expected {
    match ClientFrame::decode(raw) {
        Ok(ClientFrame::Message { text, id, .. }) => Expected::Message { text, id },
        Ok(ClientFrame::Typing) => Expected::Typing,
        Ok(_) => Expected::Living,
        Err(e) => {
            assert!(!e.problem.message.is_empty(), "an error says why");
            // bounded whatever the input (a quoted type name is cut at 32 characters, each at most
            // 10 once escaped; serde's own message at 100)
            assert!(
                e.problem.message.chars().count() < 512,
                "error messages stay short: {}",
                e.problem.message
            );
            Expected::Refused(e.problem.code)
        }
    }
}

// --------------------------------------------------------------------------------------- the decoder

proptest! {
    #![proptest_config(config(1000))]

    /// Arbitrary bytes (as the runtime would hand them over: invalid UTF-8 replaced) never panic, and
    /// only the three frame error codes ever come back.
    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let raw = String::from_utf8_lossy(&bytes);
        match decoded(&raw) {
            Expected::Refused(code) => prop_assert!(
                matches!(code, ErrorCode::BadJson | ErrorCode::BadRequest | ErrorCode::TooLarge | ErrorCode::BadLimit),
                "{code:?}"
            ),
            Expected::Living => {}
            Expected::Message { text, id } => {
                prop_assert!(validate::check_text(&text).is_ok());
                prop_assert!(id.is_none_or(|id| validate::check_client_id(&id).is_ok()));
            }
            Expected::Typing => {}
        }
    }

    /// Every JSON value is answered exactly as the protocol document says (wrong types, nulls, unicode
    /// edge cases, overlong texts and ids, unknown fields, non-objects).
    #[test]
    fn every_json_frame_gets_the_documented_answer(v in prop_oneof![frame_like(), json_value()]) {
        let raw = v.to_string();
        prop_assert_eq!(decoded(&raw), oracle(&v), "frame {}", raw);
    }

    /// Text that is not JSON is `bad_json`, whatever it looks like.
    #[test]
    fn text_that_is_not_json_is_bad_json(s in edgy_string()) {
        prop_assume!(serde_json::from_str::<serde::de::IgnoredAny>(&s).is_err());
        prop_assert_eq!(decoded(&s), Expected::Refused(ErrorCode::BadJson));
    }

    /// A refused frame names the client id when it is a valid one, so the client knows which of its
    /// messages was refused; an invalid id is never echoed.
    #[test]
    fn refusals_echo_only_valid_ids(v in frame_like()) {
        let raw = v.to_string();
        if let Err(e) = ClientFrame::decode(&raw) {
            if let Some(id) = &e.id {
                prop_assert!(validate::check_client_id(id).is_ok());
                prop_assert_eq!(v.get("id").and_then(Value::as_str), Some(id.as_str()));
            }
        }
    }

    /// Texts are counted in Unicode scalar values: exactly 1..=4000 of them, not only whitespace.
    #[test]
    fn text_limits_count_characters(c in prop::sample::select(EDGE_CHARS), n in 3995usize..4005) {
        let text: String = std::iter::repeat_n(c, n).collect();
        let frame = json!({"type": "message", "text": text, "id": "k"}).to_string();
        let expected = if c.is_whitespace() {
            Expected::Refused(ErrorCode::BadRequest)
        } else if n > MAX_TEXT_CHARS {
            Expected::Refused(ErrorCode::TooLarge)
        } else {
            Expected::Message { text, id: Some("k".into()) }
        };
        prop_assert_eq!(decoded(&frame), expected);
    }
}

/// The prebuilt answers for the classic nasty frames, pinned down one by one.
#[test]
fn nasty_frames_get_their_documented_code() {
    use ErrorCode::*;
    let cases: &[(&str, Option<ErrorCode>)] = &[
        ("", Some(BadJson)),
        ("\u{feff}{\"type\":\"typing\"}", Some(BadJson)), // a byte order mark is not JSON
        // JSON by its grammar (JavaScript's JSON.parse takes it), but not a string Rust can hold
        (
            "{\"type\":\"message\",\"text\":\"\\ud800\"}",
            Some(BadRequest),
        ),
        ("1e999", Some(BadRequest)), // JSON (a number too large for f64), but not an object
        ("NaN", Some(BadJson)),
        ("null", Some(BadRequest)),
        ("\"message\"", Some(BadRequest)),
        ("[\"message\",\"by position\",\"c-1\"]", Some(BadRequest)), // serde reads structs from arrays
        ("[\"typing\"]", Some(BadRequest)),
        (
            "{\"type\":\"message\",\"type\":\"typing\",\"text\":\"x\"}",
            Some(BadRequest),
        ), // duplicate key
        (
            "{\"type\":\"message\",\"text\":\"x\",\"id\":9007199254740993}",
            Some(BadRequest),
        ),
        ("{\"type\":\"message\",\"text\":\"\\u0000\"}", None), // a NUL inside a text is just text
        ("{\"type\":\"typing\",\"text\":5}", Some(BadRequest)),
        ("{\"type\":\"typing\",\"id\":\"\"}", Some(BadRequest)),
        ("  {\"type\":\"typing\"}\n", None),
    ];
    for (raw, code) in cases {
        let got = decoded(raw);
        match code {
            Some(code) => assert_eq!(got, Expected::Refused(*code), "{raw:?}"),
            None => assert!(!matches!(got, Expected::Refused(_)), "{raw:?}: {got:?}"),
        }
    }
}

/// Deep nesting, anywhere in a frame, is answered without exhausting the stack, even a small one (the
/// Worker's wasm stack is 1 MiB): serde_json stops at 128 levels, and skips unknown fields iteratively.
#[test]
fn deep_json_is_refused_without_exhausting_a_small_stack() {
    let run = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            for depth in [127, 128, 129, 1_000, 20_000] {
                let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
                let objects = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
                for nested in [&arrays, &objects] {
                    for raw in [
                        nested.clone(),
                        format!(r#"{{"type":"message","text":{nested}}}"#),
                        format!(r#"{{"type":"message","text":"hi","id":{nested}}}"#),
                        format!(r#"{{"type":{nested}}}"#),
                    ] {
                        assert!(
                            matches!(decoded(&raw), Expected::Refused(_)),
                            "depth {depth}"
                        );
                    }
                    // an unknown field is ignored however deep it is
                    let raw = format!(r#"{{"type":"typing","x":{nested}}}"#);
                    assert_eq!(decoded(&raw), Expected::Typing, "depth {depth}");
                }
            }
        })
        .expect("spawn");
    run.join().expect("no stack overflow, no panic");
}

/// Huge frames cost the room nothing: it measures them before reading them (close 1009).
#[test]
fn huge_frames_are_closed_before_being_decoded() {
    let mut h = MemoryHistory::default();
    let mut r: Room<()> = Room::new("r", Limits::default(), 0);
    r.join(user("a"), (), None, &mut h, 0).unwrap();
    r.join(user("b"), (), None, &mut h, 0).unwrap();
    let huge = format!(r#"{{"type":"message","text":"{}"}}"#, "x".repeat(10 << 20));
    let effects = r.receive("a", Incoming::Text(&huge), 0);
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::Close { code, .. } if *code == CLOSE_TOO_BIG)));
    let at_limit = "x".repeat(MAX_FRAME_BYTES);
    let effects = r.receive("b", Incoming::Text(&at_limit), 0);
    assert!(
        !effects.iter().any(|e| matches!(e, Effect::Close { .. })),
        "64 KiB exactly is read"
    );
    assert!(r.flush(&mut h, 0).is_empty());
    assert!(h.messages.is_empty());
}

// ------------------------------------------------------------------------------- inboxes and DMs

proptest! {
    #![proptest_config(config(500))]

    /// `POST /api/dms`: any body is a clear refusal or a set of 2..=9 checked, sorted, distinct
    /// identity uids holding the opener, whose room is a direct message's and names them.
    #[test]
    fn direct_message_bodies(body in prop_oneof![edgy_string(), json_value().prop_map(|v| json!({"with": v}).to_string())]) {
        match edge_chat::inbox::dm::members_of_request("opener-uid", &body) {
            Ok(members) => {
                prop_assert!((2..=edge_chat::inbox::dm::MAX_MEMBERS).contains(&members.len()));
                prop_assert!(members.windows(2).all(|w| w[0] < w[1]), "sorted, no repeats");
                prop_assert!(members.iter().any(|m| m == "opener-uid"));
                prop_assert!(members.iter().all(|m| !m.starts_with("anon:")));
                let room = edge_chat::inbox::dm::room_of(&members).unwrap();
                prop_assert!(edge_chat::inbox::dm::is_dm(&room));
                prop_assert!(edge_chat::inbox::dm::names(&room, &members));
            }
            Err(p) => prop_assert!(matches!(p.code, ErrorCode::BadRequest | ErrorCode::BadJson | ErrorCode::TooLarge)),
        }
    }

    /// A call to an inbox object, whatever its path, query and body: a typed call or a refusal,
    /// never a panic; what parses is asked of the uid it names.
    #[test]
    fn inbox_calls(path in edgy_string(), query in edgy_string(), body in prop_oneof![edgy_string(), json_value().prop_map(|v| v.to_string())]) {
        for method in ["GET", "POST"] {
            if let Ok(call) = edge_chat::inbox::call::InboxCall::parse(method, &path, &query, Some(&body)) {
                prop_assert!(!call.uid().is_empty());
            }
        }
    }
}

// ------------------------------------------------------------------------------------- the validators

proptest! {
    #![proptest_config(config(1000))]

    /// Names: trimmed, then 1..=32 characters without control characters; the result is the trimmed
    /// name, unchanged otherwise.
    #[test]
    fn user_names(raw in edgy_string()) {
        let trimmed = raw.trim();
        let ok = (1..=32).contains(&trimmed.chars().count()) && !trimmed.chars().any(char::is_control);
        match UserName::parse(&raw) {
            Ok(name) => { prop_assert!(ok); prop_assert_eq!(name.as_str(), trimmed); }
            Err(p) => { prop_assert!(!ok); prop_assert_eq!(p.code, ErrorCode::BadName); }
        }
    }

    /// Client ids: 1..=64 characters without control characters, kept as given (no trimming).
    #[test]
    fn client_ids(raw in edgy_string()) {
        let ok = (1..=MAX_ID_CHARS).contains(&raw.chars().count()) && !raw.chars().any(char::is_control);
        match validate::check_client_id(&raw) {
            Ok(id) => { prop_assert!(ok); prop_assert_eq!(id, raw); }
            Err(p) => { prop_assert!(!ok); prop_assert_eq!(p.code, ErrorCode::BadRequest); }
        }
    }

    /// Rooms: 1..=64 of A-Z a-z 0-9 _ . - (ASCII only: no look-alikes, no percent-encoding).
    #[test]
    fn room_names(raw in prop_oneof![edgy_string(), "[A-Za-z0-9_.-]{0,70}"]) {
        let ok = (1..=64).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        match RoomName::parse(&raw) {
            Ok(room) => { prop_assert!(ok); prop_assert_eq!(room.as_str(), raw.as_str()); }
            Err(p) => { prop_assert!(!ok); prop_assert_eq!(p.code, ErrorCode::BadRoom); }
        }
    }

    /// `after=`: a decimal whole number below 2^53 (exact in JavaScript). Rust's parser also takes a
    /// leading `+`, which is harmless (`+5` is 5).
    #[test]
    fn after_queries(raw in prop_oneof![edgy_string(), "[+-]?[0-9]{0,20}", (0u64..u64::MAX).prop_map(|n| n.to_string())]) {
        let digits = raw.strip_prefix('+').unwrap_or(&raw);
        let expected = if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            digits.parse::<u128>().ok().filter(|n| *n < 1 << 53).map(|n| n as u64)
        } else {
            None
        };
        match validate::parse_seq(&raw) {
            Ok(n) => prop_assert_eq!(Some(n), expected),
            Err(p) => { prop_assert_eq!(expected, None); prop_assert_eq!(p.code, ErrorCode::BadAfter); }
        }
    }

    /// `limit=`: 1..=1000, anything else is `bad_limit`.
    #[test]
    fn page_limits(raw in prop_oneof![edgy_string(), "[+-]?[0-9]{0,6}"]) {
        match validate::parse_page_limit(&raw) {
            Ok(n) => prop_assert!((1..=1000).contains(&n)),
            Err(p) => prop_assert_eq!(p.code, ErrorCode::BadLimit),
        }
    }

    /// Paths: any method and path maps to a route or to 400/404/405 — never a panic, never a room
    /// with an invalid name.
    #[test]
    fn routes_never_panic(method in prop::sample::select(vec!["GET", "POST", "HEAD", "PUT", "", "get"]),
                          segments in prop::collection::vec(prop_oneof![
                              prop::sample::select(vec!["ws", "api", "rooms", "messages", "health", "tokens", "", ".", ".."]).prop_map(String::from),
                              edgy_string(),
                          ], 0..6)) {
        let path = format!("/{}", segments.join("/"));
        match Route::parse(method, &path) {
            Ok(Route::Socket(r) | Route::RoomInfo(r) | Route::History(r) | Route::Post(r)) => {
                prop_assert!(RoomName::parse(r.as_str()).is_ok());
            }
            Ok(_) => {}
            Err(p) => prop_assert!(matches!(
                p.code,
                ErrorCode::BadRoom | ErrorCode::NotFound | ErrorCode::MethodNotAllowed
            ), "{:?}", p.code),
        }
    }

    /// A socket's query (name, after, token) is accepted only when every part is valid.
    #[test]
    fn join_queries(name in edgy_string(), after in prop::option::of("[0-9+-]{0,20}"), token in prop::option::of(edgy_string()), signed in any::<bool>()) {
        let secret = signed.then(|| "s3cret".to_string());
        let config = Config::parse(|k| (k == "AUTH_SECRET").then(|| secret.clone()).flatten()).expect("config");
        let room = RoomName::parse("lobby").expect("room");
        let mut query = vec![("name".to_string(), name.clone())];
        if let Some(a) = &after { query.push(("after".into(), a.clone())); }
        if let Some(t) = &token { query.push(("token".into(), t.clone())); }
        let checked = access::may_enter(&config, &room, &access::Credentials::new(None, &query), false, 1_000)
            .and_then(|admission| match admission {
                access::Admission::Ready(entry) => access::check_join(&query, &entry, &Offer::parse(None), None),
                access::Admission::NeedsKey(..) => panic!("no JWKS configured"),
            });
        match checked {
            Ok(join) => {
                prop_assert!(!signed, "an arbitrary token never verifies");
                prop_assert!(UserName::parse(&name).is_ok());
                prop_assert_eq!(join.after, after.as_deref().map(|a| validate::parse_seq(a).expect("valid")));
            }
            Err(p) => prop_assert!(matches!(
                p.code,
                ErrorCode::BadName | ErrorCode::BadAfter | ErrorCode::Unauthorized
            )),
        }
    }

    /// Tokens: arbitrary strings never verify, and a valid token altered anywhere stops verifying.
    #[test]
    fn handshake_offers_and_addresses_never_panic(header in edgy_string(), key in edgy_string(), address in edgy_string()) {
        let offered = format!("edge-chat, key.{key}, {header}");
        let offer = Offer::parse(Some(&offered));
        prop_assert!(offer.edge_chat);
        let query = vec![("name".to_string(), "ann".to_string())];
        match access::check_join(&query, &access::Entry::Open, &offer, AddressTag::of(&address)) {
            Ok(join) => prop_assert_eq!(join.uid.is_some(), offer.key.is_some()),
            Err(p) => prop_assert_eq!(p.code, ErrorCode::BadKey),
        }
        if let Some(tag) = AddressTag::of(&address) {
            prop_assert_eq!(AddressTag::parse(&tag.to_string()), Some(tag));
        }
    }

    #[test]
    fn tokens_resist_tampering(junk in edgy_string(), flip in any::<prop::sample::Index>(), name in "[a-z]{1,10}") {
        let room = RoomName::parse("lobby").expect("room");
        prop_assert!(auth::verify("k", &junk, &room, 0).is_err());
        let grant = auth::Grant { room: "lobby".into(), name, exp: 100, uid: None };
        let token = auth::mint("k", &grant).expect("mint");
        prop_assert_eq!(auth::verify("k", &token, &room, 0).expect("valid"), grant);
        let mut bytes = token.into_bytes();
        let i = flip.index(bytes.len());
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        if let Ok(tampered) = String::from_utf8(bytes) {
            // base64 has slack bits in its last character: a change there may decode to the same bytes
            if let Ok(g) = auth::verify("k", &tampered, &room, 0) {
                prop_assert_eq!(g.room, "lobby");
            }
        }
    }

    /// Whatever the names and texts, the frames the room sends are valid JSON that round-trips them.
    #[test]
    fn server_frames_are_always_valid_json(name in edgy_string(), text in edgy_string(), id in prop::option::of(edgy_string())) {
        let from = User { id: "c1".into(), name: name.clone(), uid: None };
        let msg = ChatMessage::new(1, id.clone(), from.clone(), text.clone(), 2);
        let v: Value = serde_json::from_str(&ServerFrame::Message(&msg).to_json()).expect("JSON");
        prop_assert_eq!(v["text"].as_str(), Some(text.as_str()));
        prop_assert_eq!(v["from"]["name"].as_str(), Some(name.as_str()));
        let limits = Limits::default();
        let welcome = ServerFrame::Welcome { room: "r", you: &from, members: vec![&from], history: std::slice::from_ref(&msg), last_seq: 1, truncated: false, limits: Announced::of(&limits), rev: 1, read_seq: None, unread: 0, changes: None, role: Default::default(), expires: None, slow_mode: 0, identity_required: false, muted_until: None, online: None, reads: None, mentions: None, thread_unread: None, threads: &[], retention: None };
        let v: Value = serde_json::from_str(&welcome.to_json()).expect("JSON");
        prop_assert_eq!(v["history"][0]["id"].as_str(), id.as_deref());
    }

    /// The bucket never lets through more than `burst + rate × elapsed`, whatever the clock does
    /// (including going backwards).
    #[test]
    fn the_bucket_never_exceeds_its_rate(times in prop::collection::vec(0u64..20_000, 1..300), burst in 1u32..50, rate in 1u32..50) {
        let limits = Rate { burst: burst as f64, per_sec: rate as f64 };
        let start = times[0] as f64;
        let mut bucket = TokenBucket::full(&limits, start);
        let mut latest = start;
        let mut taken = 0u32;
        for t in times {
            latest = latest.max(t as f64);
            if bucket.take(&limits, t as f64) {
                taken += 1;
            }
            let allowed = burst as f64 + rate as f64 * (latest - start) / 1000.0;
            prop_assert!(taken as f64 <= allowed + 1e-9, "{} > {}", taken, allowed);
        }
    }
}

// ----------------------------------------------------------------------------- the room, under attack

fn user(id: &str) -> User {
    User {
        id: id.into(),
        uid: None,
        name: format!("n-{id}"),
    }
}

#[derive(Debug, Clone)]
enum Op {
    Join(usize, Option<u64>),
    Leave(usize),
    Say(usize, Option<u8>),
    Typing(usize),
    Junk(usize, Vec<u8>),
    Json(usize, Value),
    Binary(usize, usize),
    Huge(usize),
    Wait(u64),
    /// The room's flush timer fires: everything queued is stored and announced.
    Flush,
}

fn op() -> impl Strategy<Value = Op> {
    let conn = 0usize..5;
    prop_oneof![
        2 => (conn.clone(), prop::option::of(0u64..40)).prop_map(|(c, a)| Op::Join(c, a)),
        1 => conn.clone().prop_map(Op::Leave),
        6 => (conn.clone(), prop::option::of(0u8..8)).prop_map(|(c, id)| Op::Say(c, id)),
        1 => conn.clone().prop_map(Op::Typing),
        2 => (conn.clone(), prop::collection::vec(any::<u8>(), 0..64)).prop_map(|(c, b)| Op::Junk(c, b)),
        2 => (conn.clone(), frame_like()).prop_map(|(c, v)| Op::Json(c, v)),
        1 => (conn.clone(), prop_oneof![0usize..100, Just(MAX_FRAME_BYTES + 1)]).prop_map(|(c, n)| Op::Binary(c, n)),
        1 => conn.clone().prop_map(Op::Huge),
        2 => prop_oneof![0u64..50, 100u64..3000].prop_map(Op::Wait),
        3 => Just(Op::Flush),
    ]
}

proptest! {
    #![proptest_config(config(300))]

    /// Any sequence of joins, leaves, valid, invalid, binary, oversized frames, pauses and flushes:
    /// nothing panics; seqs are 1..N without gaps; each stored message is broadcast exactly once, to everyone
    /// but its sender; a retried id is acked with its original seq; refused frames reach nobody else;
    /// only the offender is ever closed (1009 oversize, 1008 flooding); the roster is exactly who joined
    /// and has not left or been closed.
    #[test]
    fn the_room_keeps_its_promises_under_any_sequence(ops in prop::collection::vec(op(), 1..120)) {
        let limits = Limits { rate: Rate { burst: 5.0, per_sec: 10.0 }, ..Limits::default() };
        let mut h = MemoryHistory::default();
        let mut room: Room<()> = Room::new("r", limits, 0);
        let mut now = 0u64;
        let mut online: BTreeSet<String> = BTreeSet::new();
        let mut acked: HashMap<(String, String), u64> = HashMap::new();
        let mut broadcasts: BTreeMap<u64, usize> = BTreeMap::new();
        for op in ops.into_iter().chain([Op::Flush]) {
            // `actor`: whose event this is; a flush carries out many connections' events.
            let (actor, effects) = match op {
                Op::Wait(ms) => { now += ms; continue; }
                Op::Flush => (None, room.flush(&mut h, now)),
                Op::Join(c, after) => {
                    let id = format!("c{c}");
                    if online.contains(&id) { continue; }
                    prop_assert!(room.admit().is_ok());
                    online.insert(id.clone());
                    let effects = room.join(user(&id), (), after, &mut h, now).unwrap();
                    (Some(id), effects)
                }
                Op::Leave(c) => {
                    let id = format!("c{c}");
                    online.remove(&id);
                    let effects = room.leave(&id, now);
                    (Some(id), effects)
                }
                Op::Say(c, key) => {
                    let id = format!("c{c}");
                    let frame = json!({"type": "message", "text": "hi", "id": key.map(|k| format!("k{k}"))}).to_string();
                    let effects = room.receive(&id, Incoming::Text(&frame), now);
                    (Some(id), effects)
                }
                Op::Typing(c) => { let id = format!("c{c}"); let e = room.receive(&id, Incoming::Text(r#"{"type":"typing"}"#), now); (Some(id), e) }
                Op::Junk(c, b) => { let id = format!("c{c}"); let t = String::from_utf8_lossy(&b).into_owned(); let e = room.receive(&id, Incoming::Text(&t), now); (Some(id), e) }
                Op::Json(c, v) => { let id = format!("c{c}"); let e = room.receive(&id, Incoming::Text(&v.to_string()), now); (Some(id), e) }
                Op::Binary(c, n) => { let id = format!("c{c}"); let e = room.receive(&id, Incoming::Binary(n), now); (Some(id), e) }
                Op::Huge(c) => { let id = format!("c{c}"); let t = "x".repeat(MAX_FRAME_BYTES + 1); let e = room.receive(&id, Incoming::Text(&t), now); (Some(id), e) }
            };
            let was_member = actor.as_ref().is_some_and(|a| online.contains(a));
            for e in &effects {
                // In a flush, each effect's actor is the connection whose frame it answers.
                let conn = match (&actor, e) {
                    // Only read marks are ever held back, and these connections are anonymous.
                    (_, Effect::Wake { .. }) => { prop_assert!(false, "no wake for anonymous members"); continue; }
                    // Webhooks are off in this room.
                    (_, Effect::Event { .. }) => { prop_assert!(false, "no webhook events unless switched on"); continue; }
                    // The moderation hook is off in this room.
                    (_, Effect::Screen { .. } | Effect::Reply { .. }) => { prop_assert!(false, "no questions nor held calls without a hook"); continue; }
                    // Work for the object after the turn (a link's preview, the bucket), not frames.
                    (_, Effect::Preview { .. } | Effect::DeleteFiles) => continue,
                    (Some(a), _) => a.clone(),
                    (None, Effect::Send { to, .. } | Effect::Close { to, .. } | Effect::Authenticate { to, .. }) => to.clone(),
                    (None, Effect::Broadcast { except, .. }) => except.clone().expect("a broadcast names its sender"),
                };
                match e {
                    Effect::Send { to, frame } => {
                        prop_assert_eq!(to, &conn, "direct frames go to the actor only");
                        let v: Value = serde_json::from_str(frame).expect("JSON");
                        if v["type"] == "ack" {
                            let seq = v["seq"].as_u64().expect("seq");
                            if let Some(id) = v["id"].as_str() {
                                let first = *acked.entry((conn.clone(), id.to_string())).or_insert(seq);
                                prop_assert_eq!(first, seq, "a retried id is acked with its original seq");
                            }
                        }
                    }
                    Effect::Broadcast { except, frame } => {
                        prop_assert_eq!(except.as_deref(), Some(conn.as_str()), "the actor never hears its own event");
                        let v: Value = serde_json::from_str(frame).expect("JSON");
                        match v["type"].as_str() {
                            Some("message") => {
                                prop_assert_eq!(v["from"]["id"].as_str(), Some(conn.as_str()));
                                *broadcasts.entry(v["seq"].as_u64().expect("seq")).or_default() += 1;
                            }
                            Some("join" | "leave" | "typing") => prop_assert_eq!(v["user"]["id"].as_str(), Some(conn.as_str())),
                            other => prop_assert!(false, "unexpected broadcast {:?}", other),
                        }
                    }
                    Effect::Wake { .. } | Effect::Event { .. } | Effect::Screen { .. } | Effect::Reply { .. } | Effect::Preview { .. } | Effect::DeleteFiles => {}
                    Effect::Authenticate { to, .. } => prop_assert_eq!(to, &conn, "a token is checked for its own socket"),
                    Effect::Close { to, code, .. } => {
                        prop_assert!(actor.is_some(), "a close is never held for a flush");
                        prop_assert_eq!(to, &conn);
                        prop_assert!(*code == CLOSE_TOO_BIG || *code == CLOSE_FLOODING || !was_member);
                        online.remove(&conn);
                    }
                }
            }
            let roster: BTreeSet<String> = room.info().members.iter().map(|u| u.id.clone()).collect();
            prop_assert_eq!(&roster, &online);
        }
        prop_assert!(!room.has_pending());
        let seqs: Vec<u64> = h.messages.iter().map(|m| m.seq).collect();
        prop_assert_eq!(seqs.clone(), (1..=seqs.len() as u64).collect::<Vec<_>>(), "gapless seqs");
        prop_assert_eq!(room.last_seq(), seqs.len() as u64);
        for seq in seqs {
            prop_assert_eq!(broadcasts.get(&seq).copied(), Some(1), "seq {} broadcast once", seq);
        }
        let mut keys = BTreeSet::new();
        for m in &h.messages {
            if let Some(id) = &m.id {
                prop_assert!(keys.insert((m.from.name.clone(), id.clone())), "(name, id) stored once");
            }
        }
    }
}

/// A flood of any kind of frame — valid, invalid, binary, typing — ends with a 1008 close after
/// `FLOOD_STRIKES` refusals in a row, and no more than the burst gets through.
#[test]
fn any_flood_is_closed_with_1008() {
    let frames: [Incoming<'_>; 4] = [
        Incoming::Text(r#"{"type":"message","text":"spam"}"#),
        Incoming::Text("{junk"),
        Incoming::Text(r#"{"type":"typing"}"#),
        Incoming::Binary(3),
    ];
    for frame in frames {
        let mut h = MemoryHistory::default();
        let mut r: Room<()> = Room::new("r", Limits::default(), 0);
        r.join(user("a"), (), None, &mut h, 0).unwrap();
        let closed_at = (0..1000)
            .position(|_| {
                r.receive("a", frame, 0)
                    .iter()
                    .any(|e| matches!(e, Effect::Close { code, .. } if *code == CLOSE_FLOODING))
            })
            .expect("the flood is closed");
        assert_eq!(closed_at as u32, 20 + FLOOD_STRIKES, "{frame:?}");
        r.flush(&mut h, 0);
        assert!(h.messages.len() <= 20);
    }
}
