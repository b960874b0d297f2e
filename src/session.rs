//! What a signed token makes of a connection beyond its name: its [`Role`] in the room and when its
//! token expires — the [`Session`] — and [`Expiries`], the table from which the Durable Object learns
//! which sockets to close with `token_expired` and when to wake up for the next one.
//!
//! Both kinds of token give a session: a `v1.` token (always a member) and a standard JWT (its `role`
//! claim). A connection to an open room (no signed access configured) has none and never expires.

use std::collections::HashMap;

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

/// The token expiry of every connection that has one (connection id → Unix seconds). Kept by the
/// Durable Object next to the roster and rebuilt from the attachments after a wake.
///
/// The room asks "has anyone expired?" on every event, so the earliest expiry is kept aside and the
/// table is only scanned when that time has come: O(1) per event, a scan per expiry. (After a removal
/// or a renewal it may be earlier than the true earliest; that costs one scan, never a missed close.)
#[derive(Debug, Default, Clone)]
pub struct Expiries {
    by_conn: HashMap<String, u64>,
    earliest: Option<u64>,
}

impl Expiries {
    /// Records (or, after a renewal, moves) the expiry of `conn_id`.
    pub fn set(&mut self, conn_id: &str, exp: u64) {
        self.by_conn.insert(conn_id.to_string(), exp);
        self.earliest = Some(self.earliest.map_or(exp, |e| e.min(exp)));
    }

    pub fn remove(&mut self, conn_id: &str) {
        self.by_conn.remove(conn_id);
    }

    /// The connections whose token has expired at `now_secs` (`exp <= now`), removed from the table.
    pub fn take_expired(&mut self, now_secs: u64) -> Vec<String> {
        if self.earliest.is_none_or(|e| e > now_secs) {
            return Vec::new();
        }
        let mut expired = Vec::new();
        self.by_conn.retain(|conn_id, exp| {
            let keep = *exp > now_secs;
            if !keep {
                expired.push(conn_id.clone());
            }
            keep
        });
        self.earliest = self.by_conn.values().copied().min();
        expired
    }

    /// The earliest expiry still ahead (Unix seconds), when the room must look again: `None` when no
    /// connection has a token, so a room of anonymous or open-room sockets never sets a wake-up.
    pub fn next_expiry(&mut self) -> Option<u64> {
        // Exact, for the alarm: a stale lower bound would only wake the room for nothing.
        self.earliest = self.by_conn.values().copied().min();
        self.earliest
    }
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

    #[test]
    fn expired_connections_are_taken_once_and_the_next_wake_is_the_earliest_left() {
        let mut e = Expiries::default();
        assert_eq!(e.next_expiry(), None, "nobody with a token: no wake-up");
        e.set("a", 100);
        e.set("b", 200);
        e.set("c", 150);
        assert_eq!(e.next_expiry(), Some(100));
        assert!(e.take_expired(99).is_empty());
        assert_eq!(e.take_expired(100), vec!["a".to_string()]);
        assert!(e.take_expired(100).is_empty(), "taken once");
        assert_eq!(e.next_expiry(), Some(150));
        e.set("c", 300); // renewed
        e.remove("b"); // left
        assert_eq!(e.next_expiry(), Some(300));
        let mut gone = e.take_expired(1000);
        gone.sort();
        assert_eq!(gone, vec!["c".to_string()]);
        assert_eq!(e.next_expiry(), None);
    }
}
