//! Which handler a request goes to (path and method → [`Route`]), and the page's `Origin` check made
//! before a socket may reach a room. Pure, so the Worker in `worker/entry.rs` only calls these and
//! carries out the answer. Who may enter a room is decided in [`crate::access`].

use crate::config::Config;
use crate::error::{ErrorCode, Problem};
use crate::files::FileId;
use crate::validate::RoomName;

/// The room `/ws` (without a name) joins.
pub const DEFAULT_ROOM: &str = "lobby";

/// A request the Worker knows how to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /ws`, `GET /ws/{room}`: a WebSocket upgrade into the room.
    Socket(RoomName),
    /// `GET /health`.
    Health,
    /// `GET /api/config`: what the stock page needs to know of the server (its login page).
    PageConfig,
    /// `GET /api/push/key`: the VAPID public key a page subscribes with (Web Push).
    PushKey,
    /// `GET /api/me/push`: the person's push state.
    PushState,
    /// `POST /api/me/push`: subscribe a browser.
    Subscribe,
    /// `DELETE /api/me/push`: unsubscribe one.
    Unsubscribe,
    /// `GET /api/rooms/{room}`.
    RoomInfo(RoomName),
    /// `GET /api/rooms/{room}/messages`.
    History(RoomName),
    /// `POST /api/rooms/{room}/messages`.
    Post(RoomName),
    /// `GET /api/rooms/{room}/messages/{seq}/versions`.
    Versions(RoomName, u64),
    /// `GET /api/rooms/{room}/messages/{seq}/reactions?emoji=…`: who reacted with an emoji.
    Reactions(RoomName, u64),
    /// `GET /api/rooms/{room}/search?q=…`: a full-text search of the history.
    Search(RoomName),
    /// `GET /api/rooms/{room}/members`: a page of the roster.
    Members(RoomName),
    /// `GET /api/rooms/{room}/threads`: the threads, most recently active first.
    Threads(RoomName),
    /// `GET /api/rooms/{room}/threads/{root}`: a thread's root and a page of its replies.
    Thread(RoomName, u64),
    /// `DELETE /api/rooms/{room}/messages/{seq}`: a moderator's deletion.
    DeleteMessage(RoomName, u64),
    /// `POST /api/rooms/{room}/moderation`: a moderator's action.
    Moderate(RoomName),
    /// `GET /api/rooms/{room}/moderation`: the moderation log and the rules in force.
    ModerationLog(RoomName),
    /// `GET /api/rooms/{room}/export`: the room's messages and moderation log as NDJSON pages.
    Export(RoomName),
    /// `DELETE /api/rooms/{room}/authors/{uid}`: erase everything that author wrote in the room.
    EraseAuthor(RoomName, String),
    /// `GET /api/rooms/{room}/shards/{k}`: one shard's diagnostics.
    ShardInfo(RoomName, u16),
    /// `POST /api/rooms/{room}/shards/{k}/restart`: restart a shard (operators; `API_TOKEN`).
    ShardRestart(RoomName, u16),
    /// `POST /api/rooms/{room}/files?name=…`: an upload (the bytes as the body).
    Upload(RoomName),
    /// `GET /api/rooms/{room}/files`: the room's objects in the bucket (operators; `API_TOKEN`).
    Files(RoomName),
    /// `GET /api/rooms/{room}/files/{id}` (`thumb`: `…/{id}/thumb`): a download.
    Download(RoomName, FileId, bool),
    /// `POST /api/rooms/{room}/files/{id}/thumb`: an upload's thumbnail.
    Thumb(RoomName, FileId),
    /// `POST /api/rooms`: a new unguessable room name.
    NewRoom,
    /// `POST /api/tokens`: mint a signed access token.
    MintToken,
    /// `GET /ws/me`: a WebSocket upgrade into the person's inbox (so no room may be called `me`).
    InboxSocket,
    /// `GET /api/me`: the person's inbox.
    Inbox,
    /// `GET /api/me/export`: everything the person wrote, in every room their inbox knows (NDJSON).
    ExportMe,
    /// `DELETE /api/me?confirm=<uid>`: erase everything the person wrote, and their inbox.
    EraseMe,
    /// `DELETE /api/me/rooms/{room}`: leave a room's entry.
    LeaveRoom(RoomName),
    /// `PATCH /api/me/rooms/{room}`: mute or unmute it.
    MuteRoom(RoomName),
    /// `POST /api/dms`: the direct message with one or more people.
    OpenDm,
}

