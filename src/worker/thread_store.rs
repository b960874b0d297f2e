//! Threads and mentions in the room's SQLite: [`ThreadHistory`] for the [`Store`] (migration 8's
//! tables and columns). Every query here is bounded by an index: a thread's replies by
//! `messages_in_thread`, the list of threads by `messages_by_activity`, a person's mentions by the
//! `mentions` key, their threads by `thread_people_by_uid`. Nothing here runs for a plain message.

use worker::SqlStorageValue;

use super::store::{int, Store, COLUMNS};
use crate::domain::{ChatMessage, ThreadSummary};
use crate::history::ThreadHistory;
use crate::thread::{ThreadUnread, MAX_PARTICIPANTS};

/// The most values bound to one statement (the runtime's SQL API allows 100 per query).
const MAX_BOUND: usize = 90;

/// `?, ?, …` for `n` values.
fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

impl ThreadHistory for Store {
    fn met(&mut self, uid: &str, name: &str) -> Result<(), String> {
        self.note_person(uid, &crate::mention::name_key(name))
    }

    /// Looked up in chunks of [`MAX_BOUND`]: a text's names are bounded (`mention::MAX_KEYS`). In a
    /// blank database (the first message is being written) the people who joined are still waiting
    /// in memory.
    fn people(&self, keys: &[String], uids: &[String]) -> Result<Vec<(String, String)>, String> {
        if self.blank.get() {
            return Ok(self
                .people_waiting
                .borrow()
                .iter()
                .filter(|(uid, key)| keys.contains(key) || uids.contains(uid))
                .cloned()
                .collect());
        }
        let mut found = Vec::new();
        for (column, values) in [("name_key", keys), ("uid", uids)] {
            for chunk in values.chunks(MAX_BOUND) {
                let sql = format!(
                    "SELECT uid, name_key FROM people WHERE {column} IN ({})",
                    marks(chunk.len())
                );
                let bound = chunk.iter().map(|v| v.as_str().into()).collect();
                for mut row in self.query(&sql, bound)? {
                    found.push((row.text(), row.text()));
                }
            }
        }
        Ok(found)
    }

    fn set_summary(&mut self, root: u64, summary: &ThreadSummary, rev: u64) -> Result<(), String> {
        let packed = summary.pack();
        let last = (summary.replies > 0).then_some(summary.last_seq);
        self.run(
            "UPDATE messages SET summary = ?, thread_last = ?, rev = ? WHERE seq = ?",
            vec![
                packed.as_str().into(),
                last.map_or(SqlStorageValue::Null, int),
                int(rev),
                int(root),
            ],
        )
        .map(drop)
    }

    /// Three small reads of the thread's index: the count, the newest reply, the first repliers.
    fn summarize(&self, root: &ChatMessage) -> Result<ThreadSummary, String> {
        let live = "FROM messages WHERE thread = ? AND deleted = 0";
        let replies = self.number(&format!("SELECT COUNT(*) {live}"), vec![int(root.seq)])?;
        let newest = self
            .query(
                &format!("SELECT seq, ts {live} ORDER BY seq DESC LIMIT 1"),
                vec![int(root.seq)],
            )?
            .into_iter()
            .next()
            .map(|mut row| (row.int(), row.int()));
        let (last_seq, last_at) = newest.unwrap_or((root.seq, root.ts));
        let participants = self
            .query(
                &format!(
                    "SELECT from_uid {live} AND from_uid IS NOT NULL GROUP BY from_uid ORDER BY MIN(seq) LIMIT ?"
                ),
                vec![int(root.seq), int(MAX_PARTICIPANTS as u64)],
            )?
            .into_iter()
            .map(|mut row| row.text())
            .collect();
        Ok(ThreadSummary {
            replies: replies.min(u32::MAX.into()) as u32,
            last_seq,
            last_at,
            participants,
        })
    }

    fn replies(&self, root: u64, after: u64, limit: usize) -> Result<Vec<ChatMessage>, String> {
        let sql = format!(
            "SELECT {COLUMNS} FROM messages WHERE thread = ? AND seq > ? ORDER BY seq LIMIT ?"
        );
        self.rows(&sql, vec![int(root), int(after), int(limit as u64)])
    }

