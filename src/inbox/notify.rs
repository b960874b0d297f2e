//! The room's side of the inboxes: whom a room tells, and when. A room tells only its members — the
//! identities that have joined it (or, for a direct message, its fixed members) and have not left it
//! — so a private room's name or preview never reaches anyone else's inbox, however a message names
//! them (a mention of a non-member is dropped here).
//!
//! **When.** A room sends *rounds*: each tells every inbox it names at most one update, computed at
//! that moment from the room's history (so a round covers every change before it). The first round
//! after a quiet second goes at once — after the turn's durable write, which the runtime's output gate
//! guarantees for anything sent after it — and while changes keep coming, at most one round a second
//! follows: at most one update per inbox per room per second, whatever the message rate.
//!
//! **Whom.** A message, an edit or a deletion changes every member's entry (the preview, the others'
//! counts). Up to `INBOX_PUSH_MAX` members, a round tells them all; above it, only the members a
//! change concerns — the ones mentioned or taking part in the thread, the reader of a read mark, a
//! member who just joined — so the message path's cost does not grow with the room: the others' entries
//! are read from the room when they open their inbox. A room that grows past the threshold tells
//! everyone once (so each inbox knows to read it), a bounded round of `INBOX_PUSH_MAX + 1`.
//!
//! Presence is told apart from rounds: the room says when a person's first socket in it opens and
//! their last one closes ([`Notifier::here`]), at the end of the turn; their inbox coalesces.

/// The least time between two rounds of one room.
pub const WINDOW_MS: u64 = 1_000;

/// Why members' entries changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// A message was stored, edited or deleted: every member's entry changed, and these members'
    /// especially (mentioned, or taking part in its thread).
    Room { concerned: Vec<String> },
    /// Only this member's own entry changed (their read mark, their first join).
    Own(String),
    /// The room grew past `INBOX_PUSH_MAX`: tell every member once.
    Grew,
    /// This person is a member no more (a moderator banned them): their entry goes.
    Gone(String),
}

/// A person's presence in the room, as their inbox is told it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Here {
    /// Their first socket opened, under this name (a member from now on, if they were not).
    Came(String),
    /// Their last socket closed.
    Went,
}

