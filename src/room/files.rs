//! Files and link previews in the room: who may upload (the rules that hold for a message hold for
//! its files, [`Room::admit_upload`]), an upload's record from reservation to use
//! ([`Room::uploaded`], thumbnails), the files a message names ([`Room::claim`]: uploads of this
//! room, not used yet, the sender's), what an edit may do to them (remove, not add), the sweep of
//! uploads never used, and previews: asked for after a message is stored ([`Effect::Preview`]) and
//! recorded, when the page answered in time, as a change under a new `rev` ([`Room::previewed`]).

use super::*;
use crate::domain::{sender_key, FileDescriptor, Preview};
use crate::files::log::{may_use, Uploader};
use crate::files::sniff::Raster;
use crate::files::{FileId, MAX_UNUSED_PER_AUTHOR};
use crate::preview::{self, MAX_IN_FLIGHT};

/// A preview fetch that has not answered within this (ms) is taken for lost (its task went with a
/// crash); its slot among [`MAX_IN_FLIGHT`] is free again.
const PREVIEW_LOST_MS: u64 = 4 * preview::TIMEOUT_MS as u64;

/// A preview being fetched: for message `seq`, of `link`, since `at` (ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Fetching {
    seq: u64,
    link: String,
    at: u64,
}

/// A message's files and preview after an edit, and the ids of the files it removed.
pub(super) struct Attachments {
    pub files: Vec<FileDescriptor>,
    pub removed: Vec<String>,
    pub preview: Option<Preview>,
}

impl<S: Place> Room<S> {
    /// May `who` upload a file to this room now? The rules of a message hold (a ban, of the uid or
    /// the address; `require_identity`; a mute; slow mode, asked whether the message it is for could
    /// be sent, without counting it), and an author holds at most [`MAX_UNUSED_PER_AUTHOR`] uploads
    /// no message used yet. If so, upload `id` is reserved (recorded before its bytes are stored).
    pub fn admit_upload(
        &mut self,
        id: &FileId,
        who: &Uploader,
        history: &mut dyn History,
        now_ms: u64,
    ) -> Result<(), Problem> {
        let user = who.as_user();
        if who.uid.as_deref().is_some_and(|uid| self.rules.banned(uid))
            || self.rules.address_banned(who.address, now_ms)
        {
            return Err(Problem::new(
                ErrorCode::Banned,
                "a moderator banned you from this room",
            ));
        }
        self.rules.check_speaking(&user, now_ms)?;
        // Slow mode goes by author: an anonymous uploader's messages go by a name it does not give.
        if who.role != Role::Moderator && who.uid.is_some() {
            self.rules
                .slow_mode_allows(Change::Message, &sender_key(&user), now_ms)?;
        }
        let owner = who.owner();
        if history.unused_by(&owner).map_err(storage)? >= MAX_UNUSED_PER_AUTHOR {
            return Err(Problem::new(
                ErrorCode::RateLimited,
                format!(
                    "you have {MAX_UNUSED_PER_AUTHOR} uploads no message uses yet; send them first"
                ),
            ));
        }
        history
            .reserve_file(id.as_str(), &owner, now_ms)
            .map_err(storage)?;
        let due = now_ms + self.limits.files.unused_ms;
        self.uploads_due = Some(self.uploads_due.map_or(due, |d| d.min(due)));
        Ok(())
    }

    /// The bytes of reserved upload `file.id` are stored: it is done, ready for a message.
    /// `not_found` if its reservation is gone (swept: it took longer than `FILE_UNUSED_SECS`).
    pub fn uploaded(
        &mut self,
        file: &FileDescriptor,
        history: &mut dyn History,
    ) -> Result<(), Problem> {
        if history.complete_file(file).map_err(storage)? {
            Ok(())
        } else {
            Err(gone(&file.id))
        }
    }

    /// May `who` store a thumbnail for upload `id`? Only the uploader, for a done raster image no
    /// message uses yet.
    pub fn may_thumb(
        &self,
        id: &FileId,
        who: &Uploader,
        history: &dyn History,
    ) -> Result<(), Problem> {
        match history.file(id.as_str()).map_err(storage)? {
            Some(u) if u.done && u.seq.is_none() && u.owner == who.owner() => {
                if Raster::of_type(&u.file.content_type).is_some() {
                    Ok(())
                } else {
                    Err(Problem::new(
                        ErrorCode::BadRequest,
                        "only an image has a thumbnail",
                    ))
                }
            }
            _ => Err(gone(id.as_str())),
        }
    }

