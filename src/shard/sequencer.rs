//! What the room's own object, the sequencer, knows of its shards and decides about them: where a new
//! socket goes ([`Placement`]), which shards exist (only those placement opened), which incarnation
//! (`session`) of each it holds the roster of, and what each up record comes to — the roster diff of a
//! `sync` (who the shard no longer lists is gone) and the repeat-join rule (a join for a connection the
//! room already holds is a repeat, never a second welcome). Pure: the Durable Object carries the
//! [`Step`]s out on the room and keeps only the outboxes and the push tasks.
//!
//! The sequencer knows a shard's members only by what its up pipe said. After a wake it knows how many
//! shards the room has used (from storage) but not who is on them, until each has sent its roster;
//! until then placement counts such a shard as full (a reconnect storm after a deploy would otherwise
//! pile onto shards that only look empty).

use super::placement::{check_placed, Placement};
use super::records::Up;
use crate::attachment::Attachment;
use crate::error::Problem;

/// One shard, as the sequencer knows it.
#[derive(Debug, Default)]
struct Known {
    /// The shard incarnation whose roster the sequencer holds (`None`: it must sync).
    session: Option<String>,
    /// Whether the sequencer knows who is on it: a shard this incarnation opened (it starts empty),
    /// or one that has sent its roster since. (Not derived from `session`: a new shard has none until
    /// its first sync.)
    known: bool,
}

/// The sequencer's view of its shards.
#[derive(Debug, Default)]
pub struct Sequencer {
    /// Shard `k` at index `k - 1`.
    shards: Vec<Known>,
    placement: Placement,
}

/// Where [`Sequencer::place`] put a new socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placed {
    /// On the sequencer itself.
    Here,
    /// On shard `k`, which the room already has.
    On(u16),
    /// On shard `k`, which this placement opened: to be recorded in storage, so that a wake still
    /// reaches it.
    Opened(u16),
}

/// Why an up request is not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The room never placed a socket on this shard (`not_found`): an object that calls itself one
    /// of the room's shards without having been opened does not make the room grow.
    NotPlaced(Problem),
    /// The sequencer does not hold the roster of the shard's incarnation: it must send it first (409).
    SyncFirst,
}

