//! Moderation: who may, what each action does, the rules in force, open rooms.

use super::*;

#[test]
fn an_anonymous_connection_has_a_uid_a_moderator_can_mute_kick_or_ban_but_no_identity() {
    let mut h = MemoryHistory::default();
    let mut r = moderated(&mut h);
    let welcome = open_join(&mut r, &mut h, "x", None, "198.51.100.7", 2).unwrap();
    let you = &frames_for(&welcome, "x")[0];
    assert_eq!(you["you"]["uid"], "anon:x");
    assert_eq!(
        you["read_seq"],
        Value::Null,
        "no read state without an identity"
    );
    // an anonymous uid gives no identity's rights: editing, reacting, read marks
    let effects = send(&mut r, "x", sayv(Some("x1"), "hi"), &mut h, 3);
    let seq = frames_for(&effects, "x")[0]["seq"].as_u64().unwrap();
    for frame in [
        serde_json::json!({"type": "edit", "seq": seq, "text": "changed", "id": "e"}),
        serde_json::json!({"type": "react", "seq": seq, "emoji": "👍", "id": "r"}),
    ] {
        let effects = send(&mut r, "x", frame, &mut h, 4);
        assert_eq!(frames_for(&effects, "x")[0]["code"], "forbidden");
    }
    // the moderator mutes it by that uid
    let mut mute = uid_frame("mute", "anon:x");
    mute["seconds"] = 60.into();
    send(&mut r, "b", mute, &mut h, 5);
    let effects = send(&mut r, "x", sayv(Some("x2"), "still here"), &mut h, 6);
    assert_eq!(frames_for(&effects, "x")[0]["code"], "muted");
    // and bans it: closed at once
    let effects = send(&mut r, "b", uid_frame("ban", "anon:x"), &mut h, 7);
    assert!(effects.iter().any(|e| matches!(e,
        Effect::Close { to, code: 4403, .. } if to == "x")));
}

#[test]
fn in_an_open_room_a_ban_also_bars_the_address_for_a_while_and_an_unban_lifts_it() {
    let mut h = MemoryHistory::default();
    let mut r = moderated(&mut h);
    let hour = 3600 * 1000;
    open_join(&mut r, &mut h, "k", Some("u-key-1"), "198.51.100.7", 2).unwrap();
    send(&mut r, "b", uid_frame("ban", "u-key-1"), &mut h, 3);
    assert_eq!(h.address_bans.len(), 1, "stored, to hold across a wake");
    // back with a new key (a new uid) from the same address: refused
    let again = open_join(&mut r, &mut h, "k2", Some("u-key-2"), "198.51.100.7", 4);
    assert_eq!(again.unwrap_err().code, ErrorCode::Banned);
    // anonymous from the same address too; from elsewhere anyone may come
    let anon = open_join(&mut r, &mut h, "k3", None, "198.51.100.7", 5);
    assert_eq!(anon.unwrap_err().code, ErrorCode::Banned);
    assert!(open_join(&mut r, &mut h, "o", None, "203.0.113.1", 6).is_ok());
    // the address ban ends after ADDRESS_BAN_HOURS; the uid's ban does not
    let later = 3 + 24 * hour;
    assert!(open_join(&mut r, &mut h, "k4", Some("u-key-2"), "198.51.100.7", later).is_ok());
    let banned = open_join(&mut r, &mut h, "k5", Some("u-key-1"), "203.0.113.1", later);
    assert_eq!(banned.unwrap_err().code, ErrorCode::Banned);
    // an unban lifts both
    let mut r = moderated(&mut h);
    open_join(&mut r, &mut h, "k", Some("u-key-1"), "198.51.100.9", 2).unwrap();
    send(&mut r, "b", uid_frame("ban", "u-key-1"), &mut h, 3);
    assert!(open_join(&mut r, &mut h, "n", None, "198.51.100.9", 4).is_err());
    send(&mut r, "b", uid_frame("unban", "u-key-1"), &mut h, 5);
    assert!(h.address_bans.iter().all(|b| b.uid != "u-key-1"));
    assert!(open_join(&mut r, &mut h, "n", None, "198.51.100.9", 6).is_ok());
}

