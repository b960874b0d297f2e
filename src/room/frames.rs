//! Frames in, and group commit: each frame's size and rate checks and its decoding
//! ([`Room::receive`]), the queue that keeps a connection's answers in order behind its queued
//! messages, and [`Room::flush`], which stores a turn's messages in one commit before anyone hears of
//! them ([`Room::submit`] is every message's one path: dedupe, `seq`, store, broadcast).

use super::*;
use crate::room::moderation::obeys_rules;

impl<S: Place> Room<S> {
    /// Whether messages (or effects behind them) wait for [`Room::flush`].
    pub fn has_pending(&self) -> bool {
        !self.queue.is_empty()
    }

    /// A frame arrived on connection `conn_id`. A valid message is queued for [`Room::flush`]; the other
    /// frames are answered at once, unless something is queued already, in which case their answers
    /// queue up behind it (per-connection answers stay in order). A close (oversized frame, flooding)
    /// always happens at once: the connection is gone, its answers no longer matter.
    pub fn receive(&mut self, conn_id: &str, frame: Incoming<'_>, now_ms: u64) -> Vec<Effect> {
        let effects = self.read_frame(conn_id, frame, now_ms);
        let closes = || effects.iter().any(|e| matches!(e, Effect::Close { .. }));
        if !self.waiting() || effects.is_empty() || closes() {
            return effects;
        }
        self.behind(Queued::Effects(effects), now_ms);
        Vec::new()
    }

    /// Whether anything waits: queued for the flush, or held for the moderation hook's verdict.
    pub(super) fn waiting(&self) -> bool {
        !self.queue.is_empty() || self.holding.holds()
    }

    /// Puts work that arrived at `now_ms` behind everything that waits: held behind a verdict (or
    /// to be asked about), or queued for the flush.
    pub(super) fn behind(&mut self, queued: Queued, now_ms: u64) {
        if let Some(queued) = self.holding.hold(queued, now_ms) {
            self.queue.push(queued);
        }
    }

    /// Stores every queued message in arrival order (assigning `seq`s, answering repeated ids with the
    /// original), and returns the frames of all of it — acks, broadcasts, errors and the held-back
    /// effects — in that order. The caller sends them after the writes, in the same turn, so the
    /// runtime's output gate releases them only once the one commit covering the batch is durable.
    pub fn flush(&mut self, history: &mut dyn History, now_ms: u64) -> Vec<Effect> {
        let mut effects = Vec::new();
        let messages = self.drain(history, now_ms, &mut effects);
        self.count_turn(messages);
        effects
    }

    pub fn commits(&self) -> Commits {
        self.commits
    }

    /// Empties the queue into `effects` (see [`Room::flush`]); returns how many messages it wrote.
    pub(super) fn drain(
        &mut self,
        history: &mut dyn History,
        now_ms: u64,
        effects: &mut Vec<Effect>,
    ) -> u64 {
        let mut messages = 0;
        for queued in std::mem::take(&mut self.queue) {
            match queued {
                Queued::Op {
                    conn_id,
                    from,
                    op,
                    replaced,
                } => {
                    // A message's text as sent, to tell its author when the stored one differs.
                    let sent = match &op {
                        ClientFrame::Message { text, .. } => {
                            messages += 1;
                            Some(text.clone())
                        }
                        _ => None,
                    };
                    let id = op.id().map(str::to_string);
                    let at = effects.len();
                    let done = self.carry_out(
                        &conn_id,
                        from,
                        op,
                        replaced.as_deref(),
                        history,
                        now_ms,
                        effects,
                    );
                    match done {
                        Ok(Some(done)) => {
                            let stored = self.stored_text(history, &done, sent, replaced.is_some());
                            effects.insert(
                                at,
                                Effect::Send {
                                    to: conn_id,
                                    frame: ServerFrame::Ack {
                                        id: id.as_deref(),
                                        seq: done.seq,
                                        ts: done.ts,
                                        rev: done.rev,
                                        text: stored.as_deref(),
                                    }
                                    .to_json(),
                                },
                            )
                        }
                        Ok(None) => {}
                        Err(p) => {
                            effects.push(error_to(&conn_id, p.code, &p.message, id.as_deref()))
                        }
                    }
                }
                Queued::Post {
                    call,
                    draft,
                    replaced,
                } => {
                    messages += 1;
                    let text = draft.text.clone();
                    let result = self.write(draft, replaced.as_deref(), history, now_ms, effects);
                    let stored = match &result {
                        Ok(done) => self.stored_text(history, done, Some(text), replaced.is_some()),
                        Err(_) => None,
                    };
                    let (status, body) = post_answer(&result, stored.as_deref());
                    effects.push(Effect::Reply { call, status, body });
                }
                Queued::Effects(queued) => effects.extend(queued),
            }
        }
        messages
    }

