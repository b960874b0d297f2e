//! Files on messages (uploads admitted by the rules, claimed once, removed by edits and deletions,
//! swept when unused) and link previews (asked after the store, recorded as a later change).

use super::*;
use crate::domain::{FileDescriptor, Preview};
use crate::files::log::FileLog;
use crate::files::log::Uploader;
use crate::files::FileId;

/// `FILE_UNUSED_SECS` by default, in ms.
const UNUSED_TTL_MS: u64 = crate::files::DEFAULT_UNUSED_SECS * 1000;
use crate::moderation::Action;

fn say_to(
    r: &mut Room<()>,
    conn: &str,
    frame: String,
    h: &mut MemoryHistory,
    now: u64,
) -> Vec<Effect> {
    deliver(r, conn, Incoming::Text(&frame), h, now)
}

fn id(n: u8) -> FileId {
    FileId::from_random([n; 16])
}

fn ann_uploader() -> Uploader {
    Uploader {
        uid: Some(ANN.into()),
        role: Role::Member,
        address: None,
    }
}

/// Upload `n` by `who`, admitted and done, as the Worker makes it.
fn upload(
    r: &mut Room<()>,
    h: &mut MemoryHistory,
    n: u8,
    who: &Uploader,
    now: u64,
) -> FileDescriptor {
    let file = FileDescriptor {
        id: id(n).as_str().to_string(),
        name: format!("shot {n}.png"),
        content_type: "image/png".into(),
        size: 1000 + u64::from(n),
        width: Some(64),
        height: Some(48),
        thumb: false,
    };
    r.admit_upload(&id(n), who, h, now).unwrap();
    r.uploaded(&file, h).unwrap();
    file
}

fn message_with(files: &[u8], id: &str) -> serde_json::Value {
    let files: Vec<String> = files
        .iter()
        .map(|&n| self::id(n).as_str().to_string())
        .collect();
    serde_json::json!({"type": "message", "text": "look", "files": files, "id": id})
}

fn error_code(effects: &[Effect], to: &str) -> Option<String> {
    frames_for(effects, to)
        .into_iter()
        .find(|f| f["type"] == "error")
        .map(|f| f["code"].as_str().unwrap().to_string())
}

#[test]
fn a_message_carries_the_descriptors_of_its_uploads_and_uses_each_once() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    let one = upload(&mut r, &mut h, 1, &ann_uploader(), 2);
    let two = upload(&mut r, &mut h, 2, &ann_uploader(), 2);
    let effects = send(&mut r, "a", message_with(&[1, 2], "f1"), &mut h, 3);
    let to_b = frames_for(&effects, "b");
    assert_eq!(to_b[0]["type"], "message");
    assert_eq!(
        to_b[0]["files"],
        serde_json::to_value([&one, &two]).unwrap()
    );
    assert_eq!(h.get(2).unwrap().unwrap().files, vec![one, two]);
    assert!(h.uploads.iter().all(|u| u.seq == Some(2)));
    // a retry of the same message is the same message, acked with its seq
    let effects = send(&mut r, "a", message_with(&[1, 2], "f1"), &mut h, 4);
    assert_eq!(frames_for(&effects, "a")[0]["seq"], 2);
    // another message may not use them again
    let effects = send(&mut r, "a", message_with(&[1], "f2"), &mut h, 5);
    assert_eq!(error_code(&effects, "a").as_deref(), Some("bad_file"));
    assert_eq!(r.last_seq(), 2, "nothing stored");
}

