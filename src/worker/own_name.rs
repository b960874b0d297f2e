//! An object's own name (`lobby`, `@<uid>`), kept in its own SQLite. The runtime tells an object its
//! name (`state.id().name()`) when a request reached it through `idFromName`, but not when its
//! *alarm* woke it after a restart: a room would then tell its members' inboxes of an empty room name
//! (refused as `bad_room`) until a request named it, and an inbox would not even know it is one (the
//! class picks an object's kind from its name). So each object writes its name beside its data at its
//! first write (an object nobody wrote to stays blank, and has no alarm to wake it), or on its first
//! wake after this was deployed, and the class reads it back when the runtime does not say
//! ([`super::object`]).

use worker::SqlStorage;

use super::store::{rows, Store};

/// The name the object kept, if it kept one (a blank database has no table: `None`, nothing written).
pub fn recall(sql: &SqlStorage) -> Option<String> {
    rows(sql, "SELECT name FROM own_name", vec![])
        .ok()?
        .into_iter()
        .next()
        .and_then(|mut row| row.opt_text())
}

/// Keeps `name` as the object's own: read first, so a wake that finds it kept writes nothing.
pub fn keep(sql: &SqlStorage, name: &str) -> Result<(), String> {
    if name.is_empty() || recall(sql).as_deref() == Some(name) {
        return Ok(());
    }
    let run = |query: &str, bindings| sql.exec(query, bindings).map(drop);
    run(
        "CREATE TABLE IF NOT EXISTS own_name (one INTEGER PRIMARY KEY CHECK (one = 1), name TEXT NOT NULL)",
        vec![],
    )
    .and_then(|()| {
        run(
            "INSERT OR REPLACE INTO own_name (one, name) VALUES (1, ?)",
            vec![name.into()],
        )
    })
    .map_err(|e| e.to_string())
}

impl Store {
    /// Keeps `name` as the room's own, for a wake the runtime does not name it in (its alarm's): with
    /// the schema when the database is blank (a visit alone stores nothing), else once per
    /// incarnation (a read; a write only the first time).
    pub fn keep_name(&self, name: &str) {
        if self.name_kept.get() || name.is_empty() {
            return;
        }
        if self.blank.get() {
            *self.name_waiting.borrow_mut() = Some(name.to_string());
            return;
        }
        match keep(&self.sql, name) {
            Ok(()) => self.name_kept.set(true),
            Err(e) => worker::console_error!("could not keep the room's name: {e}"),
        }
    }
}
