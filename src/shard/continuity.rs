//! A shard's view of the pushes it gets: the next one, a retry of one already carried out, or one
//! after a gap (its sockets then resume from the history).

/// What a shard knows of the pushes it got, to tell a gap: frames it will never get, after which its
/// sockets must reconnect and resume (the history has everything; the shard cannot replay it).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Continuity {
    /// The sequencer incarnation of the last push, its number, and the revision after it.
    last: Option<(String, u64, u64)>,
}

/// What to do with a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// Carry it out.
    Next,
    /// A retry of a push already carried out: ignore it.
    Repeat,
    /// Something before it never arrived: close every socket (they resume), then carry it out.
    Gap,
}

impl Continuity {
    /// Checks push `n` from incarnation `from`, which started from revision `base`, and records it.
    /// Within one incarnation, numbers go 1, 2, 3…; a skipped number is a lost push. When the
    /// sequencer restarted, its first push says where it started (`base`): the shard lost nothing if
    /// it had already heard of every revision up to there. A shard that remembers nothing (it is new,
    /// or woke from hibernation, which it only does when idle) takes any push as the next.
    pub fn arrive(&mut self, from: &str, n: u64, base: u64, rev: u64) -> Arrival {
        let arrival = match &self.last {
            Some((f, last_n, _)) if f == from && n <= *last_n => return Arrival::Repeat,
            Some((f, last_n, _)) if f == from => {
                if n == last_n + 1 {
                    Arrival::Next
                } else {
                    Arrival::Gap
                }
            }
            Some((_, _, last_rev)) => {
                if n == 1 && *last_rev >= base {
                    Arrival::Next
                } else {
                    Arrival::Gap
                }
            }
            None => Arrival::Next,
        };
        self.last = Some((from.to_string(), n, rev));
        arrival
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shard_tells_a_lost_push_from_a_retry_and_a_clean_restart_from_a_lossy_one() {
        let mut c = Continuity::default();
        assert_eq!(c.arrive("s1", 1, 10, 11), Arrival::Next);
        assert_eq!(c.arrive("s1", 2, 10, 12), Arrival::Next);
        assert_eq!(c.arrive("s1", 2, 10, 12), Arrival::Repeat);
        assert_eq!(c.arrive("s1", 4, 10, 14), Arrival::Gap);
        assert_eq!(c.arrive("s1", 5, 10, 15), Arrival::Next);
        // The sequencer restarted having stored nothing past what this shard heard: nothing lost.
        assert_eq!(c.arrive("s2", 1, 15, 16), Arrival::Next);
        // It restarted after storing revision 20, of which this shard heard only up to 16.
        assert_eq!(c.arrive("s3", 1, 20, 21), Arrival::Gap);
        // A first push that is not number 1 from a new incarnation: its first was lost.
        assert_eq!(c.arrive("s4", 2, 21, 22), Arrival::Gap);
        // A shard that remembers nothing takes what comes.
        assert_eq!(Continuity::default().arrive("s9", 7, 99, 99), Arrival::Next);
    }
}
