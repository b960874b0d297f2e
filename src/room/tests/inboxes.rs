//! What a room tells its members' inboxes: rounds noted by messages, edits, deletions, read marks and
//! bans; each member's entry counted from the history (never their own messages); the first and last
//! socket of a person.

use super::*;
use crate::inbox::notify::{Here, Members};

fn members() -> Vec<String> {
    vec!["u-ann".to_string(), "u-bob".to_string()]
}

#[test]
fn a_message_waits_for_a_round_to_every_member() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    let n = r.inboxes();
    assert!(n.waiting(), "ann's hello");
    assert_eq!(n.take(1, Members::Few(&members())), members());
    assert!(!r.inboxes().waiting());
    send(
        &mut r,
        "a",
        serde_json::json!({"type": "react", "seq": 1, "emoji": "👍", "on": true}),
        &mut h,
        2,
    );
    assert!(!r.inboxes().waiting(), "a reaction changes no entry");
    send(
        &mut r,
        "b",
        serde_json::json!({"type": "read", "seq": 1}),
        &mut h,
        3,
    );
    assert_eq!(
        r.inboxes().take(5_000, Members::Few(&members())),
        vec!["u-bob".to_string()],
        "a read mark: the reader's entry only"
    );
}

#[test]
fn counts_are_exact_and_never_count_ones_own() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    send(&mut r, "b", sayv(Some("b1"), "hi ann"), &mut h, 2);
    send(&mut r, "b", sayv(Some("b2"), "still there?"), &mut h, 3);
    let preview = r.last_message(&h).unwrap();
    assert_eq!(
        preview.as_ref().map(|p| p.text.as_str()),
        Some("still there?")
    );
    let ann = r
        .entry_for(&h, "u-ann", preview.as_ref(), 10, false)
        .unwrap();
    assert_eq!((ann.unread, ann.read_seq, ann.last_seq), (2, 0, 3));
    let bob = r
        .entry_for(&h, "u-bob", preview.as_ref(), 10, false)
        .unwrap();
    assert_eq!(bob.unread, 1, "ann's hello; bob's own two are not unread");
    // bob deletes his last: ann's count drops and the preview goes back to the one before
    send(
        &mut r,
        "b",
        serde_json::json!({"type": "delete", "seq": 3}),
        &mut h,
        4,
    );
    let preview = r.last_message(&h).unwrap();
    assert_eq!(preview.as_ref().map(|p| p.seq), Some(2));
    assert_eq!(
        r.entry_for(&h, "u-ann", preview.as_ref(), 11, false)
            .unwrap()
            .unread,
        1
    );
    // ann reads up to 2
    send(
        &mut r,
        "a",
        serde_json::json!({"type": "read", "seq": 2}),
        &mut h,
        5,
    );
    let ann = r
        .entry_for(&h, "u-ann", preview.as_ref(), 12, false)
        .unwrap();
    assert_eq!((ann.unread, ann.read_seq), (0, 2));
    assert_eq!(ann.room, "lobby");
}

#[test]
fn a_ban_makes_the_author_a_member_no_more() {
    let mut h = MemoryHistory::default();
    let mut r = moderated(&mut h);
    r.inboxes().take(0, Members::Few(&members()));
    send(&mut r, "b", uid_frame("ban", "u-ann"), &mut h, 2);
    assert_eq!(r.inboxes().take_gone(), vec!["u-ann".to_string()]);
}

#[test]
fn an_inbox_hears_of_a_persons_first_socket_and_their_last() {
    let mut h = MemoryHistory::default();
    let mut r = room();
    let ann = |id: &str| User::connection(id.into(), "ann".into(), Some("u-ann".into()));
    r.join(ann("a1"), (), None, &mut h, 0).unwrap();
    r.join(ann("a2"), (), None, &mut h, 0).unwrap();
    r.join(user("c", "cy"), (), None, &mut h, 0).unwrap();
    assert!(r.is_here("u-ann"));
    assert_eq!(
        r.inboxes().take_here(),
        vec![("u-ann".to_string(), Here::Came("ann".into()))],
        "once, and never for the anonymous"
    );
    r.leave("a1", 1);
    assert!(r.inboxes().take_here().is_empty(), "one socket is left");
    r.leave("a2", 2);
    assert!(!r.is_here("u-ann"));
    assert_eq!(
        r.inboxes().take_here(),
        vec![("u-ann".to_string(), Here::Went)]
    );
    // a wake's restore is no news
    r.restore([(ann("a3"), (), Joining::default())], 3);
    assert!(r.is_here("u-ann"));
    assert!(r.inboxes().take_here().is_empty());
}

#[test]
fn mentions_and_thread_replies_are_counted_and_concern_whom_they_name() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    r.inboxes().take(0, Members::Few(&members()));
    // ann mentions bob: the round names bob even when only the concerned are told (a big room)
    send(&mut r, "a", sayv(Some("m2"), "@bob look"), &mut h, 2);
    let is_member = |uid: &str| uid.starts_with("u-");
    assert_eq!(
        r.inboxes().take(5_000, Members::Many(&is_member)),
        vec!["u-bob".to_string()]
    );
    let last = r.last_message(&h).unwrap();
    let bob = r.entry_for(&h, "u-bob", last.as_ref(), 1, false).unwrap();
    assert_eq!((bob.unread, bob.mentions), (2, 1));
    // bob replies in a thread on ann's hello: ann takes part; the reply is not the room's preview
    send(
        &mut r,
        "b",
        serde_json::json!({"type":"message","text":"on it","thread":1,"id":"r1"}),
        &mut h,
        3,
    );
    assert!(r
        .inboxes()
        .take(10_000, Members::Many(&is_member))
        .contains(&"u-ann".to_string()));
    let last = r.last_message(&h).unwrap();
    assert_eq!(
        last.as_ref().map(|l| l.seq),
        Some(2),
        "a thread's reply is no preview"
    );
    let ann = r.entry_for(&h, "u-ann", last.as_ref(), 2, false).unwrap();
    assert_eq!(
        (ann.unread, ann.threads),
        (0, 1),
        "ann's own mention is not hers to read"
    );
    // a mention of someone who is no member is told to nobody
    send(&mut r, "a", sayv(Some("m3"), "<@outsider> hi"), &mut h, 4);
    assert!(!r
        .inboxes()
        .take(20_000, Members::Many(&is_member))
        .iter()
        .any(|u| u == "outsider"));
}