impl Route {
    /// Maps a method and path to a route; an unknown path is 404, a known one with the wrong method 405.
    pub fn parse(method: &str, path: &str) -> Result<Route, Problem> {
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
        let room = |raw: &str| RoomName::parse(raw);
        let (route, allowed) = match segments.as_slice() {
            ["ws"] => (Route::Socket(room(DEFAULT_ROOM)?), "GET"),
            ["ws", "me"] => (Route::InboxSocket, "GET"),
            ["ws", name] => (Route::Socket(room(name)?), "GET"),
            ["health"] => (Route::Health, "GET"),
            ["api", "config"] => (Route::PageConfig, "GET"),
            ["api", "push", "key"] => (Route::PushKey, "GET"),
            ["api", "rooms"] => (Route::NewRoom, "POST"),
            ["api", "tokens"] => (Route::MintToken, "POST"),
            ["api", "me"] => {
                return match method {
                    "GET" | "HEAD" => Ok(Route::Inbox),
                    "DELETE" => Ok(Route::EraseMe),
                    _ => Err(method_not_allowed("GET, DELETE")),
                };
            }
            ["api", "me", "export"] => (Route::ExportMe, "GET"),
            ["api", "dms"] => (Route::OpenDm, "POST"),
            ["api", "me", "push"] => {
                return match method {
                    "GET" => Ok(Route::PushState),
                    "POST" => Ok(Route::Subscribe),
                    "DELETE" => Ok(Route::Unsubscribe),
                    _ => Err(method_not_allowed("GET, POST, DELETE")),
                };
            }
            ["api", "me", "rooms", name] => {
                let r = room(name)?;
                return match method {
                    "DELETE" => Ok(Route::LeaveRoom(r)),
                    "PATCH" => Ok(Route::MuteRoom(r)),
                    _ => Err(method_not_allowed("DELETE, PATCH")),
                };
            }
            ["api", "rooms", name] => (Route::RoomInfo(room(name)?), "GET"),
            ["api", "rooms", name, "search"] => (Route::Search(room(name)?), "GET"),
            ["api", "rooms", name, "members"] => (Route::Members(room(name)?), "GET"),
            ["api", "rooms", name, "threads"] => (Route::Threads(room(name)?), "GET"),
            ["api", "rooms", name, "threads", root] => (
                Route::Thread(room(name)?, crate::validate::parse_message_seq(root)?),
                "GET",
            ),
            ["api", "rooms", name, "export"] => (Route::Export(room(name)?), "GET"),
            ["api", "rooms", name, "authors", uid] => (
                Route::EraseAuthor(
                    room(name)?,
                    crate::identity::check_uid(uid)
                        .map_err(|p| Problem::new(ErrorCode::BadRequest, p.message))?
                        .to_string(),
                ),
                "DELETE",
            ),
            ["api", "rooms", name, "messages", seq, "versions"] => (
                Route::Versions(room(name)?, crate::validate::parse_message_seq(seq)?),
                "GET",
            ),
            ["api", "rooms", name, "messages", seq, "reactions"] => (
                Route::Reactions(room(name)?, crate::validate::parse_message_seq(seq)?),
                "GET",
            ),
            ["api", "rooms", name, "messages", seq] => (
                Route::DeleteMessage(room(name)?, crate::validate::parse_message_seq(seq)?),
                "DELETE",
            ),
            ["api", "rooms", name, "shards", k] => (
                Route::ShardInfo(room(name)?, crate::shard::parse_shard(k)?),
                "GET",
            ),
            ["api", "rooms", name, "shards", k, "restart"] => (
                Route::ShardRestart(room(name)?, crate::shard::parse_shard(k)?),
                "POST",
            ),
            ["api", "rooms", name, "moderation"] => {
                let r = room(name)?;
                return match method {
                    "GET" => Ok(Route::ModerationLog(r)),
                    "POST" => Ok(Route::Moderate(r)),
                    _ => Err(method_not_allowed("GET, POST")),
                };
            }
            ["api", "rooms", name, "files"] => {
                let r = room(name)?;
                return match method {
                    "GET" | "HEAD" => Ok(Route::Files(r)),
                    "POST" => Ok(Route::Upload(r)),
                    _ => Err(method_not_allowed("GET, POST")),
                };
            }
            ["api", "rooms", name, "files", id] => (
                Route::Download(room(name)?, file_id(id, path)?, false),
                "GET",
            ),
            ["api", "rooms", name, "files", id, "thumb"] => {
                let (r, id) = (room(name)?, file_id(id, path)?);
                return match method {
                    "GET" | "HEAD" => Ok(Route::Download(r, id, true)),
                    "POST" => Ok(Route::Thumb(r, id)),
                    _ => Err(method_not_allowed("GET, POST")),
                };
            }
            ["api", "rooms", name, "messages"] => {
                let r = room(name)?;
                return match method {
                    "GET" => Ok(Route::History(r)),
                    "POST" => Ok(Route::Post(r)),
                    _ => Err(method_not_allowed("GET, POST")),
                };
            }
            _ => {
                return Err(Problem::new(
                    ErrorCode::NotFound,
                    format!("no such endpoint: {path}"),
                ))
            }
        };
        if method == allowed || (allowed == "GET" && method == "HEAD") {
            Ok(route)
        } else {
            Err(method_not_allowed(allowed))
        }
    }
}

