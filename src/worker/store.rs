//! The room's message log in the Durable Object's SQLite storage: messages with their versions,
//! reactions and read marks, implementing [`History`] for the pure room.
//!
//! `sql.exec` is synchronous: the write lands in the object's local database at once, and the runtime's
//! *output gate* holds back every outgoing message (socket sends included) until the write is durable.
//! So "store, then send" in `room/` really means nobody hears of a message before it is safe.
//! <https://developers.cloudflare.com/durable-objects/api/sqlite-storage-api/>

use std::cell::Cell;

use worker::{SqlStorage, SqlStorageValue};

use crate::domain::{
    sender_key, ChatMessage, FileDescriptor, Preview, Reactions, Reactor, User, Version,
};
use crate::erasure::Erasure;
use crate::history::{Appended, History};
use crate::moderation::{Action, AddressBan};
use crate::screening::fingerprint;
use crate::search::{Found, SearchQuery, MARK_CLOSE, MARK_OPEN, SEARCH_WINDOW};

mod erasing;
mod outbox;
mod schema;
mod settings;
mod threads;
pub use outbox::Pending;
use outbox::OUTBOX;
use schema::{MIGRATIONS, SCHEMA_V1};
use threads::packed_mentions;

/// How many messages of an older room [`Store::index_some`] indexes per turn: a few milliseconds of
/// work, so the room's sockets are never kept waiting long; a full 10,000-message room is indexed
/// in 20 turns.
pub const INDEX_BATCH: u64 = 500;

pub(super) const COLUMNS: &str = "seq, client_id, from_id, from_name, from_uid, text, ts, reply_to, edited_at, version, deleted, reactions, rev, files, preview, thread, also_in_room, mentions, summary";

pub struct Store {
    pub(super) sql: SqlStorage,
    /// The database has no schema yet: this room was never written. Reads answer from nothing and
    /// the first write creates the schema ([`Store::run`]), so reading a room name nobody has used
    /// (its info, history, search…) stores nothing; a migrated schema alone is ~98 KB.
    pub(super) blank: Cell<bool>,
    /// The webhook outbox was asked for while the database was blank: created with the schema.
    pub(super) outbox_wanted: Cell<bool>,
    /// People who joined while the database was blank (uid, name key): noted with the schema, so a
    /// visit alone still stores nothing (see [`Store::note_person`]).
    pub(super) people_waiting: std::cell::RefCell<Vec<(String, String)>>,
    /// The room's own name, to keep with the schema, and whether it is kept (`super::own_name`).
    pub(super) name_waiting: std::cell::RefCell<Option<String>>,
    pub(super) name_kept: Cell<bool>,
}

/// One result row, read cell by cell in the order of the query's columns. Rows come from the
/// cursor's `raw()` arrays rather than as objects deserialised into a struct per query: that builds no
/// column-name object per row, and it keeps one small reader in the wasm instead of a serde
/// deserialiser per row type.
pub(super) struct Cells(std::vec::IntoIter<SqlStorageValue>);

impl Cells {
    pub(super) fn int(&mut self) -> u64 {
        self.opt_int().unwrap_or(0)
    }

    pub(super) fn opt_int(&mut self) -> Option<u64> {
        match self.0.next() {
            Some(SqlStorageValue::Integer(i)) => Some(i.max(0) as u64),
            Some(SqlStorageValue::Float(f)) => Some(f.max(0.0) as u64),
            _ => None,
        }
    }

    pub(super) fn text(&mut self) -> String {
        self.opt_text().unwrap_or_default()
    }

    pub(super) fn opt_text(&mut self) -> Option<String> {
        match self.0.next() {
            Some(SqlStorageValue::String(s)) => Some(s),
            _ => None,
        }
    }