    /// Upload `id`'s thumbnail is stored: its descriptor, as a message will carry it.
    pub fn thumbed(
        &mut self,
        id: &FileId,
        history: &mut dyn History,
    ) -> Result<FileDescriptor, Problem> {
        if !history.set_thumb(id.as_str()).map_err(storage)? {
            return Err(gone(id.as_str()));
        }
        match history.file(id.as_str()).map_err(storage)? {
            Some(u) => Ok(u.file),
            None => Err(gone(id.as_str())),
        }
    }

    /// The descriptors of the files a message from `from` (with client id `client_id`) names: each
    /// must be a done upload of this room that no message uses and that `from` may use; else
    /// `bad_file`, and nothing is stored. A file used by an earlier message of the same sender and
    /// client id passes: the message is a retry, which [`Room::submit`] answers with the original.
    pub(super) fn claim(
        &self,
        from: &User,
        ids: &[FileId],
        client_id: Option<&str>,
        history: &dyn History,
    ) -> Result<Vec<FileDescriptor>, Problem> {
        let mut files = Vec::with_capacity(ids.len());
        for id in ids {
            let upload = history.file(id.as_str()).map_err(storage)?;
            let Some(upload) = upload.filter(|u| u.done && may_use(&u.owner, from)) else {
                return Err(Problem::new(
                    ErrorCode::BadFile,
                    format!(
                        "file {} is not an upload of yours to this room",
                        id.as_str()
                    ),
                ));
            };
            if let Some(seq) = upload.seq {
                let retry = match (client_id, history.get(seq).map_err(storage)?) {
                    (Some(cid), Some(m)) => {
                        m.id.as_deref() == Some(cid) && sender_key(&m.from) == sender_key(from)
                    }
                    _ => false,
                };
                if !retry {
                    return Err(Problem::new(
                        ErrorCode::BadFile,
                        format!("file {} is used by another message", id.as_str()),
                    ));
                }
            }
            files.push(upload.file);
        }
        Ok(files)
    }

