//! Link previews: the first `http(s)` link of a new message ([`first_link`]) is fetched by the room
//! after the message is stored and acknowledged, and what the page says of itself is recorded on the
//! message as a later change (a `message_updated` under a new `rev`). Everything a fetch decides is
//! here, pure: which URL may be fetched ([`address`]), what to do with each answer ([`Fetch::answered`]:
//! follow a redirect, read the page, or stop), and what the page says ([`html`]). The Durable Object
//! only carries it out (`worker/previews.rs`) within the bounds below.

pub mod address;
pub mod html;

use address::PageUrl;

/// The whole fetch, redirects and reading included, must be done within this (ms).
pub const TIMEOUT_MS: u32 = 3000;
/// At most this much of a page is read (bytes); its head is in there, or the page gets no preview.
pub const MAX_PAGE_BYTES: usize = 512 * 1024;
/// At most this many redirects are followed.
pub const MAX_REDIRECTS: u8 = 3;
/// At most this many previews are fetched at once per room: more links in that time get none.
pub const MAX_IN_FLIGHT: usize = 8;

/// The first `http://` or `https://` link in `text` (at the start of a word, to its first space or
/// `<>"` `` ` ``, without trailing punctuation or an unmatched closing bracket), if any.
pub fn first_link(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("http").map(|i| from + i) {
        from = i + 4;
        let rest = &lower[i..];
        if !(rest.starts_with("http://") || rest.starts_with("https://")) {
            continue;
        }
        if text[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
        {
            continue;
        }
        let end = text[i..]
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '`'))
            .map_or(text.len(), |e| i + e);
        let mut link = &text[i..end];
        loop {
            let trimmed = link.trim_end_matches(['.', ',', ';', ':', '!', '?', '\'', '*', '_']);
            let trimmed = match trimmed.chars().last() {
                Some(close @ (')' | ']' | '}')) => {
                    let open = match close {
                        ')' => '(',
                        ']' => '[',
                        _ => '{',
                    };
                    if trimmed.matches(close).count() > trimmed.matches(open).count() {
                        &trimmed[..trimmed.len() - 1]
                    } else {
                        trimmed
                    }
                }
                _ => trimmed,
            };
            if trimmed.len() == link.len() {
                break;
            }
            link = trimmed;
        }
        if PageUrl::parse(link).is_some() {
            return Some(link.to_string());
        }
    }
    None
}

/// One preview's fetch, from the link to the page: where it is, and how many redirects it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetch {
    pub url: PageUrl,
    redirects: u8,
}

/// What to do with an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Read the page (an HTML answer), at most [`MAX_PAGE_BYTES`].
    Read,
    /// Ask this URL next (a redirect to a URL the rules let through).
    Follow,
    /// No preview: why.
    Stop(&'static str),
}

impl Fetch {
    /// The fetch of `link`, if the rules let it be fetched (`allow`: `PREVIEW_ALLOW_HOSTS`).
    pub fn start(link: &str, allow: &[String]) -> Result<Fetch, &'static str> {
        let url = PageUrl::parse(link).ok_or("not a URL a preview reads")?;
        url.check(allow)?;
        Ok(Fetch { url, redirects: 0 })
    }

    /// What an answer with `status`, its `Location` and its `Content-Type` leads to. A redirect moves
    /// [`Fetch::url`] on (checked like the first URL); only an HTML page of a 200 is read.
    pub fn answered(
        &mut self,
        status: u16,
        location: Option<&str>,
        content_type: Option<&str>,
        allow: &[String],
    ) -> Step {
        match status {
            301 | 302 | 303 | 307 | 308 => {
                if self.redirects >= MAX_REDIRECTS {
                    return Step::Stop("too many redirects");
                }
                let Some(next) = location.and_then(|l| self.url.join(l)) else {
                    return Step::Stop("a redirect to nowhere a preview goes");
                };
                if let Err(why) = next.check(allow) {
                    return Step::Stop(why);
                }
                self.redirects += 1;
                self.url = next;
                Step::Follow
            }
            200 => {
                let media = crate::files::media_type(content_type.unwrap_or(""));
                if media == "text/html" || media == "application/xhtml+xml" {
                    Step::Read
                } else {
                    Step::Stop("not an HTML page")
                }
            }
            _ => Step::Stop("the page did not answer 200"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_link_of_a_message_is_found_without_its_punctuation() {
        assert_eq!(
            first_link("see https://example.com/a_(b)?c=1. and http://x.example"),
            Some("https://example.com/a_(b)?c=1".into())
        );
        assert_eq!(
            first_link("(look: HTTP://Example.com/x), ok"),
            Some("HTTP://Example.com/x".into())
        );
        assert_eq!(
            first_link("<https://example.com>"),
            Some("https://example.com".into())
        );
        assert_eq!(
            first_link("**https://example.com/p**"),
            Some("https://example.com/p".into())
        );
        assert_eq!(first_link("nohttps://example.com"), None);
        assert_eq!(first_link("http:// nothing"), None);
        assert_eq!(first_link("httpfoo http"), None);
        assert_eq!(first_link("plain text"), None);
        assert_eq!(
            first_link("ftp://a.example then https://b.example/"),
            Some("https://b.example/".into())
        );
        assert_eq!(
            first_link("é https://é.example https://ok.example"),
            Some("https://ok.example".into())
        );
    }

    #[test]
    fn redirects_are_followed_only_where_a_fetch_may_go() {
        let allow = vec!["127.0.0.1:8080".to_string()];
        let mut f = Fetch::start("http://127.0.0.1:8080/a", &allow).unwrap();
        assert_eq!(f.answered(302, Some("/b"), None, &allow), Step::Follow);
        assert_eq!(f.url.to_string(), "http://127.0.0.1:8080/b");
        assert_eq!(
            f.answered(301, Some("http://127.0.0.1:9999/"), None, &allow),
            Step::Stop("only ports 80 and 443")
        );
        assert_eq!(
            f.answered(307, Some("http://127.0.0.1/"), None, &allow),
            Step::Stop("not a public address")
        );
        assert_eq!(
            f.answered(302, None, None, &allow),
            Step::Stop("a redirect to nowhere a preview goes")
        );
        assert_eq!(
            f.answered(200, None, Some("text/html; charset=utf-8"), &allow),
            Step::Read
        );
        assert_eq!(
            f.answered(200, None, Some("image/png"), &allow),
            Step::Stop("not an HTML page")
        );
        assert_eq!(
            f.answered(404, None, Some("text/html"), &allow),
            Step::Stop("the page did not answer 200")
        );
        assert!(Fetch::start("http://127.0.0.1/", &[]).is_err());
        assert!(Fetch::start("https://example.com/", &[]).is_ok());
    }

    #[test]
    fn a_redirect_loop_ends_after_three() {
        let mut f = Fetch::start("https://example.com/loop", &[]).unwrap();
        for _ in 0..MAX_REDIRECTS {
            assert_eq!(f.answered(302, Some("/loop"), None, &[]), Step::Follow);
        }
        assert_eq!(
            f.answered(302, Some("/loop"), None, &[]),
            Step::Stop("too many redirects")
        );
    }
}
