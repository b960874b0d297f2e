//! The webhook outbox's table in the room's SQLite storage (see `crate::webhook` for what goes in it
//! and `worker/webhooks.rs` for its delivery): a part of [`Store`] kept apart from the message log.

use super::{int, Store};

/// The webhook outbox (see `crate::webhook`): events waiting for the app's receiver, written in the
/// same turn as the change they report so both commit together. The table exists only in rooms of a
/// deployment with a `WEBHOOK_URL` ([`Store::open_outbox`]); a room without webhooks never pays for it.
/// `id` is `AUTOINCREMENT` so that it only grows: delivery goes oldest first.
pub(super) const OUTBOX: &str = "
CREATE TABLE IF NOT EXISTS outbox (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  body       TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  attempts   INTEGER NOT NULL DEFAULT 0
);";

/// An event waiting in the outbox.
pub struct Pending {
    pub id: u64,
    pub body: String,
    /// Earlier failed attempts to deliver it.
    pub attempts: u64,
}

impl Store {
    /// Creates the outbox table if this room has none yet, and says how many events wait in it.
    pub fn open_outbox(&self) -> Result<u64, String> {
        if self.blank.get() {
            // Created with the schema, by the room's first write (its first event is one).
            self.outbox_wanted.set(true);
            return Ok(0);
        }
        self.run(OUTBOX, vec![])?;
        self.number("SELECT COUNT(*) FROM outbox", vec![])
    }

    pub fn outbox_add(&self, body: &str, now_ms: u64) -> Result<(), String> {
        self.run(
            "INSERT INTO outbox (body, created_at) VALUES (?, ?)",
            vec![body.into(), int(now_ms)],
        )
        .map(drop)
    }

    /// The oldest `limit` events with an id above `after`.
    pub fn outbox_next(&self, after: u64, limit: usize) -> Result<Vec<Pending>, String> {
        Ok(self
            .query(
                "SELECT id, body, attempts FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
                vec![int(after), int(limit as u64)],
            )?
            .into_iter()
            .map(|mut row| Pending {
                id: row.int(),
                body: row.text(),
                attempts: row.int(),
            })
            .collect())
    }

    /// Forgets delivered events.
    pub fn outbox_done(&self, ids: &[u64]) -> Result<(), String> {
        for chunk in ids.chunks(64) {
            let marks = vec!["?"; chunk.len()].join(",");
            self.run(
                &format!("DELETE FROM outbox WHERE id IN ({marks})"),
                chunk.iter().map(|&id| int(id)).collect(),
            )?;
        }
        Ok(())
    }

    /// Counts one more failed attempt of event `id`.
    pub fn outbox_failed(&self, id: u64) -> Result<(), String> {
        self.run(
            "UPDATE outbox SET attempts = attempts + 1 WHERE id = ?",
            vec![int(id)],
        )
        .map(drop)
    }

    /// Drops the events created before `expired_before` and then the `over` oldest of the rest; adds
    /// how many went to the room's `webhooks_dropped` count and returns it.
    pub fn outbox_drop(&self, expired_before: u64, over: u64) -> Result<u64, String> {
        // Counted by a query rather than from `rows_written`, which also counts index writes.
        let expired = self.number(
            "SELECT COUNT(*) FROM outbox WHERE created_at < ?",
            vec![int(expired_before)],
        )?;
        if expired > 0 {
            self.run(
                "DELETE FROM outbox WHERE created_at < ?",
                vec![int(expired_before)],
            )?;
        }
        let over = over.saturating_sub(expired);
        if over > 0 {
            self.run(
                "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT ?)",
                vec![int(over)],
            )?;
        }
        let dropped = expired + over;
        if dropped > 0 {
            self.run(
                "INSERT INTO meta (key, value) VALUES ('webhooks_dropped', ?) ON CONFLICT (key) DO UPDATE SET value = value + excluded.value",
                vec![int(dropped)],
            )?;
        }
        Ok(dropped)
    }

    /// Events the room ever dropped undelivered.
    pub fn webhooks_dropped(&self) -> Result<u64, String> {
        self.number(
            "SELECT COALESCE(MAX(value), 0) FROM meta WHERE key = 'webhooks_dropped'",
            vec![],
        )
    }
}