    /// What follows a message's store in the same turn: its files become used by it, and its first
    /// link is asked for a preview (when previews are on and not too many are on their way).
    pub(super) fn stored_message(
        &mut self,
        msg: &ChatMessage,
        history: &mut dyn History,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Problem> {
        if !msg.files.is_empty() {
            let ids: Vec<String> = msg.files.iter().map(|f| f.id.clone()).collect();
            history.attach_files(&ids, msg.seq).map_err(storage)?;
        }
        if !self.limits.previews {
            return Ok(());
        }
        let Some(link) = preview::first_link(&msg.text) else {
            return Ok(());
        };
        let now = msg.ts;
        self.previews
            .retain(|f| now.saturating_sub(f.at) < PREVIEW_LOST_MS);
        if self.previews.len() < MAX_IN_FLIGHT {
            self.previews.push(Fetching {
                seq: msg.seq,
                link: link.clone(),
                at: now,
            });
            effects.push(Effect::Preview { seq: msg.seq, link });
        }
        Ok(())
    }

    /// The preview of `link` for message `seq` came back (`None`: the page gave none, or the fetch
    /// failed). Recorded as a change to the message under a new `rev` (`message_updated` to every
    /// connection, a webhook event), unless the message is gone, already has one, or its sender
    /// removed it meanwhile.
    pub fn previewed(
        &mut self,
        seq: u64,
        link: &str,
        preview: Option<Preview>,
        history: &mut dyn History,
        now_ms: u64,
    ) -> Result<Vec<Effect>, Problem> {
        let Some(i) = self
            .previews
            .iter()
            .position(|f| f.seq == seq && f.link == link)
        else {
            return Ok(Vec::new());
        };
        self.previews.remove(i);
        let Some(preview) = preview else {
            return Ok(Vec::new());
        };
        let msg = match self.kept(history, seq)? {
            Some(m) if !m.deleted && m.preview.is_none() => m,
            _ => return Ok(Vec::new()),
        };
        let revised = ChatMessage {
            preview: Some(preview),
            rev: self.rev + 1,
            ..msg
        };
        history.revise(&revised).map_err(storage)?;
        self.rev = revised.rev;
        let mut effects = vec![updated(&revised)];
        self.event(
            EventKind::MessageUpdated,
            &revised,
            now_ms,
            None,
            &mut effects,
        );
        Ok(effects)
    }

    /// What an edit does to a message's files and preview: `keep` (if given) lists the files it keeps
    /// — only files it has (`bad_file` for any other: an edit removes files, it never adds them) —
    /// and `drop_preview` removes its preview (and any on its way).
    pub(super) fn attachments_after(
        &mut self,
        msg: &ChatMessage,
        keep: Option<Vec<FileId>>,
        drop_preview: bool,
    ) -> Result<Attachments, Problem> {
        if drop_preview {
            self.previews.retain(|f| f.seq != msg.seq);
        }
        let preview = if drop_preview {
            None
        } else {
            msg.preview.clone()
        };
        let Some(keep) = keep else {
            return Ok(Attachments {
                files: msg.files.clone(),
                removed: Vec::new(),
                preview,
            });
        };
        if let Some(stranger) = keep
            .iter()
            .find(|id| !msg.files.iter().any(|f| f.id == id.as_str()))
        {
            return Err(Problem::new(
                ErrorCode::BadFile,
                format!(
                    "file {} is not on message {}: an edit may remove files, not add them",
                    stranger.as_str(),
                    msg.seq
                ),
            ));
        }
        let (kept, removed): (Vec<FileDescriptor>, Vec<FileDescriptor>) = msg
            .files
            .iter()
            .cloned()
            .partition(|f| keep.iter().any(|id| id.as_str() == f.id));
        Ok(Attachments {
            files: kept,
            removed: removed.into_iter().map(|f| f.id).collect(),
            preview,
        })
    }

    /// A deleted message's files leave the bucket, and a preview on its way is no longer wanted.
    pub(super) fn drop_attachments(
        &mut self,
        gone: &ChatMessage,
        history: &mut dyn History,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Problem> {
        self.previews.retain(|f| f.seq != gone.seq);
        if !gone.files.is_empty() {
            history.doom_files_of(gone.seq).map_err(storage)?;
            effects.push(Effect::DeleteFiles);
        }
        Ok(())
    }

    /// When the oldest upload no message used is due for the sweep (ms), if any: the Durable Object
    /// sets its alarm for it.
    pub fn uploads_due(&self) -> Option<u64> {
        self.uploads_due
    }

    /// Tells the room when its oldest unused upload began (read from storage after a wake).
    pub fn set_oldest_upload(&mut self, at: Option<u64>) {
        self.uploads_due = at.map(|at| at + self.limits.files.unused_ms);
    }

    /// The sweep: uploads no message used within `FILE_UNUSED_SECS` are doomed (and the bucket
    /// purged after the turn); the next sweep is due when the oldest left turns that old.
    pub fn sweep_uploads(
        &mut self,
        history: &mut dyn History,
        now_ms: u64,
    ) -> Result<Vec<Effect>, Problem> {
        if self.uploads_due.is_none_or(|due| due > now_ms) {
            return Ok(Vec::new());
        }
        let doomed = match history.doom_unused(now_ms.saturating_sub(self.limits.files.unused_ms)) {
            Ok(doomed) => doomed,
            Err(e) => {
                // Tried again a minute later, not at once: the alarm must not fire in a loop.
                self.uploads_due = Some(now_ms + 60_000);
                return Err(storage(e));
            }
        };
        self.set_oldest_upload(history.oldest_unused().map_err(storage)?);
        Ok(if doomed > 0 {
            vec![Effect::DeleteFiles]
        } else {
            Vec::new()
        })
    }
}

/// `not_found` for an upload that is not (or no longer) there to act on.
fn gone(id: &str) -> Problem {
    Problem::new(
        ErrorCode::NotFound,
        format!("no upload {id} in progress here (uploads not sent within an hour are removed)"),
    )
}
