//! Who may do what with a room — the one place that decides it. Joining a room's socket and every
//! HTTP read of a room (info, history, and every read endpoint added later) ask [`may_enter`]: with
//! `AUTH_SECRET` set, both need a signed token valid for that room (read endpoints also take the
//! `API_TOKEN`); without it, rooms are open. The write endpoints of the API ask [`api_token`].

use crate::auth::{self, Grant};
use crate::config::Config;
use crate::error::{ErrorCode, Problem};
use crate::identity::{self, Key};
use crate::room::Framing;
use crate::routes::query_value;
use crate::validate::{self, RoomName, UserName};

/// The credentials a request carries: its `Authorization` header and its `?token=`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Credentials<'a> {
    pub authorization: Option<&'a str>,
    pub query_token: Option<&'a str>,
}

impl<'a> Credentials<'a> {
    pub fn new(authorization: Option<&'a str>, query: &'a [(String, String)]) -> Self {
        Credentials {
            authorization,
            query_token: query_value(query, "token"),
        }
    }

    /// The bearer token of `Authorization: Bearer <token>`, if any.
    fn bearer(&self) -> Option<&'a str> {
        self.authorization
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
    }

    /// A signed token from the query or, failing that, the bearer header (a browser page can set
    /// neither header on a WebSocket, nor always a query on a fetch, so both are accepted).
    fn signed_token(&self) -> Option<&'a str> {
        self.query_token.or_else(|| self.bearer())
    }
}

/// What entering a room grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// The room is open (no `AUTH_SECRET`): anyone may enter, under any name.
    Open,
    /// A signed token for this room: its holder enters under the token's name.
    Signed(Grant),
    /// The `API_TOKEN` bearer: the app's own backend, which may read every room.
    Backend,
}

/// May these credentials enter `room` (join its socket, read it over HTTP)? `backend_allowed` says
/// whether the `API_TOKEN` bearer counts (it does for HTTP reads; a socket needs a name, which only a
/// signed token gives).
pub fn may_enter(
    config: &Config,
    room: &RoomName,
    credentials: &Credentials<'_>,
    backend_allowed: bool,
    now_secs: u64,
) -> Result<Entry, Problem> {
    let Some(secret) = config.auth_secret.as_deref() else {
        return Ok(Entry::Open);
    };
    if backend_allowed {
        if let Some(api) = config.api_token.as_deref() {
            if auth::bearer_matches(credentials.authorization, api) {
                return Ok(Entry::Backend);
            }
        }
    }
    let token = credentials.signed_token().ok_or_else(|| {
        Problem::new(
            ErrorCode::Unauthorized,
            "this room needs a signed token (token= or Authorization: Bearer)",
        )
    })?;
    auth::verify(secret, token, room, now_secs).map(Entry::Signed)
}

/// The `Authorization: Bearer <API_TOKEN>` check of the write endpoints, which are off without
/// `API_TOKEN`.
pub fn api_token(config: &Config, authorization: Option<&str>) -> Result<(), Problem> {
    let Some(token) = &config.api_token else {
        return Err(Problem::new(
            ErrorCode::Disabled,
            "this endpoint is off: set the API_TOKEN secret to enable it",
        ));
    };
    if auth::bearer_matches(authorization, token) {
        Ok(())
    } else {
        Err(Problem::new(
            ErrorCode::Unauthorized,
            "missing or wrong Authorization: Bearer token",
        ))
    }
}

/// A validated request to join a room's socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Join {
    pub name: UserName,
    /// The author id: from the signed token, or derived from `key=`; `None` for an anonymous client.
    pub uid: Option<String>,
    pub after: Option<u64>,
    /// The last room revision the client saw (`since=`): its welcome then carries the changes since.
    pub since: Option<u64>,
    /// `batch=1`: the client takes each turn's frames as one `batch` frame.
    pub framing: Framing,
}

