//! A person's inbox in its object's SQLite storage: one row per room's [`Entry`] (the room's last
//! update as JSON, beside the inbox's own columns: activity, muted), their direct-message partners' online state as last told, the rooms that say the person
//! has a socket there, and a few values in `meta` (their name, what their partners were told).
//! Every room the inbox ever had an entry for stays `known` (also once left, or banned from): a
//! person's export and erasure cover those too. An erasure under way keeps its rooms in `erasing`
//! ([`crate::inbox::erasure`]).
//!
//! Like a room's store, a blank database stays blank until its first write: reading the inbox of
//! somebody who never joined a room (`GET /api/me` with a new key) stores nothing. The first write
//! keeps the object's own name too ([`super::own_name`]).

use std::cell::Cell;

use worker::{SqlStorage, SqlStorageValue};

use super::internal;
use super::store::{int, opt_int, rows, Cells};
use crate::error::Problem;
use crate::inbox::entry::{Entry, Update};
use crate::inbox::erasure::Report;
use crate::inbox::online::{Seen, Told};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS entries (room TEXT PRIMARY KEY, at INTEGER NOT NULL, muted INTEGER NOT NULL,
  body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS entries_by_activity ON entries (at);
CREATE TABLE IF NOT EXISTS partners (uid TEXT PRIMARY KEY, online INTEGER NOT NULL, last_seen INTEGER);
CREATE TABLE IF NOT EXISTS present (room TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS known (room TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS erasing (room TEXT PRIMARY KEY, done INTEGER NOT NULL DEFAULT 0,
  messages INTEGER NOT NULL DEFAULT 0, reactions INTEGER NOT NULL DEFAULT 0);
";

pub struct InboxStore {
    sql: SqlStorage,
    blank: Cell<bool>,
    /// The object's name (`@<uid>`), kept at the first write.
    name: String,
}

type Answer<T> = Result<T, String>;

impl InboxStore {
    pub fn open(sql: SqlStorage, name: String) -> InboxStore {
        let store = InboxStore {
            sql,
            blank: Cell::new(false),
            name,
        };
        // Reading the catalogue writes nothing; a database nobody wrote to has no `entries` table.
        let tables: Vec<String> = store
            .query(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('entries', 'known')",
                vec![],
            )
            .unwrap_or_default()
            .into_iter()
            .map(|mut row| row.text())
            .collect();
        store.blank.set(tables.is_empty());
        if !tables.is_empty() {
            let upgrade = || -> Answer<()> {
                if tables.len() == 1 {
                    // An inbox from before `known`: its new tables are made, and its rooms known.
                    let exec = |q: &str| store.sql.exec(q, vec![]).map_err(|e| e.to_string());
                    exec(SCHEMA)?;
                    exec("INSERT OR IGNORE INTO known SELECT room FROM entries")?;
                }
                super::own_name::keep(&store.sql, &store.name)
            };
            if let Err(e) = upgrade() {
                worker::console_error!("could not bring the inbox up to date: {e}");
            }
        }
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
            let made = self.sql.exec(SCHEMA, vec![]).map_err(|e| e.to_string());
            if let Err(e) = made.and_then(|_| super::own_name::keep(&self.sql, &self.name)) {
                self.blank.set(true);
                return Err(e);
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

    /// Whether nothing was ever written here (or everything was erased since).
    pub fn is_blank(&self) -> bool {
        self.blank.get()
    }

    /// Whether the inbox holds any entry.
    pub fn has_entries(&self) -> Answer<bool> {
        Ok(!self
            .query("SELECT 1 FROM entries LIMIT 1", vec![])?
            .is_empty())
    }

    /// Remembers `room` for good (see the module's doc): its first entry was made.
    pub fn know(&self, room: &str) -> Answer<()> {
        self.run(
            "INSERT OR IGNORE INTO known (room) VALUES (?)",
            vec![room.into()],
        )
    }

    /// Up to `limit` rooms the inbox knows from `from` on (by name).
    pub fn known_from(&self, from: &str, limit: usize) -> Answer<Vec<String>> {
        Ok(self
            .query(
                "SELECT room FROM known WHERE room >= ? ORDER BY room LIMIT ?",
                vec![from.into(), int(limit as u64)],
            )?
            .into_iter()
            .map(|mut row| row.text())
            .collect())
    }

    /// Starts an erasure at `now` of every room the inbox knows; how many.
    pub fn start_erasure(&self, now: u64) -> Answer<u64> {
        self.run(
            "INSERT OR IGNORE INTO erasing (room) SELECT room FROM known",
            vec![],
        )?;
        self.set_meta("erasing", &now.to_string())?;
        Ok(self.erasure()?.map_or(0, |r| r.rooms))
    }

    /// Where the erasure under way stands (`None`: none is).
    pub fn erasure(&self) -> Answer<Option<Report>> {
        let Some(at) = self.meta("erasing")?.and_then(|t| t.parse().ok()) else {
            return Ok(None);
        };
        let mut row = self.query(
            "SELECT COUNT(*), COALESCE(SUM(done), 0), COALESCE(SUM(messages), 0), COALESCE(SUM(reactions), 0) FROM erasing",
            vec![],
        )?;
        Ok(row.pop().map(|mut row| Report {
            rooms: row.int(),
            rooms_done: row.int(),
            messages: row.int(),
            reactions: row.int(),
            at,
            done: false,
        }))
    }

    /// Up to `limit` rooms the erasure has not done yet.
    pub fn to_erase(&self, limit: usize) -> Answer<Vec<String>> {
        Ok(self
            .query(
                "SELECT room FROM erasing WHERE done = 0 ORDER BY room LIMIT ?",
                vec![int(limit as u64)],
            )?
            .into_iter()
            .map(|mut row| row.text())
            .collect())
    }

    /// What a room answered: its totals, and whether it is done.
    pub fn erased_in(&self, room: &str, messages: u64, reactions: u64, done: bool) -> Answer<()> {
        self.run(
            "UPDATE erasing SET messages = ?, reactions = ?, done = ? WHERE room = ?",
            vec![int(messages), int(reactions), int(done.into()), room.into()],
        )
    }

    /// The report of the last erasure done, kept once everything else went.
    pub fn erased(&self) -> Answer<Option<Report>> {
        Ok(self.meta("erased")?.as_deref().and_then(Report::unpack))
    }

    /// The runtime deleted all of the object's storage (`deleteAll`): blank again.
    pub fn wiped(&self) {
        self.blank.set(true);
    }

    /// Keeps the report of an erasure done, alone in an emptied inbox (with the schema and the
    /// object's name).
    pub fn keep_erased(&self, report: &Report) -> Answer<()> {
        self.set_meta("erased", &report.pack())
    }
}

/// A storage failure, as a caller hears of it.
pub fn storage(e: String) -> Problem {
    internal(format!("inbox storage failed: {e}"))
}

/// An entry from the cells of `at, muted, body` (`None`: a body that no longer reads).
fn entry_of(mut row: Cells) -> Option<Entry> {
    let at = row.int();
    let muted = row.int() != 0;
    let update = Update::parse(&row.text())?;
    Some(Entry { update, muted, at })
}
