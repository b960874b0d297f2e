//! A room's export, one bounded page per call (see [`crate::export`] for the lines and the cursor):
//! the messages after the cursor's `seq` with their versions and who reacted, then the moderation
//! log after its entry, until the page is full.

use super::*;
use crate::export::{
    end_line, head_line, message_line, moderation_line, next_line, Cursor, PAGE_BYTES, PAGE_LOG,
    PAGE_MESSAGES,
};

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
                    true => {
                        let mut v = history
                            .versions(m.seq, m.version, self.limits.versions_limit as usize)
                            .map_err(storage)?;
                        v.reverse();
                        v
                    }
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
