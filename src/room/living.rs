//! Living messages: edits (with their versions; files and previews in [`super::files`]), deletions
//! (tombstones), reactions, read marks, and
//! the held-back read announcements [`Room::tick`] sends; each change under a new room `rev`.

use super::files::Attachments;
use super::*;

impl<S: Place> Room<S> {
    /// The stored message `seq` (a tombstone included), unless it is past the history limit.
    pub(super) fn kept(
        &self,
        history: &dyn History,
        seq: u64,
    ) -> Result<Option<ChatMessage>, Problem> {
        if seq <= self.oldest_kept_after() {
            return Ok(None);
        }
        history.get(seq).map_err(storage)
    }

    /// The stored, not deleted message `seq`, or `not_found`.
    pub(super) fn live_message(
        &self,
        history: &dyn History,
        seq: u64,
    ) -> Result<ChatMessage, Problem> {
        match self.kept(history, seq)? {
            Some(m) if !m.deleted => Ok(m),
            _ => Err(not_found(seq)),
        }
    }

    /// The author's own live message `seq`: `forbidden` for an anonymous connection or another
    /// author's message.
    pub(super) fn own_message(
        &self,
        from: &User,
        seq: u64,
        history: &dyn History,
    ) -> Result<ChatMessage, Problem> {
        let uid = identified(from)?;
        let msg = self.live_message(history, seq)?;
        authored_by(&msg, uid)?;
        Ok(msg)
    }

