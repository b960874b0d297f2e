//! Presence that scales: who is online in a room too big to list to everyone on every change.
//!
//! In a small room every join and leave is told to every other connection (`join`, `leave`) and each
//! `welcome` lists the whole roster: O(n) frames per join, O(n²) for a crowd arriving at once — after
//! a deploy, which disconnects every socket, 10,000 clients reconnecting would cost ~10⁸ frames.
//! Above `PRESENCE_THRESHOLD` members the room switches to counts: `welcome` carries `online` and a
//! bounded first page of members, the roster is paged on request, and joins and leaves are gathered
//! here and told in one `presence` frame per interval: the new count, how many came and went, and a
//! bounded sample of who. The interval is one second, and one more second per 1,000 members online, so
//! a room sends at most about 1,000 presence frames a second however big it grows, and a reconnect
//! storm of N sockets costs O(N) frames and bytes instead of O(N²).
//!
//! Pure bookkeeping: time is passed in, the room decides when to ask.

use crate::domain::User;
use std::collections::VecDeque;

/// The most users a `presence` frame names in `joined` (and in `left`): the latest ones.
pub const PRESENCE_SAMPLE: usize = 20;
/// The shortest time between two `presence` frames.
pub const PRESENCE_EVERY_MS: u64 = 1000;
/// Members online per extra interval: the room's presence frames per second stay bounded.
pub const PRESENCE_MEMBERS_PER_INTERVAL: usize = 1000;
/// Members listed in `welcome` above the threshold (the first page, in roster order).
pub const WELCOME_MEMBERS: usize = 50;
/// Read marks a welcome looks through for the others online (the furthest-read authors): one query,
/// bounded however many people ever read the room.
pub const WELCOME_READS: usize = 200;
/// The longest roster page (`roster` frame, `GET /api/rooms/{room}/members`).
pub const MAX_ROSTER_PAGE: usize = 500;
/// A roster page when the client names no `limit`.
pub const DEFAULT_ROSTER_PAGE: usize = 100;

/// Joins and leaves not yet told, and when the last `presence` frame went out.
#[derive(Debug, Default)]
pub struct Presence {
    joined: VecDeque<User>,
    left: VecDeque<User>,
    joins: u64,
    leaves: u64,
    /// When the last presence frame went out (`None`: never, so the first goes at once).
    last_at: Option<u64>,
}

/// One `presence` frame's content, taken from [`Presence::take`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Told {
    pub joined: Vec<User>,
    pub left: Vec<User>,
    pub joins: u64,
    pub leaves: u64,
}

impl Presence {
    /// How long presence frames are apart in a room with `online` members.
    pub fn interval_ms(online: usize) -> u64 {
        PRESENCE_EVERY_MS * (1 + (online / PRESENCE_MEMBERS_PER_INTERVAL) as u64)
    }

    pub fn joined(&mut self, user: &User) {
        self.joins += 1;
        push_bounded(&mut self.joined, user.clone());
    }

    /// A member left. One who joined since the last frame is simply dropped from the sample: nobody was
    /// told of them by name, so nobody needs to be told they went.
    pub fn left(&mut self, user: &User) {
        self.leaves += 1;
        let before = self.joined.len();
        self.joined.retain(|u| u.id != user.id);
        if self.joined.len() == before {
            push_bounded(&mut self.left, user.clone());
        }
    }

    /// Whether anything waits to be told.
    pub fn pending(&self) -> bool {
        self.joins + self.leaves > 0
    }

    /// `Ok(())` when a frame may go out at `now_ms`, else `Err(ms)` to wait.
    pub fn due(&self, now_ms: u64, online: usize) -> Result<(), u64> {
        match self.last_at {
            None => Ok(()),
            Some(at) => {
                let next = at + Self::interval_ms(online);
                if now_ms >= next {
                    Ok(())
                } else {
                    Err(next - now_ms)
                }
            }
        }
    }

    /// Empties what waits, for one frame sent at `now_ms`.
    pub fn take(&mut self, now_ms: u64) -> Told {
        self.last_at = Some(now_ms);
        Told {
            joined: std::mem::take(&mut self.joined).into(),
            left: std::mem::take(&mut self.left).into(),
            joins: std::mem::take(&mut self.joins),
            leaves: std::mem::take(&mut self.leaves),
        }
    }
}

fn push_bounded(sample: &mut VecDeque<User>, user: User) {
    if sample.len() == PRESENCE_SAMPLE {
        sample.pop_front();
    }
    sample.push_back(user);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(i: usize) -> User {
        User {
            id: format!("c{i}"),
            name: format!("u{i}"),
            uid: None,
        }
    }

    #[test]
    fn the_first_frame_goes_at_once_then_one_per_interval() {
        let mut p = Presence::default();
        assert!(!p.pending());
        p.joined(&user(1));
        assert_eq!(p.due(0, 150), Ok(()));
        p.take(10);
        p.joined(&user(2));
        assert_eq!(p.due(500, 150), Err(510));
        assert_eq!(p.due(1010, 150), Ok(()));
    }

    #[test]
    fn bigger_rooms_are_told_less_often() {
        assert_eq!(Presence::interval_ms(150), 1000);
        assert_eq!(Presence::interval_ms(999), 1000);
        assert_eq!(Presence::interval_ms(1000), 2000);
        assert_eq!(Presence::interval_ms(10_000), 11_000);
    }

    #[test]
    fn joins_and_leaves_are_counted_in_full_and_named_up_to_the_sample() {
        let mut p = Presence::default();
        for i in 0..50 {
            p.joined(&user(i));
        }
        p.left(&user(49)); // came and went before anyone was told: not named
        p.left(&user(0)); // already out of the sample: named as gone
        let told = p.take(0);
        assert_eq!((told.joins, told.leaves), (50, 2));
        assert_eq!(told.joined.len(), PRESENCE_SAMPLE - 1);
        assert_eq!(
            told.joined.last().unwrap().id,
            "c48",
            "the latest are named"
        );
        assert_eq!(told.left, vec![user(0)]);
        assert!(!p.pending());
    }
}
