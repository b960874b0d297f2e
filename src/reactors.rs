//! Who reacted to a message: a reaction's counts travel with the message, but the people behind them
//! are read on demand, one emoji at a time, in pages — a message may carry thousands of 👍 and a page
//! hovering one of them wants a few names. [`ReactorsRequest`] is that read as the `reactors` frame and
//! `GET /api/rooms/{room}/messages/{seq}/reactions` both ask for it (the HTTP query is also how the
//! Worker hands it to the room's object), checked once here for both.

use crate::error::{ErrorCode, Problem};
use crate::identity;
use crate::validate;

/// Most people in one page, and how many when the request does not say.
pub const MAX_REACTORS_PAGE: usize = 100;
pub const DEFAULT_REACTORS_PAGE: usize = 20;

/// Who reacted to message `seq` with `emoji`: up to `limit` of them, in uid order, after the uid
/// `after` (the previous page's `next`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactorsRequest {
    pub seq: u64,
    pub emoji: String,
    pub after: Option<String>,
    pub limit: usize,
}

impl ReactorsRequest {
    /// Checks the parts as a frame or a query string carries them.
    pub fn new(
        seq: u64,
        emoji: Option<String>,
        after: Option<String>,
        limit: Option<u64>,
    ) -> Result<ReactorsRequest, Problem> {
        let emoji = emoji.ok_or_else(|| {
            Problem::new(
                ErrorCode::BadRequest,
                "reactors needs the \"emoji\" whose people to list",
            )
        })?;
        validate::check_emoji(&emoji)?;
        if let Some(after) = &after {
            // The cursor is a uid; anything else could not have come from a page.
            identity::check_uid(after).map_err(|_| {
                Problem::new(
                    ErrorCode::BadRequest,
                    "after must be the next of an earlier page",
                )
            })?;
        }
        let limit = match limit {
            None => DEFAULT_REACTORS_PAGE,
            Some(n) if (1..=MAX_REACTORS_PAGE as u64).contains(&n) => n as usize,
            Some(_) => {
                return Err(Problem::new(
                    ErrorCode::BadLimit,
                    format!("limit must be an integer from 1 to {MAX_REACTORS_PAGE}"),
                ))
            }
        };
        Ok(ReactorsRequest {
            seq,
            emoji,
            after,
            limit,
        })
    }

    /// From a query string (`emoji`, `after`, `limit`) and the message's `seq` (the path's).
    pub fn from_query(seq: u64, query: &[(String, String)]) -> Result<ReactorsRequest, Problem> {
        let get = |key: &str| crate::query::query_value(query, key);
        // Not a number reads as one past any limit: refused with the same words.
        let limit = get("limit").map(|l| l.parse::<u64>().unwrap_or(u64::MAX));
        ReactorsRequest::new(
            seq,
            get("emoji").map(str::to_string),
            get("after").map(str::to_string),
            limit,
        )
    }

    /// The query-string pairs [`ReactorsRequest::from_query`] reads back (the seq goes apart).
    pub fn to_query(&self, query: &mut form_urlencoded::Serializer<'_, String>) {
        query.append_pair("emoji", &self.emoji);
        if let Some(after) = &self.after {
            query.append_pair("after", after);
        }
        query.append_pair("limit", &self.limit.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
        q.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_request_reads_from_a_query_string_and_back() {
        let r = ReactorsRequest::from_query(7, &pairs(&[("emoji", "👍🏽")])).unwrap();
        assert_eq!(
            (r.seq, r.after.as_deref(), r.limit),
            (7, None, DEFAULT_REACTORS_PAGE)
        );
        let r = ReactorsRequest {
            after: Some("anon:3f9c".into()),
            limit: 5,
            ..r
        };
        let mut ser = form_urlencoded::Serializer::new(String::new());
        r.to_query(&mut ser);
        let back = crate::query::query_pairs(&ser.finish());
        assert_eq!(ReactorsRequest::from_query(7, &back), Ok(r));
    }

    #[test]
    fn bad_parts_are_refused_with_the_code_a_client_can_act_on() {
        let code = |q: &[(&str, &str)]| ReactorsRequest::from_query(1, &pairs(q)).unwrap_err().code;
        assert_eq!(code(&[]), ErrorCode::BadRequest);
        assert_eq!(code(&[("emoji", "hello")]), ErrorCode::BadRequest);
        assert_eq!(
            code(&[("emoji", "👍"), ("after", "a b")]),
            ErrorCode::BadRequest
        );
        assert_eq!(
            code(&[("emoji", "👍"), ("limit", "0")]),
            ErrorCode::BadLimit
        );
        assert_eq!(
            code(&[("emoji", "👍"), ("limit", "101")]),
            ErrorCode::BadLimit
        );
        assert_eq!(
            code(&[("emoji", "👍"), ("limit", "ten")]),
            ErrorCode::BadLimit
        );
    }
}
