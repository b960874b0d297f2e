//! Which addresses a link preview may fetch: a URL is read into a [`PageUrl`] by the rules a browser
//! (and the runtime's `fetch`) reads it by — scheme, host, port — and [`PageUrl::check`] refuses
//! anything not on the public Internet: private, loopback, link-local, multicast and reserved
//! addresses (IPv4, IPv6, and IPv4 inside IPv6), local names (`localhost`, `*.local`, single
//! labels), ports other than 80 and 443, credentials in the URL. `PREVIEW_ALLOW_HOSTS` lists the
//! exceptions (`host` or `host:port`), for local tests.
//!
//! The URL that is fetched is [`PageUrl`]'s own serialization, never the text it came from, so the
//! host that was checked is the host that is asked: `http://0x7f.1/`, `http://2130706433/` and
//! `http://127.1/` all read as 127.0.0.1 here, as they would in the runtime. A host name is not
//! resolved here (a Worker cannot look up DNS): on Cloudflare a Worker's subrequests reach only the
//! public Internet, so a public name that points at a private address leads nowhere.

/// A URL a preview may be fetched from, read and normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageUrl {
    https: bool,
    host: Host,
    /// An explicit port; `None` for the scheme's default.
    port: Option<u16>,
    /// Path and query, `/` at least, without the fragment.
    rest: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    Name(String),
    V4([u8; 4]),
    V6([u16; 8]),
}

/// Longest URL a preview is fetched from or records.
pub const MAX_URL_BYTES: usize = 2048;

impl PageUrl {
    /// Reads an absolute `http(s)` URL; `None` for anything else or anything unclear (a `%` or a
    /// character outside `a-z 0-9 . -` in a host name, credentials, a bad port, spaces).
    pub fn parse(raw: &str) -> Option<PageUrl> {
        if raw.len() > MAX_URL_BYTES || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        let lower = raw.get(..8)?.to_ascii_lowercase();
        let (https, rest) = if lower.starts_with("https://") {
            (true, &raw[8..])
        } else if lower.starts_with("http://") {
            (false, &raw[7..])
        } else {
            return None;
        };
        let end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if authority.contains('@') || tail.starts_with('\\') {
            return None;
        }
        let (host, port) = split_port(authority)?;
        let host = Host::parse(host)?;
        let tail = tail.split('#').next().unwrap_or("");
        let rest = if tail.starts_with('/') {
            tail.to_string()
        } else {
            format!("/{tail}")
        };
        Some(PageUrl {
            https,
            host,
            port: port.filter(|&p| p != if https { 443 } else { 80 }),
            rest,
        })
    }

    /// Whether the preview may fetch this URL: `Err` says why not. An entry of `allow` naming the
    /// host (`host`) or the host and port (`host:port`) lifts the address and port rules.
    pub fn check(&self, allow: &[String]) -> Result<(), &'static str> {
        let host = self.host.to_string();
        let with_port = format!("{host}:{}", self.effective_port());
        if allow
            .iter()
            .any(|a| a.eq_ignore_ascii_case(&host) || a.eq_ignore_ascii_case(&with_port))
        {
            return Ok(());
        }
        if !matches!(self.port, None | Some(80) | Some(443)) {
            return Err("only ports 80 and 443");
        }
        match &self.host {
            Host::Name(name) if local_name(name) => Err("a local name"),
            Host::Name(_) => Ok(()),
            Host::V4(ip) if !public_v4(*ip) => Err("not a public address"),
            Host::V6(ip) if !public_v6(ip) => Err("not a public address"),
            _ => Ok(()),
        }
    }

    /// `location` (a redirect's target) read against this URL: absolute, scheme-relative (`//h/p`),
    /// absolute-path (`/p`), query-only (`?q`) or relative (`p`).
    pub fn join(&self, location: &str) -> Option<PageUrl> {
        let location = location.trim();
        let lower = location.get(..8).unwrap_or(location).to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return PageUrl::parse(location);
        }
        // Any other scheme (`javascript:`, `file:`…): a colon before the path begins.
        let path_start = location.find(['/', '?', '#']).unwrap_or(location.len());
        if location.find(':').is_some_and(|i| i < path_start) {
            return None;
        }
        let scheme = if self.https { "https:" } else { "http:" };
        if location.starts_with("//") {
            return PageUrl::parse(&format!("{scheme}{location}"));
        }
        let origin = self.origin();
        let path = self.rest.split('?').next().unwrap_or("/");
        let target = if location.starts_with('/') {
            location.to_string()
        } else if location.starts_with('?') {
            format!("{path}{location}")
        } else if location.is_empty() {
            self.rest.clone()
        } else {
            let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
            format!("{dir}{location}")
        };
        PageUrl::parse(&format!("{origin}{target}"))
    }

    /// `scheme://host[:port]`.
    fn origin(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        match self.port {
            Some(port) => format!("{scheme}://{}:{port}", self.host),
            None => format!("{scheme}://{}", self.host),
        }
    }

    fn effective_port(&self) -> u16 {
        self.port.unwrap_or(if self.https { 443 } else { 80 })
    }

    /// The host as a person reads it, for a preview's `site`: a name without a leading `www.`.
    pub fn site(&self) -> String {
        let host = self.host.to_string();
        host.strip_prefix("www.").unwrap_or(&host).to_string()
    }
}

