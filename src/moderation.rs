//! Moderation: what a moderator may do to keep a room civil, and the rules the room then enforces.
//!
//! A moderator is a connection whose token says `role: "moderator"`, or the app's backend through the
//! HTTP API (`API_TOKEN`). The actions ([`Action`]) act on an author id (`uid`), never on a display
//! name, which anybody can choose: ban (closed now with 4403 `banned`, refused at the door until
//! unbanned), kick (closed once with 4403 `kicked`, may come back), mute for N seconds (messages,
//! edits and reactions refused with `muted`, typing hints dropped), and the room's slow mode (one
//! message, one edit and one reaction per N seconds per author, refused with `slow_mode` and the
//! wait). Moderators may also delete any message (with a reason the room tells everyone), and all of
//! an author's recent messages at once: a [`Purge`], bounded and carried out a batch per turn.
//!
//! An open room (no signed access) cannot know a person, only a connection: an anonymous connection's
//! uid lasts as long as it does, and a `key=` is one click away. So there a ban also bars, for
//! `ADDRESS_BAN_HOURS`, the addresses the banned author is connected from (their [`AddressTag`]s), and
//! a moderator may require an identity to speak (`require_identity`, undone by `allow_anonymous`):
//! anonymous connections may then read but not send, edit, react or type.
//!
//! [`Rules`] is the room's current state of all that, rebuilt from storage after a wake; every action
//! is also kept as a [`Record`] (who, what, when), readable by moderators.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::domain::User;
use crate::error::{ErrorCode, Problem};
use crate::identity::{self, AddressTag};

/// The longest mute: thirty days (a longer one is a ban).
pub const MAX_MUTE_SECS: u64 = 30 * 24 * 3600;
/// The slowest slow mode: one message per hour.
pub const MAX_SLOW_SECS: u64 = 3600;
/// A ban's or a deletion's reason, in characters.
pub const MAX_REASON_CHARS: usize = 200;
/// The furthest back a purge reaches: a week of an author's messages.
pub const MAX_PURGE_SECS: u64 = 7 * 24 * 3600;
/// Most messages one purge deletes (the author's newest first): a moderator who needs more purges again.
pub const MAX_PURGE_MESSAGES: u64 = 500;
/// How many of the room's newest messages a purge looks through for the author's: the store has no
/// index by author (every message would pay for one), so the walk is bounded, however few are theirs.
pub const PURGE_SCAN: u64 = 10_000;
/// Deletions per turn. Each batch is one turn of the room's only thread, its frames sent before the
/// next batch is taken, so the room's messages wait at most one batch behind a purge.
pub const PURGE_BATCH: usize = 50;
/// Purges under way at once in a room; more are refused (`rate_limited`) until one is done.
pub const MAX_PURGES: usize = 4;

/// One moderation action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Ban {
        uid: String,
        reason: Option<String>,
    },
    Unban {
        uid: String,
    },
    Kick {
        uid: String,
    },
    Mute {
        uid: String,
        seconds: u64,
    },
    Unmute {
        uid: String,
    },
    /// 0 switches slow mode off.
    SlowMode {
        seconds: u64,
    },
    /// Whether anonymous connections may speak (`allow_anonymous`) or only identified ones
    /// (`require_identity`).
    Anonymous {
        allowed: bool,
    },
    /// The room's own retention policy (see [`crate::retention`]): `Some(days)` (0 keeps everything),
    /// or `None` to go back to the deployment's `RETENTION_DAYS`. The room checks it against
    /// `RETENTION_MAX_DAYS`.
    Retention {
        days: Option<u64>,
    },
    /// Adds entries to the room's list of blocked words (see [`crate::blocklist`]), normalized.
    Block {
        words: Vec<String>,
    },
    /// Takes entries off it.
    Unblock {
        words: Vec<String>,
    },
    /// Deletes the author's messages of the last `seconds` (at most [`MAX_PURGE_MESSAGES`], newest
    /// first, among the room's newest [`PURGE_SCAN`]): a [`Purge`].
    Purge {
        uid: String,
        seconds: u64,
        reason: Option<String>,
    },
}

