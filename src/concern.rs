//! Whom a message concerns personally, beyond the room's ordinary unread count: the people it
//! mentions, and — for a reply — the people who take part in its thread; everyone, for `@room`.
//! One decision, used by the room to tell each of them their counts (the `unread` frame) and meant
//! for whatever else acts per person on a message (a per-person inbox, notifications), so they
//! all agree on who "needs to know".

use crate::domain::ChatMessage;

/// The people a message concerns (uids, each once, never its author) and whether it calls on
/// everyone (`@room`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Concerned {
    pub everyone: bool,
    pub people: Vec<String>,
}

impl Concerned {
    fn add(&mut self, uid: &str, author: Option<&str>) {
        if Some(uid) != author && !self.people.iter().any(|p| p == uid) {
            self.people.push(uid.to_string());
        }
    }

    pub fn is_empty(&self) -> bool {
        !self.everyone && self.people.is_empty()
    }
}

/// Whom a newly stored `message` concerns: those it mentions, then (a reply) `participants`, the
/// people who take part in its thread (as storage lists them); its author never.
pub fn concerned(message: &ChatMessage, participants: &[String]) -> Concerned {
    let author = message.from.identity();
    let mut who = Concerned {
        everyone: message.mentions_room,
        people: Vec::new(),
    };
    for uid in &message.mentions {
        who.add(uid, author);
    }
    if message.root().is_some() {
        for uid in participants {
            who.add(uid, author);
        }
    }
    who
}

/// Whom a change of a stored message concerns (`before` → `after`: an edit, or a deletion's
/// tombstone): the people mentioned in one and not the other; everyone when `@room` came or went;
/// for a deleted reply, the thread's `participants` too (their unread replies changed).
pub fn changed(before: &ChatMessage, after: &ChatMessage, participants: &[String]) -> Concerned {
    let author = after.from.identity();
    let mut who = Concerned {
        everyone: before.mentions_room != after.mentions_room,
        people: Vec::new(),
    };
    for uid in before.mentions.iter().chain(&after.mentions) {
        if before.mentions.contains(uid) != after.mentions.contains(uid) {
            who.add(uid, author);
        }
    }
    if after.deleted && !before.deleted && after.root().is_some() {
        for uid in participants {
            who.add(uid, author);
        }
    }
    who
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Thread, User};

    fn by(uid: &str) -> ChatMessage {
        let from = User {
            id: "c".into(),
            name: "n".into(),
            uid: Some(uid.into()),
        };
        ChatMessage::new(5, None, from, "hi".into(), 1)
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_message_concerns_those_it_mentions_but_never_its_author() {
        let mut m = by("u-ann");
        m.mentions = strings(&["u-bob", "u-ann", "u-cy"]);
        let who = concerned(&m, &strings(&["u-dee"]));
        assert_eq!(who.people, ["u-bob", "u-cy"]);
        assert!(!who.everyone);
        assert!(concerned(&by("u-ann"), &[]).is_empty());
    }

    #[test]
    fn a_reply_concerns_the_thread_participants_too() {
        let mut m = by("u-ann");
        m.thread = Some(Thread::In(1));
        m.mentions = strings(&["u-bob"]);
        let who = concerned(&m, &strings(&["u-ann", "u-cy", "u-bob"]));
        assert_eq!(who.people, ["u-bob", "u-cy"]);
    }

    #[test]
    fn at_room_concerns_everyone() {
        let mut m = by("u-mod");
        m.mentions_room = true;
        assert!(concerned(&m, &[]).everyone);
    }

    #[test]
    fn an_edit_concerns_those_whose_mention_came_or_went() {
        let mut before = by("u-ann");
        before.mentions = strings(&["u-bob", "u-cy"]);
        let mut after = before.clone();
        after.mentions = strings(&["u-cy", "u-dee"]);
        let who = changed(&before, &after, &strings(&["u-eve"]));
        assert_eq!(who.people, ["u-bob", "u-dee"]);
        assert!(!who.everyone);
        after.mentions_room = true;
        assert!(changed(&before, &after, &[]).everyone);
    }

    #[test]
    fn a_deleted_reply_concerns_its_thread_and_those_it_mentioned() {
        let mut before = by("u-ann");
        before.thread = Some(Thread::In(1));
        before.mentions = strings(&["u-bob"]);
        let after = ChatMessage {
            deleted: true,
            mentions: Vec::new(),
            ..before.clone()
        };
        let who = changed(&before, &after, &strings(&["u-ann", "u-cy"]));
        assert_eq!(who.people, ["u-bob", "u-cy"]);
    }
}
