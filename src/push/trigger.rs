//! What a room's update of a person's inbox entry means for their notifications: a new message by
//! someone else (which may call for a push), and whether the person read the room (which lets the
//! next one through). The inbox keeps each room's counts, not its messages, so this compares the
//! entry before and after the update: unread grew → someone else wrote; mentions or thread counts
//! grew → that message was for the person.

use crate::inbox::entry::Update;

/// The difference an update makes, for [`super::policy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Change {
    /// A message by someone else arrived, unread (its preview is the update's `last`).
    pub new_message: bool,
    /// Unread mentions of the person grew.
    pub mentions_me: bool,
    /// Unread replies in the person's threads grew.
    pub my_thread: bool,
    /// The person's read position moved forward.
    pub read: bool,
}

/// Compares the entry the inbox had (`None`: the room's first update) with the room's new `update`,
/// for the person `uid`.
pub fn change(before: Option<&Update>, update: &Update, uid: &str) -> Change {
    let (unread, mentions, threads, read_seq, last_seq) = before.map_or((0, 0, 0, 0, 0), |b| {
        (b.unread, b.mentions, b.threads, b.read_seq, b.last_seq)
    });
    let by_someone_else = update.last.as_ref().is_some_and(|last| {
        last.uid.as_deref() != Some(uid) && last.seq > read_seq.max(update.read_seq)
    });
    let new_message =
        update.last_seq > last_seq && update.unread > unread && by_someone_else && !update.gone;
    Change {
        new_message,
        mentions_me: new_message && update.mentions > mentions,
        my_thread: new_message && update.threads > threads,
        read: before.is_some() && update.read_seq > read_seq,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbox::entry::Last;

    fn update(last_seq: u64, read_seq: u64, unread: u64, by: &str) -> Update {
        Update {
            room: "lobby".into(),
            stamp: last_seq,
            last_seq,
            read_seq,
            unread,
            mentions: 0,
            threads: 0,
            last: Some(Last {
                seq: last_seq,
                uid: Some(by.into()),
                name: by.into(),
                text: "hi".into(),
                at: 1,
            }),
            big: false,
            dm: None,
            gone: false,
        }
    }

    #[test]
    fn someone_elses_message_is_new_and_ones_own_is_not() {
        let before = update(3, 3, 0, "me");
        assert!(change(Some(&before), &update(4, 3, 1, "ann"), "me").new_message);
        assert!(!change(Some(&before), &update(4, 4, 0, "me"), "me").new_message);
        // The first update of a room with an unread message by someone else.
        assert!(change(None, &update(1, 0, 1, "ann"), "me").new_message);
    }

    #[test]
    fn a_mention_or_thread_reply_is_told_as_such_and_reading_is_noticed() {
        let before = update(3, 3, 0, "me");
        let mut mention = update(4, 3, 1, "ann");
        mention.mentions = 1;
        let c = change(Some(&before), &mention, "me");
        assert!(c.mentions_me && !c.my_thread);
        let mut reply = update(4, 3, 1, "ann");
        reply.threads = 1;
        assert!(change(Some(&before), &reply, "me").my_thread);
        let read = change(Some(&update(4, 3, 1, "ann")), &update(4, 4, 0, "ann"), "me");
        assert!(read.read && !read.new_message);
    }

    #[test]
    fn an_edit_or_deletion_is_no_new_message() {
        let before = update(4, 3, 1, "ann");
        // Same last seq (an edit): nothing new. Unread shrinking (a deletion): nothing new.
        assert!(!change(Some(&before), &update(4, 3, 1, "ann"), "me").new_message);
        assert!(!change(Some(&before), &update(5, 3, 0, "ann"), "me").new_message);
    }
}
