//! A browser's `PushSubscription`, as `JSON.stringify(subscription)` gives it, checked once at the
//! door (`POST /api/me/push`) so the inbox only ever stores subscriptions it can push to:
//!
//! ```json
//! {"endpoint":"https://fcm.googleapis.com/fcm/send/…","expirationTime":null,
//!  "keys":{"p256dh":"BLc4…","auth":"5I2B…"}}
//! ```
//!
//! The endpoint must be `https:` (RFC 8030 §8: a push service is reached over TLS); plain `http:` is
//! accepted only for the hosts a deployment lists in `PUSH_ALLOW_INSECURE` — a local push receiver in
//! tests. `p256dh` is the browser's P-256 public key (65 bytes, uncompressed), `auth` its 16-byte
//! authentication secret (RFC 8291 §2).

use serde_json::Value;

use super::settings::{decode, PushSettings, PUBLIC_KEY_LEN};
use crate::api::parse_body;
use crate::error::{ErrorCode, Problem};

/// The longest endpoint URL kept: real ones are 150–500 characters.
pub const MAX_ENDPOINT_LEN: usize = 1024;
/// RFC 8291 §3.2: the authentication secret is 16 octets.
pub const AUTH_LEN: usize = 16;

/// A subscription the inbox may push to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The push resource (RFC 8030 §5): a POST here delivers a message.
    pub endpoint: String,
    /// The browser's ECDH public key (`keys.p256dh`).
    pub p256dh: [u8; PUBLIC_KEY_LEN],
    /// The browser's authentication secret (`keys.auth`).
    pub auth: [u8; AUTH_LEN],
}

impl Subscription {
    /// Parses and checks a `PushSubscription` JSON body; the error says which part is wrong.
    /// (Read by hand from a JSON value, as the inbox's other bodies are: no derived deserializer in
    /// the wasm.)
    pub fn parse(body: &str, settings: &PushSettings) -> Result<Subscription, Problem> {
        let body: Value = parse_body(body)?;
        let endpoint = check_endpoint(body["endpoint"].as_str(), settings)?;
        let keys = &body["keys"];
        if !keys.is_object() {
            return Err(bad("keys.p256dh and keys.auth are missing"));
        }
        let p256dh: [u8; PUBLIC_KEY_LEN] = keys["p256dh"]
            .as_str()
            .and_then(decode)
            .and_then(|b| b.try_into().ok())
            .filter(|p: &[u8; PUBLIC_KEY_LEN]| p[0] == 0x04)
            .ok_or_else(|| {
                bad("keys.p256dh must be base64url of an uncompressed P-256 point (65 bytes)")
            })?;
        let auth: [u8; AUTH_LEN] = keys["auth"]
            .as_str()
            .and_then(decode)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| bad("keys.auth must be base64url of 16 bytes"))?;
        Ok(Subscription {
            endpoint,
            p256dh,
            auth,
        })
    }

    /// The endpoint named by a `DELETE /api/me/push` body (`{"endpoint":"…"}`).
    pub fn endpoint_of(body: &str) -> Result<String, Problem> {
        Subscription::named(parse_body::<Value>(body)?["endpoint"].as_str())
    }

    /// An endpoint as one names a subscription (to forget it): present and not over
    /// [`MAX_ENDPOINT_LEN`]. A stored one passed [`check_endpoint`] already.
    pub fn named(endpoint: Option<&str>) -> Result<String, Problem> {
        endpoint
            .filter(|e| !e.is_empty() && e.len() <= MAX_ENDPOINT_LEN)
            .map(str::to_string)
            .ok_or_else(|| bad("endpoint is missing or too long"))
    }

    /// The endpoint's origin (`https://host[:port]`): the VAPID token's `aud` (RFC 8292 §2).
    pub fn origin(&self) -> &str {
        origin_of(&self.endpoint)
    }
}

/// `scheme://authority` of a URL already checked by [`check_endpoint`].
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| after_scheme + i);
    &url[..end]
}

