//! What each socket keeps across hibernation: its attachment, a storage format versioned apart from
//! the wire's [`User`]. The runtime stores it with the socket (`serializeAttachment`), and after a wake
//! the room is rebuilt from it, so a deploy that changes the wire type must still read every
//! attachment written before it — otherwise every hibernated socket would be closed.
//!
//! Version 3 is `{"v":3,"id","name","uid","role","exp"}`: the role and token expiry of a connection
//! that came with a signed token (`role` omitted for a member, `exp` without a token), so the room
//! still closes it on time, and knows it as a moderator, after a wake; and `"framing":"batch"` for a
//! connection that asked for batched frames (absent: one frame each). Version 2
//! (`{"v":2,"id","name","uid"}`, maybe with `framing`) reads as a member without expiry. Version 1 (`{"v":1,"id","name"}`) and attachments written
//! before versioning (`{"id","name"}`, the wire `User` of protocol v1) read as anonymous members.
//!
//! Any version may carry `"addr"`: the hashed client address of a connection to an open room (see
//! [`AddressTag`]), which a ban bars for a while. An attachment without a `uid` (anonymous, or from
//! before anonymous uids) reads with the connection's anonymous uid.

use serde::{Deserialize, Serialize};

use crate::domain::{Framing, User};
use crate::identity::AddressTag;
use crate::room::Joining;
use crate::session::Role;

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
    /// Since version 3: the role its token gave.
    #[serde(default, skip_serializing_if = "is_member")]
    pub role: Role,
    /// Since version 3: when its token expires (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    /// How the connection takes its frames; written only when batched, so an attachment without it
    /// reads (and a rollback reads it) as one frame each.
    #[serde(default, skip_serializing_if = "is_single")]
    pub framing: Framing,
    /// Where a connection to an open room came from ([`AddressTag`] as text); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
}

fn is_member(role: &Role) -> bool {
    *role == Role::Member
}

fn is_single(framing: &Framing) -> bool {
    *framing == Framing::Single
}

fn first_version() -> u32 {
    1
}

impl Attachment {
    /// The version this build writes.
    pub const VERSION: u32 = 3;

    pub fn of(user: &User, role: Role, exp: Option<u64>) -> Attachment {
        Attachment {
            v: Self::VERSION,
            id: user.id.clone(),
            name: user.name.clone(),
            uid: user.uid.clone(),
            role,
            exp,
            framing: Framing::Single,
            addr: None,
        }
    }

    /// The same attachment for a connection from `address`.
    pub fn from_address(self, address: Option<AddressTag>) -> Attachment {
        Attachment {
            addr: address.map(|a| a.to_string()),
            ..self
        }
    }

    /// What the room restores of the connection besides its user: framing, role, token expiry and
    /// address (a join's `after`/`since` are not kept).
    pub fn joining(&self) -> Joining {
        Joining {
            framing: self.framing,
            role: self.role,
            expires: self.exp,
            address: self.address(),
            ..Joining::default()
        }
    }

    /// Where the connection came from, if it was to an open room.
    pub fn address(&self) -> Option<AddressTag> {
        self.addr.as_deref().and_then(AddressTag::parse)
    }

    /// The same attachment for a connection that takes its frames as `framing`.
    pub fn framed(self, framing: Framing) -> Attachment {
        Attachment { framing, ..self }
    }

    /// The member this attachment describes, or `None` for a version this build cannot read (written
    /// by a newer deploy that was rolled back).
    pub fn user(&self) -> Option<User> {
        self.clone().into_user()
    }

    pub fn into_user(self) -> Option<User> {
        (self.v <= Self::VERSION).then(|| User::connection(self.id, self.name, self.uid))
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
        let stored = serde_json::to_string(&Attachment::of(&user, Role::Member, None)).unwrap();
        assert_eq!(stored, r#"{"v":3,"id":"c1","name":"ann","uid":"u-1"}"#);
        let back: Attachment = serde_json::from_str(&stored).unwrap();
        assert_eq!(back.into_user(), Some(user.clone()));
        let signed = Attachment::of(&user, Role::Moderator, Some(1_764_083_600));
        let stored = serde_json::to_string(&signed).unwrap();
        assert_eq!(
            stored,
            r#"{"v":3,"id":"c1","name":"ann","uid":"u-1","role":"moderator","exp":1764083600}"#
        );
        assert_eq!(serde_json::from_str::<Attachment>(&stored).unwrap(), signed);
        let v2: Attachment =
            serde_json::from_str(r#"{"v":2,"id":"c1","name":"ann","uid":"u-1"}"#).unwrap();
        assert_eq!((v2.role, v2.exp), (Role::Member, None));
        assert_eq!(v2.into_user(), Some(user.clone()));
        let batched = Attachment::of(&user, Role::Member, None).framed(Framing::Batch);
        let stored = serde_json::to_string(&batched).unwrap();
        assert_eq!(
            stored,
            r#"{"v":3,"id":"c1","name":"ann","uid":"u-1","framing":"batch"}"#
        );
        let back: Attachment = serde_json::from_str(&stored).unwrap();
        assert_eq!(back.framing, Framing::Batch);
        let v2: Attachment =
            serde_json::from_str(r#"{"v":2,"id":"c1","name":"ann","uid":"u-1","framing":"batch"}"#)
                .unwrap();
        assert_eq!(v2.framing, Framing::Batch);
        // Anonymous connections from before anonymous uids get theirs on the way in.
        let anonymous = User {
            id: "c1".into(),
            name: "ann".into(),
            uid: Some("anon:c1".into()),
        };
        for older in [
            r#"{"id":"c1","name":"ann"}"#,
            r#"{"v":1,"id":"c1","name":"ann"}"#,
        ] {
            let legacy: Attachment = serde_json::from_str(older).unwrap();
            assert_eq!(legacy.into_user(), Some(anonymous.clone()), "{older}");
        }
        let future: Attachment = serde_json::from_str(r#"{"v":9,"id":"c1","name":"ann"}"#).unwrap();
        assert_eq!(future.into_user(), None);
    }

    #[test]
    fn an_open_rooms_connection_keeps_its_address_tag() {
        let user = User::connection("c1".into(), "ann".into(), None);
        let tag = AddressTag::of("198.51.100.7");
        let stored =
            serde_json::to_string(&Attachment::of(&user, Role::Member, None).from_address(tag))
                .unwrap();
        let tag_text = tag.unwrap().to_string();
        assert_eq!(
            stored,
            format!(r#"{{"v":3,"id":"c1","name":"ann","uid":"anon:c1","addr":"{tag_text}"}}"#)
        );
        let back: Attachment = serde_json::from_str(&stored).unwrap();
        assert_eq!(back.address(), tag);
        let garbled: Attachment =
            serde_json::from_str(r#"{"v":3,"id":"c1","name":"ann","addr":"??"}"#).unwrap();
        assert_eq!(
            garbled.address(),
            None,
            "a bad tag is no address, not a failure"
        );
    }
}
