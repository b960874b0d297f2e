//! Resumes, scrolling back, versions and search.

use super::*;

#[test]
fn resume_returns_exactly_what_was_missed() {
    let mut h = MemoryHistory::default();
    let mut r = room();
    r.join(user("a", "ann"), (), None, &mut h, 0).unwrap();
    for i in 0..10 {
        deliver(
            &mut r,
            "a",
            Incoming::Text(&say(None, &format!("m{i}"))),
            &mut h,
            i,
        );
    }
    let effects = r.join(user("b", "bob"), (), Some(7), &mut h, 100).unwrap();
    let welcome = &frames_for(&effects, "b")[0];
    let seqs: Vec<u64> = welcome["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, vec![8, 9, 10]);
    assert_eq!(welcome["truncated"], false);
}

#[test]
fn resume_past_the_page_cap_is_truncated_to_the_newest() {
    let mut h = MemoryHistory::default();
    let mut r = Room::new(
        "lobby",
        Limits {
            rate: Rate {
                burst: 1e9,
                per_sec: 10.0,
            },
            ..Limits::default()
        },
        0,
    );
    r.join(user("a", "ann"), (), None, &mut h, 0).unwrap();
    for i in 0..1005 {
        deliver(&mut r, "a", Incoming::Text(&say(None, "m")), &mut h, i);
    }
    let effects = r.join(user("b", "bob"), (), Some(0), &mut h, 0).unwrap();
    let welcome = &frames_for(&effects, "b")[0];
    let history = welcome["history"].as_array().unwrap();
    assert_eq!(history.len(), 1000);
    assert_eq!(history[0]["seq"], 6);
    assert_eq!(welcome["truncated"], true);
}

#[test]
fn history_keeps_only_the_newest_limit_messages() {
    let mut h = MemoryHistory::default();
    let limits = Limits {
        history_limit: 100,
        rate: Rate {
            burst: 1e9,
            per_sec: 10.0,
        },
        ..Limits::default()
    };
    let mut r = Room::new("lobby", limits, 0);
    r.join(user("a", "ann"), (), None, &mut h, 0).unwrap();
    for i in 0..250 {
        deliver(&mut r, "a", Incoming::Text(&say(None, "m")), &mut h, i);
    }
    // storage is trimmed in batches, but reads never show more than the limit
    assert!(h.messages.len() < 100 + TRIM_EVERY as usize);
    let all = r.messages(&h, 0, 1000).unwrap();
    assert_eq!(all.len(), 100);
    assert_eq!(all[0].seq, 151);
    let effects = r.join(user("b", "bob"), (), Some(0), &mut h, 0).unwrap();
    assert_eq!(frames_for(&effects, "b")[0]["truncated"], true);
}

#[test]
fn history_pages_scroll_back_with_has_more() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    for i in 0..9 {
        deliver(
            &mut r,
            "a",
            Incoming::Text(&say(None, &format!("m{i}"))),
            &mut h,
            2,
        );
    }
    let effects = send(
        &mut r,
        "c",
        serde_json::json!({"type":"history","before":8,"limit":4,"id":"h1"}),
        &mut h,
        3,
    );
    let page = &frames_for(&effects, "c")[0];
    assert_eq!(page["type"], "history");
    assert_eq!(page["id"], "h1");
    let seqs: Vec<u64> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, vec![4, 5, 6, 7]);
    assert_eq!(page["has_more"], true);
    let effects = send(
        &mut r,
        "c",
        serde_json::json!({"type":"history","before":4,"id":"h2"}),
        &mut h,
        3,
    );
    let page = &frames_for(&effects, "c")[0];
    assert_eq!(page["messages"].as_array().unwrap().len(), 3);
    assert_eq!(page["has_more"], false);
    let effects = send(
        &mut r,
        "c",
        serde_json::json!({"type":"history","limit":101,"id":"h3"}),
        &mut h,
        3,
    );
    assert_eq!(frames_for(&effects, "c")[0]["code"], "bad_limit");
}