impl std::fmt::Display for PageUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.origin(), self.rest)
    }
}

impl std::fmt::Display for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Host::Name(n) => f.write_str(n),
            Host::V4([a, b, c, d]) => write!(f, "{a}.{b}.{c}.{d}"),
            Host::V6(parts) => {
                f.write_str("[")?;
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(":")?;
                    }
                    write!(f, "{p:x}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// `host[:port]` → host and port (an IPv6 literal keeps its brackets off).
fn split_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (inside, after) = v6.split_once(']')?;
        match after {
            "" => (inside, None),
            _ => (inside, Some(after.strip_prefix(':')?)),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        None | Some("") => None,
        Some(p) if p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => Some(p.parse().ok()?),
        Some(_) => return None,
    };
    Some((host, port))
}

impl Host {
    fn parse(raw: &str) -> Option<Host> {
        if raw.contains(':') {
            return parse_v6(raw).map(Host::V6);
        }
        let name = raw.to_ascii_lowercase();
        let name = name.strip_suffix('.').unwrap_or(&name);
        if name.is_empty()
            || name.len() > 253
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
            || name.split('.').any(str::is_empty)
        {
            return None;
        }
        // As the URL standard reads a host: if its last label is a number, the whole is an IPv4
        // address in one of its forms (or invalid).
        let last = name.rsplit('.').next().unwrap_or("");
        if number(last).is_some() {
            return parse_v4(name).map(Host::V4);
        }
        Some(Host::Name(name.to_string()))
    }
}

/// A number as the URL standard reads an IPv4 part: decimal, `0x` hex or `0` octal.
fn number(part: &str) -> Option<u64> {
    let (digits, radix) = if let Some(hex) = part.strip_prefix("0x") {
        (hex, 16)
    } else if part.len() > 1 && part.starts_with('0') {
        (&part[1..], 8)
    } else {
        (part, 10)
    };
    if digits.is_empty() {
        return (radix == 16).then_some(0);
    }
    if digits.len() > 12 {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// An IPv4 address in any of its URL forms: `a.b.c.d`, `a.b.c` (c: 16 bits), `a.b` (b: 24 bits),
/// `a` (32 bits), each part decimal, hex or octal.
fn parse_v4(name: &str) -> Option<[u8; 4]> {
    let parts: Vec<u64> = name.split('.').map(number).collect::<Option<_>>()?;
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let (last, first) = parts.split_last()?;
    if first.iter().any(|&p| p > 255) || *last >= 1u64 << (8 * (5 - parts.len())) {
        return None;
    }
    let mut value = *last;
    for (i, &p) in first.iter().enumerate() {
        value += p << (8 * (3 - i));
    }
    Some((value as u32).to_be_bytes())
}

/// An IPv6 literal (`::1`, `fe80::1`, `::ffff:127.0.0.1`).
fn parse_v6(raw: &str) -> Option<[u16; 8]> {
    let (head, tail) = match raw.split_once("::") {
        Some((h, t)) => (h, Some(t)),
        None => (raw, None),
    };
    let groups = |s: &str| -> Option<Vec<u16>> {
        if s.is_empty() {
            return Some(Vec::new());
        }
        let mut out = Vec::new();
        let pieces: Vec<&str> = s.split(':').collect();
        for (i, piece) in pieces.iter().enumerate() {
            if i == pieces.len() - 1 && piece.contains('.') {
                let [a, b, c, d] = parse_v4(piece).filter(|_| piece.split('.').count() == 4)?;
                out.push(u16::from_be_bytes([a, b]));
                out.push(u16::from_be_bytes([c, d]));
            } else if (1..=4).contains(&piece.len()) {
                out.push(u16::from_str_radix(piece, 16).ok()?);
            } else {
                return None;
            }
        }
        Some(out)
    };
    let head = groups(head)?;
    let mut parts = [0u16; 8];
    match tail {
        None if head.len() == 8 => parts.copy_from_slice(&head),
        None => return None,
        Some(tail) => {
            let tail = groups(tail)?;
            if head.len() + tail.len() > 7 {
                return None;
            }
            parts[..head.len()].copy_from_slice(&head);
            parts[8 - tail.len()..].copy_from_slice(&tail);
        }
    }
    Some(parts)
}

/// Names that only mean something on the local network.
fn local_name(name: &str) -> bool {
    !name.contains('.')
        || name == "localhost"
        || [
            ".localhost",
            ".local",
            ".internal",
            ".lan",
            ".home.arpa",
            ".intranet",
        ]
        .iter()
        .any(|suffix| name.ends_with(suffix))
}

/// Whether an IPv4 address is on the public Internet (not "this network", private, shared,
/// loopback, link-local, benchmarking, documentation, multicast, reserved or broadcast).
fn public_v4([a, b, c, _]: [u8; 4]) -> bool {
    !(a == 0
        || a == 10
        || a == 127
        || a >= 224
        || (a == 100 && (64..128).contains(&b))
        || (a == 169 && b == 254)
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 168)
        || (a == 192 && b == 0 && (c == 0 || c == 2))
        || (a == 198 && (b == 18 || b == 19))
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113))
}