    fn threads(&self, before: u64, limit: usize) -> Result<Vec<ChatMessage>, String> {
        let sql = format!(
            "SELECT {COLUMNS} FROM messages WHERE thread_last IS NOT NULL AND thread_last < ? ORDER BY thread_last DESC LIMIT ?"
        );
        self.rows(&sql, vec![int(before), int(limit as u64)])
    }

    fn take_part(&mut self, root: u64, uids: &[String]) -> Result<(), String> {
        for chunk in uids.chunks(MAX_BOUND / 2) {
            let sql = format!(
                "INSERT OR IGNORE INTO thread_people (root, uid) VALUES {}",
                vec!["(?, ?)"; chunk.len()].join(", ")
            );
            let bound = chunk
                .iter()
                .flat_map(|uid| [int(root), uid.as_str().into()])
                .collect();
            self.run(&sql, bound)?;
        }
        Ok(())
    }

    fn participants(&self, root: u64, limit: usize) -> Result<Vec<String>, String> {
        Ok(self
            .query(
                "SELECT uid FROM thread_people WHERE root = ? LIMIT ?",
                vec![int(root), int(limit as u64)],
            )?
            .into_iter()
            .map(|mut row| row.text())
            .collect())
    }

    fn thread_read_mark(&self, uid: &str, root: u64) -> Result<u64, String> {
        self.number(
            "SELECT COALESCE(MAX(seq), 0) FROM thread_reads WHERE uid = ? AND root = ?",
            vec![uid.into(), int(root)],
        )
    }

    fn set_thread_read_mark(&mut self, uid: &str, root: u64, seq: u64) -> Result<(), String> {
        self.run(
            "INSERT INTO thread_reads (uid, root, seq) VALUES (?, ?, ?) ON CONFLICT (uid, root) DO UPDATE SET seq = excluded.seq",
            vec![uid.into(), int(root), int(seq)],
        )
        .map(drop)
    }

    /// The person's mention rows (and the room's, `*`) after `after`, each message once, judged by
    /// the read mark that applies to where it was said.
    fn unread_mentions(&self, uid: &str, main_mark: u64, after: u64) -> Result<u64, String> {
        self.number(
            "SELECT COUNT(DISTINCT m.seq) FROM mentions n JOIN messages m ON m.seq = n.seq
             WHERE n.uid IN (?1, '*') AND n.seq > ?3 AND m.deleted = 0
               AND (m.from_uid IS NULL OR m.from_uid != ?1)
               AND CASE WHEN m.thread IS NULL THEN m.seq > ?2
                   ELSE m.seq > COALESCE((SELECT seq FROM thread_reads r WHERE r.uid = ?1 AND r.root = m.thread), 0)
                        AND NOT (m.also_in_room = 1 AND m.seq <= ?2) END",
            vec![uid.into(), int(main_mark), int(after)],
        )
    }

    fn unread_threads(&self, uid: &str, limit: usize) -> Result<Vec<ThreadUnread>, String> {
        Ok(self
            .query(
                "SELECT p.root, COUNT(m.seq), MAX(m.seq) AS newest FROM thread_people p
                 JOIN messages m ON m.thread = p.root
                 WHERE p.uid = ?1 AND m.deleted = 0 AND (m.from_uid IS NULL OR m.from_uid != ?1)
                   AND m.seq > COALESCE((SELECT seq FROM thread_reads r WHERE r.uid = ?1 AND r.root = p.root), 0)
                 GROUP BY p.root ORDER BY newest DESC LIMIT ?2",
                vec![uid.into(), int(limit as u64)],
            )?
            .into_iter()
            .map(|mut row| ThreadUnread {
                root: row.int(),
                unread: row.int(),
            })
            .collect())
    }

    fn mentions_between(&self, uid: &str, from: u64, upto: u64) -> Result<u64, String> {
        self.number(
            "SELECT COUNT(*) FROM mentions WHERE uid IN (?, '*') AND seq > ? AND seq <= ?",
            vec![uid.into(), int(from), int(upto)],
        )
    }
}
