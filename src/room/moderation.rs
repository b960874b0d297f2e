//! Moderation in the room: who may moderate, carrying out an action (stored, announced, the target
//! closed for a ban or kick, its addresses barred in an open room, its recent messages deleted a
//! batch per turn for a purge), the log, and the rules every change must obey ([`obeys_rules`]:
//! muted, anonymous where an identity is required, slow mode).

use super::*;
use crate::moderation::MAX_PURGES;

impl<S: Place> Room<S> {
    /// The `moderation_log` frame: log entries before `before` (newest first) and the rules in force.
    pub fn moderation_log(
        &self,
        history: &dyn History,
        before: Option<u64>,
        limit: usize,
        id: Option<&str>,
        now_ms: u64,
    ) -> Result<String, Problem> {
        let mut entries = history
            .moderation_log(before.unwrap_or(u64::MAX), limit + 1)
            .map_err(storage)?;
        let has_more = entries.len() > limit;
        entries.truncate(limit);
        let records: Vec<serde_json::Value> = entries
            .into_iter()
            .map(|(log_id, json)| {
                let mut v: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
                v["log_id"] = log_id.into();
                v
            })
            .collect();
        Ok(ServerFrame::ModerationLog {
            id,
            records: &records,
            has_more,
            rules: self.rules.view(now_ms),
        }
        .to_json())
    }

    pub(super) fn require_moderator(&self, conn_id: &str) -> Result<(), Problem> {
        if self.is_moderator(conn_id) {
            Ok(())
        } else {
            Err(Problem::new(
                ErrorCode::Forbidden,
                "only a moderator may do that (a token with role \"moderator\")",
            ))
        }
    }

    /// Carries out a moderation action: stores it (rule and record, in this turn's commit), puts it
    /// in force, tells every connection (`moderation`), and closes the target's connections for a ban
    /// or a kick (an `error` frame saying why, then close 4403).
    pub(super) fn moderate(
        &mut self,
        by: &User,
        action: Action,
        history: &mut dyn History,
        now_ms: u64,
        effects: &mut Vec<Effect>,
    ) -> Result<Accepted, Problem> {
        match &action {
            Action::Retention { days: Some(days) } => self.limits.retention.check(*days)?,
            Action::Block { words } => self.rules.check_block(words)?,
            _ => {}
        }
        if matches!(action, Action::Purge { .. }) && self.purges.len() >= MAX_PURGES {
            return Err(Problem::new(
                ErrorCode::RateLimited,
                "the room is still carrying out earlier purges; ask again once they are done",
            ));
        }
        let record = action.record(by, now_ms);
        let json = serde_json::to_string(&record).unwrap_or_default();
        let log_id = history.moderate(&action, &json, now_ms).map_err(storage)?;
        self.rules.apply(&action, now_ms);
        if let Action::Retention { .. } = &action {
            // A stricter policy may make a sweep due at once; a looser one later, or never.
            self.plan_sweep(history);
        }
        if let Action::Ban { uid, .. } = &action {
            self.ban_addresses(uid, history, now_ms)?;
            // A banned author is a member no more: their inbox drops the room.
            self.inbox.note(Note::Gone(uid.clone()));
        }
        let told = ServerFrame::Moderation(&record).to_json();
        if matches!(action, Action::Block { .. } | Action::Unblock { .. }) {
            // The list is the moderators' business: telling everyone would publish it (and show
            // those it is meant for what to misspell).
            for m in self.members.values().filter(|m| m.role == Role::Moderator) {
                effects.push(Effect::Send {
                    to: m.user.id.clone(),
                    frame: told.clone(),
                });
            }
        } else {
            effects.push(Effect::Broadcast {
                except: None,
                frame: told,
            });
        }
        let closing = match &action {
            Action::Ban { .. } => {
                Some((ErrorCode::Banned, "a moderator banned you from this room"))
            }
            Action::Kick { .. } => {
                Some((ErrorCode::Kicked, "a moderator removed you from this room"))
            }
            _ => None,
        };
        if let (Some((code, message)), Some(uid)) = (closing, action.uid()) {
            effects.extend(self.close_person(uid, code, message, now_ms));
        }
        if self.webhooks {
            effects.push(Effect::Event {
                body: webhook::moderation_body(&self.name, &record, log_id),
            });
        }
        let hidden_upto = self.oldest_kept_after();
        if let Some(purge) = Purge::of(&action, by, now_ms, self.last_seq, hidden_upto) {
            // The first batch at once, after the purge's record; the rest on the room's timer.
            self.purges.push(purge);
            effects.extend(self.continue_purges(history, now_ms));
        }
        Ok(Accepted {
            seq: 0,
            ts: now_ms,
            rev: self.rev,
            fresh: true,
        })
    }