/// Who the room is, for a round: the members it may list in full, or too many to.
pub enum Members<'a> {
    /// Up to `INBOX_PUSH_MAX` (or when everyone must be told once): all of them.
    Few(&'a [String]),
    /// More: only those a change concerns are told; this says whether a uid is a member.
    Many(&'a dyn Fn(&str) -> bool),
}

/// What waits for the next round, and when the last one went.
#[derive(Debug, Default)]
pub struct Notifier {
    /// A change every member's entry shows is waiting.
    everyone: bool,
    /// Members whose entry a waiting change concerns (told even above the threshold). Vectors rather
    /// than sets throughout: a turn notes a few people, and each set type would cost the wasm its own
    /// tree code.
    concerned: Vec<String>,
    /// The room grew past the threshold: the next round lists everyone.
    grew: bool,
    last_round: Option<u64>,
    /// Presence not yet told, per uid (the latest word wins).
    here: Vec<(String, Here)>,
    /// Members no more, whose inbox is to drop the entry.
    gone: Vec<String>,
}

impl Notifier {
    pub fn note(&mut self, note: Note) {
        match note {
            Note::Room { concerned } => {
                self.everyone = true;
                self.concerned.extend(concerned);
            }
            Note::Own(uid) => self.concerned.push(uid),
            Note::Grew => {
                self.grew = true;
                self.everyone = true;
            }
            Note::Gone(uid) => {
                self.concerned.retain(|c| *c != uid);
                if !self.gone.contains(&uid) {
                    self.gone.push(uid);
                }
            }
        }
    }

    /// `uid`'s first socket in the room opened, or their last one closed.
    pub fn here(&mut self, uid: &str, here: Here) {
        match self.here.iter_mut().find(|(u, _)| u == uid) {
            Some(slot) => slot.1 = here,
            None => self.here.push((uid.to_string(), here)),
        }
    }

    /// Whether a round waits.
    pub fn waiting(&self) -> bool {
        self.everyone || !self.concerned.is_empty() || !self.gone.is_empty()
    }

    /// Takes the people who are members no more (told at once, each round: there are few).
    pub fn take_gone(&mut self) -> Vec<String> {
        std::mem::take(&mut self.gone)
    }

    /// Whether the next round must list every member (the room grew past the threshold).
    pub fn wants_everyone(&self) -> bool {
        self.grew
    }

    /// When a waiting round may go: `Ok` now, or `Err(ms)` from now (at most one a second).
    pub fn due(&self, now: u64) -> Result<(), u64> {
        match self.last_round {
            Some(at) if now < at.saturating_add(WINDOW_MS) => Err(at + WINDOW_MS - now),
            _ => Ok(()),
        }
    }

    /// Takes the waiting round at `now`: the members to tell, each once (every member as `Few` lists
    /// them, or the concerned ones in the order noted). Only members are ever named.
    pub fn take(&mut self, now: u64, members: Members<'_>) -> Vec<String> {
        let everyone = std::mem::take(&mut self.everyone);
        let concerned = std::mem::take(&mut self.concerned);
        self.grew = false;
        self.last_round = Some(now);
        if let (Members::Few(all), true) = (&members, everyone) {
            return all.to_vec();
        }
        let mut to: Vec<String> = Vec::new();
        for uid in concerned {
            let member = match &members {
                Members::Few(all) => all.contains(&uid),
                Members::Many(is_member) => is_member(&uid),
            };
            // A round names a few people: a scan beats a sort (and its code in the wasm).
            if member && !to.contains(&uid) {
                to.push(uid);
            }
        }
        to
    }

    /// Takes the presence to tell.
    pub fn take_here(&mut self) -> Vec<(String, Here)> {
        std::mem::take(&mut self.here)
    }

    /// A round could not reach `uid`'s inbox: try again in the next one.
    pub fn retry(&mut self, uid: String) {
        self.concerned.push(uid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_message_tells_every_member_and_nobody_else() {
        let members = uids(&["ann", "bob", "cy"]);
        let mut n = Notifier::default();
        assert!(!n.waiting());
        n.note(Note::Room {
            concerned: uids(&["stranger"]),
        });
        assert!(n.waiting());
        assert_eq!(n.due(0), Ok(()), "the first round goes at once");
        assert_eq!(n.take(0, Members::Few(&members)), members);
        assert!(!n.waiting());
    }

    #[test]
    fn at_most_one_round_a_second() {
        let members = uids(&["ann", "bob"]);
        let mut n = Notifier::default();
        n.note(Note::Own("ann".into()));
        n.take(1_000, Members::Few(&members));
        n.note(Note::Room { concerned: vec![] });
        n.note(Note::Own("bob".into()));
        assert_eq!(n.due(1_300), Err(700));
        assert_eq!(n.due(2_000), Ok(()));
        assert_eq!(
            n.take(2_000, Members::Few(&members)),
            members,
            "coalesced: one each"
        );
        n.note(Note::Own("ann".into()));
        assert_eq!(n.due(2_999), Err(1));
    }

    #[test]
    fn a_read_mark_tells_only_the_reader() {
        let members = uids(&["ann", "bob"]);
        let mut n = Notifier::default();
        n.note(Note::Own("bob".into()));
        assert_eq!(n.take(0, Members::Few(&members)), uids(&["bob"]));
        n.note(Note::Own("not-a-member".into()));
        assert!(n.take(5_000, Members::Few(&members)).is_empty());
    }

    #[test]
    fn above_the_threshold_only_the_concerned_members_are_told() {
        let is_member = |uid: &str| uid != "outsider";
        let mut n = Notifier::default();
        n.note(Note::Room {
            concerned: uids(&["mentioned", "outsider"]),
        });
        n.note(Note::Room { concerned: vec![] });
        n.note(Note::Own("reader".into()));
        assert_eq!(
            n.take(0, Members::Many(&is_member)),
            uids(&["mentioned", "reader"]),
            "the other members are not told: their counts are read on open"
        );
        // growing past it tells everyone once
        n.note(Note::Grew);
        assert!(n.wants_everyone());
        let all = uids(&["a", "b", "c"]);
        assert_eq!(n.take(9_000, Members::Few(&all)), all);
        assert!(!n.wants_everyone());
    }

    #[test]
    fn presence_keeps_the_latest_word_per_person() {
        let mut n = Notifier::default();
        n.here("ann", Here::Came("Ann".into()));
        n.here("bob", Here::Came("Bob".into()));
        n.here("ann", Here::Went);
        assert_eq!(
            n.take_here(),
            vec![
                ("ann".to_string(), Here::Went),
                ("bob".to_string(), Here::Came("Bob".into()))
            ]
        );
        assert!(n.take_here().is_empty());
        assert!(!n.waiting(), "presence is not a round");
    }

    #[test]
    fn a_banned_member_is_told_to_drop_the_entry_and_nothing_else() {
        let mut n = Notifier::default();
        n.note(Note::Own("mal".into()));
        n.note(Note::Gone("mal".into()));
        assert!(n.waiting());
        assert_eq!(n.take_gone(), vec!["mal".to_string()]);
        let still = ["ann".to_string()];
        assert!(n.take(0, Members::Few(&still)).is_empty());
    }

    #[test]
    fn an_unreached_inbox_is_tried_in_the_next_round() {
        let members = uids(&["ann", "bob"]);
        let mut n = Notifier::default();
        n.retry("bob".into());
        assert!(n.waiting());
        assert_eq!(n.take(0, Members::Few(&members)), uids(&["bob"]));
    }
}