    /// Counts one turn that wrote `messages` messages (none: no write, no commit).
    pub(super) fn count_turn(&mut self, messages: u64) {
        if messages > 0 {
            self.commits.turns += 1;
            self.commits.messages += messages;
        }
    }

    /// Reads one frame: the size and rate checks, decoding, and what to do with it.
    pub(super) fn read_frame(
        &mut self,
        conn_id: &str,
        frame: Incoming<'_>,
        now_ms: u64,
    ) -> Vec<Effect> {
        let Some(member) = self.members.get_mut(conn_id) else {
            return vec![Effect::Close {
                to: conn_id.to_string(),
                code: CLOSE_INTERNAL,
                reason: "unknown connection",
            }];
        };
        let size = match frame {
            Incoming::Text(t) => t.len(),
            Incoming::Binary(n) => n,
        };
        if size > MAX_FRAME_BYTES {
            return self.close(conn_id, CLOSE_TOO_BIG, "frame larger than 64 KiB", now_ms);
        }
        // Every frame that reaches the room takes a token, valid or not: each one costs the room the same
        // work, and the room handles one event at a time for all of its sockets. A client that keeps
        // sending after being refused is closed: the runtime queues incoming frames without limit, so
        // refusing them one by one cannot keep a flood from delaying everyone else's messages, while a
        // close makes the runtime drop the flooder's queued frames.
        member.seen_ms = now_ms;
        let allowed = member.bucket.take(&self.limits.rate, now_ms as f64);
        if allowed {
            member.strikes = 0;
        } else {
            member.strikes += 1;
            if member.strikes > FLOOD_STRIKES {
                return self.close(
                    conn_id,
                    CLOSE_FLOODING,
                    "flooding: too many frames over the rate limit",
                    now_ms,
                );
            }
        }
        let text = match frame {
            Incoming::Text(t) => t,
            Incoming::Binary(_) => {
                return vec![error_to(
                    conn_id,
                    ErrorCode::BadRequest,
                    "binary frames are not supported; send JSON text",
                    None,
                )]
            }
        };
        let decoded = match ClientFrame::decode(text) {
            Ok(f) => f,
            Err(e) => {
                return vec![error_to(
                    conn_id,
                    e.problem.code,
                    &e.problem.message,
                    e.id.as_deref(),
                )]
            }
        };
        match decoded {
            // Typing hints past the rate limit are dropped without a word: they are only hints. So are
            // those of anyone who may not speak now (muted, or anonymous where an identity is
            // required): the others must not watch someone type who cannot send.
            ClientFrame::Typing
                if allowed && self.rules.check_speaking(&member.user, now_ms).is_ok() =>
            {
                vec![Effect::Broadcast {
                    except: Some(conn_id.to_string()),
                    frame: ServerFrame::Typing { user: &member.user }.to_json(),
                }]
            }
            ClientFrame::Typing => Vec::new(),
            ClientFrame::Auth { token, id } if allowed => vec![Effect::Authenticate {
                to: conn_id.to_string(),
                token,
                id,
            }],
            // A read mark past the limit is dropped too: the next one carries it.
            ClientFrame::Read { .. } if !allowed => Vec::new(),
            // Answered from memory at once; behind queued work the answer waits its turn (receive).
            ClientFrame::Roster { after, limit, id } if allowed => {
                let (members, next) = self.page(after.as_deref(), limit);
                vec![Effect::Send {
                    to: conn_id.to_string(),
                    frame: ServerFrame::Roster {
                        id: id.as_deref(),
                        online: self.members.len(),
                        members,
                        next,
                    }
                    .to_json(),
                }]
            }
            op if !allowed => vec![error_to(
                conn_id,
                ErrorCode::RateLimited,
                "too many frames; this one was dropped, slow down",
                op.id(),
            )],
            // Refused here, on arrival: a refused search costs the room nothing but this answer. Not a
            // strike towards the flood rule, which is about frames (the frame token was there).
            ClientFrame::Search { id, .. }
                if !member.searches.take(&self.limits.search, now_ms as f64) =>
            {
                // A fixed text: formatting the f64 rates here would link float printing into the wasm
                // (~1 KB gzipped) for a figure `welcome.limits` already gives.
                vec![error_to(
                    conn_id,
                    ErrorCode::RateLimited,
                    "too many searches (see search_burst and search_per_sec in welcome.limits); this one was dropped",
                    id.as_deref(),
                )]
            }
            op => {
                if let Err(p) = obeys_rules(&mut self.rules, member, &op, now_ms) {
                    return vec![error_to(conn_id, p.code, &p.message, op.id())];
                }
                if self.holding.full() && op.is_screened() {
                    return vec![error_to(
                        conn_id,
                        ErrorCode::RateLimited,
                        "the room is waiting for its moderation check on many messages; try again shortly",
                        op.id(),
                    )];
                }
                let from = member.user.clone();
                self.behind(
                    Queued::Op {
                        conn_id: conn_id.to_string(),
                        from,
                        op,
                        replaced: None,
                    },
                    now_ms,
                );
                Vec::new()
            }
        }
    }

