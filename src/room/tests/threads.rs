//! Threads and mentions: replies on the one stream, the root's summary under its own `rev`, bad
//! roots refused, reading a thread and the list of threads, per-thread read marks, mentions resolved
//! at write time and again on edit, `@room` for moderators, and each person's counts.

use super::*;
use serde_json::json;

fn reply(text: &str, root: u64, id: &str) -> Value {
    json!({"type":"message","text":text,"thread":root,"id":id})
}

/// The `unread` frames sent to connection `to`.
fn counts_for(effects: &[Effect], to: &str) -> Vec<Value> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { to: t, frame } if t == to => Some(parse(frame)),
            _ => None,
        })
        .filter(|f| f["type"] == "unread")
        .collect()
}

fn kinds(effects: &[Effect], to: &str) -> Vec<String> {
    frames_for(effects, to)
        .iter()
        .map(|f| f["type"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_reply_is_a_message_on_the_one_stream_and_its_root_carries_the_summary() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    let effects = send(&mut r, "b", reply("me too", 1, "r1"), &mut h, 7);
    let to_b = frames_for(&effects, "b");
    assert_eq!(
        (to_b[0]["type"].as_str(), to_b[0]["seq"].as_u64()),
        (Some("ack"), Some(2))
    );
    assert_eq!(to_b[0]["rev"], 2);
    let to_c = frames_for(&effects, "c");
    assert_eq!(to_c[0]["type"], "message");
    assert_eq!(to_c[0]["thread"], 1);
    assert!(to_c[0].get("also_in_room").is_none());
    // Every connection, the replier's own included, hears the root's new summary as a change.
    for conn in ["a", "b", "c"] {
        let update = frames_for(&effects, conn)
            .into_iter()
            .find(|f| f["type"] == "thread_updated")
            .unwrap();
        assert_eq!(update["root"], 1);
        assert_eq!(
            update["thread"],
            json!({"replies":1,"last_seq":2,"last_at":7,"participants":["u-bob"]})
        );
        assert_eq!(update["rev"], 3);
    }
    assert_eq!(r.rev(), 3);
    let root = h.get(1).unwrap().unwrap();
    assert_eq!(root.summary().unwrap().replies, 1);
    assert_eq!(root.rev, 3);
    // The reply is in the room's history like any message.
    assert_eq!(r.messages(&h, 0, 10).unwrap().len(), 2);
}

#[test]
fn each_bad_root_is_refused_with_bad_thread_and_nothing_is_stored() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    send(&mut r, "b", reply("in thread", 1, "r1"), &mut h, 2);
    send(&mut r, "a", sayv(Some("m2"), "to delete"), &mut h, 3);
    send(
        &mut r,
        "a",
        json!({"type":"delete","seq":3,"id":"d"}),
        &mut h,
        4,
    );
    let last = r.last_seq();
    for (root, why) in [(99, "does not exist"), (3, "deleted"), (2, "is a reply")] {
        let effects = send(&mut r, "b", reply("x", root, "bad"), &mut h, 5);
        let to_b = frames_for(&effects, "b");
        assert_eq!(to_b.len(), 1, "{to_b:?}");
        assert_eq!(to_b[0]["code"], "bad_thread");
        assert_eq!(to_b[0]["id"], "bad");
        assert!(
            to_b[0]["message"].as_str().unwrap().contains(why),
            "{}",
            to_b[0]
        );
        assert!(frames_for(&effects, "c").is_empty());
    }
    assert_eq!(r.last_seq(), last);
    assert_eq!(ErrorCode::BadThread.http_status(), 400);
}

#[test]
fn a_reply_also_in_the_room_says_so() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    let frame = json!({"type":"message","text":"look","thread":1,"also_in_room":true,"id":"r"});
    let effects = send(&mut r, "b", frame, &mut h, 2);
    let msg = &frames_for(&effects, "c")[0];
    assert_eq!(msg["also_in_room"], true);
    assert!(h.get(2).unwrap().unwrap().in_main());
}