#[test]
fn a_search_answers_the_asker_alone_with_escaped_snippets_and_respects_before_and_limit() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    for text in ["lunch at <noon>?", "no lunch", "dinner", "lunch & tea"] {
        send(
            &mut r,
            "a",
            serde_json::json!({"type":"message","text":text}),
            &mut h,
            1,
        );
    }
    let ask = |r: &mut Room<()>, h: &mut MemoryHistory, frame: Value| {
        let effects = send(r, "c", frame, h, 2);
        assert!(frames_for(&effects, "a").is_empty(), "only the asker hears");
        results(&effects, "c")
    };
    let (seqs, frame) = ask(
        &mut r,
        &mut h,
        serde_json::json!({"type":"search","q":"LUNCH","id":"s1"}),
    );
    assert_eq!(frame["type"], "search_results");
    assert_eq!(frame["id"], "s1");
    // `living` stored message 1; these are 2..=5.
    assert_eq!(seqs, vec![5, 3, 2]);
    assert_eq!(frame["has_more"], false);
    assert_eq!(frame["results"][0]["text"], "lunch & tea");
    assert_eq!(
        frame["results"][0]["snippet"],
        "<mark>lunch</mark> &amp; tea"
    );
    assert_eq!(
        frame["results"][2]["snippet"],
        "<mark>lunch</mark> at &lt;noon&gt;?"
    );
    assert_eq!(frame["results"][2]["from"]["name"], "ann");
    let (seqs, frame) = ask(
        &mut r,
        &mut h,
        serde_json::json!({"type":"search","q":"lunch","before":5,"limit":1}),
    );
    assert_eq!(seqs, vec![3]);
    assert_eq!(frame["has_more"], true);
}

#[test]
fn a_connections_searches_draw_on_a_bucket_of_their_own_and_never_hold_up_its_messages() {
    let mut h = MemoryHistory::default();
    let limits = Limits {
        search: Rate {
            burst: 2.0,
            per_sec: 0.5,
        },
        ..Limits::default()
    };
    let mut r: Room<()> = Room::new("lobby", limits, 0);
    r.join(user("a", "ann"), (), None, &mut h, 0).unwrap();
    r.join(user("b", "bob"), (), None, &mut h, 0).unwrap();
    let search = |r: &mut Room<()>, h: &mut MemoryHistory, conn: &str, id: &str, now| {
        let frame = serde_json::json!({"type":"search","q":"hello","id":id});
        let effects = send(r, conn, frame, h, now);
        let answer = frames_for(&effects, conn).pop().unwrap();
        (answer["type"].clone(), answer["code"].clone())
    };
    let ok = (Value::from("search_results"), Value::Null);
    let limited = (Value::from("error"), Value::from("rate_limited"));
    // Within the frame rate (20 at once), but the third search at once is one too many.
    assert_eq!(search(&mut r, &mut h, "a", "s1", 0), ok);
    assert_eq!(search(&mut r, &mut h, "a", "s2", 0), ok);
    assert_eq!(search(&mut r, &mut h, "a", "s3", 0), limited);
    // Messages pass all the same, and another connection's searches are its own.
    let effects = send(
        &mut r,
        "a",
        serde_json::json!({"type":"message","text":"hello","id":"m1"}),
        &mut h,
        0,
    );
    assert_eq!(frames_for(&effects, "a")[0]["type"], "ack");
    assert_eq!(search(&mut r, &mut h, "b", "s4", 0), ok);
    // One search back every 2 s (0.5 a second).
    assert_eq!(search(&mut r, &mut h, "a", "s5", 1_000), limited);
    assert_eq!(search(&mut r, &mut h, "a", "s6", 2_000), ok);
}