/// Whether an IPv6 address is on the public Internet: not unspecified, loopback, unique-local,
/// link-local, multicast, documentation or discard, and an IPv4 inside one (mapped, NAT64,
/// compatible) only if that IPv4 address is.
fn public_v6(p: &[u16; 8]) -> bool {
    let v4 = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        [a, b, c, d]
    };
    if p[..5] == [0; 5] && (p[5] == 0xffff || p[5] == 0) {
        // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible), :: and ::1 among them.
        return public_v4(v4(p[6], p[7]));
    }
    if p[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return public_v4(v4(p[6], p[7]));
    }
    let first = p[0];
    !((first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first & 0xff00) == 0xff00
        || (first == 0x2001 && p[1] == 0x0db8)
        || (first == 0x0100 && p[1..4] == [0, 0, 0]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(url: &str) -> Result<(), &'static str> {
        PageUrl::parse(url).ok_or("unreadable")?.check(&[])
    }

    #[test]
    fn public_pages_may_be_fetched() {
        for ok in [
            "https://example.com/a?b=1#frag",
            "http://Example.COM:80/",
            "https://news.example.org:443",
            "http://93.184.215.14/",
            "https://[2606:4700::1111]/x",
        ] {
            assert_eq!(checked(ok), Ok(()), "{ok}");
        }
        assert_eq!(
            PageUrl::parse("HTTPS://Example.COM:443/a b").map(|u| u.to_string()),
            None
        );
        assert_eq!(
            PageUrl::parse("HTTPS://Example.COM:443?x#y")
                .unwrap()
                .to_string(),
            "https://example.com/?x"
        );
    }

    #[test]
    fn local_and_private_addresses_in_every_spelling_are_refused() {
        for bad in [
            "http://127.0.0.1/",
            "http://127.1/",
            "http://2130706433/",
            "http://0x7f.0.0.1/",
            "http://0177.0.0.1/",
            "http://0/",
            "http://10.1.2.3/",
            "http://172.20.0.1/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://100.64.0.1/",
            "http://[::1]/",
            "http://[::]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://[64:ff9b::a00:1]/",
            "http://[fe80::1]/",
            "http://[fd00::1]/",
            "http://[ff02::1]/",
            "http://localhost/",
            "http://LOCALHOST./",
            "http://printer.local/",
            "http://metadata.google.internal/",
            "http://intranet/",
            "http://224.0.0.1/",
            "http://255.255.255.255/",
            "https://example.com:8443/",
            "http://example.com:22/",
        ] {
            assert!(checked(bad).is_err(), "{bad}");
        }
        for unreadable in [
            "ftp://example.com/",
            "javascript:alert(1)",
            "http://user:pw@example.com/",
            "http://example.com%2e/",
            "http://exa mple.com/",
            "http://ex_ample.com/",
            "http://256.0.0.1/",
            "http://1.2.3.4.5/",
            "http://example.com:99999/",
            "http://[::1/",
            "http:\\\\127.0.0.1\\",
            "http://",
        ] {
            assert_eq!(PageUrl::parse(unreadable), None, "{unreadable}");
        }
    }

    #[test]
    fn the_allow_list_lifts_the_rules_for_its_hosts_only() {
        let allow = vec!["127.0.0.1:8123".to_string(), "intranet".to_string()];
        let ok = |u: &str| PageUrl::parse(u).unwrap().check(&allow);
        assert_eq!(ok("http://127.0.0.1:8123/page"), Ok(()));
        assert!(ok("http://127.0.0.1:8124/page").is_err());
        assert!(ok("http://127.0.0.1/page").is_err());
        assert_eq!(ok("http://intranet:9000/"), Ok(()));
        assert_eq!(
            PageUrl::parse("http://0x7f.1:8123/").unwrap().check(&allow),
            Ok(()),
            "the allow list matches the normalized host"
        );
    }

    #[test]
    fn redirect_targets_are_read_against_the_page() {
        let base = PageUrl::parse("https://example.com/a/b?x=1").unwrap();
        let join = |l: &str| base.join(l).map(|u| u.to_string());
        assert_eq!(join("c"), Some("https://example.com/a/c".into()));
        assert_eq!(join("/d?e"), Some("https://example.com/d?e".into()));
        assert_eq!(join("?y=2"), Some("https://example.com/a/b?y=2".into()));
        assert_eq!(
            join("//other.example/z"),
            Some("https://other.example/z".into())
        );
        assert_eq!(
            join("http://127.0.0.1:9/"),
            Some("http://127.0.0.1:9/".into())
        );
        assert_eq!(join("javascript:alert(1)"), None);
        assert_eq!(join("file:///etc/passwd"), None);
        assert_eq!(base.site(), "example.com");
        assert_eq!(
            PageUrl::parse("http://www.example.com").unwrap().site(),
            "example.com"
        );
    }
}
