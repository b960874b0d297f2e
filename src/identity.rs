//! Identity without accounts. A name is not an identity (anyone can call themselves "ann"), so a client
//! may connect with a secret `key=` it generated and keeps (16–128 characters of `A-Z a-z 0-9 _ -`,
//! e.g. in localStorage), and the room derives from it a stable public author id, the `uid`. A signed
//! token gives the `uid` instead: a `v1.` token its `uid`, or one derived from its name (the app vouches
//! for it); a standard JWT one derived from its issuer and subject. A connection with none of these is
//! anonymous (`uid: null`).
//!
//! The uid is a truncated SHA-256 of the key under a domain-separation prefix: public, stable, and
//! useless for recovering the key or for impersonating its owner in another system that hashes keys.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::error::{ErrorCode, Problem};

/// Shortest and longest client key, in characters.
pub const MIN_KEY_CHARS: usize = 16;
pub const MAX_KEY_CHARS: usize = 128;
/// Longest uid a signed token may name.
pub const MAX_UID_CHARS: usize = 64;

/// A client's secret key, checked. Never stored, never sent back.
#[derive(Clone, PartialEq, Eq)]
pub struct Key(String);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(…)")
    }
}

impl Key {
    pub fn parse(raw: &str) -> Result<Key, Problem> {
        let ok = (MIN_KEY_CHARS..=MAX_KEY_CHARS).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
        if ok {
            Ok(Key(raw.to_string()))
        } else {
            Err(Problem::new(
                ErrorCode::BadKey,
                format!(
                    "key must be {MIN_KEY_CHARS}-{MAX_KEY_CHARS} characters of A-Z a-z 0-9 _ -"
                ),
            ))
        }
    }

    /// The public author id of this key: 128 bits of SHA-256("edge-chat uid v1\0" ‖ key), base64url
    /// (22 characters).
    pub fn uid(&self) -> String {
        derive("key", &self.0)
    }
}

/// The uid of a signed token's holder: the token's own `uid` when it names one (checked), else one
/// derived from its name, in a namespace no key can reach.
pub fn uid_of_grant(uid: Option<&str>, name: &str) -> Result<String, Problem> {
    match uid {
        Some(uid) => check_uid(uid).map(str::to_string),
        None => Ok(derive("token-name", name)),
    }
}

/// The uid of a JWT's holder: 128 bits of SHA-256 over `iss` and `sub` in a namespace of their own.
/// A `sub` is only unique within its issuer, and may hold characters a uid may not (`auth0|abc`), so
/// it is hashed rather than used as is; the namespace keeps it apart from every key-derived and `v1.`
/// token uid. An app's backend computes the same value (docs/API.md) to recognise its users.
pub fn uid_of_subject(issuer: &str, sub: &str) -> String {
    derive("jwt", &format!("{issuer}\0{sub}"))
}

/// A uid as it travels between the Worker and a room, or in a token: 1–64 characters of
/// `A-Z a-z 0-9 _ - . : @`.
pub fn check_uid(uid: &str) -> Result<&str, Problem> {
    let ok = !uid.is_empty()
        && uid.len() <= MAX_UID_CHARS
        && uid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':' | b'@'));
    if ok {
        Ok(uid)
    } else {
        Err(Problem::new(
            ErrorCode::Unauthorized,
            format!("uid must be 1-{MAX_UID_CHARS} characters of A-Z a-z 0-9 _ - . : @"),
        ))
    }
}

fn derive(namespace: &str, secret: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(b"edge-chat uid v1\0");
    hash.update(namespace.as_bytes());
    hash.update(b"\0");
    hash.update(secret.as_bytes());
    URL_SAFE_NO_PAD.encode(&hash.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked_and_give_a_stable_uid_that_is_not_the_key() {
        let key = Key::parse("k3y-for-ann_0123456789").unwrap();
        let uid = key.uid();
        assert_eq!(uid.len(), 22);
        assert_eq!(uid, Key::parse("k3y-for-ann_0123456789").unwrap().uid());
        assert_ne!(uid, Key::parse("k3y-for-bob_0123456789").unwrap().uid());
        assert!(!uid.contains("k3y"));
        assert!(check_uid(&uid).is_ok());
        for bad in [
            "short",
            &"x".repeat(129),
            "has space in it!!!!",
            "é".repeat(16).as_str(),
        ] {
            assert_eq!(
                Key::parse(bad).unwrap_err().code,
                ErrorCode::BadKey,
                "{bad}"
            );
        }
        assert!(
            !format!("{key:?}").contains("k3y"),
            "a key never shows in logs"
        );
    }

    #[test]
    fn tokens_give_their_uid_or_one_derived_from_their_name() {
        assert_eq!(
            uid_of_grant(Some("user-42"), "ann"),
            Ok("user-42".to_string())
        );
        let derived = uid_of_grant(None, "ann").unwrap();
        assert_eq!(derived, uid_of_grant(None, "ann").unwrap());
        assert_ne!(derived, uid_of_grant(None, "bob").unwrap());
        // a JWT subject is scoped by its issuer and cannot reach a name's or a key's uid
        let jwt = uid_of_subject("https://id.example/", "ann");
        assert_eq!(jwt.len(), 22);
        assert_ne!(jwt, uid_of_subject("https://other.example/", "ann"));
        assert_ne!(jwt, derived);
        assert_ne!(uid_of_subject("", "ann"), derived);
        // a key equal to a name cannot reach a token's uid
        assert_ne!(derived, Key::parse("annannannannannann").unwrap().uid(),);
        assert_eq!(
            uid_of_grant(Some("no spaces"), "ann").unwrap_err().code,
            ErrorCode::Unauthorized
        );
    }
}
