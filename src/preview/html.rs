//! What a page says of itself, read from its HTML without a DOM: the `<meta>` tags of Open Graph
//! (`og:title`, `og:description`, `og:site_name`, `og:image`), of Twitter cards (`twitter:title`, …)
//! and the plain `description`, and the `<title>`. Only those are looked at; comments, scripts and
//! styles are skipped whole, so a `<meta` inside a script counts for nothing.
//!
//! What comes out is plain text: entities decoded, whitespace collapsed, control characters dropped
//! and each part cut to a bounded length. A client shows it as text; no HTML of the page reaches it.

use super::address::PageUrl;
use crate::domain::Preview;

/// Longest title, description and site name a preview keeps, in characters.
pub const MAX_TITLE_CHARS: usize = 300;
pub const MAX_DESCRIPTION_CHARS: usize = 1000;
pub const MAX_SITE_CHARS: usize = 100;

/// The preview of the page `page` (its HTML `html`) for the link `link` as the message wrote it,
/// if the page has a title or a description. `allow` is `PREVIEW_ALLOW_HOSTS`: an image is kept only
/// if a preview could fetch it too.
pub fn read(link: &str, page: &PageUrl, html: &str, allow: &[String]) -> Option<Preview> {
    let tags = Tags::scan(html);
    let title = tags
        .meta("og:title")
        .or_else(|| tags.meta("twitter:title"))
        .or(tags.title.as_deref())
        .map(|t| clean(t, MAX_TITLE_CHARS))
        .unwrap_or_default();
    let description = tags
        .meta("og:description")
        .or_else(|| tags.meta("twitter:description"))
        .or_else(|| tags.meta("description"))
        .map(|t| clean(t, MAX_DESCRIPTION_CHARS))
        .unwrap_or_default();
    if title.is_empty() && description.is_empty() {
        return None;
    }
    let site = tags
        .meta("og:site_name")
        .map(|s| clean(s, MAX_SITE_CHARS))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| page.site());
    let image = [
        "og:image:secure_url",
        "og:image:url",
        "og:image",
        "twitter:image",
        "twitter:image:src",
    ]
    .iter()
    .find_map(|key| tags.meta(key))
    .and_then(|src| page.join(&decode(src)))
    .filter(|url| url.check(allow).is_ok())
    .map(|url| url.to_string());
    Some(Preview {
        url: link.to_string(),
        title,
        description,
        site,
        image,
    })
}

/// The tags of a page that a preview reads.
#[derive(Debug, Default)]
struct Tags {
    /// `(property or name, content)` of each `<meta>`, in order, keys lower-cased.
    meta: Vec<(String, String)>,
    title: Option<String>,
}

impl Tags {
    fn meta(&self, key: &str) -> Option<&str> {
        self.meta
            .iter()
            .find(|(k, v)| k == key && !v.trim().is_empty())
            .map(|(_, v)| v.as_str())
    }

    fn scan(html: &str) -> Tags {
        let mut tags = Tags::default();
        let lower = html.to_ascii_lowercase();
        let mut at = 0;
        while let Some(open) = lower[at..].find('<').map(|i| at + i) {
            let rest = &lower[open + 1..];
            if rest.starts_with("!--") {
                at = lower[open..]
                    .find("-->")
                    .map_or(lower.len(), |i| open + i + 3);
                continue;
            }
            let name_len = rest
                .find(|c: char| !c.is_ascii_alphanumeric())
                .unwrap_or(rest.len());
            let name = &rest[..name_len];
            let Some(close) = tag_end(&lower, open) else {
                break;
            };
            match name {
                "meta" => {
                    let attrs = attributes(&html[open + 1 + name_len..close]);
                    let key = attrs
                        .iter()
                        .find(|(k, _)| k == "property" || k == "name")
                        .map(|(_, v)| v.trim().to_ascii_lowercase());
                    let content = attrs.iter().find(|(k, _)| k == "content");
                    if let (Some(key), Some((_, content))) = (key, content) {
                        tags.meta.push((key, content.clone()));
                    }
                }
                "title" | "script" | "style" | "textarea" => {
                    let end_tag = format!("</{name}");
                    let end = lower[close..]
                        .find(&end_tag)
                        .map_or(lower.len(), |i| close + i);
                    if name == "title" && tags.title.is_none() {
                        tags.title = Some(html[close + 1..end.max(close + 1)].to_string());
                    }
                    at = end;
                    continue;
                }
                // The body begins: a page's own tags are all said by now.
                "body" => break,
                _ => {}
            }
            at = close + 1;
        }
        tags
    }
}

/// Where the tag opened at `open` ends: its `>` outside quoted attribute values.
fn tag_end(html: &str, open: usize) -> Option<usize> {
    let mut quote = None;
    for (i, b) in html.bytes().enumerate().skip(open + 1) {
        match (quote, b) {
            (None, b'>') => return Some(i),
            (None, b'"' | b'\'') => quote = Some(b),
            (Some(q), _) if q == b => quote = None,
            _ => {}
        }
    }
    None
}

