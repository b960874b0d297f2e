//! Every call the Worker makes to a room's Durable Object, as one typed value: [`RoomCall`]. The Worker
//! builds the request with [`RoomCall::to_request`], the object reads it back with [`RoomCall::parse`],
//! and both directions are tested here on the host — so the two sides cannot drift, and the object
//! checks what it is given with the same parsers the Worker used (a hop is not a trust boundary to
//! skip checks at: a bug on one side is caught on the other).
//!
//! The host part of the URL is never resolved: a stub's `fetch` always goes to its object.

use crate::access::Join;
use crate::api::{ModerationRequest, Post};
use crate::domain::{FileDescriptor, Framing};
use crate::error::{ErrorCode, Problem};
use crate::export::Cursor;
use crate::files::log::Uploader;
use crate::files::{self, FileId};
use crate::identity::{self, AddressTag};
use crate::inbox::dm;
use crate::reactors::ReactorsRequest;
use crate::search::SearchRequest;
use crate::session::Role;
use crate::validate::{self, RoomName, UserName, MAX_PAGE};

/// A call to one room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomCall {
    /// Accept a WebSocket for `join` (the Worker has checked origin, access and query).
    Connect { room: RoomName, join: Join },
    /// The room's snapshot: who is online, `last_seq`, diagnostics; with the webhook outbox's state
    /// for an `operator` (the Worker checked the `API_TOKEN`).
    Info { room: RoomName, operator: bool },
    /// A page of history: up to `limit` messages with `seq > after`.
    Messages {
        room: RoomName,
        after: u64,
        limit: usize,
    },
    /// A bot's message, to store and broadcast.
    Post { room: RoomName, post: Post },
    /// A page of message `seq`'s versions: the newest `limit` with a version number below `before`
    /// (default: all, the current text included).
    Versions {
        room: RoomName,
        seq: u64,
        before: Option<u32>,
        limit: usize,
    },
    /// Who reacted to a message with an emoji (a page of them).
    Reactors {
        room: RoomName,
        request: ReactorsRequest,
    },
    /// A full-text search of the history.
    Search {
        room: RoomName,
        request: SearchRequest,
    },
    /// A page of the roster: up to `limit` members whose id sorts after `after`.
    Roster {
        room: RoomName,
        after: Option<String>,
        limit: usize,
    },
    /// A page of the thread of `root`: the root and up to `limit` replies with `seq > after`.
    Thread {
        room: RoomName,
        root: u64,
        after: u64,
        limit: usize,
    },
    /// The threads whose newest reply is below `before`, most recently active first.
    Threads {
        room: RoomName,
        before: Option<u64>,
        limit: usize,
    },
    /// A moderator's deletion of message `seq` (the API's), with the moderator's reason.
    Delete {
        room: RoomName,
        seq: u64,
        reason: Option<String>,
    },
    /// A moderator's action (the API's).
    Moderate {
        room: RoomName,
        request: ModerationRequest,
    },
    /// The moderation log, newest first, before entry `before`.
    ModerationLog {
        room: RoomName,
        before: Option<u64>,
        limit: usize,
    },
    /// Open the direct message between `members` (the Worker made the room's name from them, and
    /// the room checks it did), asked by `by`, who goes by `name`.
    OpenDm {
        room: RoomName,
        members: Vec<String>,
        by: String,
        name: Option<String>,
    },
    /// `uid`'s inbox left the room (`DELETE /api/me/rooms/{room}`): stop telling it.
    Forget { room: RoomName, uid: String },
    /// `uid`'s entry as the room sees it now (an inbox reads a room that does not tell it every
    /// change).
    Entry { room: RoomName, uid: String },
    /// Whether `uid` has a socket in the room now (an inbox checks what it was told).
    Here { room: RoomName, uid: String },
    /// May `uploader` upload? If so the room reserves upload `id` (the Worker then stores the bytes).
    Upload {
        room: RoomName,
        id: FileId,
        uploader: Uploader,
    },
    /// The bytes of upload `file.id` are stored.
    Uploaded {
        room: RoomName,
        file: FileDescriptor,
    },
    /// May `uploader` store a thumbnail for upload `id`?
    Thumb {
        room: RoomName,
        id: FileId,
        uploader: Uploader,
    },
    /// The thumbnail of upload `id` is stored.
    Thumbed { room: RoomName, id: FileId },
    /// A page of the room's export, from `cursor`.
    Export { room: RoomName, cursor: Cursor },
    /// Erase everything author `uid` wrote in the room (a durable job; see [`crate::erasure`]).
    Erase { room: RoomName, uid: String },
    /// A page of what `uid` wrote in the room after `seq` `after` (their inbox asks, for their own
    /// export: `GET /api/me/export`).
    ExportAuthor {
        room: RoomName,
        uid: String,
        after: u64,
    },
    /// `uid`'s own erasure in the room (their inbox asks, for `DELETE /api/me`): the room stops
    /// telling their inbox, closes their sockets, forgets the name a direct message knew them by,
    /// and erases what they wrote as [`RoomCall::Erase`] does.
    ErasePerson { room: RoomName, uid: String },
}