/// A moderator's reason (a ban's, a deletion's, a purge's), trimmed: at most [`MAX_REASON_CHARS`]
/// characters; an empty one is none.
pub fn reason(raw: Option<String>) -> Result<Option<String>, Problem> {
    match raw.map(|r| r.trim().to_string()) {
        Some(r) if r.chars().count() > MAX_REASON_CHARS => Err(bad(format!(
            "a reason has at most {MAX_REASON_CHARS} characters"
        ))),
        Some(r) if r.is_empty() => Ok(None),
        other => Ok(other),
    }
}

/// What a moderation frame or API body may carry besides its kind; each action reads what it needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parts {
    pub uid: Option<String>,
    pub seconds: Option<u64>,
    pub reason: Option<String>,
    pub days: Option<u64>,
    pub words: Option<Vec<String>>,
}

impl Action {
    /// An action from its parts as a frame or an API body carries them: `kind` is the frame `type` or
    /// the body's `action`.
    pub fn parse(kind: &str, parts: Parts) -> Result<Action, Problem> {
        let Parts {
            uid,
            seconds,
            reason,
            days,
            words,
        } = parts;
        let target = || -> Result<String, Problem> {
            let uid = uid
                .clone()
                .ok_or_else(|| bad(format!("{kind} needs the \"uid\" of the author it is for")))?;
            identity::check_uid(&uid).map_err(|e| bad(e.message))?;
            Ok(uid)
        };
        let seconds_up_to = |max: u64| -> Result<u64, Problem> {
            match seconds {
                Some(s) if s <= max => Ok(s),
                Some(s) => Err(bad(format!("{kind} lasts at most {max} seconds, not {s}"))),
                None => Err(bad(format!("{kind} needs \"seconds\""))),
            }
        };
        Ok(match kind {
            "ban" => Action::Ban {
                uid: target()?,
                reason: self::reason(reason)?,
            },
            "unban" => Action::Unban { uid: target()? },
            "kick" => Action::Kick { uid: target()? },
            "mute" => match seconds_up_to(MAX_MUTE_SECS)? {
                0 => return Err(bad("mute needs \"seconds\" above 0 (unmute lifts a mute)")),
                seconds => Action::Mute {
                    uid: target()?,
                    seconds,
                },
            },
            "unmute" => Action::Unmute { uid: target()? },
            "slow_mode" => Action::SlowMode {
                seconds: seconds_up_to(MAX_SLOW_SECS)?,
            },
            "require_identity" => Action::Anonymous { allowed: false },
            "allow_anonymous" => Action::Anonymous { allowed: true },
            "retention" => match days {
                Some(d) if d > crate::retention::MAX_DAYS => {
                    return Err(bad(format!(
                        "retention lasts at most {} days (0 keeps everything)",
                        crate::retention::MAX_DAYS
                    )))
                }
                days => Action::Retention { days },
            },
            "block" => Action::Block {
                words: crate::blocklist::entries(kind, words)?,
            },
            "unblock" => Action::Unblock {
                words: crate::blocklist::entries(kind, words)?,
            },
            "purge" => match seconds_up_to(MAX_PURGE_SECS)? {
                0 => return Err(bad("purge needs \"seconds\" above 0: how far back to delete")),
                seconds => Action::Purge {
                    uid: target()?,
                    seconds,
                    reason: self::reason(reason)?,
                },
            },
            other => {
                return Err(bad(format!(
                    "unknown moderation action {other:?} (expected ban, unban, kick, mute, unmute, slow_mode, require_identity, allow_anonymous, purge, retention, block or unblock)"
                )))
            }
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Action::Ban { .. } => "ban",
            Action::Unban { .. } => "unban",
            Action::Kick { .. } => "kick",
            Action::Mute { .. } => "mute",
            Action::Unmute { .. } => "unmute",
            Action::SlowMode { .. } => "slow_mode",
            Action::Anonymous { allowed: false } => "require_identity",
            Action::Anonymous { allowed: true } => "allow_anonymous",
            Action::Retention { .. } => "retention",
            Action::Block { .. } => "block",
            Action::Unblock { .. } => "unblock",
            Action::Purge { .. } => "purge",
        }
    }

    /// The author the action is for (none for slow mode).
    pub fn uid(&self) -> Option<&str> {
        match self {
            Action::Ban { uid, .. }
            | Action::Unban { uid }
            | Action::Kick { uid }
            | Action::Mute { uid, .. }
            | Action::Unmute { uid }
            | Action::Purge { uid, .. } => Some(uid),
            Action::SlowMode { .. }
            | Action::Anonymous { .. }
            | Action::Retention { .. }
            | Action::Block { .. }
            | Action::Unblock { .. } => None,
        }
    }

    /// The record of this action taken by `by` at `at` (ms).
    pub fn record(&self, by: &User, at: u64) -> Record {
        let (seconds, reason) = match self {
            Action::Ban { reason, .. } => (None, reason.clone()),
            Action::Mute { seconds, .. } | Action::SlowMode { seconds } => (Some(*seconds), None),
            Action::Purge {
                seconds, reason, ..
            } => (Some(*seconds), reason.clone()),
            _ => (None, None),
        };
        Record {
            action: self.name(),
            uid: self.uid().map(str::to_string),
            seq: None,
            seconds,
            reason,
            days: match self {
                Action::Retention { days } => *days,
                _ => None,
            },
            words: match self {
                Action::Block { words } | Action::Unblock { words } => Some(words.clone()),
                _ => None,
            },
            by: by.clone(),
            at,
        }
    }
}

/// What a moderator did, as the room keeps it and shows it (`moderation` frames, the log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Record {
    /// `ban`, `unban`, `kick`, `mute`, `unmute`, `slow_mode`, `require_identity`, `allow_anonymous`,
    /// `purge`, or `delete` (a moderator deleting someone else's message, also each of a purge's).
    pub action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// The deleted message (`delete`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The room's retention set (`retention`; absent: back to the deployment's default; 0: keep
    /// everything).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<u64>,
    /// The entries blocked or unblocked (`block`, `unblock`: told to moderators only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub words: Option<Vec<String>>,
    /// The moderator (for the HTTP API: the `by` name given, with the API's connection id).
    pub by: User,
    pub at: u64,
}

