//! What threads and mentions need of storage, as a trait of its own ([`ThreadHistory`], which every
//! [`super::History`] also is): the people a room has seen (whom `@name` can mention), thread
//! summaries kept on their roots, a thread's replies and the list of threads, who takes part in
//! each, per-thread read marks, and the per-person counts (unread mentions, unread replies per
//! thread). [`MemoryHistory`]'s answers here are the reference the store's SQL must give.

use super::MemoryHistory;
use crate::domain::{ChatMessage, Thread, ThreadSummary};
use crate::mention::name_key;
use crate::thread::{summarize, ThreadUnread};

/// Storage for threads and mentions (see the module's docs).
pub trait ThreadHistory {
    /// Notes that `uid` (an identity) has been in the room, going by `name` now: `@name` mentions it.
    fn met(&mut self, uid: &str, name: &str) -> Result<(), String>;
    /// The people the room has seen whose name key ([`name_key`]) is one of `keys` or whose uid is
    /// one of `uids`: (uid, name key) each.
    fn people(&self, keys: &[String], uids: &[String]) -> Result<Vec<(String, String)>, String>;
    /// Sets the summary of the thread of `root`, whose change is revision `rev`.
    fn set_summary(&mut self, root: u64, summary: &ThreadSummary, rev: u64) -> Result<(), String>;
    /// The summary of the thread of `root` counted afresh from its replies ([`summarize`]).
    fn summarize(&self, root: &ChatMessage) -> Result<ThreadSummary, String>;
    /// The replies in the thread of `root` with `seq > after`, oldest first, at most `limit`.
    fn replies(&self, root: u64, after: u64, limit: usize) -> Result<Vec<ChatMessage>, String>;
    /// The roots of threads with replies whose newest reply is below `before`, the most recently
    /// active first, at most `limit`.
    fn threads(&self, before: u64, limit: usize) -> Result<Vec<ChatMessage>, String>;
    /// Notes that `uids` take part in the thread of `root` (again is nothing new).
    fn take_part(&mut self, root: u64, uids: &[String]) -> Result<(), String>;
    /// Who takes part in the thread of `root`, at most `limit` of them.
    fn participants(&self, root: u64, limit: usize) -> Result<Vec<String>, String>;
    /// Up to where `uid` has read the thread of `root` (0 when never).
    fn thread_read_mark(&self, uid: &str, root: u64) -> Result<u64, String>;
    fn set_thread_read_mark(&mut self, uid: &str, root: u64, seq: u64) -> Result<(), String>;
    /// The unread mentions of `uid` among messages after `after`: not deleted, not its own, naming
    /// it or the room, and not covered by the read mark that applies — `main_mark` in the main
    /// conversation, the thread's mark for a reply, either for a reply also shown in the room.
    fn unread_mentions(&self, uid: &str, main_mark: u64, after: u64) -> Result<u64, String>;
    /// For each thread `uid` takes part in: its replies after the person's mark for it, not its own
    /// and not deleted; threads with none left out, the most recently active first, at most `limit`.
    fn unread_threads(&self, uid: &str, limit: usize) -> Result<Vec<ThreadUnread>, String>;
    /// How many messages with `from < seq <= upto` mention `uid` or the room: whether a read mark
    /// moving over them may have cleared a mention.
    fn mentions_between(&self, uid: &str, from: u64, upto: u64) -> Result<u64, String>;
}

/// Whether `m` mentions `uid` (by name or uid, or the room).
fn mentions(m: &ChatMessage, uid: &str) -> bool {
    m.mentions_room || m.mentions.iter().any(|u| u == uid)
}

impl MemoryHistory {
    fn thread_mark(&self, uid: &str, root: u64) -> u64 {
        self.thread_reads
            .iter()
            .find(|(u, r, _)| u == uid && *r == root)
            .map_or(0, |(_, _, s)| *s)
    }
}

impl ThreadHistory for MemoryHistory {
    fn met(&mut self, uid: &str, name: &str) -> Result<(), String> {
        self.check()?;
        self.people.retain(|(u, _)| u != uid);
        self.people.push((uid.to_string(), name_key(name)));
        Ok(())
    }

    fn people(&self, keys: &[String], uids: &[String]) -> Result<Vec<(String, String)>, String> {
        self.check()?;
        Ok(self
            .people
            .iter()
            .filter(|(u, k)| keys.contains(k) || uids.contains(u))
            .cloned()
            .collect())
    }

