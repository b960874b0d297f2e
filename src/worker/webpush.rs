//! Sends one Web Push: encrypts a notification for a subscription (RFC 8291: a fresh ECDH key pair
//! and salt per push, AES-128-GCM), signs a VAPID token for the push service's origin (RFC 8292:
//! ECDSA P-256), and POSTs it (RFC 8030) with `TTL`, `Urgency` and `Topic`. The curve and cipher
//! operations are the runtime's Web Crypto ([`super::subtle`]); the key schedule, framing and token
//! text are the pure [`crate::push`]. What to do with the answer is [`crate::push::outcome::judge`]'s
//! decision, made by the caller.
//!
//! Web Crypto operations that do not need each other's results are awaited together
//! (`Promise.all`): the runtime runs them as it likes, and each await point costs the wasm an
//! extra state in the alarm's future.

use std::future::Future;
use std::pin::Pin;

use js_sys::{Array, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::random_bytes;
use super::subtle;
use super::web::{abort_after, fetch, js_error};
use crate::push::encryption::{self, SALT_LEN};
use crate::push::outcome::TTL_SECS;
use crate::push::settings::{PushSettings, PUBLIC_KEY_LEN};
use crate::push::subscription::Subscription;
use crate::push::vapid;

/// A push service's answer: its status and `Retry-After`.
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
}

/// One push, ready to send.
pub struct Push<'a> {
    pub subscription: &'a Subscription,
    /// The notification's JSON (at most [`encryption::MAX_PLAINTEXT`] bytes).
    pub payload: &'a str,
    pub topic: &'a str,
    pub urgency: &'a str,
}

/// How long to wait for a push service: its answer is a status, so a slow one is a failed attempt.
const TIMEOUT_MS: u32 = 10_000;

const ECDH: &str = r#"{"name":"ECDH","namedCurve":"P-256"}"#;

thread_local! {
    /// The imported VAPID signing key, per isolate: importing a JWK costs more than a signature.
    static SIGNING_KEY: std::cell::RefCell<Option<JsValue>> = const { std::cell::RefCell::new(None) };
}

/// Encrypts, signs and POSTs `push`; the service's answer, or why there is none (the caller retries
/// either way through [`crate::push::outcome::judge`] with `None`).
pub async fn send(
    settings: &PushSettings,
    push: &Push<'_>,
    now_secs: u64,
) -> Result<Answer, String> {
    // Boxed: the attempt's states stay a future of their own instead of being laid out inside the
    // alarm's (a little less wasm).
    let attempt: Pin<Box<dyn Future<Output = Result<Answer, JsValue>> + '_>> =
        Box::pin(attempt(settings, push, now_secs));
    attempt.await.map_err(js_error)
}

