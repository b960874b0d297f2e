//! RFC 8292 (VAPID): how a push service knows a push came from this deployment. Each request carries
//! `Authorization: vapid t=<JWT>, k=<public key>`, the JWT signed ES256 with `VAPID_PRIVATE_KEY`, its
//! `aud` the push service's origin, its `exp` at most 24 hours ahead, its `sub` a contact. The signing
//! itself is Web Crypto's ECDSA P-256 (`worker/webpush.rs`), whose output is already the JWS form
//! (`r ‖ s`, 64 bytes); this module makes the text around it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::settings::PushSettings;

/// How long a token is valid: 12 hours, half the most RFC 8292 §2 allows, so a push service whose
/// clock runs ahead still accepts it.
pub const TOKEN_SECS: u64 = 12 * 3600;

/// base64url of the JOSE header `{"typ":"JWT","alg":"ES256"}`, the same for every token.
const HEADER: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9";

/// `base64url(header).base64url(claims)`: the bytes the ECDSA signature covers. The claims are
/// written by hand (the audience and subject escaped as JSON strings).
pub fn signing_input(settings: &PushSettings, audience: &str, now_secs: u64) -> String {
    let claims = format!(
        r#"{{"aud":{},"exp":{},"sub":{}}}"#,
        serde_json::Value::from(audience),
        now_secs + TOKEN_SECS,
        serde_json::Value::from(settings.subject.as_str()),
    );
    format!("{HEADER}.{}", URL_SAFE_NO_PAD.encode(claims))
}

/// The `Authorization` header for a signed token: `vapid t=<input>.<signature>, k=<public key>`.
pub fn authorization(settings: &PushSettings, signing_input: &str, signature: &[u8]) -> String {
    format!(
        "vapid t={signing_input}.{}, k={}",
        URL_SAFE_NO_PAD.encode(signature),
        URL_SAFE_NO_PAD.encode(settings.public_point)
    )
}

/// The private key as a JWK, the form Web Crypto's `importKey` takes for an ECDSA signing key (the
/// raw scalar alone is not importable; the public point supplies `x` and `y`).
pub fn private_jwk(settings: &PushSettings) -> String {
    let p = &settings.public_point;
    format!(
        r#"{{"kty":"EC","crv":"P-256","d":"{}","x":"{}","y":"{}","ext":true}}"#,
        URL_SAFE_NO_PAD.encode(settings.private_key),
        URL_SAFE_NO_PAD.encode(&p[1..33]),
        URL_SAFE_NO_PAD.encode(&p[33..65]),
    )
}

#[cfg(test)]
mod tests {
    use super::super::settings::tests::{PRIVATE, PUBLIC};
    use super::*;

    fn settings() -> PushSettings {
        super::super::settings::tests::of(&[
            ("VAPID_PUBLIC_KEY", PUBLIC),
            ("VAPID_PRIVATE_KEY", PRIVATE),
            ("VAPID_SUBJECT", "mailto:ops@example.com"),
        ])
        .unwrap()
        .unwrap()
    }

    #[test]
    fn the_token_names_the_push_service_and_expires_within_a_day() {
        let input = signing_input(&settings(), "https://push.example.net", 1_000);
        let (header, claims) = input.split_once('.').unwrap();
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
        assert_eq!(header, serde_json::json!({"typ": "JWT", "alg": "ES256"}));
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
        assert_eq!(claims["aud"], "https://push.example.net");
        assert_eq!(claims["sub"], "mailto:ops@example.com");
        let exp = claims["exp"].as_u64().unwrap();
        assert!(exp > 1_000 && exp <= 1_000 + 24 * 3600);
    }

    #[test]
    fn the_header_carries_token_and_key() {
        let s = settings();
        let h = authorization(&s, "a.b", &[0xff; 64]);
        assert!(h.starts_with("vapid t=a.b."), "{h}");
        assert!(h.ends_with(&format!(", k={PUBLIC}")), "{h}");
    }

    #[test]
    fn the_jwk_splits_the_public_point() {
        let jwk: serde_json::Value = serde_json::from_str(&private_jwk(&settings())).unwrap();
        assert_eq!(jwk["d"], PRIVATE);
        let x = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap();
        let y = URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap();
        let point = URL_SAFE_NO_PAD.decode(PUBLIC).unwrap();
        assert_eq!([&[4u8][..], &x, &y].concat(), point);
    }
}
