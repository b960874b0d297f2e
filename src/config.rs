//! Every environment knob, parsed once, with its default and a clear error for a bad value.
//!
//! The Worker and the Durable Object both read their configuration through [`Config::parse`], given a
//! lookup function over `wrangler.toml` `[vars]`, `.dev.vars` and secrets — so this module never sees
//! `worker::Env` and is tested on the host.

use crate::error::{ErrorCode, Problem};
use crate::files::{self, FilePolicy};
use crate::rate::Rate;
use crate::retention::{self, Retention};
use crate::screening::{self, Fail};
use crate::{jwks, jwt};

/// Default per-room connection cap (`MAX_CONNECTIONS`).
pub const DEFAULT_MAX_CONNECTIONS: u32 = 10_000;
/// Default number of newest messages a room keeps (`HISTORY_LIMIT`).
pub const DEFAULT_HISTORY_LIMIT: u64 = 10_000;
/// Default number of versions kept per message, the current text included (`VERSIONS_LIMIT`): an edit
/// past it drops the oldest kept version, so a message's history stays bounded however often it is
/// edited (1,500 edits once stored 13 MB for one message).
pub const DEFAULT_VERSIONS_LIMIT: u32 = 100;
/// Above this many members a room tells presence by counts (see [`crate::presence`]).
pub const DEFAULT_PRESENCE_THRESHOLD: u32 = 100;
/// A socket that answered pings and then fell silent this long is dropped (see [`crate::presence`]).
/// Two minutes: the page pings every 25 s, but a browser throttles the timers of a background tab to
/// about one a minute, and such a tab is still there.
pub const DEFAULT_SILENT_AFTER_SECS: u32 = 120;
/// How long a ban in an open room also bars the banned connection's address (`ADDRESS_BAN_HOURS`): a
/// day, long enough that coming back with a new key is not worth it, short enough that the next person
/// behind the same shared address (a café, a campus NAT) is not kept out for good.
pub const DEFAULT_ADDRESS_BAN_HOURS: u64 = 24;
/// The longest address ban: 30 days (addresses change hands; a lasting ban is the uid's).
pub const MAX_ADDRESS_BAN_HOURS: u64 = 30 * 24;

/// Default most client sockets one object holds (`SHARD_SOCKETS`): a quarter of the runtime's 32,768
/// hibernatable sockets per object, so that one object's share of a room's fan-out stays well inside
/// its single thread (docs/SCALING.md).
pub const DEFAULT_SHARD_SOCKETS: u32 = 8_000;
/// Default most members a room tells of every message in their inboxes (`INBOX_PUSH_MAX`); above it,
/// only the members a message concerns (see [`crate::inbox::notify`]).
pub const DEFAULT_INBOX_PUSH_MAX: u32 = 500;

/// The most `SHARD_SOCKETS` may be: below the runtime's 32,768 sockets per object.
pub const MAX_SHARD_SOCKETS: u32 = 32_000;

/// The limits a room enforces that a deployment may change. (The fixed ones — text length, frame
/// size, id length — are constants in [`crate::validate`].)
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Sockets per room (`MAX_CONNECTIONS`).
    pub max_connections: u32,
    /// Newest messages kept per room (`HISTORY_LIMIT`).
    pub history_limit: u64,
    /// Versions kept per message, the current text included (`VERSIONS_LIMIT`, at least 1).
    pub versions_limit: u32,
    /// Each connection's token bucket (`RATE_BURST`, `RATE_PER_SEC`).
    pub rate: Rate,
    /// Each connection's bucket for `search` frames, on top of `rate` (`SEARCH_BURST`,
    /// `SEARCH_PER_SEC`).
    pub search: Rate,
    /// Members above which presence goes by counts and pages (`PRESENCE_THRESHOLD`).
    pub presence_threshold: u32,
    /// Seconds after its last ping or frame that a pinging socket counts as gone (`SILENT_AFTER`).
    pub silent_after_secs: u32,
    /// The most client sockets one object of the room holds, the room's own included
    /// (`SHARD_SOCKETS`); beyond it new sockets go to shards (see [`crate::shard`]).
    pub shard_sockets: u32,
    /// Seconds a ban also bars the addresses the banned author connected from, in an open room
    /// (`ADDRESS_BAN_HOURS`; 0: bans go by uid only).
    pub address_ban_secs: u64,
    /// Members up to which a room tells every member's inbox of every change (`INBOX_PUSH_MAX`);
    /// above it, only the members a change concerns.
    pub inbox_push_max: u32,
    /// What an upload may be: its largest size and the types taken (`FILE_MAX_BYTES`, `FILE_TYPES`).
    pub files: FilePolicy,
    /// Whether the first link of a new message gets a preview (`PREVIEWS`, default on; `0`: off).
    pub previews: bool,
    /// How long messages are kept (`RETENTION_DAYS`, `RETENTION_MAX_DAYS`, `RETENTION_DAY_SECS`).
    pub retention: Retention,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            history_limit: DEFAULT_HISTORY_LIMIT,
            versions_limit: DEFAULT_VERSIONS_LIMIT,
            rate: Rate::default(),
            search: Rate {
                burst: crate::rate::DEFAULT_SEARCH_BURST,
                per_sec: crate::rate::DEFAULT_SEARCH_PER_SEC,
            },
            presence_threshold: DEFAULT_PRESENCE_THRESHOLD,
            silent_after_secs: DEFAULT_SILENT_AFTER_SECS,
            shard_sockets: DEFAULT_SHARD_SOCKETS,
            address_ban_secs: DEFAULT_ADDRESS_BAN_HOURS * 3600,
            inbox_push_max: DEFAULT_INBOX_PUSH_MAX,
            files: FilePolicy::default(),
            previews: true,
            retention: Retention::default(),
        }
    }
}