/// The HTTP request that carries a [`RoomCall`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRequest {
    pub method: &'static str,
    pub url: String,
    pub body: Option<String>,
}

const BASE: &str = "https://room";

impl RoomCall {
    /// The room this call is for (the object learns its own name from it after a wake).
    pub fn room(&self) -> &RoomName {
        match self {
            RoomCall::Connect { room, .. }
            | RoomCall::Info { room, .. }
            | RoomCall::Messages { room, .. }
            | RoomCall::Post { room, .. }
            | RoomCall::Versions { room, .. }
            | RoomCall::Search { room, .. }
            | RoomCall::Reactors { room, .. }
            | RoomCall::Roster { room, .. }
            | RoomCall::Thread { room, .. }
            | RoomCall::Threads { room, .. }
            | RoomCall::Delete { room, .. }
            | RoomCall::Moderate { room, .. }
            | RoomCall::ModerationLog { room, .. }
            | RoomCall::OpenDm { room, .. }
            | RoomCall::Forget { room, .. }
            | RoomCall::Entry { room, .. }
            | RoomCall::Here { room, .. }
            | RoomCall::Upload { room, .. }
            | RoomCall::Uploaded { room, .. }
            | RoomCall::Thumb { room, .. }
            | RoomCall::Thumbed { room, .. } => room,
            RoomCall::Export { room, .. }
            | RoomCall::Erase { room, .. }
            | RoomCall::ExportAuthor { room, .. }
            | RoomCall::ErasePerson { room, .. } => room,
        }
    }

    /// Who asks, for a direct message's rule ([`dm::lets`]): `reader` is who reads over HTTP (as
    /// [`reader_of`] found it).
    pub fn asker<'a>(&'a self, reader: Option<&'a str>) -> dm::Asker<'a> {
        match self {
            RoomCall::Connect { join, .. } => dm::Asker::Person(join.uid.as_deref()),
            RoomCall::Info { .. }
            | RoomCall::Messages { .. }
            | RoomCall::Versions { .. }
            | RoomCall::Search { .. }
            | RoomCall::Roster { .. }
            | RoomCall::Reactors { .. }
            | RoomCall::Thread { .. }
            | RoomCall::Threads { .. } => dm::Asker::Person(reader),
            // An upload is a person's (a member's, in a direct message); its completion the Worker's.
            RoomCall::Upload { uploader, .. } | RoomCall::Thumb { uploader, .. } => {
                dm::Asker::Person(uploader.uid.as_deref())
            }
            RoomCall::Post { .. } => dm::Asker::Bot,
            // The operator's duties: moderation, and an export or an erasure (a direct message is
            // exported with the API_TOKEN only: `access::may_export`).
            RoomCall::Delete { .. }
            | RoomCall::Moderate { .. }
            | RoomCall::ModerationLog { .. }
            | RoomCall::Export { .. }
            | RoomCall::Erase { .. } => dm::Asker::Operator,
            RoomCall::OpenDm { .. }
            | RoomCall::Forget { .. }
            | RoomCall::Entry { .. }
            | RoomCall::Here { .. }
            | RoomCall::Uploaded { .. }
            | RoomCall::Thumbed { .. }
            | RoomCall::ExportAuthor { .. }
            | RoomCall::ErasePerson { .. } => dm::Asker::Internal,
        }
    }

