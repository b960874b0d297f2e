//! The calls between a room's objects: the shard's up pipe, the sequencer's pushes, and an operator's
//! diagnostics and restart of one shard, each one typed value with its URL written and read back here.

use super::parse_shard;
use crate::error::{ErrorCode, Problem};
use crate::validate::RoomName;

/// A call between the room's objects (never from outside: the Worker only forwards typed calls it
/// built itself). The records go in the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShardCall {
    /// Shard → sequencer: [`Up`] records. `sync`: the body starts with the shard's whole roster.
    Up {
        room: RoomName,
        shard: u16,
        session: String,
        sync: bool,
    },
    /// Sequencer → shard: [`Op`]s. `session` is the shard's session as the sequencer knows it
    /// (none: it does not know the shard's roster, so the shard must sync); `from` the sequencer's
    /// own incarnation, `n` the push's number from it to this shard (1, 2, …: a shard that sees a
    /// number skipped knows it missed frames), `base` (with `n` = 1) the revision the sequencer
    /// started from, and `rev` the room's revision once these ops are carried out. See
    /// [`Continuity`].
    Push {
        room: RoomName,
        shard: u16,
        session: Option<String>,
        from: String,
        n: u64,
        base: u64,
        rev: u64,
    },
    /// The shard's diagnostics.
    Info { room: RoomName, shard: u16 },
    /// Restart the shard (an operator's call): it drops every socket (they reconnect and resume) and
    /// forgets everything it held, as a crashed object would, under a new session.
    Restart { room: RoomName, shard: u16 },
}

const SHARD_BASE: &str = "https://shard";

/// A session or incarnation id: a short hex string.
fn check_session(raw: &str) -> Result<&str, Problem> {
    if !raw.is_empty() && raw.len() <= 32 && raw.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(raw)
    } else {
        Err(Problem::new(ErrorCode::BadRequest, "bad session"))
    }
}

impl ShardCall {
    pub fn room(&self) -> &RoomName {
        match self {
            ShardCall::Up { room, .. }
            | ShardCall::Push { room, .. }
            | ShardCall::Info { room, .. }
            | ShardCall::Restart { room, .. } => room,
        }
    }

    /// The URL of the call (its method is POST, except `Info`'s GET). Written by hand: room names,
    /// sessions and numbers are all URL-safe as they are.
    pub fn url(&self) -> String {
        let room = self.room().as_str();
        match self {
            ShardCall::Up {
                shard,
                session,
                sync,
                ..
            } => format!(
                "{SHARD_BASE}/shard-up?room={room}&shard={shard}&session={session}{}",
                if *sync { "&sync=1" } else { "" }
            ),
            ShardCall::Push {
                shard,
                session,
                from,
                n,
                base,
                rev,
                ..
            } => format!(
                "{SHARD_BASE}/shard-push?room={room}&shard={shard}{}{}&from={from}&n={n}&base={base}&rev={rev}",
                if session.is_some() { "&session=" } else { "" },
                session.as_deref().unwrap_or("")
            ),
            ShardCall::Info { shard, .. } => {
                format!("{SHARD_BASE}/shard-info?room={room}&shard={shard}")
            }
            ShardCall::Restart { shard, .. } => {
                format!("{SHARD_BASE}/shard-restart?room={room}&shard={shard}")
            }
        }
    }

    /// The shard the call is for or from.
    pub fn shard(&self) -> u16 {
        match self {
            ShardCall::Up { shard, .. }
            | ShardCall::Push { shard, .. }
            | ShardCall::Info { shard, .. }
            | ShardCall::Restart { shard, .. } => *shard,
        }
    }

    /// Reads a call back (`None`: the path is not a shard call).
    pub fn parse(path: &str, raw_query: &str) -> Option<Result<ShardCall, Problem>> {
        let action = path.strip_prefix("/shard-")?;
        let query = crate::query::query_pairs(raw_query);
        let get = |key: &str| crate::query::query_value(&query, key);
        let parsed = (|| {
            let room = RoomName::parse(get("room").unwrap_or(""))?;
            let shard = parse_shard(get("shard").unwrap_or(""))?;
            Ok(match action {
                "up" => ShardCall::Up {
                    room,
                    shard,
                    session: check_session(get("session").unwrap_or(""))?.to_string(),
                    sync: get("sync") == Some("1"),
                },
                "push" => ShardCall::Push {
                    room,
                    shard,
                    session: get("session")
                        .map(|s| check_session(s).map(str::to_string))
                        .transpose()?,
                    from: check_session(get("from").unwrap_or(""))?.to_string(),
                    n: crate::validate::parse_rev(get("n").unwrap_or(""))?,
                    base: crate::validate::parse_rev(get("base").unwrap_or(""))?,
                    rev: crate::validate::parse_rev(get("rev").unwrap_or(""))?,
                },
                "info" => ShardCall::Info { room, shard },
                "restart" => ShardCall::Restart { room, shard },
                _ => {
                    return Err(Problem::new(
                        ErrorCode::NotFound,
                        format!("no such shard call: {path}"),
                    ))
                }
            })
        })();
        Some(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_round_trip() {
        let room = RoomName::parse("lobby").unwrap();
        let calls = [
            ShardCall::Up {
                room: room.clone(),
                shard: 2,
                session: "ab12".into(),
                sync: true,
            },
            ShardCall::Up {
                room: room.clone(),
                shard: 2,
                session: "ab12".into(),
                sync: false,
            },
            ShardCall::Push {
                room: room.clone(),
                shard: 3,
                session: None,
                from: "ff00".into(),
                n: 1,
                base: 40,
                rev: 42,
            },
            ShardCall::Push {
                room: room.clone(),
                shard: 3,
                session: Some("ab12".into()),
                from: "ff00".into(),
                n: 7,
                base: 0,
                rev: 0,
            },
            ShardCall::Info {
                room: room.clone(),
                shard: 1,
            },
            ShardCall::Restart { room, shard: 9 },
        ];
        for call in calls {
            let url = call.url();
            let rest = url.strip_prefix(SHARD_BASE).unwrap();
            let (path, query) = rest.split_once('?').unwrap();
            assert_eq!(ShardCall::parse(path, query), Some(Ok(call)), "{url}");
        }
        assert_eq!(ShardCall::parse("/connect", "room=x"), None);
        for (path, query) in [
            ("/shard-up", "room=x&shard=1"),
            ("/shard-up", "room=x&shard=0&session=ab"),
            ("/shard-up", "room=x&shard=1&session=a%20b"),
            ("/shard-push", "room=x&shard=1&from=ab"),
            ("/shard-nope", "room=x&shard=1"),
            ("/shard-info", "room=&shard=1"),
        ] {
            assert!(
                matches!(ShardCall::parse(path, query), Some(Err(_))),
                "{path}?{query}"
            );
        }
    }
}
