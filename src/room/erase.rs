//! Erasing one author's words from the room (see [`crate::erasure`]): the job asked for through the
//! API, its steps (one window of the log each, the first at once, the rest on the room's alarm), and
//! what each step tells the room — every message it made a tombstone, every message whose reactions it
//! changed, as `message_updated` under a new `rev`, so a resume with `since=` sees them too.

use super::*;
use crate::erasure::{Erasure, WINDOW};

/// What a person's socket in a room hears before it is closed by their own erasure.
const ERASED: &str = "everything you wrote here is being erased, as you asked (DELETE /api/me)";

impl<S: Place> Room<S> {
    /// The erasures a former incarnation left unfinished (the Durable Object reads them at a wake).
    pub fn restore_erasures(&mut self, open: Vec<Erasure>) {
        self.erasing = open.into_iter().filter(|e| !e.done()).collect();
    }

    /// Whether an erasure waits for its next step (the alarm's business).
    pub fn erasing(&self) -> bool {
        !self.erasing.is_empty()
    }

    /// Erase everything author `uid` wrote here (`DELETE /api/rooms/{room}/authors/{uid}`): starts the
    /// job (or goes on with it, or walks what was written since it was done), runs a step at once after
    /// what was queued before, and reports where it stands. A job done with nothing new is only
    /// reported.
    pub fn erase_author(
        &mut self,
        uid: &str,
        history: &mut dyn History,
        now_ms: u64,
    ) -> (Result<Erasure, Problem>, Vec<Effect>) {
        let mut effects = Vec::new();
        let flushed = self.drain(history, now_ms, &mut effects);
        self.count_turn(flushed);
        let job = match history.erasure(uid).map_err(storage) {
            Ok(Some(job)) => job.again(self.last_seq, now_ms),
            Ok(None) => Erasure::new(uid, self.last_seq, now_ms),
            Err(p) => return (Err(p), effects),
        };
        if job.done() {
            return (Ok(job), effects);
        }
        let result = self.erase_step(job, history, now_ms, &mut effects);
        if let Ok(job) = &result {
            self.erasing.retain(|e| e.uid != job.uid);
            if !job.done() {
                self.erasing.push(job.clone());
            }
        }
        (result, effects)
    }

    /// A person's own erasure here (`DELETE /api/me`, asked by their inbox): their sockets in the room
    /// are closed first (`forbidden`, 4403, after an `error` frame that says why: a client does not
    /// come back by itself), so nothing new of theirs comes in while the job walks the log; then
    /// [`Room::erase_author`]. Asked again while it runs, it closes any socket they opened since.
    pub fn erase_person(
        &mut self,
        uid: &str,
        history: &mut dyn History,
        now_ms: u64,
    ) -> (Result<Erasure, Problem>, Vec<Effect>) {
        let mut effects = self.close_person(uid, ErrorCode::Forbidden, ERASED, now_ms);
        let (result, erased) = self.erase_author(uid, history, now_ms);
        effects.extend(erased);
        (result, effects)
    }

    /// One step of the oldest erasure still running (the room's alarm calls this while
    /// [`Room::erasing`]).
    pub fn erase_some(
        &mut self,
        history: &mut dyn History,
        now_ms: u64,
    ) -> Result<Vec<Effect>, Problem> {
        if self.erasing.is_empty() {
            return Ok(Vec::new());
        }
        let job = self.erasing.remove(0);
        let mut effects = Vec::new();
        let job = self.erase_step(job, history, now_ms, &mut effects)?;
        if !job.done() {
            self.erasing.push(job);
        }
        Ok(effects)
    }

    /// Erases in the job's next window: the author's messages become tombstones, their reactions go
    /// (the counts of those messages change), and on the last window their read mark; the progress is
    /// stored with it (one commit).
    fn erase_step(
        &mut self,
        mut job: Erasure,
        history: &mut dyn History,
        now_ms: u64,
        effects: &mut Vec<Effect>,
    ) -> Result<Erasure, Problem> {
        let (after, upto) = job.next_window();
        // A window holds at most WINDOW messages: all of the author's come in one read.
        let written = history
            .authored(&job.uid, after, upto + 1, 0, WINDOW as usize)
            .map_err(storage)?;
        for msg in &written {
            // As their own deletion would leave it: every deletion's one path.
            self.erase(msg.clone(), history, now_ms, effects)?;
        }
        let reactions = history.reacted_by(&job.uid, after, upto).map_err(storage)?;
        let mut touched: Vec<u64> = Vec::new();
        for (seq, emoji) in &reactions {
            let rev = self.rev + 1;
            if history
                .react(*seq, emoji, &job.uid, "", false, rev)
                .map_err(storage)?
                .is_some()
            {
                self.rev = rev;
                if !touched.contains(seq) {
                    touched.push(*seq);
                }
            }
        }
        for seq in touched {
            if let Some(msg) = history.get(seq).map_err(storage)? {
                effects.push(updated(&msg));
            }
        }
        job.advance(upto, written.len() as u64, reactions.len() as u64);
        if job.done() {
            history.forget_reader(&job.uid).map_err(storage)?;
        }
        history.save_erasure(&job).map_err(storage)?;
        Ok(job)
    }
}
