//! The HTTP API's calls into the room, and webhook events.

use super::*;

#[test]
fn a_post_flushes_what_was_queued_before_it() {
    let mut h = MemoryHistory::default();
    let mut r = room();
    r.join(user("a", "ann"), (), None, &mut h, 0).unwrap();
    r.receive("a", Incoming::Text(&say(Some("x"), "first")), 0);
    let (res, effects) = r.post(
        Draft::new(user("api", "bot"), "second".into(), None),
        &mut h,
        0,
    );
    assert_eq!(res.map(|a| a.seq), Ok(2));
    assert_eq!(
        r.commits(),
        Commits {
            turns: 1,
            messages: 2
        },
        "the post shares the flush's turn"
    );
    assert_eq!(
        trace(&effects),
        vec![
            t("a", "ack", Some(1)),
            t("all but a", "message", Some(1)),
            t("all but api", "message", Some(2)),
        ]
    );
    assert!(!r.has_pending());
}

#[test]
fn a_post_reaches_every_socket_and_is_idempotent() {
    let mut h = MemoryHistory::default();
    let mut r = room();
    r.join(user("a", "ann"), (), None, &mut h, 0).unwrap();
    let (res, effects) = r.post(
        Draft::new(user("api", "bot"), "deploy done".into(), Some("d1".into())),
        &mut h,
        9,
    );
    assert_eq!(
        res,
        Ok(Accepted {
            seq: 1,
            ts: 9,
            rev: 1,
            fresh: true
        })
    );
    assert_eq!(frames_for(&effects, "a")[0]["text"], "deploy done");
    let (res, effects) = r.post(
        Draft::new(user("api", "bot"), "deploy done".into(), Some("d1".into())),
        &mut h,
        10,
    );
    assert_eq!(
        res,
        Ok(Accepted {
            seq: 1,
            ts: 9,
            rev: 1,
            fresh: false
        })
    );
    assert!(effects.is_empty());
    let (res, _) = r.post(Draft::new(user("api", "bot"), " ".into(), None), &mut h, 10);
    assert_eq!(res.unwrap_err().code, ErrorCode::BadRequest);
}

#[test]
fn with_webhooks_on_every_change_and_only_a_change_produces_one_event() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    assert!(
        h.messages.len() == 1,
        "living() said hello before events were on"
    );
    r.set_webhooks(true);
    let created = send(
        &mut r,
        "a",
        serde_json::json!({"type":"message","text":"hi","id":"m2"}),
        &mut h,
        2,
    );
    let e = events(&created);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["type"], "message.created");
    assert_eq!(e[0]["room"], "lobby");
    assert_eq!(e[0]["message"]["seq"], 2);
    assert_eq!(e[0]["event_id"], "lobby/2");
    // a retry of the same message is no new change
    let retry = send(
        &mut r,
        "a",
        serde_json::json!({"type":"message","text":"hi","id":"m2"}),
        &mut h,
        3,
    );
    assert!(events(&retry).is_empty());
    let edited = send(
        &mut r,
        "a",
        serde_json::json!({"type":"edit","seq":2,"text":"hi all"}),
        &mut h,
        4,
    );
    let e = events(&edited);
    assert_eq!(
        (e[0]["type"].as_str(), e[0]["message"]["text"].as_str()),
        (Some("message.updated"), Some("hi all"))
    );
    assert_eq!(e[0]["at"], 4);
    let reacted = send(
        &mut r,
        "b",
        serde_json::json!({"type":"react","seq":2,"emoji":"👍","on":true}),
        &mut h,
        5,
    );
    let e = events(&reacted);
    assert_eq!(e[0]["type"], "reaction.added");
    assert_eq!(e[0]["message"]["reactions"]["👍"], 1);
    assert_eq!(e[0]["reaction"]["user"]["uid"], "u-bob");
    let unreacted = send(
        &mut r,
        "b",
        serde_json::json!({"type":"react","seq":2,"emoji":"👍","on":false}),
        &mut h,
        6,
    );
    assert_eq!(events(&unreacted)[0]["type"], "reaction.removed");
    let refused = send(
        &mut r,
        "b",
        serde_json::json!({"type":"delete","seq":2}),
        &mut h,
        7,
    );
    assert!(
        events(&refused).is_empty(),
        "a refused change reports nothing"
    );
    let deleted = send(
        &mut r,
        "a",
        serde_json::json!({"type":"delete","seq":2}),
        &mut h,
        8,
    );
    let e = events(&deleted);
    assert_eq!(e[0]["type"], "message.deleted");
    assert_eq!(e[0]["message"]["text"], "");
    assert_eq!(e[0]["message"]["deleted"], true);
    let ids: std::collections::BTreeSet<String> =
        [&created, &edited, &reacted, &unreacted, &deleted]
            .iter()
            .map(|fx| events(fx)[0]["event_id"].as_str().unwrap().to_string())
            .collect();
    assert_eq!(ids.len(), 5, "each change has its own event id");
    let (_, posted) = r.post(
        Draft::new(user("api", "bot"), "from the API".into(), None),
        &mut h,
        9,
    );
    assert_eq!(events(&posted)[0]["message"]["text"], "from the API");
}

#[test]
fn without_webhooks_no_events_are_built() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    let effects = send(
        &mut r,
        "a",
        serde_json::json!({"type":"edit","seq":1,"text":"x"}),
        &mut h,
        2,
    );
    assert!(events(&effects).is_empty());
}

#[test]
fn the_api_moderates_and_webhooks_hear_of_it() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    r.set_webhooks(true);
    let (record, effects) = r.moderate_api(
        user("api", "backend"),
        Action::Kick { uid: ANN.into() },
        &mut h,
        9,
    );
    assert_eq!(record.unwrap().action, "kick");
    assert!(!r.has("a"));
    let e = events(&effects);
    assert_eq!(e[0]["type"], "member.kicked");
    assert_eq!(e[0]["moderation"]["uid"], ANN);
    assert_eq!(e[0]["event_id"], "lobby/mod-1");
}
