//! Edits, deletions, reactions and read marks.

use super::*;

#[test]
fn an_author_edits_their_message_every_connection_hears_it_and_the_versions_are_kept() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    let effects = send(
        &mut r,
        "a",
        serde_json::json!({"type":"edit","seq":1,"text":"hello all","id":"e1"}),
        &mut h,
        5,
    );
    let to_a = frames_for(&effects, "a");
    assert_eq!(to_a[0]["type"], "ack");
    assert_eq!(to_a[0]["id"], "e1");
    assert_eq!(to_a[0]["rev"], 2);
    for conn in ["a", "b", "c"] {
        let update = frames_for(&effects, conn)
            .into_iter()
            .find(|f| f["type"] == "message_updated")
            .unwrap();
        assert_eq!(update["message"]["text"], "hello all");
        assert_eq!(update["message"]["version"], 2);
        assert_eq!(update["message"]["edited_at"], 5);
        assert_eq!(update["rev"], 2);
    }
    let (deleted, versions, next) = r.versions(&h, 1, None, 50).unwrap();
    assert_eq!(next, None);
    assert!(!deleted);
    let texts: Vec<&str> = versions.iter().map(|v| v.text.as_str()).collect();
    assert_eq!(texts, vec!["hello", "hello all"]);
    assert_eq!((versions[0].at, versions[1].at), (1, 5));
    // the same edit again is a retry: acked at the same rev, nothing broadcast
    let effects = send(
        &mut r,
        "a",
        serde_json::json!({"type":"edit","seq":1,"text":"hello all"}),
        &mut h,
        6,
    );
    assert_eq!(frames_for(&effects, "b").len(), 0);
    assert_eq!(frames_for(&effects, "a")[0]["rev"], 2);
    assert_eq!(r.rev(), 2);
}

#[test]
fn only_the_author_may_edit_or_delete_and_anonymous_connections_may_not_change_anything() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    for (conn, frame, code) in [
        (
            "b",
            serde_json::json!({"type":"edit","seq":1,"text":"mine now","id":"x"}),
            "forbidden",
        ),
        (
            "b",
            serde_json::json!({"type":"delete","seq":1,"id":"x"}),
            "forbidden",
        ),
        (
            "c",
            serde_json::json!({"type":"edit","seq":1,"text":"x","id":"x"}),
            "forbidden",
        ),
        (
            "c",
            serde_json::json!({"type":"react","seq":1,"emoji":"👍","id":"x"}),
            "forbidden",
        ),
        ("c", serde_json::json!({"type":"read","seq":1}), "forbidden"),
        (
            "a",
            serde_json::json!({"type":"edit","seq":99,"text":"x","id":"x"}),
            "not_found",
        ),
        (
            "a",
            serde_json::json!({"type":"react","seq":99,"emoji":"👍","id":"x"}),
            "not_found",
        ),
        (
            "a",
            serde_json::json!({"type":"message","text":"re","reply_to":99,"id":"x"}),
            "not_found",
        ),
        (
            "a",
            serde_json::json!({"type":"react","seq":1,"emoji":"lol","id":"x"}),
            "bad_request",
        ),
    ] {
        let effects = send(&mut r, conn, frame.clone(), &mut h, 9);
        let answer = &frames_for(&effects, conn)[0];
        assert_eq!(answer["code"], code, "{frame}");
        let others: Vec<_> = ["a", "b", "c"]
            .into_iter()
            .filter(|c| *c != conn)
            .flat_map(|c| frames_for(&effects, c))
            .collect();
        assert!(others.is_empty(), "{frame}: nothing reaches the others");
    }
    assert_eq!(h.messages.len(), 1);
    assert_eq!(h.messages[0].text, "hello");
    assert_eq!(r.rev(), 1, "nothing was stored");
}

