//! The Worker's `fetch` handler: one function per route, each deciding with the pure checks
//! (`routes`, `access`, `api`, `call`) and then forwarding a typed [`RoomCall`] to the room's Durable
//! Object, which is addressed by name (`id_from_name`), so every request for a room anywhere in the
//! world reaches the same object.

use serde_json::json;
use wasm_bindgen::JsCast;
use worker::{event, Context, Env, Headers, Request, Response, Result};

use super::files;
use super::hop;
use super::keys;
use super::{
    call_room, client_address, json_response, limit_client, load_config, now_ms, problem_response,
    random_bytes, refuse_socket,
};
use crate::access::{self, Credentials};
use crate::api::{ModerationRequest, Post, TokenRequest};
use crate::auth::{self, Grant};
use crate::call::{self, RoomCall};
use crate::config::Config;
use crate::error::{ErrorCode, Problem};
use crate::export::{Cursor, PersonCursor};
use crate::identity::AddressTag;
use crate::inbox::call::{self as inbox_call, InboxCall, Patch};
use crate::inbox::erasure;
use crate::inbox::person::{self, Person};
use crate::inbox::{self, dm};
use crate::push::settings::PushSettings;
use crate::push::subscription::Subscription;
use crate::reactors::ReactorsRequest;
use crate::routes::{self, Route, Target};
use crate::search::SearchRequest;
use crate::shard;
use crate::shard::call::ShardCall;
use crate::subprotocol::{self, Offer};
use crate::validate::RoomName;

/// The Rate Limiting bindings (`[[ratelimits]]` in wrangler.toml): new sockets, and API posts, per
/// client address.
const CONNECT_LIMITER: &str = "CONNECT_LIMITER";
const POST_LIMITER: &str = "POST_LIMITER";
/// HTTP searches per client address: a search costs the room more than a read of one page.
const SEARCH_LIMITER: &str = "SEARCH_LIMITER";

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
    let raw_url = req.inner().url();
    let url = Target::split(&raw_url);
    let answer = match Route::parse(req.method().as_ref(), url.path) {
        Ok(route) => handle(route, req, &url, &config, &env).await,
        // A bad room name on an upgrade is refused on the socket, where a browser can read it; a
        // plain GET keeps its HTTP status.
        Err(p) if Route::is_socket_path(url.path) && is_upgrade(&req) => {
            socket(req, &url, Err(p), &config, &env).await
        }
        Err(p) => problem_response(&p),
    };
    answer.or_else(|e| {
        worker::console_error!("request failed: {e}");
        problem_response(&Problem::new(ErrorCode::Internal, "internal error"))
    })
}

