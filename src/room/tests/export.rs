//! The export: every message with what it keeps, then the moderation log, in bounded pages that a
//! cursor resumes without a gap or a repeat.

use super::*;
use crate::export::{Cursor, PAGE_MESSAGES};

/// The page's lines, parsed.
fn lines(page: &str) -> Vec<Value> {
    assert!(page.ends_with('\n'));
    page.lines().map(parse).collect()
}

/// Follows the cursor from the start to the `end` line; every page's lines in order.
fn export_all(r: &Room<()>, h: &MemoryHistory) -> (Vec<Value>, usize) {
    let mut cursor = Cursor::default();
    let mut all = Vec::new();
    for pages in 1.. {
        let page = lines(&r.export(h, cursor, 99).unwrap());
        assert_eq!(page[0]["type"], "export");
        assert_eq!(page[0]["after"], cursor.after);
        let last = page.last().unwrap().clone();
        all.extend(page[1..page.len() - 1].iter().cloned());
        cursor = Cursor {
            after: last["after"].as_u64().unwrap(),
            log_after: last["log_after"].as_u64().unwrap(),
        };
        if last["type"] == "end" {
            return (all, pages);
        }
        assert_eq!(last["type"], "next");
        assert!(pages < 100, "an export ends");
    }
    unreachable!()
}

#[test]
fn an_export_holds_every_message_with_its_versions_reactions_and_the_log() {
    let mut h = MemoryHistory::default();
    let mut r = moderated(&mut h);
    // "hello" (1) is edited twice and reacted to; bob replies (2); ann says something bob deletes (3).
    for (text, id) in [("hello!", "e1"), ("hello!!", "e2")] {
        send(
            &mut r,
            "a",
            serde_json::json!({"type": "edit", "seq": 1, "text": text, "id": id}),
            &mut h,
            2,
        );
    }
    send(
        &mut r,
        "b",
        serde_json::json!({"type": "react", "seq": 1, "emoji": "👍", "id": "r"}),
        &mut h,
        3,
    );
    send(
        &mut r,
        "b",
        serde_json::json!({"type": "message", "text": "hi ann", "id": "b1", "reply_to": 1}),
        &mut h,
        4,
    );
    send(&mut r, "a", sayv(Some("m3"), "oops"), &mut h, 5);
    send(
        &mut r,
        "b",
        serde_json::json!({"type": "delete", "seq": 3, "id": "d"}),
        &mut h,
        6,
    );
    send(&mut r, "b", uid_frame("kick", "u-ann"), &mut h, 7);
    let (all, pages) = export_all(&r, &h);
    assert_eq!(pages, 1);
    let kinds: Vec<&str> = all.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        vec!["message", "message", "message", "moderation", "moderation"]
    );
    let first = &all[0];
    assert_eq!(first["seq"], 1);
    assert_eq!(first["text"], "hello!!");
    let versions: Vec<&str> = first["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        versions,
        vec!["hello", "hello!"],
        "earlier versions, oldest first"
    );
    assert_eq!(
        first["reacted"],
        serde_json::json!([{"emoji": "👍", "uid": "u-bob"}])
    );
    assert_eq!(first["reactions"]["👍"], 1);
    assert_eq!(all[1]["reply_to"], 1);
    assert_eq!(all[1]["from"]["uid"], "u-bob");
    assert_eq!(
        (all[2]["deleted"].as_bool(), all[2]["text"].as_str()),
        (Some(true), Some(""))
    );
    assert_eq!(all[3]["action"], "delete");
    assert_eq!(all[3]["seq"], 3);
    assert_eq!(all[4]["action"], "kick");
    assert_eq!(all[4]["log_id"], 2);
}

