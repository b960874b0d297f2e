//! What a room reads of its stored settings at each wake: the moderation rules in force (bans,
//! address bans, mutes, slow mode, the identity rule, the room's retention setting and blocked
//! words) and how far
//! retention has erased the log. Written by the `History` steps in `super::store`.

use super::{int, Store};
use crate::identity::AddressTag;
use crate::moderation::{AddressBan, Rules, Stored};

impl Store {
    /// The moderation rules in force (bans, address bans and mutes not yet over at `now_ms`, slow
    /// mode, whether an identity is required to speak, the room's retention setting), read once per
    /// wake.
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
        let retention_days = self
            .query(
                "SELECT value FROM meta WHERE key = 'retention_days'",
                vec![],
            )?
            .into_iter()
            .next()
            .map(|mut row| row.int());
        let blocked = self
            .query("SELECT word FROM blocklist ORDER BY at, word", vec![])?
            .into_iter()
            .map(|mut row| row.text())
            .collect();
        Ok(Rules::restore(Stored {
            bans,
            address_bans,
            mutes,
            slow_secs: setting("slow_mode")?,
            identity_required: setting("identity_required")? == 1,
            retention_days,
            blocked,
        }))
    }

    /// The end of what retention erased (0: nothing), read once per wake.
    pub fn expired_upto(&self) -> Result<u64, String> {
        self.number(
            "SELECT COALESCE(MAX(value), 0) FROM meta WHERE key = 'expired_upto'",
            vec![],
        )
    }
}