/// What one up record comes to, for the object to carry out on the room, in the records' order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step<'a> {
    /// Nothing: a repeated join, a member already held, or a record whose attachment names no member.
    Skip,
    /// A welcomed socket from a sync that the room does not hold (the sequencer woke or restarted):
    /// restore it, with its role, expiry, framing and address.
    Restore(Attachment),
    /// A socket waiting for its welcome: join it. Its place on the shard is taken now.
    Join {
        attachment: Attachment,
        after: Option<u64>,
        since: Option<u64>,
    },
    /// A text frame from a member.
    Text { conn: &'a str, text: &'a str },
    /// A binary frame from a member.
    Binary { conn: &'a str, len: usize },
    /// A frame from a connection the room does not hold: close it (`unknown connection`). (One the
    /// room has just closed, e.g. for an expired token, is closed already; the shard ignores a second
    /// close.)
    Unknown { conn: &'a str },
    /// A socket gone.
    Leave { conn: &'a str },
}

impl Sequencer {
    /// The sequencer of a room that has used shards 1 ..= `shards`. Who is on them is unknown: each
    /// gets a hello push, which has it send its roster.
    pub fn woke(shards: u16) -> Sequencer {
        Sequencer {
            shards: (0..shards).map(|_| Known::default()).collect(),
            placement: Placement::default(),
        }
    }

    /// How many shards the room has used.
    pub fn count(&self) -> u16 {
        self.shards.len() as u16
    }

    fn get(&self, k: u16) -> Option<&Known> {
        self.shards.get(usize::from(k).checked_sub(1)?)
    }

    /// Whether the sequencer knows who is on shard `k` (one past the last is a new, empty shard).
    pub fn known(&self, k: u16) -> bool {
        match usize::from(k).checked_sub(1) {
            Some(i) => self.shards.get(i).is_none_or(|s| s.known),
            None => true,
        }
    }

    /// Whether it knows who is on every shard (not so after a wake, until each has sent its roster).
    pub fn all_known(&self) -> bool {
        self.shards.iter().all(|s| s.known)
    }

    /// The shard incarnation whose roster the sequencer holds for shard `k`.
    pub fn session(&self, k: u16) -> Option<&str> {
        self.get(k)?.session.as_deref()
    }

    /// Whether shard `k` exists (placement opened it): the only shards a diagnostic call may reach.
    pub fn check_placed(&self, k: u16) -> Result<(), Problem> {
        check_placed(k, self.count())
    }

    /// Where a new socket goes. `local` is how many sockets the sequencer holds, `counts` how many
    /// each shard holds (shard `k` at index `k - 1`), `per_object` the `SHARD_SOCKETS` cap.
    pub fn place(
        &mut self,
        local: usize,
        counts: &[usize],
        per_object: u32,
        now_ms: u64,
    ) -> Result<Placed, Problem> {
        let shards = &self.shards;
        let known = |k: u16| match usize::from(k).checked_sub(1) {
            Some(i) => shards.get(i).is_none_or(|s| s.known),
            None => true,
        };
        let k = self
            .placement
            .place(local, counts, known, per_object, now_ms)?;
        if k == 0 {
            return Ok(Placed::Here);
        }
        if usize::from(k) <= self.shards.len() {
            return Ok(Placed::On(k));
        }
        // A shard this incarnation opens starts empty: its roster is known.
        while self.shards.len() < usize::from(k) {
            self.shards.push(Known {
                session: None,
                known: true,
            });
        }
        Ok(Placed::Opened(k))
    }

    /// Whether a broadcast must go to shard `k`, which holds `members` of the room's members: it has
    /// some, or a socket placed there is on its way, or the sequencer does not know its roster.
    pub fn reaches(&self, k: u16, members: usize) -> bool {
        members > 0 || self.placement.expects(k) || self.get(k).is_some_and(|s| s.session.is_none())
    }

    /// Whether an up request from shard `k`'s incarnation `session` is taken: only from a shard
    /// placement opened, and (unless it is a `sync`, which brings the roster) only for the session
    /// whose roster the sequencer holds.
    pub fn admit_up(&self, k: u16, session: &str, sync: bool) -> Result<(), Refused> {
        self.check_placed(k).map_err(Refused::NotPlaced)?;
        if !sync && self.session(k) != Some(session) {
            return Err(Refused::SyncFirst);
        }
        Ok(())
    }

    /// Takes a `sync` from shard `k`'s incarnation `session`: every member and join record in it is
    /// the shard's whole roster. Returns the connections the room holds on that shard (`on_shard`)
    /// that the roster does not list: they are gone (the shard restarted without them). From now on
    /// the sequencer holds that session's roster.
    pub fn sync<'s>(
        &mut self,
        k: u16,
        session: String,
        records: &[Up<'_>],
        on_shard: impl Iterator<Item = &'s str>,
    ) -> Vec<String> {
        let ids: Vec<String> = records
            .iter()
            .filter_map(|r| match r {
                Up::Member { attachment } | Up::Join { attachment, .. } => {
                    member(attachment).map(|a| a.id)
                }
                _ => None,
            })
            .collect();
        // `Vec<&str>`: its sort is the one the moderation view already has in the wasm.
        let mut listed: Vec<&str> = ids.iter().map(String::as_str).collect();
        listed.sort_unstable();
        let gone = on_shard
            .filter(|id| listed.binary_search(id).is_err())
            .map(str::to_string)
            .collect();
        if let Some(s) = self.shards.get_mut(usize::from(k).wrapping_sub(1)) {
            s.session = Some(session);
            s.known = true;
        }
        gone
    }

    /// What up record `record` from shard `k` comes to. `holds(conn)`: whether the room holds
    /// connection `conn` now (asked per record: the records before it may have changed that).
    ///
    /// A join for a connection the room already holds is a repeat: a sync names the sockets still
    /// waiting for their welcome again, and an up request that failed after it was carried out is
    /// sent again. Its welcome is on the way and its place was counted: joining it twice would send a
    /// second welcome and free a place that is still taken. (Connection ids are random per socket:
    /// only a repeat names one again.)
    pub fn take<'a>(&mut self, k: u16, record: Up<'a>, holds: impl Fn(&str) -> bool) -> Step<'a> {
        match record {
            Up::Member { attachment } => match member(attachment) {
                Some(a) if !holds(&a.id) => Step::Restore(a),
                _ => Step::Skip,
            },
            Up::Join {
                attachment,
                after,
                since,
            } => match member(attachment) {
                Some(a) if !holds(&a.id) => {
                    self.placement.arrived(k);
                    Step::Join {
                        attachment: a,
                        after,
                        since,
                    }
                }
                _ => Step::Skip,
            },
            Up::Text { conn, .. } | Up::Binary { conn, .. } if !holds(conn) => {
                Step::Unknown { conn }
            }
            Up::Text { conn, text } => Step::Text { conn, text },
            Up::Binary { conn, len } => Step::Binary { conn, len },
            Up::Leave { conn } => Step::Leave { conn },
        }
    }
}

