//! The R2 bucket `FILES` (`[[r2_buckets]]` in wrangler.toml; `wrangler dev` keeps it on disk beside
//! the objects' storage), seen for the calls edge-chat makes: a streamed `put`, a ranged and
//! conditional `get`, `delete` and `list`.
//!
//! workers-rs wraps R2 as `worker::Bucket` (`env.bucket("FILES")`, `put(key, Data)` where `Data` is a
//! `ReadableStream` or a `FixedLengthStream` of Rust chunks). Its `FixedLengthStream` pulls every
//! chunk through the wasm (a copy in, a copy out), and its builders convert options this module
//! does not use; the bucket is reached on the env object directly instead, as `hop.rs` reaches the
//! objects, and the body is handed from stream to stream in JavaScript.
//!
//! **Streaming.** R2's `put` needs a stream of known length, which a request body is — until it has
//! been read from. An upload's first bytes must be read (to check an image's signature), so the body
//! goes through the runtime's `FixedLengthStream` of the declared length: the chunks already read are
//! written into it, then the rest of the body is piped into it by the runtime. Only those first
//! chunks (at most [`SNIFF_BYTES`] plus one chunk) are ever in the wasm's memory, whatever the
//! file's size; a body that is not the length it declared fails the put.
//! <https://developers.cloudflare.com/r2/api/workers/workers-api-reference/>

use futures_util::future::join;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use worker::Env;

use super::web::js_error;

use crate::error::{ErrorCode, Problem};
use crate::files::serve::ByteRange;
use crate::files::sniff::SNIFF_BYTES;

/// The binding's name.
const BINDING: &str = "FILES";

#[wasm_bindgen]
extern "C" {
    /// An R2 bucket binding.
    pub type Bucket;
    #[wasm_bindgen(method, catch)]
    fn put(
        this: &Bucket,
        key: &str,
        value: &JsValue,
        options: &js_sys::Object,
    ) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn get(this: &Bucket, key: &str, options: &js_sys::Object) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn head(this: &Bucket, key: &str) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = delete)]
    fn delete_keys(this: &Bucket, keys: &js_sys::Array) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn list(this: &Bucket, options: &js_sys::Object) -> Result<js_sys::Promise, JsValue>;

    /// The runtime's `FixedLengthStream`: a pass-through whose readable side has a known length.
    type FixedLengthStream;
    #[wasm_bindgen(constructor, catch)]
    fn new(length: f64) -> Result<FixedLengthStream, JsValue>;
    #[wasm_bindgen(method, getter)]
    fn readable(this: &FixedLengthStream) -> JsValue;
    #[wasm_bindgen(method, getter)]
    fn writable(this: &FixedLengthStream) -> Writable;

    /// A `ReadableStream` of bytes: a request's body, a fetched page's.
    pub type Body;
    #[wasm_bindgen(method, js_name = getReader)]
    fn get_reader(this: &Body) -> Reader;
    #[wasm_bindgen(method, js_name = pipeTo)]
    fn pipe_to(this: &Body, destination: &Writable) -> js_sys::Promise;
    #[wasm_bindgen(method)]
    pub fn cancel(this: &Body) -> js_sys::Promise;

    type Reader;
    #[wasm_bindgen(method)]
    fn read(this: &Reader) -> js_sys::Promise;
    #[wasm_bindgen(method, js_name = releaseLock)]
    fn release(this: &Reader);
    #[wasm_bindgen(method, js_name = cancel)]
    fn stop(this: &Reader) -> js_sys::Promise;

    type Writable;
    #[wasm_bindgen(method, js_name = getWriter)]
    fn get_writer(this: &Writable) -> Writer;

    type Writer;
    #[wasm_bindgen(method)]
    fn write(this: &Writer, chunk: &JsValue) -> js_sys::Promise;
    #[wasm_bindgen(method, js_name = releaseLock)]
    fn release(this: &Writer);
}

/// The bucket, if the deployment binds one (without it, files are off: 503).
pub fn bucket(env: &Env) -> Result<Bucket, Problem> {
    let value = js_sys::Reflect::get(env.as_ref(), &BINDING.into()).unwrap_or(JsValue::UNDEFINED);
    if value.is_undefined() || value.is_null() {
        return Err(Problem::new(
            ErrorCode::Disabled,
            "files are off here: the deployment binds no FILES bucket",
        ));
    }
    Ok(value.unchecked_into())
}

