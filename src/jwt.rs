//! Standard JSON Web Tokens (RFC 7519) from an app's own identity provider (Auth0, Clerk, Supabase,
//! Firebase, its own backend): the parsing and every decision about them, apart from the one thing
//! the pure core cannot do — verifying an RS256/ES256 signature, which the Worker does with the
//! runtime's Web Crypto (`crypto.subtle.verify`) against a key from the JWKS ([`crate::jwks`]).
//!
//! ```text
//! base64url(header JSON) . base64url(claims JSON) . base64url(signature)
//! ```
//!
//! Accepted algorithms: `HS256` with `JWT_SECRET`, `RS256` and `ES256` with a key from `JWKS_URL`.
//! Each algorithm is bound to its own kind of key, never chosen by the token: an HS256 token is only
//! ever checked with `JWT_SECRET` (so one "signed" with an RSA public key as HMAC secret — algorithm
//! confusion — fails), and an RS256/ES256 token only with a JWKS key of that type. `alg: none` and
//! every other algorithm are refused.
//!
//! Claims: `sub` (required) gives the author id, `name` the display name (`sub` when absent), `exp`
//! (required: a socket must know when to close), `nbf`, `iss` / `aud` (checked against `JWT_ISSUER` /
//! `JWT_AUDIENCE` when those are set), `rooms` (a list of room names, or `"*"`; absent: any room) and
//! `role` (`"member"`, the default, or `"moderator"`). `exp` and `nbf` allow `JWT_LEEWAY_SECS`
//! (default [`LEEWAY_SECS`]) of clock skew.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{ErrorCode, Problem};
use crate::identity;
use crate::session::{Role, Session};
use crate::validate::{RoomName, UserName};

/// Default clock skew allowed on `exp` and `nbf`, in seconds (`JWT_LEEWAY_SECS`): an identity
/// provider's clock and the edge's may differ a little; a minute is what most JWT libraries allow.
pub const LEEWAY_SECS: u64 = 60;
/// Longest JWT accepted: a real one is well under 2 KB; a huge `token=` must cost nothing to refuse.
pub const MAX_JWT_LEN: usize = 8192;

/// The signature algorithms edge-chat verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// HMAC-SHA256 with `JWT_SECRET`.
    Hs256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, an RSA key from the JWKS.
    Rs256,
    /// ECDSA on P-256 with SHA-256, an EC key from the JWKS.
    Es256,
}

impl Alg {
    pub fn parse(raw: &str) -> Option<Alg> {
        match raw {
            "HS256" => Some(Alg::Hs256),
            "RS256" => Some(Alg::Rs256),
            "ES256" => Some(Alg::Es256),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Hs256 => "HS256",
            Alg::Rs256 => "RS256",
            Alg::Es256 => "ES256",
        }
    }
}

/// What this deployment accepts, from its configuration.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    /// `JWT_SECRET`: enables HS256.
    pub secret: Option<&'a str>,
    /// Whether `JWKS_URL` is set: enables RS256 and ES256.
    pub jwks: bool,
    /// `JWT_ISSUER`: the `iss` every token must carry.
    pub issuer: Option<&'a str>,
    /// `JWT_AUDIENCE`: a value `aud` must be or contain.
    pub audience: Option<&'a str>,
    /// Clock skew allowed on `exp` and `nbf` (`JWT_LEEWAY_SECS`).
    pub leeway: u64,
}

/// The part of a token that needs the JWKS: which key, and what it must have signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyCheck {
    pub alg: Alg,
    pub kid: Option<String>,
    /// `header.claims`, the bytes the signature covers.
    pub signing_input: String,
    pub signature: Vec<u8>,
}

/// A token checked in every way but (for RS256/ES256) its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// HS256, verified here: the session is good.
    Verified(Session),
    /// RS256/ES256: the session is good once `KeyCheck` verifies.
    NeedsKey(Session, KeyCheck),
}

/// A token's header and claims are read as JSON values and picked apart by hand rather than through
/// serde derives: the `Value` parser is in the wasm anyway, and each derive (an untagged `aud` that may
/// be a string or a list above all) would add kilobytes to it.
type Json = serde_json::Map<String, serde_json::Value>;

