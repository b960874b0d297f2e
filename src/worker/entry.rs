//! The Worker's `fetch` handler: one function per route, each validating with the pure `routes` /
//! `auth` checks and then forwarding to the room's Durable Object, which is addressed by name
//! (`id_from_name`), so every request for a room anywhere in the world reaches the same object.

use serde::Deserialize;
use serde_json::json;
use worker::{event, Context, Env, Method, Request, RequestInit, Response, Result, Stub, Url};

use super::{json_response, load_config, now_ms, problem_response, query_pairs, random_bytes};
use crate::auth::{self, Grant};
use crate::config::Config;
use crate::limits::{self, RoomName, MAX_PAGE};
use crate::protocol::{ErrorCode, Problem};
use crate::routes::{self, Route};

/// Largest HTTP body the API reads (a message is at most 4000 characters; JSON escaping can grow it).
const MAX_BODY_BYTES: usize = 64 * 1024;
/// Default page size of `GET /api/rooms/{room}/messages`.
const DEFAULT_PAGE: usize = 100;
/// Default and longest lifetime of a minted token, in seconds.
const DEFAULT_TOKEN_TTL: u64 = 3600;
const MAX_TOKEN_TTL: u64 = 7 * 24 * 3600;

#[event(start)]
fn start() {
    // Turns a Rust panic into a readable console error instead of an opaque "unreachable".
    console_error_panic_hook::set_once();
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let config = match load_config(&env) {
        Ok(c) => c,
        Err(p) => return problem_response(&p),
    };
    let url = req.url()?;
    let route = match Route::parse(req.method().as_ref(), url.path()) {
        Ok(r) => r,
        Err(p) => return problem_response(&p),
    };
    let answer = match route {
        Route::Health => json_response(json!({"ok": true}).to_string(), 200),
        Route::Socket(room) => socket(req, &url, &room, &config, &env).await,
        Route::RoomInfo(room) => {
            room_stub(&env, &room)?
                .fetch_with_str(&internal(&room, "info", ""))
                .await
        }
        Route::History(room) => history(&url, &room, &env).await,
        Route::Post(room) => post(req, &room, &config, &env).await,
        Route::NewRoom => new_room(),
        Route::MintToken => mint_token(req, &config).await,
    };
    answer.or_else(|e| {
        worker::console_error!("request failed: {e}");
        problem_response(&Problem::new(ErrorCode::Internal, "internal error"))
    })
}

fn room_stub(env: &Env, room: &RoomName) -> Result<Stub> {
    env.durable_object("ROOMS")?
        .id_from_name(room.as_str())?
        .get_stub()
}

/// The URL a request to the room's Durable Object carries. The host is never resolved: a stub's
/// `fetch` always goes to the object.
fn internal(room: &RoomName, action: &str, query: &str) -> String {
    format!("https://room/{action}?room={}{query}", room.as_str())
}

/// `GET /ws/{room}`: checks upgrade, origin, name/token and `after`, then hands the upgrade to the room.
async fn socket(
    req: Request,
    url: &Url,
    room: &RoomName,
    config: &Config,
    env: &Env,
) -> Result<Response> {
    let upgrade = req.headers().get("upgrade")?;
    if !upgrade.is_some_and(|u| u.eq_ignore_ascii_case("websocket")) {
        return problem_response(&Problem::new(
            ErrorCode::UpgradeRequired,
            "this endpoint speaks WebSocket only",
        ));
    }
    let own_origin = url.origin().ascii_serialization();
    let origin = req.headers().get("origin")?;
    if let Err(p) = routes::check_origin(origin.as_deref(), &own_origin, config) {
        return problem_response(&p);
    }
    let join = match routes::check_join(&query_pairs(url), room, config, now_ms() / 1000) {
        Ok(j) => j,
        Err(p) => return problem_response(&p),
    };
    let mut target = Url::parse(&internal(room, "ws", ""))?;
    target
        .query_pairs_mut()
        .append_pair("name", join.name.as_str());
    if let Some(after) = join.after {
        target
            .query_pairs_mut()
            .append_pair("after", &after.to_string());
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Get)
        .with_headers(req.headers().clone());
    room_stub(env, room)?
        .fetch_with_request(Request::new_with_init(target.as_str(), &init)?)
        .await
}

