//! Every call to an inbox object, as one typed value: from the Worker (a person's socket, `GET
//! /api/me`, leaving or muting a room), from a room (an entry's update, the person's presence there)
//! and from another inbox (a partner's online state, or a question about it). [`InboxCall::to_request`]
//! builds the request and [`InboxCall::parse`] reads it back with the same checks, tested both ways
//! here, as [`crate::call`] does for rooms.

use super::entry::Update;
use super::online::Seen;
use crate::api::parse_body;
use crate::error::{ErrorCode, Problem};
use crate::export::PersonCursor;
use crate::identity;
use crate::push::policy::Notify;
use crate::push::subscription::Subscription;
use crate::query::{query_pairs, query_value};
use crate::validate::{RoomName, UserName};

/// A call to the inbox of `uid` (every call names it: the object checks it is the one asked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboxCall {
    /// Accept the person's socket (the Worker has checked origin and credentials); `name`: the name
    /// they came with, if any.
    Connect { uid: String, name: Option<String> },
    /// The inbox as `GET /api/me` answers it.
    Read { uid: String, name: Option<String> },
    /// `DELETE /api/me/rooms/{room}`: leave the room's entry (and the room stops telling).
    Leave { uid: String, room: RoomName },
    /// `PATCH /api/me/rooms/{room}` `{"muted":…}`.
    Mute {
        uid: String,
        room: RoomName,
        muted: bool,
    },
    /// A room's update of the person's entry (room → inbox).
    Update { uid: String, update: Update },
    /// Whether the person has a socket in `room` (room → inbox: their first opened, under `name`, or
    /// their last closed).
    Here {
        uid: String,
        room: RoomName,
        here: bool,
        name: Option<String>,
    },
    /// A direct-message partner's online state (inbox → inbox).
    Partner { uid: String, seen: Seen },
    /// This person's online state, asked by a partner's inbox (inbox → inbox).
    Online { uid: String },
    /// A page of `GET /api/me/export`: from `room` (`None`: the first) after `seq` `after`.
    Export {
        uid: String,
        room: Option<RoomName>,
        after: u64,
    },
    /// `DELETE /api/me` (confirmed by the Worker): start the person's erasure, or say where it stands.
    Erase { uid: String },
    /// `POST /api/me/push`: keep a browser's subscription (checked by the Worker; `body` is the
    /// `PushSubscription` JSON).
    Subscribe {
        uid: String,
        endpoint: String,
        body: String,
    },
    /// `DELETE /api/me/push` `{"endpoint"}`.
    Unsubscribe { uid: String, endpoint: String },
    /// `PATCH /api/me/rooms/{room}` `{"notify":"all"|"mentions"|"none"}`.
    Notify {
        uid: String,
        room: RoomName,
        notify: Notify,
    },
    /// `GET /api/me/push`: the person's devices and rooms' settings.
    PushState { uid: String },
}

/// The HTTP request that carries an [`InboxCall`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRequest {
    pub method: &'static str,
    pub url: String,
    pub body: Option<String>,
}

const BASE: &str = "https://inbox";

impl InboxCall {
    /// Whose inbox the call is for.
    pub fn uid(&self) -> &str {
        match self {
            InboxCall::Connect { uid, .. }
            | InboxCall::Read { uid, .. }
            | InboxCall::Leave { uid, .. }
            | InboxCall::Mute { uid, .. }
            | InboxCall::Update { uid, .. }
            | InboxCall::Here { uid, .. }
            | InboxCall::Partner { uid, .. }
            | InboxCall::Online { uid }
            | InboxCall::Export { uid, .. }
            | InboxCall::Erase { uid }
            | InboxCall::Subscribe { uid, .. }
            | InboxCall::Unsubscribe { uid, .. }
            | InboxCall::Notify { uid, .. }
            | InboxCall::PushState { uid } => uid,
        }
    }

