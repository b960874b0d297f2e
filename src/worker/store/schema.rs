//! The room's SQLite schema: the tables as protocol v1 created them, and the migrations that bring
//! any room's database up from there, each run once per room on its first wake after a deploy (the
//! version reached is kept in `meta`; `super` runs them); and the search index of the messages stored
//! before it existed, filled a batch per turn ([`Store::index_some`]).

use super::{int, Store};

/// The schema as protocol v1 created it; [`MIGRATIONS`] bring any room's database up from there. The
/// version reached is kept in `meta`, so each step runs once per room, on its first wake after a deploy.
pub(super) const SCHEMA_V1: &str = "
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
pub(super) const MIGRATIONS: &[&str] = &[
    // 2: identified senders. `from_uid` is the author id; `sender` scopes client ids (`u:<uid>` or, for
    // anonymous senders and every message stored before, `n:<name>`), replacing the (name, id) index.
    "ALTER TABLE messages ADD COLUMN from_uid TEXT;
     ALTER TABLE messages ADD COLUMN sender TEXT;
     UPDATE messages SET sender = 'n:' || from_name;
     DROP INDEX IF EXISTS messages_by_client_id;
     CREATE UNIQUE INDEX messages_by_sender ON messages (sender, client_id)
       WHERE client_id IS NOT NULL;",
    // 3: living messages. Each message carries its reply target, edit state, tombstone flag, reaction
    // counts (NULL until first reacted to) and the `rev` of its last change. `messages_changed` indexes
    // only messages that ever changed, so a plain message's insert never touches it; it answers a
    // resume's "what changed since rev N". Earlier versions, who reacted with what, and read marks
    // live in their own tables.
    "ALTER TABLE messages ADD COLUMN reply_to INTEGER;
     ALTER TABLE messages ADD COLUMN edited_at INTEGER;
     ALTER TABLE messages ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
     ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE messages ADD COLUMN reactions TEXT;
     ALTER TABLE messages ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
     UPDATE messages SET rev = seq;
     CREATE INDEX messages_changed ON messages (rev)
       WHERE reactions IS NOT NULL OR version > 1 OR deleted = 1;
     CREATE TABLE versions (seq INTEGER NOT NULL, version INTEGER NOT NULL, text TEXT NOT NULL,
       at INTEGER NOT NULL, PRIMARY KEY (seq, version));
     CREATE TABLE reactions (seq INTEGER NOT NULL, emoji TEXT NOT NULL, uid TEXT NOT NULL,
       PRIMARY KEY (seq, emoji, uid));
     CREATE TABLE reads (uid TEXT PRIMARY KEY, seq INTEGER NOT NULL);",
    // 4: full-text search. An FTS5 index of the messages' current text, as an *external content*
    // table: it keeps only the index (tokens → rows), and reads the text itself from `messages`
    // (for `snippet()`), so no text is stored twice. Tokens are word stems (`porter`: "runs" finds
    // "running") of Unicode words without accents (`remove_diacritics 2`: "cafe" finds "café").
    //
    // Triggers keep it in step inside the very statement that changes a message, so the index is
    // always in the same transaction as the message write — group commit, edits, deletions (the
    // tombstone's empty text has no tokens) and trims alike — at no extra call from the wasm.
    // An external-content index must be told the *old* text to forget a row, which the triggers have.
    //
    // Messages stored before this migration are indexed afterwards, newest first, a bounded batch per
    // turn ([`Store::index_some`]); `meta.fts_pending` is the highest `seq` not indexed yet (0: all
    // done). Rows at or below it are not in the index, so the update and delete triggers leave them
    // alone: telling FTS5 to forget a row it never had would corrupt its statistics.
    "CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', content_rowid='seq',
       tokenize='porter unicode61 remove_diacritics 2');
     INSERT OR REPLACE INTO meta (key, value)
       VALUES ('fts_pending', (SELECT COALESCE(MAX(seq), 0) FROM messages));
     CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
       INSERT INTO messages_fts (rowid, text) VALUES (new.seq, new.text);
     END;
     CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages
       WHEN old.seq > (SELECT value FROM meta WHERE key = 'fts_pending') BEGIN
       INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.seq, old.text);
       INSERT INTO messages_fts (rowid, text) VALUES (new.seq, new.text);
     END;
     CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
       WHEN old.seq > (SELECT value FROM meta WHERE key = 'fts_pending') BEGIN
       INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.seq, old.text);
     END;",
    // 5: moderation. Bans and mutes by author id (a mute until a time, in ms), the room's slow mode in
    // `meta`, and every moderator action as a JSON record in an append-only log.
    "CREATE TABLE bans (uid TEXT PRIMARY KEY);
     CREATE TABLE mutes (uid TEXT PRIMARY KEY, until INTEGER NOT NULL);
     CREATE TABLE moderation_log (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL,
       record TEXT NOT NULL);",
    // 6: prefix indexes. Without them FTS5 answers `ab*` by merging the entries of every word that
    // starts with "ab", in full, before the first row comes out; with `prefix='2 3'` it keeps one
    // more entry per two- and three-character prefix, read like a word's (and stopped early by
    // `LIMIT`). One-character prefixes are refused (`search::MIN_PREFIX_CHARS`); longer ones are
    // narrower. The option cannot be added to an existing table, so the table is made anew and every
    // message indexed again by [`Store::index_some`] (`fts_pending` = the newest `seq`). The triggers
    // stay: they are on `messages`, and SQLite resolves the table their bodies name when they fire,
    // so they write to the new one — and leave the rows not yet indexed alone, as in 4.
    "DROP TABLE messages_fts;
     CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', content_rowid='seq',
       tokenize='porter unicode61 remove_diacritics 2', prefix='2 3');
     INSERT OR REPLACE INTO meta (key, value)
       VALUES ('fts_pending', (SELECT COALESCE(MAX(seq), 0) FROM messages));",
    // 7: bans that hold in an open room. The addresses (hashed: `identity::AddressTag`) a banned author
    // was connected from, until when, and which uid's ban barred them (its unban lifts them).
    // `require_identity` lives in `meta` beside slow mode.
    "CREATE TABLE address_bans (tag TEXT PRIMARY KEY, uid TEXT NOT NULL, until INTEGER NOT NULL);",
    // 8: who reacted, by name. The name a reactor had when they reacted, so "who reacted" can be shown
    // without looking anybody up (NULL for the reactions stored before).
    "ALTER TABLE reactions ADD COLUMN name TEXT;",
    // 9: the moderation hook's replacements. For a message stored with the hook's replacement text,
    // a fingerprint of the text as sent (never the text: it was replaced for a reason), so that a
    // retry of it is known as the same message (`screening::fingerprint`). Retention (`deleted` = 2:
    // erased by retention, which also keeps such rows out of `messages_changed`) and its progress
    // (`meta.expired_upto`) need no schema of their own. And the room's blocked words
    // (`crate::blocklist`), normalized, with when each was added (the list keeps that order). And
    // authors' erasures (`crate::erasure`), each job's progress as JSON, stored with each step.
    "CREATE TABLE screened (seq INTEGER PRIMARY KEY, sent TEXT NOT NULL);
     CREATE TABLE blocklist (word TEXT PRIMARY KEY, at INTEGER NOT NULL);
     CREATE TABLE erasures (uid TEXT PRIMARY KEY, job TEXT NOT NULL);",
    // 10: files and previews. A message's files and its link preview (JSON, NULL when none), and
    // `revised` once either changed after the store (so `messages_changed`, remade with it, answers a
    // resume). `files` is the room's record of every upload (`crate::files::log`): reserved by
    // `owner` at `at`, `done` once its bytes are stored, used by message `seq`, `doomed` until the
    // bucket has deleted it.
    "ALTER TABLE messages ADD COLUMN files TEXT;
     ALTER TABLE messages ADD COLUMN preview TEXT;
     ALTER TABLE messages ADD COLUMN revised INTEGER NOT NULL DEFAULT 0;
     DROP INDEX messages_changed;
     CREATE INDEX messages_changed ON messages (rev)
       WHERE reactions IS NOT NULL OR version > 1 OR deleted = 1 OR revised = 1;
     CREATE TABLE files (id TEXT PRIMARY KEY, owner TEXT NOT NULL, at INTEGER NOT NULL,
       name TEXT NOT NULL DEFAULT '', type TEXT NOT NULL DEFAULT '', size INTEGER NOT NULL DEFAULT 0,
       width INTEGER, height INTEGER, thumb INTEGER NOT NULL DEFAULT 0,
       done INTEGER NOT NULL DEFAULT 0, seq INTEGER, doomed INTEGER NOT NULL DEFAULT 0);
     CREATE INDEX files_by_seq ON files (seq) WHERE seq IS NOT NULL;
     CREATE INDEX files_unused ON files (at) WHERE seq IS NULL AND doomed = 0;",
    // 11: threads and mentions. A reply names its root (`thread`); a root keeps its thread's summary
    // (`ThreadSummary::pack`'s text) and, for the list of threads by activity, its newest reply's seq (`thread_last`, NULL
    // while it has none). `mentions` packs a message's mentioned uids (`*` for @room) for reading it
    // back; the `mentions` table holds the same, one row each, for a person's count. Both indexes on
    // messages are partial: a plain message's insert touches neither. A summary's change marks its root
    // `revised` (10), so `messages_changed` has it for `since=`. `people` is whom `@name` can
    // mention; `thread_people` who takes part in which thread; `thread_reads` per-thread read marks.
    "ALTER TABLE messages ADD COLUMN thread INTEGER;
     ALTER TABLE messages ADD COLUMN also_in_room INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE messages ADD COLUMN mentions TEXT;
     ALTER TABLE messages ADD COLUMN summary TEXT;
     ALTER TABLE messages ADD COLUMN thread_last INTEGER;
     CREATE INDEX messages_in_thread ON messages (thread, seq) WHERE thread IS NOT NULL;
     CREATE INDEX messages_by_activity ON messages (thread_last) WHERE thread_last IS NOT NULL;
     CREATE TABLE mentions (uid TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (uid, seq));
     CREATE INDEX mentions_by_seq ON mentions (seq);
     CREATE TABLE people (uid TEXT PRIMARY KEY, name_key TEXT NOT NULL);
     CREATE INDEX people_by_name ON people (name_key);
     CREATE TABLE thread_people (root INTEGER NOT NULL, uid TEXT NOT NULL, PRIMARY KEY (root, uid));
     CREATE INDEX thread_people_by_uid ON thread_people (uid);
     CREATE TABLE thread_reads (uid TEXT NOT NULL, root INTEGER NOT NULL, seq INTEGER NOT NULL,
       PRIMARY KEY (uid, root));",
    // 12: inboxes. The identities whose inbox the room tells (each joined, and has not left it), with
    // the name they last came with; and a direct message's fixed members (`worker/room_inboxes.rs`).
    "CREATE TABLE inbox_members (uid TEXT PRIMARY KEY, name TEXT NOT NULL, at INTEGER NOT NULL);
     CREATE TABLE dm_members (uid TEXT PRIMARY KEY, name TEXT);",
];

