//! Threads and mentions in the room's SQLite: [`ThreadHistory`] for the [`Store`] (migration 11's
//! tables and columns). Every query here is bounded by an index: a thread's replies by
//! `messages_in_thread`, the list of threads by `messages_by_activity`, a person's mentions by the
//! `mentions` key, their threads by `thread_people_by_uid`. Nothing here runs for a plain message.

use worker::SqlStorageValue;

use super::{int, Cells, Store, COLUMNS};
use crate::domain::{ChatMessage, Thread, ThreadSummary};
use crate::history::ThreadHistory;
use crate::thread::{ThreadUnread, MAX_PARTICIPANTS};

/// The most values bound to one statement (the runtime's SQL API allows 100 per query).
const MAX_BOUND: usize = 90;

/// `?, ?, …` for `n` values.
fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

impl ChatMessage {
    /// Its place in a thread and its mentions, from the last cells of [`COLUMNS`].
    pub(super) fn threaded(mut self, cells: &mut Cells) -> ChatMessage {
        let reply_in = cells.opt_int();
        self.also_in_room = cells.int() != 0;
        if let Some(packed) = cells.opt_text() {
            for uid in packed.split(' ').filter(|u| !u.is_empty()) {
                match uid {
                    ROOM_MENTION => self.mentions_room = true,
                    uid => self.mentions.push(uid.to_string()),
                }
            }
        }
        let summary = cells
            .opt_text()
            .and_then(|packed| ThreadSummary::unpack(&packed));
        self.thread = match (summary, reply_in) {
            (Some(summary), _) => Some(Thread::Root(summary)),
            (None, Some(root)) => Some(Thread::In(root)),
            (None, None) => None,
        };
        self
    }
}

/// How `@room` is kept among a message's mentions (no uid has a `*`).
pub(super) const ROOM_MENTION: &str = "*";

/// A message's mentions as the `mentions` column packs them (`None`: none).
pub(super) fn packed_mentions(m: &ChatMessage) -> Option<String> {
    let room = m.mentions_room.then_some(ROOM_MENTION);
    let all: Vec<&str> = room
        .into_iter()
        .chain(m.mentions.iter().map(String::as_str))
        .collect();
    (!all.is_empty()).then(|| all.join(" "))
}

impl Store {
    /// Notes a person who has been in the room by the name key they use now (whom `@name`
    /// mentions). In a blank database they wait for its first write: joining a room nobody wrote
    /// to stores nothing. No row is written when nothing changed (a reconnect under the same name).
    pub(super) fn note_person(&self, uid: &str, key: &str) -> Result<(), String> {
        if self.blank.get() {
            let mut waiting = self.people_waiting.borrow_mut();
            waiting.retain(|(u, _)| u != uid);
            waiting.push((uid.to_string(), key.to_string()));
            return Ok(());
        }
        self.run(
            "INSERT INTO people (uid, name_key) VALUES (?, ?) ON CONFLICT (uid) DO UPDATE SET name_key = excluded.name_key WHERE name_key != excluded.name_key",
            vec![uid.into(), key.into()],
        )
        .map(drop)
    }

    /// The `mentions` rows of a message just written (one per mentioned uid, `*` for @room), so a
    /// person's count is an index range. Nothing for a message that mentions nobody.
    pub(super) fn mention(&self, m: &ChatMessage) -> Result<(), String> {
        let room = m.mentions_room.then_some(ROOM_MENTION);
        for uid in room
            .into_iter()
            .chain(m.mentions.iter().map(String::as_str))
        {
            self.run(
                "INSERT OR IGNORE INTO mentions (uid, seq) VALUES (?, ?)",
                vec![uid.into(), int(m.seq)],
            )?;
        }
        Ok(())
    }
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
            "UPDATE messages SET summary = ?, thread_last = ?, revised = 1, rev = ? WHERE seq = ?",
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
