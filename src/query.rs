//! A URL's query string, read once: the decoded `key=value` pairs, and the first value of a key.
//! A leaf: the Worker's routes, the Worker → object calls, the shards' records and the search
//! parameters all read queries, and none of them has to import another for it.

/// The decoded `key=value` pairs of a raw query string (without `?`), in order.
pub fn query_pairs(raw: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect()
}

/// The first value of `key` in a decoded query string (`url::Url::query_pairs`, collected).
pub fn query_value<'a>(query: &'a [(String, String)], key: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}
