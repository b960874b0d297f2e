//! What each socket keeps across hibernation: its attachment, a storage format versioned apart from
//! the wire's [`User`]. The runtime stores it with the socket (`serializeAttachment`), and after a wake
//! the room is rebuilt from it, so a deploy that changes the wire type must still read every
//! attachment written before it — otherwise every hibernated socket would be closed.
//!
//! Version 2 is `{"v":2,"id","name","uid"}`, with `"framing":"batch"` for a connection that asked for
//! batched frames (absent: one frame each, as every attachment written before it). Version 1 (`{"v":1,"id","name"}`) and attachments written
//! before versioning (`{"id","name"}`, the wire `User` of protocol v1) read as anonymous members.

use serde::{Deserialize, Serialize};

use crate::protocol::User;
use crate::room::Framing;

/// A socket's attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    #[serde(default = "first_version")]
    pub v: u32,
    /// The connection id (also the socket's tag).
    pub id: String,
    pub name: String,
    /// Since version 2: the member's author id (`None`: anonymous).
    #[serde(default)]
    pub uid: Option<String>,
    /// How the connection takes its frames; written only when batched, so a v1 connection's
    /// attachment is byte for byte what it was (and a rollback reads it).
    #[serde(default, skip_serializing_if = "is_single")]
    pub framing: Framing,
}

fn is_single(framing: &Framing) -> bool {
    *framing == Framing::Single
}

fn first_version() -> u32 {
    1
}

impl Attachment {
    /// The version this build writes.
    pub const VERSION: u32 = 2;

    pub fn of(user: &User, framing: Framing) -> Attachment {
        Attachment {
            v: Self::VERSION,
            id: user.id.clone(),
            name: user.name.clone(),
            uid: user.uid.clone(),
            framing,
        }
    }

    /// The member this attachment describes, or `None` for a version this build cannot read (written
    /// by a newer deploy that was rolled back).
    pub fn into_user(self) -> Option<(User, Framing)> {
        (self.v <= Self::VERSION).then_some((
            User {
                id: self.id,
                name: self.name,
                uid: self.uid,
            },
            self.framing,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_reads_attachments_from_before_versioning() {
        let user = User {
            id: "c1".into(),
            name: "ann".into(),
            uid: Some("u-1".into()),
        };
        let stored = serde_json::to_string(&Attachment::of(&user, Framing::Single)).unwrap();
        assert_eq!(stored, r#"{"v":2,"id":"c1","name":"ann","uid":"u-1"}"#);
        let back: Attachment = serde_json::from_str(&stored).unwrap();
        assert_eq!(back.into_user(), Some((user.clone(), Framing::Single)));
        let batched = serde_json::to_string(&Attachment::of(&user, Framing::Batch)).unwrap();
        assert_eq!(
            batched,
            r#"{"v":2,"id":"c1","name":"ann","uid":"u-1","framing":"batch"}"#
        );
        let back: Attachment = serde_json::from_str(&batched).unwrap();
        assert_eq!(back.into_user(), Some((user, Framing::Batch)));
        let anonymous = User {
            id: "c1".into(),
            name: "ann".into(),
            uid: None,
        };
        for older in [
            r#"{"id":"c1","name":"ann"}"#,
            r#"{"v":1,"id":"c1","name":"ann"}"#,
        ] {
            let legacy: Attachment = serde_json::from_str(older).unwrap();
            assert_eq!(
                legacy.into_user(),
                Some((anonymous.clone(), Framing::Single)),
                "{older}"
            );
        }
        let future: Attachment = serde_json::from_str(r#"{"v":9,"id":"c1","name":"ann"}"#).unwrap();
        assert_eq!(future.into_user(), None);
    }
}