#[test]
fn files_not_uploaded_here_or_by_someone_else_are_refused_and_nothing_is_stored() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    upload(&mut r, &mut h, 1, &ann_uploader(), 2);
    // never uploaded (another room's id names nothing here)
    let effects = send(&mut r, "a", message_with(&[9], "x1"), &mut h, 3);
    assert_eq!(error_code(&effects, "a").as_deref(), Some("bad_file"));
    // ann's upload, in bob's message
    let effects = send(&mut r, "b", message_with(&[1], "x2"), &mut h, 3);
    assert_eq!(error_code(&effects, "b").as_deref(), Some("bad_file"));
    // reserved but its bytes never arrived
    r.admit_upload(&id(3), &ann_uploader(), &mut h, 3).unwrap();
    let effects = send(&mut r, "a", message_with(&[3], "x3"), &mut h, 3);
    assert_eq!(error_code(&effects, "a").as_deref(), Some("bad_file"));
    assert_eq!(r.last_seq(), 1);
    // an anonymous upload may be used by whoever holds its id
    let anon = Uploader {
        uid: None,
        role: Role::Member,
        address: None,
    };
    upload(&mut r, &mut h, 4, &anon, 3);
    let effects = send(&mut r, "c", message_with(&[4], "x4"), &mut h, 4);
    assert_eq!(frames_for(&effects, "c")[0]["type"], "ack");
}

#[test]
fn uploading_obeys_the_rules_of_sending() {
    let mut h = MemoryHistory::default();
    let mut r = moderated(&mut h);
    let ann = ann_uploader();
    let admit = |r: &mut Room<()>, h: &mut MemoryHistory, n: u8, who: &Uploader, now: u64| {
        r.admit_upload(&id(n), who, h, now).map_err(|p| p.code)
    };
    let mute = Action::Mute {
        uid: ANN.into(),
        seconds: 60,
    };
    r.moderate_api(User::api("mod"), mute, &mut h, 10)
        .0
        .unwrap();
    assert_eq!(admit(&mut r, &mut h, 1, &ann, 11), Err(ErrorCode::Muted));
    let unmute = Action::Unmute { uid: ANN.into() };
    r.moderate_api(User::api("mod"), unmute, &mut h, 12)
        .0
        .unwrap();
    assert_eq!(admit(&mut r, &mut h, 1, &ann, 13), Ok(()));
    // slow mode: an upload may go while the message it is for could
    let slow = Action::SlowMode { seconds: 30 };
    r.moderate_api(User::api("mod"), slow, &mut h, 14)
        .0
        .unwrap();
    send(
        &mut r,
        "a",
        serde_json::json!({"type":"message","text":"now"}),
        &mut h,
        15,
    );
    assert_eq!(admit(&mut r, &mut h, 2, &ann, 16), Err(ErrorCode::SlowMode));
    assert_eq!(admit(&mut r, &mut h, 2, &ann, 15 + 30_000), Ok(()));
    let ban = Action::Ban {
        uid: ANN.into(),
        reason: None,
    };
    r.moderate_api(User::api("mod"), ban, &mut h, 20).0.unwrap();
    assert_eq!(
        admit(&mut r, &mut h, 3, &ann, 40_000),
        Err(ErrorCode::Banned)
    );
    // anonymous uploads where an identity is required
    let anon = Uploader {
        uid: None,
        role: Role::Member,
        address: None,
    };
    let strict = Action::Anonymous { allowed: false };
    r.moderate_api(User::api("mod"), strict, &mut h, 21)
        .0
        .unwrap();
    assert_eq!(
        admit(&mut r, &mut h, 4, &anon, 40_000),
        Err(ErrorCode::Forbidden)
    );
}

#[test]
fn an_author_holds_a_bounded_number_of_unused_uploads() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    for n in 0..crate::files::MAX_UNUSED_PER_AUTHOR as u8 {
        upload(&mut r, &mut h, n, &ann_uploader(), 2);
    }
    let refused = r.admit_upload(&id(200), &ann_uploader(), &mut h, 3);
    assert_eq!(refused.unwrap_err().code, ErrorCode::RateLimited);
    // sending some frees room for more
    send(&mut r, "a", message_with(&[0, 1], "s1"), &mut h, 4);
    assert!(r.admit_upload(&id(200), &ann_uploader(), &mut h, 5).is_ok());
}

