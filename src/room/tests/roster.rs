//! Joining, leaving, restoring, presence, the sweep and token expiry.

use super::*;

#[test]
fn the_room_keeps_its_own_sockets_apart_and_counts_each_shards() {
    let mut h = MemoryHistory::default();
    let mut r: Room<At> = Room::new("lobby", Limits::default(), 0);
    for (id, at) in [
        ("a", None),
        ("b", Some(1)),
        ("c", Some(1)),
        ("d", None),
        ("e", Some(3)),
    ] {
        r.join(user(id, id), At(at), None, &mut h, 0).unwrap();
    }
    let mut local: Vec<&str> = r.local_members().map(|(id, _)| id).collect();
    local.sort_unstable();
    assert_eq!(local, ["a", "d"]);
    assert_eq!(r.local_count(), 2);
    assert_eq!(r.shard_counts(), [2, 0, 1]);
    assert_eq!(r.on_shard(1).collect::<Vec<_>>(), ["b", "c"]);
    assert_eq!(
        r.info().online,
        5,
        "presence counts every socket, wherever it is"
    );
    // A leave on a shard, a leave here, and a connection id that joins again on a shard.
    r.leave("c", 1);
    r.leave("a", 1);
    r.join(user("d", "d"), At(Some(2)), None, &mut h, 2)
        .unwrap();
    assert_eq!(r.local_count(), 0);
    assert_eq!(r.local_members().count(), 0);
    assert_eq!(r.shard_counts(), [1, 1, 1]);
    assert_eq!(r.info().online, 3);
}

#[test]
fn welcome_lists_members_and_recent_history_then_others_hear_the_join() {
    let mut h = MemoryHistory::default();
    let mut r = room();
    r.join(user("a", "ann"), (), None, &mut h, 0).unwrap();
    for i in 0..60 {
        deliver(
            &mut r,
            "a",
            Incoming::Text(&say(None, &format!("m{i}"))),
            &mut h,
            i * 1000,
        );
    }
    let effects = r.join(user("b", "bob"), (), None, &mut h, 60_000).unwrap();
    let welcome = &frames_for(&effects, "b")[0];
    assert_eq!(welcome["type"], "welcome");
    assert_eq!(welcome["you"]["name"], "bob");
    assert_eq!(welcome["members"].as_array().unwrap().len(), 2);
    assert_eq!(welcome["history"].as_array().unwrap().len(), 50);
    assert_eq!(welcome["history"][0]["seq"], 11);
    assert_eq!(welcome["last_seq"], 60);
    assert_eq!(welcome["truncated"], true);
    let to_ann = frames_for(&effects, "a");
    assert_eq!(to_ann.len(), 1);
    assert_eq!(to_ann[0]["type"], "join");
    assert_eq!(to_ann[0]["user"]["name"], "bob");
}