impl Record {
    /// A moderator's deletion of message `seq` by author `uid`, with the moderator's reason: told to
    /// everyone, so the author's page says a moderator deleted it (and why) rather than show it as
    /// their own deletion.
    pub fn deletion(
        uid: Option<String>,
        seq: u64,
        reason: Option<String>,
        by: &User,
        at: u64,
    ) -> Record {
        Record {
            action: "delete",
            uid,
            seq: Some(seq),
            seconds: None,
            reason,
            days: None,
            words: None,
            by: by.clone(),
            at,
        }
    }
}

/// A purge under way: whose messages, since when, which part of the log is still to look through
/// (`floor < seq < below`, walked newest first), and how many more it may delete. The room holds it
/// between batches, in memory only: a restart of the room's object ends it there, and the same purge
/// asked again finishes it (what is deleted stays deleted, and is not found again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purge {
    pub uid: String,
    /// Messages sent at this time (ms) or later.
    pub since_ms: u64,
    pub floor: u64,
    pub below: u64,
    pub left: u64,
    pub reason: Option<String>,
    pub by: User,
}

impl Purge {
    /// The purge `action` asks for (none for any other action), taken by `by` at `now_ms` in a room
    /// whose log ends at `last_seq` and hides what is at or below `hidden_upto` (the history limit).
    pub fn of(
        action: &Action,
        by: &User,
        now_ms: u64,
        last_seq: u64,
        hidden_upto: u64,
    ) -> Option<Purge> {
        let Action::Purge {
            uid,
            seconds,
            reason,
        } = action
        else {
            return None;
        };
        Some(Purge {
            uid: uid.clone(),
            since_ms: now_ms.saturating_sub(seconds.saturating_mul(1000)),
            floor: hidden_upto.max(last_seq.saturating_sub(PURGE_SCAN)),
            below: last_seq.saturating_add(1),
            left: MAX_PURGE_MESSAGES,
            reason: reason.clone(),
            by: by.clone(),
        })
    }

