//! The deployment's Web Push settings: the VAPID key pair that signs every push (RFC 8292), the
//! contact the push services see (`VAPID_SUBJECT`), the hosts that may receive pushes over plain
//! `http:` (`PUSH_ALLOW_INSECURE`, for local tests only) and whether notifications of private rooms
//! carry a text preview (`PUSH_PREVIEW`). Without the three `VAPID_*` values push is off.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::error::{ErrorCode, Problem};

/// An uncompressed P-256 point: `0x04 || x (32) || y (32)`.
pub const PUBLIC_KEY_LEN: usize = 65;
/// A P-256 private scalar.
pub const PRIVATE_KEY_LEN: usize = 32;

/// Web Push is on: the application server's identity and the rules for endpoints and previews.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSettings {
    /// `VAPID_PUBLIC_KEY`: base64url of the uncompressed point, as the browser's
    /// `pushManager.subscribe({applicationServerKey})` takes it (served at `GET /api/push/key`).
    pub public_key: String,
    /// The decoded `VAPID_PUBLIC_KEY`.
    pub public_point: [u8; PUBLIC_KEY_LEN],
    /// `VAPID_PRIVATE_KEY` (a secret): the 32-byte scalar, base64url, as web-push tools print it.
    pub private_key: [u8; PRIVATE_KEY_LEN],
    /// `VAPID_SUBJECT`: `mailto:` or `https:` — whom a push service contacts about our traffic.
    pub subject: String,
    /// `PUSH_ALLOW_INSECURE`: hosts (`host` or `host:port`) whose endpoints may be `http:`.
    pub allow_insecure: Vec<String>,
    /// `PUSH_PREVIEW` (default on): `0` leaves the text out of notifications of private rooms.
    pub preview_private: bool,
}

/// Reads the push knobs through `lookup`: `Ok(None)` when none of the `VAPID_*` values is set,
/// an error when only some are or one is malformed (a half-configured push fails at deploy, not at
/// the first notification).
pub fn parse(lookup: &impl Fn(&str) -> Option<String>) -> Result<Option<PushSettings>, Problem> {
    let get = |k: &str| {
        lookup(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let (public, private, subject) = (
        get("VAPID_PUBLIC_KEY"),
        get("VAPID_PRIVATE_KEY"),
        get("VAPID_SUBJECT"),
    );
    let (public_key, private, subject) = match (public, private, subject) {
        (None, None, None) => return Ok(None),
        (Some(a), Some(b), Some(c)) => (a, b, c),
        _ => {
            return Err(bad(
                "VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT go together: set all three or none",
            ))
        }
    };
    let public_point: [u8; PUBLIC_KEY_LEN] = decode(&public_key)
        .and_then(|b| b.try_into().ok())
        .filter(|p: &[u8; PUBLIC_KEY_LEN]| p[0] == 0x04)
        .ok_or_else(|| {
            bad("VAPID_PUBLIC_KEY is not base64url of an uncompressed P-256 point (65 bytes, 0x04…)")
        })?;
    let private_key: [u8; PRIVATE_KEY_LEN] = decode(&private)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| bad("VAPID_PRIVATE_KEY is not base64url of a 32-byte P-256 private key"))?;
    if !(subject.starts_with("mailto:") || subject.starts_with("https://")) {
        return Err(bad(format!(
            "VAPID_SUBJECT={subject:?} must be a mailto: or https: URL (RFC 8292 §2.1)"
        )));
    }
    let allow_insecure = get("PUSH_ALLOW_INSECURE")
        .map(|v| {
            v.split(',')
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let preview_private = match get("PUSH_PREVIEW").as_deref() {
        None | Some("1") | Some("true") => true,
        Some("0") | Some("false") => false,
        Some(other) => return Err(bad(format!("PUSH_PREVIEW={other:?} must be 0 or 1"))),
    };
    Ok(Some(PushSettings {
        public_key,
        public_point,
        private_key,
        subject,
        allow_insecure,
        preview_private,
    }))
}

/// base64url with or without padding (keys are printed both ways by common tools).
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()
}

fn bad(why: impl Into<String>) -> Problem {
    Problem::new(ErrorCode::BadConfig, why)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A fixed VAPID key pair for tests (generated once with Node's `crypto.generateKeyPairSync`).
    pub const PUBLIC: &str =
        "BNZuwkyFEbKOgrOXimuVLY4UTt8GGijuT5bV-7vSWx1hLUJ3x5lhWCGeLttYp8P7z6CTXuanYzcKSbPeR8a8LF0";
    pub const PRIVATE: &str = "Shy4R92dgObp4uHqEueZX25sx4pNM21WdB9kHT0wDzU";

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn push_is_off_without_any_vapid_value() {
        assert_eq!(parse(&lookup(&[])).unwrap(), None);
    }

    #[test]
    fn half_a_configuration_is_refused() {
        let err = parse(&lookup(&[("VAPID_PUBLIC_KEY", PUBLIC)])).unwrap_err();
        assert!(err.message.contains("set all three"), "{err:?}");
    }

    #[test]
    fn a_complete_configuration_is_decoded() {
        let s = parse(&lookup(&[
            ("VAPID_PUBLIC_KEY", PUBLIC),
            ("VAPID_PRIVATE_KEY", PRIVATE),
            ("VAPID_SUBJECT", "mailto:ops@example.com"),
            ("PUSH_ALLOW_INSECURE", "127.0.0.1:9000, LocalHost"),
            ("PUSH_PREVIEW", "0"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(s.public_point[0], 4);
        assert_eq!(s.allow_insecure, vec!["127.0.0.1:9000", "localhost"]);
        assert!(!s.preview_private);
    }

    #[test]
    fn bad_keys_and_subjects_are_named() {
        for (pairs, says) in [
            (
                [
                    ("VAPID_PUBLIC_KEY", "AAAA"),
                    ("VAPID_PRIVATE_KEY", PRIVATE),
                    ("VAPID_SUBJECT", "mailto:a@b"),
                ],
                "VAPID_PUBLIC_KEY",
            ),
            (
                [
                    ("VAPID_PUBLIC_KEY", PUBLIC),
                    ("VAPID_PRIVATE_KEY", "AAAA"),
                    ("VAPID_SUBJECT", "mailto:a@b"),
                ],
                "VAPID_PRIVATE_KEY",
            ),
            (
                [
                    ("VAPID_PUBLIC_KEY", PUBLIC),
                    ("VAPID_PRIVATE_KEY", PRIVATE),
                    ("VAPID_SUBJECT", "ops@example.com"),
                ],
                "VAPID_SUBJECT",
            ),
        ] {
            let err = parse(&lookup(&pairs)).unwrap_err();
            assert!(err.message.contains(says), "{says}: {err:?}");
        }
    }
}