#[test]
fn concurrent_replies_in_one_flush_are_ordered_and_all_counted() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    for (id, name, uid) in [
        ("d", "dee", "u-dee"),
        ("e", "eve", "u-eve"),
        ("f", "fay", "u-fay"),
        ("g", "gus", "u-gus"),
    ] {
        let u = User {
            uid: Some(uid.into()),
            ..user(id, name)
        };
        r.join(u, (), None, &mut h, 0).unwrap();
    }
    // Six replies arrive before the flush: one commit, one order, every one counted.
    for (i, conn) in ["b", "d", "e", "b", "f", "g"].iter().enumerate() {
        let text = reply(&format!("r{i}"), 1, &format!("id{i}")).to_string();
        assert!(r.receive(conn, Incoming::Text(&text), 10).is_empty());
    }
    let effects = r.flush(&mut h, 10);
    let summaries: Vec<Value> = frames_for(&effects, "c")
        .into_iter()
        .filter(|f| f["type"] == "thread_updated")
        .collect();
    let counts: Vec<u64> = summaries
        .iter()
        .map(|s| s["thread"]["replies"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, [1, 2, 3, 4, 5, 6]);
    let revs: Vec<u64> = summaries
        .iter()
        .map(|s| s["rev"].as_u64().unwrap())
        .collect();
    assert!(revs.windows(2).all(|w| w[0] < w[1]), "{revs:?}");
    let last = &summaries[5]["thread"];
    assert_eq!(last["last_seq"], 7);
    assert_eq!(
        last["participants"],
        json!(["u-bob", "u-dee", "u-eve", "u-fay", "u-gus"])
    );
    let page = r.thread_page(&h, 1, 0, 50).unwrap();
    let seqs: Vec<u64> = page.replies.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, [2, 3, 4, 5, 6, 7]);
    assert_eq!(page.root.summary().unwrap().replies, 6);
}

#[test]
fn a_deleted_reply_is_counted_out_and_a_deleted_roots_thread_can_still_be_read() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    send(&mut r, "b", reply("one", 1, "r1"), &mut h, 2);
    send(&mut r, "b", reply("two", 1, "r2"), &mut h, 3);
    let effects = send(
        &mut r,
        "b",
        json!({"type":"delete","seq":3,"id":"d"}),
        &mut h,
        4,
    );
    let update = frames_for(&effects, "c")
        .into_iter()
        .find(|f| f["type"] == "thread_updated")
        .unwrap();
    assert_eq!(update["thread"]["replies"], 1);
    assert_eq!(update["thread"]["last_seq"], 2);
    // The root itself is deleted: its thread stays readable (tombstone and replies) but takes no more.
    send(
        &mut r,
        "a",
        json!({"type":"delete","seq":1,"id":"d2"}),
        &mut h,
        5,
    );
    let page = r.thread_page(&h, 1, 0, 50).unwrap();
    assert!(page.root.deleted);
    assert_eq!(page.root.summary().unwrap().replies, 1);
    assert_eq!(page.replies.len(), 2);
    assert!(page.replies[1].deleted);
    let effects = send(&mut r, "b", reply("three", 1, "r3"), &mut h, 6);
    assert_eq!(frames_for(&effects, "b")[0]["code"], "bad_thread");
}

