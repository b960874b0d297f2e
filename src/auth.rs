//! Access control that needs cryptography: the `API_TOKEN` bearer check and signed access tokens.
//!
//! A signed token lets an app's backend decide who may join which room without edge-chat knowing its
//! users. Format (documented in `docs/API.md`):
//!
//! ```text
//! v1.<base64url(JSON {"room":"lobby"|"*","name":"ann","exp":<unix seconds>})>.<base64url(HMAC-SHA256(AUTH_SECRET, "v1.<payload>"))>
//! ```
//!
//! Both comparisons run in constant time, so response timing reveals nothing about a secret.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{ErrorCode, Problem};
use crate::identity;
use crate::validate::{RoomName, UserName};

type HmacSha256 = Hmac<Sha256>;

const VERSION: &str = "v1";
/// Longest token accepted, so a huge `token=` costs nothing to refuse.
const MAX_TOKEN_LEN: usize = 2048;

/// What a signed token grants: `name` may join `room` (or any room, `*`) until `exp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub room: String,
    pub name: String,
    pub exp: u64,
    /// The holder's author id in the app (optional; derived from `name` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
}

/// Whether an `Authorization` header carries the bearer `token`. Hashing both sides first makes the
/// comparison constant-time even when the lengths differ.
pub fn bearer_matches(header: Option<&str>, token: &str) -> bool {
    let Some(given) = header.and_then(|h| h.strip_prefix("Bearer ")) else {
        return false;
    };
    let a = Sha256::digest(given.trim().as_bytes());
    let b = Sha256::digest(token.as_bytes());
    a.ct_eq(&b).into()
}

fn sign(secret: &str, signed_part: &str) -> HmacSha256 {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail; the fallback keeps it total.
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| HmacSha256::new(&Default::default()));
    mac.update(signed_part.as_bytes());
    mac
}

/// Mints a token for `grant`, after checking the room and name it names.
pub fn mint(secret: &str, grant: &Grant) -> Result<String, Problem> {
    if grant.room != "*" {
        RoomName::parse(&grant.room)?;
    }
    UserName::parse(&grant.name)?;
    if let Some(uid) = &grant.uid {
        identity::check_uid(uid)?;
    }
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(grant).unwrap_or_default());
    let signed_part = format!("{VERSION}.{payload}");
    let sig = URL_SAFE_NO_PAD.encode(sign(secret, &signed_part).finalize().into_bytes());
    Ok(format!("{signed_part}.{sig}"))
}

/// Checks a token for joining `room` at `now_secs`; returns the grant (whose name the user gets).
pub fn verify(secret: &str, token: &str, room: &RoomName, now_secs: u64) -> Result<Grant, Problem> {
    verify_scoped(secret, token, Some(room), now_secs)
}

/// [`verify`] for `room`, or with `None` for who the holder is wherever they go (a person's inbox, a
/// direct message: the token's room is not asked).
pub fn verify_scoped(
    secret: &str,
    token: &str,
    room: Option<&RoomName>,
    now_secs: u64,
) -> Result<Grant, Problem> {
    let bad = |why: &str| Problem::new(ErrorCode::Unauthorized, format!("token {why}"));
    if token.len() > MAX_TOKEN_LEN {
        return Err(bad("is too long"));
    }
    let mut parts = token.split('.');
    let (Some(VERSION), Some(payload), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("is malformed (expected v1.<payload>.<signature>)"));
    };
    let sig = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| bad("signature is not base64url"))?;
    sign(secret, &format!("{VERSION}.{payload}"))
        .verify_slice(&sig)
        .map_err(|_| bad("signature is invalid"))?;
    let grant: Grant = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| bad("payload is not the expected JSON"))?;
    if grant.exp <= now_secs {
        return Err(bad("has expired"));
    }
    if room.is_some_and(|room| grant.room != "*" && grant.room != room.as_str()) {
        return Err(bad("is for another room"));
    }
    UserName::parse(&grant.name).map_err(|_| bad("names an invalid user name"))?;
    Ok(grant)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(room: &str, exp: u64) -> Grant {
        Grant {
            room: room.into(),
            name: "ann".into(),
            exp,
            uid: None,
        }
    }

    fn lobby() -> RoomName {
        RoomName::parse("lobby").unwrap()
    }

    #[test]
    fn a_minted_token_verifies_for_its_room_until_it_expires() {
        let t = mint("s3cret", &grant("lobby", 100)).unwrap();
        assert_eq!(verify("s3cret", &t, &lobby(), 99).unwrap().name, "ann");
        let e = verify("s3cret", &t, &lobby(), 100).unwrap_err();
        assert_eq!(e.code, ErrorCode::Unauthorized);
        assert!(e.message.contains("expired"));
    }

    #[test]
    fn wildcard_tokens_open_any_room_and_room_tokens_only_theirs() {
        let any = mint("k", &grant("*", 100)).unwrap();
        assert!(verify("k", &any, &RoomName::parse("other").unwrap(), 1).is_ok());
        let one = mint("k", &grant("lobby", 100)).unwrap();
        let e = verify("k", &one, &RoomName::parse("other").unwrap(), 1).unwrap_err();
        assert!(e.message.contains("another room"));
    }

    #[test]
    fn forged_and_malformed_tokens_are_refused() {
        let t = mint("k", &grant("lobby", 100)).unwrap();
        assert!(verify("other-key", &t, &lobby(), 1).is_err());
        // swap in a payload that names someone else, keeping the signature
        let forged_payload = URL_SAFE_NO_PAD.encode(br#"{"room":"lobby","name":"root","exp":100}"#);
        let sig = t.rsplit('.').next().unwrap();
        assert!(verify("k", &format!("v1.{forged_payload}.{sig}"), &lobby(), 1).is_err());
        for junk in [
            "",
            "v1",
            "v1..",
            "v2.a.b",
            "v1.a.b.c",
            "v1.!!.??",
            &"v1.".repeat(1000),
        ] {
            assert_eq!(
                verify("k", junk, &lobby(), 1).unwrap_err().code,
                ErrorCode::Unauthorized
            );
        }
    }

    #[test]
    fn minting_checks_room_and_name() {
        assert_eq!(
            mint("k", &grant("bad room", 1)).unwrap_err().code,
            ErrorCode::BadRoom
        );
        let g = Grant {
            room: "lobby".into(),
            name: "".into(),
            exp: 1,
            uid: None,
        };
        assert_eq!(mint("k", &g).unwrap_err().code, ErrorCode::BadName);
    }

    #[test]
    fn bearer_tokens() {
        assert!(bearer_matches(Some("Bearer abc"), "abc"));
        assert!(!bearer_matches(Some("Bearer abd"), "abc"));
        assert!(!bearer_matches(Some("Bearer abcd"), "abc"));
        assert!(!bearer_matches(Some("abc"), "abc"));
        assert!(!bearer_matches(None, "abc"));
    }

    #[test]
    fn matches_the_documented_node_recipe() {
        // Node: crypto.createHmac('sha256','k').update('v1.'+p).digest('base64url')
        let t = mint("k", &grant("lobby", 100)).unwrap();
        let payload = t.split('.').nth(1).unwrap();
        let json = URL_SAFE_NO_PAD.decode(payload).unwrap();
        assert_eq!(json, br#"{"room":"lobby","name":"ann","exp":100}"#);
    }
}