async fn handle(
    route: Route,
    req: Request,
    url: &Target<'_>,
    config: &Config,
    env: &Env,
) -> Result<Response> {
    match route {
        Route::Health => health(&req, config),
        Route::PageConfig => json_response(
            json!({"login_url": config.login_url, "push": config.push.is_some()}).to_string(),
            200,
        ),
        Route::PushKey => match push_settings(config) {
            Ok(push) => json_response(json!({"key": push.public_key}).to_string(), 200),
            Err(p) => problem_response(&p),
        },
        Route::Socket(room) => socket(req, url, Ok(room), config, env).await,
        Route::RoomInfo(room) => {
            // The webhook outbox's state (failures, the receiver's last error) is for operators.
            let authorization = req.headers().get("authorization")?;
            let operator = access::api_token(config, authorization.as_deref()).is_ok();
            read(
                &req,
                url,
                RoomCall::Info { room, operator }.into(),
                config,
                env,
            )
            .await
        }
        Route::History(room) => match call::history_page(room, &url.query_pairs()) {
            Ok(page) => read(&req, url, page.into(), config, env).await,
            Err(p) => problem_response(&p),
        },
        Route::Members(room) => match call::roster_page(room, &url.query_pairs()) {
            Ok(page) => read(&req, url, page.into(), config, env).await,
            Err(p) => problem_response(&p),
        },
        Route::Threads(room) => match call::threads_page(room, &url.query_pairs()) {
            Ok(page) => read(&req, url, page.into(), config, env).await,
            Err(p) => problem_response(&p),
        },
        Route::Thread(room, root) => match call::thread_page(room, root, &url.query_pairs()) {
            Ok(page) => read(&req, url, page.into(), config, env).await,
            Err(p) => problem_response(&p),
        },
        Route::Post(room) => post(req, room, config, env).await,
        Route::Versions(room, seq) => match call::versions_page(room, seq, &url.query_pairs()) {
            Ok(page) => read(&req, url, page.into(), config, env).await,
            Err(p) => problem_response(&p),
        },
        Route::Search(room) => search(&req, url, room, config, env).await,
        Route::Reactions(room, seq) => match ReactorsRequest::from_query(seq, &url.query_pairs()) {
            Ok(request) => {
                read(
                    &req,
                    url,
                    RoomCall::Reactors { room, request }.into(),
                    config,
                    env,
                )
                .await
            }
            Err(p) => problem_response(&p),
        },
        Route::DeleteMessage(room, seq) => {
            // `?reason=`: the moderator's reason, told to everyone with the deletion.
            let reason =
                crate::query::query_value(&url.query_pairs(), "reason").map(str::to_string);
            moderate(req, config, env, &|_| {
                Ok(RoomCall::Delete {
                    room: room.clone(),
                    seq,
                    reason: crate::moderation::reason(reason.clone())?,
                })
            })
            .await
        }
        Route::Moderate(room) => {
            moderate(req, config, env, &|body| {
                Ok(RoomCall::Moderate {
                    room: room.clone(),
                    request: ModerationRequest::parse(body)?,
                })
            })
            .await
        }
        Route::ModerationLog(room) => {
            let page = call::moderation_page(room, &url.query_pairs());
            moderate(req, config, env, &|_| page.clone()).await
        }
        Route::Export(room) => export(&req, url, room, config, env).await,
        Route::EraseAuthor(room, uid) => {
            moderate(req, config, env, &|_| {
                Ok(RoomCall::Erase {
                    room: room.clone(),
                    uid: uid.clone(),
                })
            })
            .await
        }
        Route::ShardInfo(room, shard) => {
            read(
                &req,
                url,
                Read::Shard(ShardCall::Info { room, shard }),
                config,
                env,
            )
            .await
        }
        Route::ShardRestart(room, shard) => {
            let authorization = req.headers().get("authorization")?;
            match access::api_token(config, authorization.as_deref()) {
                Ok(()) => call_shard(env, &ShardCall::Restart { room, shard }).await,
                Err(p) => problem_response(&p),
            }
        }
        Route::Upload(room) => files::upload(req, url, room, config, env).await,
        Route::Thumb(room, id) => files::upload_thumb(req, url, room, id, config, env).await,
        Route::Download(room, id, thumb) => {
            files::download(&req, url, room, id, thumb, config, env).await
        }
        Route::Files(room) => files::list(&req, url, room, config, env).await,
        Route::NewRoom => new_room(),
        Route::MintToken => mint_token(req, config).await,
        Route::InboxSocket => inbox_socket(req, url, config, env).await,
        Route::Inbox => {
            personal(req, url, config, env, None, &|person, _| {
                Ok(Mine::Inbox(InboxCall::Read {
                    uid: person.uid,
                    name: person.name,
                }))
            })
            .await
        }
        Route::LeaveRoom(room) => {
            personal(req, url, config, env, None, &|person, _| {
                Ok(Mine::Inbox(InboxCall::Leave {
                    uid: person.uid,
                    room: room.clone(),
                }))
            })
            .await
        }
        Route::MuteRoom(room) => {
            personal(req, url, config, env, None, &|person, body| {
                Ok(Mine::Inbox(match inbox_call::patch_of(body)? {
                    Patch::Muted(muted) => InboxCall::Mute {
                        uid: person.uid,
                        room: room.clone(),
                        muted,
                    },
                    Patch::Notify(notify) => InboxCall::Notify {
                        uid: person.uid,
                        room: room.clone(),
                        notify,
                    },
                }))
            })
            .await
        }
        Route::OpenDm => personal(req, url, config, env, Some(POST_LIMITER), &open_dm).await,
        // A page reads up to eight rooms' logs: counted as a search is.
        Route::ExportMe => {
            personal(req, url, config, env, Some(SEARCH_LIMITER), &|person, _| {
                let cursor = PersonCursor::from_query(&url.query_pairs())?;
                Ok(Mine::Inbox(InboxCall::Export {
                    uid: person.uid,
                    room: cursor.room,
                    after: cursor.after,
                }))
            })
            .await
        }
        Route::EraseMe => {
            personal(req, url, config, env, None, &|person, _| {
                erasure::confirmed(&person.uid, &url.query_pairs())?;
                Ok(Mine::Inbox(InboxCall::Erase { uid: person.uid }))
            })
            .await
        }
        Route::PushState => {
            personal(req, url, config, env, None, &|person, _| {
                Ok(Mine::Inbox(InboxCall::PushState { uid: person.uid }))
            })
            .await
        }
        Route::Subscribe => {
            personal(req, url, config, env, None, &|person, body| {
                let subscription = Subscription::parse(body, push_settings(config)?)?;
                Ok(Mine::Inbox(InboxCall::Subscribe {
                    uid: person.uid,
                    endpoint: subscription.endpoint,
                    body: body.to_string(),
                }))
            })
            .await
        }
        Route::Unsubscribe => {
            personal(req, url, config, env, None, &|person, body| {
                Ok(Mine::Inbox(InboxCall::Unsubscribe {
                    uid: person.uid,
                    endpoint: Subscription::endpoint_of(body)?,
                }))
            })
            .await
        }
    }
}