/// The attributes of a tag (`key=value`, `key="value"`, `key='value'`, bare `key`), keys lower-cased,
/// values with their entities as written.
fn attributes(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text.trim_start_matches(['/', ' ', '\t', '\n', '\r']);
    while !rest.is_empty() {
        let key_end = rest
            .find(|c: char| c == '=' || c.is_ascii_whitespace() || c == '/')
            .unwrap_or(rest.len());
        let key = rest[..key_end].to_ascii_lowercase();
        rest = rest[key_end..].trim_start();
        let mut value = String::new();
        if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (v, next) = match after.chars().next() {
                Some(q @ ('"' | '\'')) => match after[1..].find(q) {
                    Some(i) => (&after[1..1 + i], &after[2 + i..]),
                    None => (&after[1..], ""),
                },
                _ => {
                    let end = after
                        .find(|c: char| c.is_ascii_whitespace())
                        .unwrap_or(after.len());
                    (&after[..end], &after[end..])
                }
            };
            value = v.to_string();
            rest = next;
        }
        let stray = key_end == 0 && value.is_empty();
        if !key.is_empty() {
            out.push((key, value));
        }
        rest = rest.trim_start_matches(['/', ' ', '\t', '\n', '\r']);
        if stray {
            // A stray character (`=` with nothing before it): step over it.
            rest = rest.get(1..).unwrap_or("");
        }
    }
    out
}

/// Text from HTML: entities decoded, whitespace collapsed into single spaces, control characters
/// dropped, at most `max` characters.
fn clean(text: &str, max: usize) -> String {
    let decoded = decode(text);
    let mut out = String::new();
    let mut count = 0;
    for word in decoded.split_whitespace() {
        for c in (!out.is_empty())
            .then_some(' ')
            .into_iter()
            .chain(word.chars())
        {
            if c.is_control() {
                continue;
            }
            if count == max {
                return out;
            }
            out.push(c);
            count += 1;
        }
    }
    out
}

/// Decodes the character references a page's tags use: numeric ones and the few named ones that
/// titles hold; any other `&…;` stays as written.
fn decode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let end = rest[1..].find(';').map(|i| i + 1).filter(|&i| i <= 10);
        let decoded = end.and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                "nbsp" => ' ',
                "mdash" => '—',
                "ndash" => '–',
                "hellip" => '…',
                "rsquo" => '’',
                "lsquo" => '‘',
                "rdquo" => '”',
                "ldquo" => '“',
                _ => {
                    let n = entity.strip_prefix('#')?;
                    let code = match n.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => n.parse().ok()?,
                    };
                    char::from_u32(code).filter(|c| *c != '\0')?
                }
            };
            Some((c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> PageUrl {
        PageUrl::parse("https://www.example.com/post/1").unwrap()
    }

    #[test]
    fn open_graph_wins_then_twitter_then_plain_tags() {
        let html = r#"<!doctype html><html><head>
            <title>Plain &amp; simple</title>
            <meta name="twitter:title" content="Twitter title">
            <meta property="og:title" content="An &quot;OG&quot; title &#x1F600;">
            <META NAME=description CONTENT='The   plain
              description'>
            <meta property="og:site_name" content="Example News">
            <meta property="og:image" content="/img/cover.png">
            </head><body><meta property="og:title" content="ignored"></body></html>"#;
        let p = read("https://example.com/post/1", &page(), html, &[]).unwrap();
        assert_eq!(p.title, "An \"OG\" title 😀");
        assert_eq!(p.description, "The plain description");
        assert_eq!(p.site, "Example News");
        assert_eq!(
            p.image.as_deref(),
            Some("https://www.example.com/img/cover.png")
        );
        assert_eq!(p.url, "https://example.com/post/1");
    }

    #[test]
    fn a_title_alone_will_do_and_the_site_is_the_host() {
        let p = read("x", &page(), "<title>\n Hello\tworld </title>", &[]).unwrap();
        assert_eq!(p.title, "Hello world");
        assert_eq!(p.description, "");
        assert_eq!(p.site, "example.com");
        assert_eq!(p.image, None);
        assert_eq!(read("x", &page(), "<p>no tags</p>", &[]), None);
        assert_eq!(read("x", &page(), "", &[]), None);
    }

    #[test]
    fn what_comes_out_is_bounded_plain_text() {
        let html = format!(
            "<meta property=og:title content=\"<script>alert(1)</script>\u{7}{}\">",
            "x".repeat(5000)
        );
        let p = read("x", &page(), &html, &[]).unwrap();
        assert!(p.title.starts_with("<script>alert(1)</script>x"));
        assert_eq!(p.title.chars().count(), MAX_TITLE_CHARS);
        assert!(!p.title.contains('\u{7}'));
    }

    #[test]
    fn scripts_comments_and_private_images_count_for_nothing() {
        let html = r#"<script>var s = '<meta property="og:title" content="from a script">';</script>
            <!-- <meta property="og:title" content="from a comment"> -->
            <meta property="og:title" content="real">
            <meta property="og:image" content="http://169.254.169.254/latest">"#;
        let p = read("x", &page(), html, &[]).unwrap();
        assert_eq!(p.title, "real");
        assert_eq!(p.image, None);
    }

    #[test]
    fn broken_html_never_panics() {
        for html in [
            "<",
            "<meta",
            "<meta content=",
            "<meta content='x",
            "<title>",
            "<!--",
            "<meta =x>",
            "<meta property=og:title content=&#99999999;>",
            "&",
            "<title>&#x;</title>",
            "<é<ü>",
        ] {
            let _ = read("x", &page(), html, &[]);
        }
        assert_eq!(decode("a &bogus; &#0; &#65;&#x42;"), "a &bogus; &#0; AB");
    }
}
