//! Fuzzes the frame decoder and the room behind it with arbitrary bytes: nothing may panic, every
//! frame gets exactly one documented answer, and a refused frame never reaches another socket.
#![no_main]

use edge_chat::config::Limits;
use edge_chat::error::ErrorCode;
use edge_chat::protocol::{ClientFrame, User};
use edge_chat::validate::{self, MAX_FRAME_BYTES};
use edge_chat::room::{Effect, Incoming, MemoryHistory, Room};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The runtime hands the room text frames as strings, replacing invalid UTF-8 (as workerd does).
    let text = String::from_utf8_lossy(data);
    let limits = Limits::default();
    let decoded = ClientFrame::decode(&text);
    match &decoded {
        Ok(ClientFrame::Message { text: t, id }) => {
            assert!(validate::check_text(t).is_ok());
            if let Some(id) = id {
                assert!(validate::check_client_id(id).is_ok());
            }
        }
        Ok(ClientFrame::Typing) => {}
        Err(e) => assert!(matches!(
            e.problem.code,
            ErrorCode::BadJson | ErrorCode::BadRequest | ErrorCode::TooLarge
        )),
    }

    // The same bytes through a room with a bystander: the sender gets one answer, the bystander
    // hears only a message (when the frame was a valid one) or a leave (when it was oversized).
    let mut history = MemoryHistory::default();
    let mut room: Room<()> = Room::new("fuzz", limits, 0);
    let user = |id: &str| User {
        id: id.into(),
        name: id.into(),
        uid: None,
    };
    room.join(user("a"), (), None, &history, 0).unwrap();
    room.join(user("b"), (), None, &history, 0).unwrap();
    // Received, then flushed as the Durable Object's timer would: a message is stored and answered then.
    let mut effects = room.receive("a", Incoming::Text(&text), 1);
    effects.extend(room.flush(&mut history, 1));
    let answers: Vec<&String> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { frame, .. } => Some(frame),
            _ => None,
        })
        .collect();
    let oversized = text.len() > MAX_FRAME_BYTES;
    if !oversized {
        // exactly the decoder's verdict: an ack for a message, the same error code for a refusal,
        // nothing for typing
        let expected = match &decoded {
            Ok(ClientFrame::Message { .. }) => Some("\"type\":\"ack\"".to_string()),
            Ok(ClientFrame::Typing) => None,
            Err(e) => Some(format!("\"code\":\"{}\"", e.problem.code.as_str())),
        };
        match expected {
            Some(needle) => assert!(answers.len() == 1 && answers[0].contains(&needle)),
            None => assert!(answers.is_empty()),
        }
        assert_eq!(
            history.messages.len(),
            usize::from(matches!(decoded, Ok(ClientFrame::Message { .. })))
        );
    }
    for effect in &effects {
        match effect {
            Effect::Send { to, frame } => {
                assert_eq!(to, "a");
                let v: serde_json::Value = serde_json::from_str(frame).expect("valid JSON");
                assert!(matches!(v["type"].as_str(), Some("ack" | "error")));
            }
            Effect::Broadcast { except, frame } => {
                assert_eq!(except.as_deref(), Some("a"));
                assert!(
                    frame.starts_with(r#"{"type":"message""#)
                        || frame.starts_with(r#"{"type":"typing""#)
                        || frame.starts_with(r#"{"type":"leave""#)
                );
            }
            Effect::Close { to, code, .. } => {
                assert_eq!(to, "a");
                assert_eq!(*code, 1009);
            }
        }
    }
});