    pub fn to_request(&self) -> CallRequest {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("room", self.room().as_str());
        let (method, action, body) = match self {
            RoomCall::Connect { join, .. } => {
                query.append_pair("name", join.name.as_str());
                if let Some(uid) = &join.uid {
                    query.append_pair("uid", uid);
                }
                if join.role != Role::Member {
                    query.append_pair("role", join.role.as_str());
                }
                if let Some(expires) = join.expires {
                    query.append_pair("expires", &expires.to_string());
                }
                if let Some(after) = join.after {
                    query.append_pair("after", &after.to_string());
                }
                if let Some(since) = join.since {
                    query.append_pair("since", &since.to_string());
                }
                if join.framing == Framing::Batch {
                    query.append_pair("batch", "1");
                }
                if let Some(address) = join.address {
                    query.append_pair("addr", &address.to_string());
                }
                ("GET", "connect", None)
            }
            RoomCall::Versions {
                seq, before, limit, ..
            } => {
                query.append_pair("seq", &seq.to_string());
                if let Some(before) = before {
                    query.append_pair("before", &before.to_string());
                }
                query.append_pair("limit", &limit.to_string());
                ("GET", "versions", None)
            }
            RoomCall::Search { request, .. } => {
                request.to_query(&mut query);
                ("GET", "search", None)
            }
            RoomCall::Reactors { request, .. } => {
                query.append_pair("seq", &request.seq.to_string());
                request.to_query(&mut query);
                ("GET", "reactors", None)
            }
            RoomCall::Info { operator, .. } => {
                if *operator {
                    query.append_pair("operator", "1");
                }
                ("GET", "info", None)
            }
            RoomCall::Roster { after, limit, .. } => {
                if let Some(after) = after {
                    query.append_pair("after", after);
                }
                query.append_pair("limit", &limit.to_string());
                ("GET", "roster", None)
            }
            RoomCall::Messages { after, limit, .. } => {
                query.append_pair("after", &after.to_string());
                query.append_pair("limit", &limit.to_string());
                ("GET", "messages", None)
            }
            RoomCall::Thread {
                root, after, limit, ..
            } => {
                query.append_pair("root", &root.to_string());
                query.append_pair("after", &after.to_string());
                query.append_pair("limit", &limit.to_string());
                ("GET", "thread", None)
            }
            RoomCall::Threads { before, limit, .. } => {
                if let Some(before) = before {
                    query.append_pair("before", &before.to_string());
                }
                query.append_pair("limit", &limit.to_string());
                ("GET", "threads", None)
            }
            RoomCall::Post { post, .. } => ("POST", "post", Some(post.to_json())),
            RoomCall::Delete { seq, reason, .. } => {
                query.append_pair("seq", &seq.to_string());
                if let Some(reason) = reason {
                    query.append_pair("reason", reason);
                }
                ("POST", "delete", None)
            }
            RoomCall::Moderate { request, .. } => ("POST", "moderate", Some(request.to_json())),
            RoomCall::ModerationLog { before, limit, .. } => {
                if let Some(before) = before {
                    query.append_pair("before", &before.to_string());
                }
                query.append_pair("limit", &limit.to_string());
                ("GET", "moderation", None)
            }
            RoomCall::OpenDm {
                members, by, name, ..
            } => {
                query.append_pair("uid", by);
                if let Some(name) = name {
                    query.append_pair("name", name);
                }
                let body = serde_json::to_string(members).unwrap_or_default();
                ("POST", "dm", Some(body))
            }
            RoomCall::Forget { uid, .. } => {
                query.append_pair("uid", uid);
                ("POST", "forget", None)
            }
            RoomCall::Entry { uid, .. } => {
                query.append_pair("uid", uid);
                ("GET", "entry", None)
            }
            RoomCall::Here { uid, .. } => {
                query.append_pair("uid", uid);
                ("GET", "here", None)
            }
            RoomCall::Upload { id, uploader, .. } => {
                query.append_pair("id", id.as_str());
                uploader_query(uploader, &mut query);
                ("POST", "upload", None)
            }
            RoomCall::Uploaded { file, .. } => {
                query.append_pair("id", &file.id);
                query.append_pair("name", &file.name);
                query.append_pair("type", &file.content_type);
                query.append_pair("size", &file.size.to_string());
                if let (Some(w), Some(h)) = (file.width, file.height) {
                    query.append_pair("width", &w.to_string());
                    query.append_pair("height", &h.to_string());
                }
                ("POST", "uploaded", None)
            }
            RoomCall::Thumb { id, uploader, .. } => {
                query.append_pair("id", id.as_str());
                uploader_query(uploader, &mut query);
                ("POST", "thumb", None)
            }
            RoomCall::Thumbed { id, .. } => {
                query.append_pair("id", id.as_str());
                ("POST", "thumbed", None)
            }
            RoomCall::Export { cursor, .. } => {
                cursor.to_query(&mut query);
                ("GET", "export", None)
            }
            RoomCall::Erase { uid, .. } => {
                query.append_pair("uid", uid);
                ("POST", "erase", None)
            }
            RoomCall::ExportAuthor { uid, after, .. } => {
                query.append_pair("uid", uid);
                query.append_pair("after", &after.to_string());
                ("GET", "author", None)
            }
            RoomCall::ErasePerson { uid, .. } => {
                query.append_pair("uid", uid);
                ("POST", "erase-person", None)
            }
        };
        CallRequest {
            method,
            url: format!("{BASE}/{action}?{}", query.finish()),
            body,
        }
    }

