//! One room spread over several Durable Objects: what the room's own object (the *sequencer*) and its
//! *shards* say to each other, where a new socket goes, and how a shard fans a push out to its
//! sockets. Pure: the Durable Objects in `worker/` carry it out. docs/SCALING.md has the whole design.
//!
//! The sequencer stays the room's one authority: it validates, assigns `seq`, stores, acks, and owns
//! history and presence. It holds sockets itself up to `SHARD_SOCKETS`; beyond that each new socket
//! is placed on shard 1, 2, … ([`Placement`]), a Durable Object that only holds sockets.
//!
//! Two pipes per shard, each with at most one request in flight, so each is in order:
//! - **up** (shard → sequencer): what the shard's sockets did, as [`Up`] records, in the order they
//!   did it — a socket accepted (`J`), a frame (`M`, `Y`), a socket gone (`L`). Records that arrive
//!   while a request is in flight wait and go in the next one.
//! - **down** (sequencer → shard): what the shard's sockets must get, as [`Op`]s — the room's effects
//!   as they are, `Broadcast` included, so a flush costs the sequencer one call per shard, never one
//!   per socket. The shard's [`Shard::deliver`] fans them out (packing `batch=1` connections the same
//!   way the sequencer does for its own).
//!
//! Each shard incarnation has a random `session`. The sequencer knows its shards' members only by what
//! the up pipe told it; when it does not know a shard's current session (the shard or the sequencer
//! restarted or woke), it answers the up request with 409 and the shard sends its whole roster first
//! (`sync`), in the same pipe, so the roster and the joins and leaves around it stay in order.
//!
//! Records are a header line (`kind`, arguments, and the payload's byte length, separated by spaces)
//! and then the payload's bytes: frames pass through without being escaped or parsed again.
//!
//! The parts, one concept a file:
//! - [`call`] — the calls between the room's objects ([`call::ShardCall`]), encoded and parsed.
//! - [`records`] — the bodies of those calls: [`records::Up`] records and [`records::Op`]s.
//! - [`placement`] — where a new socket goes.
//! - [`sequencer`] — what the sequencer knows of its shards and decides about them: placement, each
//!   shard's session, a sync's roster diff, the repeat-join rule.
//! - [`continuity`] — how a shard tells a lost push from a retry.
//! - [`fanout`] — a shard's sockets and the fan-out of a push to them.

pub mod call;
pub mod continuity;
pub mod fanout;
pub mod placement;
pub mod records;
pub mod sequencer;

use crate::error::{ErrorCode, Problem};

/// The most shards one room may use (beyond: `room_full`).
pub const MAX_SHARDS: u16 = 4_096;

/// The name of shard `k`'s Durable Object for `room`: a `ChatRoom` like the room's own, under a name
/// no room can have (`#` is not allowed in room names), so the two never meet.
pub fn shard_name(room: &str, k: u16) -> String {
    format!("{room}#{k}")
}

/// The room and index a shard's name stands for (`None`: not a shard name).
pub fn parse_shard_name(name: &str) -> Option<(&str, u16)> {
    let (room, k) = name.rsplit_once('#')?;
    let k: u16 = k.parse().ok()?;
    (k >= 1 && !room.is_empty()).then_some((room, k))
}

/// A shard index from a path or query (1 ..= [`MAX_SHARDS`]).
pub fn parse_shard(raw: &str) -> Result<u16, Problem> {
    raw.parse::<u16>()
        .ok()
        .filter(|k| (1..=MAX_SHARDS).contains(k))
        .ok_or_else(|| {
            Problem::new(
                ErrorCode::NotFound,
                format!("a shard is a number from 1 to {MAX_SHARDS}"),
            )
        })
}

/// The header with which the sequencer answers a connect it places on a shard (the shard's index):
/// the Worker then takes the socket to that shard.
pub const PLACED_HEADER: &str = "x-edge-chat-shard";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_names_round_trip() {
        assert_eq!(
            parse_shard_name(&shard_name("lobby", 3)),
            Some(("lobby", 3))
        );
        assert_eq!(parse_shard_name("lobby"), None);
        assert_eq!(parse_shard_name("lobby#0"), None);
        assert_eq!(parse_shard_name("#2"), None);
        assert_eq!(parse_shard("7"), Ok(7));
        for bad in ["0", "-1", "x", "99999", ""] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }
}
