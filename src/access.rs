//! Who may do what with a room — the one place that decides it. Joining a room's socket and every
//! HTTP read of a room (info, history, and every read endpoint added later) ask [`may_enter`]: with
//! signed access on (`AUTH_SECRET`, `JWT_SECRET` or `JWKS_URL`), both need a token valid for that room
//! — a `v1.` token or a standard JWT (read endpoints also take the `API_TOKEN`); without it, rooms are
//! open. The write endpoints of the API ask [`api_token`].
//!
//! An RS256/ES256 JWT cannot be verified here (that is the runtime's Web Crypto, with a key from the
//! JWKS), so [`may_enter`] answers [`Admission::NeedsKey`] for it, with its claims already checked, and
//! the Worker turns that into an [`Entry`] only once the signature verifies.

use crate::auth;
use crate::config::Config;
use crate::domain::Framing;
use crate::error::{ErrorCode, Problem};
use crate::files::log::Uploader;
use crate::identity::{self, AddressTag, Key};
use crate::inbox::dm;
use crate::jwt::{self, Checked, KeyCheck};
use crate::query::query_value;
use crate::session::{Role, Session};
use crate::subprotocol::Offer;
use crate::validate::{self, RoomName, UserName};

/// The credentials a request carries: its `Authorization` header, its `?token=`, and for a socket the
/// token offered in `Sec-WebSocket-Protocol` (see [`crate::subprotocol`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Credentials<'a> {
    pub authorization: Option<&'a str>,
    pub query_token: Option<&'a str>,
    pub offered_token: Option<&'a str>,
}

impl<'a> Credentials<'a> {
    pub fn new(authorization: Option<&'a str>, query: &'a [(String, String)]) -> Self {
        Credentials {
            authorization,
            query_token: query_value(query, "token"),
            offered_token: None,
        }
    }

    /// These credentials and a socket handshake's offer.
    pub fn offered(self, offer: &Offer<'a>) -> Self {
        Credentials {
            offered_token: offer.token,
            ..self
        }
    }

    /// Just a token (the `auth` frame of a live socket).
    pub fn token(token: &'a str) -> Self {
        Credentials {
            authorization: None,
            query_token: Some(token),
            offered_token: None,
        }
    }

    /// The bearer token of `Authorization: Bearer <token>`, if any.
    fn bearer(&self) -> Option<&'a str> {
        self.authorization
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
    }

    /// A signed token from the query or, failing that, the handshake's offer or the bearer header (a
    /// browser page can set no header on a WebSocket but the subprotocols, nor always a query on a
    /// fetch, so each is accepted).
    fn signed_token(&self) -> Option<&'a str> {
        self.query_token
            .or(self.offered_token)
            .or_else(|| self.bearer())
    }
}

/// What entering a room grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// The room is open (no signed access): anyone may enter, under any name.
    Open,
    /// A verified token for this room (`v1.` or JWT): its holder enters as the session says.
    Signed(Session),
    /// The `API_TOKEN` bearer: the app's own backend, which may read every room.
    Backend,
}

/// The answer of [`may_enter`]: an entry, or a JWT whose signature the Worker must still verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    Ready(Entry),
    /// An RS256/ES256 JWT with good claims: [`Entry::Signed`] with this session once `KeyCheck`
    /// verifies against the JWKS, a refusal otherwise.
    NeedsKey(Session, KeyCheck),
}

/// May these credentials enter `room` (join its socket, read it over HTTP)? `backend_allowed` says
/// whether the `API_TOKEN` bearer counts (it does for HTTP reads; a socket needs a name, which only a
/// signed token gives).
///
/// A direct message ([`dm::is_dm`]) admits its members by uid, whatever a token's room or `rooms`
/// claim says: here a token only has to say who its holder is, and the room, which alone knows its
/// members, checks the uid ([`dm::admits`]). The `API_TOKEN` reads no direct message.
pub fn may_enter(
    config: &Config,
    room: &RoomName,
    credentials: &Credentials<'_>,
    backend_allowed: bool,
    now_secs: u64,
) -> Result<Admission, Problem> {
    if dm::is_dm(room) {
        return admit(config, None, credentials, false, now_secs);
    }
    admit(config, Some(room), credentials, backend_allowed, now_secs)
}

