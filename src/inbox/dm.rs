//! Direct messages: a room for a fixed set of people (two to [`MAX_MEMBERS`]). Its name is made from
//! the set ([`room_of`]: the same people always get the same room, whoever asks first), and its
//! members are fixed when it is opened (`POST /api/dms`): only they may join it, read it, search it or
//! see its info ([`admits`]) — whatever a token's `rooms` claim says, and with or without signed
//! access. A room name of the direct-message shape that was never opened admits nobody, so nobody can
//! take a pair's room before they do (uids are public, and so is the name made from them).

use sha2::{Digest, Sha256};

use crate::api::parse_body;
use crate::error::{ErrorCode, Problem};
use crate::identity;
use crate::validate::RoomName;

/// Most people one direct message may have, its opener included (a group of up to 8 others).
pub const MAX_MEMBERS: usize = 9;
/// What every direct message's room name starts with; then 32 hex characters.
pub const ROOM_PREFIX: &str = "dm.";
const HASH_CHARS: usize = 32;

/// The members of the direct message `opener` asks for in `body` (`{"with":"<uid>"}` or
/// `{"with":["<uid>",…]}`): the opener and everyone it names, each a checked uid of an identity (never
/// an anonymous one), sorted and without repeats, at least two people and at most [`MAX_MEMBERS`].
pub fn members_of_request(opener: &str, body: &str) -> Result<Vec<String>, Problem> {
    // Read as a JSON value rather than through an untagged serde enum, whose buffering deserializer
    // would cost the wasm more than this whole module.
    let body: serde_json::Value = parse_body(body)?;
    let with: Vec<String> = match &body["with"] {
        serde_json::Value::String(uid) => vec![uid.clone()],
        list => uids(list).ok_or_else(|| bad("\"with\" is a uid or a list of uids"))?,
    };
    if with.len() >= MAX_MEMBERS {
        return Err(bad(format!(
            "a direct message has at most {} other people",
            MAX_MEMBERS - 1
        )));
    }
    members(std::iter::once(opener.to_string()).chain(with))
}

/// The members a room is opened with (`["<uid>",…]`, as [`members`] made them), checked again.
pub fn members_of_list(body: &str) -> Result<Vec<String>, Problem> {
    let list: serde_json::Value = parse_body(body)?;
    members(uids(&list).ok_or_else(|| bad("members are a list of uids"))?)
}

/// A JSON list of strings (read by hand: a `Vec<String>` deserializer would cost the wasm more).
fn uids(list: &serde_json::Value) -> Option<Vec<String>> {
    list.as_array()?
        .iter()
        .map(|u| u.as_str().map(str::to_string))
        .collect()
}

/// A checked, sorted set of members (see [`members_of_request`]).
pub fn members(uids: impl IntoIterator<Item = String>) -> Result<Vec<String>, Problem> {
    let mut set = Vec::new();
    for uid in uids {
        let uid = uid.trim().to_string();
        identity::check_uid(&uid).map_err(|p| bad(p.message))?;
        if identity::is_anonymous(&uid) {
            return Err(bad("an anonymous connection cannot be in a direct message"));
        }
        // Kept sorted as it is made (nine at most): the order the room's name is made in.
        if let Err(at) = set.binary_search(&uid) {
            set.insert(at, uid);
        }
    }
    if set.len() < 2 {
        return Err(bad("name at least one other person's uid in \"with\""));
    }
    if set.len() > MAX_MEMBERS {
        return Err(bad(format!(
            "a direct message has at most {MAX_MEMBERS} people"
        )));
    }
    Ok(set)
}

fn bad(why: impl Into<String>) -> Problem {
    Problem::new(ErrorCode::BadRequest, why)
}

/// The room of the direct message between `members` (as [`members`] made them: sorted, no repeats):
/// `dm.` and 128 bits of SHA-256 of the set, under a domain-separation prefix, as hex. (A `Result`
/// only because a room name is made through its checked constructor; this one always passes.)
pub fn room_of(members: &[String]) -> Result<RoomName, Problem> {
    let mut hash = Sha256::new();
    hash.update(b"edge-chat dm v1\0");
    for uid in members {
        hash.update(uid.as_bytes());
        hash.update(b"\n");
    }
    let digest = hash.finalize();
    let hex: String = digest[..HASH_CHARS / 2]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    RoomName::parse(&format!("{ROOM_PREFIX}{hex}"))
}

