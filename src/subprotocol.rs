//! Credentials that stay out of URLs: a socket's `key` (and token) in the WebSocket handshake's
//! `Sec-WebSocket-Protocol` header instead of its query.
//!
//! A socket URL is printed by browsers in every failed-connection error and kept by any proxy that logs
//! URLs, so a secret in its query (`?key=`, `?token=`) leaks. A browser's `WebSocket` cannot set
//! headers — except the list of subprotocols it offers. So a client offers
//! `new WebSocket(url, ["edge-chat", "key.<key>"])` (and/or `"token.<token>"`): every key and token
//! character (`A-Z a-z 0-9 _ - .`) is allowed in a subprotocol name. The server answers with
//! `Sec-WebSocket-Protocol: edge-chat`, which a browser requires (it fails a connection whose answer
//! names none of the offered protocols). `?key=` and `?token=` keep working for older clients; a value
//! in the query wins over one in the header, as it did before there was one.

/// The subprotocol a client offers first, and the one the server answers with.
pub const PROTOCOL: &str = "edge-chat";
const KEY_PREFIX: &str = "key.";
const TOKEN_PREFIX: &str = "token.";

/// What a handshake's `Sec-WebSocket-Protocol` offered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Offer<'a> {
    /// The client offered [`PROTOCOL`]: the answer must name it.
    pub edge_chat: bool,
    /// `key.<key>`: the identity key (checked as any key is, by `identity::Key::parse`).
    pub key: Option<&'a str>,
    /// `token.<token>`: a signed token (`v1.` or a JWT).
    pub token: Option<&'a str>,
}

impl<'a> Offer<'a> {
    /// Reads the header's comma-separated list; anything else in it is ignored. Credentials count only
    /// beside [`PROTOCOL`]: a client that offers them expects the answer that names it.
    pub fn parse(header: Option<&'a str>) -> Offer<'a> {
        let mut offer = Offer::default();
        for item in header.unwrap_or("").split(',').map(str::trim) {
            if item == PROTOCOL {
                offer.edge_chat = true;
            } else if let Some(key) = item.strip_prefix(KEY_PREFIX) {
                offer.key = offer.key.or(Some(key));
            } else if let Some(token) = item.strip_prefix(TOKEN_PREFIX) {
                offer.token = offer.token.or(Some(token));
            }
        }
        if !offer.edge_chat {
            offer.key = None;
            offer.token = None;
        }
        offer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_ride_beside_the_protocol_name_and_nothing_else_counts() {
        let o = Offer::parse(Some(
            "edge-chat, key.0123456789abcdef-ann, token.v1.abc.def",
        ));
        assert_eq!(
            o,
            Offer {
                edge_chat: true,
                key: Some("0123456789abcdef-ann"),
                token: Some("v1.abc.def"),
            }
        );
        assert_eq!(Offer::parse(None), Offer::default());
        assert_eq!(Offer::parse(Some("chat, superchat")), Offer::default());
        // without our protocol name the client expects no answer from us: no credentials either
        assert_eq!(
            Offer::parse(Some("key.0123456789abcdef-ann")),
            Offer::default()
        );
        let first = Offer::parse(Some(
            "key.first-key-0123456789,edge-chat,key.second-key-012345",
        ));
        assert_eq!(first.key, Some("first-key-0123456789"));
        assert_eq!(Offer::parse(Some("edge-chat")).key, None);
    }
}