    /// Reads a call from the path and raw query of the object's request (and its body, for a post).
    pub fn parse(
        method: &str,
        path: &str,
        raw_query: &str,
        body: Option<&str>,
    ) -> Result<RoomCall, Problem> {
        let query = crate::query::query_pairs(raw_query);
        let get = |key: &str| crate::query::query_value(&query, key);
        let room = RoomName::parse(get("room").unwrap_or(""))?;
        let uid = || identity::check_uid(get("uid").unwrap_or("")).map(str::to_string);
        let call = match (method, path) {
            ("GET", "/connect") => RoomCall::Connect {
                room,
                join: Join {
                    name: UserName::parse(get("name").unwrap_or(""))?,
                    uid: get("uid")
                        .map(|u| identity::check_uid(u).map(str::to_string))
                        .transpose()?,
                    role: get("role")
                        .map(Role::parse)
                        .transpose()?
                        .unwrap_or_default(),
                    expires: get("expires").map(validate::parse_seq).transpose()?,
                    after: get("after").map(validate::parse_seq).transpose()?,
                    since: get("since").map(validate::parse_rev).transpose()?,
                    framing: match get("batch") {
                        Some("1") => Framing::Batch,
                        _ => Framing::Single,
                    },
                    address: get("addr").and_then(AddressTag::parse),
                },
            },
            ("GET", "/versions") => versions_page(
                room,
                validate::parse_message_seq(get("seq").unwrap_or(""))?,
                &query,
            )?,
            ("GET", "/info") => RoomCall::Info {
                room,
                operator: get("operator") == Some("1"),
            },
            ("GET", "/search") => RoomCall::Search {
                room,
                request: SearchRequest::from_query(&query)?,
            },
            ("GET", "/reactors") => RoomCall::Reactors {
                room,
                request: ReactorsRequest::from_query(
                    validate::parse_message_seq(get("seq").unwrap_or(""))?,
                    &query,
                )?,
            },
            ("GET", "/roster") => roster_page(room, &query)?,
            ("GET", "/thread") => thread_page(
                room,
                validate::parse_message_seq(get("root").unwrap_or(""))?,
                &query,
            )?,
            ("GET", "/threads") => threads_page(room, &query)?,
            ("GET", "/messages") => RoomCall::Messages {
                room,
                after: validate::parse_seq(get("after").unwrap_or("0"))?,
                limit: validate::parse_page_limit(get("limit").unwrap_or("0"))?,
            },
            ("POST", "/post") => RoomCall::Post {
                room,
                post: Post::parse(body.unwrap_or(""))?,
            },
            ("POST", "/delete") => RoomCall::Delete {
                room,
                seq: validate::parse_message_seq(get("seq").unwrap_or(""))?,
                reason: crate::moderation::reason(get("reason").map(str::to_string))?,
            },
            ("POST", "/moderate") => RoomCall::Moderate {
                room,
                request: ModerationRequest::parse(body.unwrap_or(""))?,
            },
            ("POST", "/erase") => RoomCall::Erase {
                room,
                uid: identity::check_uid(get("uid").unwrap_or(""))?.to_string(),
            },
            ("GET", "/author") => RoomCall::ExportAuthor {
                room,
                uid: uid()?,
                after: validate::parse_seq(get("after").unwrap_or("0"))?,
            },
            ("POST", "/erase-person") => RoomCall::ErasePerson { room, uid: uid()? },
            ("GET", "/export") => RoomCall::Export {
                room,
                cursor: Cursor::from_query(&query)?,
            },
            ("GET", "/moderation") => RoomCall::ModerationLog {
                room,
                before: get("before").map(validate::parse_seq).transpose()?,
                limit: validate::parse_page_limit(get("limit").unwrap_or("0"))?,
            },
            ("POST", "/dm") => RoomCall::OpenDm {
                room,
                members: dm::members_of_list(body.unwrap_or(""))?,
                by: uid()?,
                name: get("name")
                    .map(|n| UserName::parse(n).map(UserName::into_string))
                    .transpose()?,
            },
            ("POST", "/forget") => RoomCall::Forget { room, uid: uid()? },
            ("GET", "/entry") => RoomCall::Entry { room, uid: uid()? },
            ("GET", "/here") => RoomCall::Here { room, uid: uid()? },
            ("POST", "/upload") => RoomCall::Upload {
                room,
                id: FileId::parse(get("id").unwrap_or(""))?,
                uploader: uploader_of(&query)?,
            },
            ("POST", "/uploaded") => {
                let number = |key: &str| {
                    get(key)
                        .map(|v| {
                            v.parse::<u64>().map_err(|_| {
                                Problem::new(
                                    ErrorCode::BadRequest,
                                    format!("{key} is not a number"),
                                )
                            })
                        })
                        .transpose()
                };
                let side =
                    |key: &str| number(key).map(|v| v.map(|v| v.min(u32::MAX.into()) as u32));
                RoomCall::Uploaded {
                    room,
                    file: FileDescriptor {
                        id: FileId::parse(get("id").unwrap_or(""))?.as_str().to_string(),
                        name: files::file_name(get("name").unwrap_or(""))?,
                        content_type: files::media_type(get("type").unwrap_or("")),
                        size: number("size")?.unwrap_or(0),
                        width: side("width")?,
                        height: side("height")?,
                        thumb: false,
                    },
                }
            }
            ("POST", "/thumb") => RoomCall::Thumb {
                room,
                id: FileId::parse(get("id").unwrap_or(""))?,
                uploader: uploader_of(&query)?,
            },
            ("POST", "/thumbed") => RoomCall::Thumbed {
                room,
                id: FileId::parse(get("id").unwrap_or(""))?,
            },
            _ => {
                return Err(Problem::new(
                    ErrorCode::NotFound,
                    format!("no such room call: {method} {path}"),
                ))
            }
        };
        Ok(call)
    }
}

