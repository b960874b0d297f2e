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

/// The push knobs as `config.rs` reads them (`[vars]` and secrets; a blank value is `None`), before
/// they are checked here.
pub struct Knobs {
    /// `VAPID_PUBLIC_KEY`, `VAPID_PRIVATE_KEY`, `VAPID_SUBJECT`.
    pub public_key: Option<String>,
    pub private_key: Option<String>,
    pub subject: Option<String>,
    /// `PUSH_ALLOW_INSECURE`, split at commas.
    pub allow_insecure: Vec<String>,
    /// `PUSH_PREVIEW`.
    pub preview_private: bool,
}

/// Checks the knobs: `Ok(None)` when none of the `VAPID_*` values is set, an error when only some
/// are or one is malformed (a half-configured push fails at deploy, not at the first notification).
pub fn parse(knobs: Knobs) -> Result<Option<PushSettings>, Problem> {
    let trim = |v: Option<String>| v.map(|v| v.trim().to_string());
    let (public_key, private, subject) = match (
        trim(knobs.public_key),
        trim(knobs.private_key),
        trim(knobs.subject),
    ) {
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
        return Err(bad(
            "VAPID_SUBJECT must be a mailto: or https: URL (RFC 8292 §2.1)",
        ));
    }
    Ok(Some(PushSettings {
        public_key,
        public_point,
        private_key,
        subject,
        allow_insecure: knobs
            .allow_insecure
            .into_iter()
            .map(|h| h.to_ascii_lowercase())
            .collect(),
        preview_private: knobs.preview_private,
    }))
}

/// base64url with or without padding (keys are printed both ways by common tools).
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()
}

fn bad(why: &str) -> Problem {
    Problem::new(ErrorCode::BadConfig, why)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A fixed VAPID key pair for tests (generated once with Node's `crypto.generateKeyPairSync`).
    pub const PUBLIC: &str =
        "BNZuwkyFEbKOgrOXimuVLY4UTt8GGijuT5bV-7vSWx1hLUJ3x5lhWCGeLttYp8P7z6CTXuanYzcKSbPeR8a8LF0";
    pub const PRIVATE: &str = "Shy4R92dgObp4uHqEueZX25sx4pNM21WdB9kHT0wDzU";

    /// The settings of these `[vars]`, read as `config.rs` reads them.
    pub fn of(pairs: &[(&str, &str)]) -> Result<Option<PushSettings>, Problem> {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(n, v)| *n == k && !v.is_empty())
                .map(|(_, v)| v.to_string())
        };
        parse(Knobs {
            public_key: get("VAPID_PUBLIC_KEY"),
            private_key: get("VAPID_PRIVATE_KEY"),
            subject: get("VAPID_SUBJECT"),
            allow_insecure: get("PUSH_ALLOW_INSECURE").map_or(Vec::new(), |v| {
                v.split(',').map(|h| h.trim().to_string()).collect()
            }),
            preview_private: get("PUSH_PREVIEW").as_deref() != Some("0"),
        })
    }

    #[test]
    fn push_is_off_without_any_vapid_value() {
        assert_eq!(of(&[]).unwrap(), None);
    }

    #[test]
    fn half_a_configuration_is_refused() {
        let err = of(&[("VAPID_PUBLIC_KEY", PUBLIC)]).unwrap_err();
        assert!(err.message.contains("set all three"), "{err:?}");
    }

    #[test]
    fn a_complete_configuration_is_decoded() {
        let s = of(&[
            ("VAPID_PUBLIC_KEY", PUBLIC),
            ("VAPID_PRIVATE_KEY", PRIVATE),
            ("VAPID_SUBJECT", "mailto:ops@example.com"),
            ("PUSH_ALLOW_INSECURE", "127.0.0.1:9000, LocalHost"),
            ("PUSH_PREVIEW", "0"),
        ])
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
            let err = of(&pairs).unwrap_err();
            assert!(err.message.contains(says), "{says}: {err:?}");
        }
    }
}