    /// An edit of one's own message: a new text (the old one kept as a version, its mentions
    /// resolved again: `@room` only for a `moderator`), fewer files, the preview removed — any of
    /// them, under one new `rev`. An edit that changes nothing (a retry) is acknowledged as the
    /// message stands.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn edit(
        &mut self,
        from: &User,
        moderator: bool,
        seq: u64,
        revision: Revision,
        history: &mut dyn History,
        now_ms: u64,
        effects: &mut Vec<Effect>,
    ) -> Result<Option<Accepted>, Problem> {
        let msg = self.own_message(from, seq, history)?;
        let Attachments {
            files,
            removed,
            preview,
        } = self.attachments_after(&msg, revision.keep, revision.drop_preview)?;
        let text = revision.text.unwrap_or_else(|| msg.text.clone());
        if text.is_empty() && files.is_empty() {
            return Err(Problem::new(
                ErrorCode::BadRequest,
                "message text is empty (and it keeps no file)",
            ));
        }
        let text_changed = msg.text != text;
        let attachments_changed = !removed.is_empty() || preview != msg.preview;
        if !text_changed && !attachments_changed {
            // Nothing to change (a retry of an edit already made): acknowledged as it stands.
            return Ok(Some(Accepted {
                seq,
                ts: msg.edited_at.unwrap_or(msg.ts),
                rev: msg.rev,
                fresh: false,
            }));
        }
        let (mentions, mentions_room) = match text_changed {
            true => self.mentions_in(&text, moderator, history)?,
            false => (msg.mentions.clone(), msg.mentions_room),
        };
        let previous = Version {
            version: msg.version,
            text: msg.text.clone(),
            at: msg.edited_at.unwrap_or(msg.ts),
        };
        let rev = self.rev + 1;
        let edited = if text_changed {
            ChatMessage {
                text,
                version: msg.version + 1,
                edited_at: Some(now_ms),
                rev,
                files,
                preview,
                mentions,
                mentions_room,
                ..msg.clone()
            }
        } else {
            ChatMessage {
                rev,
                files,
                preview,
                ..msg.clone()
            }
        };
        if text_changed {
            // The oldest versions past the cap go with this edit: a message's history stays
            // bounded however often it is edited, and version numbers are never reused.
            let drop_upto = edited.version.saturating_sub(self.limits.versions_limit);
            history
                .edit(&edited, &previous, drop_upto)
                .map_err(storage)?;
        }
        if attachments_changed {
            history.revise(&edited).map_err(storage)?;
        }
        if !removed.is_empty() {
            history.doom_files(&removed).map_err(storage)?;
            effects.push(Effect::DeleteFiles);
        }
        self.rev = rev;
        self.inbox.note(Note::Room { concerned: vec![] });
        effects.push(updated(&edited));
        self.event(EventKind::MessageUpdated, &edited, now_ms, None, effects);
        self.changed(&msg, &edited, history, effects)?;
        Ok(Some(Accepted {
            seq,
            ts: now_ms,
            rev,
            fresh: true,
        }))
    }

    /// Deletes message `seq`: its author's own, or anyone's by a moderator, who may give a `reason`
    /// (the room tells everyone, with the moderator's name; an author deleting their own message has
    /// nobody to explain it to, and the reason is not kept).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn delete(
        &mut self,
        from: &User,
        moderator: bool,
        seq: u64,
        reason: Option<String>,
        history: &mut dyn History,
        now_ms: u64,
        effects: &mut Vec<Effect>,
    ) -> Result<Option<Accepted>, Problem> {
        // The HTTP API deletes as a moderator without an author id of its own.
        let uid = match from.identity() {
            None if moderator => "",
            _ => identified(from)?,
        };
        // One read serves both cases: a tombstone of one's own is a retry (acknowledged, nothing
        // changes); otherwise the message must be live and one's own.
        let msg = match self.kept(history, seq)? {
            Some(gone) if gone.deleted && (moderator || gone.from.uid.as_deref() == Some(uid)) => {
                return Ok(Some(Accepted {
                    seq,
                    ts: gone.edited_at.unwrap_or(gone.ts),
                    rev: gone.rev,
                    fresh: false,
                }));
            }
            Some(live) if !live.deleted => live,
            _ => return Err(not_found(seq)),
        };
        let by_moderator = msg.from.uid.as_deref() != Some(uid);
        if !moderator {
            authored_by(&msg, uid)?;
        }
        let tombstone = self.erase(msg, history, now_ms, effects)?;
        if by_moderator {
            let record = Record::deletion(tombstone.from.uid.clone(), seq, reason, from, now_ms);
            let json = serde_json::to_string(&record).unwrap_or_default();
            history.log_moderation(&json, now_ms).map_err(storage)?;
            // Told like every moderation action, so the author's page can say a moderator deleted
            // it rather than show it as their own deletion.
            effects.push(Effect::Broadcast {
                except: None,
                frame: ServerFrame::Moderation(&record).to_json(),
            });
        }
        Ok(Some(Accepted {
            seq,
            ts: now_ms,
            rev: tombstone.rev,
            fresh: true,
        }))
    }

    /// Replaces the live message `msg` by its tombstone (stored, then told to everyone as
    /// `message_updated`, and to the webhook): every deletion's one path, an author's, a moderator's
    /// and a purge's.
    pub(super) fn erase(
        &mut self,
        msg: ChatMessage,
        history: &mut dyn History,
        now_ms: u64,
        effects: &mut Vec<Effect>,
    ) -> Result<ChatMessage, Problem> {
        let rev = self.rev + 1;
        // `edited_at` stays what it was: a deletion is not an edit (`deleted` says what happened).
        // Its mentions go with its text; its place in a thread stays (a root keeps its summary).
        let tombstone = ChatMessage {
            text: String::new(),
            deleted: true,
            reactions: Default::default(),
            rev,
            files: Vec::new(),
            preview: None,
            mentions: Vec::new(),
            mentions_room: false,
            ..msg.clone()
        };
        history.delete(&tombstone).map_err(storage)?;
        self.drop_attachments(&msg, history, effects)?;
        self.rev = rev;
        self.inbox.note(Note::Room { concerned: vec![] });
        effects.push(updated(&tombstone));
        self.event(EventKind::MessageDeleted, &tombstone, now_ms, None, effects);
        self.changed(&msg, &tombstone, history, effects)?;
        Ok(tombstone)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn react(
        &mut self,
        from: &User,
        seq: u64,
        emoji: &str,
        on: bool,
        history: &mut dyn History,
        now_ms: u64,
        effects: &mut Vec<Effect>,
    ) -> Result<Option<Accepted>, Problem> {
        let uid = identified(from)?;
        let msg = self.live_message(history, seq)?;
        if on && !msg.reactions.contains_key(emoji) && msg.reactions.len() >= MAX_REACTIONS {
            return Err(Problem::new(
                ErrorCode::TooLarge,
                format!("message {seq} already has {MAX_REACTIONS} different reactions"),
            ));
        }
        let rev = self.rev + 1;
        let Some(counts) = history
            .react(seq, emoji, uid, &from.name, on, rev)
            .map_err(storage)?
        else {
            return Ok(Some(Accepted {
                seq,
                ts: now_ms,
                rev: msg.rev,
                fresh: false,
            }));
        };
        self.rev = rev;
        effects.push(Effect::Broadcast {
            except: None,
            frame: ServerFrame::Reaction {
                seq,
                emoji,
                user: from,
                on,
                counts: &counts,
                rev,
            }
            .to_json(),
        });
        if self.webhooks {
            let kind = if on {
                EventKind::ReactionAdded
            } else {
                EventKind::ReactionRemoved
            };
            let reacted = ChatMessage {
                reactions: counts,
                rev,
                ..msg
            };
            let change = ReactionChange { emoji, user: from };
            self.event(kind, &reacted, now_ms, Some(change), effects);
        }
        Ok(Some(Accepted {
            seq,
            ts: now_ms,
            rev,
            fresh: true,
        }))
    }

    /// Stores a read mark (never backwards) and announces it to the others, at most once per author
    /// per [`READ_ANNOUNCE_MS`]: a newer mark within that time is held back and announced by
    /// [`Room::tick`].
    pub(super) fn mark_read(
        &mut self,
        conn_id: &str,
        from: User,
        seq: u64,
        history: &mut dyn History,
        now_ms: u64,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Problem> {
        let uid = identified(&from)?.to_string();
        let seq = seq.min(self.last_seq);
        let before = history.read_mark(&uid).map_err(storage)?;
        if seq <= before {
            return Ok(());
        }
        history.set_read_mark(&uid, seq).map_err(storage)?;
        self.inbox.note(Note::Own(uid.clone()));
        // The reader's other connections follow the mark from the `read` frame; only when it passed
        // over a mention of them is there a count they cannot work out (one indexed count to know).
        if history
            .mentions_between(&uid, before, seq)
            .map_err(storage)?
            > 0
        {
            let who = crate::concern::Concerned {
                everyone: false,
                people: vec![uid.clone()],
            };
            self.tell_counts(&who, history, effects);
        }
        let shown = self.reads_shown.entry(uid).or_default();
        if shown.at_ms == 0 || now_ms >= shown.at_ms + READ_ANNOUNCE_MS {
            shown.at_ms = now_ms;
            shown.pending = None;
            effects.push(read_announcement(conn_id, &from, seq));
        } else {
            if shown.pending.is_none() {
                effects.push(Effect::Wake {
                    after_ms: shown.at_ms + READ_ANNOUNCE_MS - now_ms,
                });
            }
            shown.pending = Some((conn_id.to_string(), from, seq));
        }
        Ok(())
    }

    /// Announces the read marks held back whose time has come, and decides the moderation hook's
    /// questions past their deadline (the Durable Object calls this when an [`Effect::Wake`] is due).
    pub fn tick(&mut self, now_ms: u64) -> Vec<Effect> {
        let mut effects = Vec::new();
        let mut next: Option<u64> = None;
        for shown in self.reads_shown.values_mut() {
            let due = shown.at_ms + READ_ANNOUNCE_MS;
            if shown.pending.is_some() && now_ms >= due {
                if let Some((conn_id, reader, seq)) = shown.pending.take() {
                    effects.push(read_announcement(&conn_id, &reader, seq));
                    shown.at_ms = now_ms;
                }
            } else if shown.pending.is_some() {
                next = Some(next.map_or(due - now_ms, |n| n.min(due - now_ms)));
            }
        }
        if let Some(after_ms) = next {
            effects.push(Effect::Wake { after_ms });
        }
        effects.extend(self.tell_presence(now_ms));
        effects.extend(self.screening_due(now_ms));
        effects
    }
}

/// `forbidden` unless `msg` was written by the author `uid`.
pub(super) fn authored_by(msg: &ChatMessage, uid: &str) -> Result<(), Problem> {
    if msg.from.uid.as_deref() == Some(uid) {
        Ok(())
    } else {
        Err(Problem::new(
            ErrorCode::Forbidden,
            format!("message {} is not yours", msg.seq),
        ))
    }
}

/// The author id of `from`, or `forbidden`: editing, deleting, reacting and read state need one (an
/// anonymous connection's uid lasts only as long as the connection, so it gives none of these).
pub(super) fn identified(from: &User) -> Result<&str, Problem> {
    from.identity().ok_or_else(|| {
        Problem::new(
            ErrorCode::Forbidden,
            "connect with a key= (or a signed token) to edit, delete, react or keep read state",
        )
    })
}

pub(super) fn read_announcement(conn_id: &str, reader: &User, seq: u64) -> Effect {
    Effect::Broadcast {
        except: Some(conn_id.to_string()),
        frame: ServerFrame::Read { user: reader, seq }.to_json(),
    }
}