#[test]
fn address_bans_can_be_switched_off() {
    let mut h = MemoryHistory::default();
    let mut r = Room::new(
        "lobby",
        Limits {
            address_ban_secs: 0,
            ..Limits::default()
        },
        0,
    );
    let moderator = User::connection("m".into(), "mod".into(), Some("u-mod".into()));
    r.join(moderator, (), None, &mut h, 0).unwrap();
    r.set_role("m", Role::Moderator);
    open_join(&mut r, &mut h, "k", Some("u-key-1"), "198.51.100.7", 1).unwrap();
    send(&mut r, "m", uid_frame("ban", "u-key-1"), &mut h, 2);
    assert!(h.address_bans.is_empty());
    assert!(open_join(&mut r, &mut h, "k2", Some("u-key-2"), "198.51.100.7", 3).is_ok());
}

#[test]
fn a_room_may_require_an_identity_to_speak_and_anonymous_members_then_only_read() {
    let mut h = MemoryHistory::default();
    let mut r = moderated(&mut h);
    open_join(&mut r, &mut h, "x", None, "198.51.100.7", 1).unwrap();
    let effects = send(&mut r, "b", uid_frame("require_identity", "-"), &mut h, 2);
    let told = frames_for(&effects, "x");
    assert_eq!(told[0]["type"], "moderation");
    assert_eq!(told[0]["action"], "require_identity");
    // anonymous: no message, and its typing reaches nobody
    let effects = send(&mut r, "x", sayv(Some("x1"), "hi"), &mut h, 3);
    let refusal = &frames_for(&effects, "x")[0];
    assert_eq!(refusal["code"], "forbidden");
    assert_eq!(refusal["id"], "x1");
    let effects = send(
        &mut r,
        "x",
        serde_json::json!({"type": "typing"}),
        &mut h,
        4,
    );
    assert!(effects.is_empty(), "{effects:?}");
    // with a key, as before
    let effects = send(&mut r, "a", sayv(Some("a9"), "hello"), &mut h, 5);
    assert_eq!(frames_for(&effects, "a")[0]["type"], "ack");
    // a newcomer learns the rule in its welcome, and allow_anonymous undoes it
    let welcome = open_join(&mut r, &mut h, "y", None, "198.51.100.8", 6).unwrap();
    assert_eq!(frames_for(&welcome, "y")[0]["identity_required"], true);
    send(&mut r, "b", uid_frame("allow_anonymous", "-"), &mut h, 7);
    assert!(!h.identity_required);
    let effects = send(&mut r, "x", sayv(Some("x2"), "hi again"), &mut h, 8);
    assert_eq!(frames_for(&effects, "x")[0]["type"], "ack");
    let welcome = open_join(&mut r, &mut h, "z", None, "198.51.100.8", 9).unwrap();
    assert_eq!(frames_for(&welcome, "z")[0].get("identity_required"), None);
}

#[test]
fn only_a_moderator_may_moderate() {
    let mut h = MemoryHistory::default();
    let mut r = moderated(&mut h);
    let effects = send(&mut r, "a", uid_frame("kick", BOB), &mut h, 2);
    assert_eq!(frames_for(&effects, "a")[0]["code"], "forbidden");
    assert!(r.has("b"));
    let effects = send(
        &mut r,
        "a",
        serde_json::json!({"type":"moderation_log"}),
        &mut h,
        2,
    );
    assert_eq!(frames_for(&effects, "a")[0]["code"], "forbidden");
}

#[test]
fn a_ban_closes_the_authors_sockets_refuses_its_return_and_is_logged() {
    let mut h = MemoryHistory::default();
    let mut r = moderated(&mut h);
    let mut frame = uid_frame("ban", ANN);
    frame["reason"] = "spam".into();
    let effects = send(&mut r, "b", frame, &mut h, 2);
    let to_a = frames_for(&effects, "a");
    assert!(to_a
        .iter()
        .any(|f| f["type"] == "error" && f["code"] == "banned"));
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::Close { to, code: 4403, reason: "banned" } if to == "a")));
    assert!(!r.has("a"));
    let to_c = frames_for(&effects, "c");
    let seen = to_c.iter().find(|f| f["type"] == "moderation").unwrap();
    assert_eq!(
        (seen["action"].as_str(), seen["uid"].as_str()),
        (Some("ban"), Some(ANN))
    );
    assert_eq!(seen["by"]["name"], "bob");
    assert_eq!(seen["reason"], "spam");
    assert!(frames_for(&effects, "b")
        .iter()
        .any(|f| f["type"] == "ack" && f["id"] == "ban"));
    assert!(h.bans.contains(ANN));
    let back = User {
        uid: Some(ANN.into()),
        ..user("a2", "ann")
    };
    assert_eq!(
        r.join(back.clone(), (), None, &mut h, 3).unwrap_err().code,
        ErrorCode::Banned
    );
    send(&mut r, "b", uid_frame("unban", ANN), &mut h, 4);
    assert!(r.join(back, (), None, &mut h, 5).is_ok());
    let effects = send(
        &mut r,
        "b",
        serde_json::json!({"type":"moderation_log","limit":1}),
        &mut h,
        6,
    );
    let log = &frames_for(&effects, "b")[0];
    assert_eq!(log["type"], "moderation_log");
    assert_eq!(log["records"][0]["action"], "unban");
    assert_eq!(log["has_more"], true);
    assert_eq!(log["rules"]["bans"].as_array().unwrap().len(), 0);
}