    /// How many messages the next batch asks the store for.
    pub fn batch(&self) -> usize {
        PURGE_BATCH.min(self.left as usize)
    }

    /// A batch asked for `asked` messages and found these (newest first): the walk goes on below the
    /// oldest of them. Whether there is more to do: a batch that found fewer than it asked for has
    /// reached the end of what the purge may look through.
    pub fn advance(&mut self, asked: usize, found: &[u64]) -> bool {
        if let Some(&oldest) = found.last() {
            self.below = oldest;
        }
        self.left = self.left.saturating_sub(found.len() as u64);
        found.len() == asked && self.left > 0 && self.below > self.floor + 1
    }
}

/// An address ban as stored: the address, the uid whose ban it came with (an unban lifts it), and
/// until when (ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressBan {
    pub tag: AddressTag,
    pub uid: String,
    pub until: u64,
}

/// What slow mode holds apart, each kind on its own clock: an edit right after a message (a typo
/// fixed) passes, a second edit within the interval does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Message,
    Edit,
    Reaction,
}

impl Change {
    fn noun(self) -> &'static str {
        match self {
            Change::Message => "message",
            Change::Edit => "edit",
            Change::Reaction => "reaction",
        }
    }

    /// The key of `sender`'s clock for this kind of change: one map of strings, as before (a map keyed
    /// by a tuple would be a second copy of the hash map's code in the wasm).
    fn clock(self, sender: &str) -> String {
        let mut key = String::from(match self {
            Change::Message => "m",
            Change::Edit => "e",
            Change::Reaction => "r",
        });
        key.push_str(sender);
        key
    }
}

/// The room's rules in force: bans (of uids, and of addresses for a while), mutes, slow mode, whether
/// anonymous connections may speak, and when each author last made each kind of change (for slow
/// mode). All but the last-change times are stored (after a wake an author's first change passes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    bans: HashSet<String>,
    /// address → (the banned uid it came with, barred until ms).
    address_bans: HashMap<AddressTag, (String, u64)>,
    /// uid → muted until (ms).
    mutes: HashMap<String, u64>,
    slow_ms: u64,
    identity_required: bool,
    /// The room's own retention setting (`None`: the deployment's; `Some(0)`: keep everything).
    retention_days: Option<u64>,
    /// The room's blocked words, normalized, in the order they were added.
    blocked: Vec<String>,
    /// [`Change::clock`] → when that author last made that kind of change (ms).
    last_change: HashMap<String, u64>,
}

/// The rules as stored, read once per wake.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stored {
    pub bans: Vec<String>,
    pub address_bans: Vec<AddressBan>,
    /// (uid, until ms).
    pub mutes: Vec<(String, u64)>,
    pub slow_secs: u64,
    pub identity_required: bool,
    pub retention_days: Option<u64>,
    pub blocked: Vec<String>,
}

impl Rules {
    /// The rules as stored.
    pub fn restore(stored: Stored) -> Rules {
        Rules {
            bans: stored.bans.into_iter().collect(),
            address_bans: stored
                .address_bans
                .into_iter()
                .map(|b| (b.tag, (b.uid, b.until)))
                .collect(),
            mutes: stored.mutes.into_iter().collect(),
            slow_ms: stored.slow_secs.saturating_mul(1000),
            identity_required: stored.identity_required,
            retention_days: stored.retention_days,
            blocked: stored.blocked,
            last_change: HashMap::new(),
        }
    }

