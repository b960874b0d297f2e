//! A person's counts, as the welcome and the `unread` frame give them: their read position and
//! unread messages in the main conversation, their unread mentions, and their unread replies in the
//! threads they take part in (per thread, and in all).

use super::*;
use crate::thread::{ThreadUnread, MAX_UNREAD_THREADS};

/// One person's counts (see the module's docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts {
    pub read_seq: u64,
    pub unread: u64,
    pub mentions: u64,
    pub thread_unread: u64,
    pub threads: Vec<ThreadUnread>,
}

impl Counts {
    /// The `unread` frame that tells them.
    pub fn frame(&self) -> String {
        ServerFrame::Unread {
            unread: self.unread,
            mentions: self.mentions,
            thread_unread: self.thread_unread,
            threads: &self.threads,
        }
        .to_json()
    }
}

impl<S: Place> Room<S> {
    /// The counts of the person `uid` (an identity), read from storage: a few bounded queries.
    pub(super) fn counts(&self, uid: &str, history: &dyn History) -> Result<Counts, Problem> {
        let read_seq = history.read_mark(uid).map_err(storage)?;
        let unread = history.unread(uid, read_seq).map_err(storage)?;
        let mentions = history
            .unread_mentions(uid, read_seq, self.oldest_kept_after())
            .map_err(storage)?;
        let threads = history
            .unread_threads(uid, MAX_UNREAD_THREADS)
            .map_err(storage)?;
        Ok(Counts {
            read_seq,
            unread,
            mentions,
            thread_unread: threads.iter().map(|t| t.unread).sum(),
            threads,
        })
    }
}
