//! The Worker's file endpoints: uploads (`POST /api/rooms/{room}/files?name=…`, and an image's
//! thumbnail), downloads (`GET /api/rooms/{room}/files/{id}[/thumb]`) and an operator's listing of a
//! room's objects. What may be uploaded and how a file is served is decided in `crate::files`; who
//! may upload, by the room (a ban, a mute, slow mode hold as for a message), asked before the bytes
//! are stored; who may download, by `crate::access`, as for reading the room's history.
//!
//! An upload's steps: its declaration checked (name, type, size), its credentials and the per-client
//! limit, its first bytes read and checked against its type, the room's leave (the upload reserved),
//! the bytes streamed into the bucket ([`bucket::store`]), the room told they are there (`201` with
//! the descriptor). A refusal before the room's leave costs the room nothing; an upload that fails
//! after it is swept with the unused ones.

use serde_json::json;
use wasm_bindgen::JsCast;
use worker::{Env, Request, Response, ResponseBody, Result};

use super::bucket::{self, Body, Bucket};
use super::hop;
use super::keys;
use super::{
    call_room, client_address, internal, json_response, limit_client, now_ms, problem_response,
    random_bytes,
};
use crate::access::{self, Credentials};
use crate::call::RoomCall;
use crate::config::Config;
use crate::domain::FileDescriptor;
use crate::error::{ErrorCode, Problem};
use crate::files::log::Uploader;
use crate::files::serve::{self, ByteRange};
use crate::files::{self, sniff, FileId, Upload};
use crate::identity::AddressTag;
use crate::inbox::{dm, person};
use crate::query::query_value;
use crate::routes::{self, Target};
use crate::validate::RoomName;

/// Uploads per client address (`[[ratelimits]]` in wrangler.toml): files and thumbnails alike.
const UPLOAD_LIMITER: &str = "UPLOAD_LIMITER";
/// The header an open room's client names its identity key in (its socket offers it in the
/// handshake; a fetch may set a header, and a URL would print the secret into logs).
const KEY_HEADER: &str = "x-edge-chat-key";

/// `POST /api/rooms/{room}/files?name=…`: the bytes as the body, their type as `Content-Type`.
pub async fn upload(
    req: Request,
    url: &Target<'_>,
    room: RoomName,
    config: &Config,
    env: &Env,
) -> Result<Response> {
    let query = url.query_pairs();
    let headers = req.headers();
    let declared = Upload::check(
        query_value(&query, "name"),
        headers.get("content-type")?.as_deref(),
        headers.get("content-length")?.as_deref(),
        &config.limits.files,
    );
    let upload = match declared {
        Ok(upload) => upload,
        Err(p) => return problem_response(&p),
    };
    let id = match random_bytes::<16>() {
        Ok(bytes) => FileId::from_random(bytes),
        Err(p) => return problem_response(&p),
    };
    let key = files::object_key(&room, &id);
    let ask = |uploader| RoomCall::Upload {
        room: room.clone(),
        id: id.clone(),
        uploader,
    };
    let stored = receive(&req, url, &room, config, env, &upload, &key, &ask).await;
    let size = match stored {
        Ok(size) => size,
        Err(answer) => return answer,
    };
    let file = FileDescriptor {
        id: id.as_str().to_string(),
        name: upload.name,
        content_type: upload.content_type,
        size: upload.size,
        width: size.map(|s| s.width),
        height: size.map(|s| s.height),
        thumb: false,
    };
    let done = call_room(env, &RoomCall::Uploaded { room, file }, None).await?;
    Ok(done)
}

/// `POST /api/rooms/{room}/files/{id}/thumb`: a small WebP of upload `id` (an image), made by the
/// uploader's browser, stored beside it.
pub async fn upload_thumb(
    req: Request,
    url: &Target<'_>,
    room: RoomName,
    id: FileId,
    config: &Config,
    env: &Env,
) -> Result<Response> {
    let headers = req.headers();
    let declared = files::check_thumb(
        headers.get("content-type")?.as_deref(),
        headers.get("content-length")?.as_deref(),
    );
    let upload = match declared {
        Ok(upload) => upload,
        Err(p) => return problem_response(&p),
    };
    let key = files::thumb_key(&room, &id);
    let ask = |uploader| RoomCall::Thumb {
        room: room.clone(),
        id: id.clone(),
        uploader,
    };
    let stored = receive(&req, url, &room, config, env, &upload, &key, &ask).await;
    if let Err(answer) = stored {
        return answer;
    }
    call_room(env, &RoomCall::Thumbed { room, id }, None).await
}