/// Who these credentials say their holder is, wherever they go (a person's inbox, `POST /api/dms`):
/// a token for any room will do. Without signed access, [`person`] takes the `key=`.
pub fn may_identify(
    config: &Config,
    credentials: &Credentials<'_>,
    now_secs: u64,
) -> Result<Admission, Problem> {
    admit(config, None, credentials, false, now_secs)
}

/// [`may_enter`] for `scope` (`None`: any room, for who the holder is).
fn admit(
    config: &Config,
    scope: Option<&RoomName>,
    credentials: &Credentials<'_>,
    backend_allowed: bool,
    now_secs: u64,
) -> Result<Admission, Problem> {
    if !config.signed_access() {
        return Ok(Admission::Ready(Entry::Open));
    }
    if backend_allowed {
        if let Some(api) = config.api_token.as_deref() {
            if auth::bearer_matches(credentials.authorization, api) {
                return Ok(Admission::Ready(Entry::Backend));
            }
        }
    }
    let token = credentials.signed_token().ok_or_else(|| {
        Problem::new(
            ErrorCode::Unauthorized,
            "this room needs a signed token (token= or Authorization: Bearer)",
        )
    })?;
    if jwt::is_jwt(token) {
        return Ok(
            match jwt::check_scoped(token, scope, &config.jwt_policy(), now_secs)? {
                Checked::Verified(session) => Admission::Ready(Entry::Signed(session)),
                Checked::NeedsKey(session, key) => Admission::NeedsKey(session, key),
            },
        );
    }
    let secret = config.auth_secret.as_deref().ok_or_else(|| {
        Problem::new(
            ErrorCode::Unauthorized,
            "v1. tokens are not accepted here (no AUTH_SECRET); send a JWT",
        )
    })?;
    let grant = auth::verify_scoped(secret, token, scope, now_secs)?;
    Ok(Admission::Ready(Entry::Signed(Session {
        uid: identity::uid_of_grant(grant.uid.as_deref(), &grant.name)?,
        name: grant.name,
        role: Role::Member,
        exp: grant.exp,
    })))
}

/// May these credentials export `room` (`GET /api/rooms/{room}/export`: everything it keeps, every
/// author's)? The `API_TOKEN` bearer may; so may a moderator of the room — a signed token valid for
/// it whose role is `moderator`, which [`may_export_as`] checks once the token is verified. In a
/// deployment without signed access nobody is a moderator, so only the `API_TOKEN` may.
pub fn may_export(
    config: &Config,
    room: &RoomName,
    credentials: &Credentials<'_>,
    now_secs: u64,
) -> Result<Admission, Problem> {
    if let Some(api) = config.api_token.as_deref() {
        if auth::bearer_matches(credentials.authorization, api) {
            return Ok(Admission::Ready(Entry::Backend));
        }
    }
    if !config.signed_access() {
        return Err(Problem::new(
            ErrorCode::Unauthorized,
            "exporting a room needs the API_TOKEN (Authorization: Bearer), or a moderator's token where rooms need tokens",
        ));
    }
    // A direct message has no moderators: any room's token says who its holder is there, and a
    // moderator elsewhere is nobody in it.
    if dm::is_dm(room) {
        return Err(Problem::new(
            ErrorCode::Forbidden,
            "a direct message is exported with the API_TOKEN only",
        ));
    }
    may_enter(config, room, credentials, false, now_secs)
}

/// The second half of [`may_export`], on the verified entry: the backend, or a moderator.
pub fn may_export_as(entry: &Entry) -> Result<(), Problem> {
    match entry {
        Entry::Backend => Ok(()),
        Entry::Signed(session) if session.role == Role::Moderator => Ok(()),
        Entry::Signed(_) | Entry::Open => Err(Problem::new(
            ErrorCode::Forbidden,
            "only a moderator of this room (or the API_TOKEN) may export it",
        )),
    }
}