    fn set_summary(&mut self, root: u64, summary: &ThreadSummary, rev: u64) -> Result<(), String> {
        self.check()?;
        let i = self.position(root).ok_or("no such message")?;
        self.messages[i].thread = Some(Thread::Root(summary.clone()));
        self.messages[i].rev = rev;
        self.changed.insert(root);
        Ok(())
    }

    fn summarize(&self, root: &ChatMessage) -> Result<ThreadSummary, String> {
        self.check()?;
        let replies = self.messages.iter().filter(|m| m.root() == Some(root.seq));
        Ok(summarize(root, replies))
    }

    fn replies(&self, root: u64, after: u64, limit: usize) -> Result<Vec<ChatMessage>, String> {
        self.check()?;
        Ok(self
            .messages
            .iter()
            .filter(|m| m.root() == Some(root) && m.seq > after)
            .take(limit)
            .cloned()
            .collect())
    }

    fn threads(&self, before: u64, limit: usize) -> Result<Vec<ChatMessage>, String> {
        self.check()?;
        let mut roots: Vec<&ChatMessage> = self
            .messages
            .iter()
            .filter(|m| {
                m.summary()
                    .is_some_and(|s| s.replies > 0 && s.last_seq < before)
            })
            .collect();
        roots.sort_by_key(|m| std::cmp::Reverse(m.summary().map_or(0, |s| s.last_seq)));
        Ok(roots.into_iter().take(limit).cloned().collect())
    }

    fn take_part(&mut self, root: u64, uids: &[String]) -> Result<(), String> {
        self.check()?;
        for uid in uids {
            if !self
                .thread_people
                .iter()
                .any(|(r, u)| *r == root && u == uid)
            {
                self.thread_people.push((root, uid.clone()));
            }
        }
        Ok(())
    }

    fn participants(&self, root: u64, limit: usize) -> Result<Vec<String>, String> {
        self.check()?;
        Ok(self
            .thread_people
            .iter()
            .filter(|(r, _)| *r == root)
            .map(|(_, u)| u.clone())
            .take(limit)
            .collect())
    }

    fn thread_read_mark(&self, uid: &str, root: u64) -> Result<u64, String> {
        self.check()?;
        Ok(self.thread_mark(uid, root))
    }

    fn set_thread_read_mark(&mut self, uid: &str, root: u64, seq: u64) -> Result<(), String> {
        self.check()?;
        self.thread_reads
            .retain(|(u, r, _)| !(u == uid && *r == root));
        self.thread_reads.push((uid.to_string(), root, seq));
        Ok(())
    }

    fn unread_mentions(&self, uid: &str, main_mark: u64, after: u64) -> Result<u64, String> {
        self.check()?;
        Ok(self
            .messages
            .iter()
            .filter(|m| m.seq > after && !m.deleted && m.from.uid.as_deref() != Some(uid))
            .filter(|m| mentions(m, uid))
            .filter(|m| match m.root() {
                None => m.seq > main_mark,
                Some(root) => {
                    m.seq > self.thread_mark(uid, root) && !(m.also_in_room && m.seq <= main_mark)
                }
            })
            .count() as u64)
    }

    fn unread_threads(&self, uid: &str, limit: usize) -> Result<Vec<ThreadUnread>, String> {
        self.check()?;
        let mut found: Vec<(u64, ThreadUnread)> = Vec::new();
        for (root, _) in self.thread_people.iter().filter(|(_, u)| u == uid) {
            let mark = self.thread_mark(uid, *root);
            let unread: Vec<&ChatMessage> = self
                .messages
                .iter()
                .filter(|m| m.root() == Some(*root) && m.seq > mark && !m.deleted)
                .filter(|m| m.from.uid.as_deref() != Some(uid))
                .collect();
            if let Some(last) = unread.last() {
                let count = unread.len() as u64;
                found.push((
                    last.seq,
                    ThreadUnread {
                        root: *root,
                        unread: count,
                    },
                ));
            }
        }
        found.sort_by_key(|(last, _)| std::cmp::Reverse(*last));
        Ok(found.into_iter().take(limit).map(|(_, t)| t).collect())
    }

    fn mentions_between(&self, uid: &str, from: u64, upto: u64) -> Result<u64, String> {
        self.check()?;
        Ok(self
            .messages
            .iter()
            .filter(|m| m.seq > from && m.seq <= upto && mentions(m, uid))
            .count() as u64)
    }
}