/// Whether `req` asks for a WebSocket (`Upgrade: websocket`).
fn is_upgrade(req: &Request) -> bool {
    req.headers()
        .get("upgrade")
        .ok()
        .flatten()
        .is_some_and(|u| u.eq_ignore_ascii_case("websocket"))
}

/// `GET /ws/{room}`. Refusals a person's browser can hit (bad room or name, no access, too many
/// sockets from one address, a full room) are told on the socket; a missing upgrade and a foreign
/// `Origin` are plain HTTP refusals (a hostile page must learn nothing from a refusal it provoked).
async fn socket(
    req: Request,
    url: &Target<'_>,
    room: std::result::Result<RoomName, Problem>,
    config: &Config,
    env: &Env,
) -> Result<Response> {
    if !is_upgrade(&req) {
        return problem_response(&Problem::new(
            ErrorCode::UpgradeRequired,
            "this endpoint speaks WebSocket only",
        ));
    }
    let origin = req.headers().get("origin")?;
    if let Err(p) = routes::check_origin(origin.as_deref(), url.origin, config) {
        return problem_response(&p);
    }
    let authorization = req.headers().get("authorization")?;
    let protocols = req.headers().get("sec-websocket-protocol")?;
    let offer = Offer::parse(protocols.as_deref());
    let checked = async {
        limit_client(&req, CONNECT_LIMITER, config, env).await?;
        let room = room?;
        let query = url.query_pairs();
        // A browser can send token= or offer it as a subprotocol; other clients may send
        // Authorization: Bearer instead.
        let credentials = Credentials::new(authorization.as_deref(), &query).offered(&offer);
        let admission = access::may_enter(config, &room, &credentials, false, now_ms() / 1000)?;
        let entry = keys::settle(config, admission).await?;
        let address = AddressTag::of(&client_address(&req));
        let join = access::check_join(&query, &entry, &offer, address)?;
        Ok::<_, Problem>(RoomCall::Connect { room, join })
    };
    let call = match checked.await {
        Ok(call) => call,
        Err(p) => return answer_upgrade(refuse_socket(&p)?, &offer),
    };
    // The room's object either takes the socket, or says which of its shards has room for it.
    let answer = call_room(env, &call, Some(req.headers().clone())).await?;
    let placed = answer
        .headers()
        .get(shard::PLACED_HEADER)?
        .and_then(|k| shard::parse_shard(&k).ok());
    let answer = match placed {
        None => answer,
        Some(k) => {
            let request = call.to_request();
            let stub = hop::stub(env, "ROOMS", &shard::shard_name(call.room().as_str(), k))?;
            hop::call(&stub, "GET", &request.url, None, Some(req.headers())).await?
        }
    };
    answer_upgrade(answer, &offer)
}

/// The answer to an upgrade, naming the `edge-chat` subprotocol when the client offered it: a browser
/// fails a connection whose answer names none of the subprotocols it offered, so every upgrade answer
/// (a refusal's too, whose error frame the page must read) names it. The objects' own answers leave
/// it to this one place.
fn answer_upgrade(answer: Response, offer: &Offer<'_>) -> Result<Response> {
    if !offer.edge_chat || answer.status_code() != 101 {
        return Ok(answer);
    }
    let socket = answer
        .websocket()
        .ok_or_else(|| worker::Error::RustError("a 101 answer without its socket".into()))?;
    let headers = Headers::new();
    headers.set("sec-websocket-protocol", subprotocol::PROTOCOL)?;
    Ok(Response::from_websocket(socket)?.with_headers(headers))
}

