//! Who a person is wherever they go — their inbox (`/ws/me`, `/api/me`), `POST /api/dms`, a reader of
//! a direct message — from what [`crate::access`] admitted: a token's holder (a token for any room
//! will do), or without signed access the holder of a `key=`. Nobody else is a person: an anonymous
//! connection, or the `API_TOKEN`.

use crate::access::Entry;
use crate::call::CallRequest;
use crate::error::{ErrorCode, Problem};
use crate::identity::{self, Key};
use crate::query::query_value;
use crate::subprotocol::Offer;
use crate::validate::UserName;

/// A person, as their inbox knows them: their uid, and the name they came with (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub uid: String,
    pub name: Option<String>,
}

/// The person an [`Entry`] from [`may_identify`] is: a token's holder, or without signed access the
/// holder of the `key=` (in the query or the handshake's offer), with the `name=` they give. No
/// identity — no token, no key, the `API_TOKEN` — is `unauthorized`: an inbox is nobody's but its
/// person's.
pub fn person(
    entry: &Entry,
    query: &[(String, String)],
    offer: &Offer<'_>,
) -> Result<Person, Problem> {
    match entry {
        Entry::Signed(session) => Ok(Person {
            uid: session.uid.clone(),
            name: Some(session.name.clone()),
        }),
        Entry::Open => {
            let key = query_value(query, "key").or(offer.key).ok_or_else(|| {
                Problem::new(
                    ErrorCode::Unauthorized,
                    "say who you are: key= (or a signed token where the server wants one)",
                )
            })?;
            let name = query_value(query, "name")
                .map(|n| UserName::parse(n).map(UserName::into_string))
                .transpose()?;
            Ok(Person {
                uid: Key::parse(key)?.uid(),
                name,
            })
        }
        Entry::Backend => Err(Problem::new(
            ErrorCode::Unauthorized,
            "the API token is nobody's: send a person's token or key",
        )),
    }
}

/// The uid of whoever reads a room over HTTP with `entry` (a direct message admits its members
/// only): a token's holder, or the holder of `key=` in an open deployment; `None` for anybody else.
pub fn reader(entry: &Entry, query: &[(String, String)]) -> Result<Option<String>, Problem> {
    match entry {
        Entry::Signed(session) => Ok(Some(session.uid.clone())),
        Entry::Open => query_value(query, "key")
            .map(|k| Key::parse(k).map(|k| k.uid()))
            .transpose(),
        Entry::Backend => Ok(None),
    }
}

/// `request` with who reads (`reader=`): a direct message admits its members only, and only the
/// room knows them (see [`reader`]).
pub fn read_by(mut request: CallRequest, reader: Option<&str>) -> CallRequest {
    if let Some(uid) = reader {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("reader", uid);
        request.url = format!("{}&{}", request.url, query.finish());
    }
    request
}

/// Who reads, as [`read_by`] said it (a checked uid), from the object's raw query.
pub fn reader_of(raw_query: &str) -> Option<String> {
    let query = crate::query::query_pairs(raw_query);
    crate::query::query_value(&query, "reader")
        .and_then(|uid| identity::check_uid(uid).ok())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{may_identify, Admission, Credentials};
    use crate::auth::{self, Grant};
    use crate::config::Config;
    use crate::identity;

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
    fn a_person_is_a_token_holder_or_a_key_holder_and_nobody_else() {
        let c = secured();
        let t = token("lobby", 100);
        let creds = Credentials::new(None, &[]);
        let signed = entry(may_identify(
            &c,
            &Credentials {
                query_token: Some(&t),
                ..creds
            },
            50,
        ))
        .unwrap();
        let p = person(
            &signed,
            &q(&[("key", "0123456789abcdef-ann")]),
            &Offer::default(),
        )
        .unwrap();
        assert_eq!(p.uid, identity::uid_of_grant(None, "signed-ann").unwrap());
        assert_eq!(p.name.as_deref(), Some("signed-ann"));
        assert_eq!(
            entry(may_identify(&c, &creds, 50)),
            Err(ErrorCode::Unauthorized),
            "no token where the server wants one"
        );
        let key = "0123456789abcdef-ann";
        let open = entry(may_identify(&config(), &creds, 0)).unwrap();
        let p = person(
            &open,
            &q(&[("key", key), ("name", "Ann")]),
            &Offer::default(),
        )
        .unwrap();
        assert_eq!(p.uid, Key::parse(key).unwrap().uid());
        assert_eq!(p.name.as_deref(), Some("Ann"));
        let header = format!("edge-chat, key.{key}");
        let offered = person(&open, &[], &Offer::parse(Some(&header))).unwrap();
        assert_eq!(offered.uid, p.uid, "the key may come in the handshake");
        assert_eq!(
            person(&open, &[], &Offer::default()).unwrap_err().code,
            ErrorCode::Unauthorized
        );
        assert_eq!(
            person(&Entry::Backend, &[], &Offer::default())
                .unwrap_err()
                .code,
            ErrorCode::Unauthorized
        );
        assert_eq!(
            reader(&open, &q(&[("key", key)])).unwrap(),
            Some(p.uid.clone())
        );
        assert_eq!(reader(&open, &[]).unwrap(), None);
        assert_eq!(reader(&Entry::Backend, &[]).unwrap(), None);
    }

    #[test]
    fn who_reads_rides_along_with_any_read_and_only_a_checked_uid_comes_out() {
        use crate::call::RoomCall;
        use crate::validate::RoomName;
        let room = |r: &str| RoomName::parse(r).unwrap();
        let read = read_by(
            RoomCall::Info {
                room: room("r"),
                operator: false,
            }
            .to_request(),
            Some("u-ann"),
        );
        let query = read.url.split_once('?').unwrap().1;
        assert_eq!(reader_of(query), Some("u-ann".to_string()));
        assert_eq!(reader_of("room=r&reader=bad%20uid"), None);
        assert_eq!(reader_of("room=r"), None);
        assert_eq!(
            RoomCall::parse("GET", "/info", query, None),
            Ok(RoomCall::Info {
                room: room("r"),
                operator: false
            })
        );
    }

    #[test]
    fn every_read_of_a_room_is_a_persons_and_a_post_a_bots() {
        use crate::api::Post;
        use crate::call::RoomCall;
        use crate::inbox::dm;
        use crate::validate::RoomName;
        let room = |r: &str| RoomName::parse(r).unwrap();
        let info = RoomCall::Info {
            room: room("r"),
            operator: true,
        };
        assert_eq!(info.asker(Some("u")), dm::Asker::Person(Some("u")));
        assert_eq!(info.asker(None), dm::Asker::Person(None));
        let post = RoomCall::Post {
            room: room("r"),
            post: Post::parse(r#"{"name":"bot","text":"hi"}"#).unwrap(),
        };
        assert_eq!(post.asker(Some("u")), dm::Asker::Bot);
    }
}