    /// A message, from the cells of [`COLUMNS`].
    pub(super) fn message(&mut self) -> ChatMessage {
        ChatMessage {
            seq: self.int(),
            id: self.opt_text(),
            from: User {
                id: self.text(),
                name: self.text(),
                uid: self.opt_text(),
            },
            text: self.text(),
            ts: self.int(),
            reply_to: self.opt_int(),
            edited_at: self.opt_int(),
            version: self.int().max(1) as u32,
            deleted: self.int() != 0,
            reactions: self
                .opt_text()
                .and_then(|json| serde_json::from_str(&json).ok())
                .unwrap_or_default(),
            rev: self.int(),
            files: self
                .json()
                .and_then(|v| {
                    v.as_array()
                        .map(|all| all.iter().filter_map(FileDescriptor::from_json).collect())
                })
                .unwrap_or_default(),
            preview: self.json().as_ref().and_then(Preview::from_json),
            thread: None,
            also_in_room: false,
            mentions: Vec::new(),
            mentions_room: false,
        }
        .threaded(self)
    }

    /// A JSON column (files, a preview), `None` when NULL.
    fn json(&mut self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.opt_text()?).ok()
    }
}

/// The rows of `query` on `sql`, each to be read by position (the one reader of every object's
/// storage: the room's log here, a person's inbox in `inbox_store.rs`).
pub(super) fn rows(
    sql: &SqlStorage,
    query: &str,
    bindings: Vec<SqlStorageValue>,
) -> Result<Vec<Cells>, String> {
    let cursor = sql.exec(query, bindings).map_err(|e| e.to_string())?;
    cursor
        .raw()
        .map(|row| row.map(|cells| Cells(cells.into_iter())))
        .collect::<worker::Result<Vec<Cells>>>()
        .map_err(|e| e.to_string())
}

pub(super) fn int(v: u64) -> SqlStorageValue {
    // seqs, revs, timestamps and limits stay far below 2^53, JavaScript's exact-integer range.
    SqlStorageValue::Integer(v.min(i64::MAX as u64) as i64)
}

pub(super) fn opt_int(v: Option<u64>) -> SqlStorageValue {
    v.map_or(SqlStorageValue::Null, int)
}

/// A message's files as stored: a JSON array, NULL for none.
pub(super) fn files_json(files: &[FileDescriptor]) -> SqlStorageValue {
    match files {
        [] => SqlStorageValue::Null,
        files => {
            serde_json::to_string(files).map_or(SqlStorageValue::Null, SqlStorageValue::String)
        }
    }
}

impl Store {
    /// The store of an object that keeps no history (a shard of a room): no schema is created.
    pub fn unopened(sql: SqlStorage) -> Store {
        Store {
            sql,
            blank: Cell::new(false),
            outbox_wanted: Cell::new(false),
            people_waiting: Default::default(),
            name_waiting: Default::default(),
            name_kept: Cell::new(false),
        }
    }

    /// Opens the log. A room that was written before is migrated at once (each step once per room, on
    /// its first wake after a deploy); a blank one stays blank until its first write. A failure is
    /// logged, and surfaces again as an `internal` error on the first write (never as a panic).
    pub fn open(sql: SqlStorage) -> Store {
        let store = Store::unopened(sql);
        // Reading the catalogue writes nothing; a database nobody wrote to has no `messages` table.
        let blank = store.number(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'messages'",
            vec![],
        ) == Ok(0);
        store.blank.set(blank);
        if !blank {
            if let Err(e) = store.migrate() {
                worker::console_error!("could not create or migrate the schema: {e}");
            }
        }
        store
    }

    /// Creates the schema of a blank database, before its first write.
    fn ensure_schema(&self) -> Result<(), String> {
        if !self.blank.replace(false) {
            return Ok(());
        }
        if let Err(e) = self.migrate() {
            self.blank.set(true);
            return Err(e);
        }
        if self.outbox_wanted.get() {
            self.run(OUTBOX, vec![])?;
        }
        for (uid, key) in self.people_waiting.take() {
            self.note_person(&uid, &key)?;
        }
        if let Some(name) = self.name_waiting.take() {
            self.keep_name(&name);
        }
        Ok(())
    }