/// Checks the query of a socket upgrade. With `AUTH_SECRET` set, the name and uid come from the signed
/// `token=` and any `name=` or `key=` is ignored; otherwise `name=` is required and `key=` optional.
pub fn check_join(
    query: &[(String, String)],
    room: &RoomName,
    config: &Config,
    now_secs: u64,
) -> Result<Join, Problem> {
    let credentials = Credentials::new(None, query);
    let (name, uid) = match may_enter(config, room, &credentials, false, now_secs)? {
        Entry::Signed(grant) => (
            UserName::parse(&grant.name)?,
            Some(identity::uid_of_grant(grant.uid.as_deref(), &grant.name)?),
        ),
        Entry::Open | Entry::Backend => (
            UserName::parse(query_value(query, "name").unwrap_or(""))?,
            query_value(query, "key")
                .map(|k| Key::parse(k).map(|k| k.uid()))
                .transpose()?,
        ),
    };
    let after = query_value(query, "after")
        .map(validate::parse_seq)
        .transpose()?;
    let since = query_value(query, "since")
        .map(validate::parse_rev)
        .transpose()?;
    // Any other value (or none) keeps v1 framing: an unknown option must not change what an old
    // client receives.
    let framing = match query_value(query, "batch") {
        Some("1") => Framing::Batch,
        _ => Framing::Single,
    };
    Ok(Join {
        name,
        uid,
        after,
        since,
        framing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::parse(|_| None).unwrap()
    }

    fn secured() -> Config {
        let mut c = config();
        c.auth_secret = Some("k".into());
        c.api_token = Some("api".into());
        c
    }

    fn room(name: &str) -> RoomName {
        RoomName::parse(name).unwrap()
    }

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn token(room: &str, exp: u64) -> String {
        let grant = Grant {
            room: room.into(),
            name: "signed-ann".into(),
            exp,
            uid: None,
        };
        auth::mint("k", &grant).unwrap()
    }

    #[test]
    fn joining_needs_a_valid_name_and_after() {
        let j = check_join(
            &q(&[("name", " ann "), ("after", "7")]),
            &room("x"),
            &config(),
            0,
        )
        .unwrap();
        assert_eq!(j.name.as_str(), "ann");
        assert_eq!(j.after, Some(7));
        assert_eq!(j.uid, None, "no key: anonymous");
        assert_eq!(j.framing, Framing::Single, "no batch=1: one frame each");
        for (value, framing) in [
            ("1", Framing::Batch),
            ("0", Framing::Single),
            ("yes", Framing::Single),
        ] {
            let j = check_join(
                &q(&[("name", "ann"), ("batch", value)]),
                &room("x"),
                &config(),
                0,
            )
            .unwrap();
            assert_eq!(j.framing, framing, "batch={value}");
        }
        assert_eq!(
            check_join(&q(&[]), &room("x"), &config(), 0)
                .unwrap_err()
                .code,
            ErrorCode::BadName
        );
        assert_eq!(
            check_join(
                &q(&[("name", "a"), ("after", "-1")]),
                &room("x"),
                &config(),
                0
            )
            .unwrap_err()
            .code,
            ErrorCode::BadAfter
        );
    }

    #[test]
    fn with_auth_secret_the_name_comes_from_the_token() {
        let c = secured();
        let t = token("x", 100);
        let j = check_join(
            &q(&[("name", "mallory"), ("token", &t)]),
            &room("x"),
            &c,
            50,
        )
        .unwrap();
        assert_eq!(j.name.as_str(), "signed-ann");
        assert_eq!(j.uid, identity::uid_of_grant(None, "signed-ann").ok());
        let keyed = check_join(
            &q(&[("token", &t), ("key", "an-attempt-to-pick-a-uid")]),
            &room("x"),
            &c,
            50,
        )
        .unwrap();
        assert_eq!(keyed.uid, j.uid, "a token's uid wins over key=");
        for (query, room_name, now) in [
            (q(&[("name", "a")]), "x", 50),
            (q(&[("token", &t)]), "y", 50),
            (q(&[("token", &t)]), "x", 100),
        ] {
            assert_eq!(
                check_join(&query, &room(room_name), &c, now)
                    .unwrap_err()
                    .code,
                ErrorCode::Unauthorized
            );
        }
    }

    #[test]
    fn a_key_gives_a_uid_and_a_bad_key_is_refused() {
        let key = "0123456789abcdef-ann";
        let j = check_join(
            &q(&[("name", "ann"), ("key", key)]),
            &room("x"),
            &config(),
            0,
        )
        .unwrap();
        assert_eq!(j.uid, Some(Key::parse(key).unwrap().uid()));
        assert_eq!(
            check_join(
                &q(&[("name", "ann"), ("key", "short")]),
                &room("x"),
                &config(),
                0
            )
            .unwrap_err()
            .code,
            ErrorCode::BadKey
        );
    }

    #[test]
    fn the_api_token_does_not_open_a_socket() {
        let c = secured();
        let creds = Credentials {
            authorization: Some("Bearer api"),
            query_token: None,
        };
        assert!(may_enter(&c, &room("x"), &creds, false, 0).is_err());
        assert_eq!(
            may_enter(&c, &room("x"), &creds, true, 0),
            Ok(Entry::Backend)
        );
    }

    #[test]
    fn reading_a_protected_room_needs_the_api_token_or_a_token_for_that_room() {
        let c = secured();
        let t = token("x", 100);
        let bearer = format!("Bearer {t}");
        let read = |authorization: Option<&str>, query_token: Option<&str>, name: &str| {
            let creds = Credentials {
                authorization,
                query_token,
            };
            may_enter(&c, &room(name), &creds, true, 50).map_err(|p| p.code)
        };
        assert!(matches!(read(None, Some(&t), "x"), Ok(Entry::Signed(_))));
        assert!(matches!(
            read(Some(&bearer), None, "x"),
            Ok(Entry::Signed(_))
        ));
        assert_eq!(read(None, None, "x"), Err(ErrorCode::Unauthorized));
        assert_eq!(
            read(Some("Bearer nope"), None, "x"),
            Err(ErrorCode::Unauthorized)
        );
        assert_eq!(read(None, Some(&t), "y"), Err(ErrorCode::Unauthorized));
        // without AUTH_SECRET every room is open to read, as documented
        let open = config();
        assert_eq!(
            may_enter(&open, &room("x"), &Credentials::default(), true, 0),
            Ok(Entry::Open)
        );
    }

    #[test]
    fn write_endpoints_need_the_api_token() {
        assert_eq!(
            api_token(&config(), Some("Bearer x")).unwrap_err().code,
            ErrorCode::Disabled
        );
        let c = secured();
        assert!(api_token(&c, Some("Bearer api")).is_ok());
        assert_eq!(
            api_token(&c, Some("Bearer apx")).unwrap_err().code,
            ErrorCode::Unauthorized
        );
        assert_eq!(
            api_token(&c, None).unwrap_err().code,
            ErrorCode::Unauthorized
        );
    }
}
