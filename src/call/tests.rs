//! Every call survives the hop: built by the Worker, read back by the object, equal; and the object
//! checks what it is given with the Worker's parsers.

use super::*;

fn room(name: &str) -> RoomName {
    RoomName::parse(name).unwrap()
}

fn round_trip(call: RoomCall) {
    let req = call.to_request();
    let (path_and_query, _) = (req.url.strip_prefix(BASE).unwrap(), ());
    let (path, query) = path_and_query.split_once('?').unwrap();
    assert_eq!(
        RoomCall::parse(req.method, path, query, req.body.as_deref()),
        Ok(call)
    );
}

#[test]
fn moderation_calls_survive_the_hop() {
    round_trip(RoomCall::Delete {
        room: room("r"),
        seq: 4,
        reason: None,
    });
    round_trip(RoomCall::Delete {
        room: room("r"),
        seq: 4,
        reason: Some("spam & scams".into()),
    });
    round_trip(RoomCall::Moderate {
        room: room("r"),
        request: ModerationRequest::parse(
            r#"{"action":"mute","uid":"AAAAAAAAAAAAAAAAAAAAAA","seconds":60,"by":"Zoë"}"#,
        )
        .unwrap(),
    });
    round_trip(RoomCall::ModerationLog {
        room: room("r"),
        before: Some(9),
        limit: 5,
    });
    round_trip(RoomCall::ModerationLog {
        room: room("r"),
        before: None,
        limit: 100,
    });
    round_trip(RoomCall::Erase {
        room: room("r"),
        uid: "auth0|42:x@y".replace('|', "_"),
    });
    round_trip(RoomCall::Export {
        room: room("r"),
        cursor: Cursor {
            after: 500,
            log_after: 7,
        },
    });
    round_trip(RoomCall::ExportAuthor {
        room: room("r"),
        uid: "u-ann".into(),
        after: 1_500,
    });
    round_trip(RoomCall::ErasePerson {
        room: room("dm.0123456789abcdef0123456789abcdef"),
        uid: "u-ann".into(),
    });
    assert!(ModerationRequest::parse(r#"{"action":"ban"}"#).is_err());
    assert_eq!(
        ModerationRequest::parse(r#"{"action":"slow_mode","seconds":5}"#)
            .unwrap()
            .by(),
        "moderator"
    );
}

#[test]
fn every_call_survives_the_hop() {
    round_trip(RoomCall::Connect {
        room: room("r"),
        join: Join {
            name: UserName::parse("Zoë & ann=1?").unwrap(),
            uid: Some("user:42@app".into()),
            role: Role::Moderator,
            expires: Some(1_764_083_600),
            after: Some(7),
            since: Some(9),
            framing: Framing::Batch,
            address: None,
        },
    });
    round_trip(RoomCall::Connect {
        room: room("r"),
        join: Join {
            name: UserName::parse("ann").unwrap(),
            uid: None,
            role: Role::Member,
            expires: None,
            after: None,
            since: None,
            framing: Framing::Single,
            address: AddressTag::of("2001:db8::1"),
        },
    });
    round_trip(RoomCall::Info {
        room: room("r.1"),
        operator: false,
    });
    round_trip(RoomCall::Info {
        room: room("r"),
        operator: true,
    });
    round_trip(RoomCall::Search {
        room: room("r"),
        request: SearchRequest {
            query: crate::search::SearchQuery::parse("café & \"NEAR(\" run* 100%").unwrap(),
            before: Some(12),
            limit: 50,
            offset: 100,
        },
    });
    round_trip(RoomCall::Reactors {
        room: room("r"),
        request: ReactorsRequest {
            seq: 9,
            emoji: "👩🏽‍💻".into(),
            after: Some("anon:3f9c0d2a7b1e4c55".into()),
            limit: 7,
        },
    });
    round_trip(RoomCall::Roster {
        room: room("r"),
        after: Some("3f9c0d2a7b1e4c55".into()),
        limit: 500,
    });
    round_trip(RoomCall::Roster {
        room: room("r"),
        after: None,
        limit: 100,
    });
    round_trip(RoomCall::Versions {
        room: room("r"),
        seq: 42,
        before: None,
        limit: 50,
    });
    round_trip(RoomCall::Versions {
        room: room("r"),
        seq: 42,
        before: Some(7),
        limit: 1000,
    });
    round_trip(RoomCall::Messages {
        room: room("r"),
        after: 3,
        limit: 1000,
    });
    round_trip(RoomCall::Post {
        room: room("r"),
        post: Post {
            name: "bot".into(),
            text: "multi\nline \"quoted\"".into(),
            id: Some("d-1".into()),
            thread: None,
            also_in_room: false,
        },
    });
    round_trip(RoomCall::Post {
        room: room("r"),
        post: Post {
            name: "bot".into(),
            text: "in a thread".into(),
            id: None,
            thread: Some(4),
            also_in_room: true,
        },
    });
    round_trip(RoomCall::Thread {
        room: room("r"),
        root: 4,
        after: 9,
        limit: 1000,
    });
    round_trip(RoomCall::Threads {
        room: room("r"),
        before: Some(12),
        limit: 100,
    });
    round_trip(RoomCall::Threads {
        room: room("r"),
        before: None,
        limit: 20,
    });
}

#[test]
fn thread_pages_default_and_refuse_like_the_api_says() {
    let q = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    assert_eq!(
        thread_page(room("r"), 3, &q(&[])),
        Ok(RoomCall::Thread {
            room: room("r"),
            root: 3,
            after: 0,
            limit: validate::DEFAULT_PAGE,
        })
    );
    assert_eq!(
        threads_page(room("r"), &q(&[])),
        Ok(RoomCall::Threads {
            room: room("r"),
            before: None,
            limit: DEFAULT_THREADS_PAGE,
        })
    );
    for bad in [("after", "-1"), ("limit", "0"), ("limit", "1001")] {
        assert!(thread_page(room("r"), 3, &q(&[bad])).is_err(), "{bad:?}");
    }
    for bad in [("before", "x"), ("limit", "101"), ("limit", "0")] {
        assert!(threads_page(room("r"), &q(&[bad])).is_err(), "{bad:?}");
    }
    assert_eq!(
        Post::parse(r#"{"name":"b","text":"t","thread":0}"#)
            .unwrap_err()
            .code,
        ErrorCode::BadThread
    );
    assert_eq!(
        Post::parse(r#"{"name":"b","text":"t","also_in_room":true}"#)
            .unwrap_err()
            .code,
        ErrorCode::BadRequest
    );
}

#[test]
fn upload_calls_survive_the_hop() {
    let id = FileId::from_random([3; 16]);
    let uploader = Uploader {
        uid: Some("user:42@app".into()),
        role: Role::Moderator,
        address: AddressTag::of("2001:db8::1"),
    };
    round_trip(RoomCall::Upload {
        room: room("r"),
        id: id.clone(),
        uploader: uploader.clone(),
    });
    round_trip(RoomCall::Thumb {
        room: room("r"),
        id: id.clone(),
        uploader: Uploader {
            uid: None,
            role: Role::Member,
            address: None,
        },
    });
    round_trip(RoomCall::Thumbed {
        room: room("r"),
        id: id.clone(),
    });
    for (width, height) in [(Some(640), Some(480)), (None, None)] {
        round_trip(RoomCall::Uploaded {
            room: room("r"),
            file: FileDescriptor {
                id: id.as_str().into(),
                name: "Zoë & \"friends\" 100%.png".into(),
                content_type: "image/png".into(),
                size: 25_000_000,
                width,
                height,
                thumb: false,
            },
        });
    }
}

#[test]
fn the_object_checks_what_it_is_given() {
    let code =
        |method, path, query, body| RoomCall::parse(method, path, query, body).unwrap_err().code;
    assert_eq!(code("GET", "/info", "room=a%20b", None), ErrorCode::BadRoom);
    assert_eq!(code("GET", "/connect", "room=r", None), ErrorCode::BadName);
    assert_eq!(
        code("GET", "/messages", "room=r&after=-1&limit=5", None),
        ErrorCode::BadAfter
    );
    assert_eq!(
        code("GET", "/messages", "room=r&after=1&limit=5000", None),
        ErrorCode::BadLimit
    );
    assert_eq!(
        code("POST", "/post", "room=r", Some("{")),
        ErrorCode::BadJson
    );
    assert_eq!(code("DELETE", "/info", "room=r", None), ErrorCode::NotFound);
    assert_eq!(
        code("GET", "/search", "room=r&q=%22%22", None),
        ErrorCode::BadQuery
    );
}

#[test]
fn versions_pages_default_and_refuse_like_the_api_says() {
    let q = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    assert_eq!(
        versions_page(room("r"), 3, &q(&[])),
        Ok(RoomCall::Versions {
            room: room("r"),
            seq: 3,
            before: None,
            limit: validate::DEFAULT_VERSIONS_PAGE,
        })
    );
    for bad in [
        ("before", "0"),
        ("before", "x"),
        ("limit", "0"),
        ("limit", "1001"),
    ] {
        assert!(versions_page(room("r"), 3, &q(&[bad])).is_err(), "{bad:?}");
    }
}

#[test]
fn history_pages_default_and_refuse_like_the_api_says() {
    let q = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    assert_eq!(
        history_page(room("r"), &q(&[])),
        Ok(RoomCall::Messages {
            room: room("r"),
            after: 0,
            limit: 100
        })
    );
    assert_eq!(
        history_page(room("r"), &q(&[("limit", "0")]))
            .unwrap_err()
            .code,
        ErrorCode::BadLimit
    );
}

#[test]
fn the_calls_of_inboxes_and_direct_messages_survive_the_hop() {
    let members = vec!["u-ann".to_string(), "u-bob".to_string()];
    let dm_room = dm::room_of(&members).unwrap();
    for (by, name) in [("u-ann", Some("Ann")), ("u-bob", None)] {
        let name = name.map(String::from);
        let (room, members) = (dm_room.clone(), members.clone());
        round_trip(RoomCall::OpenDm {
            room,
            members,
            by: by.into(),
            name,
        });
    }
    for uid in ["u-ann".to_string(), "user:42@app".to_string()] {
        let room = room("r");
        round_trip(RoomCall::Forget {
            room: room.clone(),
            uid: uid.clone(),
        });
        round_trip(RoomCall::Entry {
            room: room.clone(),
            uid: uid.clone(),
        });
        round_trip(RoomCall::Here { room, uid });
    }
    let bad = RoomCall::parse("POST", "/dm", "room=r&uid=a", Some(r#"["a"]"#));
    assert_eq!(
        bad.unwrap_err().code,
        ErrorCode::BadRequest,
        "one person is no DM"
    );
}