#[test]
fn a_thread_is_read_in_pages_and_the_threads_are_listed_by_last_activity() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    send(&mut r, "a", sayv(Some("m2"), "second root"), &mut h, 2); // seq 2
    for i in 0..5 {
        send(
            &mut r,
            "b",
            reply(&format!("a{i}"), 1, &format!("a{i}")),
            &mut h,
            3 + i,
        );
    } // seqs 3..=7
    send(&mut r, "b", reply("b0", 2, "b0"), &mut h, 9); // seq 8
    let first = r.thread_page(&h, 1, 0, 2).unwrap();
    assert_eq!(
        first.replies.iter().map(|m| m.seq).collect::<Vec<_>>(),
        [3, 4]
    );
    assert!(first.has_more);
    let rest = r.thread_page(&h, 1, 4, 10).unwrap();
    assert_eq!(
        rest.replies.iter().map(|m| m.seq).collect::<Vec<_>>(),
        [5, 6, 7]
    );
    assert!(!rest.has_more);
    // Over the socket, the same.
    let effects = send(
        &mut r,
        "c",
        json!({"type":"thread","root":1,"after":6,"id":"t"}),
        &mut h,
        10,
    );
    let page = &frames_for(&effects, "c")[0];
    assert_eq!(page["type"], "thread_page");
    assert_eq!(page["id"], "t");
    assert_eq!(page["root"]["seq"], 1);
    assert_eq!(page["replies"][0]["seq"], 7);
    assert_eq!(page["has_more"], false);
    // A reply has no thread of its own; a missing message none at all.
    assert_eq!(
        r.thread_page(&h, 3, 0, 5).unwrap_err().code,
        ErrorCode::BadThread
    );
    assert_eq!(
        r.thread_page(&h, 99, 0, 5).unwrap_err().code,
        ErrorCode::NotFound
    );
    // The list: the thread of 2 was active last.
    let (roots, next) = r.threads(&h, None, 1).unwrap();
    assert_eq!(roots.iter().map(|m| m.seq).collect::<Vec<_>>(), [2]);
    assert_eq!(next, Some(8));
    let (roots, next) = r.threads(&h, next, 1).unwrap();
    assert_eq!(roots.iter().map(|m| m.seq).collect::<Vec<_>>(), [1]);
    assert_eq!(next, None);
}

#[test]
fn a_resume_with_since_catches_up_the_roots_summary() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    let since = r.rev();
    send(&mut r, "b", reply("later", 1, "r1"), &mut h, 2);
    let back = User {
        uid: Some("u-ann".into()),
        ..user("a2", "ann")
    };
    let resume = Joining {
        after: Some(1),
        since: Some(since),
        ..Joining::default()
    };
    let effects = r.join(back, (), resume, &mut h, 3).unwrap();
    let welcome = &frames_for(&effects, "a2")[0];
    assert_eq!(welcome["changes"][0]["seq"], 1);
    assert_eq!(welcome["changes"][0]["thread"]["replies"], 1);
    assert_eq!(welcome["history"][0]["thread"], 1);
}

#[test]
fn mentions_resolve_people_who_have_been_in_the_room_and_are_recomputed_on_edit() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    // dee was here once and left: she can still be mentioned; nobody ever called "zed" was.
    let dee = User {
        uid: Some("u-dee".into()),
        ..user("d", "Dee Dee")
    };
    r.join(dee, (), None, &mut h, 0).unwrap();
    r.leave("d", 0);
    let text = "@bob and @dee dee, not @zed nor <@u-nobody>; <@u-ann> too";
    let effects = send(&mut r, "c", sayv(Some("m"), text), &mut h, 2);
    let msg = &frames_for(&effects, "b")[0];
    assert_eq!(msg["mentions"], json!(["u-bob", "u-dee", "u-ann"]));
    // Edited: bob is no longer mentioned, cy never can be (anonymous).
    let effects = send(
        &mut r,
        "a",
        json!({"type":"message","text":"hi @bob","id":"m3"}),
        &mut h,
        3,
    );
    assert_eq!(frames_for(&effects, "c")[0]["mentions"], json!(["u-bob"]));
    let effects = send(
        &mut r,
        "a",
        json!({"type":"edit","seq":3,"text":"hi @cy and @Dee Dee","id":"e"}),
        &mut h,
        4,
    );
    let update = frames_for(&effects, "c")
        .into_iter()
        .find(|f| f["type"] == "message_updated")
        .unwrap();
    assert_eq!(update["message"]["mentions"], json!(["u-dee"]));
    assert_eq!(h.get(3).unwrap().unwrap().mentions, ["u-dee"]);
    // bob's mention went: he is told his counts (cy's message still mentions him; this one no more).
    let told = counts_for(&effects, "b");
    assert_eq!(told.len(), 1);
    assert_eq!(told[0]["mentions"], 1);
    assert!(counts_for(&effects, "c").is_empty());
}

