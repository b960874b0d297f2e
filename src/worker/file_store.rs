//! The room's record of its uploads in SQLite (the `files` table of migration 8): [`FileLog`] for
//! the pure room, and what the purge task needs — the doomed uploads, and forgetting them once the
//! bucket has deleted their objects. Written in the same turn as the message change that dooms them,
//! so the record and the message commit together (see `crate::files::log`).

use worker::SqlStorageValue;

use super::store::{files_json, int, opt_int, Cells, Store};
use crate::domain::{ChatMessage, FileDescriptor};
use crate::files::log::{FileLog, Stored};

const COLUMNS: &str = "id, name, type, size, width, height, thumb, owner, at, seq, done";

/// A row of [`COLUMNS`].
fn stored(row: &mut Cells) -> Stored {
    Stored {
        file: FileDescriptor {
            id: row.text(),
            name: row.text(),
            content_type: row.text(),
            size: row.int(),
            width: row.opt_int().map(|w| w.min(u32::MAX.into()) as u32),
            height: row.opt_int().map(|h| h.min(u32::MAX.into()) as u32),
            thumb: row.int() != 0,
        },
        owner: row.text(),
        at: row.int(),
        seq: row.opt_int(),
        done: row.int() != 0,
    }
}

/// `?, ?, …` for `n` values and the ids as bindings.
fn list(ids: &[String]) -> (String, Vec<SqlStorageValue>) {
    let marks = vec!["?"; ids.len()].join(",");
    (marks, ids.iter().map(|id| id.as_str().into()).collect())
}

impl FileLog for Store {
    fn reserve_file(&mut self, id: &str, owner: &str, at: u64) -> Result<(), String> {
        self.run(
            "INSERT INTO files (id, owner, at) VALUES (?, ?, ?)",
            vec![id.into(), owner.into(), int(at)],
        )
        .map(drop)
    }

    fn complete_file(&mut self, file: &FileDescriptor) -> Result<bool, String> {
        let w = file.width.map(u64::from);
        let h = file.height.map(u64::from);
        self.run(
            "UPDATE files SET name = ?, type = ?, size = ?, width = ?, height = ?, done = 1
             WHERE id = ? AND done = 0 AND seq IS NULL AND doomed = 0",
            vec![
                file.name.as_str().into(),
                file.content_type.as_str().into(),
                int(file.size),
                opt_int(w),
                opt_int(h),
                file.id.as_str().into(),
            ],
        )
        .map(|n| n > 0)
    }

    fn set_thumb(&mut self, id: &str) -> Result<bool, String> {
        self.run(
            "UPDATE files SET thumb = 1 WHERE id = ? AND done = 1 AND seq IS NULL AND doomed = 0",
            vec![id.into()],
        )
        .map(|n| n > 0)
    }

    fn file(&self, id: &str) -> Result<Option<Stored>, String> {
        let query = format!("SELECT {COLUMNS} FROM files WHERE id = ? AND doomed = 0");
        Ok(self.query(&query, vec![id.into()])?.first_mut().map(stored))
    }

    fn unused_by(&self, owner: &str) -> Result<u64, String> {
        self.number(
            "SELECT COUNT(*) FROM files WHERE owner = ? AND seq IS NULL AND doomed = 0",
            vec![owner.into()],
        )
    }

    fn attach_files(&mut self, ids: &[String], seq: u64) -> Result<(), String> {
        let (marks, mut bindings) = list(ids);
        bindings.insert(0, int(seq));
        self.run(
            &format!("UPDATE files SET seq = ? WHERE id IN ({marks})"),
            bindings,
        )
        .map(drop)
    }

    fn doom_files(&mut self, ids: &[String]) -> Result<(), String> {
        let (marks, bindings) = list(ids);
        self.run(
            &format!("UPDATE files SET doomed = 1 WHERE id IN ({marks})"),
            bindings,
        )
        .map(drop)
    }

    fn doom_files_of(&mut self, seq: u64) -> Result<(), String> {
        self.run("UPDATE files SET doomed = 1 WHERE seq = ?", vec![int(seq)])
            .map(drop)
    }

    fn doom_files_in(&mut self, after: u64, upto: u64) -> Result<u64, String> {
        self.run(
            "UPDATE files SET doomed = 1 WHERE seq > ? AND seq <= ? AND doomed = 0",
            vec![int(after), int(upto)],
        )
        .map(|n| n as u64)
    }

    fn doom_unused(&mut self, before: u64) -> Result<u64, String> {
        self.run(
            "UPDATE files SET doomed = 1 WHERE seq IS NULL AND doomed = 0 AND at <= ?",
            vec![int(before)],
        )
        .map(|n| n as u64)
    }

    fn oldest_unused(&self) -> Result<Option<u64>, String> {
        Ok(self
            .query(
                "SELECT MIN(at) FROM files WHERE seq IS NULL AND doomed = 0",
                vec![],
            )?
            .first_mut()
            .and_then(Cells::opt_int))
    }

    fn revise(&mut self, msg: &ChatMessage) -> Result<(), String> {
        let preview = msg
            .preview
            .as_ref()
            .and_then(|p| serde_json::to_string(p).ok());
        self.run(
            "UPDATE messages SET files = ?, preview = ?, rev = ?, revised = 1 WHERE seq = ?",
            vec![
                files_json(&msg.files),
                preview.as_deref().into(),
                int(msg.rev),
                int(msg.seq),
            ],
        )
        .map(drop)
    }
}

impl Store {
    /// Up to `limit` doomed uploads, oldest first, for the purge task: their ids.
    pub fn doomed_files(&self, limit: usize) -> Result<Vec<String>, String> {
        Ok(self
            .query(
                "SELECT id FROM files WHERE doomed = 1 ORDER BY at LIMIT ?",
                vec![int(limit as u64)],
            )?
            .into_iter()
            .map(|mut row| row.text())
            .collect())
    }

    /// Forgets uploads whose objects the bucket has deleted.
    pub fn forget_files(&self, ids: &[String]) -> Result<(), String> {
        let (marks, bindings) = list(ids);
        self.run(
            &format!("DELETE FROM files WHERE doomed = 1 AND id IN ({marks})"),
            bindings,
        )
        .map(drop)
    }
}