    /// Creates the v1 schema if needed, then runs every migration this database has not had yet.
    fn migrate(&self) -> Result<(), String> {
        self.run(SCHEMA_V1, vec![])?;
        let version = self.number(
            "SELECT COALESCE(MAX(value), 1) FROM meta WHERE key = 'schema'",
            vec![],
        )?;
        let done = version.max(1) as usize - 1;
        for (step, migration) in MIGRATIONS.iter().enumerate().skip(done) {
            self.run(migration, vec![])?;
            self.run(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)",
                vec![int(step as u64 + 2)],
            )?;
        }
        Ok(())
    }

    /// Where the stored log ends: its newest `seq` and the room's revision (0 and 0 for an empty room),
    /// and how many shards the room has used (0: none), in one statement, as the object reads them at
    /// every wake. The revision is the highest `rev` of a message, or the one `trim` kept in `meta`
    /// when the message that held it was trimmed.
    pub fn head(&self) -> Result<(u64, u64, u16), String> {
        let mut row = self
            .query(
                "SELECT COALESCE(MAX(seq), 0), MAX(COALESCE(MAX(rev), 0), COALESCE((SELECT value FROM meta WHERE key = 'rev'), 0)), COALESCE((SELECT value FROM meta WHERE key = 'shards'), 0) FROM messages",
                vec![],
            )?
            .into_iter()
            .next();
        // A blank database has no row: an empty room.
        Ok(row.as_mut().map_or((0, 0, 0), |row| {
            (row.int(), row.int(), row.int().min(u16::MAX.into()) as u16)
        }))
    }

    /// Records that the room has used shards 1 ..= `shards`: after a wake the sequencer still sends its
    /// broadcasts to every one of them, before they have told it who they hold.
    pub fn set_shards(&self, shards: u16) -> Result<(), String> {
        self.run(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('shards', ?)",
            vec![int(shards.into())],
        )
        .map(|_| ())
    }

    /// The rows of `query`, each to be read by position; none in a blank database (nothing was ever
    /// written, and its tables do not exist yet).
    pub(super) fn query(
        &self,
        query: &str,
        bindings: Vec<SqlStorageValue>,
    ) -> Result<Vec<Cells>, String> {
        if self.blank.get() {
            return Ok(Vec::new());
        }
        rows(&self.sql, query, bindings)
    }

    /// The first column of the first row of `query` (0 when there is none).
    pub(super) fn number(
        &self,
        query: &str,
        bindings: Vec<SqlStorageValue>,
    ) -> Result<u64, String> {
        Ok(self
            .query(query, bindings)?
            .into_iter()
            .next()
            .map_or(0, |mut row| row.int()))
    }

    /// Runs a statement that writes: the first write to a blank database creates the schema first.
    pub(super) fn run(&self, query: &str, bindings: Vec<SqlStorageValue>) -> Result<usize, String> {
        self.ensure_schema()?;
        self.sql
            .exec(query, bindings)
            .map(|c| c.rows_written())
            .map_err(|e| e.to_string())
    }

    pub(super) fn rows(
        &self,
        query: &str,
        bindings: Vec<SqlStorageValue>,
    ) -> Result<Vec<ChatMessage>, String> {
        Ok(self
            .query(query, bindings)?
            .into_iter()
            .map(|mut row| row.message())
            .collect())
    }

    /// The message that `sender` sent earlier with client id `id`, if stored.
    fn find_by_client_id(&self, sender: &str, id: &str) -> Option<ChatMessage> {
        let query = format!("SELECT {COLUMNS} FROM messages WHERE sender = ? AND client_id = ?");
        self.rows(&query, vec![sender.into(), id.into()])
            .ok()?
            .into_iter()
            .next()
    }
}