#[test]
fn a_token_renewal_is_handed_to_the_object_and_the_welcome_says_the_role_and_expiry() {
    let mut h = MemoryHistory::default();
    let mut r = room();
    let resume = Joining {
        role: Role::Moderator,
        expires: Some(1_764_083_600),
        ..Joining::default()
    };
    let effects = r.join(user("a", "ann"), (), resume, &mut h, 0).unwrap();
    let welcome = &frames_for(&effects, "a")[0];
    assert_eq!(welcome["role"], "moderator");
    assert_eq!(welcome["expires"], 1_764_083_600u64);
    let effects = r.join(user("b", "bob"), (), None, &mut h, 0).unwrap();
    let welcome = &frames_for(&effects, "b")[0];
    assert_eq!(welcome["role"], "member");
    assert_eq!(welcome["expires"], Value::Null);
    let effects = r.receive(
        "a",
        Incoming::Text(r#"{"type":"auth","token":"t0k","id":"a-1"}"#),
        1,
    );
    assert_eq!(
        effects,
        vec![Effect::Authenticate {
            to: "a".into(),
            token: "t0k".into(),
            id: Some("a-1".into())
        }]
    );
}

#[test]
fn welcome_announces_the_limits_the_room_enforces() {
    let mut h = MemoryHistory::default();
    let limits = Limits {
        rate: Rate {
            burst: 3.0,
            per_sec: 0.5,
        },
        ..Limits::default()
    };
    let mut r: Room<()> = Room::new("lobby", limits, 0);
    let effects = r.join(user("a", "ann"), (), None, &mut h, 0).unwrap();
    let announced = &frames_for(&effects, "a")[0]["limits"];
    assert_eq!(
        *announced,
        serde_json::json!({"text": 4000, "name": 32, "id": 64, "frame_bytes": 65536,
            "burst": 3.0, "per_sec": 0.5, "page": 1000, "query": 200, "results": 50,
            "search_burst": 5.0, "search_per_sec": 1.0, "presence": 100, "roster_page": 500, "silent_after": 120, "versions": 100,
            "file_bytes": 25_000_000, "file_types": ["image/png", "image/jpeg", "image/gif", "image/webp",
                "application/pdf", "text/plain", "application/zip"], "files": 10, "previews": true})
    );
}

#[test]
fn a_join_that_cannot_read_history_is_refused_and_adds_nobody() {
    let mut h = MemoryHistory::default();
    let mut r = room();
    h.fail_with = Some("disk on fire".into());
    let e = r.join(user("a", "ann"), (), None, &mut h, 0).unwrap_err();
    assert_eq!(e.code, ErrorCode::Internal);
    assert!(!r.has("a"));
}

#[test]
fn the_room_keeps_the_socket_of_a_connection_it_closes_until_the_object_closes_it() {
    let mut h = MemoryHistory::default();
    let mut r: Room<&str> = Room::new("lobby", Limits::default(), 0);
    r.join(user("a", "ann"), "socket-a", None, &mut h, 0)
        .unwrap();
    r.join(user("b", "bob"), "socket-b", None, &mut h, 0)
        .unwrap();
    assert_eq!(r.socket("a"), Some(&"socket-a"));
    let huge = "x".repeat(64 * 1024 + 1);
    r.receive("a", Incoming::Text(&huge), 0);
    assert!(!r.has("a"), "off the roster at once");
    assert_eq!(r.sockets().collect::<Vec<_>>(), vec![("b", &"socket-b")]);
    assert_eq!(
        r.socket("a"),
        Some(&"socket-a"),
        "still reachable for its last answers"
    );
    assert_eq!(r.take_closing("a"), Some("socket-a"));
    assert_eq!(r.take_closing("a"), None);
    assert_eq!(r.socket("a"), None);
    r.flush(&mut h, 0);
}

#[test]
fn restore_rebuilds_the_roster_after_a_wake() {
    let mut h = MemoryHistory::default();
    let mut r = Room::new("lobby", Limits::default(), 42);
    r.restore(
        [
            (user("a", "ann"), (), framed(Framing::Single)),
            (user("b", "bob"), (), framed(Framing::Batch)),
            (user("a", "ann"), (), framed(Framing::Batch)),
        ],
        0,
    );
    assert_eq!(r.info().online, 2);
    assert_eq!(r.info().last_seq, 42);
    assert!(
        !r.is_batched("a"),
        "the first attachment of a connection counts"
    );
    assert!(r.is_batched("b"));
    assert_eq!(r.batched(), 1);
    r.leave("b", 0);
    assert_eq!(r.batched(), 0);
    let effects = r.join(user("c", "cy"), (), None, &mut h, 0).unwrap();
    assert_eq!(
        frames_for(&effects, "c")[0]["members"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn a_token_past_its_expiry_and_grace_is_closed_once_whether_joined_restored_or_renewed() {
    let mut h = MemoryHistory::default();
    let mut r = room();
    r.set_expiry_grace(30);
    let token = |expires| Joining {
        expires: Some(expires),
        ..Joining::default()
    };
    r.join(user("a", "ann"), (), token(1_000), &mut h, 0)
        .unwrap();
    r.restore([(user("b", "bob"), (), token(2_000))], 0);
    r.join(user("c", "cy"), (), None, &mut h, 0).unwrap();
    assert_eq!(r.next_expiry(), Some(1_030), "the earliest, grace included");
    assert!(
        r.expire(1_029, 0).is_empty(),
        "not before the grace has passed"
    );
    let effects = r.expire(1_030, 0);
    let to_a = frames_for(&effects, "a");
    assert_eq!(to_a[0]["code"], "token_expired");
    assert!(effects.iter().any(|e| matches!(e,
        Effect::Close { to, code: 4401, .. } if to == "a")));
    assert!(!r.has("a") && r.has("b"));
    assert!(r.expire(1_031, 0).is_empty(), "closed once");
    // a renewal moves bob's expiry; an anonymous member never expires
    r.set_expiry("b", Some(5_000));
    assert!(r.expire(2_100, 0).is_empty());
    assert_eq!(r.next_expiry(), Some(5_030));
    assert_eq!(r.expire(5_030, 0).len(), 3, "error, close, leave to cy");
    assert_eq!(r.next_expiry(), None);
    assert!(r.has("c"));
}

#[test]
fn the_connection_cap_is_enforced() {
    let mut h = MemoryHistory::default();
    let mut r = Room::new(
        "lobby",
        Limits {
            max_connections: 2,
            ..Limits::default()
        },
        0,
    );
    r.join(user("a", "ann"), (), None, &mut h, 0).unwrap();
    assert!(r.admit().is_ok());
    r.join(user("b", "bob"), (), None, &mut h, 0).unwrap();
    assert_eq!(r.admit().unwrap_err().code, ErrorCode::RoomFull);
}

#[test]
fn small_rooms_keep_join_and_leave_and_the_whole_roster() {
    let mut h = MemoryHistory::default();
    let mut r = crowd_room(3);
    for i in 0..3 {
        let effects = r
            .join(user(&format!("c{i}"), "u"), (), None, &mut h, 0)
            .unwrap();
        let welcome = &frames_for(&effects, &format!("c{i}"))[0];
        assert_eq!(welcome["members"].as_array().unwrap().len(), i + 1);
        assert!(
            welcome.get("online").is_none(),
            "small rooms: welcome as in v1"
        );
        assert_eq!(
            trace(&effects)[1],
            t(&format!("all but c{i}"), "join", None)
        );
    }
}

#[test]
fn above_the_threshold_welcome_is_bounded_and_joins_are_coalesced_into_presence() {
    let mut h = MemoryHistory::default();
    let mut r = crowd_room(10);
    let mut frames = 0;
    let mut presence = Vec::new();
    for i in 0..300u64 {
        // 300 joins over 3 seconds
        let now = i * 10;
        let effects = r
            .join(user(&format!("c{i:03}"), "u"), (), None, &mut h, now)
            .unwrap();
        let welcome = &frames_for(&effects, &format!("c{i:03}"))[0];
        if i >= 10 {
            assert_eq!(welcome["online"], i + 1);
            assert!(welcome["members"].as_array().unwrap().len() <= WELCOME_MEMBERS);
            assert!(
                !trace(&effects).iter().any(|(_, kind, _)| kind == "join"),
                "no join frame above the threshold"
            );
        }
        for e in &effects {
            match e {
                Effect::Broadcast { frame, .. } if frame.contains(r#""type":"presence""#) => {
                    presence.push((now, parse(frame)))
                }
                Effect::Broadcast { .. } => frames += 1,
                _ => {}
            }
        }
    }
    assert_eq!(
        frames, 10,
        "a join frame for each join up to the threshold only"
    );
    assert!(
        presence.len() <= 4,
        "at most one a second: {}",
        presence.len()
    );
    assert!(presence.windows(2).all(|w| w[1].0 - w[0].0 >= 1000));
    let told: u64 = presence
        .iter()
        .map(|(_, p)| p["joins"].as_u64().unwrap())
        .sum();
    let (_, last) = presence.last().unwrap();
    assert!(last["joined"].as_array().unwrap().len() <= crate::presence::PRESENCE_SAMPLE);
    // what is still waiting goes out at the next tick that is due
    let rest = r.tick(10_000);
    let (_, p) = rest
        .iter()
        .find_map(|e| match e {
            Effect::Broadcast { frame, .. } => Some(((), parse(frame))),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        told + p["joins"].as_u64().unwrap(),
        290,
        "every join above 10 counted"
    );
    assert_eq!(p["online"], 300);
    // leaves too, and a leave names who went
    let effects = r.leave("c005", 20_000);
    let p = parse(match &effects[..] {
        [Effect::Broadcast { frame, .. }] => frame,
        other => panic!("{other:?}"),
    });
    assert_eq!(
        (p["online"].as_u64(), p["leaves"].as_u64()),
        (Some(299), Some(1))
    );
    assert_eq!(p["left"][0]["id"], "c005");
    assert!(matches!(
        r.leave("c006", 20_100)[..],
        [Effect::Wake { after_ms: 900 }]
    ));
}

#[test]
fn a_socket_that_pinged_and_fell_silent_is_dropped_one_that_never_pings_is_kept() {
    let mut h = MemoryHistory::default();
    let mut r: Room<u64> = Room::new(
        "r",
        Limits {
            silent_after_secs: 60,
            ..Limits::default()
        },
        0,
    );
    // the socket handle stands for the runtime's last ping time (0: never pinged)
    r.join(user("gone", "ann"), 10_000, None, &mut h, 0)
        .unwrap();
    r.join(user("here", "bob"), 100_000, None, &mut h, 0)
        .unwrap();
    r.join(user("v1", "cy"), 0, None, &mut h, 0).unwrap();
    r.join(user("talks", "dan"), 10_000, None, &mut h, 0)
        .unwrap();
    r.receive("talks", Incoming::Text(r#"{"type":"typing"}"#), 90_000);
    let ping = |t: &u64| (*t > 0).then_some(*t);
    assert!(r.sweep_due(100_000));
    let effects = r.sweep(100_000, ping);
    assert_eq!(
        trace(&effects),
        vec![t("gone", "1001", None), t("all but gone", "leave", None)]
    );
    assert!(!r.has("gone"));
    assert!(r.has("here") && r.has("v1") && r.has("talks"));
    assert!(
        !r.sweep_due(110_000),
        "at most every quarter of SILENT_AFTER"
    );
    assert!(r.sweep_due(115_000));
    assert_eq!(r.take_closing("gone"), Some(10_000));
}

#[test]
fn the_roster_pages_over_the_socket_in_id_order_and_completely() {
    let mut h = MemoryHistory::default();
    let mut r = crowd_room(5);
    for i in 0..237 {
        r.join(user(&format!("c{i:03}"), "u"), (), None, &mut h, 0)
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let frame = match &after {
            Some(a) => format!(r#"{{"type":"roster","after":"{a}","limit":100,"id":"p"}}"#),
            None => r#"{"type":"roster","limit":100,"id":"p"}"#.to_string(),
        };
        let effects = r.receive("c000", Incoming::Text(&frame), 0);
        let page = &frames_for(&effects, "c000")[0];
        assert_eq!(page["type"], "roster");
        assert_eq!(page["online"], 237);
        for m in page["members"].as_array().unwrap() {
            seen.push(m["id"].as_str().unwrap().to_string());
        }
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_string()),
            None => break,
        }
    }
    let expected: Vec<String> = (0..237).map(|i| format!("c{i:03}")).collect();
    assert_eq!(seen, expected, "every member once, in id order");
    let http = r.roster(Some("c235"), 10);
    assert_eq!(http["members"].as_array().unwrap().len(), 1);
    assert_eq!(http["next"], Value::Null);
    let bad = r.receive(
        "c000",
        Incoming::Text(r#"{"type":"roster","limit":501}"#),
        0,
    );
    assert_eq!(frames_for(&bad, "c000")[0]["code"], "bad_limit");
    let bad = r.receive(
        "c000",
        Incoming::Text(r#"{"type":"roster","after":"X;"}"#),
        0,
    );
    assert_eq!(frames_for(&bad, "c000")[0]["code"], "bad_request");
}

#[test]
fn two_people_with_one_name_are_two_on_the_wire() {
    let mut h = MemoryHistory::default();
    for threshold in [100, 1] {
        let mut r = crowd_room(threshold);
        let ann = |id: &str, uid: &str| User::connection(id.into(), "Ann".into(), Some(uid.into()));
        r.join(ann("a", "u-ann-1"), (), None, &mut h, 0).unwrap();
        let effects = r.join(ann("b", "u-ann-2"), (), None, &mut h, 0).unwrap();
        let welcome = &frames_for(&effects, "b")[0];
        let effects = [effects.clone(), r.tick(5_000)].concat();
        let to_a = frames_for(&effects, "a");
        if threshold == 100 {
            // both listed, and the second announced, each with its own uid
            let uids: Vec<&str> = welcome["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["uid"].as_str().unwrap())
                .collect();
            assert_eq!(uids.len(), 2);
            assert!(uids.contains(&"u-ann-1") && uids.contains(&"u-ann-2"));
            assert_eq!(to_a[0]["type"], "join");
            assert_eq!(to_a[0]["user"]["uid"], "u-ann-2");
        } else {
            assert_eq!(welcome["online"], 2, "counted by connection, not by name");
            let presence = to_a.iter().find(|f| f["type"] == "presence").unwrap();
            assert_eq!(presence["online"], 2);
        }
        let c = r.join(
            User::connection("c".into(), "Ann".into(), None),
            (),
            None,
            &mut h,
            0,
        );
        assert_eq!(r.info().online, 3, "{:?}", c.map(|_| ()));
    }
}