/// Standard JWTs from an app's identity provider (see [`crate::jwt`]); all unset: none accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct JwtConfig {
    /// HMAC key for HS256 JWTs (`JWT_SECRET`).
    pub secret: Option<String>,
    /// Where the provider publishes its public keys, for RS256 and ES256 (`JWKS_URL`).
    pub jwks_url: Option<String>,
    /// The `iss` every JWT must carry (`JWT_ISSUER`).
    pub issuer: Option<String>,
    /// A value every JWT's `aud` must be or contain (`JWT_AUDIENCE`).
    pub audience: Option<String>,
    /// Least seconds between two fetches of the JWKS (`JWKS_REFETCH_SECS`, default 30).
    pub refetch_secs: u64,
    /// Clock skew allowed on `exp` and `nbf` (`JWT_LEEWAY_SECS`, default 60); a live socket is closed
    /// once its token's `exp` plus this has passed.
    pub leeway_secs: u64,
}

impl Default for JwtConfig {
    fn default() -> Self {
        JwtConfig {
            secret: None,
            jwks_url: None,
            issuer: None,
            audience: None,
            refetch_secs: jwks::DEFAULT_COOLDOWN_SECS,
            leeway_secs: jwt::LEEWAY_SECS,
        }
    }
}

/// The whole configuration of a deployment. `Default` is every knob unset.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    pub limits: Limits,
    /// Extra origins (besides the Worker's own) whose pages may open sockets: `ALLOWED_ORIGINS`.
    pub allowed_origins: Vec<String>,
    /// Bearer token for the write endpoints of the HTTP API (`API_TOKEN`); `None` switches them off.
    pub api_token: Option<String>,
    /// The app's login page (`LOGIN_URL`), where the stock page sends a person a signed-access room
    /// refuses: it hands a token back in the return URL's fragment. Served at `GET /api/config`.
    pub login_url: Option<String>,
    /// HMAC key for signed access tokens (`AUTH_SECRET`); when set, sockets need a `token=`.
    pub auth_secret: Option<String>,
    /// Standard JWTs (`JWT_SECRET`, `JWKS_URL`, `JWT_ISSUER`, `JWT_AUDIENCE`, `JWKS_REFETCH_SECS`).
    pub jwt: JwtConfig,
    /// Client addresses the per-client limits on new sockets and API posts never count
    /// (`RATE_LIMIT_EXEMPT`, comma-separated): a load test or a trusted backend on one address.
    pub rate_limit_exempt: Vec<String>,
    /// Where rooms POST their events (`WEBHOOK_URL`, signed with `WEBHOOK_SECRET`); `None`: no webhooks.
    pub webhook: Option<Webhook>,
    /// Standard Web Push (`VAPID_*`, `PUSH_*`); `None`: push is off.
    pub push: Option<crate::push::settings::PushSettings>,
    /// Hosts (`host` or `host:port`) a link preview may fetch although they are not public
    /// (`PREVIEW_ALLOW_HOSTS`, comma-separated; empty by default): a local test server.
    pub preview_allow_hosts: Vec<String>,
    /// Where rooms ask about each message and edit before storing it (`MODERATION_URL`, signed with
    /// `MODERATION_SECRET`); `None`: no hook.
    pub moderation: Option<ModerationHook>,
}