    pub fn to_request(&self) -> CallRequest {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("uid", self.uid());
        let (method, action, body) = match self {
            InboxCall::Connect { name, .. } => {
                if let Some(name) = name {
                    query.append_pair("name", name);
                }
                ("GET", "connect", None)
            }
            InboxCall::Read { name, .. } => {
                if let Some(name) = name {
                    query.append_pair("name", name);
                }
                ("GET", "read", None)
            }
            InboxCall::Leave { room, .. } => {
                query.append_pair("room", room.as_str());
                ("POST", "leave", None)
            }
            InboxCall::Mute { room, muted, .. } => {
                query.append_pair("room", room.as_str());
                query.append_pair("muted", if *muted { "1" } else { "0" });
                ("POST", "mute", None)
            }
            InboxCall::Update { update, .. } => ("POST", "update", json(update)),
            InboxCall::Here {
                room, here, name, ..
            } => {
                query.append_pair("room", room.as_str());
                query.append_pair("here", if *here { "1" } else { "0" });
                if let Some(name) = name {
                    query.append_pair("name", name);
                }
                ("POST", "here", None)
            }
            InboxCall::Partner { seen, .. } => ("POST", "partner", json(seen)),
            InboxCall::Online { .. } => ("GET", "online", None),
            InboxCall::Export { room, after, .. } => {
                if let Some(room) = room {
                    query.append_pair("room", room.as_str());
                }
                query.append_pair("after", &after.to_string());
                ("GET", "export", None)
            }
            InboxCall::Erase { .. } => ("POST", "erase", None),
            InboxCall::Subscribe { endpoint, body, .. } => {
                query.append_pair("endpoint", endpoint);
                ("POST", "subscribe", Some(body.clone()))
            }
            InboxCall::Unsubscribe { endpoint, .. } => {
                query.append_pair("endpoint", endpoint);
                ("POST", "unsubscribe", None)
            }
            InboxCall::Notify { room, notify, .. } => {
                query.append_pair("room", room.as_str());
                query.append_pair("notify", notify.as_str());
                ("POST", "notify", None)
            }
            InboxCall::PushState { .. } => ("GET", "push", None),
        };
        CallRequest {
            method,
            url: format!("{BASE}/{action}?{}", query.finish()),
            body,
        }
    }

    /// Reads a call from the path and raw query of the object's request (and its body).
    pub fn parse(
        method: &str,
        path: &str,
        raw_query: &str,
        body: Option<&str>,
    ) -> Result<InboxCall, Problem> {
        let query = query_pairs(raw_query);
        let get = |key: &str| query_value(&query, key);
        let uid = identity::check_uid(get("uid").unwrap_or(""))?.to_string();
        let room = || RoomName::parse(get("room").unwrap_or(""));
        let flag = |key: &str| match get(key) {
            Some("1") => Ok(true),
            Some("0") => Ok(false),
            _ => Err(Problem::new(
                ErrorCode::BadRequest,
                format!("{key} must be 0 or 1"),
            )),
        };
        let name = || {
            get("name")
                .map(|n| UserName::parse(n).map(UserName::into_string))
                .transpose()
        };
        let body = body.unwrap_or("");
        Ok(match (method, path) {
            ("GET", "/connect") => InboxCall::Connect { uid, name: name()? },
            ("GET", "/read") => InboxCall::Read { uid, name: name()? },
            ("POST", "/leave") => InboxCall::Leave { uid, room: room()? },
            ("POST", "/mute") => InboxCall::Mute {
                uid,
                room: room()?,
                muted: flag("muted")?,
            },
            ("POST", "/update") => {
                let update =
                    Update::read(&parse_body(body)?).ok_or_else(|| bad("not an update"))?;
                RoomName::parse(&update.room)?;
                InboxCall::Update { uid, update }
            }
            ("POST", "/here") => InboxCall::Here {
                uid,
                room: room()?,
                here: flag("here")?,
                name: name()?,
            },
            ("POST", "/partner") => {
                let seen = Seen::read(&parse_body(body)?).ok_or_else(|| bad("not a state"))?;
                identity::check_uid(&seen.uid)?;
                InboxCall::Partner { uid, seen }
            }
            ("GET", "/online") => InboxCall::Online { uid },
            ("GET", "/export") => {
                let cursor = PersonCursor::from_query(&query)?;
                InboxCall::Export {
                    uid,
                    room: cursor.room,
                    after: cursor.after,
                }
            }
            ("POST", "/erase") => InboxCall::Erase { uid },
            ("POST", "/subscribe") => InboxCall::Subscribe {
                uid,
                endpoint: Subscription::named(get("endpoint"))?,
                body: body.to_string(),
            },
            ("POST", "/unsubscribe") => InboxCall::Unsubscribe {
                uid,
                endpoint: Subscription::named(get("endpoint"))?,
            },
            ("POST", "/notify") => InboxCall::Notify {
                uid,
                room: room()?,
                notify: get("notify")
                    .and_then(Notify::parse)
                    .ok_or_else(|| bad("notify must be all, mentions or none"))?,
            },
            ("GET", "/push") => InboxCall::PushState { uid },
            _ => {
                return Err(Problem::new(
                    ErrorCode::NotFound,
                    format!("no such inbox call: {method} {path}"),
                ))
            }
        })
    }
}

/// What a `PATCH /api/me/rooms/{room}` body asks: `{"muted":true|false}` or
/// `{"notify":"all"|"mentions"|"none"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Patch {
    Muted(bool),
    Notify(Notify),
}