#[test]
fn a_kick_closes_once_and_the_author_may_come_back() {
    let mut h = MemoryHistory::default();
    let mut r = moderated(&mut h);
    let effects = send(&mut r, "b", uid_frame("kick", ANN), &mut h, 2);
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::Close { to, code: 4403, reason: "kicked" } if to == "a")));
    let back = User {
        uid: Some(ANN.into()),
        ..user("a2", "ann")
    };
    assert!(r.join(back, (), None, &mut h, 3).is_ok());
}

#[test]
fn a_muted_author_changes_nothing_until_the_mute_ends() {
    let mut h = MemoryHistory::default();
    let mut r = moderated(&mut h);
    let mut frame = uid_frame("mute", ANN);
    frame["seconds"] = 10.into();
    send(&mut r, "b", frame, &mut h, 1_000);
    for op in [
        serde_json::json!({"type":"message","text":"hi","id":"m"}),
        serde_json::json!({"type":"edit","seq":1,"text":"x","id":"m"}),
        serde_json::json!({"type":"react","seq":1,"emoji":"👍","id":"m"}),
    ] {
        let effects = send(&mut r, "a", op, &mut h, 2_000);
        let err = &frames_for(&effects, "a")[0];
        assert_eq!(err["code"], "muted");
        assert_eq!(err["id"], "m");
    }
    assert_eq!(h.messages.len(), 1);
    let back = User {
        uid: Some(ANN.into()),
        ..user("a2", "ann")
    };
    let welcome = &frames_for(&r.join(back, (), None, &mut h, 3_000).unwrap(), "a2")[0];
    assert_eq!(welcome["muted_until"], 11_000);
    let effects = send(&mut r, "a", sayv(Some("later"), "back"), &mut h, 11_000);
    assert_eq!(frames_for(&effects, "a")[0]["type"], "ack");
}

#[test]
fn slow_mode_holds_members_apart_but_not_moderators() {
    let mut h = MemoryHistory::default();
    let mut r = moderated(&mut h);
    send(
        &mut r,
        "b",
        serde_json::json!({"type":"slow_mode","seconds":30}),
        &mut h,
        0,
    );
    assert_eq!(
        frames_for(
            &send(&mut r, "a", sayv(Some("1"), "one"), &mut h, 1_000),
            "a"
        )[0]["type"],
        "ack"
    );
    let refused = &frames_for(
        &send(&mut r, "a", sayv(Some("2"), "two"), &mut h, 2_000),
        "a",
    )[0];
    assert_eq!(refused["code"], "slow_mode");
    assert!(refused["message"]
        .as_str()
        .unwrap()
        .contains("wait 29 more"));
    for i in 0..3 {
        let effects = send(
            &mut r,
            "b",
            sayv(Some(&format!("b{i}")), "mod"),
            &mut h,
            2_000,
        );
        assert_eq!(frames_for(&effects, "b")[0]["type"], "ack");
    }
    let welcome = &frames_for(
        &r.join(user("d", "dee"), (), None, &mut h, 3_000).unwrap(),
        "d",
    )[0];
    assert_eq!(welcome["slow_mode"], 30);
}

#[test]
fn a_muted_authors_typing_reaches_nobody() {
    let mut h = MemoryHistory::default();
    let mut r = moderated(&mut h);
    let mut frame = uid_frame("mute", ANN);
    frame["seconds"] = 10.into();
    send(&mut r, "b", frame, &mut h, 1_000);
    let typing = serde_json::json!({"type":"typing"});
    let effects = send(&mut r, "a", typing.clone(), &mut h, 2_000);
    assert!(effects.is_empty(), "{effects:?}");
    // Once the mute is over, ann's typing is shown again.
    let effects = send(&mut r, "a", typing, &mut h, 11_000);
    assert_eq!(frames_for(&effects, "b")[0]["type"], "typing");
}