    /// [`Room::submit`], then, for a message stored with the moderation hook's replacement text, the
    /// fingerprint of the text as sent (same turn), so a retry of it is acknowledged, not stored again.
    pub(super) fn submit_screened(
        &mut self,
        msg: ChatMessage,
        root: Option<ChatMessage>,
        replaced: Option<&str>,
        history: &mut dyn History,
        effects: &mut Vec<Effect>,
    ) -> Result<Accepted, Problem> {
        let done = self.submit(msg, root, history, effects)?;
        if let (Some(sent), true) = (replaced, done.fresh) {
            history.screened(done.seq, sent).map_err(storage)?;
        }
        Ok(done)
    }

    /// The stored text of an acknowledged message when it is not the text its sender sent: the hook
    /// replaced it now (`replaced`: `sent` then already holds the replacement), or it did when the
    /// original was stored (a retry of the text as sent). Only then is an ack told the text, so an
    /// ack stays as it was for every message nothing altered.
    fn stored_text(
        &self,
        history: &dyn History,
        done: &Accepted,
        sent: Option<String>,
        replaced: bool,
    ) -> Option<String> {
        let sent = sent?;
        match (replaced, done.fresh) {
            (true, true) => Some(sent),
            (false, true) => None,
            (_, false) if replaced || self.holding.hook().is_some() => {
                let stored = history.get(done.seq).ok().flatten()?.text;
                (replaced || stored != sent).then_some(stored)
            }
            (_, false) => None,
        }
    }

    /// The one path every message takes: dedupe by `(sender, id)`, assign `seq` and `rev`, store, then
    /// broadcast; then a reply updates its thread (`root`, as [`Room::write`] checked it) and the
    /// people the message concerns are told their counts ([`Room::stored`]).
    pub(super) fn submit(
        &mut self,
        msg: ChatMessage,
        root: Option<ChatMessage>,
        history: &mut dyn History,
        effects: &mut Vec<Effect>,
    ) -> Result<Accepted, Problem> {
        let msg = ChatMessage {
            seq: self.last_seq + 1,
            rev: self.rev + 1,
            ..msg
        };
        let appended = history
            .append(&msg)
            .map_err(|e| Problem::new(ErrorCode::Internal, format!("could not store: {e}")))?;
        match appended {
            Appended::Stored => {}
            Appended::Duplicate { seq, ts, rev } => {
                return Ok(Accepted {
                    seq,
                    ts,
                    rev,
                    fresh: false,
                })
            }
            Appended::Conflict => {
                return Err(Problem::new(
                    ErrorCode::IdConflict,
                    format!(
                        "id {:?} was already used by {:?} for another message; send this one with a new id",
                        msg.id.as_deref().unwrap_or_default(),
                        msg.from.name
                    ),
                ))
            }
        }
        self.last_seq = msg.seq;
        self.rev = msg.rev;
        self.inbox.note(Note::Room { concerned: vec![] });
        self.note_stored(msg.ts);
        self.stored_message(&msg, history, effects)?;
        if msg.seq > self.limits.history_limit && msg.seq.is_multiple_of(TRIM_EVERY) {
            history.trim(msg.seq - self.limits.history_limit, self.rev);
            effects.push(Effect::DeleteFiles);
        }
        effects.push(Effect::Broadcast {
            except: Some(msg.from.id.clone()),
            frame: ServerFrame::Message(&msg).to_json(),
        });
        self.event(EventKind::MessageCreated, &msg, msg.ts, None, effects);
        self.stored(&msg, root, history, effects)?;
        Ok(Accepted {
            seq: msg.seq,
            ts: msg.ts,
            rev: msg.rev,
            fresh: true,
        })
    }
}