/// An uploader in a call's query: `uid`, `role` (when not a member), `addr`.
fn uploader_query(uploader: &Uploader, query: &mut form_urlencoded::Serializer<'_, String>) {
    if let Some(uid) = &uploader.uid {
        query.append_pair("uid", uid);
    }
    if uploader.role != Role::Member {
        query.append_pair("role", uploader.role.as_str());
    }
    if let Some(address) = uploader.address {
        query.append_pair("addr", &address.to_string());
    }
}

fn uploader_of(query: &[(String, String)]) -> Result<Uploader, Problem> {
    let get = |key: &str| crate::query::query_value(query, key);
    Ok(Uploader {
        uid: get("uid")
            .map(|u| identity::check_uid(u).map(str::to_string))
            .transpose()?,
        role: get("role")
            .map(Role::parse)
            .transpose()?
            .unwrap_or_default(),
        address: get("addr").and_then(AddressTag::parse),
    })
}

/// A history page as the Worker asks for it: `after` defaults to 0, `limit` to
/// [`validate::DEFAULT_PAGE`], at most [`MAX_PAGE`].
pub fn history_page(room: RoomName, query: &[(String, String)]) -> Result<RoomCall, Problem> {
    let get = |key: &str| crate::query::query_value(query, key);
    let after = get("after").map(validate::parse_seq).transpose()?;
    let limit = get("limit").map(validate::parse_page_limit).transpose()?;
    Ok(RoomCall::Messages {
        room,
        after: after.unwrap_or(0),
        limit: limit.unwrap_or(validate::DEFAULT_PAGE).min(MAX_PAGE),
    })
}

