//! Identity without accounts. A name is not an identity (anyone can call themselves "ann"), so a client
//! may connect with a secret `key=` it generated and keeps (16–128 characters of `A-Z a-z 0-9 _ -`,
//! e.g. in localStorage), and the room derives from it a stable public author id, the `uid`. A signed
//! token gives the `uid` instead: a `v1.` token its `uid`, or one derived from its name (the app vouches
//! for it); a standard JWT one derived from its issuer and subject. A connection with none of these is
//! anonymous, and still gets a uid of its own, [`anonymous_uid`] (`anon:<connection id>`), so that a
//! moderator can mute, kick or ban it; an anonymous uid lasts as long as its connection and gives no
//! right an identity gives (editing, reacting, read state: [`is_anonymous`]).
//!
//! Who posts through the HTTP API ([`API_CONN_ID`]) is not a name anyone can type: its messages are
//! deduplicated in a namespace of their own (`domain::sender_key`).
//!
//! A client's address is kept only as an [`AddressTag`] (a hash of it, or of its IPv6 /64), for the
//! bans that must hold in an open room, where a new key is one click away.
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
/// What every anonymous uid starts with; no token may name a uid that does.
pub const ANONYMOUS_PREFIX: &str = "anon:";
/// The connection id of whoever acts through the HTTP API (no socket has it: socket ids are random hex).
pub const API_CONN_ID: &str = "api";

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
        Some(uid) if is_anonymous(uid) => Err(Problem::new(
            ErrorCode::Unauthorized,
            format!("a token's uid may not start with {ANONYMOUS_PREFIX:?}"),
        )),
        Some(uid) => check_uid(uid).map(str::to_string),
        None => Ok(derive("token-name", name)),
    }
}

/// The uid of an anonymous connection `conn_id`: lasts as long as the connection, so a moderator has
/// something to act on.
pub fn anonymous_uid(conn_id: &str) -> String {
    format!("{ANONYMOUS_PREFIX}{conn_id}")
}

/// Whether `uid` is an anonymous connection's ([`anonymous_uid`]) rather than an identity's.
pub fn is_anonymous(uid: &str) -> bool {
    uid.starts_with(ANONYMOUS_PREFIX)
}

/// A client address (`CF-Connecting-IP`) as a room may keep it: 128 bits of SHA-256 of the address, or
/// of its /64 for IPv6 (one subscriber's whole block: a new address in it is one command away). Not
/// reversible at a glance, though IPv4's small space can be searched: a room keeps it only with a
/// connection (in its attachment) and while an address ban needs it. Small and `Copy`, it travels
/// with a join; as text it is 22 characters of base64url.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressTag([u8; 16]);

impl std::fmt::Debug for AddressTag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AddressTag({self})")
    }
}

impl std::fmt::Display for AddressTag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl AddressTag {
    /// The tag of `address`; `None` when it is no IP address (no `CF-Connecting-IP`: nothing to go by).
    pub fn of(address: &str) -> Option<AddressTag> {
        let ip: std::net::IpAddr = address.trim().parse().ok()?;
        let normalized = match ip {
            std::net::IpAddr::V4(v4) => v4.to_string(),
            std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let s = v6.segments();
                    format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
                }
            },
        };
        Some(AddressTag(digest("address", &normalized)))
    }

    /// A tag written by [`Display`](std::fmt::Display) (a hop's query, an attachment, storage).
    pub fn parse(text: &str) -> Option<AddressTag> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        Some(AddressTag(bytes.try_into().ok()?))
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
    URL_SAFE_NO_PAD.encode(digest(namespace, secret))
}

/// 128 bits of SHA-256("edge-chat uid v1\0" ‖ namespace ‖ "\0" ‖ secret).
fn digest(namespace: &str, secret: &str) -> [u8; 16] {
    let mut hash = Sha256::new();
    hash.update(b"edge-chat uid v1\0");
    hash.update(namespace.as_bytes());
    hash.update(b"\0");
    hash.update(secret.as_bytes());
    let mut out = [0; 16];
    out.copy_from_slice(&hash.finalize()[..16]);
    out
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

    #[test]
    fn an_anonymous_connection_has_a_uid_no_token_can_claim() {
        let uid = anonymous_uid("0123456789abcdef");
        assert_eq!(uid, "anon:0123456789abcdef");
        assert!(is_anonymous(&uid));
        assert!(check_uid(&uid).is_ok(), "moderators can name it");
        assert_eq!(
            uid_of_grant(Some(&uid), "mallory").unwrap_err().code,
            ErrorCode::Unauthorized
        );
        assert!(!is_anonymous(
            &Key::parse("anon:is-not-a-key-char").map_or("x".to_string(), |k| k.uid())
        ));
        assert!(!is_anonymous(
            &Key::parse("anonanonanonanonanon").unwrap().uid()
        ));
    }

    #[test]
    fn an_address_tag_hides_the_address_and_covers_an_ipv6_64() {
        let a = AddressTag::of("203.0.113.9").unwrap();
        assert_eq!(a.to_string().len(), 22);
        assert!(!a.to_string().contains("203"));
        assert_eq!(AddressTag::parse(&a.to_string()), Some(a));
        assert_eq!(AddressTag::of(" 203.0.113.9 "), Some(a));
        assert_ne!(AddressTag::of("203.0.113.10"), Some(a));
        assert_eq!(AddressTag::of("::ffff:203.0.113.9"), Some(a));
        let v6 = AddressTag::of("2001:db8:1:2:aaaa::1").unwrap();
        assert_eq!(AddressTag::of("2001:db8:1:2:ffff:1:2:3"), Some(v6));
        assert_ne!(AddressTag::of("2001:db8:1:3::1"), Some(v6));
        for none in ["unknown", "", "999.1.1.1"] {
            assert_eq!(AddressTag::of(none), None, "{none}");
        }
        for bad in ["", "short", "!!!!!!!!!!!!!!!!!!!!!!", &"A".repeat(24)] {
            assert_eq!(AddressTag::parse(bad), None, "{bad}");
        }
    }
}
