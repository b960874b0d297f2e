//! What the HTTP API asks of the room (a bot's post, a moderator's action or deletion): carried
//! out after what was queued before it, so `seq` stays in arrival order.

use super::*;

/// The HTTP answer to a bot's post: 201 `{"seq","ts","duplicate":false}` when stored, 200 with
/// `"duplicate":true` for a retry of a stored one (and `"text"` when the stored text is not the one
/// posted: the moderation hook replaced it), or the refusal's status and body.
pub fn post_answer(result: &Result<Accepted, Problem>, text: Option<&str>) -> (u16, String) {
    match result {
        Ok(done) => {
            let mut body =
                serde_json::json!({"seq": done.seq, "ts": done.ts, "duplicate": !done.fresh});
            if let Some(text) = text {
                body["text"] = text.into();
            }
            (if done.fresh { 201 } else { 200 }, body.to_string())
        }
        Err(p) => (p.code.http_status(), p.to_http_body()),
    }
}

impl<S: Place> Room<S> {
    /// A message posted over HTTP (a bot; in a thread, or mentioning people, as a socket's may, and
    /// `@room` too: the API is the app's backend): validated, stored and broadcast to every socket
    /// exactly like a socket message. The caller answers the HTTP request with the returned
    /// `seq`/`ts`, so it is stored at once, after flushing what was queued before it (which keeps
    /// `seq` in arrival order).
    pub fn post(
        &mut self,
        draft: Draft,
        history: &mut dyn History,
        now_ms: u64,
    ) -> (Result<Accepted, Problem>, Vec<Effect>) {
        let mut effects = Vec::new();
        let flushed = self.drain(history, now_ms, &mut effects);
        let text = &draft.text;
        if let Err(p) = validate::check_text(text).and_then(|_| self.rules.check_words(text)) {
            self.count_turn(flushed);
            return (Err(p), effects);
        }
        // this message shares the turn (and the commit) of what was just flushed
        self.count_turn(flushed + 1);
        let result = self.write(draft, None, history, now_ms, &mut effects);
        (result, effects)
    }

    /// A moderator's action through the HTTP API (`by` names the moderator): carried out after what
    /// was queued before it, like [`Room::post`]. Returns the record.
    pub fn moderate_api(
        &mut self,
        by: User,
        action: Action,
        history: &mut dyn History,
        now_ms: u64,
    ) -> (Result<Record, Problem>, Vec<Effect>) {
        let mut effects = Vec::new();
        let flushed = self.drain(history, now_ms, &mut effects);
        self.count_turn(flushed);
        let record = action.record(&by, now_ms);
        let result = self
            .moderate(&by, action, history, now_ms, &mut effects)
            .map(|_| record);
        (result, effects)
    }

    /// A moderator's deletion of message `seq` through the HTTP API, with the moderator's reason.
    pub fn delete_api(
        &mut self,
        by: User,
        seq: u64,
        reason: Option<String>,
        history: &mut dyn History,
        now_ms: u64,
    ) -> (Result<Accepted, Problem>, Vec<Effect>) {
        let mut effects = Vec::new();
        let flushed = self.drain(history, now_ms, &mut effects);
        self.count_turn(flushed);
        let result = self
            .delete(&by, true, seq, reason, history, now_ms, &mut effects)
            .and_then(|done| done.ok_or_else(|| not_found(seq)));
        (result, effects)
    }
}