#[test]
fn a_search_ranks_the_newest_matches_and_says_where_to_search_on() {
    let mut h = MemoryHistory::default();
    let limits = Limits {
        rate: Rate {
            burst: 1000.0,
            per_sec: 1000.0,
        },
        ..Limits::default()
    };
    let mut r: Room<()> = Room::new("lobby", limits, 0);
    r.join(user("a", "ann"), (), None, &mut h, 0).unwrap();
    let window = crate::search::SEARCH_WINDOW as u64;
    for i in 1..=window + 5 {
        let text = format!("apple {i}");
        send(
            &mut r,
            "a",
            serde_json::json!({"type":"message","text":text}),
            &mut h,
            1,
        );
    }
    let ask = |r: &mut Room<()>, h: &mut MemoryHistory, frame: Value| {
        results(&send(r, "a", frame, h, 2), "a")
    };
    let (seqs, frame) = ask(
        &mut r,
        &mut h,
        serde_json::json!({"type":"search","q":"apple","limit":3}),
    );
    assert_eq!(seqs, vec![window + 5, window + 4, window + 3]);
    // The window held the newest 200 (seqs 6..=205): older ones may match too.
    assert_eq!(
        (frame["has_more"].clone(), frame["next_before"].clone()),
        (true.into(), 6.into())
    );
    // The window's next page, then its last: `next_offset` walks it, and stops at its end.
    assert_eq!(frame["next_offset"], 3);
    let (seqs, frame) = ask(
        &mut r,
        &mut h,
        serde_json::json!({"type":"search","q":"apple","limit":3,"offset":3}),
    );
    assert_eq!(seqs, vec![window + 2, window + 1, window]);
    assert_eq!(frame["next_offset"], 6);
    let (seqs, frame) = ask(
        &mut r,
        &mut h,
        serde_json::json!({"type":"search","q":"apple","limit":50,"offset":195}),
    );
    assert_eq!(seqs, vec![10, 9, 8, 7, 6]);
    assert_eq!(
        (
            frame["has_more"].clone(),
            frame["next_offset"].clone(),
            frame["next_before"].clone()
        ),
        (true.into(), Value::Null, 6.into())
    );
    let (_, refused) = ask(
        &mut r,
        &mut h,
        serde_json::json!({"type":"search","q":"apple","offset":200,"id":"s"}),
    );
    assert_eq!(
        (refused["code"].clone(), refused["id"].clone()),
        ("bad_request".into(), "s".into())
    );
    let (seqs, frame) = ask(
        &mut r,
        &mut h,
        serde_json::json!({"type":"search","q":"apple","before":6}),
    );
    assert_eq!(seqs, vec![5, 4, 3, 2, 1]);
    assert_eq!(
        (frame["has_more"].clone(), frame["next_before"].clone()),
        (false.into(), Value::Null)
    );
}

#[test]
fn a_search_never_finds_deleted_or_trimmed_messages_and_bad_queries_are_refused() {
    let mut h = MemoryHistory::default();
    let mut r: Room<()> = Room::new(
        "lobby",
        Limits {
            history_limit: 2,
            ..Limits::default()
        },
        0,
    );
    let ann = User {
        uid: Some("u-ann".into()),
        ..user("a", "ann")
    };
    r.join(ann, (), None, &mut h, 0).unwrap();
    for text in ["apple one", "apple two", "apple three"] {
        send(
            &mut r,
            "a",
            serde_json::json!({"type":"message","text":text}),
            &mut h,
            1,
        );
    }
    let search = |r: &mut Room<()>, h: &mut MemoryHistory| {
        let effects = send(
            r,
            "a",
            serde_json::json!({"type":"search","q":"apple"}),
            h,
            2,
        );
        results(&effects, "a").0
    };
    // Seq 1 is past the history limit of 2 (not trimmed yet: trims come in batches).
    assert_eq!(search(&mut r, &mut h), vec![3, 2]);
    send(
        &mut r,
        "a",
        serde_json::json!({"type":"delete","seq":3}),
        &mut h,
        3,
    );
    assert_eq!(search(&mut r, &mut h), vec![2]);
    for (q, code) in [("", "bad_query"), ("(\"*", "bad_query")] {
        let effects = send(
            &mut r,
            "a",
            serde_json::json!({"type":"search","q":q,"id":"s"}),
            &mut h,
            4,
        );
        let frame = &frames_for(&effects, "a")[0];
        assert_eq!(
            (frame["code"].as_str(), frame["id"].as_str()),
            (Some(code), Some("s"))
        );
    }
    let effects = send(
        &mut r,
        "a",
        serde_json::json!({"type":"search","q":"a","limit":51}),
        &mut h,
        4,
    );
    assert_eq!(frames_for(&effects, "a")[0]["code"], "bad_limit");
    let effects = send(&mut r, "a", serde_json::json!({"type":"search"}), &mut h, 4);
    assert_eq!(frames_for(&effects, "a")[0]["code"], "bad_request");
}
