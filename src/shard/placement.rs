//! Where a new socket of a large room goes: the sequencer itself, or the lowest shard with room, with
//! the places given out but not yet taken counted, and only shards placement opened existing.

use super::MAX_SHARDS;
use crate::error::{ErrorCode, Problem};

/// How long a placed socket counts on its shard before it has joined there: a client that was placed
/// and never connected frees its place after this.
pub const RESERVATION_MS: u64 = 30_000;

/// Whether shard `k` exists: the sequencer's own placement opened it (the room has used shards
/// 1 ..= `shards`). Nothing else may bring a shard into the room: a shard the room lists costs a push
/// on every flush and a greeting on every wake, so a diagnostic read of `shards/4096` that made its
/// object report in grew the room by 4,096 shards, for good. A read of one that does not exist is
/// `not_found`, and a shard object the room never opened is refused when it reports in.
pub fn check_placed(k: u16, shards: u16) -> Result<(), Problem> {
    if (1..=shards).contains(&k) {
        Ok(())
    } else {
        Err(Problem::new(
            ErrorCode::NotFound,
            "no such shard: this room has placed no sockets on it",
        ))
    }
}

/// Where new sockets go: the sequencer itself (0) until it holds `SHARD_SOCKETS`, then the
/// lowest-numbered shard with room. A socket placed on a shard counts there until it joins (or for
/// [`RESERVATION_MS`]), so a connect storm does not overfill one shard before its joins arrive. A shard
/// whose roster the sequencer does not know (it woke, and the shard has not sent it yet) counts as
/// full: after a deploy or an eviction every client reconnects at once, and shards that looked empty
/// would each take far more than their share.
#[derive(Debug, Default)]
pub struct Placement {
    /// (shard, until when) of sockets placed but not joined yet.
    reserved: Vec<(u16, u64)>,
}

impl Placement {
    /// The shard for the next socket: 0 for the sequencer, `k` ≥ 1 for shard `k`. `local` is how many
    /// sockets the sequencer holds, `counts` how many each shard holds (shard `k` at index `k - 1`),
    /// `known(k)` whether `counts` knows shard `k`'s roster.
    pub fn place(
        &mut self,
        local: usize,
        counts: &[usize],
        known: impl Fn(u16) -> bool,
        per_object: u32,
        now_ms: u64,
    ) -> Result<u16, Problem> {
        let cap = per_object as usize;
        if local < cap {
            return Ok(0);
        }
        self.reserved.retain(|&(_, until)| until > now_ms);
        let mut held: Vec<usize> = counts.to_vec();
        for &(k, _) in &self.reserved {
            let i = usize::from(k.max(1)) - 1;
            if held.len() <= i {
                held.resize(i + 1, 0);
            }
            held[i] += 1;
        }
        for k in 1..=MAX_SHARDS {
            let n = held.get(usize::from(k) - 1).copied().unwrap_or(0);
            if n < cap && known(k) {
                self.reserved.push((k, now_ms + RESERVATION_MS));
                return Ok(k);
            }
        }
        Err(Problem::new(
            ErrorCode::RoomFull,
            "room is full (every shard is full)",
        ))
    }

    /// Whether a socket placed on shard `k` is still on its way there.
    pub fn expects(&self, k: u16) -> bool {
        self.reserved.iter().any(|&(s, _)| s == k)
    }

    /// A socket placed on shard `k` has joined: it counts among the shard's members now.
    pub fn arrived(&mut self, k: u16) {
        if let Some(pos) = self.reserved.iter().position(|&(s, _)| s == k) {
            self.reserved.swap_remove(pos);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_shard_placement_opened_exists() {
        assert!(check_placed(1, 1).is_ok());
        assert!(check_placed(3, 3).is_ok());
        for (k, shards) in [(1, 0), (4, 3), (MAX_SHARDS, 2), (0, 5)] {
            assert_eq!(
                check_placed(k, shards).unwrap_err().code,
                ErrorCode::NotFound,
                "{k} of {shards}"
            );
        }
    }

    #[test]
    fn placement_fills_the_sequencer_then_the_lowest_shard_with_room() {
        let all = |_| true;
        let mut p = Placement::default();
        let mut counts = vec![];
        assert_eq!(p.place(1, &counts, all, 2, 0), Ok(0));
        // The sequencer is full: shard 1 takes two (reserved until they join), then shard 2.
        assert_eq!(p.place(2, &counts, all, 2, 0), Ok(1));
        assert_eq!(p.place(2, &counts, all, 2, 0), Ok(1));
        assert_eq!(p.place(2, &counts, all, 2, 0), Ok(2));
        // Both joined shard 1; one of them leaves: shard 1 has room again.
        p.arrived(1);
        p.arrived(1);
        counts = vec![1];
        assert_eq!(p.place(2, &counts, all, 2, 0), Ok(1));
        // Reservations lapse: a placed socket that never came frees its place.
        let later = RESERVATION_MS + 1;
        counts = vec![2];
        assert_eq!(p.place(2, &counts, all, 2, later), Ok(2));
        assert_eq!(p.place(2, &counts, all, 2, later), Ok(2));
        assert_eq!(p.place(2, &counts, all, 2, later), Ok(3));
        // Every shard full: room_full.
        let full = vec![1; usize::from(MAX_SHARDS)];
        assert_eq!(
            p.place(1, &full, all, 1, later).unwrap_err().code,
            ErrorCode::RoomFull
        );
    }

    #[test]
    fn placement_counts_a_shard_whose_roster_is_unknown_as_full() {
        // A sequencer that just woke: shards 1 and 2 existed, 1 has sent its roster (one socket), 2
        // has not. Whatever `counts` says of shard 2, nobody goes there until its roster is in.
        let mut p = Placement::default();
        let known = |k| k != 2;
        assert_eq!(p.place(4, &[1], known, 4, 0), Ok(1));
        assert_eq!(p.place(4, &[1], known, 4, 0), Ok(1));
        assert_eq!(p.place(4, &[1], known, 4, 0), Ok(1));
        assert_eq!(p.place(4, &[1], known, 4, 0), Ok(3));
        assert_eq!(p.place(4, &[1, 0], known, 4, 0), Ok(3));
        // Its roster came: it takes what it has room for.
        assert_eq!(p.place(4, &[4, 2], |_| true, 4, 0), Ok(2));
        assert_eq!(p.place(4, &[4, 2], |_| true, 4, 0), Ok(2));
        assert_eq!(p.place(4, &[4, 2], |_| true, 4, 0), Ok(3));
    }
}