/// A shard's diagnostics or restart (the caller has checked the rights), asked of the room's own
/// object: only it knows which shards exist, and passes the call on to one that does. Reaching the
/// shard's object directly would create it, and it would report in to the room as a shard.
async fn call_shard(env: &Env, call: &ShardCall) -> Result<Response> {
    let stub = hop::stub(env, "ROOMS", call.room().as_str())?;
    let method = match call {
        ShardCall::Info { .. } => "GET",
        _ => "POST",
    };
    hop::call(&stub, method, &call.url(), None, None).await
}

/// A read of a room over HTTP (info, history): the same right as joining it, or the `API_TOKEN`.
async fn read(
    req: &Request,
    url: &Target<'_>,
    call: Read,
    config: &Config,
    env: &Env,
) -> Result<Response> {
    let room = match &call {
        Read::Room(call) => call.room(),
        Read::Shard(call) => call.room(),
    };
    let query = url.query_pairs();
    let authorization = req.headers().get("authorization")?;
    let credentials = Credentials::new(authorization.as_deref(), &query);
    let entered = match access::may_enter(config, room, &credentials, true, now_ms() / 1000) {
        Ok(admission) => keys::settle(config, admission).await,
        Err(p) => Err(p),
    };
    match (entered, call) {
        // A direct message admits its members only, whom only the room knows: it is told who reads.
        (Ok(entry), Read::Room(call)) if dm::is_dm(call.room()) => {
            match person::reader(&entry, &query) {
                Ok(reader) => {
                    let request = person::read_by(call.to_request(), reader.as_deref());
                    let stub = hop::stub(env, "ROOMS", call.room().as_str())?;
                    hop::call(&stub, request.method, &request.url, None, None).await
                }
                Err(p) => problem_response(&p),
            }
        }
        (Ok(_), Read::Room(call)) => call_room(env, &call, None).await,
        (Ok(_), Read::Shard(call)) => call_shard(env, &call).await,
        (Err(p), _) => problem_response(&p),
    }
}

/// What a read asks: the room's object, or one of its shards (diagnostics).
enum Read {
    Room(RoomCall),
    Shard(ShardCall),
}

impl From<RoomCall> for Read {
    fn from(call: RoomCall) -> Read {
        Read::Room(call)
    }
}

/// `GET /api/rooms/{room}/search`: checked here (query, limit, the per-client search limit), with
/// the read rights of the history; run by the room.
async fn search(
    req: &Request,
    url: &Target<'_>,
    room: RoomName,
    config: &Config,
    env: &Env,
) -> Result<Response> {
    let checked = async {
        let request = SearchRequest::from_query(&url.query_pairs())?;
        limit_client(req, SEARCH_LIMITER, config, env).await?;
        Ok::<_, Problem>(RoomCall::Search { room, request })
    };
    match checked.await {
        Ok(call) => read(req, url, call.into(), config, env).await,
        Err(p) => problem_response(&p),
    }
}

/// `GET /api/rooms/{room}/export`: for the `API_TOKEN` or a moderator of the room (a verified token
/// with role `moderator`); the room answers one bounded NDJSON page, passed on as it streams in.
async fn export(
    req: &Request,
    url: &Target<'_>,
    room: RoomName,
    config: &Config,
    env: &Env,
) -> Result<Response> {
    let query = url.query_pairs();
    let authorization = req.headers().get("authorization")?;
    let checked = async {
        let cursor = Cursor::from_query(&query)?;
        let credentials = Credentials::new(authorization.as_deref(), &query);
        let admission = access::may_export(config, &room, &credentials, now_ms() / 1000)?;
        let entry = keys::settle(config, admission).await?;
        access::may_export_as(&entry)?;
        Ok::<_, Problem>(RoomCall::Export { room, cursor })
    };
    match checked.await {
        Ok(call) => call_room(env, &call, None).await,
        Err(p) => problem_response(&p),
    }
}

