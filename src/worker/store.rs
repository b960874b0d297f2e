//! The room's message log in the Durable Object's SQLite storage.
//!
//! `sql.exec` is synchronous: the write lands in the object's local database at once, and the runtime's
//! *output gate* holds back every outgoing message (socket sends included) until the write is durable.
//! So "store, then send" in `room.rs` really means nobody hears of a message before it is safe.
//! <https://developers.cloudflare.com/durable-objects/api/sqlite-storage-api/>

use serde::Deserialize;
use worker::{SqlStorage, SqlStorageValue};

use crate::protocol::{ChatMessage, User};
use crate::room::{sender_key, Appended, History};

/// The schema as protocol v1 created it; [`MIGRATIONS`] bring any room's database up from there. The
/// version reached is kept in `meta`, so each step runs once per room, on its first wake after a deploy.
const SCHEMA_V1: &str = "
CREATE TABLE IF NOT EXISTS messages (
  seq       INTEGER PRIMARY KEY,
  client_id TEXT,
  from_id   TEXT NOT NULL,
  from_name TEXT NOT NULL,
  text      TEXT NOT NULL,
  ts        INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_client_id
  ON messages (from_name, client_id) WHERE client_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
";

/// Step `i` brings the schema from version `i + 1` to `i + 2`.
const MIGRATIONS: &[&str] = &[
    // 2: identified senders. `from_uid` is the author id; `sender` scopes client ids (`u:<uid>` or, for
    // anonymous senders and every message stored before, `n:<name>`), replacing the (name, id) index.
    "ALTER TABLE messages ADD COLUMN from_uid TEXT;
     ALTER TABLE messages ADD COLUMN sender TEXT;
     UPDATE messages SET sender = 'n:' || from_name;
     DROP INDEX IF EXISTS messages_by_client_id;
     CREATE UNIQUE INDEX messages_by_sender ON messages (sender, client_id)
       WHERE client_id IS NOT NULL;",
];

const COLUMNS: &str = "seq, client_id, from_id, from_name, from_uid, text, ts";

pub struct Store {
    sql: SqlStorage,
}

#[derive(Deserialize)]
struct Row {
    seq: f64,
    client_id: Option<String>,
    from_id: String,
    from_name: String,
    from_uid: Option<String>,
    text: String,
    ts: f64,
}

impl From<Row> for ChatMessage {
    fn from(r: Row) -> Self {
        ChatMessage {
            seq: r.seq as u64,
            id: r.client_id,
            from: User {
                id: r.from_id,
                name: r.from_name,
                uid: r.from_uid,
            },
            text: r.text,
            ts: r.ts as u64,
        }
    }
}

#[derive(Deserialize)]
struct Earlier {
    seq: f64,
    ts: f64,
    text: String,
}

fn int(v: u64) -> SqlStorageValue {
    // seqs, timestamps and limits stay far below 2^53, JavaScript's exact-integer range.
    SqlStorageValue::Integer(v.min(i64::MAX as u64) as i64)
}

impl Store {
    /// Opens the log, creating the schema on first use. A failure is logged, and surfaces again as
    /// an `internal` error on the first write (never as a panic).
    pub fn open(sql: SqlStorage) -> Store {
        let store = Store { sql };
        if let Err(e) = store.migrate() {
            worker::console_error!("could not create or migrate the schema: {e}");
        }
        store
    }

    /// Creates the v1 schema if needed, then runs every migration this database has not had yet.
    fn migrate(&self) -> worker::Result<()> {
        #[derive(Deserialize)]
        struct Version {
            value: f64,
        }
        self.sql.exec(SCHEMA_V1, None)?;
        let version = self
            .sql
            .exec("SELECT value FROM meta WHERE key = 'schema'", None)?
            .to_array::<Version>()?
            .first()
            .map_or(1, |v| v.value as usize);
        for (step, migration) in MIGRATIONS.iter().enumerate().skip(version - 1) {
            self.sql.exec(migration, None)?;
            self.sql.exec(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)",
                vec![int(step as u64 + 2)],
            )?;
        }
        Ok(())
    }

    /// The newest stored `seq` (0 for an empty room).
    pub fn last_seq(&self) -> worker::Result<u64> {
        #[derive(Deserialize)]
        struct Last {
            last: f64,
        }
        let row: Last = self
            .sql
            .exec("SELECT COALESCE(MAX(seq), 0) AS last FROM messages", None)?
            .one()?;
        Ok(row.last as u64)
    }

    fn rows(
        &self,
        query: &str,
        bindings: Vec<SqlStorageValue>,
    ) -> Result<Vec<ChatMessage>, String> {
        self.sql
            .exec(query, bindings)
            .and_then(|c| c.to_array::<Row>())
            .map(|rows| rows.into_iter().map(ChatMessage::from).collect())
            .map_err(|e| e.to_string())
    }
}

impl Store {
    /// The message that `sender` sent earlier with client id `id`, if stored.
    fn find_by_client_id(&self, sender: &str, id: &str) -> Option<Earlier> {
        self.sql
            .exec(
                "SELECT seq, ts, text FROM messages WHERE sender = ? AND client_id = ?",
                vec![sender.into(), id.into()],
            )
            .and_then(|c| c.to_array::<Earlier>())
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
        let cursor = self
            .sql
            .exec(
                "INSERT OR IGNORE INTO messages (seq, client_id, from_id, from_name, from_uid, sender, text, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                vec![
                    int(m.seq),
                    m.id.as_deref().into(),
                    m.from.id.as_str().into(),
                    m.from.name.as_str().into(),
                    m.from.uid.as_deref().into(),
                    sender.as_str().into(),
                    m.text.as_str().into(),
                    int(m.ts),
                ],
            )
            .map_err(|e| e.to_string())?;
        if cursor.rows_written() > 0 {
            return Ok(Appended::Stored);
        }
        m.id.as_deref()
            .and_then(|id| self.find_by_client_id(&sender, id))
            .map(|earlier| {
                if earlier.text == m.text {
                    Appended::Duplicate {
                        seq: earlier.seq as u64,
                        ts: earlier.ts as u64,
                    }
                } else {
                    Appended::Conflict
                }
            })
            .ok_or_else(|| format!("seq {} was not stored", m.seq))
    }

    fn range(&self, after: u64, limit: usize, newest: bool) -> Result<Vec<ChatMessage>, String> {
        let query = if newest {
            format!("SELECT * FROM (SELECT {COLUMNS} FROM messages WHERE seq > ? ORDER BY seq DESC LIMIT ?) ORDER BY seq")
        } else {
            format!("SELECT {COLUMNS} FROM messages WHERE seq > ? ORDER BY seq LIMIT ?")
        };
        self.rows(&query, vec![int(after), int(limit as u64)])
    }

    fn trim(&mut self, upto: u64) {
        if let Err(e) = self
            .sql
            .exec("DELETE FROM messages WHERE seq <= ?", vec![int(upto)])
        {
            worker::console_error!("history trim failed: {e}");
        }
    }
}
