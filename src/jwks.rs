//! The JSON Web Key Set (RFC 7517) an identity provider publishes at `JWKS_URL`: which of its keys
//! edge-chat can use, and [`Cache`], the policy for when to fetch it again. The Worker keeps one
//! `Cache` per isolate and does the fetching and the Web Crypto calls; every decision is here.
//!
//! Refetch policy: a key set is used for [`TTL_MS`]; a token whose `kid` is not in it (the provider
//! rotated its keys) triggers a refetch at once — but at most one fetch per `cooldown`, so a flood of
//! tokens with made-up `kid`s cannot turn the Worker against the provider.

use crate::jwt::Alg;

/// How long a fetched key set is used before it is fetched again (providers rotate keys rarely and
/// publish the new one well before signing with it).
pub const TTL_MS: u64 = 10 * 60 * 1000;
/// Default least time between two fetches (`JWKS_REFETCH_SECS`).
pub const DEFAULT_COOLDOWN_SECS: u64 = 30;
/// Largest key set read (a real one is a few KB).
pub const MAX_JWKS_BYTES: usize = 64 * 1024;

/// One usable public key: its id, the algorithm it serves, and the JWK to hand to
/// `crypto.subtle.importKey('jwk', …)` — only the public members, so nothing else the provider put in
/// it (`key_ops`, `alg` spellings, private parts by mistake) can make the import fail or matter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub kid: Option<String>,
    pub alg: Alg,
    pub jwk: String,
}

/// The keys of a set this server can verify with: RSA keys for RS256, P-256 keys for ES256, signing
/// keys only. Keys of other kinds are skipped, not an error: a provider may publish them for others.
pub fn parse(json: &str) -> Result<Vec<PublicKey>, String> {
    if json.len() > MAX_JWKS_BYTES {
        return Err(format!("JWKS is over {MAX_JWKS_BYTES} bytes"));
    }
    // Read as a `Value` and picked apart by hand: the parser is in the wasm anyway, a derive is not.
    let set: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("JWKS is not JSON: {e}"))?;
    let keys = set
        .get("keys")
        .and_then(|k| k.as_array())
        .ok_or("JWKS is not {\"keys\":[…]}")?;
    Ok(keys.iter().filter_map(usable).collect())
}

fn usable(key: &serde_json::Value) -> Option<PublicKey> {
    let field = |name: &str| key.get(name).and_then(|v| v.as_str());
    if field("use").is_some_and(|u| u != "sig") {
        return None;
    }
    // The key's numbers are base64url, which needs no escaping in JSON: anything else is no key.
    let number = |name: &str| {
        field(name).filter(|v| {
            !v.is_empty()
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
    };
    let (alg, jwk) = match field("kty")? {
        "RSA" => (
            Alg::Rs256,
            format!(
                r#"{{"kty":"RSA","n":"{}","e":"{}"}}"#,
                number("n")?,
                number("e")?
            ),
        ),
        "EC" if field("crv") == Some("P-256") => (
            Alg::Es256,
            format!(
                r#"{{"kty":"EC","crv":"P-256","x":"{}","y":"{}"}}"#,
                number("x")?,
                number("y")?
            ),
        ),
        _ => return None,
    };
    // A key that names its algorithm serves that one only.
    if field("alg").is_some_and(|a| a != alg.as_str()) {
        return None;
    }
    Some(PublicKey {
        kid: field("kid").map(str::to_string),
        alg,
        jwk,
    })
}

/// The key for a token's `alg` and `kid`: the key with that id and algorithm; a token without a `kid`
/// may only use a set holding exactly one key of its algorithm.
pub fn find<'a>(keys: &'a [PublicKey], alg: Alg, kid: Option<&str>) -> Option<&'a PublicKey> {
    let mut of_alg = keys.iter().filter(|k| k.alg == alg);
    match kid {
        Some(kid) => of_alg.find(|k| k.kid.as_deref() == Some(kid)),
        None => match (of_alg.next(), of_alg.next()) {
            (Some(only), None) => Some(only),
            _ => None,
        },
    }
}

/// What to do for a token's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Verify with this key.
    Key(PublicKey),
    /// Fetch the set (none yet, too old, or the key is unknown and a fetch is allowed), then look again.
    Fetch,
    /// No such key, and fetching again now is not allowed: refuse the token.
    Unknown,
}

/// One isolate's key set and when it was fetched (all times in ms, passed in).
#[derive(Debug, Clone)]
pub struct Cache {
    keys: Vec<PublicKey>,
    fetched_at: Option<u64>,
    last_attempt: Option<u64>,
    cooldown_ms: u64,
}

impl Cache {
    pub fn new(cooldown_secs: u64) -> Self {
        Cache {
            keys: Vec::new(),
            fetched_at: None,
            last_attempt: None,
            cooldown_ms: cooldown_secs.saturating_mul(1000),
        }
    }

    fn may_fetch(&self, now_ms: u64) -> bool {
        self.last_attempt
            .is_none_or(|at| now_ms.saturating_sub(at) >= self.cooldown_ms)
    }