impl Store {
    /// Indexes up to `batch` messages stored before the search index existed (migration 4), newest
    /// first; returns whether any are left. One turn's bounded work: the caller comes back in a later
    /// turn for the rest, so sockets and searches are served in between (a search meanwhile finds
    /// what is indexed so far). Progress is kept in `meta`, in the same transaction as the rows, so a
    /// room evicted halfway resumes where it stopped on its next wake.
    pub fn index_some(&self, batch: u64) -> Result<bool, String> {
        let pending = self.unindexed()?;
        if pending == 0 {
            return Ok(false);
        }
        let done_down_to = pending.saturating_sub(batch);
        self.run(
            "INSERT INTO messages_fts (rowid, text) SELECT seq, text FROM messages WHERE seq > ? AND seq <= ?",
            vec![int(done_down_to), int(pending)],
        )?;
        self.run(
            "UPDATE meta SET value = ? WHERE key = 'fts_pending'",
            vec![int(done_down_to)],
        )?;
        Ok(done_down_to > 0)
    }

    /// The highest `seq` not in the search index yet (0: every message is).
    pub fn unindexed(&self) -> Result<u64, String> {
        self.number(
            "SELECT COALESCE(MAX(value), 0) FROM meta WHERE key = 'fts_pending'",
            vec![],
        )
    }
}
