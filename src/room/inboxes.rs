//! What the room tells its members' inboxes: the changes noted on the way (a message stored, edited
//! or deleted; a read mark; a ban; the first and last socket of a person), kept in the room's
//! [`Notifier`] for the Durable Object to send as rounds, and each member's entry as the room sees it
//! ([`Room::entry_for`]), counted from the history when a round goes — so every update is the whole
//! truth at that moment, and a lost one is healed by the next.

use super::*;
use crate::inbox::entry::{Last, Update};

/// How many of the newest messages are looked at for the last one of the main conversation not
/// deleted (a preview): past a run of deletions and thread replies that long the entry shows none.
const PREVIEW_LOOKBACK: usize = 16;

impl<S: Place> Room<S> {
    /// What waits to be told to the inboxes (the Durable Object takes the rounds from it).
    pub fn inboxes(&mut self) -> &mut Notifier {
        &mut self.inbox
    }

    /// Whether the identity `uid` has a socket in the room now.
    pub fn is_here(&self, uid: &str) -> bool {
        self.identities.contains_key(uid)
    }

    /// The people a message concerns (`crate::concern`: mentioned, taking part in its thread) are
    /// told in the next round even when the room is past `INBOX_PUSH_MAX` (members only: the
    /// notifier keeps the others out).
    pub(super) fn tell_inboxes(&mut self, who: &crate::concern::Concerned) {
        if !who.people.is_empty() {
            self.inbox.note(Note::Room {
                concerned: who.people.clone(),
            });
        }
    }

    /// The newest message of the main conversation (a thread's reply only when it is shown there
    /// too) not deleted, as inboxes preview it (one read serves a whole round).
    pub fn last_message(&self, history: &dyn History) -> Result<Option<Last>, Problem> {
        let newest = history
            .before(self.last_seq.saturating_add(1), PREVIEW_LOOKBACK)
            .map_err(storage)?;
        Ok(newest
            .iter()
            .rev()
            .find(|m| {
                !m.deleted
                    && (m.root().is_none() || m.also_in_room)
                    && m.seq > self.oldest_kept_after()
            })
            .map(Last::of))
    }

    /// Member `uid`'s entry as the room sees it now: their read mark, the messages of the main
    /// conversation after it by others and not deleted, their unread mentions and unread replies in
    /// the threads they take part in (the counts the `unread` frame gives them), the round's `last`;
    /// `stamp` orders it among the room's updates, `big` says the room tells only the members a
    /// change concerns.
    pub fn entry_for(
        &self,
        history: &dyn History,
        uid: &str,
        last: Option<&Last>,
        stamp: u64,
        big: bool,
    ) -> Result<Update, Problem> {
        let counts = self.counts(uid, history)?;
        let after = counts.read_seq.max(self.oldest_kept_after());
        let unread = history.unread(uid, after).map_err(storage)?;
        Ok(Update {
            room: self.name.clone(),
            stamp,
            last_seq: self.last_seq,
            read_seq: counts.read_seq,
            unread,
            mentions: counts.mentions,
            threads: counts.thread_unread,
            last: last.cloned(),
            big,
            dm: None,
            gone: false,
        })
    }
}