/// `POST /api/rooms/{room}/messages` (bots): checked here, stored and broadcast by the room.
async fn post(mut req: Request, room: RoomName, config: &Config, env: &Env) -> Result<Response> {
    let authorization = req.headers().get("authorization")?;
    let checked = async {
        access::api_token(config, authorization.as_deref())?;
        limit_client(&req, POST_LIMITER, config, env).await?;
        let body = body_text(&mut req).await?;
        Post::parse(&body)
    };
    match checked.await {
        Ok(post) => call_room(env, &RoomCall::Post { room, post }, None).await,
        Err(p) => problem_response(&p),
    }
}

/// The moderation endpoints (`API_TOKEN`-protected): the app's backend acting as a moderator.
async fn moderate(
    mut req: Request,
    config: &Config,
    env: &Env,
    // `dyn`: one copy of this function (and its future) for every endpoint, not one per closure.
    call: &dyn Fn(&str) -> std::result::Result<RoomCall, Problem>,
) -> Result<Response> {
    let authorization = req.headers().get("authorization")?;
    let checked = async {
        access::api_token(config, authorization.as_deref())?;
        let body = match req.method() {
            worker::Method::Post => body_text(&mut req).await?,
            _ => String::new(),
        };
        call(&body)
    };
    match checked.await {
        Ok(call) => call_room(env, &call, None).await,
        Err(p) => problem_response(&p),
    }
}

/// The request's body as text (its size and shape are checked by the `api` parsers).
async fn body_text(req: &mut Request) -> std::result::Result<String, Problem> {
    req.text()
        .await
        .map_err(|_| Problem::new(ErrorCode::BadRequest, "could not read the request body"))
}

/// `GET /health`: the Worker answers; to an operator (the `API_TOKEN` bearer) also the size of its
/// wasm memory, which only grows — so a test can tell that an upload's bytes never passed through it.
fn health(req: &Request, config: &Config) -> Result<Response> {
    let authorization = req.headers().get("authorization")?;
    let mut body = json!({"ok": true});
    if access::api_token(config, authorization.as_deref()).is_ok() {
        let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
        let buffer: js_sys::ArrayBuffer = memory.buffer().unchecked_into();
        body["wasm_memory_bytes"] = json!(buffer.byte_length());
    }
    json_response(body.to_string(), 200)
}

/// `POST /api/rooms`: a new room name nobody can guess (128 random bits).
fn new_room() -> Result<Response> {
    match random_bytes::<16>() {
        Ok(bytes) => {
            let room = routes::private_room_name(bytes);
            json_response(json!({ "room": room }).to_string(), 201)
        }
        Err(p) => problem_response(&p),
    }
}

/// `POST /api/tokens` (API_TOKEN-protected): mints a signed access token.
async fn mint_token(mut req: Request, config: &Config) -> Result<Response> {
    let authorization = req.headers().get("authorization")?;
    let minted = async {
        access::api_token(config, authorization.as_deref())?;
        let secret = config.auth_secret.as_deref().ok_or_else(|| {
            Problem::new(
                ErrorCode::Disabled,
                "signed access is off: set the AUTH_SECRET secret to enable it",
            )
        })?;
        let body = body_text(&mut req).await?;
        let request = TokenRequest::parse(&body)?;
        let grant = Grant {
            exp: now_ms() / 1000 + request.ttl(),
            room: request.room,
            name: request.name.trim().to_string(),
            uid: request.uid,
        };
        auth::mint(secret, &grant).map(|token| (token, grant.exp))
    };
    match minted.await {
        Ok((token, exp)) => json_response(json!({"token": token, "exp": exp}).to_string(), 201),
        Err(p) => problem_response(&p),
    }
}

/// Who a request to the person's own endpoints comes from (`/ws/me`, `/api/me…`, `/api/dms`): a
/// token's holder (a token for any room will do), or without signed access a `key=`'s.
fn identify<'a>(
    req: &'a Request,
    url: &'a Target<'_>,
    offer: &'a Offer<'_>,
    config: &'a Config,
) -> Identified<'a> {
    // Boxed: three endpoints await it, and its future (a JWKS fetch's included) is in the wasm once.
    Box::pin(async move {
        let authorization = req.headers().get("authorization").ok().flatten();
        let query = url.query_pairs();
        let credentials = Credentials::new(authorization.as_deref(), &query).offered(offer);
        let admission = access::may_identify(config, &credentials, now_ms() / 1000)?;
        let entry = keys::settle(config, admission).await?;
        person::person(&entry, &query, offer)
    })
}