/// The steps every upload shares, from its credentials to its bytes in the bucket under `key`:
/// what the first bytes said of an image's size, or the answer that refused it. `ask` makes the
/// room's call; `dyn`, so that one copy of this function (and its future) serves both uploads.
#[allow(clippy::too_many_arguments)]
async fn receive(
    req: &Request,
    url: &Target<'_>,
    room: &RoomName,
    config: &Config,
    env: &Env,
    upload: &Upload,
    key: &str,
    ask: &dyn Fn(Uploader) -> RoomCall,
) -> std::result::Result<Option<sniff::Size>, Result<Response>> {
    let Some(body) = req.inner().body() else {
        return Err(problem_response(&Problem::new(
            ErrorCode::BadRequest,
            "the upload has no body",
        )));
    };
    let body: Body = body.unchecked_into();
    let admitted = admit(req, url, room, config, env).await;
    let started = bucket::begin(body).await;
    let (uploader, bucket, started) = match (admitted, started) {
        (Ok((uploader, bucket)), Ok(started)) => (uploader, bucket, started),
        (Err(p), Ok(started)) => return Err(started.refuse(problem_response(&p)).await),
        (_, Err(p)) => return Err(problem_response(&p)),
    };
    let size = match sniff::check(&upload.content_type, started.head()) {
        Ok(size) => size,
        Err(p) => return Err(started.refuse(problem_response(&p)).await),
    };
    // The room's leave, after the cheap checks and before a byte is stored.
    let leave = call_room(env, &ask(uploader), None).await;
    match leave {
        Ok(leave) if leave.status_code() == 200 => {}
        refused => return Err(started.refuse(refused).await),
    }
    let stored = started
        .store(
            &bucket,
            key,
            upload.size,
            &upload.content_type,
            &upload.name,
        )
        .await;
    match stored {
        Ok(()) => Ok(size),
        Err(p) => Err(problem_response(&p)),
    }
}

/// Who uploads, and the bucket: the request's origin (a page of another site may not upload in a
/// visitor's name), its credentials as for a socket, and the per-client limit.
async fn admit(
    req: &Request,
    url: &Target<'_>,
    room: &RoomName,
    config: &Config,
    env: &Env,
) -> std::result::Result<(Uploader, Bucket), Problem> {
    let headers = req.headers();
    let header = |name: &str| headers.get(name).ok().flatten();
    routes::check_origin(header("origin").as_deref(), url.origin, config)?;
    let query = url.query_pairs();
    let authorization = header("authorization");
    let credentials = Credentials::new(authorization.as_deref(), &query);
    let admission = access::may_enter(config, room, &credentials, false, now_ms() / 1000)?;
    let entry = keys::settle(config, admission).await?;
    let address = AddressTag::of(&client_address(req));
    let uploader = access::check_uploader(&entry, header(KEY_HEADER).as_deref(), address)?;
    limit_client(req, UPLOAD_LIMITER, config, env).await?;
    Ok((uploader, bucket::bucket(env)?))
}

