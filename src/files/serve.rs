//! How a stored file is served (`GET /api/rooms/{room}/files/{id}`): the headers that make a file
//! safe to serve from the chat's own origin, and the one byte range a request may ask for.
//!
//! Whatever a file holds (an HTML page, an SVG with a script, a PDF), it must never run as the chat:
//! `X-Content-Type-Options: nosniff` keeps the browser to the stored type, a `Content-Security-Policy`
//! with `sandbox` puts a file opened on its own into an opaque origin with no script, and only the
//! raster images whose bytes were checked ([`super::sniff::Raster`]) are `inline`; everything else is
//! an `attachment`, downloaded rather than shown.

use super::sniff::Raster;

/// The policy every file is served with: nothing may load but the file itself, and it runs in a
/// sandbox (no script, an opaque origin).
pub const FILE_CSP: &str = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox";

/// Files never change under their id, but a deleted message takes its files along: a browser keeps
/// a copy for itself only (`private`), for an hour.
pub const CACHE_CONTROL: &str = "private, max-age=3600";

/// The headers of a file's download, besides those of its range: its stored type, how it is
/// opened, and the safety headers above.
pub fn headers(content_type: &str, name: &str, etag: &str) -> Vec<(&'static str, String)> {
    let inline = Raster::of_type(content_type).is_some();
    vec![
        ("content-type", content_type.to_string()),
        ("content-disposition", disposition(name, inline)),
        ("x-content-type-options", "nosniff".to_string()),
        ("content-security-policy", FILE_CSP.to_string()),
        ("cache-control", CACHE_CONTROL.to_string()),
        ("accept-ranges", "bytes".to_string()),
        ("etag", etag.to_string()),
    ]
}

/// `Content-Disposition` for `name` (RFC 6266): `inline` or `attachment`, a plain ASCII `filename`
/// for old clients (anything else becomes `_`, quotes and backslashes too) and the exact name as
/// `filename*` in UTF-8, percent-encoded (RFC 8187), so no name can break out of the header.
pub fn disposition(name: &str, inline: bool) -> String {
    let ascii: String = name
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' => c,
            _ => '_',
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    let kind = if inline { "inline" } else { "attachment" };
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// The one byte range a download asks for (`Range: bytes=…`), as the bucket reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// From `offset`, `length` bytes (to the end when `None`).
    From { offset: u64, length: Option<u64> },
    /// The last `n` bytes.
    Last(u64),
}

impl ByteRange {
    /// A `Range` header of one range (`bytes=0-99`, `bytes=100-`, `bytes=-500`); `None` for
    /// anything else (several ranges, another unit, nonsense), which is answered with the whole
    /// file, as RFC 9110 allows.
    pub fn parse(header: &str) -> Option<ByteRange> {
        let spec = header.trim().strip_prefix("bytes=")?.trim();
        let (first, last) = spec.split_once('-')?;
        let number = |s: &str| -> Option<u64> {
            let s = s.trim();
            (!s.is_empty() && s.len() <= 15 && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        match (first.trim().is_empty(), last.trim().is_empty()) {
            (true, false) => number(last).filter(|&n| n > 0).map(ByteRange::Last),
            (false, true) => Some(ByteRange::From {
                offset: number(first)?,
                length: None,
            }),
            (false, false) => {
                let (a, b) = (number(first)?, number(last)?);
                (b >= a).then(|| ByteRange::From {
                    offset: a,
                    length: Some(b - a + 1),
                })
            }
            (true, true) => None,
        }
    }
}

/// `Content-Range` of the bytes `offset .. offset + length` of a file of `size` bytes.
pub fn content_range(offset: u64, length: u64, size: u64) -> String {
    let last = (offset + length).min(size).saturating_sub(1);
    format!("bytes {offset}-{last}/{size}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'a>(all: &'a [(&'static str, String)], name: &str) -> &'a str {
        &all.iter().find(|(k, _)| *k == name).unwrap().1
    }

    #[test]
    fn only_checked_images_are_inline_and_everything_is_sandboxed() {
        let png = headers("image/png", "a.png", "\"e\"");
        assert!(header(&png, "content-disposition").starts_with("inline;"));
        for ty in [
            "image/svg+xml",
            "text/html",
            "application/pdf",
            "text/plain",
        ] {
            let h = headers(ty, "x", "\"e\"");
            assert!(
                header(&h, "content-disposition").starts_with("attachment;"),
                "{ty}"
            );
            assert_eq!(header(&h, "x-content-type-options"), "nosniff");
            assert!(header(&h, "content-security-policy").contains("sandbox"));
            assert_eq!(header(&h, "content-type"), ty);
        }
        assert!(header(&png, "cache-control").starts_with("private"));
    }

    #[test]
    fn names_cannot_break_out_of_the_disposition() {
        assert_eq!(
            disposition("a\"b\\c;\r\nd.png", false),
            "attachment; filename=\"a_b_c;__d.png\"; filename*=UTF-8''a%22b%5Cc%3B%0D%0Ad.png"
        );
        assert_eq!(
            disposition("Zoë 1.jpg", true),
            "inline; filename=\"Zo_ 1.jpg\"; filename*=UTF-8''Zo%C3%AB%201.jpg"
        );
    }

    #[test]
    fn one_range_is_read_anything_else_is_the_whole_file() {
        assert_eq!(
            ByteRange::parse("bytes=0-99"),
            Some(ByteRange::From {
                offset: 0,
                length: Some(100)
            })
        );
        assert_eq!(
            ByteRange::parse("bytes=100-"),
            Some(ByteRange::From {
                offset: 100,
                length: None
            })
        );
        assert_eq!(ByteRange::parse("bytes=-500"), Some(ByteRange::Last(500)));
        for whole in [
            "bytes=0-1,5-6",
            "items=0-1",
            "bytes=5-1",
            "bytes=-",
            "bytes=-0",
            "bytes=a-b",
            "bytes=99999999999999999999-",
            "",
        ] {
            assert_eq!(ByteRange::parse(whole), None, "{whole}");
        }
        assert_eq!(content_range(0, 100, 1000), "bytes 0-99/1000");
        assert_eq!(content_range(900, 500, 1000), "bytes 900-999/1000");
    }
}