/// Reads a `PATCH /api/me/rooms/{room}` body (one of its two settings per request).
pub fn patch_of(body: &str) -> Result<Patch, Problem> {
    let body: serde_json::Value = parse_body(body)?;
    match (body.get("muted"), body.get("notify")) {
        (Some(muted), None) => muted.as_bool().map(Patch::Muted),
        (None, Some(notify)) => notify.as_str().and_then(Notify::parse).map(Patch::Notify),
        _ => None,
    }
    .ok_or_else(|| bad(r#"send {"muted":true|false} or {"notify":"all"|"mentions"|"none"}"#))
}

fn bad(why: &str) -> Problem {
    Problem::new(ErrorCode::BadRequest, why)
}

/// A call's body as JSON.
fn json<T: serde::Serialize>(value: &T) -> Option<String> {
    Some(serde_json::to_string(value).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbox::entry::Last;
    use crate::routes::Target;

    fn round_trip(call: InboxCall) {
        let request = call.to_request();
        let target = Target::split(&request.url);
        let back = InboxCall::parse(
            request.method,
            target.path,
            target.query,
            request.body.as_deref(),
        )
        .unwrap_or_else(|p| panic!("{call:?}: {p:?}"));
        assert_eq!(back, call);
    }

    #[test]
    fn every_call_survives_the_hop() {
        let room = RoomName::parse("lobby").unwrap();
        let uid = "Q2hhdC1hdXRob3ItaWQx".to_string();
        round_trip(InboxCall::Connect {
            uid: uid.clone(),
            name: Some("Zoë".into()),
        });
        round_trip(InboxCall::Read {
            uid: uid.clone(),
            name: None,
        });
        round_trip(InboxCall::Leave {
            uid: uid.clone(),
            room: room.clone(),
        });
        round_trip(InboxCall::Mute {
            uid: uid.clone(),
            room: room.clone(),
            muted: true,
        });
        round_trip(InboxCall::Update {
            uid: uid.clone(),
            update: Update {
                room: "lobby".into(),
                stamp: 7,
                last_seq: 3,
                read_seq: 1,
                unread: 2,
                mentions: 1,
                threads: 0,
                last: Some(Last {
                    seq: 3,
                    uid: None,
                    name: "bot".into(),
                    text: "deployed".into(),
                    at: 5,
                }),
                big: true,
                dm: None,
                gone: false,
            },
        });
        round_trip(InboxCall::Here {
            uid: uid.clone(),
            room: room.clone(),
            here: false,
            name: None,
        });
        round_trip(InboxCall::Here {
            uid: uid.clone(),
            room,
            here: true,
            name: Some("Zoë".into()),
        });
        round_trip(InboxCall::Partner {
            uid: uid.clone(),
            seen: Seen {
                uid: "bob".into(),
                online: false,
                last_seen: Some(9),
            },
        });
        round_trip(InboxCall::Export {
            uid: uid.clone(),
            room: None,
            after: 0,
        });
        round_trip(InboxCall::Export {
            uid: uid.clone(),
            room: Some(RoomName::parse("dm.0123456789abcdef0123456789abcdef").unwrap()),
            after: 1_500,
        });
        round_trip(InboxCall::Erase { uid: uid.clone() });
        round_trip(InboxCall::Subscribe {
            uid: uid.clone(),
            endpoint: "https://push.example/x?y=1&z".into(),
            body: r#"{"endpoint":"https://push.example/x?y=1&z","keys":{}}"#.into(),
        });
        round_trip(InboxCall::Unsubscribe {
            uid: uid.clone(),
            endpoint: "https://push.example/x".into(),
        });
        round_trip(InboxCall::Notify {
            uid: uid.clone(),
            room: RoomName::parse("lobby").unwrap(),
            notify: Notify::None,
        });
        round_trip(InboxCall::PushState { uid: uid.clone() });
        round_trip(InboxCall::Online { uid });
    }

    #[test]
    fn bad_calls_are_refused() {
        let parse = |m: &str, p: &str, q: &str, b: Option<&str>| {
            InboxCall::parse(m, p, q, b).unwrap_err().code
        };
        assert_eq!(parse("GET", "/read", "", None), ErrorCode::Unauthorized);
        assert_eq!(parse("GET", "/nope", "uid=a", None), ErrorCode::NotFound);
        assert_eq!(
            parse("POST", "/mute", "uid=a&room=x&muted=yes", None),
            ErrorCode::BadRequest
        );
        assert_eq!(
            parse("POST", "/leave", "uid=a&room=bad%20room", None),
            ErrorCode::BadRoom
        );
        assert_eq!(
            parse("POST", "/update", "uid=a", Some("{}")),
            ErrorCode::BadRequest
        );
    }

    #[test]
    fn a_patch_says_muted_or_how_to_notify() {
        assert_eq!(patch_of(r#"{"muted":true}"#), Ok(Patch::Muted(true)));
        assert_eq!(patch_of(r#"{"muted":false}"#), Ok(Patch::Muted(false)));
        assert_eq!(
            patch_of(r#"{"notify":"all"}"#),
            Ok(Patch::Notify(Notify::All))
        );
        for bad in [
            "{}",
            r#"{"notify":"loud"}"#,
            r#"{"muted":true,"notify":"all"}"#,
        ] {
            assert_eq!(
                patch_of(bad).unwrap_err().code,
                ErrorCode::BadRequest,
                "{bad}"
            );
        }
    }
}
