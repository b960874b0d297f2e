//! The room's persistent log as the pure core sees it: the [`History`] trait, which the Durable Object
//! implements over its SQLite storage (`worker/store.rs`) and [`MemoryHistory`] over a `Vec` for tests.
//!
//! Every method is one step of storage work the room decides on; none of them decides anything (who
//! may edit, which `rev` a change gets): that is `room/`. The room calls them inside one turn, so the
//! runtime commits a batch of them together, and the frames that follow are held by the output gate
//! until that commit is durable.
//!
//! Threads and mentions have their own trait, [`ThreadHistory`] (in `history/threads.rs`), which
//! every `History` is too.

use crate::domain::sender_key;
use crate::domain::{ChatMessage, FileDescriptor, Reactions, Reactor, Version};
use crate::erasure::Erasure;
use crate::files::log::{FileLog, Stored};
use crate::moderation::{Action, AddressBan};
use crate::screening::fingerprint;
use crate::search::{Found, SearchQuery, MARK_CLOSE, MARK_OPEN, SEARCH_WINDOW};

mod threads;
pub use threads::ThreadHistory;

/// What [`History::append`] did with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Stored under the `seq` the room assigned.
    Stored,
    /// Not stored: a stored message has the same sender ([`sender_key`]), client `id` and text (a
    /// retry); these are its `seq`, `ts` and `rev`.
    Duplicate { seq: u64, ts: u64, rev: u64 },
    /// Not stored: a stored message has the same sender ([`sender_key`]) and client `id` but another
    /// text. It is somebody else's message (or a client reusing an id), so it must not be acknowledged
    /// as this one.
    Conflict,
}