/// A page of a message's versions as the Worker asks for it: `before` a version number (default:
/// the newest, the current text included), `limit` 1–[`MAX_PAGE`], default
/// [`validate::DEFAULT_VERSIONS_PAGE`]; the object reads it back with the same checks.
pub fn versions_page(
    room: RoomName,
    seq: u64,
    query: &[(String, String)],
) -> Result<RoomCall, Problem> {
    let get = |key: &str| crate::query::query_value(query, key);
    // A version number; past any a message can have, it reads as "from the newest".
    let before = get("before")
        .map(|raw| match validate::parse_seq(raw) {
            Ok(v) if v >= 1 => Ok(v.min(u32::MAX.into()) as u32),
            _ => Err(Problem::new(
                ErrorCode::BadRequest,
                "before must be a version number (1 or more)",
            )),
        })
        .transpose()?;
    let limit = get("limit").map(validate::parse_page_limit).transpose()?;
    Ok(RoomCall::Versions {
        room,
        seq,
        before,
        limit: limit.unwrap_or(validate::DEFAULT_VERSIONS_PAGE),
    })
}

/// A roster page as the Worker asks for it (`after` a member id, `limit` 1–500, default 100); the
/// object reads it back with the same checks.
pub fn roster_page(room: RoomName, query: &[(String, String)]) -> Result<RoomCall, Problem> {
    let get = |key: &str| crate::query::query_value(query, key);
    let after = get("after").filter(|a| !a.is_empty());
    if let Some(after) = after {
        validate::check_roster_cursor(after)?;
    }
    let limit = match get("limit") {
        Some(raw) => Some(
            raw.parse::<u64>()
                .map_err(|_| Problem::new(ErrorCode::BadLimit, "limit must be a whole number"))?,
        ),
        None => None,
    };
    Ok(RoomCall::Roster {
        room,
        after: after.map(str::to_string),
        limit: validate::roster_page_limit(limit)?,
    })
}

/// A page of a thread as the Worker asks for it: `after` a `seq` (default 0: from the first reply),
/// `limit` like a history page (default [`validate::DEFAULT_PAGE`], at most [`MAX_PAGE`]).
pub fn thread_page(
    room: RoomName,
    root: u64,
    query: &[(String, String)],
) -> Result<RoomCall, Problem> {
    let get = |key: &str| crate::query::query_value(query, key);
    let after = get("after").map(validate::parse_seq).transpose()?;
    let limit = get("limit").map(validate::parse_page_limit).transpose()?;
    Ok(RoomCall::Thread {
        room,
        root,
        after: after.unwrap_or(0),
        limit: limit.unwrap_or(validate::DEFAULT_PAGE),
    })
}

/// The most threads one page of the list holds, and how many when not asked.
pub const MAX_THREADS_PAGE: usize = 100;
pub const DEFAULT_THREADS_PAGE: usize = 20;

/// A page of the list of threads as the Worker asks for it: `before` the newest reply's `seq` of
/// the last thread of the page before (the answer's `next`), `limit` 1–[`MAX_THREADS_PAGE`].
pub fn threads_page(room: RoomName, query: &[(String, String)]) -> Result<RoomCall, Problem> {
    let get = |key: &str| crate::query::query_value(query, key);
    let before = get("before").map(validate::parse_seq).transpose()?;
    let limit = match get("limit").map(validate::parse_page_limit).transpose()? {
        Some(n) if n > MAX_THREADS_PAGE => {
            return Err(Problem::new(
                ErrorCode::BadLimit,
                format!("limit must be an integer from 1 to {MAX_THREADS_PAGE}"),
            ))
        }
        limit => limit.unwrap_or(DEFAULT_THREADS_PAGE),
    };
    Ok(RoomCall::Threads {
        room,
        before,
        limit,
    })
}

/// A page of the moderation log as the Worker asks for it: `before` a log entry (default: the
/// newest), `limit` like a history page.
pub fn moderation_page(room: RoomName, query: &[(String, String)]) -> Result<RoomCall, Problem> {
    let get = |key: &str| crate::query::query_value(query, key);
    let before = get("before").map(validate::parse_seq).transpose()?;
    let limit = get("limit").map(validate::parse_page_limit).transpose()?;
    Ok(RoomCall::ModerationLog {
        room,
        before,
        limit: limit.unwrap_or(validate::DEFAULT_PAGE).min(MAX_PAGE),
    })
}

#[cfg(test)]
mod tests;
