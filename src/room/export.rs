//! A room's export, one bounded page per call (see [`crate::export`] for the lines and the cursor):
//! the messages after the cursor's `seq` with their versions and who reacted, then the moderation
//! log after its entry, until the page is full. And a page of one author's own (a person's export,
//! [`Room::export_author`]).

use super::*;
use crate::erasure::WINDOW;
use crate::export::{
    author_tail, end_line, head_line, message_line, moderation_line, next_line, own_message_line,
    reaction_line, Cursor, PAGE_BYTES, PAGE_LOG, PAGE_MESSAGES,
};

/// Windows of [`WINDOW`] `seq`s one page of an author looks at, at most: a primary-key range each
/// (no index on the author), so a page reads at most 5,000 rows of the log whatever the room's size,
/// and a person's export crosses a long room where they wrote little in few pages.
pub const AUTHOR_WINDOWS: u64 = 10;

impl<S: Place> Room<S> {
    /// The NDJSON page that starts at `cursor` (each line ends with `\n`). Messages past the history
    /// limit are not exported: for the room they no longer exist.
    pub fn export(
        &self,
        history: &dyn History,
        cursor: Cursor,
        now_ms: u64,
    ) -> Result<String, Problem> {
        let mut page = String::new();
        let mut line = |text: String| {
            page.push_str(&text);
            page.push('\n');
        };
        line(head_line(
            &self.name,
            cursor,
            self.last_seq,
            self.rev,
            self.retention(),
            self.expired_upto,
            now_ms,
        ));
        let mut at = cursor;
        let mut bytes = 0;
        if at.after < self.last_seq {
            let messages = history
                .range(at.after.max(self.oldest_kept_after()), PAGE_MESSAGES, false)
                .map_err(storage)?;
            let whole = messages.len() < PAGE_MESSAGES;
            for m in &messages {
                let versions = match m.version > 1 && !m.deleted {
                    true => self.versions_oldest_first(m, history)?,
                    false => Vec::new(),
                };
                let reacted = match m.reactions.is_empty() {
                    true => Vec::new(),
                    false => history.reacted(m.seq).map_err(storage)?,
                };
                let text = message_line(m, &versions, &reacted, m.seq <= self.expired_upto);
                bytes += text.len() + 1;
                line(text);
                at.after = m.seq;
                if bytes >= PAGE_BYTES {
                    line(next_line(at));
                    return Ok(page);
                }
            }
            if !whole {
                line(next_line(at));
                return Ok(page);
            }
            // Every message there is: the next page (or this one) goes on with the log.
            at.after = at.after.max(self.last_seq);
        }
        let log = history
            .moderation_since(at.log_after, PAGE_LOG)
            .map_err(storage)?;
        for (log_id, record) in &log {
            line(moderation_line(*log_id, record));
            at.log_after = *log_id;
        }
        if log.len() == PAGE_LOG {
            line(next_line(at));
        } else {
            line(end_line(at));
        }
        Ok(page)
    }
}

impl<S: Place> Room<S> {
    /// The NDJSON page of what author `uid` wrote here after `seq` `after` (a person's export): in
    /// `seq` order, each of their messages not deleted, with its versions and their own reactions to
    /// it, and a `reaction` line for each of their reactions to somebody else's message; then
    /// [`author_tail`]. It reads the log in windows of [`WINDOW`] `seq`s, at most
    /// [`AUTHOR_WINDOWS`] of them, and stops after the window (or the message) that fills the page.
    pub fn export_author(
        &self,
        history: &dyn History,
        uid: &str,
        after: u64,
    ) -> Result<String, Problem> {
        let mut page = String::new();
        let mut at = after.max(self.oldest_kept_after());
        let mut lines = 0;
        for _ in 0..AUTHOR_WINDOWS {
            if at >= self.last_seq || lines >= PAGE_MESSAGES || page.len() >= PAGE_BYTES {
                break;
            }
            let upto = self.last_seq.min(at + WINDOW);
            let mut written = history
                .authored(uid, at, upto + 1, 0, WINDOW as usize)
                .map_err(storage)?;
            written.reverse();
            let reactions = history.reacted_by(uid, at, upto).map_err(storage)?;
            let mut mine = written.into_iter().peekable();
            let mut theirs = reactions.iter().peekable();
            // The two lists merged by `seq`; a reaction to one's own message goes into its line.
            loop {
                let next_mine = mine.peek().map(|m| m.seq);
                let next_theirs = theirs.peek().map(|(seq, _)| *seq);
                let seq = match (next_mine, next_theirs) {
                    (Some(m), Some(r)) => m.min(r),
                    (Some(m), None) => m,
                    (None, Some(r)) => r,
                    (None, None) => break,
                };
                let mut emojis: Vec<&str> = Vec::new();
                while let Some((_, emoji)) = theirs.next_if(|(s, _)| *s == seq) {
                    emojis.push(emoji);
                }
                match mine.next_if(|m| m.seq == seq) {
                    Some(m) => {
                        let versions = match m.version > 1 {
                            true => self.versions_oldest_first(&m, history)?,
                            false => Vec::new(),
                        };
                        page.push_str(&own_message_line(&self.name, m, &versions, &emojis));
                        page.push('\n');
                    }
                    None => {
                        for emoji in emojis {
                            page.push_str(&reaction_line(&self.name, seq, emoji));
                            page.push('\n');
                        }
                    }
                }
                lines += 1;
                at = seq;
                if page.len() >= PAGE_BYTES {
                    break;
                }
            }
            if page.len() < PAGE_BYTES {
                at = upto;
            }
        }
        page.push_str(&author_tail(at, at < self.last_seq));
        page.push('\n');
        Ok(page)
    }

    /// `m`'s earlier versions as an export line lists them, oldest first (at most the room's
    /// `versions_limit`).
    fn versions_oldest_first(
        &self,
        m: &ChatMessage,
        history: &dyn History,
    ) -> Result<Vec<Version>, Problem> {
        let mut v = history
            .versions(m.seq, m.version, self.limits.versions_limit as usize)
            .map_err(storage)?;
        v.reverse();
        Ok(v)
    }
}