fn check_endpoint(endpoint: Option<&str>, settings: &PushSettings) -> Result<String, Problem> {
    let endpoint = endpoint
        .filter(|e| !e.is_empty())
        .ok_or_else(|| bad("endpoint is missing"))?;
    if endpoint.len() > MAX_ENDPOINT_LEN {
        return Err(bad("endpoint is over 1024 characters"));
    }
    if endpoint
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(bad("endpoint contains spaces or control characters"));
    }
    let (secure, rest) = if let Some(rest) = endpoint.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = endpoint.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(bad("endpoint must be an https: URL"));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return Err(bad("endpoint has no host, or carries a user name"));
    }
    let authority = authority.to_ascii_lowercase();
    if !secure {
        let host = host_of(&authority);
        let listed = settings
            .allow_insecure
            .iter()
            .any(|h| *h == authority || *h == host);
        if !listed {
            return Err(bad(
                "endpoint must be https: (plain http: only for the hosts in PUSH_ALLOW_INSECURE)",
            ));
        }
    }
    // The stored endpoint keeps the path as given but the authority lowercased, so two spellings of
    // one subscription are one row.
    let scheme = if secure { "https://" } else { "http://" };
    Ok(format!(
        "{scheme}{authority}{}",
        &rest[rest.len().min(authority.len())..]
    ))
}

/// `host` of `host:port` (an IPv6 literal keeps its brackets).
fn host_of(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority.find(']').map_or(authority, |i| &authority[..=i]);
    }
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

fn bad(why: &str) -> Problem {
    Problem::new(ErrorCode::BadRequest, why)
}

#[cfg(test)]
mod tests {
    use super::super::settings::tests::{PRIVATE, PUBLIC};
    use super::*;

    fn settings(insecure: &[&str]) -> PushSettings {
        let insecure = insecure.join(",");
        super::super::settings::tests::of(&[
            ("VAPID_PUBLIC_KEY", PUBLIC),
            ("VAPID_PRIVATE_KEY", PRIVATE),
            ("VAPID_SUBJECT", "mailto:ops@example.com"),
            ("PUSH_ALLOW_INSECURE", &insecure),
        ])
        .unwrap()
        .unwrap()
    }

    fn body(endpoint: &str) -> String {
        format!(
            r#"{{"endpoint":"{endpoint}","expirationTime":null,"keys":{{"p256dh":"{PUBLIC}","auth":"5I2Bu2oKdyy9CwL8QVF0NQ"}}}}"#
        )
    }

    #[test]
    fn a_browser_subscription_is_accepted_and_its_origin_is_the_audience() {
        let s = Subscription::parse(
            &body("https://FCM.googleapis.com/fcm/send/abc:DEF"),
            &settings(&[]),
        )
        .unwrap();
        assert_eq!(s.endpoint, "https://fcm.googleapis.com/fcm/send/abc:DEF");
        assert_eq!(s.origin(), "https://fcm.googleapis.com");
        assert_eq!(s.auth.len(), 16);
    }

    #[test]
    fn plain_http_only_for_listed_hosts() {
        let err =
            Subscription::parse(&body("http://127.0.0.1:9000/push/1"), &settings(&[])).unwrap_err();
        assert!(err.message.contains("PUSH_ALLOW_INSECURE"), "{err:?}");
        let by_host = settings(&["127.0.0.1"]);
        let s = Subscription::parse(&body("http://127.0.0.1:9000/push/1"), &by_host).unwrap();
        assert_eq!(s.origin(), "http://127.0.0.1:9000");
        let by_port = settings(&["127.0.0.1:9001"]);
        assert!(Subscription::parse(&body("http://127.0.0.1:9000/push/1"), &by_port).is_err());
    }

    #[test]
    fn bad_endpoints_and_keys_say_what_is_wrong() {
        let s = settings(&[]);
        for (text, says) in [
            (body("javascript:alert(1)"), "https"),
            (body("https://user@evil.example/x"), "user name"),
            (body("https:///nohost"), "no host"),
            (body(&format!("https://a.example/{}", "x".repeat(2000))), "over"),
            ("{}".to_string(), "endpoint is missing"),
            (r#"{"endpoint":"https://a.example/x"}"#.to_string(), "keys"),
            (
                r#"{"endpoint":"https://a.example/x","keys":{"p256dh":"AAAA","auth":"5I2Bu2oKdyy9CwL8QVF0NQ"}}"#.to_string(),
                "p256dh",
            ),
            (
                format!(r#"{{"endpoint":"https://a.example/x","keys":{{"p256dh":"{PUBLIC}","auth":"AAAA"}}}}"#),
                "auth",
            ),
        ] {
            let err = Subscription::parse(&text, &s).unwrap_err();
            assert!(err.message.contains(says), "{text}: {err:?}");
        }
        assert_eq!(
            Subscription::parse("not json", &s).unwrap_err().code,
            ErrorCode::BadJson
        );
    }

    #[test]
    fn a_deletion_names_its_endpoint() {
        assert_eq!(
            Subscription::endpoint_of(r#"{"endpoint":"https://a.example/x"}"#).unwrap(),
            "https://a.example/x"
        );
        assert!(Subscription::endpoint_of("{}").is_err());
    }
}