impl Route {
    /// Whether `path` is a socket path (`/ws`, `/ws/{anything}`), also when [`Route::parse`] refused
    /// it: a refused room name on an upgrade is told on the socket, where a browser can read it.
    pub fn is_socket_path(path: &str) -> bool {
        let mut segments = path.trim_end_matches('/').split('/').skip(1);
        segments.next() == Some("ws") && segments.nth(1).is_none()
    }
}

/// A file id in a path: anything else names no file (404, like an id of another room).
fn file_id(raw: &str, path: &str) -> Result<FileId, Problem> {
    FileId::parse(raw)
        .map_err(|_| Problem::new(ErrorCode::NotFound, format!("no such file: {path}")))
}

fn method_not_allowed(allowed: &str) -> Problem {
    Problem::new(
        ErrorCode::MethodNotAllowed,
        format!("method not allowed here; use {allowed}"),
    )
}

/// A request URL as the runtime hands it over — already serialized by the WHATWG URL rules
/// (`https://host[:port]/path?query`, scheme and host lower-case, default port left out) — split into
/// the parts the Worker needs, without a URL parser (whose code would be most of the wasm's growth;
/// workers-rs finds `Request::path` the same way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target<'a> {
    /// `scheme://host[:port]`: the Worker's own origin, for the `Origin` check.
    pub origin: &'a str,
    /// The path, still percent-encoded, `/` at least.
    pub path: &'a str,
    /// The raw query, without `?` (empty when there is none).
    pub query: &'a str,
}

impl<'a> Target<'a> {
    pub fn split(url: &'a str) -> Target<'a> {
        let url = url.split('#').next().unwrap_or(url);
        let authority_start = url.find("://").map_or(0, |i| i + 3);
        let rest_start = url[authority_start..]
            .find(['/', '?'])
            .map_or(url.len(), |i| authority_start + i);
        let (origin, rest) = url.split_at(rest_start);
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        Target {
            origin,
            path: if path.is_empty() { "/" } else { path },
            query,
        }
    }

    /// The decoded `key=value` pairs of the query, in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        crate::query::query_pairs(self.query)
    }
}