fn field(object: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(object, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

fn object(pairs: &[(&str, &JsValue)]) -> js_sys::Object {
    let o = js_sys::Object::new();
    for (key, value) in pairs {
        let _ = js_sys::Reflect::set(&o, &(*key).into(), value);
    }
    o
}

/// Up to `limit` bytes from the start of `reader` (fewer if the stream ends first), and the chunks
/// they came in (the last may reach past `limit`), as JS values to write on as they are.
async fn read_head(reader: &Reader, limit: usize) -> Result<(Vec<u8>, Vec<JsValue>), String> {
    let mut head = Vec::new();
    let mut chunks = Vec::new();
    while head.len() < limit {
        let step = JsFuture::from(reader.read()).await.map_err(js_error)?;
        if field(&step, "done").as_bool() == Some(true) {
            break;
        }
        let chunk = field(&step, "value");
        let bytes: js_sys::Uint8Array = chunk.clone().unchecked_into();
        let take = (limit - head.len()).min(bytes.length() as usize);
        head.extend(bytes.subarray(0, take as u32).to_vec());
        chunks.push(chunk);
    }
    Ok((head, chunks))
}

/// An upload whose first bytes (at most [`SNIFF_BYTES`]) have been read, to be checked before the
/// rest is stored ([`Started::store`]) or refused ([`Started::refuse`]).
pub struct Started {
    body: Body,
    head: Vec<u8>,
    chunks: Vec<JsValue>,
}

/// Reads the first bytes of `body`.
pub async fn begin(body: Body) -> Result<Started, Problem> {
    let reader = body.get_reader();
    let read = read_head(&reader, SNIFF_BYTES).await;
    reader.release();
    let (head, chunks) = read.map_err(|e| {
        worker::console_error!("reading an upload failed: {e}");
        Problem::new(ErrorCode::BadRequest, "the upload's body could not be read")
    })?;
    Ok(Started { body, head, chunks })
}

impl Started {
    pub fn head(&self) -> &[u8] {
        &self.head
    }

    /// Refuses the upload with `answer`, once the rest of its body is read and dropped (never into
    /// the wasm). An answer sent while the client is still sending reaches it cut or not at all (a
    /// cancelled body: a bare status; an unread one: a reset connection under `wrangler dev`, where
    /// `fetch` fails), so the client would not learn why. What is read is bounded by the declared
    /// length, which was checked against `FILE_MAX_BYTES` before anything was read.
    pub async fn refuse<T>(self, answer: T) -> T {
        let reader = self.body.get_reader();
        loop {
            match JsFuture::from(reader.read()).await {
                Ok(step) if field(&step, "done").as_bool() != Some(true) => {}
                _ => break,
            }
        }
        answer
    }

    /// Stores the whole body (`size` bytes, as declared) under `key` with its media type and name:
    /// the chunks read so far written into a stream of that length, then the rest piped after them.
    pub async fn store(
        self,
        bucket: &Bucket,
        key: &str,
        size: u64,
        content_type: &str,
        name: &str,
    ) -> Result<(), Problem> {
        let failed = |e: String| {
            worker::console_error!("storing {key} failed: {e}");
            Problem::new(
                ErrorCode::BadRequest,
                "the file could not be stored (was its body the size it declared?)",
            )
        };
        let stream = FixedLengthStream::new(size as f64).map_err(|e| failed(js_error(e)))?;
        let metadata = object(&[("contentType", &content_type.into())]);
        let custom = object(&[("name", &name.into())]);
        let options = object(&[("httpMetadata", &metadata), ("customMetadata", &custom)]);
        let put = bucket
            .put(key, &stream.readable(), &options)
            .map_err(|e| failed(js_error(e)))?;
        let writable = stream.writable();
        let Started { body, chunks, .. } = self;
        // The writes resolve as the put reads, so they run beside it, never before it.
        let feed = async move {
            let writer = writable.get_writer();
            for chunk in &chunks {
                JsFuture::from(writer.write(chunk)).await?;
            }
            writer.release();
            JsFuture::from(body.pipe_to(&writable)).await
        };
        let (stored, fed) = join(JsFuture::from(put), feed).await;
        stored.map_err(|e| failed(js_error(e)))?;
        fed.map_err(|e| failed(js_error(e)))?;
        Ok(())
    }
}

/// A stored object as a download reads it.
pub struct Object(JsValue);

impl Object {
    pub fn size(&self) -> u64 {
        field(&self.0, "size").as_f64().unwrap_or(0.0) as u64
    }

    pub fn etag(&self) -> String {
        field(&self.0, "httpEtag").as_string().unwrap_or_default()
    }

    pub fn content_type(&self) -> String {
        field(&field(&self.0, "httpMetadata"), "contentType")
            .as_string()
            .unwrap_or_else(|| "application/octet-stream".into())
    }

    pub fn name(&self) -> String {
        field(&field(&self.0, "customMetadata"), "name")
            .as_string()
            .unwrap_or_else(|| "file".into())
    }

    /// The bytes a ranged read returned: `(offset, length)`.
    pub fn range(&self) -> Option<(u64, u64)> {
        let range = field(&self.0, "range");
        let offset = field(&range, "offset").as_f64();
        let length = field(&range, "length").as_f64();
        match (offset, length) {
            (Some(o), Some(l)) => Some((o as u64, l as u64)),
            _ => None,
        }
    }

    /// Its body; `None` when a condition (`If-None-Match`, …) held it back.
    pub fn body(&self) -> Option<worker::web_sys::ReadableStream> {
        let body = field(&self.0, "body");
        (!body.is_undefined() && !body.is_null()).then(|| body.unchecked_into())
    }
}

/// Reads `key`: the bytes of `range` (all without one), unless the request's conditional headers
/// (`If-None-Match`, `If-Modified-Since`, …, given as the `Headers` they came in) say the client's
/// copy will do — then the object comes without a body. `None` when there is no such object.
pub async fn fetch(
    bucket: &Bucket,
    key: &str,
    range: Option<ByteRange>,
    conditions: &JsValue,
) -> Result<Option<Object>, String> {
    let range = match range {
        Some(ByteRange::From { offset, length }) => {
            let offset = JsValue::from_f64(offset as f64);
            match length {
                Some(l) => object(&[
                    ("offset", &offset),
                    ("length", &JsValue::from_f64(l as f64)),
                ]),
                None => object(&[("offset", &offset)]),
            }
            .into()
        }
        Some(ByteRange::Last(n)) => object(&[("suffix", &JsValue::from_f64(n as f64))]).into(),
        None => JsValue::UNDEFINED,
    };
    let options = object(&[("range", &range), ("onlyIf", conditions)]);
    let promise = bucket.get(key, &options).map_err(js_error)?;
    let found = JsFuture::from(promise).await.map_err(js_error)?;
    Ok((!found.is_null() && !found.is_undefined()).then_some(Object(found)))
}

/// The size of `key`, if it exists.
pub async fn size_of(bucket: &Bucket, key: &str) -> Result<Option<u64>, String> {
    let promise = bucket.head(key).map_err(js_error)?;
    let found = JsFuture::from(promise).await.map_err(js_error)?;
    Ok((!found.is_null() && !found.is_undefined()).then(|| Object(found).size()))
}

/// Deletes `keys` (at most 1000; a missing key is no error).
pub async fn delete(bucket: &Bucket, keys: &[String]) -> Result<(), String> {
    let array: js_sys::Array = keys.iter().map(|k| JsValue::from_str(k)).collect();
    let promise = bucket.delete_keys(&array).map_err(js_error)?;
    JsFuture::from(promise).await.map(drop).map_err(js_error)
}

/// The objects under `prefix`, up to 1000 from `cursor`: `(key, size)` each, and the cursor of the
/// next page, if any.
pub async fn list(
    bucket: &Bucket,
    prefix: &str,
    cursor: Option<&str>,
) -> Result<(Vec<(String, u64)>, Option<String>), String> {
    let mut options = vec![("prefix", JsValue::from_str(prefix))];
    if let Some(c) = cursor {
        options.push(("cursor", JsValue::from_str(c)));
    }
    let pairs: Vec<(&str, &JsValue)> = options.iter().map(|(k, v)| (*k, v)).collect();
    let promise = bucket.list(&object(&pairs)).map_err(js_error)?;
    let listed = JsFuture::from(promise).await.map_err(js_error)?;
    let objects: js_sys::Array = field(&listed, "objects").unchecked_into();
    let found = objects
        .iter()
        .map(|o| {
            let key = field(&o, "key").as_string().unwrap_or_default();
            (key, Object(o).size())
        })
        .collect();
    let next = (field(&listed, "truncated").as_bool() == Some(true))
        .then(|| field(&listed, "cursor").as_string())
        .flatten();
    Ok((found, next))
}

/// Reads up to `limit` bytes of `body` and cancels the rest (a fetched page: a bounded read, never
/// the whole of what a server may send).
pub async fn read_some(body: Body, limit: usize) -> Result<Vec<u8>, String> {
    let reader = body.get_reader();
    let read = read_head(&reader, limit).await;
    let _ = reader.stop();
    read.map(|(head, _)| head)
}