/// `GET /api/rooms/{room}/files/{id}` (`thumb`: its thumbnail): with the right to read the room's
/// history, the bytes (or the one range asked for) with the headers of `crate::files::serve`.
pub async fn download(
    req: &Request,
    url: &Target<'_>,
    room: RoomName,
    id: FileId,
    thumb: bool,
    config: &Config,
    env: &Env,
) -> Result<Response> {
    if let Err(p) = may_read(req, url, &room, config, env).await {
        return problem_response(&p);
    }
    let bucket = match bucket::bucket(env) {
        Ok(b) => b,
        Err(p) => return problem_response(&p),
    };
    let key = if thumb {
        files::thumb_key(&room, &id)
    } else {
        files::object_key(&room, &id)
    };
    let headers = req.headers();
    let range = headers.get("range")?.as_deref().and_then(ByteRange::parse);
    let found = bucket::fetch(&bucket, &key, range, headers.0.as_ref()).await;
    let object = match found {
        Ok(Some(object)) => object,
        Ok(None) => return not_found(),
        // A range past the end is the one read R2 refuses outright.
        Err(e) if range.is_some() => {
            return match bucket::size_of(&bucket, &key).await {
                Ok(Some(size)) => unsatisfiable(size),
                Ok(None) => not_found(),
                Err(_) => problem_response(&internal(e)),
            };
        }
        Err(e) => return problem_response(&internal(e)),
    };
    let answer = worker::Headers::new();
    for (name, value) in serve::headers(&object.content_type(), &object.name(), &object.etag()) {
        answer.set(name, &value)?;
    }
    let Some(body) = object.body() else {
        // A condition held the body back: the client's copy is current (or it asked If-Match).
        let conditional =
            headers.get("if-none-match")?.is_some() || headers.get("if-modified-since")?.is_some();
        let status = if conditional { 304 } else { 412 };
        return Ok(Response::empty()?.with_status(status).with_headers(answer));
    };
    let mut status = 200;
    if let (Some(_), Some((offset, length))) = (range, object.range()) {
        answer.set(
            "content-range",
            &serve::content_range(offset, length, object.size()),
        )?;
        status = 206;
    }
    Ok(Response::from_body(ResponseBody::Stream(body))?
        .with_status(status)
        .with_headers(answer))
}

/// `GET /api/rooms/{room}/files` (operators, `API_TOKEN`): the room's objects in the bucket, a
/// thousand at a time (`?cursor=` for the next page) — what the room has stored, for an operator's
/// audit of what is kept.
pub async fn list(
    req: &Request,
    url: &Target<'_>,
    room: RoomName,
    config: &Config,
    env: &Env,
) -> Result<Response> {
    let authorization = req.headers().get("authorization")?;
    let checked =
        access::api_token(config, authorization.as_deref()).and_then(|()| bucket::bucket(env));
    let bucket = match checked {
        Ok(b) => b,
        Err(p) => return problem_response(&p),
    };
    let query = url.query_pairs();
    let cursor = query_value(&query, "cursor");
    match bucket::list(&bucket, &files::room_prefix(&room), cursor).await {
        Ok((objects, next)) => {
            let objects: Vec<_> = objects
                .into_iter()
                .map(|(key, size)| json!({"key": key, "size": size}))
                .collect();
            json_response(json!({"objects": objects, "cursor": next}).to_string(), 200)
        }
        Err(e) => problem_response(&internal(e)),
    }
}

/// The right to read the room (as for its history): a token in a signed-access room, else open.
///
/// A direct message's files are its members' only, and only the room knows its members: it is asked
/// as a read of its info by who reads (the same rule as its history's, `crate::inbox::dm`).
async fn may_read(
    req: &Request,
    url: &Target<'_>,
    room: &RoomName,
    config: &Config,
    env: &Env,
) -> std::result::Result<(), Problem> {
    let query = url.query_pairs();
    let authorization = req.headers().get("authorization").ok().flatten();
    let credentials = Credentials::new(authorization.as_deref(), &query);
    let admission = access::may_enter(config, room, &credentials, true, now_ms() / 1000)?;
    let entry = keys::settle(config, admission).await?;
    if !dm::is_dm(room) {
        return Ok(());
    }
    let reader = person::reader(&entry, &query)?;
    let info = RoomCall::Info {
        room: room.clone(),
        operator: false,
    };
    let request = person::read_by(info.to_request(), reader.as_deref());
    let stub = hop::stub(env, "ROOMS", room.as_str()).map_err(internal)?;
    match hop::exchange(&stub, request.method, &request.url, None).await {
        Ok((200, _)) => Ok(()),
        Ok(_) => Err(Problem::new(
            ErrorCode::Forbidden,
            "this direct message is only for its members",
        )),
        Err(e) => Err(internal(e)),
    }
}

fn not_found() -> Result<Response> {
    problem_response(&Problem::new(
        ErrorCode::NotFound,
        "no such file in this room",
    ))
}

/// `416` for a range past the end of a file of `size` bytes, with the size it has.
fn unsatisfiable(size: u64) -> Result<Response> {
    let p = Problem::new(
        ErrorCode::BadRange,
        format!("the range starts past the end of the file ({size} bytes)"),
    );
    let response = problem_response(&p)?;
    response
        .headers()
        .set("content-range", &format!("bytes */{size}"))?;
    Ok(response)
}