impl History for Store {
    /// `INSERT OR IGNORE`: the unique index on `(sender, client_id)` refuses a repeated id, and only
    /// then (no row written) is the original looked up: the same text is a retry, another text a
    /// conflict. A new message costs this one statement.
    fn append(&mut self, m: &ChatMessage) -> Result<Appended, String> {
        let sender = sender_key(&m.from);
        let mut cells = vec![
            int(m.seq),
            m.id.as_deref().into(),
            m.from.id.as_str().into(),
            m.from.name.as_str().into(),
            m.from.uid.as_deref().into(),
            sender.as_str().into(),
            m.text.as_str().into(),
            int(m.ts),
            opt_int(m.reply_to),
            int(m.rev),
            files_json(&m.files),
        ];
        let mentions = packed_mentions(m);
        // A message neither in a thread nor mentioning anyone keeps the statement it had before
        // threads: they cost it nothing.
        let written = if m.root().is_none() && mentions.is_none() {
            self.run(
                "INSERT OR IGNORE INTO messages (seq, client_id, from_id, from_name, from_uid, sender, text, ts, reply_to, rev, files) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                cells,
            )?
        } else {
            cells.extend([
                opt_int(m.root()),
                int(m.also_in_room.into()),
                mentions.as_deref().into(),
            ]);
            self.run(
                "INSERT OR IGNORE INTO messages (seq, client_id, from_id, from_name, from_uid, sender, text, ts, reply_to, rev, files, thread, also_in_room, mentions) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                cells,
            )?
        };
        if written > 0 {
            self.mention(m)?;
            return Ok(Appended::Stored);
        }
        self.lookup(m)?
            .ok_or_else(|| format!("seq {} was not stored", m.seq))
    }

    /// Only a message with a client id can be known; the same text is a retry, and so is the text
    /// the hook replaced (its fingerprint in `screened`); another text is a conflict.
    fn lookup(&self, m: &ChatMessage) -> Result<Option<Appended>, String> {
        let Some(earlier) =
            m.id.as_deref()
                .and_then(|id| self.find_by_client_id(&sender_key(&m.from), id))
        else {
            return Ok(None);
        };
        let replaced = || {
            self.number(
                "SELECT COUNT(*) FROM screened WHERE seq = ? AND sent = ?",
                vec![int(earlier.seq), fingerprint(&m.text).into()],
            ) == Ok(1)
        };
        Ok(Some(if earlier.text == m.text || replaced() {
            Appended::Duplicate {
                seq: earlier.seq,
                ts: earlier.ts,
                rev: earlier.rev,
            }
        } else {
            Appended::Conflict
        }))
    }

    fn screened(&mut self, seq: u64, fingerprint: &str) -> Result<(), String> {
        self.run(
            "INSERT OR REPLACE INTO screened (seq, sent) VALUES (?, ?)",
            vec![int(seq), fingerprint.into()],
        )
        .map(drop)
    }

    fn get(&self, seq: u64) -> Result<Option<ChatMessage>, String> {
        let query = format!("SELECT {COLUMNS} FROM messages WHERE seq = ?");
        Ok(self.rows(&query, vec![int(seq)])?.into_iter().next())
    }

    fn range(&self, after: u64, limit: usize, newest: bool) -> Result<Vec<ChatMessage>, String> {
        let query = if newest {
            format!("SELECT * FROM (SELECT {COLUMNS} FROM messages WHERE seq > ? ORDER BY seq DESC LIMIT ?) ORDER BY seq")
        } else {
            format!("SELECT {COLUMNS} FROM messages WHERE seq > ? ORDER BY seq LIMIT ?")
        };
        self.rows(&query, vec![int(after), int(limit as u64)])
    }

    fn before(&self, before: u64, limit: usize) -> Result<Vec<ChatMessage>, String> {
        let query = format!("SELECT * FROM (SELECT {COLUMNS} FROM messages WHERE seq < ? ORDER BY seq DESC LIMIT ?) ORDER BY seq");
        self.rows(&query, vec![int(before), int(limit as u64)])
    }

    /// Answered from `messages_changed`, which holds only messages that ever changed (its condition
    /// is repeated here so that SQLite may use it).
    fn changes(&self, upto: u64, since: u64, limit: usize) -> Result<Vec<ChatMessage>, String> {
        let query = format!(
            "SELECT {COLUMNS} FROM messages WHERE (reactions IS NOT NULL OR version > 1 OR deleted = 1 OR revised = 1) AND rev > ? AND seq <= ? ORDER BY rev LIMIT ?"
        );
        self.rows(&query, vec![int(since), int(upto), int(limit as u64)])
    }