    pub fn banned(&self, uid: &str) -> bool {
        self.bans.contains(uid)
    }

    /// Whether a connection from `address` is barred at `now_ms` by an address ban.
    pub fn address_banned(&self, address: Option<AddressTag>, now_ms: u64) -> bool {
        address
            .and_then(|tag| self.address_bans.get(&tag))
            .is_some_and(|&(_, until)| until > now_ms)
    }

    /// Bars `addresses` until `until` (ms) along with the ban of `uid`; expired address bans go.
    pub fn ban_addresses(&mut self, uid: &str, addresses: &[AddressTag], until: u64, now_ms: u64) {
        self.address_bans.retain(|_, (_, u)| *u > now_ms);
        for tag in addresses {
            self.address_bans.insert(*tag, (uid.to_string(), until));
        }
    }

    /// Whether only identified connections may speak.
    pub fn identity_required(&self) -> bool {
        self.identity_required
    }

    /// Whether `who` may speak (send, edit, react, type) under `require_identity`: `forbidden` for a
    /// connection without an identity ([`User::identity`]) while it is in force.
    fn check_identity(&self, who: &User) -> Result<(), Problem> {
        if self.identity_required && who.identity().is_none() {
            return Err(Problem::new(
                ErrorCode::Forbidden,
                "this room lets only people with a key= or a signed token speak; you may read",
            ));
        }
        Ok(())
    }

    /// Until when `uid` is muted (ms), if it is at `now_ms`.
    pub fn muted_until(&self, uid: &str, now_ms: u64) -> Option<u64> {
        self.mutes.get(uid).copied().filter(|&until| until > now_ms)
    }

    /// Whether `text` may be said here: `rejected` when it has a blocked word (see [`crate::blocklist`]).
    pub fn check_words(&self, text: &str) -> Result<(), Problem> {
        match crate::blocklist::find(&self.blocked, text) {
            Some(matched) => Err(crate::blocklist::refusal(&matched)),
            None => Ok(()),
        }
    }

    /// Whether the list may take `words` as well.
    pub fn check_block(&self, words: &[String]) -> Result<(), Problem> {
        crate::blocklist::room_for(&self.blocked, words)
    }

    /// The room's own retention setting (`None`: the deployment's default applies).
    pub fn retention_days(&self) -> Option<u64> {
        self.retention_days
    }

    pub fn slow_mode_secs(&self) -> u64 {
        self.slow_ms / 1000
    }

    /// Whether `who` may speak now (send, edit, react, type): `forbidden` for an anonymous
    /// connection under `require_identity`, `muted` for a muted author.
    pub fn check_speaking(&self, who: &User, now_ms: u64) -> Result<(), Problem> {
        self.check_identity(who)?;
        self.check_not_muted(who.uid.as_deref(), now_ms)
    }

    /// Whether author `uid` may change anything (a message, an edit, a reaction) now: `muted` with
    /// the time left if not.
    pub fn check_not_muted(&self, uid: Option<&str>, now_ms: u64) -> Result<(), Problem> {
        match uid.and_then(|uid| self.muted_until(uid, now_ms)) {
            Some(until) => Err(Problem::new(
                ErrorCode::Muted,
                format!(
                    "a moderator muted you for {} more seconds",
                    (until - now_ms).div_ceil(1000)
                ),
            )),
            None => Ok(()),
        }
    }

