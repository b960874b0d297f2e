//! The moderation hook in the room (see [`crate::screening`]): every message and edit waits for the
//! app's verdict before it is stored, and nothing that arrived after it overtakes it.
//!
//! **Order.** With a hook, a frame that passes the room's own checks is *held* instead of queued
//! for the flush: messages, edits and bots' posts get a question (asked at once, up to
//! [`MAX_IN_FLIGHT`] at a time), every other frame and every answer behind them waits its turn.
//! Held frames go on to the flush's queue strictly in arrival order, as their verdicts come in: the
//! room's `seq` order stays its arrival order, one sender's order is kept, and each connection's
//! answers stay in the order it sent its frames. A verdict for one message therefore holds every
//! later frame of the room — but never beyond the timeout: each question's deadline is its frame's
//! arrival plus `MODERATION_TIMEOUT_MS`, and at its deadline a question is decided as a failure
//! (by `MODERATION_FAIL`) whether or not it was answered, or even asked. So a frame is held at most
//! until its own arrival plus the timeout: the frames before it arrived earlier, and their deadlines
//! come first. (Letting other senders overtake would also hold no one past the timeout, but then
//! `seq` order would be verdict order and an answer could overtake the message it answers.)
//!
//! **Durable before visible, group commit.** A verdict only moves frames to the flush's queue; the
//! flush then stores them (one commit for all that is released before it fires) and only then
//! produces any frame about them, as without a hook.
//!
//! **Idempotency.** Before a message is asked about, the store is asked whether its sender's client
//! id is known ([`History::lookup`]): a retry is answered from storage, never asked about (or stored)
//! again — also when the hook replaced its text, whose fingerprint the store keeps. An edit that
//! changes nothing, or that the room will refuse anyway (not one's own, deleted), is not asked about.

use std::collections::{BTreeMap, VecDeque};

use super::*;
use crate::screening::{
    self, decide, question_body, Asked, Fail, Failure, Outcome, Verdict, MAX_HELD, MAX_IN_FLIGHT,
};

/// The hook as a room applies it (the URL and secret are the Durable Object's business).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hook {
    pub timeout_ms: u64,
    pub fail: Fail,
}

/// Frames held for verdicts, and the questions they wait on.
#[derive(Debug, Default)]
pub(super) struct Holding {
    hook: Option<Hook>,
    /// Everything held, in arrival order.
    held: VecDeque<Held>,
    /// How many of `held` are still [`State::New`].
    new: usize,
    /// Open questions by ticket.
    questions: BTreeMap<u64, Question>,
    /// Tickets not asked yet (over [`MAX_IN_FLIGHT`]), oldest first.
    unasked: VecDeque<u64>,
    next_ticket: u64,
    in_flight: usize,
    /// Questions that ended in a failure (timeout, error, bad answer), and the last one's reason.
    failures: u64,
    last_failure: Option<String>,
}

#[derive(Debug)]
struct Held {
    item: Queued,
    state: State,
}

#[derive(Debug)]
enum State {
    /// Arrived at `at` (ms); [`Room::screen`] has not looked at it yet.
    New { at: u64 },
    /// Waits for the verdict on question `ticket`.
    Waiting(u64),
    /// May go on to the flush's queue, with its outcome when it was asked about.
    Ready(Option<Outcome>),
}

#[derive(Debug)]
struct Question {
    deadline: u64,
    body: String,
    asked: bool,
}

impl Holding {
    pub(super) fn hook(&self) -> Option<Hook> {
        self.hook
    }

    /// Everything held, to look into (a connection closed by the room takes its answers along).
    pub(super) fn queued_mut(&mut self) -> impl Iterator<Item = &mut Queued> {
        self.held.iter_mut().map(|h| &mut h.item)
    }

    /// Whether anything is held.
    pub(super) fn holds(&self) -> bool {
        !self.held.is_empty()
    }

    /// Whether the room holds as much as it will.
    pub(super) fn full(&self) -> bool {
        self.held.len() >= MAX_HELD
    }

    /// Holds `queued`, which arrived at `at` (ms), when the hook is on (a frame to look at, or answers
    /// behind held frames); hands it back when it may go straight to the flush's queue.
    pub(super) fn hold(&mut self, queued: Queued, at: u64) -> Option<Queued> {
        if self.hook.is_none() {
            return Some(queued);
        }
        let state = match queued {
            Queued::Effects(_) if self.held.is_empty() => return Some(queued),
            Queued::Effects(_) => State::Ready(None),
            _ => {
                self.new += 1;
                State::New { at }
            }
        };
        self.held.push_back(Held {
            item: queued,
            state,
        });
        None
    }

    fn ask(&mut self, body: String, deadline: u64) -> u64 {
        self.next_ticket += 1;
        let ticket = self.next_ticket;
        self.questions.insert(
            ticket,
            Question {
                deadline,
                body,
                asked: false,
            },
        );
        self.unasked.push_back(ticket);
        ticket
    }