    /// The versions past the room's cap go in the same turn as the edit, by the primary key's range.
    fn edit(
        &mut self,
        edited: &ChatMessage,
        previous: &Version,
        drop_upto: u32,
    ) -> Result<(), String> {
        self.run(
            "INSERT OR REPLACE INTO versions (seq, version, text, at) VALUES (?, ?, ?, ?)",
            vec![
                int(edited.seq),
                int(previous.version.into()),
                previous.text.as_str().into(),
                int(previous.at),
            ],
        )?;
        self.run(
            "UPDATE messages SET text = ?, version = ?, edited_at = ?, rev = ?, mentions = ? WHERE seq = ?",
            vec![
                edited.text.as_str().into(),
                int(edited.version.into()),
                opt_int(edited.edited_at),
                int(edited.rev),
                packed_mentions(edited).as_deref().into(),
                int(edited.seq),
            ],
        )?;
        self.run("DELETE FROM mentions WHERE seq = ?", vec![int(edited.seq)])?;
        self.mention(edited)?;
        if drop_upto > 0 {
            self.run(
                "DELETE FROM versions WHERE seq = ? AND version <= ?",
                vec![int(edited.seq), int(drop_upto.into())],
            )?;
        }
        Ok(())
    }

    /// The text and every earlier version are deleted from storage, not hidden: people delete to take
    /// their words back.
    /// A walk down the primary key from `below`, reading at most the rows between it and `floor`.
    fn authored(
        &self,
        uid: &str,
        floor: u64,
        below: u64,
        since_ms: u64,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, String> {
        self.rows(
            &format!("SELECT {COLUMNS} FROM messages WHERE seq > ? AND seq < ? AND from_uid = ? AND deleted = 0 AND ts >= ? ORDER BY seq DESC LIMIT ?"),
            vec![int(floor), int(below), uid.into(), int(since_ms), int(limit as u64)],
        )
    }

    fn delete(&mut self, tombstone: &ChatMessage) -> Result<(), String> {
        self.run(
            "DELETE FROM versions WHERE seq = ?",
            vec![int(tombstone.seq)],
        )?;
        self.run(
            "DELETE FROM reactions WHERE seq = ?",
            vec![int(tombstone.seq)],
        )?;
        self.run(
            "DELETE FROM screened WHERE seq = ?",
            vec![int(tombstone.seq)],
        )?;
        self.run(
            "DELETE FROM mentions WHERE seq = ?",
            vec![int(tombstone.seq)],
        )?;
        self.run(
            "UPDATE messages SET text = '', deleted = 1, reactions = '{}', files = NULL, preview = NULL, mentions = NULL, edited_at = ?, rev = ? WHERE seq = ?",
            vec![
                opt_int(tombstone.edited_at),
                int(tombstone.rev),
                int(tombstone.seq),
            ],
        )?;
        Ok(())
    }

    fn react(
        &mut self,
        seq: u64,
        emoji: &str,
        uid: &str,
        name: &str,
        on: bool,
        rev: u64,
    ) -> Result<Option<Reactions>, String> {
        let key = vec![int(seq), emoji.into(), uid.into()];
        let changed = if on {
            self.run(
                "INSERT OR IGNORE INTO reactions (seq, emoji, uid, name) VALUES (?, ?, ?, ?)",
                vec![int(seq), emoji.into(), uid.into(), name.into()],
            )?
        } else {
            self.run(
                "DELETE FROM reactions WHERE seq = ? AND emoji = ? AND uid = ?",
                key,
            )?
        };
        if changed == 0 {
            return Ok(None);
        }
        // Inserted one by one: `collect` into a `BTreeMap` sorts its input first, which links a whole
        // stable sort into the wasm for a handful of rows that come out of SQLite grouped anyway.
        let mut counts = Reactions::new();
        for mut row in self.query(
            "SELECT emoji, COUNT(*) FROM reactions WHERE seq = ? GROUP BY emoji",
            vec![int(seq)],
        )? {
            counts.insert(row.text(), row.int() as u32);
        }
        let json = serde_json::to_string(&counts).map_err(|e| e.to_string())?;
        self.run(
            "UPDATE messages SET reactions = ?, rev = ? WHERE seq = ?",
            vec![json.as_str().into(), int(rev), int(seq)],
        )?;
        Ok(Some(counts))
    }

    /// A walk of the key (seq, emoji, uid) from `after`: `limit` rows read, however many reacted.
    fn reactors(
        &self,
        seq: u64,
        emoji: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<Reactor>, String> {
        Ok(self
            .query(
                "SELECT uid, name FROM reactions WHERE seq = ? AND emoji = ? AND uid > ? ORDER BY uid LIMIT ?",
                vec![int(seq), emoji.into(), after.into(), int(limit as u64)],
            )?
            .into_iter()
            .map(|mut row| Reactor {
                uid: row.text(),
                name: row.opt_text(),
            })
            .collect())
    }

    fn versions(&self, seq: u64, before: u32, limit: usize) -> Result<Vec<Version>, String> {
        Ok(self
            .query(
                "SELECT version, text, at FROM versions WHERE seq = ? AND version < ? ORDER BY version DESC LIMIT ?",
                vec![int(seq), int(before.into()), int(limit as u64)],
            )?
            .into_iter()
            .map(|mut row| Version {
                version: row.int() as u32,
                text: row.text(),
                at: row.int(),
            })
            .collect())
    }

    fn read_mark(&self, uid: &str) -> Result<u64, String> {
        self.number(
            "SELECT COALESCE(MAX(seq), 0) FROM reads WHERE uid = ?",
            vec![uid.into()],
        )
    }

    fn set_read_mark(&mut self, uid: &str, seq: u64) -> Result<(), String> {
        self.run(
            "INSERT INTO reads (uid, seq) VALUES (?, ?) ON CONFLICT (uid) DO UPDATE SET seq = excluded.seq",
            vec![uid.into(), int(seq)],
        )
        .map(drop)
    }

    fn recent_reads(&self, limit: usize) -> Result<Vec<(String, u64)>, String> {
        Ok(self
            .query(
                "SELECT uid, seq FROM reads ORDER BY seq DESC LIMIT ?",
                vec![int(limit as u64)],
            )?
            .into_iter()
            .map(|mut row| (row.text(), row.int()))
            .collect())
    }

    fn unread(&self, uid: &str, after: u64) -> Result<u64, String> {
        self.number(
            "SELECT COUNT(*) FROM messages WHERE seq > ? AND deleted = 0 AND (from_uid IS NULL OR from_uid != ?) AND (thread IS NULL OR also_in_room = 1)",
            vec![int(after), uid.into()],
        )
    }

    /// Two statements. The first finds where the window ends: the [`SEARCH_WINDOW`]th newest match
    /// (none: fewer matched, the window is everything), in rowid order, which FTS5 walks newest first
    /// and stops at `LIMIT` (no ranking, no snippet). The second ranks inside the window only —
    /// `ORDER BY rank` computes bm25 for every row it orders, which over all matches of a broad query
    /// was most of its cost — limited there, so the join reads only the rows returned. `snippet()`
    /// marks the hits with the private-use characters [`crate::search::snippet_html`] turns into
    /// `<mark>`, in a window of up to 16 tokens.
    fn search(
        &self,
        query: &SearchQuery,
        after: u64,
        before: u64,
        offset: usize,
        limit: usize,
    ) -> Result<Found, String> {
        let expr = query.to_fts();
        let oldest = self.number(
            "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? AND rowid > ? AND rowid < ? ORDER BY rowid DESC LIMIT 1 OFFSET ?",
            vec![
                expr.as_str().into(),
                int(after),
                int(before),
                int(SEARCH_WINDOW as u64 - 1),
            ],
        )?;
        let older = (oldest > 0).then_some(oldest);
        let sql = format!(
            "SELECT {COLUMNS}, snip FROM (
               SELECT rowid AS hit, rank AS score,
                      snippet(messages_fts, 0, ?, ?, '…', 16) AS snip
               FROM messages_fts WHERE messages_fts MATCH ? AND rowid >= ? AND rowid < ?
               ORDER BY rank, rowid DESC LIMIT ? OFFSET ?)
             JOIN messages ON seq = hit ORDER BY score, seq DESC"
        );
        let hits = self
            .query(
                &sql,
                vec![
                    MARK_OPEN.to_string().into(),
                    MARK_CLOSE.to_string().into(),
                    expr.into(),
                    int(oldest.max(after + 1)),
                    int(before),
                    int(limit as u64),
                    int(offset as u64),
                ],
            )?
            .into_iter()
            .map(|mut row| {
                let message = row.message();
                (message, row.text())
            })
            .collect();
        Ok(Found { hits, older })
    }

    fn trim(&mut self, upto: u64, rev: u64) {
        let trimmed = self
            .run(
                "UPDATE files SET doomed = 1 WHERE seq <= ?",
                vec![int(upto)],
            )
            .and_then(|_| self.run("DELETE FROM messages WHERE seq <= ?", vec![int(upto)]))
            .and_then(|_| self.run("DELETE FROM versions WHERE seq <= ?", vec![int(upto)]))
            .and_then(|_| self.run("DELETE FROM reactions WHERE seq <= ?", vec![int(upto)]))
            .and_then(|_| self.run("DELETE FROM screened WHERE seq <= ?", vec![int(upto)]))
            .and_then(|_| self.run("DELETE FROM mentions WHERE seq <= ?", vec![int(upto)]))
            .and_then(|_| self.run("DELETE FROM thread_people WHERE root <= ?", vec![int(upto)]))
            .and_then(|_| self.run("DELETE FROM thread_reads WHERE root <= ?", vec![int(upto)]))
            .and_then(|_| {
                self.run(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('rev', ?)",
                    vec![int(rev)],
                )
            });
        if let Err(e) = trimmed {
            worker::console_error!("history trim failed: {e}");
        }
    }

    fn moderate(&mut self, action: &Action, record: &str, now_ms: u64) -> Result<u64, String> {
        match action {
            Action::Ban { uid, .. } => self.run(
                "INSERT OR IGNORE INTO bans (uid) VALUES (?)",
                vec![uid.as_str().into()],
            ),
            Action::Unban { uid } => self
                .run("DELETE FROM bans WHERE uid = ?", vec![uid.as_str().into()])
                .and_then(|_| {
                    self.run(
                        "DELETE FROM address_bans WHERE uid = ?",
                        vec![uid.as_str().into()],
                    )
                }),
            Action::Kick { .. } => Ok(0),
            Action::Mute { uid, seconds } => self.run(
                "INSERT OR REPLACE INTO mutes (uid, until) VALUES (?, ?)",
                vec![
                    uid.as_str().into(),
                    int(now_ms.saturating_add(seconds * 1000)),
                ],
            ),
            // Expired mutes go too: the table holds only mutes that may still be in force.
            Action::Unmute { uid } => self.run(
                "DELETE FROM mutes WHERE uid = ? OR until <= ?",
                vec![uid.as_str().into(), int(now_ms)],
            ),
            Action::SlowMode { seconds } => self.run(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('slow_mode', ?)",
                vec![int(*seconds)],
            ),
            Action::Anonymous { allowed } => self.run(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('identity_required', ?)",
                vec![int(u64::from(!allowed))],
            ),
            Action::Retention { days: Some(days) } => self.run(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('retention_days', ?)",
                vec![int(*days)],
            ),
            Action::Retention { days: None } => {
                self.run("DELETE FROM meta WHERE key = 'retention_days'", vec![])
            }
            Action::Block { words } | Action::Unblock { words } => {
                let add = matches!(action, Action::Block { .. });
                for word in words {
                    match add {
                        true => self.run(
                            "INSERT OR IGNORE INTO blocklist (word, at) VALUES (?, ?)",
                            vec![word.as_str().into(), int(now_ms)],
                        )?,
                        false => self.run(
                            "DELETE FROM blocklist WHERE word = ?",
                            vec![word.as_str().into()],
                        )?,
                    };
                }
                Ok(0)
            }
            // A purge's deletions are stored one by one as the room carries it out.
            Action::Purge { .. } => Ok(0),
        }?;
        self.log_moderation(record, now_ms)
    }

    fn ban_address(&mut self, ban: &AddressBan, now_ms: u64) -> Result<(), String> {
        self.run(
            "DELETE FROM address_bans WHERE until <= ?",
            vec![int(now_ms)],
        )?;
        self.run(
            "INSERT OR REPLACE INTO address_bans (tag, uid, until) VALUES (?, ?, ?)",
            vec![
                ban.tag.to_string().into(),
                ban.uid.as_str().into(),
                int(ban.until),
            ],
        )?;
        Ok(())
    }

    fn log_moderation(&mut self, record: &str, now_ms: u64) -> Result<u64, String> {
        self.number(
            "INSERT INTO moderation_log (at, record) VALUES (?, ?) RETURNING id",
            vec![int(now_ms), record.into()],
        )
    }

    fn moderation_log(&self, before: u64, limit: usize) -> Result<Vec<(u64, String)>, String> {
        Ok(self
            .query(
                "SELECT id, record FROM moderation_log WHERE id < ? ORDER BY id DESC LIMIT ?",
                vec![int(before), int(limit as u64)],
            )?
            .into_iter()
            .map(|mut row| (row.int(), row.text()))
            .collect())
    }

    fn moderation_since(&self, after: u64, limit: usize) -> Result<Vec<(u64, String)>, String> {
        Ok(self
            .query(
                "SELECT id, record FROM moderation_log WHERE id > ? ORDER BY id LIMIT ?",
                vec![int(after), int(limit as u64)],
            )?
            .into_iter()
            .map(|mut row| (row.int(), row.text()))
            .collect())
    }

    fn oldest(&self, after: u64, limit: usize) -> Result<Vec<(u64, u64)>, String> {
        Ok(self
            .query(
                "SELECT seq, ts FROM messages WHERE seq > ? ORDER BY seq LIMIT ?",
                vec![int(after), int(limit as u64)],
            )?
            .into_iter()
            .map(|mut row| (row.int(), row.int()))
            .collect())
    }

    /// Bounded by the caller's range (one sweep's batch). The text update fires the search index's
    /// trigger, which takes the rows' words out of the index in the same statement; `deleted` = 2
    /// reads as deleted everywhere and keeps the rows out of `messages_changed`.
    fn expire(&mut self, after: u64, upto: u64) -> Result<(), String> {
        let range = || vec![int(after), int(upto)];
        for table in ["versions", "reactions", "screened", "mentions"] {
            self.run(
                &format!("DELETE FROM {table} WHERE seq > ? AND seq <= ?"),
                range(),
            )?;
        }
        self.run(
            "UPDATE messages SET text = '', deleted = 2, reactions = NULL, files = NULL, preview = NULL, revised = 0, mentions = NULL WHERE seq > ? AND seq <= ?",
            range(),
        )?;
        self.run(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('expired_upto', ?)",
            vec![int(upto)],
        )
        .map(drop)
    }

    fn reacted_by(&self, uid: &str, after: u64, upto: u64) -> Result<Vec<(u64, String)>, String> {
        self.reactions_of(uid, after, upto)
    }

    /// Their read marks (the room's and each thread's), their name among the people `@name`
    /// mentions, and the threads they took part in.
    fn forget_reader(&mut self, uid: &str) -> Result<(), String> {
        for table in ["reads", "thread_reads", "people", "thread_people"] {
            self.run(
                &format!("DELETE FROM {table} WHERE uid = ?"),
                vec![uid.into()],
            )?;
        }
        Ok(())
    }

    fn erasure(&self, uid: &str) -> Result<Option<Erasure>, String> {
        self.stored_erasure(uid)
    }

    fn save_erasure(&mut self, job: &Erasure) -> Result<(), String> {
        self.store_erasure(job)
    }

    fn reacted(&self, seq: u64) -> Result<Vec<(String, String)>, String> {
        Ok(self
            .query(
                "SELECT emoji, uid FROM reactions WHERE seq = ? ORDER BY emoji, uid",
                vec![int(seq)],
            )?
            .into_iter()
            .map(|mut row| (row.text(), row.text()))
            .collect())
    }
}