    /// Whether `sender` (its [`crate::domain::sender_key`]) may make `change` now under slow mode;
    /// if so, counts it as made. Moderators are exempt (the caller does not ask for them).
    pub fn check_slow_mode(
        &mut self,
        change: Change,
        sender: &str,
        now_ms: u64,
    ) -> Result<(), Problem> {
        self.slow_mode_allows(change, sender, now_ms)?;
        if self.slow_ms > 0 {
            self.last_change.insert(change.clock(sender), now_ms);
        }
        Ok(())
    }

    /// Whether `sender` could make `change` now under slow mode, without counting it (an upload asks
    /// whether the message it is for could be sent).
    pub fn slow_mode_allows(
        &self,
        change: Change,
        sender: &str,
        now_ms: u64,
    ) -> Result<(), Problem> {
        if self.slow_ms == 0 {
            return Ok(());
        }
        if let Some(&last) = self.last_change.get(&change.clock(sender)) {
            let next = last + self.slow_ms;
            if now_ms < next {
                return Err(Problem::new(
                    ErrorCode::SlowMode,
                    format!(
                        "slow mode: one {} every {} seconds; wait {} more",
                        change.noun(),
                        self.slow_mode_secs(),
                        (next - now_ms).div_ceil(1000)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The rules in force at `now_ms`, as the moderation log shows them.
    pub fn view(&self, now_ms: u64) -> serde_json::Value {
        let mut bans: Vec<&str> = self.bans.iter().map(String::as_str).collect();
        bans.sort_unstable();
        // Sorted as `&str`s, like the bans (one sort in the wasm, not one per element type).
        let mut muted: Vec<&str> = self
            .mutes
            .iter()
            .filter(|(_, &until)| until > now_ms)
            .map(|(uid, _)| uid.as_str())
            .collect();
        muted.sort_unstable();
        serde_json::json!({
            "bans": bans,
            "mutes": muted
                .into_iter()
                .map(|uid| serde_json::json!({"uid": uid, "until": self.mutes.get(uid)}))
                .collect::<Vec<_>>(),
            "slow_mode": self.slow_mode_secs(),
            "identity_required": self.identity_required,
            "address_bans": self.address_bans.values().filter(|(_, until)| *until > now_ms).count(),
            "retention_days": self.retention_days,
            "blocked": self.blocked,
        })
    }

    /// Puts `action` in force at `now_ms`.
    pub fn apply(&mut self, action: &Action, now_ms: u64) {
        match action {
            Action::Ban { uid, .. } => {
                self.bans.insert(uid.clone());
            }
            Action::Unban { uid } => {
                self.bans.remove(uid);
                self.address_bans.retain(|_, (banned, _)| banned != uid);
            }
            Action::Kick { .. } => {}
            Action::Mute { uid, seconds } => {
                self.mutes
                    .insert(uid.clone(), now_ms.saturating_add(seconds * 1000));
            }
            Action::Unmute { uid } => {
                self.mutes.remove(uid);
            }
            Action::SlowMode { seconds } => {
                self.slow_ms = seconds * 1000;
                if *seconds == 0 {
                    self.last_change.clear();
                }
            }
            Action::Anonymous { allowed } => self.identity_required = !allowed,
            Action::Retention { days } => self.retention_days = *days,
            Action::Block { words } => {
                for w in words {
                    if !self.blocked.contains(w) {
                        self.blocked.push(w.clone());
                    }
                }
            }
            Action::Unblock { words } => self.blocked.retain(|w| !words.contains(w)),
            // A purge changes messages, not rules.
            Action::Purge { .. } => {}
        }
        // Expired mutes are forgotten whenever anything changes, so the map stays small.
        self.mutes.retain(|_, until| *until > now_ms);
    }
}

fn bad(message: impl Into<String>) -> Problem {
    Problem::new(ErrorCode::BadRequest, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    const UID: &str = "AAAAAAAAAAAAAAAAAAAAAA";

    fn parse(kind: &str, uid: Option<&str>, seconds: Option<u64>) -> Result<Action, Problem> {
        Action::parse(
            kind,
            Parts {
                uid: uid.map(String::from),
                seconds,
                ..Parts::default()
            },
        )
    }

    #[test]
    fn actions_parse_from_their_parts_and_refuse_what_is_missing_or_too_much() {
        assert_eq!(
            parse("kick", Some(UID), None),
            Ok(Action::Kick { uid: UID.into() })
        );
        assert_eq!(
            parse("mute", Some(UID), Some(60)),
            Ok(Action::Mute {
                uid: UID.into(),
                seconds: 60
            })
        );
        assert_eq!(
            parse("slow_mode", None, Some(0)),
            Ok(Action::SlowMode { seconds: 0 })
        );
        for (kind, uid, seconds) in [
            ("ban", None, None),
            ("ban", Some("not a uid"), None),
            ("mute", Some(UID), None),
            ("mute", Some(UID), Some(0)),
            ("mute", Some(UID), Some(MAX_MUTE_SECS + 1)),
            ("slow_mode", None, Some(MAX_SLOW_SECS + 1)),
            ("promote", Some(UID), None),
        ] {
            let e = parse(kind, uid, seconds).unwrap_err();
            assert_eq!(e.code, ErrorCode::BadRequest, "{kind}: {e:?}");
        }
        let long = "x".repeat(MAX_REASON_CHARS + 1);
        assert!(Action::parse(
            "ban",
            Parts {
                uid: Some(UID.into()),
                reason: Some(long),
                ..Parts::default()
            }
        )
        .is_err());
        assert_eq!(
            Action::parse(
                "ban",
                Parts {
                    uid: Some(UID.into()),
                    reason: Some("  ".into()),
                    ..Parts::default()
                }
            ),
            Ok(Action::Ban {
                uid: UID.into(),
                reason: None
            })
        );
    }

    #[test]
    fn a_ban_holds_until_lifted() {
        let mut rules = Rules::default();
        rules.apply(&parse("ban", Some(UID), None).unwrap(), 0);
        assert!(rules.banned(UID));
        rules.apply(&parse("unban", Some(UID), None).unwrap(), 1);
        assert!(!rules.banned(UID));
    }

    #[test]
    fn a_mute_refuses_changes_until_it_runs_out_or_is_lifted() {
        let mut rules = Rules::default();
        rules.apply(&parse("mute", Some(UID), Some(10)).unwrap(), 1_000);
        let e = rules.check_not_muted(Some(UID), 5_500).unwrap_err();
        assert_eq!(e.code, ErrorCode::Muted);
        assert!(e.message.contains("6 more seconds"), "{}", e.message);
        assert!(rules.check_not_muted(Some(UID), 11_000).is_ok());
        assert!(rules.check_not_muted(None, 5_000).is_ok());
        rules.apply(&parse("mute", Some(UID), Some(10)).unwrap(), 20_000);
        rules.apply(&parse("unmute", Some(UID), None).unwrap(), 21_000);
        assert!(rules.check_not_muted(Some(UID), 22_000).is_ok());
    }

    #[test]
    fn slow_mode_lets_one_message_through_per_interval_per_sender() {
        let mut rules = Rules::restore(Stored {
            slow_secs: 5,
            ..Stored::default()
        });
        let msg = Change::Message;
        assert!(rules.check_slow_mode(msg, "u:a", 0).is_ok());
        let e = rules.check_slow_mode(msg, "u:a", 1_000).unwrap_err();
        assert_eq!(e.code, ErrorCode::SlowMode);
        assert!(e.message.contains("wait 4 more"), "{}", e.message);
        assert!(
            rules.check_slow_mode(msg, "u:b", 1_000).is_ok(),
            "others are not held"
        );
        assert!(rules.check_slow_mode(msg, "u:a", 5_000).is_ok());
        rules.apply(&Action::SlowMode { seconds: 0 }, 5_001);
        assert!(rules.check_slow_mode(msg, "u:a", 5_002).is_ok());
    }

    #[test]
    fn slow_mode_holds_edits_and_reactions_apart_too_each_on_its_own_clock() {
        let mut rules = Rules::restore(Stored {
            slow_secs: 5,
            ..Stored::default()
        });
        assert!(rules.check_slow_mode(Change::Message, "u:a", 0).is_ok());
        // A typo fixed right after the message passes; a second edit within the interval does not.
        assert!(rules.check_slow_mode(Change::Edit, "u:a", 100).is_ok());
        let e = rules.check_slow_mode(Change::Edit, "u:a", 200).unwrap_err();
        assert_eq!(e.code, ErrorCode::SlowMode);
        assert!(
            e.message.contains("one edit every 5 seconds"),
            "{}",
            e.message
        );
        assert!(rules.check_slow_mode(Change::Reaction, "u:a", 300).is_ok());
        let e = rules
            .check_slow_mode(Change::Reaction, "u:a", 400)
            .unwrap_err();
        assert!(e.message.contains("one reaction"), "{}", e.message);
        assert!(rules.check_slow_mode(Change::Edit, "u:a", 5_100).is_ok());
    }

    #[test]
    fn records_say_who_did_what_when() {
        let by = User {
            id: "api".into(),
            name: "mod".into(),
            uid: None,
        };
        let r = parse("mute", Some(UID), Some(30)).unwrap().record(&by, 7);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["action"], "mute");
        assert_eq!(v["uid"], UID);
        assert_eq!(v["seconds"], 30);
        assert_eq!(v["by"]["name"], "mod");
        assert_eq!(v["at"], 7);
        assert!(v.get("reason").is_none());
    }

    #[test]
    fn a_purge_walks_down_from_the_newest_and_stops_at_its_bounds() {
        let by = User::api("mo");
        let action = Action::parse(
            "purge",
            Parts {
                uid: Some(UID.into()),
                seconds: Some(60),
                reason: Some(" spam ".into()),
                ..Parts::default()
            },
        )
        .unwrap();
        assert_eq!(action.record(&by, 5).reason.as_deref(), Some("spam"));
        assert!(Purge::of(&Action::Kick { uid: UID.into() }, &by, 0, 10, 0).is_none());
        // 60 s back from 100 s; the newest PURGE_SCAN messages of a 20,000-message log, not hidden ones
        let mut p = Purge::of(&action, &by, 100_000, 20_000, 0).unwrap();
        assert_eq!(
            (p.since_ms, p.floor, p.below, p.left),
            (40_000, 20_000 - PURGE_SCAN, 20_001, MAX_PURGE_MESSAGES)
        );
        assert_eq!(
            Purge::of(&action, &by, 100_000, 20_000, 15_000)
                .unwrap()
                .floor,
            15_000
        );
        // a full batch goes on below its oldest; a short one is the end
        assert!(p.advance(PURGE_BATCH, &(19_951..=20_000).rev().collect::<Vec<u64>>()));
        assert_eq!(
            (p.below, p.left),
            (19_951, MAX_PURGE_MESSAGES - PURGE_BATCH as u64)
        );
        assert!(!p.clone().advance(PURGE_BATCH, &[19_000]));
        // and it deletes at most MAX_PURGE_MESSAGES in all
        p.left = PURGE_BATCH as u64;
        assert_eq!(p.batch(), PURGE_BATCH);
        assert!(!p.advance(
            PURGE_BATCH,
            &(1..=PURGE_BATCH as u64).rev().collect::<Vec<u64>>()
        ));
        assert_eq!(p.left, 0);
        for bad in [None, Some(0), Some(MAX_PURGE_SECS + 1)] {
            assert!(
                Action::parse(
                    "purge",
                    Parts {
                        uid: Some(UID.into()),
                        seconds: bad,
                        ..Parts::default()
                    }
                )
                .is_err(),
                "{bad:?}"
            );
        }
    }
}