async fn attempt(
    settings: &PushSettings,
    push: &Push<'_>,
    now_secs: u64,
) -> Result<Answer, JsValue> {
    let subscription = push.subscription;
    let record =
        encryption::record(push.payload.as_bytes()).ok_or("the payload does not fit a push")?;
    let ecdh = object(ECDH)?;
    // A fresh ECDH pair, the browser's public key, and the VAPID key (imported once per isolate).
    let signing_key = match SIGNING_KEY.with(|k| k.borrow().clone()) {
        Some(key) => Promise::resolve(&key),
        None => subtle::import_key(
            "jwk",
            &object(&vapid::private_jwk(settings))?,
            &object(r#"{"name":"ECDSA","namedCurve":"P-256"}"#)?,
            false,
            &usage("sign"),
        )?,
    };
    let got = all([
        subtle::generate_key(&ecdh, true, &usage("deriveBits"))?,
        subtle::import_key(
            "raw",
            &Uint8Array::from(&subscription.p256dh[..]),
            &ecdh,
            false,
            &Array::new(),
        )?,
        signing_key,
    ])
    .await?;
    let (pair, ua_key, signing_key) = (got.get(0), got.get(1), got.get(2));
    SIGNING_KEY.with(|k| *k.borrow_mut() = Some(signing_key.clone()));

    // Our ephemeral public key, the shared secret, and the VAPID token's signature.
    let derive = object(r#"{"name":"ECDH"}"#)?;
    set(&derive, "public", &ua_key)?;
    let input = vapid::signing_input(settings, subscription.origin(), now_secs);
    let got = all([
        subtle::export_key("raw", &js_sys::Reflect::get(&pair, &"publicKey".into())?)?,
        subtle::derive_bits(
            &derive,
            &js_sys::Reflect::get(&pair, &"privateKey".into())?,
            256,
        )?,
        subtle::sign(
            &object(r#"{"name":"ECDSA","hash":"SHA-256"}"#)?,
            &signing_key,
            &Uint8Array::from(input.as_bytes()),
        )?,
    ])
    .await?;
    let as_public: [u8; PUBLIC_KEY_LEN] = bytes(&got.get(0))
        .try_into()
        .map_err(|_| "the ephemeral public key is not 65 bytes")?;
    let secret = bytes(&got.get(1));
    let authorization = vapid::authorization(settings, &input, &bytes(&got.get(2)));

    // The content key and nonce (pure HKDF), then AES-128-GCM.
    let salt: [u8; SALT_LEN] = random_bytes().map_err(|p| p.message)?;
    let keys = encryption::derive(
        &secret,
        &subscription.auth,
        &subscription.p256dh,
        &as_public,
        &salt,
    );
    let aes = resolve(subtle::import_key(
        "raw",
        &Uint8Array::from(&keys.cek[..]),
        &object(r#"{"name":"AES-GCM"}"#)?,
        false,
        &usage("encrypt"),
    )?)
    .await?;
    let params = object(r#"{"name":"AES-GCM","tagLength":128}"#)?;
    set(&params, "iv", &Uint8Array::from(&keys.nonce[..]))?;
    let ciphertext = bytes(
        &resolve(subtle::encrypt(
            &params,
            &aes,
            &Uint8Array::from(&record[..]),
        )?)
        .await?,
    );
    let body = encryption::body(&salt, &as_public, &ciphertext);

    let headers = js_sys::Object::new();
    for (name, value) in [
        ("authorization", authorization.as_str()),
        ("content-encoding", "aes128gcm"),
        ("content-type", "application/octet-stream"),
        ("ttl", &TTL_SECS.to_string()),
        ("urgency", push.urgency),
        ("topic", push.topic),
    ] {
        set(&headers, name, &value.into())?;
    }
    let init = js_sys::Object::new();
    set(&init, "method", &"POST".into())?;
    set(&init, "headers", &headers)?;
    set(&init, "body", &Uint8Array::from(&body[..]))?;
    set(&init, "signal", &abort_after(TIMEOUT_MS)?)?;
    let response: Response = resolve(fetch(&subscription.endpoint, &init)?)
        .await?
        .unchecked_into();
    let retry_after = response.headers().get("retry-after").ok().flatten();
    let status = response.status();
    // Read the short answer to its end, so the connection is free for the next push.
    if let Ok(text) = response.text() {
        let _ = JsFuture::from(text).await;
    }
    Ok(Answer {
        status,
        retry_after,
    })
}

/// What `promises` resolve to, once all have (`Promise.all`).
async fn all<const N: usize>(promises: [Promise; N]) -> Result<Array, JsValue> {
    let list: Array = promises.iter().collect();
    Ok(resolve(Promise::all(&list)).await?.unchecked_into())
}

async fn resolve(promise: Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(promise).await
}

/// The bytes of an `ArrayBuffer` Web Crypto resolved with.
fn bytes(buffer: &JsValue) -> Vec<u8> {
    Uint8Array::new(buffer).to_vec()
}

/// A key's usages: the one it is for.
fn usage(name: &str) -> JsValue {
    Array::of1(&name.into()).into()
}

fn object(json: &str) -> Result<JsValue, JsValue> {
    js_sys::JSON::parse(json)
}

fn set(object: &JsValue, key: &str, value: &JsValue) -> Result<(), JsValue> {
    js_sys::Reflect::set(object, &JsValue::from_str(key), value).map(drop)
}

#[wasm_bindgen]
extern "C" {
    /// A fetch `Response`: its status, `Retry-After`, and its body to read to the end.
    type Response;
    #[wasm_bindgen(method, getter)]
    fn status(this: &Response) -> u16;
    #[wasm_bindgen(method, getter)]
    fn headers(this: &Response) -> worker::web_sys::Headers;
    #[wasm_bindgen(method, catch)]
    fn text(this: &Response) -> Result<js_sys::Promise, JsValue>;
}
