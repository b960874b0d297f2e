//! A person's counts: their unread mentions and their unread replies in the threads they take part
//! in (per thread, and in all), as the welcome and the `unread` frame give them; the welcome adds
//! their read position and the main conversation's unread messages. The frame leaves that last one
//! out: every connection counts the main conversation itself from the frames it hears, and counting
//! it in storage reads every message after the person's mark, once per person told.

use super::*;
use crate::thread::{ThreadUnread, MAX_UNREAD_THREADS};

/// One person's counts (see the module's docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts {
    pub read_seq: u64,
    pub mentions: u64,
    pub thread_unread: u64,
    pub threads: Vec<ThreadUnread>,
}

impl Counts {
    /// The `unread` frame that tells them.
    pub fn frame(&self) -> String {
        ServerFrame::Unread {
            mentions: self.mentions,
            thread_unread: self.thread_unread,
            threads: &self.threads,
        }
        .to_json()
    }
}

impl<S: Place> Room<S> {
    /// The counts of the person `uid` (an identity), read from storage: three bounded queries.
    pub(super) fn counts(&self, uid: &str, history: &dyn History) -> Result<Counts, Problem> {
        let read_seq = history.read_mark(uid).map_err(storage)?;
        let mentions = history
            .unread_mentions(uid, read_seq, self.oldest_kept_after())
            .map_err(storage)?;
        let threads = history
            .unread_threads(uid, MAX_UNREAD_THREADS)
            .map_err(storage)?;
        Ok(Counts {
            read_seq,
            mentions,
            thread_unread: threads.iter().map(|t| t.unread).sum(),
            threads,
        })
    }
}
