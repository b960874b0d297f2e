//! The store's side of erasing one author from a room (`crate::erasure`): their reactions in one
//! window of `seq`s — a primary-key range, so a step reads at most a window's rows and no index on the
//! author is needed (their messages: `History::authored`, the same walk) — and the jobs' progress,
//! kept as JSON beside the log.

use super::{int, Store};
use crate::erasure::Erasure;

impl Store {
    /// The reactions of `uid` to messages with `after < seq <= upto`: `(seq, emoji)`.
    pub(super) fn reactions_of(
        &self,
        uid: &str,
        after: u64,
        upto: u64,
    ) -> Result<Vec<(u64, String)>, String> {
        Ok(self
            .query(
                "SELECT seq, emoji FROM reactions WHERE seq > ? AND seq <= ? AND uid = ? ORDER BY seq, emoji",
                vec![int(after), int(upto), uid.into()],
            )?
            .into_iter()
            .map(|mut row| (row.int(), row.text()))
            .collect())
    }

    pub(super) fn stored_erasure(&self, uid: &str) -> Result<Option<Erasure>, String> {
        Ok(self
            .query("SELECT job FROM erasures WHERE uid = ?", vec![uid.into()])?
            .into_iter()
            .next()
            .and_then(|mut row| serde_json::from_str(&row.text()).ok()))
    }

    pub(super) fn store_erasure(&self, job: &Erasure) -> Result<(), String> {
        let json = serde_json::to_string(job).map_err(|e| e.to_string())?;
        self.run(
            "INSERT OR REPLACE INTO erasures (uid, job) VALUES (?, ?)",
            vec![job.uid.as_str().into(), json.as_str().into()],
        )
        .map(drop)
    }

    /// Every erasure stored (the room keeps going with those not done), read once per wake.
    pub fn erasures(&self) -> Result<Vec<Erasure>, String> {
        Ok(self
            .query("SELECT job FROM erasures", vec![])?
            .into_iter()
            .filter_map(|mut row| serde_json::from_str(&row.text()).ok())
            .collect())
    }
}