/// A string claim (`None` when absent; a refusal when present with another type).
fn string<'a>(json: &'a Json, key: &str) -> Result<Option<&'a str>, Problem> {
    match json.get(key) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(refuse(format!("claim {key} is not a string"))),
    }
}

/// A claim that may be one string or a list of strings (`aud`, `rooms`).
enum OneOrMany<'a> {
    One(&'a str),
    Many(Vec<&'a str>),
}

fn one_or_many<'a>(json: &'a Json, key: &str) -> Result<Option<OneOrMany<'a>>, Problem> {
    let bad = || refuse(format!("claim {key} is not a string or a list of strings"));
    match json.get(key) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(OneOrMany::One(s))),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().ok_or_else(bad))
            .collect::<Result<Vec<_>, _>>()
            .map(|list| Some(OneOrMany::Many(list))),
        Some(_) => Err(bad()),
    }
}

/// A NumericDate claim as whole seconds (fractions are allowed by RFC 7519; negative, absurd or
/// non-numeric values are refused).
fn seconds(json: &Json, key: &str) -> Result<Option<u64>, Problem> {
    match json.get(key) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => match v.as_f64() {
            Some(value) if value.is_finite() && (0.0..=1e12).contains(&value) => {
                Ok(Some(value as u64))
            }
            _ => Err(refuse(format!("claim {key} is not a time in seconds"))),
        },
    }
}

fn refuse(why: impl std::fmt::Display) -> Problem {
    Problem::new(ErrorCode::Unauthorized, format!("token {why}"))
}

/// Whether `token` looks like a JWT rather than a `v1.` token (which is told apart by its prefix).
pub fn is_jwt(token: &str) -> bool {
    !token.starts_with("v1.")
}

fn decode_part(part: &str, what: &str) -> Result<Json, Problem> {
    // Through `from_str::<Value>`, the one JSON reader the frame decoder already links in.
    let bytes = URL_SAFE_NO_PAD.decode(part).unwrap_or_default();
    match std::str::from_utf8(&bytes).map(serde_json::from_str::<serde_json::Value>) {
        Ok(Ok(serde_json::Value::Object(json))) => Ok(json),
        _ => Err(refuse(format!("{what} is not base64url of a JSON object"))),
    }
}

/// Checks `token` for joining `room` at `now_secs` under `policy`: its shape, algorithm, claims and —
/// for HS256 — its signature. Claims are checked before any key is looked up, so an expired or
/// wrong-room token never costs a JWKS fetch.
pub fn check(
    token: &str,
    room: &RoomName,
    policy: &Policy<'_>,
    now_secs: u64,
) -> Result<Checked, Problem> {
    check_scoped(token, Some(room), policy, now_secs)
}

/// [`check`] for `room`, or with `None` for who the holder is wherever they go (a person's inbox, a
/// direct message: the `rooms` claim is not asked).
pub fn check_scoped(
    token: &str,
    room: Option<&RoomName>,
    policy: &Policy<'_>,
    now_secs: u64,
) -> Result<Checked, Problem> {
    if token.len() > MAX_JWT_LEN {
        return Err(refuse("is too long"));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(refuse(
            "is malformed (expected a JWT: header.claims.signature, or a v1. token)",
        ));
    };
    let head = decode_part(header, "header")?;
    if head.contains_key("crit") {
        return Err(refuse(
            "has critical header extensions this server does not know",
        ));
    }
    let raw_alg = head.get("alg").and_then(|a| a.as_str()).unwrap_or("none");
    let alg = Alg::parse(raw_alg).ok_or_else(|| {
        refuse(format!(
            "algorithm {:?} is not accepted (HS256, RS256 or ES256)",
            truncate(raw_alg, 16)
        ))
    })?;
    match alg {
        Alg::Hs256 if policy.secret.is_none() => {
            return Err(refuse("uses HS256, but this server has no JWT_SECRET"))
        }
        Alg::Rs256 | Alg::Es256 if !policy.jwks => {
            return Err(refuse(format!(
                "uses {}, but this server has no JWKS_URL",
                alg.as_str()
            )))
        }
        _ => {}
    }
    let signature = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| refuse("signature is not base64url"))?;
    let signing_input = &token[..header.len() + 1 + claims.len()];
    // HS256 is verified before the claims are read, so nothing unsigned is ever interpreted; for the
    // other two the claims are read first (the key may need a fetch) and trusted only after the
    // Worker's verify.
    if let (Alg::Hs256, Some(secret)) = (alg, policy.secret) {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .unwrap_or_else(|_| Hmac::<Sha256>::new(&Default::default()));
        mac.update(signing_input.as_bytes());
        mac.verify_slice(&signature)
            .map_err(|_| refuse("signature is invalid"))?;
    }
    let claims = decode_part(claims, "claims")?;
    let session = session_of(&claims, room, policy, now_secs)?;
    Ok(match alg {
        Alg::Hs256 => Checked::Verified(session),
        Alg::Rs256 | Alg::Es256 => Checked::NeedsKey(
            session,
            KeyCheck {
                alg,
                kid: head.get("kid").and_then(|k| k.as_str()).map(str::to_string),
                signing_input: signing_input.to_string(),
                signature,
            },
        ),
    })
}