/// A token presented on a live socket (`{"type":"auth"}`), verified into `fresh`, may replace the
/// connection's current one only if it names the same author; the name stays the one the room knows.
pub fn check_renewal(current_uid: Option<&str>, fresh: &Entry) -> Result<Session, Problem> {
    let Entry::Signed(session) = fresh else {
        return Err(Problem::new(
            ErrorCode::Disabled,
            "this server has no signed access: there is no token to renew",
        ));
    };
    if current_uid != Some(session.uid.as_str()) {
        return Err(Problem::new(
            ErrorCode::Forbidden,
            "the new token is for another user; reconnect with it instead",
        ));
    }
    Ok(session.clone())
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
    /// The role the token gives (members without a token are members).
    pub role: Role,
    /// When the token expires (Unix seconds); `None` without a token.
    pub expires: Option<u64>,
    pub after: Option<u64>,
    /// The last room revision the client saw (`since=`): its welcome then carries the changes since.
    pub since: Option<u64>,
    /// `batch=1`: the client takes each turn's frames as one `batch` frame.
    pub framing: Framing,
    /// The client's address (hashed) when it enters an open room, for the bans that must hold there;
    /// `None` with a token, whose uid a ban holds by itself.
    pub address: Option<AddressTag>,
}

/// Checks the query of a socket upgrade, given what [`may_enter`] (and the Worker's signature check)
/// granted, the handshake's `offer` and the client's `address`. With a token, the name, uid and role
/// come from it and any `name=` or `key=` is ignored; otherwise `name=` is required and a key (`key=`,
/// or `key.` in the offer) optional.
pub fn check_join(
    query: &[(String, String)],
    entry: &Entry,
    offer: &Offer<'_>,
    address: Option<AddressTag>,
) -> Result<Join, Problem> {
    let (name, uid, role, expires) = match entry {
        Entry::Signed(session) => (
            UserName::parse(&session.name)?,
            Some(session.uid.clone()),
            session.role,
            Some(session.exp),
        ),
        Entry::Open | Entry::Backend => (
            UserName::parse(query_value(query, "name").unwrap_or(""))?,
            query_value(query, "key")
                .or(offer.key)
                .map(|k| Key::parse(k).map(|k| k.uid()))
                .transpose()?,
            Role::Member,
            None,
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
        role,
        expires,
        after,
        since,
        framing,
        address: match entry {
            Entry::Open => address,
            Entry::Signed(_) | Entry::Backend => None,
        },
    })
}

