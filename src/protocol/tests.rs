//! The wire frames' tests: decoding (every refusal with its code, and the client's id when it can be
//! read), and the JSON each server frame serializes to.

use super::*;

fn code_of(raw: &str) -> ErrorCode {
    ClientFrame::decode(raw).unwrap_err().problem.code
}

#[test]
fn wrong_types_still_name_the_message() {
    let err = ClientFrame::decode(r#"{"type":"message","text":42,"id":"m-7"}"#).unwrap_err();
    assert_eq!(err.problem.code, ErrorCode::BadRequest);
    assert_eq!(err.id.as_deref(), Some("m-7"));
    let err = ClientFrame::decode(r#"{"type":"message","text":42,"id":7}"#).unwrap_err();
    assert_eq!(err.id, None);
}

#[test]
fn decodes_a_message_with_and_without_id() {
    assert_eq!(
        ClientFrame::decode(r#"{"type":"message","text":"hi","id":"a1"}"#),
        Ok(ClientFrame::Message {
            text: "hi".into(),
            id: Some("a1".into()),
            reply_to: None,
            thread: None,
            also_in_room: false,
            files: vec![],
        })
    );
    assert_eq!(
        ClientFrame::decode(r#"{"type":"message","text":"hi"}"#),
        Ok(ClientFrame::Message {
            text: "hi".into(),
            id: None,
            reply_to: None,
            thread: None,
            also_in_room: false,
            files: vec![],
        })
    );
    assert_eq!(
        ClientFrame::decode(r#"{"type":"typing","extra":[1,2]}"#),
        Ok(ClientFrame::Typing)
    );
}

#[test]
fn syntax_errors_are_bad_json_and_shape_errors_bad_request() {
    assert_eq!(code_of("ping!"), ErrorCode::BadJson);
    assert_eq!(code_of("{\"type\":"), ErrorCode::BadJson);
    assert_eq!(code_of("[1,2]"), ErrorCode::BadRequest);
    assert_eq!(code_of(r#"["message","hi","c-1"]"#), ErrorCode::BadRequest);
    assert_eq!(code_of(r#" ["typing"]"#), ErrorCode::BadRequest);
    assert_eq!(code_of("0\u{1b}"), ErrorCode::BadJson);
    assert_eq!(code_of(r#"{"type":7} trailing"#), ErrorCode::BadJson);
    assert_eq!(code_of(r#"["","","",null]"#), ErrorCode::BadRequest);
    assert_eq!(code_of("42"), ErrorCode::BadRequest);
    assert_eq!(
        code_of(r#"{"type":"message","text":5}"#),
        ErrorCode::BadRequest
    );
    assert_eq!(
        code_of(r#"{"type":"shout","text":"x"}"#),
        ErrorCode::BadRequest
    );
    assert_eq!(code_of(r#"{"text":"x"}"#), ErrorCode::BadRequest);
    assert_eq!(code_of(r#"{"type":"message"}"#), ErrorCode::BadRequest);
    assert_eq!(
        code_of(r#"{"type":"message","text":""}"#),
        ErrorCode::BadRequest
    );
    assert_eq!(
        code_of(r#"{"type":"message","text":"  \n"}"#),
        ErrorCode::BadRequest
    );
}

#[test]
fn messages_name_their_files_and_may_then_have_no_text() {
    let a = "a".repeat(32);
    let b = "b".repeat(32);
    let frame = format!(r#"{{"type":"message","files":["{a}","{b}"],"id":"m1"}}"#);
    assert_eq!(
        ClientFrame::decode(&frame),
        Ok(ClientFrame::Message {
            text: String::new(),
            id: Some("m1".into()),
            reply_to: None,
            thread: None,
            also_in_room: false,
            files: vec![FileId::parse(&a).unwrap(), FileId::parse(&b).unwrap()],
        })
    );
    assert_eq!(
        code_of(&format!(r#"{{"type":"message","files":["{a}","{a}"]}}"#)),
        ErrorCode::BadFile
    );
    assert_eq!(
        code_of(r#"{"type":"message","files":["x"],"text":"hi"}"#),
        ErrorCode::BadFile
    );
    let eleven: Vec<String> = (0..11).map(|i| format!("{i:032x}")).collect();
    let frame = serde_json::json!({"type": "message", "files": eleven}).to_string();
    assert_eq!(code_of(&frame), ErrorCode::TooLarge);
    assert_eq!(
        code_of(r#"{"type":"message","files":[]}"#),
        ErrorCode::BadRequest
    );
    // An edit may keep fewer files, drop its preview, or change its text: at least one.
    assert_eq!(
        ClientFrame::decode(r#"{"type":"edit","seq":3,"files":[],"preview":false}"#),
        Ok(ClientFrame::Edit {
            seq: 3,
            text: None,
            files: Some(vec![]),
            drop_preview: true,
            id: None,
        })
    );
    assert_eq!(code_of(r#"{"type":"edit","seq":3}"#), ErrorCode::BadRequest);
    assert_eq!(
        code_of(r#"{"type":"edit","seq":3,"preview":true}"#),
        ErrorCode::BadRequest
    );
}

#[test]
fn errors_carry_the_client_id_when_readable() {
    let e = ClientFrame::decode(r#"{"type":"message","text":"","id":"m7"}"#).unwrap_err();
    assert_eq!(e.id.as_deref(), Some("m7"));
}

#[test]
fn text_over_the_limit_is_too_large_counted_in_characters() {
    let ok = "é".repeat(4000);
    let frame = format!(r#"{{"type":"message","text":"{ok}"}}"#);
    assert!(ClientFrame::decode(&frame).is_ok());
    let big = "é".repeat(4001);
    let frame = format!(r#"{{"type":"message","text":"{big}","id":"x"}}"#);
    let e = ClientFrame::decode(&frame).unwrap_err();
    assert_eq!(e.problem.code, ErrorCode::TooLarge);
    assert_eq!(e.id.as_deref(), Some("x"));
}

#[test]
fn overlong_ids_are_refused() {
    let id = "i".repeat(65);
    let frame = format!(r#"{{"type":"message","text":"hi","id":"{id}"}}"#);
    assert_eq!(code_of(&frame), ErrorCode::BadRequest);
}

#[test]
fn frames_serialize_with_their_type_tag() {
    let user = User {
        id: "c1".into(),
        name: "ann".into(),
        uid: None,
    };
    let msg = ChatMessage {
        rev: 3,
        ..ChatMessage::new(3, None, user.clone(), "<b>hi</b>".into(), 10)
    };
    assert_eq!(
        ServerFrame::Message(&msg).to_json(),
        r#"{"type":"message","seq":3,"id":null,"from":{"id":"c1","name":"ann","uid":null},"text":"<b>hi</b>","ts":10,"reply_to":null,"edited_at":null,"version":1,"deleted":false,"reactions":{},"rev":3}"#
    );
    assert_eq!(
        ServerFrame::Error {
            code: ErrorCode::RateLimited,
            message: "slow down",
            id: None
        }
        .to_json(),
        r#"{"type":"error","code":"rate_limited","message":"slow down"}"#
    );
    assert_eq!(
        Problem::new(ErrorCode::BadRoom, "no").to_http_body(),
        r#"{"error":{"code":"bad_room","message":"no"}}"#
    );
}

#[test]
fn thread_frames_name_a_root() {
    assert_eq!(
        ClientFrame::decode(r#"{"type":"message","text":"hi","thread":4,"also_in_room":true}"#),
        Ok(ClientFrame::Message {
            text: "hi".into(),
            id: None,
            reply_to: None,
            thread: Some(4),
            also_in_room: true,
            files: vec![],
        })
    );
    assert_eq!(
        code_of(r#"{"type":"message","text":"hi","thread":0}"#),
        ErrorCode::BadThread
    );
    assert_eq!(
        code_of(r#"{"type":"message","text":"hi","also_in_room":true}"#),
        ErrorCode::BadRequest
    );
    assert_eq!(
        code_of(r#"{"type":"message","text":"hi","thread":"4"}"#),
        ErrorCode::BadRequest
    );
    assert_eq!(
        ClientFrame::decode(r#"{"type":"read","seq":9,"thread":4}"#),
        Ok(ClientFrame::Read {
            seq: 9,
            thread: Some(4)
        })
    );
    assert_eq!(
        ClientFrame::decode(r#"{"type":"thread","root":4,"after":6,"limit":2,"id":"t"}"#),
        Ok(ClientFrame::Thread {
            root: 4,
            after: 6,
            limit: 2,
            id: Some("t".into())
        })
    );
    assert_eq!(code_of(r#"{"type":"thread"}"#), ErrorCode::BadRequest);
    assert_eq!(
        code_of(r#"{"type":"thread","root":4,"after":"x"}"#),
        ErrorCode::BadRequest
    );
    assert_eq!(
        code_of(r#"{"type":"thread","root":4,"limit":0}"#),
        ErrorCode::BadLimit
    );
    // A roster's `after` stays a member id; a number or a nested value is refused.
    assert_eq!(
        code_of(r#"{"type":"roster","after":5}"#),
        ErrorCode::BadRequest
    );
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let frame = format!(r#"{{"type":"roster","after":{deep}}}"#);
    assert!(ClientFrame::decode(&frame).is_err());
}

#[test]
fn auth_frames_carry_a_token() {
    assert_eq!(
        ClientFrame::decode(r#"{"type":"auth","token":"eyJ.x.y","id":"a-1"}"#),
        Ok(ClientFrame::Auth {
            token: "eyJ.x.y".into(),
            id: Some("a-1".into())
        })
    );
    assert_eq!(code_of(r#"{"type":"auth"}"#), ErrorCode::BadRequest);
    assert_eq!(
        code_of(r#"{"type":"auth","token":""}"#),
        ErrorCode::BadRequest
    );
    assert_eq!(
        ServerFrame::AuthOk {
            id: Some("a-1"),
            role: Role::Member,
            expires: 9
        }
        .to_json(),
        r#"{"type":"auth_ok","id":"a-1","role":"member","expires":9}"#
    );
}

#[test]
fn wrong_type_messages_do_not_echo_the_whole_value() {
    let long = "x".repeat(60_000);
    let e = ClientFrame::decode(&format!(r#""{long}""#)).unwrap_err();
    assert_eq!(e.problem.code, ErrorCode::BadRequest);
    assert!(e.problem.message.len() < 200, "{}", e.problem.message.len());
}

#[test]
fn unknown_type_names_are_truncated_in_messages() {
    let long = "x".repeat(500);
    let e = ClientFrame::decode(&format!(r#"{{"type":"{long}"}}"#)).unwrap_err();
    assert!(e.problem.message.len() < 120, "{}", e.problem.message);
}