#[test]
fn edits_remove_files_never_add_them_and_deletion_takes_them_all() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    upload(&mut r, &mut h, 1, &ann_uploader(), 2);
    upload(&mut r, &mut h, 2, &ann_uploader(), 2);
    upload(&mut r, &mut h, 3, &ann_uploader(), 2);
    send(&mut r, "a", message_with(&[1, 2], "m2"), &mut h, 3);
    let keep_and_add = serde_json::json!({"type":"edit","seq":2,"files":[id(1).as_str(), id(3).as_str()],"id":"e1"});
    let effects = send(&mut r, "a", keep_and_add, &mut h, 4);
    assert_eq!(error_code(&effects, "a").as_deref(), Some("bad_file"));
    let keep_one = serde_json::json!({"type":"edit","seq":2,"files":[id(1).as_str()],"id":"e2"});
    let effects = send(&mut r, "a", keep_one, &mut h, 5);
    let update = frames_for(&effects, "b")
        .into_iter()
        .find(|f| f["type"] == "message_updated")
        .unwrap();
    assert_eq!(update["message"]["files"].as_array().unwrap().len(), 1);
    assert_eq!(update["message"]["text"], "look", "the text stays");
    assert_eq!(
        update["message"]["version"], 1,
        "no new version of the text"
    );
    assert_eq!(h.doomed, vec![id(2).as_str().to_string()]);
    assert!(effects.contains(&Effect::DeleteFiles));
    // a resume sees the change
    assert_eq!(h.changes(2, 2, 10).unwrap()[0].files.len(), 1);
    // the last file goes with the text: nothing would be left
    let effects = send(
        &mut r,
        "a",
        serde_json::json!({"type":"edit","seq":2,"text":"","files":[],"id":"e3"}),
        &mut h,
        6,
    );
    assert_eq!(error_code(&effects, "a").as_deref(), Some("bad_request"));
    let effects = send(
        &mut r,
        "a",
        serde_json::json!({"type":"delete","seq":2,"id":"d"}),
        &mut h,
        7,
    );
    assert!(effects.contains(&Effect::DeleteFiles));
    assert_eq!(
        h.doomed,
        vec![id(2).as_str().to_string(), id(1).as_str().to_string()]
    );
    assert!(
        h.get(2).unwrap().unwrap().files.is_empty(),
        "the tombstone shows no file"
    );
    // the unused upload is still there for a message
    assert!(h.file(id(3).as_str()).unwrap().is_some());
}

#[test]
fn trimming_the_history_dooms_the_files_of_what_it_trims() {
    let mut h = MemoryHistory::default();
    let limits = Limits {
        history_limit: 2,
        ..Limits::default()
    };
    let mut r: Room<()> = Room::new("lobby", limits, 0);
    let ann = User {
        uid: Some(ANN.into()),
        ..user("a", "ann")
    };
    r.join(ann, (), None, &mut h, 0).unwrap();
    upload(&mut r, &mut h, 1, &ann_uploader(), 1);
    send(&mut r, "a", message_with(&[1], "first"), &mut h, 2);
    let mut purged = false;
    for i in 0..TRIM_EVERY {
        // a second apart, inside the rate limit
        let effects = say_to(
            &mut r,
            "a",
            say(Some(&format!("n{i}")), "more"),
            &mut h,
            1000 * (i + 3),
        );
        purged |= effects.contains(&Effect::DeleteFiles);
    }
    assert!(purged);
    assert_eq!(h.doomed, vec![id(1).as_str().to_string()]);
}