    pub fn lookup(&self, alg: Alg, kid: Option<&str>, now_ms: u64) -> Lookup {
        let fresh = self
            .fetched_at
            .is_some_and(|at| now_ms.saturating_sub(at) < TTL_MS);
        if !fresh && self.may_fetch(now_ms) {
            return Lookup::Fetch;
        }
        match find(&self.keys, alg, kid) {
            Some(key) => Lookup::Key(key.clone()),
            None if self.may_fetch(now_ms) => Lookup::Fetch,
            None => Lookup::Unknown,
        }
    }

    /// A fetch is starting: it counts against the cooldown whether it succeeds or not.
    pub fn fetching(&mut self, now_ms: u64) {
        self.last_attempt = Some(now_ms);
    }

    /// A fetch succeeded with `keys`.
    pub fn fetched(&mut self, keys: Vec<PublicKey>, now_ms: u64) {
        self.keys = keys;
        self.fetched_at = Some(now_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SET: &str = r#"{"keys":[
        {"kty":"RSA","kid":"r1","use":"sig","alg":"RS256","n":"AQAB-n","e":"AQAB","key_ops":["verify"]},
        {"kty":"EC","kid":"e1","crv":"P-256","x":"xx","y":"yy"},
        {"kty":"EC","kid":"e384","crv":"P-384","x":"xx","y":"yy"},
        {"kty":"RSA","kid":"enc","use":"enc","n":"n","e":"e"},
        {"kty":"RSA","kid":"ps","alg":"PS256","n":"n","e":"e"},
        {"kty":"oct","kid":"sym","k":"c2VjcmV0"},
        {"kty":"RSA","kid":"broken"},
        "junk"
    ]}"#;

    #[test]
    fn only_public_signing_keys_of_the_two_algorithms_are_kept() {
        let keys = parse(SET).unwrap();
        let ids: Vec<_> = keys.iter().map(|k| k.kid.as_deref().unwrap()).collect();
        assert_eq!(ids, ["r1", "e1"]);
        assert_eq!(keys[0].alg, Alg::Rs256);
        assert_eq!(keys[0].jwk, r#"{"kty":"RSA","n":"AQAB-n","e":"AQAB"}"#);
        let quoted = r#"{"keys":[{"kty":"RSA","n":"a\"b","e":"AQAB"}]}"#;
        assert!(
            parse(quoted).unwrap().is_empty(),
            "no JSON injection into the JWK"
        );
        assert_eq!(keys[1].alg, Alg::Es256);
        assert!(parse("[]").is_err());
        assert!(parse(&"x".repeat(MAX_JWKS_BYTES + 1)).is_err());
    }

    #[test]
    fn a_key_is_found_by_kid_and_algorithm_never_across_algorithms() {
        let keys = parse(SET).unwrap();
        assert_eq!(
            find(&keys, Alg::Rs256, Some("r1")).unwrap().kid.as_deref(),
            Some("r1")
        );
        assert!(find(&keys, Alg::Es256, Some("r1")).is_none());
        assert!(find(&keys, Alg::Rs256, Some("nope")).is_none());
        // without a kid: only when the set holds exactly one key of that algorithm
        assert_eq!(
            find(&keys, Alg::Es256, None).unwrap().kid.as_deref(),
            Some("e1")
        );
        let two = parse(r#"{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b"},{"kty":"EC","crv":"P-256","x":"c","y":"d"}]}"#).unwrap();
        assert!(find(&two, Alg::Es256, None).is_none());
    }

    #[test]
    fn the_set_is_fetched_when_missing_stale_or_missing_a_kid_at_most_once_per_cooldown() {
        let mut cache = Cache::new(30);
        assert_eq!(cache.lookup(Alg::Rs256, Some("r1"), 0), Lookup::Fetch);
        cache.fetching(0);
        cache.fetched(parse(SET).unwrap(), 0);
        assert!(matches!(
            cache.lookup(Alg::Rs256, Some("r1"), 1000),
            Lookup::Key(_)
        ));
        // a rotated key: unknown kid, but the last fetch was just now
        assert_eq!(cache.lookup(Alg::Rs256, Some("r2"), 1000), Lookup::Unknown);
        assert_eq!(cache.lookup(Alg::Rs256, Some("r2"), 30_000), Lookup::Fetch);
        cache.fetching(30_000);
        assert_eq!(
            cache.lookup(Alg::Rs256, Some("r2"), 31_000),
            Lookup::Unknown,
            "a failed or fruitless fetch counts against the cooldown too"
        );
        assert!(
            matches!(cache.lookup(Alg::Rs256, Some("r1"), 31_000), Lookup::Key(_)),
            "known keys keep working meanwhile"
        );
        // past the TTL the set is fetched again, but a stale key still serves within the cooldown
        assert_eq!(
            cache.lookup(Alg::Rs256, Some("r1"), TTL_MS + 1),
            Lookup::Fetch
        );
        cache.fetching(TTL_MS + 1);
        assert!(matches!(
            cache.lookup(Alg::Rs256, Some("r1"), TTL_MS + 2),
            Lookup::Key(_)
        ));
    }
}