/// The member an attachment (JSON) names, if it is readable and names one.
fn member(attachment: &str) -> Option<Attachment> {
    serde_json::from_str::<Attachment>(attachment)
        .ok()
        .filter(|a| a.user().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::User;
    use crate::error::ErrorCode;
    use crate::session::Role;

    fn attachment(id: &str) -> String {
        let user = User::connection(id.into(), format!("user-{id}"), None);
        serde_json::to_string(&Attachment::of(&user, Role::Member, None)).unwrap()
    }

    fn join(attachment: &str) -> Up<'_> {
        Up::Join {
            attachment,
            after: Some(4),
            since: None,
        }
    }

    /// A sequencer whose own object is full (cap 1) and that has opened shard 1 with one socket on
    /// the way there.
    fn with_one_shard() -> Sequencer {
        let mut s = Sequencer::default();
        assert_eq!(s.place(0, &[], 1, 0), Ok(Placed::Here));
        assert_eq!(s.place(1, &[], 1, 0), Ok(Placed::Opened(1)));
        s
    }

    #[test]
    fn placement_opens_a_shard_once_and_then_places_on_it() {
        let mut s = Sequencer::default();
        assert_eq!(s.place(0, &[], 2, 0), Ok(Placed::Here));
        assert_eq!(s.place(2, &[], 2, 0), Ok(Placed::Opened(1)));
        assert_eq!(s.place(2, &[], 2, 0), Ok(Placed::On(1)));
        assert_eq!(s.place(2, &[], 2, 0), Ok(Placed::Opened(2)));
        assert_eq!(s.count(), 2);
        // Shards this incarnation opened are empty, so known; the way there is counted.
        assert!(s.all_known());
        assert!(s.reaches(2, 0), "a socket is on its way to shard 2");
        assert!(s.check_placed(2).is_ok());
        assert_eq!(s.check_placed(3).unwrap_err().code, ErrorCode::NotFound);
    }

    #[test]
    fn a_woken_sequencer_places_nobody_on_a_shard_before_its_roster_comes() {
        let mut s = Sequencer::woke(2);
        assert!(!s.all_known() && !s.known(1) && s.known(3));
        // Both existing shards count as full, whatever the (empty) counts say: shard 3 opens.
        assert_eq!(s.place(1, &[], 1, 0), Ok(Placed::Opened(3)));
        // A shard whose roster it does not hold hears every broadcast, members or not.
        assert!(s.reaches(1, 0));
        s.sync(1, "s1".into(), &[], std::iter::empty());
        assert!(s.known(1) && !s.all_known());
        assert!(!s.reaches(1, 0), "synced, empty and nobody on the way");
        assert!(s.reaches(1, 3));
        assert_eq!(s.place(1, &[0], 1, 0), Ok(Placed::On(1)));
    }

    #[test]
    fn an_up_request_is_taken_only_from_a_placed_shard_in_the_session_it_synced() {
        let mut s = with_one_shard();
        assert!(matches!(
            s.admit_up(2, "s1", true),
            Err(Refused::NotPlaced(p)) if p.code == ErrorCode::NotFound
        ));
        // Opened, but no roster taken yet: only a sync is heard.
        assert_eq!(s.admit_up(1, "s1", false), Err(Refused::SyncFirst));
        assert_eq!(s.admit_up(1, "s1", true), Ok(()));
        s.sync(1, "s1".into(), &[], std::iter::empty());
        assert_eq!(s.session(1), Some("s1"));
        assert_eq!(s.admit_up(1, "s1", false), Ok(()));
        // The shard restarted: its new incarnation must sync first.
        assert_eq!(s.admit_up(1, "s2", false), Err(Refused::SyncFirst));
    }

    #[test]
    fn a_sync_drops_whoever_the_shard_no_longer_lists() {
        let mut s = with_one_shard();
        let (b, d) = (attachment("b"), attachment("d"));
        let records = [
            Up::Member { attachment: &b },
            join(&d),
            Up::Text {
                conn: "a",
                text: "hi",
            },
            Up::Member {
                attachment: "not json",
            },
        ];
        let gone = s.sync(1, "s1".into(), &records, ["a", "b", "c"].into_iter());
        assert_eq!(gone, ["a", "c"]);
        // A sync that lists everyone drops no one.
        let gone = s.sync(1, "s2".into(), &records[..2], ["b", "d"].into_iter());
        assert!(gone.is_empty(), "{gone:?}");
        assert_eq!(s.session(1), Some("s2"));
    }

    #[test]
    fn a_sync_restores_the_members_the_room_does_not_hold_and_only_those() {
        let mut s = with_one_shard();
        let (b, c) = (attachment("b"), attachment("c"));
        let holds = |id: &str| id == "b";
        assert_eq!(s.take(1, Up::Member { attachment: &b }, holds), Step::Skip);
        match s.take(1, Up::Member { attachment: &c }, holds) {
            Step::Restore(a) => assert_eq!(a.id, "c"),
            other => panic!("{other:?}"),
        }
        // Unreadable, or written by a newer deploy that was rolled back.
        let newer = r#"{"v":99,"id":"q","name":"q"}"#;
        for bad in ["", "{}", "[1]", newer] {
            assert_eq!(
                s.take(1, Up::Member { attachment: bad }, |_| false),
                Step::Skip,
                "{bad}"
            );
        }
    }

    #[test]
    fn a_join_for_a_connection_the_room_holds_is_a_repeat_and_keeps_its_place_taken() {
        let mut s = with_one_shard();
        let n = attachment("n");
        // The join went up, was carried out, and its answer was lost: it comes again.
        match s.take(1, join(&n), |_| false) {
            Step::Join {
                attachment, after, ..
            } => assert_eq!((attachment.id.as_str(), after), ("n", Some(4))),
            other => panic!("{other:?}"),
        }
        assert!(
            !s.placement.expects(1),
            "the place is taken by the member now"
        );
        assert_eq!(s.place(1, &[0], 1, 0), Ok(Placed::On(1)));
        assert!(s.placement.expects(1));
        // The repeat is skipped, and the place of the socket still on its way stays counted.
        assert_eq!(s.take(1, join(&n), |id| id == "n"), Step::Skip);
        assert!(s.placement.expects(1));
        assert_eq!(s.place(1, &[1], 1, 0), Ok(Placed::Opened(2)));
    }

    #[test]
    fn frames_go_to_the_room_only_from_connections_it_holds() {
        let mut s = with_one_shard();
        let holds = |id: &str| id == "a";
        let text = |conn| Up::Text { conn, text: "hi" };
        assert_eq!(
            s.take(1, text("a"), holds),
            Step::Text {
                conn: "a",
                text: "hi"
            }
        );
        assert_eq!(
            s.take(1, Up::Binary { conn: "a", len: 9 }, holds),
            Step::Binary { conn: "a", len: 9 }
        );
        assert_eq!(s.take(1, text("z"), holds), Step::Unknown { conn: "z" });
        assert_eq!(
            s.take(1, Up::Leave { conn: "z" }, holds),
            Step::Leave { conn: "z" }
        );
    }
}