#[test]
fn unused_uploads_are_swept_after_an_hour_and_the_next_sweep_is_due_then() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    assert_eq!(r.uploads_due(), None);
    upload(&mut r, &mut h, 1, &ann_uploader(), 1000);
    upload(&mut r, &mut h, 2, &ann_uploader(), 5000);
    assert_eq!(r.uploads_due(), Some(1000 + UNUSED_TTL_MS));
    assert_eq!(r.sweep_uploads(&mut h, 2000), Ok(vec![]), "not yet");
    assert_eq!(
        r.sweep_uploads(&mut h, 1000 + UNUSED_TTL_MS),
        Ok(vec![Effect::DeleteFiles])
    );
    assert_eq!(h.doomed, vec![id(1).as_str().to_string()]);
    assert_eq!(r.uploads_due(), Some(5000 + UNUSED_TTL_MS));
    // a sweep finding the upload used meanwhile leaves it alone
    send(&mut r, "a", message_with(&[2], "late"), &mut h, 6000);
    assert_eq!(r.sweep_uploads(&mut h, 5000 + UNUSED_TTL_MS), Ok(vec![]));
    assert_eq!(r.uploads_due(), None);
    // an upload whose bytes arrive after its sweep has nothing to complete
    r.admit_upload(&id(7), &ann_uploader(), &mut h, 7000)
        .unwrap();
    r.sweep_uploads(&mut h, 7000 + UNUSED_TTL_MS).unwrap();
    let late = FileDescriptor {
        id: id(7).as_str().to_string(),
        name: "x".into(),
        content_type: "text/plain".into(),
        size: 1,
        width: None,
        height: None,
        thumb: false,
    };
    assert_eq!(
        r.uploaded(&late, &mut h).unwrap_err().code,
        ErrorCode::NotFound
    );
}

#[test]
fn only_the_uploader_adds_a_thumbnail_to_an_unused_image() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    upload(&mut r, &mut h, 1, &ann_uploader(), 1);
    let bob = Uploader {
        uid: Some(BOB.into()),
        ..ann_uploader()
    };
    assert_eq!(
        r.may_thumb(&id(1), &bob, &h).unwrap_err().code,
        ErrorCode::NotFound
    );
    assert!(r.may_thumb(&id(1), &ann_uploader(), &h).is_ok());
    assert!(r.thumbed(&id(1), &mut h).unwrap().thumb);
    let effects = send(&mut r, "a", message_with(&[1], "t"), &mut h, 2);
    assert_eq!(frames_for(&effects, "b")[0]["files"][0]["thumb"], true);
    assert!(
        r.may_thumb(&id(1), &ann_uploader(), &h).is_err(),
        "used: no change"
    );
}

fn page(link: &str) -> Preview {
    Preview {
        url: link.into(),
        title: "A page".into(),
        description: "about it".into(),
        site: "example.com".into(),
        image: None,
    }
}

#[test]
fn a_links_preview_is_asked_after_the_store_and_recorded_as_a_change() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    let link = "https://example.com/a";
    let effects = say_to(
        &mut r,
        "a",
        say(Some("p1"), &format!("see {link}.")),
        &mut h,
        2,
    );
    // the ack and the broadcast are there at once; the fetch is asked for beside them
    assert_eq!(frames_for(&effects, "a")[0]["type"], "ack");
    assert!(effects.contains(&Effect::Preview {
        seq: 2,
        link: link.into()
    }));
    let rev = r.rev();
    let effects = r.previewed(2, link, Some(page(link)), &mut h, 3).unwrap();
    let update = &frames_for(&effects, "a")[0];
    assert_eq!(update["type"], "message_updated");
    assert_eq!(update["message"]["preview"]["title"], "A page");
    assert_eq!(update["rev"], rev + 1);
    assert_eq!(r.rev(), rev + 1);
    assert_eq!(h.changes(2, rev, 10).unwrap()[0].preview, Some(page(link)));
    // an answer nobody waits for (again, or for another link) changes nothing
    assert_eq!(
        r.previewed(2, link, Some(page(link)), &mut h, 4),
        Ok(vec![])
    );
    // the sender removes it
    let effects = send(
        &mut r,
        "a",
        serde_json::json!({"type":"edit","seq":2,"preview":false}),
        &mut h,
        5,
    );
    let update = frames_for(&effects, "b").pop().unwrap();
    assert!(update["message"].get("preview").is_none());
    assert_eq!(h.get(2).unwrap().unwrap().preview, None);
}