/// The person [`identify`] finds, to come.
type Identified<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = std::result::Result<Person, Problem>> + 'a>>;

/// Sends `call` to its person's inbox object (with `headers`, for an upgrade).
async fn call_inbox(env: &Env, call: &InboxCall, headers: Option<&Headers>) -> Result<Response> {
    let request = call.to_request();
    let stub = hop::stub(env, "ROOMS", &inbox::object_name(call.uid()))?;
    hop::call(
        &stub,
        request.method,
        &request.url,
        request.body.as_deref(),
        headers,
    )
    .await
}

/// `GET /ws/me`: the person's inbox socket. Checked as a room's socket is (upgrade, `Origin`, the
/// per-client limit), and refused on the socket where a browser can read why.
async fn inbox_socket(
    req: Request,
    url: &Target<'_>,
    config: &Config,
    env: &Env,
) -> Result<Response> {
    if !is_upgrade(&req) {
        return problem_response(&Problem::new(
            ErrorCode::UpgradeRequired,
            "this endpoint speaks WebSocket only",
        ));
    }
    let origin = req.headers().get("origin")?;
    if let Err(p) = routes::check_origin(origin.as_deref(), url.origin, config) {
        return problem_response(&p);
    }
    let protocols = req.headers().get("sec-websocket-protocol")?;
    let offer = Offer::parse(protocols.as_deref());
    let checked = async {
        limit_client(&req, CONNECT_LIMITER, config, env).await?;
        identify(&req, url, &offer, config).await
    };
    let person = match checked.await {
        Ok(person) => person,
        Err(p) => return answer_upgrade(refuse_socket(&p)?, &offer),
    };
    let call = InboxCall::Connect {
        uid: person.uid,
        name: person.name,
    };
    let answer = call_inbox(env, &call, Some(req.headers())).await?;
    answer_upgrade(answer, &offer)
}

/// What one of a person's own endpoints asks, once they are identified: a call to their inbox, or
/// to a room (a direct message's, `POST /api/dms`).
enum Mine {
    Inbox(InboxCall),
    Room(RoomCall),
}

/// `GET|DELETE /api/me`, `GET /api/me/export`, `DELETE|PATCH /api/me/rooms/{room}`, `POST /api/dms`,
/// `GET|POST|DELETE /api/me/push`: who the person is, the request's body (any but a `GET`'s), then the call `call`
/// makes of them; `limit`: the per-client limit the endpoint counts against.
async fn personal(
    mut req: Request,
    url: &Target<'_>,
    config: &Config,
    env: &Env,
    limit: Option<&str>,
    // `dyn`: one copy of this function (and its future) for all of a person's endpoints.
    call: &dyn Fn(Person, &str) -> std::result::Result<Mine, Problem>,
) -> Result<Response> {
    let offer = Offer::default();
    let checked = async {
        let person = identify(&req, url, &offer, config).await?;
        if let Some(binding) = limit {
            limit_client(&req, binding, config, env).await?;
        }
        let body = match req.method() {
            worker::Method::Get => String::new(),
            _ => body_text(&mut req).await?,
        };
        call(person, &body)
    };
    match checked.await {
        Ok(Mine::Inbox(call)) => call_inbox(env, &call, None).await,
        Ok(Mine::Room(call)) => call_room(env, &call, None).await,
        Err(p) => problem_response(&p),
    }
}

/// `POST /api/dms` `{"with": uid | [uid…]}`: the direct message between the person and those people
/// (the same set, the same room), opened by its room, which appears in each of their inboxes.
fn open_dm(person: Person, body: &str) -> std::result::Result<Mine, Problem> {
    let members = dm::members_of_request(&person.uid, body)?;
    Ok(Mine::Room(RoomCall::OpenDm {
        room: dm::room_of(&members)?,
        members,
        by: person.uid,
        name: person.name,
    }))
}

/// The deployment's push settings, or why there are none.
fn push_settings(config: &Config) -> std::result::Result<&PushSettings, Problem> {
    config.push.as_ref().ok_or_else(|| {
        Problem::new(
            ErrorCode::Disabled,
            "push notifications are off on this server (VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT are not set)",
        )
    })
}
