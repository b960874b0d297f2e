//! Reads of the history: a resume's pages, scrolling back, versions of a message and full-text
//! search, all hiding what the history limit has dropped but the batched trim has not deleted yet.

use super::*;

impl<S: Place> Room<S> {
    /// Messages with a `seq` up to this one are past `HISTORY_LIMIT`: hidden from every read, even
    /// before the batched trim deletes them.
    pub(super) fn oldest_kept_after(&self) -> u64 {
        self.last_seq.saturating_sub(self.limits.history_limit)
    }

    /// A page of older messages: the newest `limit` before `before` (default: all), oldest first, and
    /// whether there are older ones still.
    pub(super) fn scroll_back(
        &self,
        history: &dyn History,
        before: Option<u64>,
        limit: usize,
    ) -> Result<(Vec<ChatMessage>, bool), Problem> {
        let before = before.unwrap_or(u64::MAX).min(self.last_seq + 1);
        let oldest_kept_after = self.oldest_kept_after();
        let mut page: Vec<ChatMessage> = history
            .before(before, limit + 1)
            .map_err(storage)?
            .into_iter()
            .filter(|m| m.seq > oldest_kept_after)
            .collect();
        let has_more = page.len() > limit;
        if has_more {
            page.remove(0);
        }
        Ok((page, has_more))
    }

    /// A search of the kept history (`GET …/search` and the `search` frame alike): the best matches
    /// among the newest [`crate::search::SEARCH_WINDOW`] matching messages before `request.before`, at
    /// most `request.limit`, each with its HTML snippet; whether more matched, and where to search on
    /// when older messages may match too. Messages past the history limit are hidden here as in every
    /// read, also while the batched trim has not deleted them yet; deleted ones have no text left.
    pub fn search(
        &self,
        history: &dyn History,
        request: &SearchRequest,
    ) -> Result<SearchPage, Problem> {
        let before = request.before.unwrap_or(u64::MAX).min(self.last_seq + 1);
        let Found { mut hits, older } = history
            .search(
                &request.query,
                self.oldest_kept_after(),
                before,
                request.offset,
                request.limit + 1,
            )
            .map_err(storage)?;
        // The window holds more ranked matches past this page: the next one is at the next offset.
        let next_offset = (hits.len() > request.limit).then_some(request.offset + request.limit);
        let has_more = next_offset.is_some() || older.is_some();
        hits.truncate(request.limit);
        let results = hits
            .into_iter()
            .map(|(message, raw)| SearchHit {
                message,
                snippet: snippet_html(&raw),
            })
            .collect();
        Ok(SearchPage {
            results,
            has_more,
            next_before: older,
            next_offset,
        })
    }

    /// Who reacted to a message with an emoji (the `reactors` frame and `GET …/reactions` alike): a
    /// page in uid order, and the `after` of the next page when there is one. `not_found` for a
    /// message that is not there (a deleted one has no reactions left); the same read rights as the
    /// history, checked before the room is asked.
    pub fn reactors(
        &self,
        history: &dyn History,
        request: &ReactorsRequest,
    ) -> Result<(Vec<Reactor>, Option<String>), Problem> {
        self.live_message(history, request.seq)?;
        let after = request.after.as_deref().unwrap_or("");
        let mut users = history
            .reactors(request.seq, &request.emoji, after, request.limit + 1)
            .map_err(storage)?;
        let next = if users.len() > request.limit {
            users.truncate(request.limit);
            users.last().map(|u| u.uid.clone())
        } else {
            None
        };
        Ok((users, next))
    }

    /// A page of the texts message `seq` has had: the newest `limit` numbered below `before` (default:
    /// all, the current text included), oldest first, the current one last; whether it is deleted
    /// (no versions are left then); and the `before` of the next, older page if there is one.
    /// `not_found` when there is no such message. Version numbers are never reused: once an edit past
    /// `VERSIONS_LIMIT` has dropped the oldest, the first one kept says how many came before.
    pub fn versions(
        &self,
        history: &dyn History,
        seq: u64,
        before: Option<u32>,
        limit: usize,
    ) -> Result<(bool, Vec<Version>, Option<u32>), Problem> {
        let msg = match self.kept(history, seq)? {
            Some(m) => m,
            None => {
                return Err(Problem::new(
                    ErrorCode::NotFound,
                    format!("message {seq} does not exist"),
                ))
            }
        };
        if msg.deleted {
            return Ok((true, Vec::new(), None));
        }
        let limit = limit.max(1);
        let with_current = before.is_none_or(|b| msg.version < b);
        let earlier = limit - usize::from(with_current);
        let below = before.unwrap_or(u32::MAX).min(msg.version);
        // One more than the page holds, to learn whether an older page follows; newest first.
        let mut versions = history.versions(seq, below, earlier + 1).map_err(storage)?;
        let has_more = versions.len() > earlier;
        versions.truncate(earlier);
        versions.reverse();
        if with_current {
            versions.push(Version {
                version: msg.version,
                at: msg.edited_at.unwrap_or(msg.ts),
                text: msg.text,
            });
        }
        let next = if has_more {
            versions.first().map(|v| v.version)
        } else {
            None
        };
        Ok((false, versions, next))
    }

    /// Stored messages after `after` (at most `limit`, oldest first), hiding any past the history
    /// limit that are not yet trimmed.
    pub fn messages(
        &self,
        history: &dyn History,
        after: u64,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, Problem> {
        self.read(history, after, limit, false)
    }

    pub(super) fn read(
        &self,
        history: &dyn History,
        after: u64,
        limit: usize,
        newest: bool,
    ) -> Result<Vec<ChatMessage>, Problem> {
        history
            .range(after.max(self.oldest_kept_after()), limit, newest)
            .map_err(storage)
    }
}