#[test]
fn a_preview_removed_or_deleted_before_it_arrives_never_shows() {
    let mut h = MemoryHistory::default();
    let mut r = living(&mut h);
    let link = "https://example.com/b";
    say_to(&mut r, "a", say(Some("p1"), link), &mut h, 2);
    send(
        &mut r,
        "a",
        serde_json::json!({"type":"edit","seq":2,"preview":false}),
        &mut h,
        3,
    );
    assert_eq!(
        r.previewed(2, link, Some(page(link)), &mut h, 4),
        Ok(vec![])
    );
    say_to(&mut r, "a", say(Some("p2"), link), &mut h, 5);
    send(
        &mut r,
        "a",
        serde_json::json!({"type":"delete","seq":3}),
        &mut h,
        6,
    );
    assert_eq!(
        r.previewed(3, link, Some(page(link)), &mut h, 7),
        Ok(vec![])
    );
    assert_eq!(h.get(3).unwrap().unwrap().preview, None);
}

#[test]
fn previews_are_off_with_previews_0_and_bounded_in_flight() {
    let mut h = MemoryHistory::default();
    let mut r: Room<()> = Room::new(
        "lobby",
        Limits {
            previews: false,
            ..Limits::default()
        },
        0,
    );
    r.join(user("a", "ann"), (), None, &mut h, 0).unwrap();
    let effects = say_to(&mut r, "a", say(None, "https://example.com"), &mut h, 1);
    assert!(!effects.iter().any(|e| matches!(e, Effect::Preview { .. })));
    let mut r = living(&mut h);
    let mut asked = 0;
    for i in 0..20 {
        let effects = say_to(
            &mut r,
            "a",
            say(None, &format!("https://example.com/{i}")),
            &mut h,
            2,
        );
        asked += effects
            .iter()
            .filter(|e| matches!(e, Effect::Preview { .. }))
            .count();
    }
    assert_eq!(asked, crate::preview::MAX_IN_FLIGHT);
    // a fetch that never answered frees its place in time
    let effects = say_to(
        &mut r,
        "a",
        say(None, "https://example.com/late"),
        &mut h,
        60_000,
    );
    assert!(effects.iter().any(|e| matches!(e, Effect::Preview { .. })));
}

#[test]
fn retention_erasing_a_message_dooms_its_files_and_no_others() {
    let mut h = MemoryHistory::default();
    let mut r: Room<()> = Room::new(
        "lobby",
        Limits {
            retention: crate::retention::Retention {
                default_days: Some(1),
                max_days: None,
                day_secs: 1,
            },
            ..Limits::default()
        },
        0,
    );
    let ann = User {
        uid: Some(ANN.into()),
        ..user("a", "ann")
    };
    r.join(ann, (), None, &mut h, 0).unwrap();
    upload(&mut r, &mut h, 1, &ann_uploader(), 0);
    upload(&mut r, &mut h, 2, &ann_uploader(), 0);
    send(&mut r, "a", message_with(&[1], "old"), &mut h, 10);
    send(&mut r, "a", message_with(&[2], "new"), &mut h, 900);
    // A day (a second here) after the first: it is erased, its file doomed; the second stays.
    let effects = r.sweep_expired(&mut h, 1_100).unwrap();
    assert!(effects.contains(&Effect::DeleteFiles));
    assert_eq!(h.doomed, vec![id(1).as_str().to_string()]);
    assert!(h.get(1).unwrap().unwrap().files.is_empty());
    assert_eq!(h.get(2).unwrap().unwrap().files.len(), 1);
}
