//! A person's Web Push state in their inbox object's SQLite: the browsers subscribed
//! (`push_subs`, the `PushSubscription` JSON as given), each room's setting and whether it was pushed
//! since the person last came back or read it (`push_rooms`), and the durable outbox of pushes not
//! yet accepted by a push service (`push_outbox`), which the inbox's alarm works through. Beside the
//! inbox's own tables ([`super::inbox_store`]), created on the first write here.

use std::cell::Cell;

use worker::{SqlStorage, SqlStorageValue};

use super::store::{int, rows, Cells};
use crate::push::policy::Notify;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS push_subs (endpoint TEXT PRIMARY KEY, body TEXT NOT NULL, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS push_rooms (room TEXT PRIMARY KEY, notify TEXT, pushed INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS push_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, endpoint TEXT NOT NULL,
  room TEXT NOT NULL, urgency TEXT NOT NULL, payload TEXT NOT NULL, attempts INTEGER NOT NULL,
  due INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS push_outbox_due ON push_outbox (due);
";

/// Most browsers one person may subscribe: a phone, a laptop, a few more; the oldest goes past it.
pub const MAX_SUBSCRIPTIONS: usize = 10;

/// A push waiting in the outbox.
pub struct Pending {
    pub id: u64,
    pub endpoint: String,
    pub room: String,
    pub urgency: String,
    pub payload: String,
    pub attempts: u32,
}

pub struct PushStore {
    sql: SqlStorage,
    ready: Cell<bool>,
}

type Answer<T> = Result<T, String>;

impl PushStore {
    pub fn open(sql: SqlStorage) -> PushStore {
        PushStore {
            sql,
            ready: Cell::new(false),
        }
    }

    /// The runtime deleted all of the object's storage (a person's erasure): the tables are made
    /// again by the next write.
    pub fn wiped(&self) {
        self.ready.set(false);
    }

    /// Creates the tables once per object instance (cheap when they exist), so an inbox that never
    /// subscribes stores nothing of push.
    fn ready(&self) -> Answer<()> {
        if !self.ready.get() {
            self.sql.exec(SCHEMA, vec![]).map_err(|e| e.to_string())?;
            self.ready.set(true);
        }
        Ok(())
    }

    fn exists(&self) -> Answer<bool> {
        if self.ready.get() {
            return Ok(true);
        }
        let rows = self.query(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'push_subs'",
            vec![],
        )?;
        let exists = rows.into_iter().next().is_some_and(|mut r| r.int() > 0);
        self.ready.set(exists);
        Ok(exists)
    }

    fn query(&self, query: &str, bindings: Vec<SqlStorageValue>) -> Answer<Vec<Cells>> {
        rows(&self.sql, query, bindings)
    }

    fn run(&self, query: &str, bindings: Vec<SqlStorageValue>) -> Answer<()> {
        self.ready()?;
        self.sql
            .exec(query, bindings)
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// Keeps a subscription (again: its keys may have changed), dropping the oldest past the cap.
    pub fn subscribe(&self, endpoint: &str, body: &str, now: u64) -> Answer<()> {
        self.run(
            "INSERT OR REPLACE INTO push_subs (endpoint, body, at) VALUES (?, ?, ?)",
            vec![endpoint.into(), body.into(), int(now)],
        )?;
        self.run(
            "DELETE FROM push_subs WHERE endpoint NOT IN
               (SELECT endpoint FROM push_subs ORDER BY at DESC LIMIT ?)",
            vec![int(MAX_SUBSCRIPTIONS as u64)],
        )
    }

    /// Forgets a subscription and its pending pushes; whether there was one.
    pub fn unsubscribe(&self, endpoint: &str) -> Answer<bool> {
        if !self.exists()? {
            return Ok(false);
        }
        let had = !self
            .query(
                "SELECT 1 FROM push_subs WHERE endpoint = ?",
                vec![endpoint.into()],
            )?
            .is_empty();
        self.run(
            "DELETE FROM push_subs WHERE endpoint = ?",
            vec![endpoint.into()],
        )?;
        self.run(
            "DELETE FROM push_outbox WHERE endpoint = ?",
            vec![endpoint.into()],
        )?;
        Ok(had)
    }

    /// How many browsers are subscribed.
    pub fn devices(&self) -> Answer<u64> {
        if !self.exists()? {
            return Ok(0);
        }
        Ok(self
            .query("SELECT COUNT(*) FROM push_subs", vec![])?
            .into_iter()
            .next()
            .map_or(0, |mut r| r.int()))
    }

    /// The stored `PushSubscription` JSON of `endpoint`.
    pub fn subscription(&self, endpoint: &str) -> Answer<Option<String>> {
        if !self.exists()? {
            return Ok(None);
        }
        Ok(self
            .query(
                "SELECT body FROM push_subs WHERE endpoint = ?",
                vec![endpoint.into()],
            )?
            .into_iter()
            .next()
            .map(|mut r| r.text()))
    }

    /// A room's setting (`None`: the default) and whether it was pushed since the person came back.
    pub fn room(&self, room: &str) -> Answer<(Option<Notify>, bool)> {
        if !self.exists()? {
            return Ok((None, false));
        }
        let row = self
            .query(
                "SELECT notify, pushed FROM push_rooms WHERE room = ?",
                vec![room.into()],
            )?
            .into_iter()
            .next();
        Ok(row.map_or((None, false), |mut r| {
            let notify = r.opt_text().and_then(|n| Notify::parse(&n));
            (notify, r.int() != 0)
        }))
    }

    /// Every room's own setting (rooms at their default are not listed).
    pub fn settings(&self) -> Answer<Vec<(String, Notify)>> {
        if !self.exists()? {
            return Ok(Vec::new());
        }
        Ok(self
            .query(
                "SELECT room, notify FROM push_rooms WHERE notify IS NOT NULL ORDER BY room LIMIT 500",
                vec![],
            )?
            .into_iter()
            .filter_map(|mut r| {
                let room = r.text();
                Notify::parse(&r.text()).map(|n| (room, n))
            })
            .collect())
    }

    pub fn set_notify(&self, room: &str, notify: Notify) -> Answer<()> {
        let text = notify.as_str();
        self.run(
            "INSERT INTO push_rooms (room, notify) VALUES (?, ?)
               ON CONFLICT (room) DO UPDATE SET notify = excluded.notify",
            vec![room.into(), text.into()],
        )
    }

    /// The person read `room`: its next message may push again.
    pub fn read(&self, room: &str) -> Answer<()> {
        if !self.exists()? {
            return Ok(());
        }
        self.run(
            "UPDATE push_rooms SET pushed = 0 WHERE room = ?",
            vec![room.into()],
        )?;
        self.run("DELETE FROM push_outbox WHERE room = ?", vec![room.into()])
    }

    /// The person came back (opened a socket): every room may push again, and pushes not yet sent
    /// are not needed.
    pub fn back(&self) -> Answer<()> {
        if !self.exists()? {
            return Ok(());
        }
        self.run("UPDATE push_rooms SET pushed = 0 WHERE pushed = 1", vec![])?;
        self.run("DELETE FROM push_outbox", vec![])
    }

    /// Queues a push of `room` to every subscribed browser, replacing those still waiting for the
    /// room (the newer says more, as the push service's `Topic` would make it), and notes the room
    /// as pushed: no more until the person comes back or reads it.
    pub fn queue(&self, room: &str, urgency: &str, payload: &str, now: u64) -> Answer<()> {
        self.run("DELETE FROM push_outbox WHERE room = ?", vec![room.into()])?;
        self.run(
            "INSERT INTO push_outbox (endpoint, room, urgency, payload, attempts, due)
               SELECT endpoint, ?, ?, ?, 0, ? FROM push_subs",
            vec![room.into(), urgency.into(), payload.into(), int(now)],
        )?;
        self.run(
            "INSERT INTO push_rooms (room, pushed) VALUES (?, 1)
               ON CONFLICT (room) DO UPDATE SET pushed = 1",
            vec![room.into()],
        )
    }

    /// Up to `limit` pushes due at `now`, oldest first.
    pub fn due(&self, now: u64, limit: usize) -> Answer<Vec<Pending>> {
        if !self.exists()? {
            return Ok(Vec::new());
        }
        Ok(self
            .query(
                "SELECT id, endpoint, room, urgency, payload, attempts FROM push_outbox
                   WHERE due <= ? ORDER BY due, id LIMIT ?",
                vec![int(now), int(limit as u64)],
            )?
            .into_iter()
            .map(|mut r| Pending {
                id: r.int(),
                endpoint: r.text(),
                room: r.text(),
                urgency: r.text(),
                payload: r.text(),
                attempts: r.int() as u32,
            })
            .collect())
    }

    /// When the next push is due, if any is waiting.
    pub fn next_due(&self) -> Answer<Option<u64>> {
        if !self.exists()? {
            return Ok(None);
        }
        Ok(self
            .query("SELECT MIN(due) FROM push_outbox", vec![])?
            .into_iter()
            .next()
            .and_then(|mut r| r.opt_int()))
    }

    pub fn done(&self, id: u64) -> Answer<()> {
        self.run("DELETE FROM push_outbox WHERE id = ?", vec![int(id)])
    }

    pub fn retry(&self, id: u64, attempts: u32, due: u64) -> Answer<()> {
        self.run(
            "UPDATE push_outbox SET attempts = ?, due = ? WHERE id = ?",
            vec![int(attempts.into()), int(due), int(id)],
        )
    }
}