    /// Asks the questions waiting for a free slot, oldest first, unless their deadline has passed.
    fn ask_more(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        while self.in_flight < MAX_IN_FLIGHT {
            let Some(ticket) = self.unasked.pop_front() else {
                return;
            };
            let Some(q) = self.questions.get_mut(&ticket) else {
                continue;
            };
            if q.deadline <= now_ms {
                continue;
            }
            q.asked = true;
            self.in_flight += 1;
            effects.push(Effect::Screen {
                ticket,
                body: q.body.clone(),
                timeout_ms: q.deadline - now_ms,
            });
        }
    }

    /// Settles question `ticket` with `outcome`; false if it was no longer open (decided already).
    fn settle(&mut self, ticket: u64, outcome: Outcome) -> bool {
        let Some(q) = self.questions.remove(&ticket) else {
            return false;
        };
        if q.asked {
            self.in_flight = self.in_flight.saturating_sub(1);
        }
        if let Outcome::Unavailable(failure) = &outcome {
            self.failures += 1;
            self.last_failure = Some(failure.describe());
        }
        for held in &mut self.held {
            if matches!(held.state, State::Waiting(t) if t == ticket) {
                held.state = State::Ready(Some(outcome.clone()));
            }
        }
        true
    }

    /// The earliest deadline of an open question.
    fn next_deadline(&self) -> Option<u64> {
        self.questions.values().map(|q| q.deadline).min()
    }
}

impl<S: Place> Room<S> {
    /// Switches the moderation hook on (or off): from now on messages and edits wait for verdicts.
    pub fn set_hook(&mut self, hook: Option<Hook>) {
        self.holding.hook = hook;
    }

    /// Whether the room has a moderation hook (a bot's post then waits for its verdict too).
    pub fn screens(&self) -> bool {
        self.holding.hook.is_some()
    }

    /// Whether held frames wait to be looked at by [`Room::screen`].
    pub fn wants_screening(&self) -> bool {
        self.holding.new > 0
    }

    /// Looks at the frames held since the last call: asks the hook about each message and edit that
    /// needs it (the [`Effect::Screen`]s, and a [`Effect::Wake`] for the earliest deadline), lets the
    /// others through, and moves what may go on to the flush's queue.
    pub fn screen(&mut self, history: &dyn History, now_ms: u64) -> Vec<Effect> {
        let Some(hook) = self.holding.hook else {
            return Vec::new();
        };
        let mut asked = false;
        for i in 0..self.holding.held.len() {
            if self.holding.new == 0 {
                break;
            }
            let State::New { at } = self.holding.held[i].state else {
                continue;
            };
            let state = match self.question(&self.holding.held[i].item, history, at) {
                Some(body) => {
                    asked = true;
                    State::Waiting(self.holding.ask(body, at + hook.timeout_ms))
                }
                None => State::Ready(None),
            };
            self.holding.held[i].state = state;
            self.holding.new -= 1;
        }
        let mut effects = Vec::new();
        self.holding.ask_more(now_ms, &mut effects);
        match self.holding.next_deadline() {
            Some(deadline) if asked => effects.push(Effect::Wake {
                after_ms: deadline.saturating_sub(now_ms),
            }),
            _ => {}
        }
        self.release();
        effects
    }

    /// The body of the question to ask about `item`, or `None` when it needs none.
    fn question(&self, item: &Queued, history: &dyn History, at: u64) -> Option<String> {
        let (asked, from, text, id) = match item {
            Queued::Op {
                from,
                op:
                    ClientFrame::Message {
                        text, id, reply_to, ..
                    },
                ..
            } => (
                Asked::Message {
                    reply_to: *reply_to,
                },
                from,
                text,
                id,
            ),
            Queued::Post { draft, .. } => (
                Asked::Message { reply_to: None },
                &draft.from,
                &draft.text,
                &draft.id,
            ),
            Queued::Op {
                from,
                op:
                    ClientFrame::Edit {
                        seq,
                        text: Some(text),
                        id,
                        ..
                    },
                ..
            } => {
                // Not asked when the room will not change anything: the same text again, another
                // author's message, a deleted one. (An edit that only removes files or a preview has
                // no text to ask about.)
                match self.own_message(from, *seq, history) {
                    Ok(current) if current.text != *text => {}
                    _ => return None,
                }
                (Asked::Edit { seq: *seq }, from, text, id)
            }
            _ => return None,
        };
        if let Asked::Message { .. } = asked {
            let probe = ChatMessage::new(0, id.clone(), from.clone(), text.clone(), at);
            // A retry (or a conflict) is answered from storage; a storage error is the flush's
            // to report.
            if !matches!(history.lookup(&probe), Ok(None)) {
                return None;
            }
        }
        Some(question_body(
            asked,
            &self.name,
            from,
            text,
            id.as_deref(),
            at,
        ))
    }

    /// The answer to question `ticket`: its verdict, or why there is none. An answer to a question
    /// already decided (past its deadline) changes nothing.
    pub fn verdict(
        &mut self,
        ticket: u64,
        answer: Result<Verdict, Failure>,
        now_ms: u64,
    ) -> Vec<Effect> {
        let Some(hook) = self.holding.hook else {
            return Vec::new();
        };
        let mut effects = Vec::new();
        if self.holding.settle(ticket, decide(answer, hook.fail)) {
            self.holding.ask_more(now_ms, &mut effects);
            self.release();
        }
        effects
    }