/// The app's moderation endpoint (see [`crate::screening`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModerationHook {
    pub url: String,
    pub secret: String,
    /// `MODERATION_TIMEOUT_MS`: how long a frame waits for its verdict, at most.
    pub timeout_ms: u64,
    /// `MODERATION_FAIL`: what a timeout or a bad answer means.
    pub fail: Fail,
}

/// The app's webhook receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub url: String,
    pub secret: String,
}

impl Config {
    /// Reads every knob through `lookup` (which returns `None` for an unset variable).
    pub fn parse(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, Problem> {
        let defaults = Limits::default();
        let limits = Limits {
            max_connections: number(
                &lookup,
                "MAX_CONNECTIONS",
                defaults.max_connections.into(),
                1.0,
                true,
            )? as u32,
            history_limit: number(
                &lookup,
                "HISTORY_LIMIT",
                defaults.history_limit as f64,
                1.0,
                true,
            )? as u64,
            versions_limit: number(
                &lookup,
                "VERSIONS_LIMIT",
                defaults.versions_limit.into(),
                1.0,
                true,
            )?
            .min(u32::MAX.into()) as u32,
            rate: Rate {
                burst: number(&lookup, "RATE_BURST", defaults.rate.burst, 1.0, false)?,
                per_sec: number(&lookup, "RATE_PER_SEC", defaults.rate.per_sec, 0.001, false)?,
            },
            search: Rate {
                burst: number(&lookup, "SEARCH_BURST", defaults.search.burst, 1.0, false)?,
                per_sec: number(
                    &lookup,
                    "SEARCH_PER_SEC",
                    defaults.search.per_sec,
                    0.001,
                    false,
                )?,
            },
            presence_threshold: number(
                &lookup,
                "PRESENCE_THRESHOLD",
                defaults.presence_threshold.into(),
                1.0,
                true,
            )? as u32,
            silent_after_secs: number(
                &lookup,
                "SILENT_AFTER",
                defaults.silent_after_secs.into(),
                1.0,
                true,
            )? as u32,
            shard_sockets: number(
                &lookup,
                "SHARD_SOCKETS",
                defaults.shard_sockets.into(),
                1.0,
                true,
            )?
            .min(MAX_SHARD_SOCKETS.into()) as u32,
            address_ban_secs: number(
                &lookup,
                "ADDRESS_BAN_HOURS",
                (defaults.address_ban_secs / 3600) as f64,
                0.0,
                true,
            )?
            .min(MAX_ADDRESS_BAN_HOURS as f64) as u64
                * 3600,
            inbox_push_max: number(
                &lookup,
                "INBOX_PUSH_MAX",
                defaults.inbox_push_max.into(),
                0.0,
                true,
            )? as u32,
            files: FilePolicy {
                max_bytes: number(
                    &lookup,
                    "FILE_MAX_BYTES",
                    files::DEFAULT_MAX_BYTES as f64,
                    1.0,
                    true,
                )? as u64,
                types: file_types(&lookup)?,
                unused_ms: number(
                    &lookup,
                    "FILE_UNUSED_SECS",
                    files::DEFAULT_UNUSED_SECS as f64,
                    1.0,
                    true,
                )? as u64
                    * 1000,
            },
            previews: switch(&lookup, "PREVIEWS", true)?,
            retention: retention_knobs(&lookup)?,
        };
        let allowed_origins = list(&lookup, "ALLOWED_ORIGINS")
            .into_iter()
            .map(|o| o.trim_end_matches('/').to_string())
            .collect();
        Ok(Config {
            limits,
            allowed_origins,
            api_token: secret(&lookup, "API_TOKEN"),
            login_url: http_url(&lookup, "LOGIN_URL")?,
            auth_secret: secret(&lookup, "AUTH_SECRET"),
            rate_limit_exempt: list(&lookup, "RATE_LIMIT_EXEMPT"),
            webhook: webhook(&lookup)?,
            push: push_knobs(&lookup)?,
            preview_allow_hosts: list(&lookup, "PREVIEW_ALLOW_HOSTS"),
            moderation: moderation_hook(&lookup)?,
            jwt: JwtConfig {
                secret: secret(&lookup, "JWT_SECRET"),
                jwks_url: secret(&lookup, "JWKS_URL").map(|u| u.trim().to_string()),
                issuer: secret(&lookup, "JWT_ISSUER"),
                audience: secret(&lookup, "JWT_AUDIENCE"),
                refetch_secs: number(
                    &lookup,
                    "JWKS_REFETCH_SECS",
                    jwks::DEFAULT_COOLDOWN_SECS as f64,
                    0.0,
                    true,
                )? as u64,
                leeway_secs: number(
                    &lookup,
                    "JWT_LEEWAY_SECS",
                    jwt::LEEWAY_SECS as f64,
                    0.0,
                    true,
                )? as u64,
            },
        })
    }

    /// Whether sockets and reads need a token: any of `AUTH_SECRET` (`v1.` tokens), `JWT_SECRET` or
    /// `JWKS_URL` (JWTs) is set.
    pub fn signed_access(&self) -> bool {
        self.auth_secret.is_some() || self.jwt.secret.is_some() || self.jwt.jwks_url.is_some()
    }

    /// What JWTs this deployment accepts.
    pub fn jwt_policy(&self) -> jwt::Policy<'_> {
        jwt::Policy {
            secret: self.jwt.secret.as_deref(),
            jwks: self.jwt.jwks_url.is_some(),
            issuer: self.jwt.issuer.as_deref(),
            audience: self.jwt.audience.as_deref(),
            leeway: self.jwt.leeway_secs,
        }
    }