    /// One batch of the oldest purge under way: up to [`crate::moderation::PURGE_BATCH`] of its
    /// author's messages deleted, each told to everyone as a moderator's deletion is
    /// (`message_updated`, then `moderation` with `action: "delete"`, the seq and the purge's reason;
    /// the log keeps the purge's one record). While a purge has more to do, an [`Effect::Wake`] asks
    /// for the next batch in a turn of its own, so the room's messages are never held up by more than
    /// one batch. The Durable Object calls this on every tick.
    pub fn continue_purges(&mut self, history: &mut dyn History, now_ms: u64) -> Vec<Effect> {
        let mut effects = Vec::new();
        let Some(purge) = self.purges.first().cloned() else {
            return effects;
        };
        let asked = purge.batch();
        // A storage failure ends the purge where it is; asked again, it goes on from there.
        let found = history
            .authored(&purge.uid, purge.floor, purge.below, purge.since_ms, asked)
            .unwrap_or_default();
        let mut deleted = Vec::with_capacity(found.len());
        for msg in found {
            let seq = msg.seq;
            let Ok(tombstone) = self.erase(msg, history, now_ms, &mut effects) else {
                break;
            };
            deleted.push(seq);
            let record = Record::deletion(
                tombstone.from.uid,
                seq,
                purge.reason.clone(),
                &purge.by,
                now_ms,
            );
            effects.push(Effect::Broadcast {
                except: None,
                frame: ServerFrame::Moderation(&record).to_json(),
            });
        }
        if !self.purges[0].advance(asked, &deleted) {
            self.purges.remove(0);
        }
        if !self.purges.is_empty() {
            effects.push(Effect::Wake { after_ms: 0 });
        }
        effects
    }

    /// Bars, for `ADDRESS_BAN_HOURS`, the addresses the banned author `uid` is connected from (only
    /// connections of an open room have one): in an open room a new key, or a new anonymous
    /// connection, is how a banned author would come straight back.
    pub(super) fn ban_addresses(
        &mut self,
        uid: &str,
        history: &mut dyn History,
        now_ms: u64,
    ) -> Result<(), Problem> {
        if self.limits.address_ban_secs == 0 {
            return Ok(());
        }
        let until = now_ms.saturating_add(self.limits.address_ban_secs.saturating_mul(1000));
        // Several of the author's connections may share an address; each is barred once.
        let mut tags: Vec<AddressTag> = Vec::new();
        for m in self.members.values() {
            match m.address {
                Some(tag) if m.user.uid.as_deref() == Some(uid) && !tags.contains(&tag) => {
                    tags.push(tag)
                }
                _ => {}
            }
        }
        for tag in &tags {
            let ban = AddressBan {
                tag: *tag,
                uid: uid.to_string(),
                until,
            };
            history.ban_address(&ban, now_ms).map_err(storage)?;
        }
        self.rules.ban_addresses(uid, &tags, until, now_ms);
        Ok(())
    }
}

/// Whether `member` may do `op` under the room's rules: a muted author changes nothing (messages,
/// edits, reactions), a message or edit with a blocked word is refused (`rejected`), and slow mode
/// holds each author's messages, edits and reactions apart. Moderators are held by neither the
/// blocked words nor slow mode. Checked on arrival, like the rate limit, so a refusal is answered at once.
pub(super) fn obeys_rules<S>(
    rules: &mut Rules,
    member: &Member<S>,
    op: &ClientFrame,
    now_ms: u64,
) -> Result<(), Problem> {
    match op {
        ClientFrame::Message { .. } | ClientFrame::Edit { .. } | ClientFrame::React { .. } => {
            rules.check_speaking(&member.user, now_ms)?;
        }
        _ => return Ok(()),
    }
    match op {
        ClientFrame::Message { text, .. }
        | ClientFrame::Edit {
            text: Some(text), ..
        } if member.role != Role::Moderator => {
            rules.check_words(text)?;
        }
        _ => {}
    }
    let change = match op {
        ClientFrame::Message { .. } => Change::Message,
        ClientFrame::Edit { .. } => Change::Edit,
        _ => Change::Reaction,
    };
    if member.role != Role::Moderator {
        rules.check_slow_mode(change, &crate::domain::sender_key(&member.user), now_ms)?;
    }
    Ok(())
}
