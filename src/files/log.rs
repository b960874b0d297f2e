//! What a room records of its uploads, and the storage it needs for that: the [`FileLog`] trait
//! (SQLite in the Durable Object, `worker/file_store.rs`; [`crate::history::MemoryHistory`] in
//! tests), and who an upload belongs to ([`owner`]).
//!
//! An upload's life: *reserved* when its request passed the room's rules (before a byte is stored,
//! so that an upload whose Worker died half-way is still known and swept), *done* once its bytes are
//! in the bucket, *used* by the one message that names it, and *doomed* when it must leave the bucket
//! (its message deleted or trimmed, removed by an edit, or never used within
//! `FILE_UNUSED_SECS`, an hour by default). Doomed uploads are deleted from the bucket after the turn that doomed
//! them, and forgotten only once the bucket confirmed it: nothing a message shows is deleted, and
//! nothing is left in the bucket that no record points to.

use crate::domain::{sender_key, ChatMessage, FileDescriptor, User};
use crate::identity::AddressTag;
use crate::session::Role;

/// Who asks to upload: what their credentials make them, as for a socket (`access::check_uploader`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploader {
    /// The author id of a key or a signed token; `None` for an anonymous uploader.
    pub uid: Option<String>,
    pub role: Role,
    /// The client's address (hashed) in an open room, for its address bans.
    pub address: Option<AddressTag>,
}

impl Uploader {
    /// Its uploads' [`owner`].
    pub fn owner(&self) -> String {
        owner(self.uid.as_deref(), self.address)
    }

    /// The member it would be on a socket, for the room's rules (a name is not needed for those).
    pub fn as_user(&self) -> User {
        User {
            id: String::new(),
            name: String::new(),
            uid: self.uid.clone(),
        }
    }
}

/// One upload as the room records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Its descriptor (only the id is meaningful until it is `done`).
    pub file: FileDescriptor,
    /// Who uploaded it ([`owner`]).
    pub owner: String,
    /// When its upload began (ms).
    pub at: u64,
    /// The message that uses it, once one does.
    pub seq: Option<u64>,
    /// Its bytes are in the bucket.
    pub done: bool,
}

/// The storage of a room's uploads, and of the parts of a message they and previews change.
pub trait FileLog {
    /// Records that `owner` began uploading `id` at `at` (ms).
    fn reserve_file(&mut self, id: &str, owner: &str, at: u64) -> Result<(), String>;
    /// Records that the bytes of the reserved, unused upload `file.id` are stored; false when there is
    /// no such reservation (swept meanwhile, or done already).
    fn complete_file(&mut self, file: &FileDescriptor) -> Result<bool, String>;
    /// Records that the done, unused upload `id` has a thumbnail; false when there is no such upload.
    fn set_thumb(&mut self, id: &str) -> Result<bool, String>;
    /// The upload `id`, unless it is unknown or doomed.
    fn file(&self, id: &str) -> Result<Option<Stored>, String>;
    /// How many uploads `owner` holds that no message uses yet.
    fn unused_by(&self, owner: &str) -> Result<u64, String>;
    /// Records that message `seq` uses the uploads `ids`.
    fn attach_files(&mut self, ids: &[String], seq: u64) -> Result<(), String>;
    /// Dooms the uploads `ids` (removed from their message by an edit).
    fn doom_files(&mut self, ids: &[String]) -> Result<(), String>;
    /// Dooms the uploads message `seq` uses (it was deleted).
    fn doom_files_of(&mut self, seq: u64) -> Result<(), String>;
    /// Dooms the uploads of the messages with `after < seq <= upto` (erased by retention); how many.
    fn doom_files_in(&mut self, after: u64, upto: u64) -> Result<u64, String>;
    /// Dooms the uploads no message used that began at or before `before` (ms); how many.
    fn doom_unused(&mut self, before: u64) -> Result<u64, String>;
    /// When the oldest upload no message uses began, if there is one.
    fn oldest_unused(&self) -> Result<Option<u64>, String>;
    /// Stores message `msg`'s files and preview as they now are, under its `rev` (a file removed by
    /// an edit, a preview recorded or removed), marking it changed for a resume's `since=`.
    fn revise(&mut self, msg: &ChatMessage) -> Result<(), String>;
}

/// Who an upload belongs to: `u:<uid>` for an identity (a key or a signed token), whose messages
/// alone may use it; otherwise `a:<address tag>` or `a:`, which any message may use (an anonymous
/// socket cannot prove it is the uploader, and the id is the upload's secret). It also keys the count
/// of unused uploads per author.
pub fn owner(uid: Option<&str>, address: Option<AddressTag>) -> String {
    match (uid, address) {
        (Some(uid), _) => format!("u:{uid}"),
        (None, Some(tag)) => format!("a:{tag}"),
        (None, None) => "a:".to_string(),
    }
}

/// Whether a message from `from` may use an upload of `owner`.
pub fn may_use(owner: &str, from: &User) -> bool {
    match owner.strip_prefix("u:") {
        Some(_) => sender_key(from) == owner,
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identitys_uploads_are_its_own_and_anonymous_ones_anyones() {
        let ann = User {
            id: "c1".into(),
            name: "ann".into(),
            uid: Some("ann-uid".into()),
        };
        let anon = User::connection("c2".into(), "bob".into(), None);
        let mine = owner(Some("ann-uid"), AddressTag::of("198.51.100.7"));
        assert_eq!(mine, "u:ann-uid");
        assert!(may_use(&mine, &ann));
        assert!(!may_use(&mine, &anon));
        let theirs = owner(None, AddressTag::of("198.51.100.7"));
        assert!(theirs.starts_with("a:") && theirs.len() > 2);
        assert!(may_use(&theirs, &anon) && may_use(&theirs, &ann));
        assert_eq!(owner(None, None), "a:");
    }
}
