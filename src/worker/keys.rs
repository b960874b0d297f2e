//! The Worker's half of RS256/ES256 JWTs: fetch the identity provider's key set from `JWKS_URL`, keep
//! it per isolate, and verify a signature with the runtime's Web Crypto (`crypto.subtle.importKey` +
//! `verify`) — no RSA or ECDSA code in the wasm. When to fetch is [`crate::jwks::Cache`]'s decision.
//!
//! The cache is a `thread_local`: a Workers isolate runs one thread, and it serves many requests and
//! Durable Objects of this script, so one fetch serves them all until the TTL or a key rotation. Each
//! isolate (each edge location, each restart) fetches its own copy.

use std::cell::RefCell;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::now_ms;
use super::subtle::{import_key, verify as subtle_verify};
use super::web::{self, abort_after, js_error};
use crate::access::{Admission, Entry};
use crate::config::Config;
use crate::error::{ErrorCode, Problem};
use crate::jwks::{self, Cache, Lookup, PublicKey};
use crate::jwt::{Alg, KeyCheck};

thread_local! {
    static CACHE: RefCell<Option<Cache>> = const { RefCell::new(None) };
}

/// How long a key-set fetch may take before the connect that waits for it is refused: an identity
/// provider that hangs must not hold sockets open.
const JWKS_TIMEOUT_MS: u32 = 5_000;

#[wasm_bindgen]
extern "C" {
    /// A fetch `Response`, seen only for `status` and `text()`.
    type FetchResponse;
    #[wasm_bindgen(method, getter)]
    fn status(this: &FetchResponse) -> u16;
    #[wasm_bindgen(method, catch)]
    fn text(this: &FetchResponse) -> Result<js_sys::Promise, JsValue>;
}

/// Turns what [`crate::access::may_enter`] decided into an entry: a JWT waiting for its key is let in
/// only once its signature verifies.
pub async fn settle(config: &Config, admission: Admission) -> Result<Entry, Problem> {
    match admission {
        Admission::Ready(entry) => Ok(entry),
        Admission::NeedsKey(session, check) => {
            verify(config, &check).await?;
            Ok(Entry::Signed(session))
        }
    }
}

fn unauthorized(why: impl Into<String>) -> Problem {
    Problem::new(ErrorCode::Unauthorized, why)
}

fn with_cache<T>(config: &Config, f: impl FnOnce(&mut Cache) -> T) -> T {
    CACHE.with(|cell| {
        let mut cache = cell.borrow_mut();
        f(cache.get_or_insert_with(|| Cache::new(config.jwt.refetch_secs)))
    })
}

/// Verifies `check` against the key its `kid` names, fetching the key set when the cache says so (at
/// most once here: after a fetch the cache answers with a key or `Unknown`).
async fn verify(config: &Config, check: &KeyCheck) -> Result<(), Problem> {
    let url = config
        .jwt
        .jwks_url
        .as_deref()
        .ok_or_else(|| unauthorized("token needs a JWKS, and this server has no JWKS_URL"))?;
    for _ in 0..2 {
        let lookup = with_cache(config, |c| {
            c.lookup(check.alg, check.kid.as_deref(), now_ms())
        });
        match lookup {
            Lookup::Key(key) => return verify_with(&key, check).await,
            Lookup::Unknown => break,
            Lookup::Fetch => {
                with_cache(config, |c| c.fetching(now_ms()));
                match fetch_keys(url).await {
                    Ok(keys) => with_cache(config, |c| c.fetched(keys, now_ms())),
                    // Not again for this token: a provider that failed (or hung past the
                    // timeout) just now would only make it wait twice as long.
                    Err(e) => {
                        worker::console_error!("JWKS fetch from {url} failed: {e}");
                        break;
                    }
                }
            }
        }
    }
    Err(unauthorized(format!(
        "token's signing key (kid {:?}) is not in the JWKS",
        check.kid.as_deref().unwrap_or("-")
    )))
}

async fn fetch_keys(url: &str) -> Result<Vec<PublicKey>, String> {
    let init = js_sys::Object::new();
    let signal = abort_after(JWKS_TIMEOUT_MS).map_err(js_error)?;
    js_sys::Reflect::set(&init, &"signal".into(), &signal).map_err(js_error)?;
    let response: FetchResponse = JsFuture::from(web::fetch(url, &init).map_err(js_error)?)
        .await
        .map_err(js_error)?
        .unchecked_into();
    if response.status() != 200 {
        return Err(format!("HTTP {}", response.status()));
    }
    let body = JsFuture::from(response.text().map_err(js_error)?)
        .await
        .map_err(js_error)?
        .as_string()
        .ok_or("the body is not text")?;
    jwks::parse(&body)
}

fn js_object(json: &str) -> Result<JsValue, Problem> {
    js_sys::JSON::parse(json).map_err(|e| {
        worker::console_error!("bad JS object {json}: {e:?}");
        Problem::new(ErrorCode::Internal, "internal error")
    })
}

/// The Web Crypto names of an algorithm: for `importKey`, and for `verify`.
fn algorithms(alg: Alg) -> (&'static str, &'static str) {
    match alg {
        Alg::Rs256 => (
            r#"{"name":"RSASSA-PKCS1-v1_5","hash":"SHA-256"}"#,
            r#"{"name":"RSASSA-PKCS1-v1_5"}"#,
        ),
        Alg::Es256 => (
            r#"{"name":"ECDSA","namedCurve":"P-256"}"#,
            r#"{"name":"ECDSA","hash":"SHA-256"}"#,
        ),
        // Never asked: HS256 is verified in the pure core with JWT_SECRET, never with a JWKS key.
        Alg::Hs256 => (r#"{"name":"HMAC"}"#, r#"{"name":"HMAC"}"#),
    }
}

async fn verify_with(key: &PublicKey, check: &KeyCheck) -> Result<(), Problem> {
    if key.alg != check.alg {
        return Err(unauthorized("token's algorithm does not match its key"));
    }
    let (import_alg, verify_alg) = algorithms(check.alg);
    let usages = js_sys::Array::of1(&JsValue::from_str("verify"));
    let imported = async {
        let promise = import_key(
            "jwk",
            &js_object(&key.jwk)?,
            &js_object(import_alg)?,
            false,
            &usages,
        )
        .map_err(|e| format!("{e:?}"));
        let crypto_key = match promise {
            Ok(p) => JsFuture::from(p).await.map_err(|e| format!("{e:?}")),
            Err(e) => Err(e),
        };
        Ok::<_, Problem>(crypto_key)
    };
    let crypto_key = imported.await?.map_err(|e| {
        worker::console_error!("JWKS key {:?} could not be imported: {e}", key.kid);
        unauthorized("token's signing key could not be used")
    })?;
    // ECDSA signatures in a JWT are r‖s (64 bytes for P-256), the form Web Crypto expects.
    let signature = js_sys::Uint8Array::from(check.signature.as_slice());
    let data = js_sys::Uint8Array::from(check.signing_input.as_bytes());
    let verified = match subtle_verify(&js_object(verify_alg)?, &crypto_key, &signature, &data) {
        Ok(p) => JsFuture::from(p).await.ok().and_then(|v| v.as_bool()),
        Err(_) => None,
    };
    if verified == Some(true) {
        Ok(())
    } else {
        Err(unauthorized("token signature is invalid"))
    }
}