    /// Decides every question whose deadline has passed as a timeout (asked from [`Room::tick`]), and
    /// asks for a wake at the next deadline.
    pub(super) fn screening_due(&mut self, now_ms: u64) -> Vec<Effect> {
        let Some(hook) = self.holding.hook else {
            return Vec::new();
        };
        let due: Vec<u64> = self
            .holding
            .questions
            .iter()
            .filter(|(_, q)| q.deadline <= now_ms)
            .map(|(&t, _)| t)
            .collect();
        let mut effects = Vec::new();
        for ticket in due {
            self.holding
                .settle(ticket, decide(Err(Failure::Timeout), hook.fail));
        }
        self.holding.ask_more(now_ms, &mut effects);
        self.release();
        if let Some(deadline) = self.holding.next_deadline() {
            effects.push(Effect::Wake {
                after_ms: deadline.saturating_sub(now_ms),
            });
        }
        effects
    }

    /// Moves the held frames at the front that may go on into the flush's queue, as their outcome
    /// says: as sent, with the replacement text, or as the refusal.
    fn release(&mut self) {
        while let Some(Held {
            state: State::Ready(_),
            ..
        }) = self.holding.held.front()
        {
            let Some(Held {
                item,
                state: State::Ready(outcome),
            }) = self.holding.held.pop_front()
            else {
                break;
            };
            let item = match outcome {
                None | Some(Outcome::Allow) => item,
                Some(Outcome::Replace(text)) => replaced(item, text),
                Some(refused) => match refused.refusal() {
                    Some(p) => refusal(item, &p),
                    None => item,
                },
            };
            self.queue.push(item);
        }
    }

    /// A bot's post when the room has a hook: held like a socket's message, answered as HTTP call
    /// `call` by an [`Effect::Reply`] once stored or refused. A text the room refuses anyway, or a
    /// room holding all it will, is answered at once.
    pub fn hold_post(&mut self, call: u64, draft: Draft, now_ms: u64) -> Vec<Effect> {
        let refused = validate::check_text(&draft.text)
            .and_then(|_| self.rules.check_words(&draft.text))
            .err()
            .or_else(|| {
            self.holding.full().then(|| {
                Problem::new(
                    ErrorCode::RateLimited,
                    "the room is waiting for its moderation check on many messages; try again shortly",
                )
            })
        });
        if let Some(p) = refused {
            let (status, body) = post_answer(&Err(p), None);
            return vec![Effect::Reply { call, status, body }];
        }
        self.behind(
            Queued::Post {
                call,
                draft,
                replaced: None,
            },
            now_ms,
        );
        Vec::new()
    }

    /// For the room's info (operators): what the hook holds and how it fares.
    pub fn screening_info(&self) -> Option<serde_json::Value> {
        let hook = self.holding.hook?;
        Some(serde_json::json!({
            "timeout_ms": hook.timeout_ms,
            "fail": match hook.fail { Fail::Open => "open", Fail::Closed => "closed" },
            "held": self.holding.held.len(),
            "in_flight": self.holding.in_flight,
            "failures": self.holding.failures,
            "last_failure": self.holding.last_failure,
        }))
    }
}

/// `item` with the hook's replacement `text`, remembering the fingerprint of a message's text as sent.
fn replaced(item: Queued, text: String) -> Queued {
    match item {
        Queued::Op {
            conn_id,
            from,
            op:
                ClientFrame::Message {
                    text: sent,
                    id,
                    reply_to,
                    thread,
                    also_in_room,
                    files,
                },
            ..
        } => Queued::Op {
            conn_id,
            from,
            op: ClientFrame::Message {
                text,
                id,
                reply_to,
                thread,
                also_in_room,
                files,
            },
            replaced: Some(screening::fingerprint(&sent)),
        },
        Queued::Op {
            conn_id,
            from,
            op:
                ClientFrame::Edit {
                    seq,
                    id,
                    files,
                    drop_preview,
                    ..
                },
            replaced,
        } => Queued::Op {
            conn_id,
            from,
            op: ClientFrame::Edit {
                seq,
                text: Some(text),
                id,
                files,
                drop_preview,
            },
            replaced,
        },
        Queued::Post { call, draft, .. } => Queued::Post {
            call,
            replaced: Some(screening::fingerprint(&draft.text)),
            draft: Draft { text, ..draft },
        },
        other => other,
    }
}

/// What a refused `item` becomes: its sender's error frame, or the HTTP answer to a post.
fn refusal(item: Queued, p: &Problem) -> Queued {
    match item {
        Queued::Op { conn_id, op, .. } => {
            Queued::Effects(vec![error_to(&conn_id, p.code, &p.message, op.id())])
        }
        Queued::Post { call, .. } => {
            let (status, body) = post_answer(&Err(p.clone()), None);
            Queued::Effects(vec![Effect::Reply { call, status, body }])
        }
        other => other,
    }
}
