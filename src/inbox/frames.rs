//! The inbox socket's wire frames (`/ws/me`), server to client: first the whole inbox (`inbox`), then
//! one frame per change — a room's entry (`entry`), an entry gone (`removed`), a direct-message
//! partner's online state (`online`) — and `error`. The inbox takes no frames but `ping` (answered by
//! the runtime itself); docs/PROTOCOL.md is the contract. `GET /api/me` answers the `inbox` frame
//! itself (its `type` one more field), so the two are written by one serializer.

use serde::Serialize;

use super::entry::View;
use super::online::Seen;
use crate::error::ErrorCode;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InboxFrame<'a> {
    /// The whole inbox, first on every connection (so a reconnect misses nothing).
    Inbox(Snapshot<'a>),
    /// One room's entry changed (or was added).
    Entry {
        entry: View<'a>,
    },
    /// The person left a room (or was removed from it): its entry is gone.
    Removed {
        room: &'a str,
    },
    /// A direct-message partner came online or went.
    Online(&'a Seen),
    Error {
        code: ErrorCode,
        message: &'a str,
    },
}

/// The inbox: who it is for, their rooms (most recent activity first, at most
/// [`super::MAX_LISTED`]) and their direct-message partners' online state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot<'a> {
    pub uid: &'a str,
    /// The name the person last used (`None` until they have given one).
    pub name: Option<&'a str>,
    pub rooms: Vec<View<'a>>,
    pub online: &'a [Seen],
}

impl InboxFrame<'_> {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbox::entry::{Entry, Last, Update};

    #[test]
    fn frames_carry_their_type_and_the_snapshot_is_the_api_body() {
        let update = Update {
            room: "lobby".into(),
            stamp: 1,
            last_seq: 4,
            read_seq: 2,
            unread: 2,
            mentions: 1,
            threads: 0,
            last: Some(Last {
                seq: 4,
                uid: Some("bob".into()),
                name: "Bob".into(),
                text: "hi".into(),
                at: 9,
            }),
            big: false,
            dm: None,
            gone: false,
        };
        let entry = Entry::new(&update, 5);
        let seen = [Seen {
            uid: "bob".into(),
            online: true,
            last_seen: None,
        }];
        let snapshot = Snapshot {
            uid: "ann",
            name: Some("Ann"),
            rooms: vec![entry.view()],
            online: &seen,
        };
        let frame: serde_json::Value =
            serde_json::from_str(&InboxFrame::Inbox(snapshot).to_json()).unwrap();
        assert_eq!(frame["type"], "inbox");
        assert_eq!(frame["uid"], "ann");
        assert_eq!(frame["rooms"][0]["last"]["text"], "hi");
        let online: serde_json::Value =
            serde_json::from_str(&InboxFrame::Online(&seen[0]).to_json()).unwrap();
        assert_eq!(
            online,
            serde_json::json!({"type":"online","uid":"bob","online":true,"last_seen":null})
        );
    }
}
