//! A room's blocked words: managed by moderators, checked on arrival with no network, told to
//! moderators only.

use super::*;

fn block(words: &[&str], kind: &str) -> Value {
    serde_json::json!({"type": kind, "words": words, "id": kind})
}

#[test]
fn a_blocked_word_refuses_a_message_or_an_edit_at_once() {
    let mut h = MemoryHistory::default();
    let mut r = moderated(&mut h);
    let done = send(
        &mut r,
        "b",
        block(&["Free Money", "spam*"], "block"),
        &mut h,
        2,
    );
    assert_eq!(h.blocked, vec!["free money", "spam*"], "stored normalized");
    // Told to moderators (bob) only: the list is not published to the room.
    assert_eq!(
        frames_for(&done, "b")
            .iter()
            .filter(|f| f["type"] == "moderation")
            .count(),
        1
    );
    assert!(frames_for(&done, "a")
        .iter()
        .all(|f| f["type"] != "moderation"));
    let told = frames_for(&done, "b")
        .into_iter()
        .find(|f| f["type"] == "moderation")
        .unwrap();
    assert_eq!(told["words"], serde_json::json!(["free money", "spam*"]));

    let refused = send(
        &mut r,
        "a",
        sayv(Some("m2"), "get FREE money, spammers"),
        &mut h,
        3,
    );
    let f = &frames_for(&refused, "a")[0];
    assert_eq!(
        (f["code"].as_str(), f["id"].as_str()),
        (Some("rejected"), Some("m2"))
    );
    assert!(f["message"].as_str().unwrap().contains("free money"), "{f}");
    assert!(
        frames_for(&refused, "b").is_empty(),
        "nobody else heard of it"
    );
    assert_eq!(h.messages.len(), 1);
    let edit = serde_json::json!({"type": "edit", "seq": 1, "text": "spam inc", "id": "e"});
    assert_eq!(
        frames_for(&send(&mut r, "a", edit, &mut h, 4), "a")[0]["code"],
        "rejected"
    );
    // Whole words only; a moderator may quote them.
    assert_eq!(
        frames_for(
            &send(&mut r, "a", sayv(Some("m3"), "free of money"), &mut h, 5),
            "a"
        )[0]["type"],
        "ack"
    );
    assert_eq!(
        frames_for(
            &send(&mut r, "b", sayv(Some("b1"), "no spam please"), &mut h, 6),
            "b"
        )[0]["type"],
        "ack"
    );
    // A bot's post is checked the same way.
    let (posted, _) = r.post(
        Draft::new(User::api("bot"), "spamming".into(), None),
        &mut h,
        7,
    );
    assert_eq!(posted.unwrap_err().code, ErrorCode::Rejected);
    // Unblocked, it passes.
    send(&mut r, "b", block(&["spam*"], "unblock"), &mut h, 8);
    assert_eq!(h.blocked, vec!["free money"]);
    assert_eq!(
        frames_for(
            &send(&mut r, "a", sayv(Some("m4"), "spam inc"), &mut h, 9),
            "a"
        )[0]["type"],
        "ack"
    );
}

#[test]
fn only_moderators_manage_the_list_and_it_is_bounded() {
    let mut h = MemoryHistory::default();
    let mut r = moderated(&mut h);
    assert_eq!(
        frames_for(&send(&mut r, "a", block(&["x"], "block"), &mut h, 1), "a")[0]["code"],
        "forbidden"
    );
    let bad = send(&mut r, "b", block(&["not-a-word"], "block"), &mut h, 2);
    assert_eq!(frames_for(&bad, "b")[0]["code"], "bad_request");
    let many: Vec<String> = (0..crate::blocklist::MAX_ENTRIES)
        .map(|i| format!("w{i}"))
        .collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    assert_eq!(
        frames_for(&send(&mut r, "b", block(&refs, "block"), &mut h, 3), "b")[0]["type"],
        "ack"
    );
    let over = send(&mut r, "b", block(&["one more"], "block"), &mut h, 4);
    assert_eq!(frames_for(&over, "b")[0]["code"], "too_large");
    // The rules moderators read list them.
    let log = send(
        &mut r,
        "b",
        serde_json::json!({"type": "moderation_log", "id": "l"}),
        &mut h,
        5,
    );
    assert_eq!(
        frames_for(&log, "b")[0]["rules"]["blocked"]
            .as_array()
            .unwrap()
            .len(),
        crate::blocklist::MAX_ENTRIES
    );
}
