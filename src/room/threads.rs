//! Threads and mentions in the room: what a new message goes through before it is stored (its
//! thread's root checked, its mentions resolved, `@room` for moderators only) and after (the root's
//! summary, as a change of its own under a new `rev` that every connection hears as
//! `thread_updated`; who now takes part; the counts of the people it concerns), a deleted reply's
//! recount, per-thread read marks, and reading a thread or the list of threads.

use super::*;
use crate::concern::{self, Concerned};
use crate::domain::{FileDescriptor, Thread, ThreadSummary};
use crate::mention;
use crate::thread::{self, MAX_TOLD};

/// A page of a thread: its root, replies oldest first, and whether more follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadPage {
    pub root: ChatMessage,
    pub replies: Vec<ChatMessage>,
    pub has_more: bool,
}

/// What a new message is, before the room stores it: who sends it, its text and client id, what it
/// replies to, the thread it goes into (and whether it shows in the room too), the files it carries
/// (claimed: the sender's uploads), and whether the sender may call on everyone (`@room`: a
/// moderator, or the app's backend through the API).
#[derive(Debug, Clone)]
pub struct Draft {
    pub from: User,
    pub text: String,
    pub id: Option<String>,
    pub reply_to: Option<u64>,
    pub thread: Option<u64>,
    pub also_in_room: bool,
    pub files: Vec<FileDescriptor>,
    pub moderator: bool,
}

impl Draft {
    /// A message in the main conversation, replying to nothing, from someone who is no moderator.
    pub fn new(from: User, text: String, id: Option<String>) -> Draft {
        Draft {
            from,
            text,
            id,
            reply_to: None,
            thread: None,
            also_in_room: false,
            files: Vec::new(),
            moderator: false,
        }
    }
}

impl<S: Place> Room<S> {
    /// Checks a draft against what is stored, resolves its mentions, and stores it
    /// ([`Room::submit_screened`]: `replaced` is the fingerprint of the text as sent, when the
    /// moderation hook replaced it); a fresh reply then updates its thread.
    pub(super) fn write(
        &mut self,
        draft: Draft,
        replaced: Option<&str>,
        history: &mut dyn History,
        now_ms: u64,
        effects: &mut Vec<Effect>,
    ) -> Result<Accepted, Problem> {
        if let Some(target) = draft.reply_to {
            self.live_message(history, target)?;
        }
        let root = match draft.thread {
            Some(seq) => Some(thread::check_root(seq, self.kept(history, seq)?)?),
            None => None,
        };
        let (mentions, mentions_room) = self.mentions_in(&draft.text, draft.moderator, history)?;
        let msg = ChatMessage {
            reply_to: draft.reply_to,
            thread: draft.thread.map(Thread::In),
            also_in_room: draft.also_in_room && draft.thread.is_some(),
            mentions,
            mentions_room,
            files: draft.files,
            ..ChatMessage::new(0, draft.id, draft.from, draft.text, now_ms)
        };
        self.submit_screened(msg, root, replaced, history, effects)
    }

    /// Who `text` mentions (`@name`, `<@uid>`), and whether it says `@room` — `forbidden` unless
    /// the writer is a `moderator`. A text without `@` costs no lookup.
    pub(super) fn mentions_in(
        &self,
        text: &str,
        moderator: bool,
        history: &dyn History,
    ) -> Result<(Vec<String>, bool), Problem> {
        let scan = mention::scan(text);
        if scan.is_empty() {
            return Ok((Vec::new(), false));
        }
        if scan.room && !moderator {
            return Err(Problem::new(
                ErrorCode::Forbidden,
                "only a moderator may mention @room (everyone)",
            ));
        }
        let (keys, uids) = (scan.keys(), scan.uids());
        if keys.is_empty() && uids.is_empty() {
            return Ok((Vec::new(), scan.room));
        }
        let known = history.people(&keys, &uids).map_err(storage)?;
        Ok((scan.resolve(&known), scan.room))
    }

