//! Retention in the room (see [`crate::retention`]): the policy in force, when the next sweep is due
//! (kept in memory so that setting the alarm costs no read), and the sweep itself — one bounded batch
//! of the oldest messages past the policy erased, the prefix they end told to every connection.

use super::*;
use crate::retention::{erase_upto, Policy, Retained, SWEEP_BATCH};

/// How long a failed sweep waits before it tries again (ms).
const RETRY_MS: u64 = 60_000;

impl<S: Place> Room<S> {
    /// What retention has erased as stored (the Durable Object reads it at construction), and when the
    /// next sweep is due, from the oldest message kept.
    pub fn restore_retention(&mut self, expired_upto: u64, history: &dyn History) {
        self.expired_upto = expired_upto;
        self.plan_sweep(history);
    }

    /// The policy in force: the room's own setting within the deployment's bounds.
    pub fn retention(&self) -> Policy {
        self.limits.retention.in_force(self.rules.retention_days())
    }

    /// Every message up to this `seq` was erased by retention.
    pub fn expired_upto(&self) -> u64 {
        self.expired_upto
    }

    /// What `welcome` says of retention: nothing when no policy is in force and nothing was erased.
    pub(super) fn retained(&self) -> Option<Retained> {
        let days = self.retention().days;
        (days.is_some() || self.expired_upto > 0).then_some(Retained {
            days,
            upto: self.expired_upto,
        })
    }

    /// When the next sweep is due (ms since the epoch), if one is: the Durable Object's alarm.
    pub fn retention_sweep_at(&self) -> Option<u64> {
        self.next_sweep
    }

    /// Whether a retention sweep is due at `now_ms`.
    pub fn retention_due(&self, now_ms: u64) -> bool {
        self.next_sweep.is_some_and(|at| at <= now_ms)
    }

    /// Finds when the next sweep is due: when the oldest message not erased yet passes the policy
    /// (one indexed read). After a wake and after the policy changed.
    pub(super) fn plan_sweep(&mut self, history: &dyn History) {
        self.next_sweep = match self.retention().days {
            None => None,
            Some(days) => match history.oldest(self.expired_upto, 1) {
                Ok(rows) => rows
                    .first()
                    .map(|&(_, ts)| self.limits.retention.due_at(days, ts)),
                // Unknown: a sweep at once finds out (and, failing too, tries again later).
                Err(_) => Some(0),
            },
        };
    }

    /// A message stored at `ts`: with a policy in force and no sweep due yet, it is the oldest kept,
    /// and the next sweep is due when it passes the policy.
    pub(super) fn note_stored(&mut self, ts: u64) {
        if self.next_sweep.is_none() {
            if let Some(days) = self.retention().days {
                self.next_sweep = Some(self.limits.retention.due_at(days, ts));
            }
        }
    }

    /// One sweep: erases up to [`SWEEP_BATCH`] of the oldest messages past the policy, as a prefix of
    /// the log, tells every connection where the erased prefix now ends (an `expired` frame), and
    /// finds when the next sweep is due — at once when this one stopped at its batch.
    pub fn sweep_expired(
        &mut self,
        history: &mut dyn History,
        now_ms: u64,
    ) -> Result<Vec<Effect>, Problem> {
        let Some(days) = self.retention().days else {
            self.next_sweep = None;
            return Ok(Vec::new());
        };
        let cutoff = self.limits.retention.cutoff(days, now_ms);
        let oldest = history
            .oldest(self.expired_upto, SWEEP_BATCH + 1)
            .inspect_err(|_| self.next_sweep = Some(now_ms + RETRY_MS))
            .map_err(storage)?;
        let batch = &oldest[..oldest.len().min(SWEEP_BATCH)];
        let mut effects = Vec::new();
        if let Some(upto) = erase_upto(batch, cutoff) {
            let after = self.expired_upto;
            history
                .expire(after, upto)
                .inspect_err(|_| self.next_sweep = Some(now_ms + RETRY_MS))
                .map_err(storage)?;
            self.expired_upto = upto;
            // Counts and previews lose what retention erased: the members' inboxes hear of it.
            self.inbox.note(Note::Room { concerned: vec![] });
            effects.push(Effect::Broadcast {
                except: None,
                frame: ServerFrame::Expired { upto }.to_json(),
            });
            // The erased messages' files leave the bucket with them.
            let doomed = history.doom_files_in(after, upto).map_err(storage)?;
            if doomed > 0 {
                effects.push(Effect::DeleteFiles);
            }
        }
        self.next_sweep = oldest
            .iter()
            .find(|&&(seq, _)| seq > self.expired_upto)
            .map(|&(_, ts)| match ts < cutoff {
                true => now_ms,
                false => self.limits.retention.due_at(days, ts),
            });
        Ok(effects)
    }
}
