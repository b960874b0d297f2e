//! Fuzzes the frame decoder and the room behind it with arbitrary bytes: nothing may panic, every
//! frame gets exactly one documented answer, and a refused frame never reaches another socket.
#![no_main]

use edge_chat::config::Limits;
use edge_chat::domain::User;
use edge_chat::effect::Effect;
use edge_chat::error::ErrorCode;
use edge_chat::history::MemoryHistory;
use edge_chat::protocol::ClientFrame;
use edge_chat::room::{Incoming, Room};
use edge_chat::validate::{self, MAX_FRAME_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The runtime hands the room text frames as strings, replacing invalid UTF-8 (as workerd does).
    let text = String::from_utf8_lossy(data);
    let limits = Limits::default();
    let decoded = ClientFrame::decode(&text);
    if let Some(id) = decoded.as_ref().ok().and_then(ClientFrame::id) {
        assert!(validate::check_client_id(id).is_ok());
    }
    match &decoded {
        // A text may be empty only beside files (a message) or as an edit's (the room then checks that
        // the message keeps a file).
        Ok(ClientFrame::Message { text: t, files, .. }) => {
            assert!(validate::check_text(t).is_ok() || (t.is_empty() && !files.is_empty()));
        }
        Ok(ClientFrame::Edit { text: Some(t), .. }) => {
            assert!(validate::check_text(t).is_ok() || t.is_empty());
        }
        Ok(ClientFrame::React { emoji, .. }) => assert!(validate::check_emoji(emoji).is_ok()),
        Ok(_) => {}
        Err(e) => assert!(matches!(
            e.problem.code,
            ErrorCode::BadJson
                | ErrorCode::BadRequest
                | ErrorCode::TooLarge
                | ErrorCode::BadLimit
                | ErrorCode::BadFile
        )),
    }

    // The same bytes through a room with a bystander, both identified, after one message of the
    // sender's (seq 1), so edits, deletions, reactions, read marks and replies have something to act
    // on: the sender gets at most one answer, exactly as the decoder decided, and the bystander hears
    // only what the protocol announces.
    let mut history = MemoryHistory::default();
    let mut room: Room<()> = Room::new("fuzz", limits, 0);
    // Webhook events on: every change the input manages to make also builds its event body.
    room.set_webhooks(true);
    let user = |id: &str| User {
        id: id.into(),
        name: id.into(),
        uid: Some(format!("u-{id}")),
    };
    room.join(user("a"), (), None, &history, 0).unwrap();
    room.join(user("b"), (), None, &history, 0).unwrap();
    room.receive(
        "a",
        Incoming::Text(r#"{"type":"message","text":"first","id":"seed"}"#),
        0,
    );
    room.flush(&mut history, 0);
    // Received, then flushed as the Durable Object's timer would: a message is stored and answered then.
    let mut effects = room.receive("a", Incoming::Text(&text), 1);
    effects.extend(room.flush(&mut history, 1));
    let answers: Vec<serde_json::Value> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { frame, .. } => Some(serde_json::from_str(frame).expect("valid JSON")),
            _ => None,
        })
        .collect();
    let oversized = text.len() > MAX_FRAME_BYTES;
    if !oversized {
        match &decoded {
            // a refusal by the decoder: that error, nothing else, nothing stored
            Err(e) => {
                assert!(answers.len() == 1 && answers[0]["code"] == e.problem.code.as_str());
                assert_eq!(history.messages.len(), 1);
            }
            Ok(ClientFrame::Typing | ClientFrame::Read { .. }) => assert!(answers.is_empty()),
            // one answer: an ack or an error, or the page of history or of the roster asked for
            Ok(frame) => {
                assert_eq!(answers.len(), 1);
                let kind = answers[0]["type"].as_str();
                match frame {
                    ClientFrame::History { .. } => assert_eq!(kind, Some("history")),
                    ClientFrame::Roster { .. } => assert_eq!(kind, Some("roster")),
                    _ => assert!(matches!(kind, Some("ack" | "error"))),
                }
                let stored_new = matches!(frame, ClientFrame::Message { .. })
                    && kind == Some("ack")
                    && answers[0]["seq"] == 2;
                assert_eq!(history.messages.len(), 1 + usize::from(stored_new));
            }
        }
    }
    for effect in &effects {
        match effect {
            Effect::Send { to, .. } => assert_eq!(to, "a"),
            Effect::Broadcast { except, frame } => {
                let v: serde_json::Value = serde_json::from_str(frame).expect("valid JSON");
                match v["type"].as_str() {
                    Some("message" | "typing" | "leave" | "read") => {
                        assert_eq!(except.as_deref(), Some("a"))
                    }
                    // changes go to every connection, the author's own included
                    Some("message_updated" | "reaction") => assert_eq!(except.as_deref(), None),
                    other => panic!("unexpected broadcast {other:?}"),
                }
            }
            Effect::Close { to, code, .. } => {
                assert_eq!(to, "a");
                assert_eq!(*code, 1009);
            }
            Effect::Wake { .. } => panic!("one read mark is announced at once"),
            Effect::Event { body } => {
                let v: serde_json::Value = serde_json::from_str(body).expect("valid JSON");
                assert_eq!(v["room"], "fuzz");
            }
            Effect::Authenticate { to, .. } => assert_eq!(to, "a"),
            Effect::Screen { .. } | Effect::Reply { .. } => panic!("no moderation hook in this room"),
            // A link in the text asks for its preview after the store; no upload, no file to delete.
            Effect::Preview { seq, .. } => assert_eq!(*seq, 2),
            Effect::DeleteFiles => panic!("no file was uploaded"),
        }
    }
});