#[test]
fn slow_mode_holds_edits_and_reactions_apart_too_but_not_moderators() {
    let mut h = MemoryHistory::default();
    let mut r = moderated(&mut h);
    send(
        &mut r,
        "b",
        serde_json::json!({"type":"slow_mode","seconds":30}),
        &mut h,
        0,
    );
    let first = |effects: &[Effect], to: &str| frames_for(effects, to)[0].clone();
    let edit = |text: &str| serde_json::json!({"type":"edit","seq":1,"text":text,"id":"e"});
    let react = |emoji: &str| serde_json::json!({"type":"react","seq":1,"emoji":emoji,"id":"r"});
    assert_eq!(
        first(&send(&mut r, "a", edit("one"), &mut h, 1_000), "a")["type"],
        "ack"
    );
    let refused = first(&send(&mut r, "a", edit("two"), &mut h, 2_000), "a");
    assert_eq!(refused["code"], "slow_mode");
    assert!(refused["message"].as_str().unwrap().contains("edit"));
    assert_eq!(h.messages[0].text, "one");
    // Reactions are on a clock of their own: the first passes, a quick second does not.
    let reacted = send(&mut r, "a", react("👍"), &mut h, 2_000);
    assert!(frames_for(&reacted, "a").iter().any(|f| f["type"] == "ack"));
    let refused = first(&send(&mut r, "a", react("🎉"), &mut h, 3_000), "a");
    assert_eq!(refused["code"], "slow_mode");
    // Moderators are not held.
    for emoji in ["👍", "🎉", "👀"] {
        let effects = send(&mut r, "b", react(emoji), &mut h, 3_000);
        assert!(frames_for(&effects, "b").iter().any(|f| f["type"] == "ack"));
    }
    // After the interval, ann may edit again.
    assert_eq!(
        first(&send(&mut r, "a", edit("three"), &mut h, 31_000), "a")["type"],
        "ack"
    );
}

#[test]
fn a_moderator_deletes_anyones_message_and_the_deletion_is_logged() {
    let mut h = MemoryHistory::default();
    let mut r = moderated(&mut h);
    let effects = send(
        &mut r,
        "b",
        serde_json::json!({"type":"delete","seq":1,"reason":"  off topic ","id":"d"}),
        &mut h,
        2,
    );
    assert_eq!(frames_for(&effects, "b")[0]["type"], "ack");
    assert!(h.messages[0].deleted);
    let logged: Value = serde_json::from_str(&h.moderation[0].1).unwrap();
    assert_eq!(
        (logged["action"].as_str(), logged["seq"].as_u64()),
        (Some("delete"), Some(1))
    );
    assert_eq!(logged["uid"], ANN);
    assert_eq!(
        logged["reason"], "off topic",
        "the moderator's reason, trimmed"
    );
    // and told, so ann's page can say a moderator deleted it
    let told = frames_for(&effects, "a");
    let notice = told.iter().find(|f| f["type"] == "moderation").unwrap();
    assert_eq!(
        (notice["action"].as_str(), notice["seq"].as_u64()),
        (Some("delete"), Some(1))
    );
    assert_eq!(notice["by"]["uid"], "u-bob");
    assert_eq!(notice["reason"], "off topic");
    // an author deleting their own message tells nobody why (there is no moderator to name)
    deliver(
        &mut r,
        "a",
        Incoming::Text(&say(Some("m9"), "mine")),
        &mut h,
        2,
    );
    let own = send(
        &mut r,
        "a",
        serde_json::json!({"type":"delete","seq":2,"reason":"oops","id":"d"}),
        &mut h,
        2,
    );
    assert!(!frames_for(&own, "b")
        .iter()
        .any(|f| f["type"] == "moderation"));
    assert_eq!(h.moderation.len(), 1);
    // a reason over 200 characters is refused before anything is deleted
    let long = send(
        &mut r,
        "b",
        serde_json::json!({"type":"delete","seq":1,"reason":"x".repeat(201),"id":"d"}),
        &mut h,
        2,
    );
    assert_eq!(frames_for(&long, "b")[0]["code"], "bad_request");
    // and through the API, without an author id
    deliver(
        &mut r,
        "a",
        Incoming::Text(&say(Some("m2"), "again")),
        &mut h,
        3,
    );
    let (done, told) = r.delete_api(user("api", "backend"), 3, Some("spam".into()), &mut h, 4);
    assert_eq!(done.unwrap().seq, 3);
    let notice = frames_for(&told, "a")
        .into_iter()
        .find(|f| f["type"] == "moderation")
        .unwrap();
    assert_eq!(
        (notice["seq"].as_u64(), notice["reason"].as_str()),
        (Some(3), Some("spam"))
    );
    let (gone, _) = r.delete_api(user("api", "backend"), 99, None, &mut h, 5);
    assert_eq!(gone.unwrap_err().code, ErrorCode::NotFound);
}