    /// After `msg` was stored (fresh): its thread's summary, who now takes part, and the counts of
    /// the people it concerns. Nothing at all for a plain message, the common case.
    pub(super) fn stored(
        &mut self,
        msg: &ChatMessage,
        root: Option<ChatMessage>,
        history: &mut dyn History,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Problem> {
        let participants = match &root {
            Some(root) => {
                let first = root.summary().is_none_or(|s| s.replies == 0);
                let summary = root.summary().cloned().unwrap_or_default().with_reply(msg);
                self.set_summary(root.seq, &summary, history, effects)?;
                // The root's author (and whom it mentions) take part from its first reply on.
                let mut people = if first {
                    thread::takes_part(root)
                } else {
                    Vec::new()
                };
                people.extend(thread::takes_part(msg));
                history.take_part(root.seq, &people).map_err(storage)?;
                history.participants(root.seq, MAX_TOLD).map_err(storage)?
            }
            None if msg.mentions.is_empty() => return Ok(()),
            None => Vec::new(),
        };
        let who = concern::concerned(msg, &participants);
        self.tell_inboxes(&who);
        self.tell_counts(&who, history, effects);
        Ok(())
    }

    /// A stored message changed (`before` → `after`: edited, or deleted): a deleted reply's thread is
    /// counted afresh, and the people whose counts that changed are told.
    pub(super) fn changed(
        &mut self,
        before: &ChatMessage,
        after: &ChatMessage,
        history: &mut dyn History,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Problem> {
        let mut participants = Vec::new();
        if let (Some(root), true) = (after.root(), after.deleted) {
            if let Some(root) = self.kept(history, root)? {
                let summary = history.summarize(&root).map_err(storage)?;
                self.set_summary(root.seq, &summary, history, effects)?;
                participants = history.participants(root.seq, MAX_TOLD).map_err(storage)?;
            }
        }
        let who = concern::changed(before, after, &participants);
        self.tell_inboxes(&who);
        self.tell_counts(&who, history, effects);
        Ok(())
    }

    /// Stores a thread's new summary on its root as the room's next revision, and tells every
    /// connection (`thread_updated`).
    fn set_summary(
        &mut self,
        root: u64,
        summary: &ThreadSummary,
        history: &mut dyn History,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Problem> {
        let rev = self.rev + 1;
        history.set_summary(root, summary, rev).map_err(storage)?;
        self.rev = rev;
        effects.push(Effect::Broadcast {
            except: None,
            frame: ServerFrame::ThreadUpdated {
                root,
                thread: summary,
                rev,
            }
            .to_json(),
        });
        Ok(())
    }

    /// Tells each person `who` names (on their connections online) their counts, in one walk of
    /// the roster. `@room` is not told person by person: every connection hears the message itself
    /// (with `mentions_room`), which is the count's one change, and a room may be large.
    pub(super) fn tell_counts(
        &self,
        who: &Concerned,
        history: &dyn History,
        effects: &mut Vec<Effect>,
    ) {
        if who.people.is_empty() {
            return;
        }
        // A sorted list, searched per member: the people are few (a message's mentions, a thread's
        // first participants), the roster may be large.
        let mut wanted: Vec<&str> = who.people.iter().map(String::as_str).collect();
        wanted.sort_unstable();
        let mut online: Vec<(&str, Vec<&str>)> = Vec::new();
        for (conn, m) in &self.members {
            let Some(uid) = m
                .user
                .identity()
                .filter(|u| wanted.binary_search(u).is_ok())
            else {
                continue;
            };
            match online.iter_mut().find(|(u, _)| *u == uid) {
                Some((_, conns)) => conns.push(conn),
                None => online.push((uid, vec![conn])),
            }
        }
        for (uid, conns) in online {
            // A count that cannot be read now is told at the person's next read mark or connect.
            let Ok(counts) = self.counts(uid, history) else {
                continue;
            };
            let frame = counts.frame();
            for conn in conns {
                effects.push(Effect::Send {
                    to: conn.to_string(),
                    frame: frame.clone(),
                });
            }
        }
    }

    /// Stores a read mark of the thread of `root` (never backwards, at most the room's last `seq`)
    /// and tells the reader's connections their counts. Nobody else hears of it.
    pub(super) fn mark_thread_read(
        &mut self,
        from: &User,
        root: u64,
        seq: u64,
        history: &mut dyn History,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Problem> {
        let uid = living::identified(from)?;
        thread::readable_root(root, self.kept(history, root)?)?;
        let seq = seq.min(self.last_seq);
        if seq <= history.thread_read_mark(uid, root).map_err(storage)? {
            return Ok(());
        }
        history
            .set_thread_read_mark(uid, root, seq)
            .map_err(storage)?;
        let who = Concerned {
            everyone: false,
            people: vec![uid.to_string()],
        };
        self.tell_counts(&who, history, effects);
        Ok(())
    }

    /// A page of the thread of `root` (`GET …/threads/{root}` and the `thread` frame): the root,
    /// and up to `limit` replies after `after`, oldest first. `not_found` without such a message,
    /// `bad_thread` for a reply (it has no thread of its own).
    pub fn thread_page(
        &self,
        history: &dyn History,
        root: u64,
        after: u64,
        limit: usize,
    ) -> Result<ThreadPage, Problem> {
        let root = thread::readable_root(root, self.kept(history, root)?)?;
        let after = after.max(self.oldest_kept_after());
        let mut replies = history
            .replies(root.seq, after, limit + 1)
            .map_err(storage)?;
        let has_more = replies.len() > limit;
        replies.truncate(limit);
        Ok(ThreadPage {
            root,
            replies,
            has_more,
        })
    }

    /// The threads, most recently active first (`GET …/threads`): the roots whose newest reply is
    /// below `before`, at most `limit`, and the `before` of the next page (`None`: the last).
    pub fn threads(
        &self,
        history: &dyn History,
        before: Option<u64>,
        limit: usize,
    ) -> Result<(Vec<ChatMessage>, Option<u64>), Problem> {
        let before = before.unwrap_or(u64::MAX);
        let mut roots = history.threads(before, limit + 1).map_err(storage)?;
        let more = roots.len() > limit;
        roots.truncate(limit);
        let next = match more {
            true => roots.last().and_then(|r| r.summary()).map(|s| s.last_seq),
            false => None,
        };
        let oldest_kept_after = self.oldest_kept_after();
        roots.retain(|r| r.seq > oldest_kept_after);
        Ok((roots, next))
    }
}
