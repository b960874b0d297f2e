//! The moderation rules a room's object reads from its SQLite once per wake: bans, address bans and
//! mutes still in force, slow mode and the identity rule (what `History::moderate` stored).

use super::store::{int, Store};
use crate::identity::AddressTag;
use crate::moderation::{AddressBan, Rules, Stored};

impl Store {
    /// The moderation rules in force (bans, address bans and mutes not yet over at `now_ms`, slow
    /// mode, whether an identity is required to speak), read once per wake.
    pub fn rules(&self, now_ms: u64) -> Result<Rules, String> {
        let bans = self
            .query("SELECT uid FROM bans", vec![])?
            .into_iter()
            .map(|mut row| row.text())
            .collect();
        let address_bans = self
            .query(
                "SELECT tag, uid, until FROM address_bans WHERE until > ?",
                vec![int(now_ms)],
            )?
            .into_iter()
            .filter_map(|mut row| {
                Some(AddressBan {
                    tag: AddressTag::parse(&row.text())?,
                    uid: row.text(),
                    until: row.int(),
                })
            })
            .collect();
        let mutes = self
            .query(
                "SELECT uid, until FROM mutes WHERE until > ?",
                vec![int(now_ms)],
            )?
            .into_iter()
            .map(|mut row| (row.text(), row.int()))
            .collect();
        let setting = |key: &str| {
            self.number(
                "SELECT COALESCE(MAX(value), 0) FROM meta WHERE key = ?",
                vec![key.into()],
            )
        };
        Ok(Rules::restore(Stored {
            bans,
            address_bans,
            mutes,
            slow_secs: setting("slow_mode")?,
            identity_required: setting("identity_required")? == 1,
        }))
    }
}