#[test]
fn a_purge_deletes_an_authors_recent_messages_in_batches_each_told_as_a_moderators_deletion() {
    let mut h = MemoryHistory::default();
    let limits = Limits {
        rate: crate::rate::Rate {
            burst: 1000.0,
            per_sec: 1000.0,
        },
        ..Limits::default()
    };
    let mut r: Room<()> = Room::new("lobby", limits, 0);
    for (id, name, uid) in [("a", "ann", ANN), ("b", "bob", BOB)] {
        let u = User::connection(id.into(), name.into(), Some(uid.into()));
        r.join(u, (), None, &mut h, 0).unwrap();
    }
    r.set_role("b", Role::Moderator);
    let hour = 3600 * 1000;
    // Ann's five old messages, then 120 recent ones with bob's in between.
    for i in 0..5 {
        send(&mut r, "a", sayv(None, &format!("old {i}")), &mut h, 1);
    }
    for i in 0..120 {
        send(
            &mut r,
            "a",
            sayv(None, &format!("spam {i}")),
            &mut h,
            10 * hour,
        );
        if i % 40 == 0 {
            send(&mut r, "b", sayv(None, "hello"), &mut h, 10 * hour);
        }
    }
    // Only moderators purge, and only with a look back.
    let mut purge = uid_frame("purge", ANN);
    assert_eq!(
        frames_for(&send(&mut r, "b", purge.clone(), &mut h, 10 * hour), "b")[0]["code"],
        "bad_request"
    );
    purge["seconds"] = 3600.into();
    purge["reason"] = "spam".into();
    assert_eq!(
        frames_for(&send(&mut r, "a", purge.clone(), &mut h, 10 * hour), "a")[0]["code"],
        "forbidden"
    );
    let now = 10 * hour + 1000;
    let first = send(&mut r, "b", purge, &mut h, now);
    let told = frames_for(&first, "a");
    assert_eq!(told[0]["action"], "purge", "the purge's record first");
    assert_eq!(
        (told[0]["uid"].as_str(), told[0]["seconds"].as_u64()),
        (Some(ANN), Some(3600))
    );
    let deletions = |frames: &[Value]| -> Vec<u64> {
        frames
            .iter()
            .filter(|f| f["type"] == "moderation" && f["action"] == "delete")
            .map(|f| {
                assert_eq!(
                    (f["reason"].as_str(), f["by"]["uid"].as_str()),
                    (Some("spam"), Some(BOB))
                );
                f["seq"].as_u64().unwrap()
            })
            .collect()
    };
    let updated = |frames: &[Value]| {
        frames
            .iter()
            .filter(|f| f["type"] == "message_updated")
            .count()
    };
    let wakes = |effects: &[Effect]| {
        effects
            .iter()
            .filter(|e| matches!(e, Effect::Wake { after_ms: 0 }))
            .count()
    };
    let batch = crate::moderation::PURGE_BATCH;
    assert_eq!(
        (deletions(&told).len(), updated(&told), wakes(&first)),
        (batch, batch, 1)
    );
    // Newest first, a batch per turn, until the recent ones are all gone.
    let second = r.continue_purges(&mut h, now);
    let third = r.continue_purges(&mut h, now);
    assert_eq!(deletions(&frames_for(&second, "a")).len(), batch);
    assert_eq!(wakes(&second), 1);
    assert_eq!(deletions(&frames_for(&third, "a")).len(), 120 - 2 * batch);
    assert_eq!(wakes(&third), 0, "done: no more turns asked for");
    assert!(r.continue_purges(&mut h, now).is_empty());
    let gone = |m: &ChatMessage| m.deleted;
    let ann: Vec<&ChatMessage> = h
        .messages
        .iter()
        .filter(|m| m.from.uid.as_deref() == Some(ANN))
        .collect();
    assert!(
        ann.iter().filter(|m| m.text.starts_with("old")).count() == 5,
        "older than the hour: kept"
    );
    assert_eq!(ann.iter().filter(|m| gone(m)).count(), 120);
    assert!(h
        .messages
        .iter()
        .filter(|m| m.from.uid.as_deref() == Some(BOB))
        .all(|m| !gone(m)));
    // The log keeps the purge once, not each of its deletions.
    assert_eq!(h.moderation.len(), 1);
    let logged: Value = serde_json::from_str(&h.moderation[0].1).unwrap();
    assert_eq!(
        (logged["action"].as_str(), logged["reason"].as_str()),
        (Some("purge"), Some("spam"))
    );
}
