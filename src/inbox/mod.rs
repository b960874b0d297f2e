//! A person across rooms: their inbox. Each person (a `uid`: from a token, or the `key=` identity)
//! has one inbox object (the `ChatRoom` class's third kind, named [`object_name`]) that keeps, per room
//! they belong to, an [`entry::Entry`]: their read position, unread and mention counts, the last
//! message's preview, muted or not. Rooms tell inboxes after their durable write ([`notify`]: whom,
//! and at most once a second); the inbox tells the person's sockets (`/ws/me`, [`frames`]), and keeps
//! the online state of the people they have direct messages with ([`online`]). Direct messages are
//! rooms whose name is made from their members' uids ([`dm`]). Every call to an inbox is one typed
//! value ([`call`]); who a person is, wherever they go, is [`person`]. A person's erasure across their
//! rooms is a job their inbox drives ([`erasure`]); their export is read through it
//! ([`crate::export::PersonCursor`]).
//!
//! Pure: the inbox object (`worker/inbox_object.rs`) and the room's side (`worker/room_inboxes.rs`)
//! carry these decisions out.

pub mod call;
pub mod dm;
pub mod entry;
pub mod erasure;
pub mod frames;
pub mod notify;
pub mod online;
pub mod person;

/// What every inbox object's name starts with: a character no room name may hold, so an inbox can
/// never be a room's object (or a shard's, `room#k`).
pub const PREFIX: char = '@';

/// Most entries an inbox lists (`GET /api/me`, the socket's snapshot), most recent first: the work
/// one request can cause is bounded; older entries are kept and come back with activity.
pub const MAX_LISTED: usize = 500;

/// The name of `uid`'s inbox object.
pub fn object_name(uid: &str) -> String {
    format!("{PREFIX}{uid}")
}

/// The uid whose inbox the object `name` is, if it is an inbox's.
pub fn uid_of_object(name: &str) -> Option<&str> {
    name.strip_prefix(PREFIX).filter(|uid| !uid.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::RoomName;

    #[test]
    fn an_inbox_name_is_never_a_room_name() {
        let name = object_name("Q2hhdC1hdXRob3ItaWQx");
        assert_eq!(uid_of_object(&name), Some("Q2hhdC1hdXRob3ItaWQx"));
        assert!(RoomName::parse(&name).is_err());
        assert_eq!(uid_of_object("lobby"), None);
        assert_eq!(uid_of_object("lobby#2"), None);
        assert_eq!(uid_of_object("@"), None);
    }
}