/// The claims rules (module docs), giving the holder's session.
fn session_of(
    claims: &Json,
    room: Option<&RoomName>,
    policy: &Policy<'_>,
    now_secs: u64,
) -> Result<Session, Problem> {
    let exp = seconds(claims, "exp")?.ok_or_else(|| refuse("has no exp claim"))?;
    if exp.saturating_add(policy.leeway) <= now_secs {
        return Err(Problem::new(ErrorCode::TokenExpired, "token has expired"));
    }
    let nbf = seconds(claims, "nbf")?;
    if nbf.is_some_and(|nbf| nbf > now_secs.saturating_add(policy.leeway)) {
        return Err(refuse("is not valid yet (nbf)"));
    }
    let iss = string(claims, "iss")?;
    if let Some(issuer) = policy.issuer {
        if iss != Some(issuer) {
            return Err(refuse("is from another issuer (iss)"));
        }
    }
    if let Some(audience) = policy.audience {
        let ok = match one_or_many(claims, "aud")? {
            Some(OneOrMany::One(aud)) => aud == audience,
            Some(OneOrMany::Many(auds)) => auds.contains(&audience),
            None => false,
        };
        if !ok {
            return Err(refuse("is for another audience (aud)"));
        }
    }
    match one_or_many(claims, "rooms")? {
        None => {}
        Some(OneOrMany::One("*")) => {}
        Some(OneOrMany::One(_)) => return Err(refuse("claim rooms must be a list or \"*\"")),
        Some(OneOrMany::Many(rooms)) if room.is_some_and(|r| !rooms.contains(&r.as_str())) => {
            return Err(Problem::new(
                ErrorCode::Forbidden,
                "token does not open this room (rooms)",
            ));
        }
        Some(OneOrMany::Many(_)) => {}
    }
    let sub = string(claims, "sub")?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| refuse("has no sub claim"))?;
    let name = string(claims, "name")?.unwrap_or(sub);
    let name = UserName::parse(name)
        .map_err(|_| refuse("name (or sub) is not a valid user name (1-32 characters)"))?;
    let role = match string(claims, "role")? {
        Some(role) => Role::parse(role)?,
        None => Role::Member,
    };
    Ok(Session {
        name: name.into_string(),
        uid: identity::uid_of_subject(iss.unwrap_or(""), sub),
        role,
        exp,
    })
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::{json, Value};

    pub fn encode(header: &Value, claims: &Value, sign: impl Fn(&str) -> Vec<u8>) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = URL_SAFE_NO_PAD.encode(sign(&input));
        format!("{input}.{sig}")
    }

    pub fn hs256(secret: &str, claims: &Value) -> String {
        encode(&json!({"alg":"HS256","typ":"JWT"}), claims, |input| {
            let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
            mac.update(input.as_bytes());
            mac.finalize().into_bytes().to_vec()
        })
    }

    const NOW: u64 = 1_000_000;

    fn lobby() -> RoomName {
        RoomName::parse("lobby").unwrap()
    }

    fn base() -> Policy<'static> {
        Policy {
            secret: None,
            jwks: false,
            issuer: None,
            audience: None,
            leeway: LEEWAY_SECS,
        }
    }

    fn hs() -> Policy<'static> {
        Policy {
            secret: Some("jwt-secret"),
            ..base()
        }
    }

    fn claims() -> Value {
        json!({"sub":"user-1","name":"Ann","exp":NOW + 600})
    }

    fn session(token: &str, policy: &Policy<'_>) -> Result<Session, Problem> {
        match check(token, &lobby(), policy, NOW)? {
            Checked::Verified(s) => Ok(s),
            Checked::NeedsKey(..) => panic!("HS256 needs no key"),
        }
    }

    fn code(token: &str, policy: &Policy<'_>) -> ErrorCode {
        check(token, &lobby(), policy, NOW).unwrap_err().code
    }

    #[test]
    fn an_hs256_token_gives_its_holder_a_session() {
        let s = session(&hs256("jwt-secret", &claims()), &hs()).unwrap();
        assert_eq!(s.name, "Ann");
        assert_eq!(s.role, Role::Member);
        assert_eq!(s.exp, NOW + 600);
        assert_eq!(s.uid, identity::uid_of_subject("", "user-1"));
        let moderator = json!({"sub":"m","exp":NOW + 1,"role":"moderator","rooms":["x","lobby"]});
        let s = session(&hs256("jwt-secret", &moderator), &hs()).unwrap();
        assert_eq!(s.role, Role::Moderator);
        assert_eq!(s.name, "m", "no name claim: the sub");
    }

    #[test]
    fn forged_unsigned_and_confused_tokens_are_refused() {
        assert_eq!(
            code(&hs256("other", &claims()), &hs()),
            ErrorCode::Unauthorized
        );
        let none = encode(&json!({"alg":"none"}), &claims(), |_| Vec::new());
        assert_eq!(code(&none, &hs()), ErrorCode::Unauthorized);
        let no_alg = encode(&json!({"typ":"JWT"}), &claims(), |_| Vec::new());
        assert_eq!(code(&no_alg, &hs()), ErrorCode::Unauthorized);
        let hs512 = encode(&json!({"alg":"HS512"}), &claims(), |_| vec![0; 64]);
        assert_eq!(code(&hs512, &hs()), ErrorCode::Unauthorized);
        // HS256 "signed" with what a JWKS publishes: never checked with anything but JWT_SECRET.
        let confused = hs256("-----BEGIN PUBLIC KEY-----\nMIIB...", &claims());
        assert_eq!(code(&confused, &hs()), ErrorCode::Unauthorized);
        let jwks_only = Policy {
            jwks: true,
            ..base()
        };
        let e = check(&confused, &lobby(), &jwks_only, NOW).unwrap_err();
        assert!(e.message.contains("no JWT_SECRET"), "{}", e.message);
        // and RS256 without a JWKS is refused before anything else
        let rs = encode(&json!({"alg":"RS256","kid":"k"}), &claims(), |_| {
            vec![1; 256]
        });
        assert_eq!(code(&rs, &hs()), ErrorCode::Unauthorized);
        let crit = encode(
            &json!({"alg":"HS256","crit":["b64"]}),
            &claims(),
            |_| vec![],
        );
        assert_eq!(code(&crit, &hs()), ErrorCode::Unauthorized);
        for junk in [
            "",
            "a.b",
            "a.b.c.d",
            "!!.??.##",
            "e30.e30.",
            &"x".repeat(9000),
        ] {
            assert_eq!(code(junk, &hs()), ErrorCode::Unauthorized, "{junk:.20}");
        }
    }

    #[test]
    fn rs256_and_es256_wait_for_their_key_with_the_claims_already_checked() {
        let policy = Policy {
            jwks: true,
            ..base()
        };
        let token = encode(&json!({"alg":"ES256","kid":"k1"}), &claims(), |_| {
            vec![7; 64]
        });
        let Checked::NeedsKey(s, key) = check(&token, &lobby(), &policy, NOW).unwrap() else {
            panic!("ES256 needs the JWKS");
        };
        assert_eq!(s.name, "Ann");
        assert_eq!(key.alg, Alg::Es256);
        assert_eq!(key.kid.as_deref(), Some("k1"));
        assert_eq!(key.signature, vec![7; 64]);
        assert_eq!(
            key.signing_input,
            token.rsplit_once('.').unwrap().0,
            "the signature covers header.claims"
        );
        let expired = json!({"sub":"u","exp":NOW - 600});
        let token = encode(&json!({"alg":"RS256","kid":"k1"}), &expired, |_| {
            vec![7; 256]
        });
        assert_eq!(
            check(&token, &lobby(), &policy, NOW).unwrap_err().code,
            ErrorCode::TokenExpired,
            "refused before any key is fetched"
        );
    }

    #[test]
    fn exp_and_nbf_hold_with_a_small_leeway() {
        let at = |exp: u64| json!({"sub":"u","exp":exp});
        assert!(session(&hs256("jwt-secret", &at(NOW - LEEWAY_SECS + 1)), &hs()).is_ok());
        assert_eq!(
            code(&hs256("jwt-secret", &at(NOW - LEEWAY_SECS)), &hs()),
            ErrorCode::TokenExpired
        );
        let no_exp = json!({"sub":"u"});
        assert_eq!(
            code(&hs256("jwt-secret", &no_exp), &hs()),
            ErrorCode::Unauthorized
        );
        let later = json!({"sub":"u","exp":NOW + 900,"nbf":NOW + LEEWAY_SECS + 1});
        assert_eq!(
            code(&hs256("jwt-secret", &later), &hs()),
            ErrorCode::Unauthorized
        );
        let soon = json!({"sub":"u","exp":NOW + 900,"nbf":NOW + 30});
        assert!(session(&hs256("jwt-secret", &soon), &hs()).is_ok());
        let negative = json!({"sub":"u","exp":-5});
        assert_eq!(
            code(&hs256("jwt-secret", &negative), &hs()),
            ErrorCode::Unauthorized
        );
        let fraction = json!({"sub":"u","exp":(NOW + 10) as f64 + 0.5});
        assert_eq!(
            session(&hs256("jwt-secret", &fraction), &hs()).unwrap().exp,
            NOW + 10
        );
    }

    #[test]
    fn issuer_audience_rooms_and_role_are_checked() {
        let policy = Policy {
            issuer: Some("https://id.example/"),
            audience: Some("chat"),
            ..hs()
        };
        let ok = json!({"sub":"u","exp":NOW + 9,"iss":"https://id.example/","aud":["api","chat"]});
        assert!(session(&hs256("jwt-secret", &ok), &policy).is_ok());
        let one_aud = json!({"sub":"u","exp":NOW + 9,"iss":"https://id.example/","aud":"chat"});
        assert!(session(&hs256("jwt-secret", &one_aud), &policy).is_ok());
        for bad in [
            json!({"sub":"u","exp":NOW + 9,"iss":"https://evil.example/","aud":"chat"}),
            json!({"sub":"u","exp":NOW + 9,"aud":"chat"}),
            json!({"sub":"u","exp":NOW + 9,"iss":"https://id.example/","aud":"other"}),
            json!({"sub":"u","exp":NOW + 9,"iss":"https://id.example/"}),
        ] {
            assert_eq!(
                code(&hs256("jwt-secret", &bad), &policy),
                ErrorCode::Unauthorized,
                "{bad}"
            );
        }
        let other_rooms = json!({"sub":"u","exp":NOW + 9,"rooms":["a","b"]});
        assert_eq!(
            code(&hs256("jwt-secret", &other_rooms), &hs()),
            ErrorCode::Forbidden
        );
        let any = json!({"sub":"u","exp":NOW + 9,"rooms":"*"});
        assert!(session(&hs256("jwt-secret", &any), &hs()).is_ok());
        let odd = json!({"sub":"u","exp":NOW + 9,"rooms":"lobby"});
        assert_eq!(
            code(&hs256("jwt-secret", &odd), &hs()),
            ErrorCode::Unauthorized
        );
        let admin = json!({"sub":"u","exp":NOW + 9,"role":"admin"});
        assert_eq!(
            code(&hs256("jwt-secret", &admin), &hs()),
            ErrorCode::Unauthorized
        );
        for bad in [
            json!({"exp":NOW + 9}),
            json!({"sub":"","exp":NOW + 9}),
            json!({"sub":"u","name":"","exp":NOW + 9}),
            json!({"sub":"x".repeat(40),"exp":NOW + 9}),
        ] {
            assert_eq!(
                code(&hs256("jwt-secret", &bad), &hs()),
                ErrorCode::Unauthorized,
                "{bad}"
            );
        }
    }

    #[test]
    fn v1_tokens_are_told_apart_by_their_prefix() {
        assert!(!is_jwt("v1.abc.def"));
        assert!(is_jwt("eyJhbGciOiJIUzI1NiJ9.e30.sig"));
    }
}