#[test]
fn deleting_erases_the_text_every_version_and_the_reactions_but_keeps_the_tombstone() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    send(
        &mut r,
        "a",
        serde_json::json!({"type":"edit","seq":1,"text":"oops","id":"e"}),
        &mut h,
        2,
    );
    send(
        &mut r,
        "b",
        serde_json::json!({"type":"react","seq":1,"emoji":"👍","id":"r"}),
        &mut h,
        3,
    );
    let effects = send(
        &mut r,
        "a",
        serde_json::json!({"type":"delete","seq":1,"id":"d"}),
        &mut h,
        4,
    );
    let update = &frames_for(&effects, "b")[0];
    assert_eq!(update["type"], "message_updated");
    assert_eq!(update["message"]["deleted"], true);
    assert_eq!(update["message"]["text"], "");
    assert_eq!(update["message"]["reactions"], serde_json::json!({}));
    assert_eq!(update["message"]["from"]["name"], "ann");
    assert!(h.versions.is_empty() && h.reactions.is_empty());
    assert!(!h.messages[0].text.contains("oops") && !h.messages[0].text.contains("hello"));
    assert_eq!(r.versions(&h, 1, None, 50).unwrap(), (true, vec![], None));
    // deleting again is a retry; editing or reacting to a tombstone is not_found
    let again = send(
        &mut r,
        "a",
        serde_json::json!({"type":"delete","seq":1,"id":"d"}),
        &mut h,
        5,
    );
    assert_eq!(frames_for(&again, "a")[0]["type"], "ack");
    let edit = send(
        &mut r,
        "a",
        serde_json::json!({"type":"edit","seq":1,"text":"back","id":"e2"}),
        &mut h,
        5,
    );
    assert_eq!(frames_for(&edit, "a")[0]["code"], "not_found");
}

#[test]
fn reactions_toggle_per_author_idempotently_with_counts_for_everyone() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    let on = |r: &mut Room<()>, h: &mut MemoryHistory, conn: &str, on: bool| {
        send(
            r,
            conn,
            serde_json::json!({"type":"react","seq":1,"emoji":"👍","on":on,"id":"r"}),
            h,
            3,
        )
    };
    let effects = on(&mut r, &mut h, "a", true);
    let seen = frames_for(&effects, "c")
        .into_iter()
        .find(|f| f["type"] == "reaction")
        .unwrap();
    assert_eq!(seen["counts"], serde_json::json!({"👍": 1}));
    assert_eq!(seen["user"]["name"], "ann");
    assert_eq!(seen["on"], true);
    let effects = on(&mut r, &mut h, "b", true);
    assert_eq!(
        frames_for(&effects, "a")
            .into_iter()
            .find(|f| f["type"] == "reaction")
            .unwrap()["counts"],
        serde_json::json!({"👍": 2})
    );
    // the same reaction again changes nothing and tells nobody
    let effects = on(&mut r, &mut h, "b", true);
    assert!(frames_for(&effects, "a").is_empty());
    assert_eq!(frames_for(&effects, "b")[0]["type"], "ack");
    let effects = on(&mut r, &mut h, "a", false);
    assert_eq!(
        frames_for(&effects, "b")
            .into_iter()
            .find(|f| f["type"] == "reaction")
            .unwrap()["counts"],
        serde_json::json!({"👍": 1})
    );
    assert_eq!(h.messages[0].reactions.get("👍"), Some(&1));
}

#[test]
fn replies_name_an_existing_message() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    let effects = send(
        &mut r,
        "b",
        serde_json::json!({"type":"message","text":"hi ann","reply_to":1,"id":"b1"}),
        &mut h,
        2,
    );
    assert_eq!(frames_for(&effects, "a")[0]["reply_to"], 1);
    assert_eq!(h.messages[1].reply_to, Some(1));
}

#[test]
fn a_resume_with_since_brings_the_changes_to_messages_already_seen() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    deliver(
        &mut r,
        "b",
        Incoming::Text(&say(Some("b1"), "two")),
        &mut h,
        2,
    );
    // a client that saw seq 2 at rev 2 goes away; then message 1 is edited, 2 reacted to, 3 said
    send(
        &mut r,
        "a",
        serde_json::json!({"type":"edit","seq":1,"text":"hello!","id":"e"}),
        &mut h,
        3,
    );
    send(
        &mut r,
        "a",
        serde_json::json!({"type":"react","seq":2,"emoji":"🎉","id":"r"}),
        &mut h,
        4,
    );
    deliver(
        &mut r,
        "b",
        Incoming::Text(&say(Some("b2"), "three")),
        &mut h,
        5,
    );
    let back = User {
        uid: Some("u-cy2".into()),
        ..user("d", "dee")
    };
    let effects = r
        .join(
            back,
            (),
            Joining {
                after: Some(2),
                since: Some(2),
                ..Joining::default()
            },
            &mut h,
            6,
        )
        .unwrap();
    let welcome = &frames_for(&effects, "d")[0];
    assert_eq!(welcome["rev"], 5);
    let history: Vec<u64> = welcome["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(history, vec![3]);
    let changes = welcome["changes"].as_array().unwrap();
    let changed: Vec<(u64, u64)> = changes
        .iter()
        .map(|m| (m["seq"].as_u64().unwrap(), m["rev"].as_u64().unwrap()))
        .collect();
    assert_eq!(changed, vec![(1, 3), (2, 4)]);
    assert_eq!(changes[0]["text"], "hello!");
    assert_eq!(welcome["truncated"], false);
    // without since, no changes field at all (v1 clients see the v1 welcome plus new fields)
    let effects = r.join(user("e", "eve"), (), Some(2), &mut h, 6).unwrap();
    assert!(frames_for(&effects, "e")[0].get("changes").is_none());
}