/// The room's persistent message log, with each message's versions, reactions, and the read marks of
/// its authors; its uploads ([`FileLog`]); and (as a [`ThreadHistory`]) its threads and mentions.
pub trait History: FileLog + ThreadHistory {
    /// Stores a message whose `seq` and `rev` the room has assigned, unless a stored message has the
    /// same sender ([`sender_key`]) and client `id`. One step, so the common case (a new message)
    /// costs one statement: the check for a duplicate is the store's unique index, not a lookup.
    fn append(&mut self, msg: &ChatMessage) -> Result<Appended, String>;
    /// What [`History::append`] would answer for `msg` if its sender's client `id` is taken
    /// (`Duplicate` or `Conflict`), without storing anything; `None` when it would store it. Asked
    /// before the moderation hook is, so that a retry is never asked about (nor stored) twice.
    fn lookup(&self, msg: &ChatMessage) -> Result<Option<Appended>, String>;
    /// Remembers that message `seq` was stored with the moderation hook's replacement for a text whose
    /// [`fingerprint`] this is, so that a retry of that text is known as the same message.
    fn screened(&mut self, seq: u64, fingerprint: &str) -> Result<(), String>;
    /// The message `seq`, if stored.
    fn get(&self, seq: u64) -> Result<Option<ChatMessage>, String>;
    /// Messages with `seq > after`, oldest first, at most `limit` of them: the oldest such messages
    /// when `newest` is false (paging forward), the newest when it is true (catching up).
    fn range(&self, after: u64, limit: usize, newest: bool) -> Result<Vec<ChatMessage>, String>;
    /// The newest `limit` messages with `seq < before`, oldest first (scrolling back).
    fn before(&self, before: u64, limit: usize) -> Result<Vec<ChatMessage>, String>;
    /// Messages with `seq <= upto` changed after revision `since` (edited, deleted or reacted to), in
    /// `rev` order, at most `limit`.
    fn changes(&self, upto: u64, since: u64, limit: usize) -> Result<Vec<ChatMessage>, String>;
    /// Replaces a message by its edited state, keeping `previous` as an earlier version, and forgets
    /// its earlier versions numbered `drop_upto` or below (0: none).
    fn edit(
        &mut self,
        edited: &ChatMessage,
        previous: &Version,
        drop_upto: u32,
    ) -> Result<(), String>;
    /// The newest `limit` messages of author `uid` that are not deleted, with `floor < seq < below`
    /// and sent at `since_ms` or later, newest first (what a purge deletes next).
    fn authored(
        &self,
        uid: &str,
        floor: u64,
        below: u64,
        since_ms: u64,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, String>;
    /// Replaces a message by its tombstone and erases its earlier versions and its reactions.
    fn delete(&mut self, tombstone: &ChatMessage) -> Result<(), String>;
    /// Sets (`on`) or clears the reaction `emoji` of author `uid` (called `name` now) on message `seq`.
    /// When that changed anything, the message takes revision `rev` and the new counts are returned;
    /// `None` when the reaction already was as asked.
    fn react(
        &mut self,
        seq: u64,
        emoji: &str,
        uid: &str,
        name: &str,
        on: bool,
        rev: u64,
    ) -> Result<Option<Reactions>, String>;
    /// Who reacted to message `seq` with `emoji`: up to `limit` of them whose uid sorts after `after`,
    /// in uid order (the order the store's key holds them in, so a page reads only its own rows).
    fn reactors(
        &self,
        seq: u64,
        emoji: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<Reactor>, String>;
    /// The newest `limit` earlier versions of message `seq` numbered below `before`, newest first (not
    /// the current text).
    fn versions(&self, seq: u64, before: u32, limit: usize) -> Result<Vec<Version>, String>;
    /// Up to where author `uid` has read (0 when never).
    fn read_mark(&self, uid: &str) -> Result<u64, String>;
    fn set_read_mark(&mut self, uid: &str, seq: u64) -> Result<(), String>;
    /// The read marks (uid, seq) of the `limit` authors who have read furthest, furthest first.
    fn recent_reads(&self, limit: usize) -> Result<Vec<(String, u64)>, String>;
    /// Messages of the main conversation (not thread replies, unless also shown there) after
    /// `after` that `uid` did not send and that are not deleted.
    fn unread(&self, uid: &str, after: u64) -> Result<u64, String>;
    /// Among the newest [`SEARCH_WINDOW`] messages with `after < seq < before` whose current text
    /// matches `query`, the best ones first after the first `offset`, at most `limit`, each with a
    /// snippet of its text: hits
    /// between [`MARK_OPEN`] and [`MARK_CLOSE`], not yet escaped (that is
    /// [`crate::search::snippet_html`]'s job); and when the window was full, its oldest `seq`.
    fn search(
        &self,
        query: &SearchQuery,
        after: u64,
        before: u64,
        offset: usize,
        limit: usize,
    ) -> Result<Found, String>;
    /// Deletes every message with `seq <= upto` (with its versions and reactions, and dooming its
    /// uploads), remembering that the room has reached revision `rev` (a trimmed message may have held
    /// the highest one).
    fn trim(&mut self, upto: u64, rev: u64);
    /// `(seq, ts)` of the oldest `limit` messages with `seq > after`, oldest first (what a retention
    /// sweep looks at).
    fn oldest(&self, after: u64, limit: usize) -> Result<Vec<(u64, u64)>, String>;
    /// Erases the messages with `after < seq <= upto` as retention does: text, earlier versions,
    /// reactions, search entries, files and previews go (the files are doomed apart:
    /// [`FileLog::doom_files_in`]), each `seq` stays as a tombstone (author and time kept);
    /// remembers `upto` as the end of what retention erased.
    fn expire(&mut self, after: u64, upto: u64) -> Result<(), String>;
    /// Who reacted to message `seq` with what: `(emoji, uid)`, in that order.
    fn reacted(&self, seq: u64) -> Result<Vec<(String, String)>, String>;
    /// The reactions of author `uid` to messages with `after < seq <= upto`: `(seq, emoji)`.
    fn reacted_by(&self, uid: &str, after: u64, upto: u64) -> Result<Vec<(u64, String)>, String>;
    /// Forgets what the room keeps of author `uid` as a reader: its read marks (the room's and each
    /// thread's), the name `@name` mentions it by, and the threads it took part in.
    fn forget_reader(&mut self, uid: &str) -> Result<(), String>;
    /// The erasure of author `uid`, as last stored (see [`crate::erasure`]).
    fn erasure(&self, uid: &str) -> Result<Option<Erasure>, String>;
    /// Stores an erasure's progress (in the same turn as what it erased).
    fn save_erasure(&mut self, job: &Erasure) -> Result<(), String>;
    /// Puts a moderation action's lasting part in storage (a ban, a mute until `now_ms` + its
    /// seconds, slow mode; a kick has none) and appends its record (JSON) to the moderation log;
    /// returns the log entry's id.
    fn moderate(&mut self, action: &Action, record: &str, now_ms: u64) -> Result<u64, String>;
    /// Bars `ban`'s address until its time, with the ban of its uid (whose unban lifts it too); address
    /// bans over at `now_ms` go.
    fn ban_address(&mut self, ban: &AddressBan, now_ms: u64) -> Result<(), String>;
    /// Appends a record (JSON) to the moderation log without any rule (a moderator's deletion).
    fn log_moderation(&mut self, record: &str, now_ms: u64) -> Result<u64, String>;
    /// Moderation log entries (id, record JSON) with an id below `before`, newest first, at most `limit`.
    fn moderation_log(&self, before: u64, limit: usize) -> Result<Vec<(u64, String)>, String>;
    /// Moderation log entries (id, record JSON) with an id above `after`, oldest first, at most
    /// `limit` (an export reads the log forward).
    fn moderation_since(&self, after: u64, limit: usize) -> Result<Vec<(u64, String)>, String>;
}

/// An in-memory [`History`], for tests and benchmarks of the pure core.
#[derive(Debug, Default)]
pub struct MemoryHistory {
    pub messages: Vec<ChatMessage>,
    /// Earlier versions: (seq, version).
    pub versions: Vec<(u64, Version)>,
    /// Reactions: (seq, emoji, uid, name).
    pub reactions: Vec<(u64, String, String, String)>,
    pub reads: Vec<(String, u64)>,
    /// Messages ever edited, deleted or reacted to (what the store's partial index holds).
    pub changed: std::collections::BTreeSet<u64>,
    /// The moderation log: (id, record JSON), oldest first.
    pub moderation: Vec<(u64, String)>,
    /// The lasting moderation rules as stored: banned uids, mutes (uid, until), slow mode seconds.
    pub bans: std::collections::BTreeSet<String>,
    pub mutes: Vec<(String, u64)>,
    pub slow_mode: u64,
    pub address_bans: Vec<AddressBan>,
    pub identity_required: bool,
    /// The people the room has seen: (uid, name key).
    pub people: Vec<(String, String)>,
    /// Who takes part in which thread: (root, uid).
    pub thread_people: Vec<(u64, String)>,
    /// Per-thread read marks: (uid, root, seq).
    pub thread_reads: Vec<(String, u64, u64)>,
    /// The room's own retention setting as stored.
    pub retention_days: Option<u64>,
    /// The room's blocked words as stored.
    pub blocked: Vec<String>,
    /// Messages moderation replaced: (seq, fingerprint of the text as sent).
    pub screened: Vec<(u64, String)>,
    /// The end of what retention erased.
    pub expired_upto: u64,
    /// Erasures, as stored.
    pub erasures: Vec<Erasure>,
    /// The room's uploads, and the ids of those doomed (to be deleted from the bucket).
    pub uploads: Vec<Stored>,
    pub doomed: Vec<String>,
    /// When set, every call fails with this error (to test storage faults).
    pub fail_with: Option<String>,
}

impl MemoryHistory {
    fn check(&self) -> Result<(), String> {
        match &self.fail_with {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    fn position(&self, seq: u64) -> Option<usize> {
        self.messages.iter().position(|m| m.seq == seq)
    }

    fn counts(&self, seq: u64) -> Reactions {
        let mut counts = Reactions::new();
        for (s, emoji, _, _) in &self.reactions {
            if *s == seq {
                *counts.entry(emoji.clone()).or_default() += 1;
            }
        }
        counts
    }
}

impl History for MemoryHistory {
    fn append(&mut self, msg: &ChatMessage) -> Result<Appended, String> {
        if let Some(known) = self.lookup(msg)? {
            return Ok(known);
        }
        self.messages.push(msg.clone());
        Ok(Appended::Stored)
    }

    fn lookup(&self, msg: &ChatMessage) -> Result<Option<Appended>, String> {
        self.check()?;
        if msg.id.is_none() {
            return Ok(None);
        }
        let Some(m) = self
            .messages
            .iter()
            .find(|m| sender_key(&m.from) == sender_key(&msg.from) && m.id == msg.id)
        else {
            return Ok(None);
        };
        let replaced = || {
            let sent = fingerprint(&msg.text);
            self.screened.iter().any(|(s, f)| *s == m.seq && *f == sent)
        };
        Ok(Some(if m.text == msg.text || replaced() {
            Appended::Duplicate {
                seq: m.seq,
                ts: m.ts,
                rev: m.rev,
            }
        } else {
            Appended::Conflict
        }))
    }

    fn screened(&mut self, seq: u64, fingerprint: &str) -> Result<(), String> {
        self.check()?;
        self.screened.push((seq, fingerprint.to_string()));
        Ok(())
    }

    fn get(&self, seq: u64) -> Result<Option<ChatMessage>, String> {
        self.check()?;
        Ok(self.position(seq).map(|i| self.messages[i].clone()))
    }

    fn range(&self, after: u64, limit: usize, newest: bool) -> Result<Vec<ChatMessage>, String> {
        self.check()?;
        let all: Vec<&ChatMessage> = self.messages.iter().filter(|m| m.seq > after).collect();
        let skip = if newest {
            all.len().saturating_sub(limit)
        } else {
            0
        };
        Ok(all.into_iter().skip(skip).take(limit).cloned().collect())
    }

    fn before(&self, before: u64, limit: usize) -> Result<Vec<ChatMessage>, String> {
        self.check()?;
        let all: Vec<&ChatMessage> = self.messages.iter().filter(|m| m.seq < before).collect();
        let skip = all.len().saturating_sub(limit);
        Ok(all.into_iter().skip(skip).cloned().collect())
    }

    fn changes(&self, upto: u64, since: u64, limit: usize) -> Result<Vec<ChatMessage>, String> {
        self.check()?;
        let mut changed: Vec<ChatMessage> = self
            .messages
            .iter()
            .filter(|m| m.seq <= upto && m.rev > since && self.changed.contains(&m.seq))
            .cloned()
            .collect();
        changed.sort_by_key(|m| m.rev);
        changed.truncate(limit);
        Ok(changed)
    }

    fn edit(
        &mut self,
        edited: &ChatMessage,
        previous: &Version,
        drop_upto: u32,
    ) -> Result<(), String> {
        self.check()?;
        let i = self.position(edited.seq).ok_or("no such message")?;
        self.versions.push((edited.seq, previous.clone()));
        self.versions
            .retain(|(s, v)| *s != edited.seq || v.version > drop_upto);
        self.messages[i] = edited.clone();
        self.changed.insert(edited.seq);
        Ok(())
    }

    fn authored(
        &self,
        uid: &str,
        floor: u64,
        below: u64,
        since_ms: u64,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, String> {
        self.check()?;
        Ok(self
            .messages
            .iter()
            .rev()
            .filter(|m| m.seq > floor && m.seq < below && !m.deleted && m.ts >= since_ms)
            .filter(|m| m.from.uid.as_deref() == Some(uid))
            .take(limit)
            .cloned()
            .collect())
    }

    fn delete(&mut self, tombstone: &ChatMessage) -> Result<(), String> {
        self.check()?;
        let i = self.position(tombstone.seq).ok_or("no such message")?;
        self.versions.retain(|(s, _)| *s != tombstone.seq);
        self.reactions.retain(|(s, _, _, _)| *s != tombstone.seq);
        self.messages[i] = tombstone.clone();
        self.changed.insert(tombstone.seq);
        Ok(())
    }

    fn react(
        &mut self,
        seq: u64,
        emoji: &str,
        uid: &str,
        name: &str,
        on: bool,
        rev: u64,
    ) -> Result<Option<Reactions>, String> {
        self.check()?;
        let i = self.position(seq).ok_or("no such message")?;
        let mine = |r: &(u64, String, String, String)| r.0 == seq && r.1 == emoji && r.2 == uid;
        let had = self.reactions.iter().any(mine);
        if had == on {
            return Ok(None);
        }
        if on {
            self.reactions
                .push((seq, emoji.to_string(), uid.to_string(), name.to_string()));
        } else {
            self.reactions.retain(|r| !mine(r));
        }
        let counts = self.counts(seq);
        self.messages[i].reactions = counts.clone();
        self.messages[i].rev = rev;
        self.changed.insert(seq);
        Ok(Some(counts))
    }

    fn reactors(
        &self,
        seq: u64,
        emoji: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<Reactor>, String> {
        self.check()?;
        let mut found: Vec<Reactor> = self
            .reactions
            .iter()
            .filter(|(s, e, uid, _)| *s == seq && e == emoji && uid.as_str() > after)
            .map(|(_, _, uid, name)| Reactor {
                uid: uid.clone(),
                name: Some(name.clone()),
            })
            .collect();
        found.sort_by(|a, b| a.uid.cmp(&b.uid));
        found.truncate(limit);
        Ok(found)
    }

    fn versions(&self, seq: u64, before: u32, limit: usize) -> Result<Vec<Version>, String> {
        self.check()?;
        let mut found: Vec<Version> = self
            .versions
            .iter()
            .filter(|(s, v)| *s == seq && v.version < before)
            .map(|(_, v)| v.clone())
            .collect();
        found.sort_by_key(|v| std::cmp::Reverse(v.version));
        found.truncate(limit);
        Ok(found)
    }

    fn read_mark(&self, uid: &str) -> Result<u64, String> {
        self.check()?;
        Ok(self
            .reads
            .iter()
            .find(|(u, _)| u == uid)
            .map_or(0, |(_, s)| *s))
    }

    fn set_read_mark(&mut self, uid: &str, seq: u64) -> Result<(), String> {
        self.check()?;
        self.reads.retain(|(u, _)| u != uid);
        self.reads.push((uid.to_string(), seq));
        Ok(())
    }

    fn recent_reads(&self, limit: usize) -> Result<Vec<(String, u64)>, String> {
        self.check()?;
        let mut reads = self.reads.clone();
        reads.sort_by_key(|r| std::cmp::Reverse(r.1));
        reads.truncate(limit);
        Ok(reads)
    }

    fn unread(&self, uid: &str, after: u64) -> Result<u64, String> {
        self.check()?;
        Ok(self
            .messages
            .iter()
            .filter(|m| m.seq > after && !m.deleted && m.from.uid.as_deref() != Some(uid))
            .filter(|m| m.in_main())
            .count() as u64)
    }
    /// A stand-in for FTS5, enough for the room's tests: a message matches when its text contains every
    /// term (ignoring case, no stems); newer messages rank first; the snippet is the whole text with
    /// the first hit of each term marked. The window is the store's: the newest [`SEARCH_WINDOW`].
    fn search(
        &self,
        query: &SearchQuery,
        after: u64,
        before: u64,
        offset: usize,
        limit: usize,
    ) -> Result<Found, String> {
        self.check()?;
        let terms: Vec<String> = query
            .terms()
            .iter()
            .map(|t| t.text.to_lowercase())
            .collect();
        let window: Vec<&ChatMessage> = self
            .messages
            .iter()
            .rev()
            .filter(|m| m.seq > after && m.seq < before && !m.deleted)
            .filter(|m| {
                let text = m.text.to_lowercase();
                terms.iter().all(|t| text.contains(t.as_str()))
            })
            .take(SEARCH_WINDOW)
            .collect();
        let older = (window.len() == SEARCH_WINDOW)
            .then(|| window.last().map(|m| m.seq))
            .flatten();
        let hits = window
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|m| {
                let mut snippet = m.text.clone();
                for term in &terms {
                    if let Some(at) = snippet.to_lowercase().find(term.as_str()) {
                        if snippet.is_char_boundary(at) && snippet.is_char_boundary(at + term.len())
                        {
                            snippet.insert(at + term.len(), MARK_CLOSE);
                            snippet.insert(at, MARK_OPEN);
                        }
                    }
                }
                (m.clone(), snippet)
            })
            .collect();
        Ok(Found { hits, older })
    }

    /// The revision needs no keeping here: nothing reads it back from memory.
    fn trim(&mut self, upto: u64, _rev: u64) {
        self.doom(|u| u.seq.is_some_and(|s| s <= upto));
        self.messages.retain(|m| m.seq > upto);
        self.versions.retain(|(s, _)| *s > upto);
        self.reactions.retain(|(s, _, _, _)| *s > upto);
        self.screened.retain(|(s, _)| *s > upto);
        self.thread_people.retain(|(root, _)| *root > upto);
        self.thread_reads.retain(|(_, root, _)| *root > upto);
    }

    fn oldest(&self, after: u64, limit: usize) -> Result<Vec<(u64, u64)>, String> {
        self.check()?;
        Ok(self
            .messages
            .iter()
            .filter(|m| m.seq > after)
            .take(limit)
            .map(|m| (m.seq, m.ts))
            .collect())
    }

    fn expire(&mut self, after: u64, upto: u64) -> Result<(), String> {
        self.check()?;
        let gone = |seq: u64| seq > after && seq <= upto;
        for m in self.messages.iter_mut().filter(|m| gone(m.seq)) {
            m.text.clear();
            m.deleted = true;
            m.reactions.clear();
            m.mentions.clear();
            m.mentions_room = false;
            m.files.clear();
            m.preview = None;
        }
        self.versions.retain(|(s, _)| !gone(*s));
        self.reactions.retain(|(s, _, _, _)| !gone(*s));
        self.screened.retain(|(s, _)| !gone(*s));
        self.expired_upto = self.expired_upto.max(upto);
        Ok(())
    }

    fn reacted(&self, seq: u64) -> Result<Vec<(String, String)>, String> {
        self.check()?;
        let mut who: Vec<(String, String)> = self
            .reactions
            .iter()
            .filter(|(s, _, _, _)| *s == seq)
            .map(|(_, emoji, uid, _)| (emoji.clone(), uid.clone()))
            .collect();
        who.sort();
        Ok(who)
    }

    fn reacted_by(&self, uid: &str, after: u64, upto: u64) -> Result<Vec<(u64, String)>, String> {
        self.check()?;
        Ok(self
            .reactions
            .iter()
            .filter(|(s, _, u, _)| *s > after && *s <= upto && u == uid)
            .map(|(s, e, _, _)| (*s, e.clone()))
            .collect())
    }

    fn forget_reader(&mut self, uid: &str) -> Result<(), String> {
        self.check()?;
        self.reads.retain(|(u, _)| u != uid);
        self.thread_reads.retain(|(u, _, _)| u != uid);
        self.people.retain(|(u, _)| u != uid);
        self.thread_people.retain(|(_, u)| u != uid);
        Ok(())
    }

    fn erasure(&self, uid: &str) -> Result<Option<Erasure>, String> {
        self.check()?;
        Ok(self.erasures.iter().find(|e| e.uid == uid).cloned())
    }

    fn save_erasure(&mut self, job: &Erasure) -> Result<(), String> {
        self.check()?;
        self.erasures.retain(|e| e.uid != job.uid);
        self.erasures.push(job.clone());
        Ok(())
    }

    fn moderate(&mut self, action: &Action, record: &str, now_ms: u64) -> Result<u64, String> {
        self.check()?;
        match action {
            Action::Ban { uid, .. } => {
                self.bans.insert(uid.clone());
            }
            Action::Unban { uid } => {
                self.bans.remove(uid);
                self.address_bans.retain(|b| &b.uid != uid);
            }
            Action::Kick { .. } => {}
            Action::Mute { uid, seconds } => {
                self.mutes.retain(|(u, _)| u != uid);
                self.mutes.push((uid.clone(), now_ms + seconds * 1000));
            }
            Action::Unmute { uid } => self.mutes.retain(|(u, _)| u != uid),
            Action::SlowMode { seconds } => self.slow_mode = *seconds,
            Action::Anonymous { allowed } => self.identity_required = !allowed,
            Action::Retention { days } => self.retention_days = *days,
            Action::Block { words } => {
                for w in words {
                    if !self.blocked.contains(w) {
                        self.blocked.push(w.clone());
                    }
                }
            }
            Action::Unblock { words } => self.blocked.retain(|w| !words.contains(w)),
            Action::Purge { .. } => {}
        }
        self.log_moderation(record, now_ms)
    }

    fn ban_address(&mut self, ban: &AddressBan, now_ms: u64) -> Result<(), String> {
        self.check()?;
        self.address_bans
            .retain(|b| b.tag != ban.tag && b.until > now_ms);
        self.address_bans.push(ban.clone());
        Ok(())
    }

    fn log_moderation(&mut self, record: &str, _now_ms: u64) -> Result<u64, String> {
        self.check()?;
        let id = self.moderation.len() as u64 + 1;
        self.moderation.push((id, record.to_string()));
        Ok(id)
    }

    fn moderation_log(&self, before: u64, limit: usize) -> Result<Vec<(u64, String)>, String> {
        self.check()?;
        Ok(self
            .moderation
            .iter()
            .rev()
            .filter(|(id, _)| *id < before)
            .take(limit)
            .cloned()
            .collect())
    }

    fn moderation_since(&self, after: u64, limit: usize) -> Result<Vec<(u64, String)>, String> {
        self.check()?;
        Ok(self
            .moderation
            .iter()
            .filter(|(id, _)| *id > after)
            .take(limit)
            .cloned()
            .collect())
    }
}

impl MemoryHistory {
    /// Dooms the uploads `which` picks.
    fn doom(&mut self, which: impl Fn(&Stored) -> bool) -> u64 {
        let (gone, kept): (Vec<Stored>, Vec<Stored>) = std::mem::take(&mut self.uploads)
            .into_iter()
            .partition(which);
        self.uploads = kept;
        self.doomed.extend(gone.iter().map(|u| u.file.id.clone()));
        gone.len() as u64
    }

    fn upload(&mut self, id: &str) -> Option<&mut Stored> {
        self.uploads.iter_mut().find(|u| u.file.id == id)
    }
}

impl FileLog for MemoryHistory {
    fn reserve_file(&mut self, id: &str, owner: &str, at: u64) -> Result<(), String> {
        self.check()?;
        self.uploads.push(Stored {
            file: FileDescriptor {
                id: id.to_string(),
                name: String::new(),
                content_type: String::new(),
                size: 0,
                width: None,
                height: None,
                thumb: false,
            },
            owner: owner.to_string(),
            at,
            seq: None,
            done: false,
        });
        Ok(())
    }

    fn complete_file(&mut self, file: &FileDescriptor) -> Result<bool, String> {
        self.check()?;
        Ok(match self.upload(&file.id) {
            Some(u) if !u.done && u.seq.is_none() => {
                u.file = file.clone();
                u.done = true;
                true
            }
            _ => false,
        })
    }

    fn set_thumb(&mut self, id: &str) -> Result<bool, String> {
        self.check()?;
        Ok(match self.upload(id) {
            Some(u) if u.done && u.seq.is_none() => {
                u.file.thumb = true;
                true
            }
            _ => false,
        })
    }

    fn file(&self, id: &str) -> Result<Option<Stored>, String> {
        self.check()?;
        Ok(self.uploads.iter().find(|u| u.file.id == id).cloned())
    }

    fn unused_by(&self, owner: &str) -> Result<u64, String> {
        self.check()?;
        Ok(self
            .uploads
            .iter()
            .filter(|u| u.owner == owner && u.seq.is_none())
            .count() as u64)
    }

    fn attach_files(&mut self, ids: &[String], seq: u64) -> Result<(), String> {
        self.check()?;
        for id in ids {
            if let Some(u) = self.upload(id) {
                u.seq = Some(seq);
            }
        }
        Ok(())
    }

    fn doom_files(&mut self, ids: &[String]) -> Result<(), String> {
        self.check()?;
        self.doom(|u| ids.contains(&u.file.id));
        Ok(())
    }

    fn doom_files_of(&mut self, seq: u64) -> Result<(), String> {
        self.check()?;
        self.doom(|u| u.seq == Some(seq));
        Ok(())
    }

    fn doom_files_in(&mut self, after: u64, upto: u64) -> Result<u64, String> {
        self.check()?;
        Ok(self.doom(|u| u.seq.is_some_and(|s| s > after && s <= upto)))
    }

    fn doom_unused(&mut self, before: u64) -> Result<u64, String> {
        self.check()?;
        Ok(self.doom(|u| u.seq.is_none() && u.at <= before))
    }

    fn oldest_unused(&self) -> Result<Option<u64>, String> {
        self.check()?;
        Ok(self
            .uploads
            .iter()
            .filter(|u| u.seq.is_none())
            .map(|u| u.at)
            .min())
    }

    fn revise(&mut self, msg: &ChatMessage) -> Result<(), String> {
        self.check()?;
        let i = self.position(msg.seq).ok_or("no such message")?;
        self.messages[i].files = msg.files.clone();
        self.messages[i].preview = msg.preview.clone();
        self.messages[i].rev = msg.rev;
        self.changed.insert(msg.seq);
        Ok(())
    }
}