/// Cross-site WebSocket hijacking defence: a browser page may open a socket only from the Worker's own
/// origin or one listed in `ALLOWED_ORIGINS`. Requests without `Origin` (non-browser clients, which a
/// hostile page cannot make on a victim's behalf) are allowed.
pub fn check_origin(
    origin: Option<&str>,
    own_origin: &str,
    config: &Config,
) -> Result<(), Problem> {
    let Some(origin) = origin else {
        return Ok(());
    };
    let origin = origin.trim_end_matches('/');
    if origin.eq_ignore_ascii_case(own_origin)
        || config
            .allowed_origins
            .iter()
            .any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
    {
        return Ok(());
    }
    Err(Problem::new(
        ErrorCode::ForbiddenOrigin,
        format!("origin {origin:?} may not open sockets here (see ALLOWED_ORIGINS)"),
    ))
}

/// A fresh room name from 16 random bytes (128 bits), as 32 lowercase hex characters.
pub fn private_room_name(random: [u8; 16]) -> String {
    random.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::parse(|_| None).unwrap()
    }

    fn room(name: &str) -> RoomName {
        RoomName::parse(name).unwrap()
    }

    #[test]
    fn paths_map_to_routes() {
        assert_eq!(Route::parse("GET", "/ws"), Ok(Route::Socket(room("lobby"))));
        assert_eq!(
            Route::parse("GET", "/ws/dev-team"),
            Ok(Route::Socket(room("dev-team")))
        );
        assert_eq!(Route::parse("GET", "/health"), Ok(Route::Health));
        assert_eq!(Route::parse("GET", "/api/config"), Ok(Route::PageConfig));
        assert_eq!(Route::parse("GET", "/api/push/key"), Ok(Route::PushKey));
        assert_eq!(Route::parse("POST", "/api/me/push"), Ok(Route::Subscribe));
        assert_eq!(
            Route::parse("DELETE", "/api/me/push"),
            Ok(Route::Unsubscribe)
        );
        assert_eq!(Route::parse("GET", "/api/me/push"), Ok(Route::PushState));
        assert_eq!(
            Route::parse("GET", "/api/rooms/x"),
            Ok(Route::RoomInfo(room("x")))
        );
        assert_eq!(
            Route::parse("GET", "/api/rooms/x/messages"),
            Ok(Route::History(room("x")))
        );
        assert_eq!(
            Route::parse("GET", "/api/rooms/x/members"),
            Ok(Route::Members(room("x")))
        );
        assert_eq!(
            Route::parse("POST", "/api/rooms/x/messages"),
            Ok(Route::Post(room("x")))
        );
        assert_eq!(Route::parse("POST", "/api/rooms"), Ok(Route::NewRoom));
        assert_eq!(
            Route::parse("GET", "/api/rooms/x/messages/42/versions"),
            Ok(Route::Versions(room("x"), 42))
        );
        assert_eq!(
            Route::parse("GET", "/api/rooms/x/messages/42/reactions"),
            Ok(Route::Reactions(room("x"), 42))
        );
        assert_eq!(
            Route::parse("GET", "/api/rooms/x/messages/0/versions")
                .unwrap_err()
                .code,
            ErrorCode::NotFound
        );
        assert_eq!(Route::parse("POST", "/api/tokens"), Ok(Route::MintToken));
        assert_eq!(
            Route::parse("GET", "/api/rooms/x/shards/2"),
            Ok(Route::ShardInfo(room("x"), 2))
        );
        assert_eq!(
            Route::parse("POST", "/api/rooms/x/shards/2/restart"),
            Ok(Route::ShardRestart(room("x"), 2))
        );
        assert_eq!(
            Route::parse("GET", "/api/rooms/x/shards/0")
                .unwrap_err()
                .code,
            ErrorCode::NotFound
        );
        assert_eq!(
            Route::parse("GET", "/api/rooms/x/search"),
            Ok(Route::Search(room("x")))
        );
        assert_eq!(
            Route::parse("GET", "/api/rooms/x/export"),
            Ok(Route::Export(room("x")))
        );
        assert_eq!(
            Route::parse("DELETE", "/api/rooms/x/authors/u-42"),
            Ok(Route::EraseAuthor(room("x"), "u-42".into()))
        );
        assert!(Route::parse("DELETE", "/api/rooms/x/authors/a%20b").is_err());
        assert_eq!(
            Route::parse("DELETE", "/api/rooms/x/export")
                .unwrap_err()
                .code,
            ErrorCode::MethodNotAllowed
        );
        assert_eq!(
            Route::parse("POST", "/api/rooms/x/search")
                .unwrap_err()
                .code,
            ErrorCode::MethodNotAllowed
        );
        assert_eq!(
            Route::parse("GET", "/api/rooms/x/threads"),
            Ok(Route::Threads(room("x")))
        );
        assert_eq!(
            Route::parse("GET", "/api/rooms/x/threads/43"),
            Ok(Route::Thread(room("x"), 43))
        );
        assert_eq!(
            Route::parse("GET", "/api/rooms/x/threads/abc")
                .unwrap_err()
                .code,
            ErrorCode::NotFound
        );
        assert_eq!(
            Route::parse("POST", "/api/rooms/x/threads/43")
                .unwrap_err()
                .code,
            ErrorCode::MethodNotAllowed
        );
    }

    #[test]
    fn a_person_has_an_inbox_and_direct_messages() {
        assert_eq!(Route::parse("GET", "/ws/me"), Ok(Route::InboxSocket));
        assert_eq!(Route::parse("GET", "/api/me"), Ok(Route::Inbox));
        assert_eq!(Route::parse("GET", "/api/me/export"), Ok(Route::ExportMe));
        assert_eq!(Route::parse("DELETE", "/api/me"), Ok(Route::EraseMe));
        assert_eq!(Route::parse("POST", "/api/dms"), Ok(Route::OpenDm));
        assert_eq!(
            Route::parse("DELETE", "/api/me/rooms/x"),
            Ok(Route::LeaveRoom(room("x")))
        );
        assert_eq!(
            Route::parse("PATCH", "/api/me/rooms/x"),
            Ok(Route::MuteRoom(room("x")))
        );
        for (method, path, code) in [
            ("POST", "/api/me", ErrorCode::MethodNotAllowed),
            ("DELETE", "/api/me/export", ErrorCode::MethodNotAllowed),
            ("GET", "/api/dms", ErrorCode::MethodNotAllowed),
            ("GET", "/api/me/rooms/x", ErrorCode::MethodNotAllowed),
            ("DELETE", "/api/me/rooms/bad%20room", ErrorCode::BadRoom),
        ] {
            assert_eq!(
                Route::parse(method, path).unwrap_err().code,
                code,
                "{method} {path}"
            );
        }
    }

    #[test]
    fn file_paths_map_to_uploads_and_downloads() {
        let id = FileId::from_random([7; 16]);
        let base = format!("/api/rooms/x/files/{}", id.as_str());
        assert_eq!(
            Route::parse("POST", "/api/rooms/x/files"),
            Ok(Route::Upload(room("x")))
        );
        assert_eq!(
            Route::parse("GET", "/api/rooms/x/files"),
            Ok(Route::Files(room("x")))
        );
        assert_eq!(
            Route::parse("GET", &base),
            Ok(Route::Download(room("x"), id.clone(), false))
        );
        assert_eq!(
            Route::parse("HEAD", &base),
            Ok(Route::Download(room("x"), id.clone(), false))
        );
        let thumb = format!("{base}/thumb");
        assert_eq!(
            Route::parse("GET", &thumb),
            Ok(Route::Download(room("x"), id.clone(), true))
        );
        assert_eq!(
            Route::parse("POST", &thumb),
            Ok(Route::Thumb(room("x"), id))
        );
        assert_eq!(
            Route::parse("DELETE", &base).unwrap_err().code,
            ErrorCode::MethodNotAllowed
        );
        for bad in ["/api/rooms/x/files/../../y", "/api/rooms/x/files/ABC"] {
            assert_eq!(
                Route::parse("GET", bad).unwrap_err().code,
                ErrorCode::NotFound,
                "{bad}"
            );
        }
    }

    #[test]
    fn bad_paths_get_the_right_code() {
        assert_eq!(
            Route::parse("GET", "/nope").unwrap_err().code,
            ErrorCode::NotFound
        );
        assert_eq!(
            Route::parse("GET", "/ws/a/b").unwrap_err().code,
            ErrorCode::NotFound
        );
        assert_eq!(
            Route::parse("GET", "/ws/bad%20room").unwrap_err().code,
            ErrorCode::BadRoom
        );
        assert_eq!(
            Route::parse("GET", &format!("/ws/{}", "r".repeat(65)))
                .unwrap_err()
                .code,
            ErrorCode::BadRoom
        );
        assert_eq!(
            Route::parse("POST", "/ws").unwrap_err().code,
            ErrorCode::MethodNotAllowed
        );
        assert_eq!(
            Route::parse("DELETE", "/api/rooms/x/messages")
                .unwrap_err()
                .code,
            ErrorCode::MethodNotAllowed
        );
        assert_eq!(
            Route::parse("GET", "/api/rooms").unwrap_err().code,
            ErrorCode::MethodNotAllowed
        );
    }

    #[test]
    fn request_urls_split_into_origin_path_and_query() {
        let t = Target::split("https://chat.example/ws/lobby?name=Zo%C3%AB&after=3#x");
        assert_eq!(t.origin, "https://chat.example");
        assert_eq!(t.path, "/ws/lobby");
        assert_eq!(
            t.query_pairs(),
            vec![
                ("name".to_string(), "Zoë".to_string()),
                ("after".to_string(), "3".to_string())
            ]
        );
        for (url, origin, path, query) in [
            ("http://127.0.0.1:8787/", "http://127.0.0.1:8787", "/", ""),
            ("http://127.0.0.1:8787", "http://127.0.0.1:8787", "/", ""),
            ("https://a.example?x=1", "https://a.example", "/", "x=1"),
            (
                "https://a.example/ws/bad%20room",
                "https://a.example",
                "/ws/bad%20room",
                "",
            ),
            (
                "https://a.example/a%3F%23b?c=%3F",
                "https://a.example",
                "/a%3F%23b",
                "c=%3F",
            ),
        ] {
            assert_eq!(
                Target::split(url),
                Target {
                    origin,
                    path,
                    query
                },
                "{url}"
            );
        }
    }

    #[test]
    fn socket_paths_are_known_even_with_a_bad_room() {
        assert!(Route::is_socket_path("/ws"));
        assert!(Route::is_socket_path("/ws/bad%20room"));
        assert!(Route::is_socket_path("/ws/x/"));
        assert!(!Route::is_socket_path("/ws/a/b"));
        assert!(!Route::is_socket_path("/wsx"));
        assert!(!Route::is_socket_path("/api/rooms/x"));
    }

    #[test]
    fn origins() {
        let mut c = config();
        let own = "https://chat.example";
        assert!(check_origin(None, own, &c).is_ok());
        assert!(check_origin(Some("https://chat.example"), own, &c).is_ok());
        assert_eq!(
            check_origin(Some("https://evil.example"), own, &c)
                .unwrap_err()
                .code,
            ErrorCode::ForbiddenOrigin
        );
        assert!(check_origin(Some("null"), own, &c).is_err());
        c.allowed_origins = vec!["https://app.example".into()];
        assert!(check_origin(Some("https://app.example"), own, &c).is_ok());
        assert!(check_origin(Some("https://app.example.evil"), own, &c).is_err());
    }

    #[test]
    fn private_rooms_are_128_bit_hex_and_valid_room_names() {
        let name = private_room_name([0xab; 16]);
        assert_eq!(name.len(), 32);
        assert!(RoomName::parse(&name).is_ok());
    }
}
