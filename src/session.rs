//! What a signed token makes of a connection beyond its name: its [`Role`] in the room and when its
//! token expires — the [`Session`]. (The room keeps each member's expiry: `Room::expire`.)
//!
//! Both kinds of token give a session: a `v1.` token (always a member) and a standard JWT (its `role`
//! claim). A connection to an open room (no signed access configured) has none and never expires.

use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, Problem};

/// What a connection may do in a room beyond talking. Moderation (later) acts on it; today it is
/// carried, kept across hibernation and announced in `welcome.role`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    #[default]
    Member,
    Moderator,
}

impl Role {
    /// The role a token names (`"member"` or `"moderator"`); anything else is refused rather than
    /// silently read as a member, so a typo in an app's claims shows up at once.
    pub fn parse(raw: &str) -> Result<Role, Problem> {
        match raw {
            "member" => Ok(Role::Member),
            "moderator" => Ok(Role::Moderator),
            _ => Err(Problem::new(
                ErrorCode::Unauthorized,
                "token role must be \"member\" or \"moderator\"",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Moderator => "moderator",
        }
    }
}

/// Who a verified token says its holder is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The display name (checked as a [`crate::validate::UserName`] by whoever builds a session).
    pub name: String,
    /// The author id (see [`crate::identity`] for how each kind of token derives it).
    pub uid: String,
    pub role: Role,
    /// When the token expires, in Unix seconds.
    pub exp: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_read_strictly() {
        assert_eq!(Role::parse("moderator"), Ok(Role::Moderator));
        assert_eq!(Role::parse("member"), Ok(Role::Member));
        assert_eq!(
            Role::parse("admin").unwrap_err().code,
            ErrorCode::Unauthorized
        );
        assert_eq!(Role::default(), Role::Member);
        assert_eq!(
            serde_json::to_string(&Role::Moderator).unwrap(),
            "\"moderator\""
        );
    }
}