    /// Whether the per-client limits count requests from `client` (its `CF-Connecting-IP`).
    pub fn limits_client(&self, client: &str) -> bool {
        !self.rate_limit_exempt.iter().any(|ip| ip == client)
    }
}

/// A comma-separated list, each item trimmed, empty items dropped.
fn list(lookup: &impl Fn(&str) -> Option<String>, key: &str) -> Vec<String> {
    lookup(key)
        .map(|v| {
            v.split(',')
                .map(|item| item.trim().to_string())
                .filter(|item| !item.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// `FILE_TYPES`: media types (`type/subtype` or `type/*`), comma-separated; the default list when
/// unset.
fn file_types(lookup: &impl Fn(&str) -> Option<String>) -> Result<Vec<String>, Problem> {
    let raw = lookup("FILE_TYPES").unwrap_or_else(|| files::DEFAULT_TYPES.to_string());
    files::parse_types(&raw).ok_or_else(|| {
        Problem::new(
            ErrorCode::BadConfig,
            format!("FILE_TYPES={raw:?} is not a list of media types (type/subtype or type/*)"),
        )
    })
}

/// An on/off knob: `1`/`true`/`on` or `0`/`false`/`off`; `default` when unset.
fn switch(
    lookup: &impl Fn(&str) -> Option<String>,
    key: &str,
    default: bool,
) -> Result<bool, Problem> {
    match lookup(key)
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None => Ok(default),
        Some("1" | "true" | "on") => Ok(true),
        Some("0" | "false" | "off") => Ok(false),
        Some(other) => Err(Problem::new(
            ErrorCode::BadConfig,
            format!("{key}={other:?} is not 1 or 0"),
        )),
    }
}

/// `WEBHOOK_URL` with its `WEBHOOK_SECRET`: an http(s) URL, and never unsigned (a receiver could not
/// tell our events from anybody's).
fn webhook(lookup: &impl Fn(&str) -> Option<String>) -> Result<Option<Webhook>, Problem> {
    let Some(url) = http_url(lookup, "WEBHOOK_URL")? else {
        return Ok(None);
    };
    let Some(secret) = secret(lookup, "WEBHOOK_SECRET") else {
        return Err(Problem::new(
            ErrorCode::BadConfig,
            "WEBHOOK_URL is set without WEBHOOK_SECRET: events must be signed",
        ));
    };
    Ok(Some(Webhook { url, secret }))
}

/// `RETENTION_DAYS` (unset or 0: off), `RETENTION_MAX_DAYS` (unset: no ceiling) and
/// `RETENTION_DAY_SECS` (a day's length; tests shorten it). A default past the ceiling is refused
/// rather than silently cut: one of the two is a mistake.
fn retention_knobs(lookup: &impl Fn(&str) -> Option<String>) -> Result<Retention, Problem> {
    let most = retention::MAX_DAYS as f64;
    let days = |key: &str, min: f64| -> Result<Option<u64>, Problem> {
        match lookup(key).filter(|v| !v.trim().is_empty()) {
            None => Ok(None),
            Some(_) => Ok(Some(number(lookup, key, 0.0, min, true)?.min(most) as u64)),
        }
    };
    let default_days = days("RETENTION_DAYS", 0.0)?.filter(|&d| d > 0);
    let max_days = days("RETENTION_MAX_DAYS", 1.0)?;
    if let (Some(d), Some(max)) = (default_days, max_days) {
        if d > max {
            return Err(Problem::new(
                ErrorCode::BadConfig,
                format!("RETENTION_DAYS={d} is past RETENTION_MAX_DAYS={max}"),
            ));
        }
    }
    let day_secs = number(
        lookup,
        "RETENTION_DAY_SECS",
        retention::DAY_SECS as f64,
        1.0,
        true,
    )? as u64;
    Ok(Retention {
        default_days,
        max_days,
        day_secs,
    })
}

/// `MODERATION_URL` with its `MODERATION_SECRET` (never unsigned: the endpoint could not tell the
/// room's questions from anybody's), `MODERATION_TIMEOUT_MS` and `MODERATION_FAIL` (`open` or
/// `closed`, the default).
fn moderation_hook(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Option<ModerationHook>, Problem> {
    let Some(url) = http_url(lookup, "MODERATION_URL")? else {
        return Ok(None);
    };
    let Some(key) = secret(lookup, "MODERATION_SECRET") else {
        return Err(Problem::new(
            ErrorCode::BadConfig,
            "MODERATION_URL is set without MODERATION_SECRET: questions must be signed",
        ));
    };
    let timeout_ms = number(
        lookup,
        "MODERATION_TIMEOUT_MS",
        screening::DEFAULT_TIMEOUT_MS as f64,
        1.0,
        true,
    )?
    .min(screening::MAX_TIMEOUT_MS as f64) as u64;
    let fail = match secret(lookup, "MODERATION_FAIL") {
        None => Fail::default(),
        Some(raw) => Fail::parse(&raw).ok_or_else(|| {
            Problem::new(
                ErrorCode::BadConfig,
                format!("MODERATION_FAIL={raw:?} must be \"open\" or \"closed\""),
            )
        })?,
    };
    Ok(Some(ModerationHook {
        url,
        secret: key,
        timeout_ms,
        fail,
    }))
}

/// The knob `key` as an http(s) URL (trimmed), or `None` when unset; anything else (a `javascript:`
/// URL, a bare host) is a configuration error.
fn http_url(
    lookup: &impl Fn(&str) -> Option<String>,
    key: &str,
) -> Result<Option<String>, Problem> {
    let Some(url) = secret(lookup, key).map(|u| u.trim().to_string()) else {
        return Ok(None);
    };
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(Problem::new(
            ErrorCode::BadConfig,
            format!("{key}={url:?} is not an http(s) URL"),
        ));
    }
    Ok(Some(url))
}

/// Web Push: the `VAPID_*` key pair and subject, `PUSH_ALLOW_INSECURE`, `PUSH_PREVIEW` (checked by
/// [`crate::push::settings::parse`]).
fn push_knobs(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Option<crate::push::settings::PushSettings>, Problem> {
    crate::push::settings::parse(crate::push::settings::Knobs {
        public_key: secret(lookup, "VAPID_PUBLIC_KEY"),
        private_key: secret(lookup, "VAPID_PRIVATE_KEY"),
        subject: secret(lookup, "VAPID_SUBJECT"),
        allow_insecure: list(lookup, "PUSH_ALLOW_INSECURE"),
        preview_private: switch(lookup, "PUSH_PREVIEW", true)?,
    })
}

fn secret(lookup: &impl Fn(&str) -> Option<String>, key: &str) -> Option<String> {
    lookup(key).filter(|v| !v.trim().is_empty())
}

/// A numeric knob: at least `min`, finite, a whole number when `integer`, and at most 2^32.
fn number(
    lookup: &impl Fn(&str) -> Option<String>,
    key: &str,
    default: f64,
    min: f64,
    integer: bool,
) -> Result<f64, Problem> {
    let Some(raw) = lookup(key) else {
        return Ok(default);
    };
    match decimal(raw.trim()) {
        Some(v) if v >= min && v <= u32::MAX as f64 && (!integer || v.fract() == 0.0) => Ok(v),
        _ => Err(Problem::new(
            ErrorCode::BadConfig,
            format!(
                "{key}={raw:?} is not a{} number from {} to {}",
                if integer { " whole" } else { "" },
                shown(min),
                u32::MAX
            ),
        )),
    }
}

/// A plain decimal (`12`, `0.5`): digits, optionally a point and more digits; nothing else (no sign,
/// exponent, `inf` or `NaN`, which no knob needs). Read by hand because `str::parse::<f64>` links
/// Rust's general float parser and its ~10 KB table of powers of five into the wasm for this alone.
fn decimal(text: &str) -> Option<f64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| !s.is_empty() && s.len() <= 15 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !(fraction.is_empty() || digits(fraction)) || text.ends_with('.') {
        return None;
    }
    let whole: u64 = whole.parse().ok()?;
    let scale = 10u64.pow(fraction.len() as u32);
    let fraction: u64 = if fraction.is_empty() {
        0
    } else {
        fraction.parse().ok()?
    };
    Some(whole as f64 + fraction as f64 / scale as f64)
}

/// A bound as the error message shows it (`1`, `0.001`), in whole thousandths: formatting an `f64`
/// itself would link Rust's float printer, ~14 KB of wasm, for this one message.
fn shown(v: f64) -> String {
    let milli = (v * 1000.0).round() as u64;
    match milli % 1000 {
        0 => (milli / 1000).to_string(),
        frac => format!(
            "{}.{}",
            milli / 1000,
            format!("{frac:03}").trim_end_matches('0')
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn knobs_are_plain_decimals() {
        assert_eq!(decimal("12"), Some(12.0));
        assert_eq!(decimal("0.5"), Some(0.5));
        assert_eq!(decimal("0.001"), Some(0.001));
        for bad in [
            "", ".", "1.", ".5", "-3", "1e3", "NaN", "inf", "1.2.3", " 1", "0x10",
        ] {
            assert_eq!(decimal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn bounds_are_shown_as_written() {
        assert_eq!(shown(1.0), "1");
        assert_eq!(shown(0.001), "0.001");
        assert_eq!(shown(0.5), "0.5");
        assert_eq!(shown(0.0), "0");
    }

    fn parse(vars: &[(&str, &str)]) -> Result<Config, Problem> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::parse(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.limits, Limits::default());
        assert!(c.allowed_origins.is_empty());
        assert_eq!(c.api_token, None);
        assert_eq!(c.auth_secret, None);
        assert_eq!(c, Config::default());
    }

    #[test]
    fn values_are_read_and_origins_split() {
        let c = parse(&[
            ("MAX_CONNECTIONS", "5"),
            ("HISTORY_LIMIT", "100"),
            ("VERSIONS_LIMIT", "5"),
            ("RATE_BURST", "3"),
            ("RATE_PER_SEC", "0.5"),
            ("SEARCH_BURST", "2"),
            ("SEARCH_PER_SEC", "0.25"),
            ("INBOX_PUSH_MAX", "2"),
            ("ALLOWED_ORIGINS", "https://a.example, https://b.example/ ,"),
            ("API_TOKEN", "t0k"),
            ("AUTH_SECRET", "  "),
        ])
        .unwrap();
        assert_eq!(c.limits.max_connections, 5);
        assert_eq!(c.limits.history_limit, 100);
        assert_eq!(c.limits.versions_limit, 5);
        assert_eq!(c.limits.rate.burst, 3.0);
        assert_eq!(c.limits.rate.per_sec, 0.5);
        assert_eq!(c.limits.search.burst, 2.0);
        assert_eq!(c.limits.search.per_sec, 0.25);
        assert_eq!(c.limits.inbox_push_max, 2);
        assert_eq!(Limits::default().inbox_push_max, DEFAULT_INBOX_PUSH_MAX);
        assert_eq!(
            c.allowed_origins,
            vec!["https://a.example", "https://b.example"]
        );
        assert_eq!(c.api_token.as_deref(), Some("t0k"));
        assert_eq!(c.auth_secret, None, "a blank secret counts as unset");
        assert!(!c.signed_access());
    }

    #[test]
    fn any_token_secret_turns_signed_access_on() {
        let c = parse(&[("JWKS_URL", " https://id.example/jwks.json ")]).unwrap();
        assert!(c.signed_access());
        assert_eq!(
            c.jwt.jwks_url.as_deref(),
            Some("https://id.example/jwks.json")
        );
        assert_eq!(c.jwt.refetch_secs, jwks::DEFAULT_COOLDOWN_SECS);
        assert_eq!(c.jwt.leeway_secs, jwt::LEEWAY_SECS);
        assert!(c.jwt_policy().jwks);
        let c = parse(&[("JWT_SECRET", "s"), ("JWT_AUDIENCE", "chat")]).unwrap();
        assert!(c.signed_access());
        assert_eq!(c.jwt_policy().secret, Some("s"));
        assert_eq!(c.jwt_policy().audience, Some("chat"));
        assert_eq!(
            parse(&[("JWKS_REFETCH_SECS", "soon")]).unwrap_err().code,
            ErrorCode::BadConfig
        );
    }

    #[test]
    fn files_and_previews_have_their_knobs() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.limits.files.max_bytes, 25_000_000);
        assert!(c.limits.files.allows("image/png") && !c.limits.files.allows("text/html"));
        assert!(c.limits.previews);
        assert!(c.preview_allow_hosts.is_empty(), "no exceptions by default");
        let c = parse(&[
            ("FILE_MAX_BYTES", "1000"),
            ("FILE_UNUSED_SECS", "5"),
            ("FILE_TYPES", "image/*, text/csv"),
            ("PREVIEWS", "0"),
            ("PREVIEW_ALLOW_HOSTS", "127.0.0.1:8080, intranet"),
        ])
        .unwrap();
        assert_eq!(c.limits.files.max_bytes, 1000);
        assert_eq!(c.limits.files.unused_ms, 5000);
        assert!(c.limits.files.allows("image/svg+xml") && c.limits.files.allows("text/csv"));
        assert!(!c.limits.previews);
        assert_eq!(c.preview_allow_hosts, vec!["127.0.0.1:8080", "intranet"]);
        for (k, v) in [
            ("FILE_TYPES", "png"),
            ("PREVIEWS", "maybe"),
            ("FILE_MAX_BYTES", "0"),
        ] {
            let e = parse(&[(k, v)]).unwrap_err();
            assert!(e.message.contains(k), "{}", e.message);
        }
    }

    #[test]
    fn rate_limit_exemptions_are_explicit() {
        let c = parse(&[]).unwrap();
        assert!(c.limits_client("127.0.0.1"), "nobody is exempt by default");
        let c = parse(&[("RATE_LIMIT_EXEMPT", "127.0.0.1, ::1")]).unwrap();
        assert!(!c.limits_client("127.0.0.1"));
        assert!(!c.limits_client("::1"));
        assert!(c.limits_client("203.0.113.9"));
    }

    #[test]
    fn a_login_page_is_an_http_url_or_nothing() {
        assert_eq!(parse(&[]).unwrap().login_url, None);
        assert_eq!(parse(&[("LOGIN_URL", " ")]).unwrap().login_url, None);
        assert_eq!(
            parse(&[("LOGIN_URL", "https://app.example/login ")])
                .unwrap()
                .login_url
                .as_deref(),
            Some("https://app.example/login")
        );
        assert_eq!(
            parse(&[("LOGIN_URL", "javascript:alert(1)")])
                .unwrap_err()
                .code,
            ErrorCode::BadConfig
        );
    }

    #[test]
    fn a_webhook_needs_an_http_url_and_a_secret() {
        assert_eq!(parse(&[]).unwrap().webhook, None);
        let c = parse(&[
            ("WEBHOOK_URL", " https://app.example/hooks "),
            ("WEBHOOK_SECRET", "whsec"),
        ])
        .unwrap();
        assert_eq!(
            c.webhook,
            Some(Webhook {
                url: "https://app.example/hooks".into(),
                secret: "whsec".into()
            })
        );
        let e = parse(&[("WEBHOOK_URL", "https://app.example/hooks")]).unwrap_err();
        assert!(e.message.contains("WEBHOOK_SECRET"), "{}", e.message);
        let e = parse(&[("WEBHOOK_URL", "ftp://x"), ("WEBHOOK_SECRET", "s")]).unwrap_err();
        assert!(e.message.contains("WEBHOOK_URL"), "{}", e.message);
    }

    #[test]
    fn retention_is_off_unless_set_and_never_past_its_ceiling() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.limits.retention, Retention::default());
        assert_eq!(c.limits.retention.default_days, None);
        let c = parse(&[
            ("RETENTION_DAYS", "30"),
            ("RETENTION_MAX_DAYS", "365"),
            ("RETENTION_DAY_SECS", "2"),
        ])
        .unwrap();
        assert_eq!(
            c.limits.retention,
            Retention {
                default_days: Some(30),
                max_days: Some(365),
                day_secs: 2
            }
        );
        assert_eq!(
            parse(&[("RETENTION_DAYS", "0")])
                .unwrap()
                .limits
                .retention
                .default_days,
            None
        );
        let e = parse(&[("RETENTION_DAYS", "400"), ("RETENTION_MAX_DAYS", "365")]).unwrap_err();
        assert!(e.message.contains("RETENTION_MAX_DAYS"), "{}", e.message);
        assert!(parse(&[("RETENTION_MAX_DAYS", "0")]).is_err());
        assert!(parse(&[("RETENTION_DAYS", "1.5")]).is_err());
    }

    #[test]
    fn a_moderation_hook_needs_a_secret_and_says_how_it_fails() {
        assert_eq!(parse(&[]).unwrap().moderation, None);
        let c = parse(&[
            ("MODERATION_URL", "http://127.0.0.1:9/check"),
            ("MODERATION_SECRET", "mod"),
        ])
        .unwrap();
        assert_eq!(
            c.moderation,
            Some(ModerationHook {
                url: "http://127.0.0.1:9/check".into(),
                secret: "mod".into(),
                timeout_ms: screening::DEFAULT_TIMEOUT_MS,
                fail: Fail::Closed,
            })
        );
        let c = parse(&[
            ("MODERATION_URL", "https://app.example/check"),
            ("MODERATION_SECRET", "mod"),
            ("MODERATION_TIMEOUT_MS", "200"),
            ("MODERATION_FAIL", "open"),
        ])
        .unwrap();
        let hook = c.moderation.unwrap();
        assert_eq!((hook.timeout_ms, hook.fail), (200, Fail::Open));
        let e = parse(&[("MODERATION_URL", "https://app.example/check")]).unwrap_err();
        assert!(e.message.contains("MODERATION_SECRET"), "{}", e.message);
        let e = parse(&[
            ("MODERATION_URL", "https://app.example/check"),
            ("MODERATION_SECRET", "mod"),
            ("MODERATION_FAIL", "maybe"),
        ])
        .unwrap_err();
        assert!(e.message.contains("MODERATION_FAIL"), "{}", e.message);
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (k, v) in [
            ("MAX_CONNECTIONS", "lots"),
            ("MAX_CONNECTIONS", "0"),
            ("HISTORY_LIMIT", "-3"),
            ("RATE_BURST", "0.5"),
            ("RATE_PER_SEC", "NaN"),
            ("HISTORY_LIMIT", "1.5"),
        ] {
            let e = parse(&[(k, v)]).unwrap_err();
            assert_eq!(e.code, ErrorCode::BadConfig);
            assert!(e.message.contains(k), "{}", e.message);
        }
    }

    #[test]
    fn push_knobs_are_read_like_the_others() {
        use crate::push::settings::tests::{PRIVATE, PUBLIC};
        assert_eq!(parse(&[]).unwrap().push, None);
        let vapid = [
            ("VAPID_PUBLIC_KEY", PUBLIC),
            ("VAPID_PRIVATE_KEY", PRIVATE),
            ("VAPID_SUBJECT", "mailto:ops@example.com"),
        ];
        let push = parse(&vapid).unwrap().push.unwrap();
        assert!(push.preview_private && push.allow_insecure.is_empty());
        let more = [
            vapid[0],
            vapid[1],
            vapid[2],
            ("PUSH_PREVIEW", "off"),
            ("PUSH_ALLOW_INSECURE", "127.0.0.1:9000 , Push.Test"),
        ];
        let push = parse(&more).unwrap().push.unwrap();
        assert!(!push.preview_private);
        assert_eq!(push.allow_insecure, ["127.0.0.1:9000", "push.test"]);
        let e = parse(&[vapid[0], ("PUSH_PREVIEW", "maybe")]).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadConfig);
        let e = parse(&[vapid[0], vapid[1], vapid[2], ("PUSH_PREVIEW", "maybe")]).unwrap_err();
        assert!(e.message.contains("PUSH_PREVIEW"), "{}", e.message);
    }
}