#[test]
fn at_room_is_for_moderators_only() {
    let mut h = MemoryHistory::default();
    let mut r = moderated(&mut h);
    let effects = send(&mut r, "a", sayv(Some("x"), "@room lunch?"), &mut h, 2);
    let to_a = frames_for(&effects, "a");
    assert_eq!(to_a[0]["code"], "forbidden");
    assert_eq!(r.last_seq(), 1);
    // An edit cannot sneak it in either.
    let effects = send(
        &mut r,
        "a",
        json!({"type":"edit","seq":1,"text":"@room!","id":"e"}),
        &mut h,
        3,
    );
    assert_eq!(frames_for(&effects, "a")[0]["code"], "forbidden");
    let effects = send(&mut r, "b", sayv(Some("y"), "@room lunch!"), &mut h, 4);
    let msg = &frames_for(&effects, "a")[0];
    assert_eq!(msg["mentions_room"], true);
    // The app's backend (the HTTP API) may too.
    let draft = Draft {
        moderator: true,
        ..Draft::new(User::api("bot"), "@room deploy".into(), None)
    };
    let (res, _) = r.post(draft, &mut h, 5);
    assert!(res.is_ok());
    assert!(h.get(3).unwrap().unwrap().mentions_room);
}

#[test]
fn a_mention_counts_for_the_person_until_their_read_mark_passes_it() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    let b2 = User {
        uid: Some("u-bob".into()),
        ..user("b2", "bob")
    };
    r.join(b2, (), None, &mut h, 0).unwrap();
    let effects = send(&mut r, "a", sayv(Some("m2"), "@bob look"), &mut h, 2);
    // Both of bob's connections are told; nobody else is.
    for conn in ["b", "b2"] {
        let told = counts_for(&effects, conn);
        assert_eq!(told.len(), 1, "{conn}");
        assert_eq!(told[0]["mentions"], 1);
        assert!(
            told[0].get("unread").is_none(),
            "each connection counts the room itself"
        );
    }
    assert!(counts_for(&effects, "a").is_empty());
    assert!(counts_for(&effects, "c").is_empty());
    // A plain message tells nobody anything of the kind.
    let effects = send(&mut r, "a", sayv(Some("m3"), "plain"), &mut h, 3);
    assert_eq!(kinds(&effects, "b"), ["message"]);
    // On reconnect the welcome counts it.
    let back = User {
        uid: Some("u-bob".into()),
        ..user("b3", "bob")
    };
    let effects = r.join(back, (), None, &mut h, 4).unwrap();
    let welcome = &frames_for(&effects, "b3")[0];
    assert_eq!(welcome["mentions"], 1);
    assert_eq!(welcome["unread"], 3);
    // A read mark that passes it clears it, on every connection of bob's.
    let effects = send(&mut r, "b", json!({"type":"read","seq":2}), &mut h, 5);
    for conn in ["b", "b2", "b3"] {
        let told = counts_for(&effects, conn);
        assert_eq!(told.len(), 1, "{conn}");
        assert_eq!(told[0]["mentions"], 0);
    }
    // A read mark over no mention says nothing more than `read`.
    let effects = send(&mut r, "b", json!({"type":"read","seq":3}), &mut h, 2000);
    assert!(counts_for(&effects, "b").is_empty());
}

