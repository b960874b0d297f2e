//! A person's inbox in its object's SQLite storage: one row per room's [`Entry`] (the room's last
//! update as JSON, beside the inbox's own columns: activity, muted), their direct-message partners' online state as last told, the rooms that say the person
//! has a socket there, and a few values in `meta` (their name, what their partners were told).
//!
//! Like a room's store, a blank database stays blank until its first write: reading the inbox of
//! somebody who never joined a room (`GET /api/me` with a new key) stores nothing.

use std::cell::Cell;

use worker::{SqlStorage, SqlStorageValue};

use super::store::{int, opt_int, rows, Cells};
use crate::inbox::entry::{Entry, Update};
use crate::inbox::online::{Seen, Told};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS entries (room TEXT PRIMARY KEY, at INTEGER NOT NULL, muted INTEGER NOT NULL,
  body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS entries_by_activity ON entries (at);
CREATE TABLE IF NOT EXISTS partners (uid TEXT PRIMARY KEY, online INTEGER NOT NULL, last_seen INTEGER);
CREATE TABLE IF NOT EXISTS present (room TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
";

pub struct InboxStore {
    sql: SqlStorage,
    blank: Cell<bool>,
}

type Answer<T> = Result<T, String>;

impl InboxStore {
    pub fn open(sql: SqlStorage) -> InboxStore {
        let store = InboxStore {
            sql,
            blank: Cell::new(false),
        };
        // Reading the catalogue writes nothing; a database nobody wrote to has no `entries` table.
        let tables = store
            .query(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'entries'",
                vec![],
            )
            .unwrap_or_default();
        let blank = tables
            .into_iter()
            .next()
            .is_some_and(|mut row| row.int() == 0);
        store.blank.set(blank);
        store
    }

    fn query(&self, query: &str, bindings: Vec<SqlStorageValue>) -> Answer<Vec<Cells>> {
        if self.blank.get() {
            return Ok(Vec::new());
        }
        rows(&self.sql, query, bindings)
    }

    /// Runs a statement that writes: the first write to a blank database creates the schema.
    fn run(&self, query: &str, bindings: Vec<SqlStorageValue>) -> Answer<()> {
        if self.blank.replace(false) {
            if let Err(e) = self.sql.exec(SCHEMA, vec![]) {
                self.blank.set(true);
                return Err(e.to_string());
            }
        }
        self.sql
            .exec(query, bindings)
            .map(drop)
            .map_err(|e| e.to_string())
    }

    pub fn entry(&self, room: &str) -> Answer<Option<Entry>> {
        let rows = self.query(
            "SELECT at, muted, body FROM entries WHERE room = ?",
            vec![room.into()],
        )?;
        Ok(rows.into_iter().next().and_then(entry_of))
    }

    pub fn put(&self, entry: &Entry) -> Answer<()> {
        let body = serde_json::to_string(&entry.update).map_err(|e| e.to_string())?;
        self.run(
            "INSERT OR REPLACE INTO entries (room, at, muted, body) VALUES (?, ?, ?, ?)",
            vec![
                entry.room().into(),
                int(entry.at),
                int(entry.muted.into()),
                body.into(),
            ],
        )
    }

    /// Drops the room's entry; whether there was one.
    pub fn remove(&self, room: &str) -> Answer<bool> {
        if self.entry(room)?.is_none() {
            return Ok(false);
        }
        self.run("DELETE FROM entries WHERE room = ?", vec![room.into()])?;
        Ok(true)
    }

    /// The `limit` entries of the most recent activity, most recent first.
    pub fn entries(&self, limit: usize) -> Answer<Vec<Entry>> {
        let rows = self.query(
            "SELECT at, muted, body FROM entries ORDER BY at DESC, room LIMIT ?",
            vec![int(limit as u64)],
        )?;
        Ok(rows.into_iter().filter_map(entry_of).collect())
    }

    pub fn partner(&self, uid: &str) -> Answer<Option<Seen>> {
        let rows = self.query(
            "SELECT online, last_seen FROM partners WHERE uid = ?",
            vec![uid.into()],
        )?;
        Ok(rows.into_iter().next().map(|mut row| Seen {
            uid: uid.to_string(),
            online: row.int() != 0,
            last_seen: row.opt_int(),
        }))
    }

    /// Keeps a partner's state; whether it changed.
    pub fn set_partner(&self, seen: &Seen) -> Answer<bool> {
        if self.partner(&seen.uid)?.as_ref() == Some(seen) {
            return Ok(false);
        }
        self.run(
            "INSERT OR REPLACE INTO partners (uid, online, last_seen) VALUES (?, ?, ?)",
            vec![
                seen.uid.as_str().into(),
                int(seen.online.into()),
                opt_int(seen.last_seen),
            ],
        )?;
        Ok(true)
    }

    /// The rooms that say the person has a socket there.
    pub fn present(&self) -> Answer<Vec<String>> {
        Ok(self
            .query("SELECT room FROM present ORDER BY room", vec![])?
            .into_iter()
            .map(|mut row| row.text())
            .collect())
    }

    pub fn set_present(&self, room: &str, here: bool) -> Answer<()> {
        match here {
            true => self.run(
                "INSERT OR IGNORE INTO present (room) VALUES (?)",
                vec![room.into()],
            ),
            false if self.present()?.iter().any(|r| r == room) => {
                self.run("DELETE FROM present WHERE room = ?", vec![room.into()])
            }
            false => Ok(()),
        }
    }

    fn meta(&self, key: &str) -> Answer<Option<String>> {
        Ok(self
            .query("SELECT value FROM meta WHERE key = ?", vec![key.into()])?
            .into_iter()
            .next()
            .map(|mut row| row.text()))
    }

    fn set_meta(&self, key: &str, value: &str) -> Answer<()> {
        if self.meta(key)?.as_deref() == Some(value) {
            return Ok(());
        }
        self.run(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            vec![key.into(), value.into()],
        )
    }

    /// The name the person last came with.
    pub fn name(&self) -> Answer<Option<String>> {
        self.meta("name")
    }

    pub fn set_name(&self, name: &str) -> Answer<()> {
        self.set_meta("name", name)
    }

    /// What the person's partners were last told: online, or since when offline (`told`: "on", or
    /// the time last seen in ms, or "off" for never seen).
    pub fn told(&self) -> Answer<Told> {
        Ok(match self.meta("told")?.as_deref() {
            Some("on") => Told {
                online: true,
                last_seen: None,
            },
            Some(seen) => Told {
                online: false,
                last_seen: seen.parse().ok(),
            },
            None => Told::default(),
        })
    }

    pub fn set_told(&self, told: Told) -> Answer<()> {
        let value = match (told.online, told.last_seen) {
            (true, _) => "on".to_string(),
            (false, Some(ms)) => ms.to_string(),
            (false, None) => "off".to_string(),
        };
        self.set_meta("told", &value)
    }

    /// Since when the person has had no socket anywhere (ms), if they have none.
    pub fn offline_since(&self) -> Answer<Option<u64>> {
        Ok(self.meta("offline_since")?.and_then(|t| t.parse().ok()))
    }

    pub fn set_offline_since(&self, since: Option<u64>) -> Answer<()> {
        match since {
            Some(ms) => self.set_meta("offline_since", &ms.to_string()),
            None if self.meta("offline_since")?.is_some() => {
                self.run("DELETE FROM meta WHERE key = 'offline_since'", vec![])
            }
            None => Ok(()),
        }
    }
}

/// An entry from the cells of `at, muted, body` (`None`: a body that no longer reads).
fn entry_of(mut row: Cells) -> Option<Entry> {
    let at = row.int();
    let muted = row.int() != 0;
    let update = Update::parse(&row.text())?;
    Some(Entry { update, muted, at })
}