#[test]
fn read_marks_move_forward_only_count_unread_and_are_announced_at_most_once_a_second() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    for i in 0..4 {
        deliver(
            &mut r,
            "a",
            Incoming::Text(&say(Some(&format!("n{i}")), "more")),
            &mut h,
            2,
        );
    }
    let effects = send(
        &mut r,
        "b",
        serde_json::json!({"type":"read","seq":2}),
        &mut h,
        10_000,
    );
    assert!(
        frames_for(&effects, "b").is_empty(),
        "no answer to a read mark"
    );
    let shown = frames_for(&effects, "a");
    assert_eq!(
        (shown[0]["type"].as_str(), shown[0]["seq"].as_u64()),
        (Some("read"), Some(2))
    );
    // within the second: stored, held back, announced by tick
    let effects = send(
        &mut r,
        "b",
        serde_json::json!({"type":"read","seq":4}),
        &mut h,
        10_200,
    );
    assert_eq!(effects, vec![Effect::Wake { after_ms: 800 }]);
    assert!(
        send(
            &mut r,
            "b",
            serde_json::json!({"type":"read","seq":3}),
            &mut h,
            10_300
        )
        .is_empty(),
        "never backwards"
    );
    assert!(r
        .tick(10_500)
        .iter()
        .all(|e| matches!(e, Effect::Wake { .. })));
    let later = r.tick(11_000);
    assert_eq!(frames_for(&later, "a")[0]["seq"], 4);
    assert!(r.tick(12_500).is_empty());
    // bob's next welcome knows where he is: 5 messages, he read 4, none are his
    let bob_again = User {
        uid: Some("u-bob".into()),
        ..user("b2", "bob")
    };
    let effects = r.join(bob_again, (), None, &mut h, 13_000).unwrap();
    let welcome = &frames_for(&effects, "b2")[0];
    assert_eq!(
        (welcome["read_seq"].as_u64(), welcome["unread"].as_u64()),
        (Some(4), Some(1))
    );
    let anon = r.join(user("c2", "cy"), (), None, &mut h, 13_000).unwrap();
    assert!(frames_for(&anon, "c2")[0]["read_seq"].is_null());
}

#[test]
fn edits_take_the_senders_rate_like_messages() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    // ann's bucket (burst 20) gave one token to "hello" at t=1; at the same instant 19 are left.
    let mut acks = 0;
    let mut limited = 0;
    for i in 0..25 {
        let frame = serde_json::json!({"type":"edit","seq":1,"text":format!("v{i}"),"id":"e"});
        match frames_for(&send(&mut r, "a", frame, &mut h, 1), "a")[0]["type"].as_str() {
            Some("ack") => acks += 1,
            Some("error") => limited += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((acks, limited), (19, 6));
    assert_eq!(h.messages[0].version, 20);
}

#[test]
fn edits_past_the_cap_drop_the_oldest_versions_and_the_pages_walk_back() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    r.limits.versions_limit = 3;
    for i in 2..=10u64 {
        let frame = serde_json::json!({"type":"edit","seq":1,"text":format!("v{i}")});
        send(&mut r, "a", frame, &mut h, i * 1_000);
    }
    // 10 versions were written; the 3 newest are kept (2 earlier ones and the current text), and
    // their numbers are the ones they always had.
    assert_eq!(h.messages[0].version, 10);
    assert_eq!(h.versions.len(), 2);
    let (_, all, next) = r.versions(&h, 1, None, 50).unwrap();
    let numbers: Vec<u32> = all.iter().map(|v| v.version).collect();
    assert_eq!((numbers, next), (vec![8, 9, 10], None));
    assert_eq!(all[2].text, "v10");
    // Pages of 2: the newest first (the current text last), then the one before.
    let (_, page, next) = r.versions(&h, 1, None, 2).unwrap();
    let numbers: Vec<u32> = page.iter().map(|v| v.version).collect();
    assert_eq!((numbers, next), (vec![9, 10], Some(9)));
    let (_, page, next) = r.versions(&h, 1, Some(9), 2).unwrap();
    let numbers: Vec<u32> = page.iter().map(|v| v.version).collect();
    assert_eq!((numbers, next), (vec![8], None));
    let (_, page, next) = r.versions(&h, 1, Some(1), 2).unwrap();
    assert_eq!((page.len(), next), (0, None));
    // A page of one that holds only the current text.
    let (_, page, next) = r.versions(&h, 1, None, 1).unwrap();
    assert_eq!((page[0].version, next), (10, Some(10)));
}