#[test]
fn thread_replies_count_for_the_people_in_the_thread_and_their_thread_read_marks_clear_them() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    // bob replies to ann's message: ann (the root's author) and bob take part from now on.
    let effects = send(&mut r, "b", reply("answer", 1, "r1"), &mut h, 2);
    let told = counts_for(&effects, "a");
    assert_eq!(told.len(), 1);
    assert_eq!(told[0]["thread_unread"], 1);
    assert_eq!(told[0]["threads"], json!([{"root":1,"unread":1}]));
    assert!(
        counts_for(&effects, "b").is_empty(),
        "never for one's own reply"
    );
    // ann replies: bob is told.
    let effects = send(&mut r, "a", reply("thanks", 1, "r2"), &mut h, 3);
    assert_eq!(counts_for(&effects, "b")[0]["thread_unread"], 1);
    // A mention in a thread is read with the thread: ann's main read mark leaves it, the thread's clears it.
    send(&mut r, "b", reply("@ann one more", 1, "r3"), &mut h, 4);
    let effects = r.join(
        User {
            uid: Some("u-ann".into()),
            ..user("a2", "ann")
        },
        (),
        None,
        &mut h,
        5,
    );
    let welcome = &frames_for(&effects.unwrap(), "a2")[0];
    assert_eq!(
        welcome["unread"], 0,
        "a reply does not count in the main conversation"
    );
    assert_eq!(welcome["thread_unread"], 2);
    assert_eq!(welcome["mentions"], 1);
    assert_eq!(welcome["threads"], json!([{"root":1,"unread":2}]));
    send(&mut r, "a", json!({"type":"read","seq":4}), &mut h, 6);
    let effects = send(
        &mut r,
        "a",
        json!({"type":"read","seq":4,"thread":1}),
        &mut h,
        7,
    );
    for conn in ["a", "a2"] {
        let told = counts_for(&effects, conn);
        assert_eq!(told.len(), 1, "{conn}");
        assert_eq!(told[0]["thread_unread"], 0);
        assert_eq!(told[0]["mentions"], 0);
        assert_eq!(told[0]["threads"], json!([]));
    }
    // Nobody else hears of a thread read mark.
    assert!(frames_for(&effects, "b").is_empty());
    assert!(frames_for(&effects, "c").is_empty());
    // A thread read mark names a root.
    let effects = send(
        &mut r,
        "a",
        json!({"type":"read","seq":4,"thread":2}),
        &mut h,
        8,
    );
    assert_eq!(frames_for(&effects, "a")[0]["code"], "bad_thread");
}

#[test]
fn webhook_events_carry_the_thread_and_the_mentions() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    r.set_webhooks(true);
    let effects = send(&mut r, "a", reply("@bob see", 1, "r1"), &mut h, 2);
    let event = &events(&effects)[0];
    assert_eq!(event["type"], "message.created");
    assert_eq!(event["message"]["thread"], 1);
    assert_eq!(event["message"]["mentions"], json!(["u-bob"]));
}

#[test]
fn search_finds_thread_replies() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    send(&mut r, "b", reply("pineapple pizza", 1, "r1"), &mut h, 2);
    let effects = send(
        &mut r,
        "a",
        json!({"type":"search","q":"pineapple","id":"s"}),
        &mut h,
        3,
    );
    let (seqs, frame) = results(&effects, "a");
    assert_eq!(seqs, [2]);
    assert_eq!(frame["results"][0]["thread"], 1);
}

#[test]
fn a_plain_message_costs_nothing_of_threads_or_mentions() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    let effects = send(
        &mut r,
        "a",
        sayv(Some("p"), "no thread, no at sign"),
        &mut h,
        2,
    );
    assert_eq!(
        trace(&effects),
        [t("a", "ack", Some(2)), t("all but a", "message", Some(2))]
    );
    let sent = frames_for(&effects, "b");
    for key in ["thread", "also_in_room", "mentions", "mentions_room"] {
        assert!(sent[0].get(key).is_none(), "{key}");
    }
    assert_eq!(r.rev(), 2);
}

#[test]
fn erasing_an_author_counts_their_replies_out_and_forgets_them_as_a_reader() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    send(&mut r, "b", reply("bob was here", 1, "r1"), &mut h, 2);
    send(
        &mut r,
        "b",
        json!({"type":"read","seq":2,"thread":1}),
        &mut h,
        3,
    );
    let (job, effects) = r.erase_author("u-bob", &mut h, 4);
    assert!(job.unwrap().done());
    let update = frames_for(&effects, "c")
        .into_iter()
        .find(|f| f["type"] == "thread_updated")
        .expect("the root's summary, counted again");
    assert_eq!(update["thread"]["replies"], 0);
    assert!(h.people.iter().all(|(uid, _)| uid != "u-bob"));
    assert!(h.thread_people.iter().all(|(_, uid)| uid != "u-bob"));
    assert!(h.thread_reads.iter().all(|(uid, _, _)| uid != "u-bob"));
    // Nobody can mention the erased name any more.
    let effects = send(&mut r, "a", sayv(Some("m"), "@bob?"), &mut h, 5);
    assert!(frames_for(&effects, "c")[0].get("mentions").is_none());
}