/// Whether `room` has a direct message's name (`dm.` and 32 lowercase hex characters).
pub fn is_dm(room: &RoomName) -> bool {
    room.as_str().strip_prefix(ROOM_PREFIX).is_some_and(|hash| {
        hash.len() == HASH_CHARS
            && hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Whether the direct message with `members` (`None`: never opened) admits `uid` (`None`: anonymous):
/// `forbidden` (HTTP 403, close 4403) for anyone else.
pub fn admits(members: Option<&[String]>, uid: Option<&str>) -> Result<(), Problem> {
    let Some(members) = members else {
        return Err(Problem::new(
            ErrorCode::Forbidden,
            "no such direct message: open it with POST /api/dms",
        ));
    };
    match uid {
        Some(uid) if members.iter().any(|m| m == uid) => Ok(()),
        _ => Err(Problem::new(
            ErrorCode::Forbidden,
            "this direct message is only for its members",
        )),
    }
}

/// Who asks a room for something, as a direct message sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asker<'a> {
    /// A person joining or reading (their uid, `None` if anonymous).
    Person(Option<&'a str>),
    /// A bot posting through the HTTP API.
    Bot,
    /// The app's backend acting as a moderator (`API_TOKEN`).
    Operator,
    /// One of edge-chat's own objects (an inbox, the Worker opening the room).
    Internal,
}

/// Whether the direct message with `members` lets `asker` do what it asks: a person only if a member,
/// no bot ever (a direct message is between people), the operator's moderation (it reads nothing but
/// the log of actions), and edge-chat's own calls.
pub fn lets(members: Option<&[String]>, asker: Asker<'_>) -> Result<(), Problem> {
    match asker {
        Asker::Person(uid) => admits(members, uid),
        Asker::Bot => Err(Problem::new(
            ErrorCode::Forbidden,
            "a direct message takes no posts through the API",
        )),
        Asker::Operator | Asker::Internal => Ok(()),
    }
}

/// Whether `members` are the members of `room`: what the room checks before it lets itself be opened
/// with them (the Worker made the name from them; a hop is not a trust boundary to skip it at).
pub fn names(room: &RoomName, members: &[String]) -> bool {
    is_dm(room) && room_of(members).is_ok_and(|made| made == *room)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_same_people_get_the_same_room_whoever_asks() {
        let ann = members_of_request("ann-uid", r#"{"with":"bob-uid"}"#).unwrap();
        let bob = members_of_request("bob-uid", r#"{"with":["ann-uid"]}"#).unwrap();
        assert_eq!(ann, bob);
        let room = room_of(&ann).unwrap();
        assert_eq!(room, room_of(&bob).unwrap());
        assert!(is_dm(&room));
        assert!(names(&room, &ann));
        let group =
            members_of_request("ann-uid", r#"{"with":["cy-uid","bob-uid","cy-uid"]}"#).unwrap();
        assert_eq!(group, uids(&["ann-uid", "bob-uid", "cy-uid"]));
        assert_ne!(room_of(&group).unwrap(), room, "another set, another room");
        assert!(!names(&room_of(&group).unwrap(), &ann));
    }

    #[test]
    fn bad_requests_are_refused() {
        let code = |opener: &str, body: &str| members_of_request(opener, body).unwrap_err().code;
        assert_eq!(code("ann", r#"{"with":"ann"}"#), ErrorCode::BadRequest);
        assert_eq!(code("ann", r#"{"with":[]}"#), ErrorCode::BadRequest);
        assert_eq!(
            code("ann", r#"{"with":"anon:1234"}"#),
            ErrorCode::BadRequest
        );
        assert_eq!(
            code("ann", r#"{"with":"has space"}"#),
            ErrorCode::BadRequest
        );
        assert_eq!(code("ann", r#"{"with":7}"#), ErrorCode::BadRequest);
        assert_eq!(code("ann", "nope"), ErrorCode::BadJson);
        let nine: Vec<String> = (0..9).map(|i| format!("u{i}")).collect();
        let body = serde_json::json!({ "with": nine }).to_string();
        assert_eq!(code("ann", &body), ErrorCode::BadRequest);
        let eight: Vec<String> = (0..8).map(|i| format!("u{i}")).collect();
        let body = serde_json::json!({ "with": eight }).to_string();
        assert_eq!(members_of_request("ann", &body).unwrap().len(), MAX_MEMBERS);
    }

    #[test]
    fn only_members_are_admitted_and_an_unopened_one_admits_nobody() {
        let set = uids(&["ann", "bob"]);
        assert!(admits(Some(&set), Some("ann")).is_ok());
        assert_eq!(
            admits(Some(&set), Some("cy")).unwrap_err().code,
            ErrorCode::Forbidden
        );
        assert_eq!(
            admits(Some(&set), None).unwrap_err().code,
            ErrorCode::Forbidden
        );
        assert_eq!(
            admits(None, Some("ann")).unwrap_err().code,
            ErrorCode::Forbidden
        );
        assert_eq!(ErrorCode::Forbidden.close_code(), 4403);
    }

    #[test]
    fn people_must_be_members_and_bots_never_get_in() {
        let set = uids(&["ann", "bob"]);
        assert!(lets(Some(&set), Asker::Person(Some("bob"))).is_ok());
        assert!(lets(Some(&set), Asker::Person(Some("cy"))).is_err());
        assert!(lets(Some(&set), Asker::Bot).is_err());
        assert!(lets(Some(&set), Asker::Operator).is_ok());
        assert!(
            lets(None, Asker::Internal).is_ok(),
            "opening it is internal"
        );
    }

    #[test]
    fn only_the_exact_shape_is_a_direct_message() {
        let room = |s: &str| RoomName::parse(s).unwrap();
        assert!(!is_dm(&room("lobby")));
        assert!(!is_dm(&room("dm.general")));
        assert!(!is_dm(&room(&format!("dm.{}", "A".repeat(32)))));
        assert!(!is_dm(&room(&format!("dm.{}", "a".repeat(31)))));
        assert!(is_dm(&room(&format!("dm.{}", "a".repeat(32)))));
    }
}