#[test]
fn a_welcome_says_how_far_the_others_online_have_read_so_seen_by_survives_a_reload() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    send(&mut r, "a", sayv(Some("m2"), "second"), &mut h, 2);
    send(
        &mut r,
        "b",
        serde_json::json!({"type": "read", "seq": 2}),
        &mut h,
        3,
    );
    send(
        &mut r,
        "a",
        serde_json::json!({"type": "read", "seq": 1}),
        &mut h,
        4,
    );
    // ann reloads: her new connection hears where bob has read, not her own mark (that is read_seq)
    r.leave("a", 5);
    let ann = User {
        uid: Some("u-ann".into()),
        ..user("a2", "ann")
    };
    let effects = r.join(ann, (), None, &mut h, 6).unwrap();
    let welcome = &frames_for(&effects, "a2")[0];
    assert_eq!(welcome["read_seq"], 1);
    let reads = welcome["reads"].as_array().unwrap();
    assert_eq!(reads.len(), 1, "{reads:?}");
    assert_eq!(reads[0]["user"]["uid"], "u-bob");
    assert_eq!(reads[0]["seq"], 2);
    // someone who read but is not online is not listed
    r.leave("b", 7);
    let effects = r.join(user("x", "cy2"), (), None, &mut h, 8).unwrap();
    let reads = frames_for(&effects, "x")[0]["reads"].clone();
    assert_eq!(
        reads.as_array().unwrap().len(),
        1,
        "only ann2, who is online"
    );
    assert_eq!(reads[0]["user"]["id"], "a2");
}

#[test]
fn who_reacted_is_read_in_pages_by_emoji_with_the_names_they_reacted_under() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    for (conn, emoji) in [("a", "👍"), ("b", "👍"), ("b", "🎉")] {
        send(
            &mut r,
            conn,
            serde_json::json!({"type":"react","seq":1,"emoji":emoji,"id":"r"}),
            &mut h,
            2,
        );
    }
    let ask = |r: &mut Room<()>, h: &mut MemoryHistory, frame: Value| {
        frames_for(&send(r, "c", frame, h, 3), "c").pop().unwrap()
    };
    // Anyone in the room may ask (cy is anonymous): the same right as reading the history.
    let page = ask(
        &mut r,
        &mut h,
        serde_json::json!({"type":"reactors","seq":1,"emoji":"👍","limit":1,"id":"w"}),
    );
    assert_eq!(page["type"], "reactors");
    assert_eq!(
        (
            page["id"].clone(),
            page["seq"].clone(),
            page["emoji"].clone()
        ),
        ("w".into(), 1.into(), "👍".into())
    );
    assert_eq!(
        page["users"],
        serde_json::json!([{"uid": "u-ann", "name": "ann"}])
    );
    assert_eq!(page["next"], "u-ann");
    let page = ask(
        &mut r,
        &mut h,
        serde_json::json!({"type":"reactors","seq":1,"emoji":"👍","after":"u-ann","id":"w"}),
    );
    assert_eq!(
        page["users"],
        serde_json::json!([{"uid": "u-bob", "name": "bob"}])
    );
    assert_eq!(page["next"], Value::Null);
    let page = ask(
        &mut r,
        &mut h,
        serde_json::json!({"type":"reactors","seq":1,"emoji":"🎉"}),
    );
    assert_eq!(
        page["users"],
        serde_json::json!([{"uid": "u-bob", "name": "bob"}])
    );
    // A reaction taken back is gone from the list; a message that is not there is not_found.
    send(
        &mut r,
        "b",
        serde_json::json!({"type":"react","seq":1,"emoji":"🎉","on":false,"id":"r"}),
        &mut h,
        4,
    );
    let page = ask(
        &mut r,
        &mut h,
        serde_json::json!({"type":"reactors","seq":1,"emoji":"🎉"}),
    );
    assert_eq!(page["users"], serde_json::json!([]));
    let missing = ask(
        &mut r,
        &mut h,
        serde_json::json!({"type":"reactors","seq":9,"emoji":"👍","id":"x"}),
    );
    assert_eq!(
        (missing["code"].clone(), missing["id"].clone()),
        ("not_found".into(), "x".into())
    );
    let bad = ask(
        &mut r,
        &mut h,
        serde_json::json!({"type":"reactors","seq":1,"emoji":"no","id":"y"}),
    );
    assert_eq!(bad["code"], "bad_request");
}