/// Who uploads a file (`POST /api/rooms/{room}/files`), given what [`may_enter`] granted: the
/// author a signed token names (with its role), or in an open room the author of the identity key
/// sent in `X-Edge-Chat-Key` (anonymous without one), with the client's address for its bans. The
/// same author a socket with these credentials would be, so the room's rules hold alike.
pub fn check_uploader(
    entry: &Entry,
    key: Option<&str>,
    address: Option<AddressTag>,
) -> Result<Uploader, Problem> {
    Ok(match entry {
        Entry::Signed(session) => Uploader {
            uid: Some(session.uid.clone()),
            role: session.role,
            address: None,
        },
        Entry::Open | Entry::Backend => Uploader {
            uid: key
                .map(|k| Key::parse(k.trim()).map(|k| k.uid()))
                .transpose()?,
            role: Role::Member,
            address: match entry {
                Entry::Open => address,
                _ => None,
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Grant;

    #[test]
    fn an_uploader_is_who_a_socket_with_its_credentials_would_be() {
        let key = "0123456789abcdef-ann";
        let tag = AddressTag::of("198.51.100.7");
        let u = check_uploader(&Entry::Open, Some(key), tag).unwrap();
        assert_eq!(u.uid, Some(Key::parse(key).unwrap().uid()));
        assert_eq!(u.address, tag);
        assert_eq!(check_uploader(&Entry::Open, None, None).unwrap().uid, None);
        assert_eq!(
            check_uploader(&Entry::Open, Some("short"), None)
                .unwrap_err()
                .code,
            ErrorCode::BadKey
        );
        let session = Session {
            uid: "u-1".into(),
            name: "ann".into(),
            role: Role::Moderator,
            exp: 9,
        };
        let u = check_uploader(&Entry::Signed(session), Some(key), tag).unwrap();
        assert_eq!(
            (u.uid.as_deref(), u.role, u.address),
            (Some("u-1"), Role::Moderator, None)
        );
    }
    use serde_json::json;

    /// What the Worker does for an upgrade, with a token that needs no JWKS.
    fn check_join_at(
        query: &[(String, String)],
        room: &RoomName,
        config: &Config,
        now: u64,
    ) -> Result<Join, Problem> {
        match may_enter(config, room, &Credentials::new(None, query), false, now)? {
            Admission::Ready(entry) => check_join(query, &entry, &Offer::default(), None),
            Admission::NeedsKey(..) => panic!("these tests use no JWKS"),
        }
    }

    #[test]
    fn a_key_or_token_may_come_in_the_handshake_instead_of_the_url() {
        let key = "0123456789abcdef-ann";
        let header = format!("edge-chat, key.{key}");
        let offer = Offer::parse(Some(&header));
        let j = check_join(&q(&[("name", "ann")]), &Entry::Open, &offer, None).unwrap();
        assert_eq!(j.uid, Some(Key::parse(key).unwrap().uid()));
        // the query wins, as it did before there was a header
        let other = "fedcba9876543210-ann";
        let j = check_join(
            &q(&[("name", "ann"), ("key", other)]),
            &Entry::Open,
            &offer,
            None,
        )
        .unwrap();
        assert_eq!(j.uid, Some(Key::parse(other).unwrap().uid()));
        let bad = Offer::parse(Some("edge-chat, key.short"));
        assert_eq!(
            check_join(&q(&[("name", "ann")]), &Entry::Open, &bad, None)
                .unwrap_err()
                .code,
            ErrorCode::BadKey
        );
        // a signed token offered in the handshake enters a protected room
        let c = secured();
        let t = token("x", 100);
        let header = format!("edge-chat, token.{t}");
        let offer = Offer::parse(Some(&header));
        let creds = Credentials::new(None, &[]).offered(&offer);
        let entered = entry(may_enter(&c, &room("x"), &creds, false, 50)).unwrap();
        let j = check_join(&[], &entered, &offer, None).unwrap();
        assert_eq!(j.name.as_str(), "signed-ann");
        let none = Credentials::new(None, &[]);
        assert_eq!(
            entry(may_enter(&c, &room("x"), &none, false, 50)),
            Err(ErrorCode::Unauthorized)
        );
    }

    #[test]
    fn only_an_open_rooms_join_keeps_the_address() {
        let tag = AddressTag::of("198.51.100.7");
        let open = check_join(&q(&[("name", "ann")]), &Entry::Open, &Offer::default(), tag);
        assert_eq!(open.unwrap().address, tag);
        let session = Session {
            uid: "u-1".into(),
            name: "ann".into(),
            role: Role::Member,
            exp: 9,
        };
        let signed = check_join(&[], &Entry::Signed(session), &Offer::default(), tag).unwrap();
        assert_eq!(signed.address, None, "a token's uid is what a ban holds");
    }

    fn entry(admission: Result<Admission, Problem>) -> Result<Entry, ErrorCode> {
        match admission.map_err(|p| p.code)? {
            Admission::Ready(entry) => Ok(entry),
            Admission::NeedsKey(..) => panic!("these tests use no JWKS"),
        }
    }

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
        let j = check_join_at(
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
            let j = check_join_at(
                &q(&[("name", "ann"), ("batch", value)]),
                &room("x"),
                &config(),
                0,
            )
            .unwrap();
            assert_eq!(j.framing, framing, "batch={value}");
        }
        assert_eq!(
            check_join_at(&q(&[]), &room("x"), &config(), 0)
                .unwrap_err()
                .code,
            ErrorCode::BadName
        );
        assert_eq!(
            check_join_at(
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
        let j = check_join_at(
            &q(&[("name", "mallory"), ("token", &t)]),
            &room("x"),
            &c,
            50,
        )
        .unwrap();
        assert_eq!(j.name.as_str(), "signed-ann");
        assert_eq!(j.uid, identity::uid_of_grant(None, "signed-ann").ok());
        let keyed = check_join_at(
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
                check_join_at(&query, &room(room_name), &c, now)
                    .unwrap_err()
                    .code,
                ErrorCode::Unauthorized
            );
        }
    }

    #[test]
    fn a_key_gives_a_uid_and_a_bad_key_is_refused() {
        let key = "0123456789abcdef-ann";
        let j = check_join_at(
            &q(&[("name", "ann"), ("key", key)]),
            &room("x"),
            &config(),
            0,
        )
        .unwrap();
        assert_eq!(j.uid, Some(Key::parse(key).unwrap().uid()));
        assert_eq!(
            check_join_at(
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
            offered_token: None,
        };
        assert!(may_enter(&c, &room("x"), &creds, false, 0).is_err());
        assert_eq!(
            entry(may_enter(&c, &room("x"), &creds, true, 0)),
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
                offered_token: None,
            };
            entry(may_enter(&c, &room(name), &creds, true, 50))
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
            entry(may_enter(
                &open,
                &room("x"),
                &Credentials::default(),
                true,
                0
            )),
            Ok(Entry::Open)
        );
    }

    fn jwt_config() -> Config {
        let mut c = config();
        c.jwt.secret = Some("jwt-secret".into());
        c
    }

    #[test]
    fn a_room_is_exported_by_the_backend_or_its_moderators_only() {
        let export = |c: &Config, auth: Option<&str>, query: &[(String, String)], at: &str| {
            let creds = Credentials::new(auth, query);
            entry(may_export(c, &room(at), &creds, 100))
                .and_then(|e| may_export_as(&e).map_err(|p| p.code))
        };
        let mut c = jwt_config();
        c.api_token = Some("api".into());
        assert_eq!(export(&c, Some("Bearer api"), &[], "x"), Ok(()));
        let moderator = crate::jwt::tests::hs256(
            "jwt-secret",
            &json!({"sub":"m","name":"Mo","exp":500,"role":"moderator","rooms":["x"]}),
        );
        let member = crate::jwt::tests::hs256(
            "jwt-secret",
            &json!({"sub":"a","name":"Ann","exp":500,"rooms":["x"]}),
        );
        assert_eq!(export(&c, None, &q(&[("token", &moderator)]), "x"), Ok(()));
        let bearer = format!("Bearer {moderator}");
        assert_eq!(export(&c, Some(&bearer), &[], "x"), Ok(()));
        assert_eq!(
            export(&c, None, &q(&[("token", &moderator)]), "y"),
            Err(ErrorCode::Forbidden),
            "a moderator of another room"
        );
        assert_eq!(
            export(&c, None, &q(&[("token", &member)]), "x"),
            Err(ErrorCode::Forbidden)
        );
        assert_eq!(export(&c, None, &[], "x"), Err(ErrorCode::Unauthorized));
        // An open deployment has no moderators: the API token only.
        let mut open = config();
        assert_eq!(export(&open, None, &[], "x"), Err(ErrorCode::Unauthorized));
        open.api_token = Some("api".into());
        assert_eq!(export(&open, Some("Bearer api"), &[], "x"), Ok(()));
        assert_eq!(
            export(&open, Some("Bearer nope"), &[], "x"),
            Err(ErrorCode::Unauthorized)
        );
    }

    #[test]
    fn a_jwt_gives_name_uid_role_and_expiry_and_v1_tokens_need_auth_secret() {
        let c = jwt_config();
        let t = crate::jwt::tests::hs256(
            "jwt-secret",
            &json!({"sub":"auth0|42","name":"Ann","exp":500,"role":"moderator","rooms":["x"]}),
        );
        let j = check_join_at(
            &q(&[("token", &t), ("name", "mallory")]),
            &room("x"),
            &c,
            100,
        )
        .unwrap();
        assert_eq!(j.name.as_str(), "Ann");
        assert_eq!(j.uid, Some(identity::uid_of_subject("", "auth0|42")));
        assert_eq!(j.role, Role::Moderator);
        assert_eq!(j.expires, Some(500));
        assert_eq!(
            check_join_at(&q(&[("token", &t)]), &room("y"), &c, 100)
                .unwrap_err()
                .code,
            ErrorCode::Forbidden,
            "a token for other rooms only"
        );
        assert_eq!(
            check_join_at(&q(&[("token", &t)]), &room("x"), &c, 600)
                .unwrap_err()
                .code,
            ErrorCode::TokenExpired
        );
        // JWT_SECRET alone: v1. tokens are refused, and open access is over
        assert_eq!(
            check_join_at(&q(&[("token", &token("x", 500))]), &room("x"), &c, 100)
                .unwrap_err()
                .code,
            ErrorCode::Unauthorized
        );
        assert_eq!(
            check_join_at(&q(&[("name", "ann")]), &room("x"), &c, 100)
                .unwrap_err()
                .code,
            ErrorCode::Unauthorized
        );
        // both kinds side by side
        let mut both = secured();
        both.jwt.secret = Some("jwt-secret".into());
        assert!(check_join_at(&q(&[("token", &token("x", 500))]), &room("x"), &both, 100).is_ok());
        assert!(check_join_at(&q(&[("token", &t)]), &room("x"), &both, 100).is_ok());
    }

    #[test]
    fn a_renewal_keeps_the_author() {
        let session = |uid: &str| {
            Entry::Signed(Session {
                name: "Ann".into(),
                uid: uid.into(),
                role: Role::Moderator,
                exp: 900,
            })
        };
        assert_eq!(check_renewal(Some("u1"), &session("u1")).unwrap().exp, 900);
        assert_eq!(
            check_renewal(Some("u1"), &session("u2")).unwrap_err().code,
            ErrorCode::Forbidden
        );
        assert_eq!(
            check_renewal(None, &session("u2")).unwrap_err().code,
            ErrorCode::Forbidden
        );
        assert_eq!(
            check_renewal(Some("u1"), &Entry::Open).unwrap_err().code,
            ErrorCode::Disabled
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

    #[test]
    fn a_direct_message_asks_only_who_the_holder_is() {
        let dm_room = crate::inbox::dm::room_of(&["a".to_string(), "b".to_string()]).unwrap();
        let c = secured();
        let for_lobby = token("lobby", 100);
        let creds = Credentials::new(None, &[]);
        let with_token = Credentials {
            query_token: Some(&for_lobby),
            ..creds
        };
        assert!(
            matches!(
                entry(may_enter(&c, &dm_room, &with_token, false, 50)),
                Ok(Entry::Signed(_))
            ),
            "a token for another room says who its holder is; the room checks the uid"
        );
        assert_eq!(
            entry(may_enter(&c, &room("elsewhere"), &with_token, false, 50)),
            Err(ErrorCode::Unauthorized),
            "a room that is not a direct message still asks the token's room"
        );
        let api = Credentials {
            authorization: Some("Bearer api"),
            ..creds
        };
        assert_eq!(
            entry(may_enter(&c, &dm_room, &api, true, 50)),
            Err(ErrorCode::Unauthorized),
            "the API token reads no direct message"
        );
        let mut j = jwt_config();
        j.jwt.secret = Some("jwt-secret".into());
        let scoped = crate::jwt::tests::hs256(
            "jwt-secret",
            &json!({"sub":"ann","exp":500,"rooms":["general"]}),
        );
        let with_jwt = Credentials {
            query_token: Some(&scoped),
            ..creds
        };
        assert!(matches!(
            entry(may_enter(&j, &dm_room, &with_jwt, false, 100)),
            Ok(Entry::Signed(_))
        ));
        assert_eq!(
            entry(may_enter(&j, &room("other"), &with_jwt, false, 100)),
            Err(ErrorCode::Forbidden)
        );
    }
}