/// `GET /api/rooms/{room}/messages?after=N&limit=M`.
async fn history(url: &Url, room: &RoomName, env: &Env) -> Result<Response> {
    let query = query_pairs(url);
    let get = |key: &str| routes::query_value(&query, key);
    let after = match get("after").map(limits::parse_seq).transpose() {
        Ok(a) => a.unwrap_or(0),
        Err(p) => return problem_response(&p),
    };
    let limit = match get("limit").map(limits::parse_page_limit).transpose() {
        Ok(l) => l.unwrap_or(DEFAULT_PAGE).min(MAX_PAGE),
        Err(p) => return problem_response(&p),
    };
    room_stub(env, room)?
        .fetch_with_str(&internal(
            room,
            "messages",
            &format!("&after={after}&limit={limit}"),
        ))
        .await
}

/// Checks `Authorization: Bearer <API_TOKEN>`; the write endpoints are off without `API_TOKEN`.
fn check_api_token(req: &Request, config: &Config) -> std::result::Result<(), Problem> {
    let Some(token) = &config.api_token else {
        return Err(Problem::new(
            ErrorCode::Disabled,
            "this endpoint is off: set the API_TOKEN secret to enable it",
        ));
    };
    let header = req.headers().get("authorization").ok().flatten();
    if auth::bearer_matches(header.as_deref(), token) {
        Ok(())
    } else {
        Err(Problem::new(
            ErrorCode::Unauthorized,
            "missing or wrong Authorization: Bearer token",
        ))
    }
}

/// Reads a JSON body of at most [`MAX_BODY_BYTES`] into `T`.
async fn read_json<T: for<'de> Deserialize<'de>>(
    mut req: Request,
) -> std::result::Result<T, Problem> {
    let text = req
        .text()
        .await
        .map_err(|_| Problem::new(ErrorCode::BadRequest, "could not read the request body"))?;
    if text.len() > MAX_BODY_BYTES {
        return Err(Problem::new(
            ErrorCode::TooLarge,
            "request body is larger than 64 KiB",
        ));
    }
    serde_json::from_str(&text).map_err(|e| {
        if e.is_data() {
            Problem::new(ErrorCode::BadRequest, format!("unexpected body: {e}"))
        } else {
            Problem::new(ErrorCode::BadJson, "body is not JSON")
        }
    })
}

#[derive(Deserialize)]
struct PostBody {
    name: String,
    text: String,
    id: Option<String>,
}

/// `POST /api/rooms/{room}/messages` (bots): validated here, stored and broadcast by the room.
async fn post(req: Request, room: &RoomName, config: &Config, env: &Env) -> Result<Response> {
    if let Err(p) = check_api_token(&req, config) {
        return problem_response(&p);
    }
    let body: PostBody = match read_json(req).await {
        Ok(b) => b,
        Err(p) => return problem_response(&p),
    };
    let checked = limits::UserName::parse(&body.name).and_then(|name| {
        body.id
            .as_deref()
            .map(limits::check_client_id)
            .transpose()
            .map(|id| (name, id))
    });
    let (name, id) = match checked {
        Ok(v) => v,
        Err(p) => return problem_response(&p),
    };
    let forward = json!({"name": name.as_str(), "text": body.text, "id": id}).to_string();
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_body(Some(forward.into()));
    room_stub(env, room)?
        .fetch_with_request(Request::new_with_init(&internal(room, "post", ""), &init)?)
        .await
}

/// `POST /api/rooms`: a new room name nobody can guess (128 random bits).
fn new_room() -> Result<Response> {
    let room = routes::private_room_name(random_bytes::<16>());
    json_response(json!({ "room": room }).to_string(), 201)
}

#[derive(Deserialize)]
struct TokenBody {
    room: String,
    name: String,
    ttl: Option<u64>,
}

/// `POST /api/tokens` (API_TOKEN-protected): mints a signed access token.
async fn mint_token(req: Request, config: &Config) -> Result<Response> {
    if let Err(p) = check_api_token(&req, config) {
        return problem_response(&p);
    }
    let Some(secret) = config.auth_secret.as_deref() else {
        return problem_response(&Problem::new(
            ErrorCode::Disabled,
            "signed access is off: set the AUTH_SECRET secret to enable it",
        ));
    };
    let body: TokenBody = match read_json(req).await {
        Ok(b) => b,
        Err(p) => return problem_response(&p),
    };
    let ttl = body
        .ttl
        .unwrap_or(DEFAULT_TOKEN_TTL)
        .clamp(1, MAX_TOKEN_TTL);
    let grant = Grant {
        room: body.room,
        name: body.name.trim().to_string(),
        exp: now_ms() / 1000 + ttl,
    };
    match auth::mint(secret, &grant) {
        Ok(token) => json_response(json!({"token": token, "exp": grant.exp}).to_string(), 201),
        Err(p) => problem_response(&p),
    }
}