#[test]
fn an_export_pages_and_resumes_without_a_gap_or_a_repeat() {
    let mut h = MemoryHistory::default();
    let mut r = Room::new(
        "lobby",
        Limits {
            rate: Rate {
                burst: 10_000.0,
                per_sec: 10_000.0,
            },
            ..Limits::default()
        },
        0,
    );
    r.join(user("a", "ann"), (), None, &mut h, 0).unwrap();
    let n = 2 * PAGE_MESSAGES + 7;
    for i in 0..n {
        send(
            &mut r,
            "a",
            sayv(Some(&format!("m{i}")), &format!("message {i}")),
            &mut h,
            i as u64,
        );
    }
    let (all, pages) = export_all(&r, &h);
    assert_eq!(pages, 3);
    let seqs: Vec<u64> = all.iter().map(|l| l["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=n as u64).collect::<Vec<_>>());
    // A page asked again (a dropped connection) is the same page.
    let cursor = Cursor {
        after: PAGE_MESSAGES as u64,
        log_after: 0,
    };
    assert_eq!(
        r.export(&h, cursor, 5).unwrap(),
        r.export(&h, cursor, 5).unwrap()
    );
}

#[test]
fn a_page_stops_near_its_byte_bound() {
    let mut h = MemoryHistory::default();
    let mut r = Room::new(
        "lobby",
        Limits {
            rate: Rate {
                burst: 10_000.0,
                per_sec: 10_000.0,
            },
            ..Limits::default()
        },
        0,
    );
    r.join(user("a", "ann"), (), None, &mut h, 0).unwrap();
    let long = "x".repeat(4_000);
    for i in 0..400 {
        send(&mut r, "a", sayv(Some(&format!("m{i}")), &long), &mut h, i);
    }
    let page = r.export(&h, Cursor::default(), 1).unwrap();
    let parsed = lines(&page);
    assert_eq!(parsed.last().unwrap()["type"], "next");
    assert!(
        parsed.len() < 300,
        "stopped by bytes, not by count: {}",
        parsed.len()
    );
    assert!(page.len() < (1 << 20) + 8_000, "{}", page.len());
}

#[test]
fn what_retention_erased_is_exported_as_tombstones_marked_expired() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    send(&mut r, "a", sayv(Some("m2"), "second"), &mut h, 2);
    h.expire(0, 1).unwrap();
    r.restore_retention(1, &h);
    let (all, _) = export_all(&r, &h);
    assert_eq!(all[0]["expired"], true);
    assert_eq!(all[0]["text"], "");
    assert!(all[1].get("expired").is_none());
    let head = &lines(&r.export(&h, Cursor::default(), 3).unwrap())[0];
    assert_eq!(head["retention"]["upto"], 1);
    assert_eq!(head["last_seq"], 2);
}

/// Follows one author's pages from the start to `end`: every line, and how many pages.
fn author_all(r: &Room<()>, h: &MemoryHistory, uid: &str) -> (Vec<Value>, usize) {
    let mut after = 0;
    let mut all = Vec::new();
    for pages in 1.. {
        let page = lines(&r.export_author(h, uid, after).unwrap());
        let tail = page.last().unwrap().clone();
        all.extend(page[..page.len() - 1].iter().cloned());
        let next = tail["after"].as_u64().unwrap();
        assert!(next > after || tail["type"] == "end", "a page moves on");
        after = next;
        if tail["type"] == "end" {
            return (all, pages);
        }
        assert_eq!(tail["type"], "next");
    }
    unreachable!()
}

#[test]
fn an_authors_pages_hold_their_own_words_and_reactions_only() {
    let mut h = MemoryHistory::default();
    let mut r = moderated(&mut h);
    // ann (a) wrote "hello" (1). Bob replies in its thread (2); ann edits hers, reacts to it and to
    // bob's reply; bob reacts to hers; ann writes one more (3) and deletes it.
    send(
        &mut r,
        "b",
        serde_json::json!({"type": "message", "text": "in thread", "id": "b1", "thread": 1}),
        &mut h,
        2,
    );
    send(
        &mut r,
        "a",
        serde_json::json!({"type": "edit", "seq": 1, "text": "hello!", "id": "e1"}),
        &mut h,
        3,
    );
    for (who, seq, emoji) in [("a", 1, "🎉"), ("a", 2, "👍"), ("b", 1, "👀")] {
        send(
            &mut r,
            who,
            serde_json::json!({"type": "react", "seq": seq, "emoji": emoji, "id": format!("r{who}{seq}")}),
            &mut h,
            4,
        );
    }
    send(&mut r, "a", sayv(Some("m3"), "oops"), &mut h, 5);
    send(
        &mut r,
        "a",
        serde_json::json!({"type": "delete", "seq": 3, "id": "d"}),
        &mut h,
        6,
    );
    let ann = h.messages[0].from.uid.clone().unwrap();
    let bob = h.messages[1].from.uid.clone().unwrap();
    let (all, pages) = author_all(&r, &h, &ann);
    assert_eq!(pages, 1);
    assert_eq!(
        all.len(),
        2,
        "her message and her reaction to bob's: {all:?}"
    );
    let hers = &all[0];
    assert_eq!(
        (
            hers["type"].as_str(),
            hers["seq"].as_u64(),
            hers["room"].as_str()
        ),
        (Some("message"), Some(1), Some("lobby"))
    );
    assert_eq!(hers["text"], "hello!");
    assert_eq!(hers["versions"][0]["text"], "hello");
    assert_eq!(
        hers["reacted"],
        serde_json::json!([{"emoji": "🎉", "uid": ann}]),
        "her own reaction only"
    );
    assert_eq!(hers["thread"]["replies"], 1);
    assert_eq!(
        hers["thread"]["participants"],
        serde_json::json!([]),
        "who else took part is not hers"
    );
    assert_eq!(
        all[1],
        serde_json::json!({"type": "reaction", "room": "lobby", "seq": 2, "emoji": "👍"})
    );
    let text = all.iter().map(Value::to_string).collect::<String>();
    assert!(!text.contains(&bob) && !text.contains("in thread"));
    let (bobs, _) = author_all(&r, &h, &bob);
    assert_eq!(bobs.len(), 2, "his reply and his reaction: {bobs:?}");
}

#[test]
fn an_authors_pages_are_bounded_and_resume_without_a_gap_or_a_repeat() {
    let mut h = MemoryHistory::default();
    let limits = Limits {
        rate: Rate {
            burst: 100_000.0,
            per_sec: 100_000.0,
        },
        ..Limits::default()
    };
    let mut r = Room::new("lobby", limits, 0);
    for (id, name) in [("a", "ann"), ("b", "bob")] {
        let u = User {
            uid: Some(format!("u-{name}")),
            ..user(id, name)
        };
        r.join(u, (), None, &mut h, 0).unwrap();
    }
    let big = "x".repeat(3_000);
    // Past one page's windows (10 × 500 seqs), and past one page's bytes (~1 MB of ann's).
    for i in 0..5_600u64 {
        let (who, text) = match i % 4 {
            0 => ("a", big.as_str()),
            _ => ("b", "short"),
        };
        send(
            &mut r,
            who,
            sayv(Some(&format!("m{i}")), text),
            &mut h,
            10 + i,
        );
    }
    let ann = h.messages[0].from.uid.clone().unwrap();
    let (all, pages) = author_all(&r, &h, &ann);
    let seqs: Vec<u64> = all.iter().map(|l| l["seq"].as_u64().unwrap()).collect();
    let expected: Vec<u64> = h
        .messages
        .iter()
        .filter(|m| m.from.uid.as_deref() == Some(ann.as_str()))
        .map(|m| m.seq)
        .collect();
    assert_eq!(seqs, expected);
    assert_eq!(expected.len(), 1_400);
    assert!(pages >= 4, "bounded by bytes and by windows: {pages} pages");
}
