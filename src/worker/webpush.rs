//! Sends one Web Push: encrypts a notification for a subscription (RFC 8291: a fresh ECDH key pair
//! and salt per push, AES-128-GCM), signs a VAPID token for the push service's origin (RFC 8292:
//! ECDSA P-256), and POSTs it (RFC 8030) with `TTL`, `Urgency` and `Topic`. The curve and cipher
//! operations are the runtime's Web Crypto ([`super::subtle`]); the key schedule, framing and token
//! text are the pure [`crate::push`]. What to do with the answer is [`crate::push::outcome::judge`]'s
//! decision, made by the caller.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

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

/// Encrypts, signs and POSTs `push`; the service's answer, or why there is none (the caller retries
/// either way through [`crate::push::outcome::judge`] with `None`).
pub async fn send(
    settings: &PushSettings,
    push: &Push<'_>,
    now_secs: u64,
) -> Result<Answer, String> {
    let record = encryption::record(push.payload.as_bytes()).ok_or_else(|| {
        format!(
            "payload of {} bytes does not fit a push",
            push.payload.len()
        )
    })?;
    let body = encrypt(push.subscription, &record).await?;
    let input = vapid::signing_input(settings, push.subscription.origin(), now_secs);
    let signature = sign(settings, &input).await?;
    let authorization = vapid::authorization(settings, &input, &signature);

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
    set(
        &init,
        "body",
        &js_sys::Uint8Array::from(body.as_slice()).into(),
    )?;
    set(&init, "signal", &abort_after(TIMEOUT_MS).map_err(js_error)?)?;
    let response: Response =
        JsFuture::from(fetch(&push.subscription.endpoint, &init).map_err(js_error)?)
            .await
            .map_err(js_error)?
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

/// The `aes128gcm` body of `record` for `subscription`.
async fn encrypt(subscription: &Subscription, record: &[u8]) -> Result<Vec<u8>, String> {
    let ecdh = object(r#"{"name":"ECDH","namedCurve":"P-256"}"#)?;
    let pair = resolve(subtle::generate_key(&ecdh, true, &usages(&["deriveBits"]))).await?;
    let private = js_sys::Reflect::get(&pair, &"privateKey".into()).map_err(js_error)?;
    let public = js_sys::Reflect::get(&pair, &"publicKey".into()).map_err(js_error)?;
    let as_public: [u8; PUBLIC_KEY_LEN] = bytes(resolve(subtle::export_key("raw", &public)).await?)
        .try_into()
        .map_err(|_| "the ephemeral public key is not 65 bytes")?;
    let ua_key = resolve(subtle::import_key(
        "raw",
        &js_sys::Uint8Array::from(&subscription.p256dh[..]).into(),
        &ecdh,
        false,
        &js_sys::Array::new(),
    ))
    .await
    .map_err(|e| format!("the subscription's p256dh is not a P-256 point: {e}"))?;
    let derive = object(r#"{"name":"ECDH"}"#)?;
    set(derive.unchecked_ref(), "public", &ua_key)?;
    let secret = bytes(resolve(subtle::derive_bits(&derive, &private, 256)).await?);

    let mut salt = [0u8; SALT_LEN];
    getrandom::getrandom(&mut salt).map_err(|e| e.to_string())?;
    let keys = encryption::derive(
        &secret,
        &subscription.auth,
        &subscription.p256dh,
        &as_public,
        &salt,
    );
    let aes = resolve(subtle::import_key(
        "raw",
        &js_sys::Uint8Array::from(&keys.cek[..]).into(),
        &object(r#"{"name":"AES-GCM"}"#)?,
        false,
        &usages(&["encrypt"]),
    ))
    .await?;
    let params = object(r#"{"name":"AES-GCM","tagLength":128}"#)?;
    set(
        params.unchecked_ref(),
        "iv",
        &js_sys::Uint8Array::from(&keys.nonce[..]).into(),
    )?;
    let ciphertext = bytes(
        resolve(subtle::encrypt(
            &params,
            &aes,
            &js_sys::Uint8Array::from(record),
        ))
        .await?,
    );
    Ok(encryption::body(&salt, &as_public, &ciphertext))
}

thread_local! {
    /// The imported VAPID signing key, per isolate: importing a JWK costs more than a signature.
    static SIGNING_KEY: std::cell::RefCell<Option<JsValue>> = const { std::cell::RefCell::new(None) };
}

/// The ES256 signature (`r ‖ s`) of `input` with `VAPID_PRIVATE_KEY`.
async fn sign(settings: &PushSettings, input: &str) -> Result<Vec<u8>, String> {
    let cached = SIGNING_KEY.with(|k| k.borrow().clone());
    let key = match cached {
        Some(key) => key,
        None => {
            let key = resolve(subtle::import_key(
                "jwk",
                &object(&vapid::private_jwk(settings))?,
                &object(r#"{"name":"ECDSA","namedCurve":"P-256"}"#)?,
                false,
                &usages(&["sign"]),
            ))
            .await
            .map_err(|e| format!("VAPID_PRIVATE_KEY does not match VAPID_PUBLIC_KEY: {e}"))?;
            SIGNING_KEY.with(|k| *k.borrow_mut() = Some(key.clone()));
            key
        }
    };
    let algorithm = object(r#"{"name":"ECDSA","hash":"SHA-256"}"#)?;
    let data = js_sys::Uint8Array::from(input.as_bytes());
    Ok(bytes(resolve(subtle::sign(&algorithm, &key, &data)).await?))
}

async fn resolve(promise: Result<js_sys::Promise, JsValue>) -> Result<JsValue, String> {
    JsFuture::from(promise.map_err(js_error)?)
        .await
        .map_err(js_error)
}

/// The bytes of an `ArrayBuffer` Web Crypto resolved with.
fn bytes(buffer: JsValue) -> Vec<u8> {
    js_sys::Uint8Array::new(&buffer).to_vec()
}

fn usages(names: &[&str]) -> JsValue {
    names
        .iter()
        .map(|n| JsValue::from_str(n))
        .collect::<js_sys::Array>()
        .into()
}

fn object(json: &str) -> Result<JsValue, String> {
    js_sys::JSON::parse(json).map_err(js_error)
}

fn set(object: &js_sys::Object, key: &str, value: &JsValue) -> Result<(), String> {
    js_sys::Reflect::set(object, &JsValue::from_str(key), value)
        .map(drop)
        .map_err(js_error)
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
