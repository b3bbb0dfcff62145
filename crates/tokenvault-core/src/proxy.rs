//! The rules of `run --proxy` (zero-exposure run), as pure functions.
//!
//! With `--proxy` the child never holds a real value: it gets a placeholder in the provider's own
//! format, and a loopback proxy (in the binary) puts the real value back into a request's headers
//! only when the request goes to one of the provider's own hosts, with a method and path the run
//! allows. This module holds everything about that which is data or a decision: the catalogue's
//! `[provider.proxy]` table, the placeholder's shape, the host/method/path policy with the user's
//! narrowing (`--read-only`, `--allow-method`, `--allow-path`), the header substitution, and where
//! the child's endpoint variable points. The proxy's I/O lives in `tokenvault::exec::proxy`.

use serde::Deserialize;

/// `[provider.proxy]`: where a provider's credential may go.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ProxyTable {
    /// Hosts (`huggingface.co`, `*.example.com`, `localhost:8443`) the real value may be sent to.
    pub hosts: Vec<String>,
    /// The variable that clients read the API base from (`HF_ENDPOINT`, `OPENAI_BASE_URL`): in
    /// base-URL mode the child gets it pointing at the proxy.
    #[serde(default)]
    pub base_url_env: Option<String>,
    /// The real API base (default: the live check's `base`).
    #[serde(default)]
    pub base_url: Option<String>,
    /// The request headers in which the placeholder is replaced (default: `authorization`).
    #[serde(default = "default_headers")]
    pub headers: Vec<String>,
}

fn default_headers() -> Vec<String> {
    vec!["authorization".to_owned()]
}

impl ProxyTable {
    /// What is wrong with this table, if anything (for the catalogue's validation).
    pub fn problem(&self) -> Option<String> {
        if self.hosts.is_empty() {
            return Some("proxy: hosts is empty (list the hosts the credential may go to)".into());
        }
        if let Some(h) = self.hosts.iter().find(|h| HostPattern::parse(h).is_none()) {
            return Some(format!(
                "proxy: host '{h}' is not a host name, '*.domain' or 'host:port'"
            ));
        }
        if let Some(b) = &self.base_url {
            if parse_base(b).is_none() {
                return Some(format!("proxy: base_url '{b}' is not an http(s) URL"));
            }
        }
        if self.headers.is_empty() {
            return Some("proxy: headers is empty".into());
        }
        None
    }
}

/// A host the policy allows: exact, or every subdomain of a domain (`*.example.com`), with an
/// optional port (none: any port).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    host: String,
    wildcard: bool,
    port: Option<u16>,
}

impl HostPattern {
    pub fn parse(text: &str) -> Option<HostPattern> {
        let text = text.trim().to_ascii_lowercase();
        let (host, port) = match text.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h.to_owned(), Some(p.parse::<u16>().ok()?)),
            _ => (text.clone(), None),
        };
        let (host, wildcard) = match host.strip_prefix("*.") {
            Some(rest) => (rest.to_owned(), true),
            None => (host, false),
        };
        let ok = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
        ok.then_some(HostPattern {
            host,
            wildcard,
            port,
        })
    }

    /// Whether a request to `host:port` matches.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let name_ok = if self.wildcard {
            host.len() > self.host.len()
                && host.ends_with(&self.host)
                && host[..host.len() - self.host.len()].ends_with('.')
        } else {
            host == self.host
        };
        name_ok && self.port.is_none_or(|p| p == port)
    }
}

/// The user's narrowing of a run's policy: methods and path prefixes (empty: no narrowing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Narrowing {
    /// Upper-case methods allowed (empty: every method).
    pub methods: Vec<String>,
    /// Path prefixes allowed (empty: every path).
    pub paths: Vec<String>,
}

impl Narrowing {
    /// `--read-only`: GET, HEAD and OPTIONS only.
    pub fn read_only() -> Narrowing {
        Narrowing {
            methods: vec!["GET".into(), "HEAD".into(), "OPTIONS".into()],
            paths: Vec::new(),
        }
    }

    /// Adds `--allow-method` values (comma-separated allowed), upper-cased.
    pub fn with_methods<'a>(mut self, methods: impl IntoIterator<Item = &'a str>) -> Narrowing {
        for m in methods.into_iter().flat_map(|m| m.split(',')) {
            let m = m.trim().to_ascii_uppercase();
            if !m.is_empty() && !self.methods.contains(&m) {
                self.methods.push(m);
            }
        }
        self
    }

    /// Why `method path` is outside the narrowing, or `None` when it is allowed.
    pub fn refusal(&self, method: &str, path: &str) -> Option<String> {
        if !self.methods.is_empty() && !self.methods.iter().any(|m| m.eq_ignore_ascii_case(method))
        {
            return Some(format!(
                "method {method} is not allowed by this run's policy (allowed: {})",
                self.methods.join(", ")
            ));
        }
        let path_only = path.split(['?', '#']).next().unwrap_or("");
        if !self.paths.is_empty() && !self.paths.iter().any(|p| path_allowed(p, path_only)) {
            return Some(format!(
                "path {path_only} is not under an allowed prefix ({})",
                self.paths.join(", ")
            ));
        }
        None
    }
}

/// `/api/models` allows `/api/models` and `/api/models/…`, not `/api/modelsx` (unless the prefix
/// itself ends with `/`). Paths with `..` segments are never allowed: they could climb out.
fn path_allowed(prefix: &str, path: &str) -> bool {
    if path
        .split('/')
        .any(|s| s == ".." || s.eq_ignore_ascii_case("%2e%2e"))
    {
        return false;
    }
    path == prefix
        || (path.starts_with(prefix)
            && (prefix.ends_with('/') || path.as_bytes().get(prefix.len()) == Some(&b'/')))
}

/// What the proxy does with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Not a host of the credential: forward as it is (the placeholder stays a placeholder).
    PassThrough,
    /// An allowed host and request: put the real value in the listed headers.
    Substitute,
    /// An allowed host, but the run's narrowing refuses this request (the reason).
    Refuse(String),
}

/// One credential's policy: its provider's hosts and headers, and the run's narrowing.
#[derive(Debug, Clone)]
pub struct Policy {
    pub hosts: Vec<HostPattern>,
    pub headers: Vec<String>,
    pub narrowing: Narrowing,
}

impl Policy {
    /// The policy of a provider's table, plus `extra_hosts` (the upstream the user configured
    /// through the endpoint variable), narrowed by `narrowing`.
    pub fn new(table: &ProxyTable, extra_hosts: &[HostPattern], narrowing: Narrowing) -> Policy {
        let mut hosts: Vec<HostPattern> = table
            .hosts
            .iter()
            .filter_map(|h| HostPattern::parse(h))
            .collect();
        hosts.extend(extra_hosts.iter().cloned());
        Policy {
            hosts,
            headers: table
                .headers
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            narrowing,
        }
    }

    pub fn host_allowed(&self, host: &str, port: u16) -> bool {
        self.hosts.iter().any(|h| h.matches(host, port))
    }

    /// What to do with `method path` to `host:port`, over TLS or not. A credential never goes
    /// over plain HTTP except to a loopback upstream (a local stand-in or tunnel the user set
    /// through the endpoint variable): `http://huggingface.co` through `HTTP_PROXY` is refused.
    pub fn decide(&self, method: &str, host: &str, port: u16, path: &str, tls: bool) -> Decision {
        if !self.host_allowed(host, port) {
            return Decision::PassThrough;
        }
        if !tls && !is_loopback(host) {
            return Decision::Refuse(format!(
                "the credential for {host} would travel over plain HTTP; use https://"
            ));
        }
        match self.narrowing.refusal(method, path) {
            Some(why) => Decision::Refuse(why),
            None => Decision::Substitute,
        }
    }

    /// Whether the placeholder is replaced in header `name`.
    pub fn substitutes_in(&self, name: &str) -> bool {
        self.headers.iter().any(|h| h.eq_ignore_ascii_case(name))
    }
}

/// Whether `host` names this machine (`localhost`, `127.x.x.x`, `::1`).
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_matches(['[', ']']).to_ascii_lowercase();
    h == "localhost" || h == "::1" || h.starts_with("127.") && h.split('.').count() == 4
}

/// A placeholder for `value`: the same length, the provider's `keep` substrings (its prefix and
/// keywords, such as `hf_` or OpenAI's `T3BlbkFJ`) where the value has them, and every other
/// letter or digit replaced by a random one from the kinds its segment (a run of letters and digits
/// between separators) holds, so client-side format checks pass. Kinds are chosen per segment, not
/// per position: a placeholder that kept each position's kind would tell the child which
/// positions of the real token are digits or capitals (about 1.5 bits of its ~6 per character).
/// `random` supplies one byte per character (the caller reads it from the OS). `None` when the
/// value has nothing to replace or the result would equal the value.
pub fn placeholder(value: &str, keep: &[&str], random: &[u8]) -> Option<String> {
    let chars: Vec<char> = value.chars().collect();
    let mut fixed = vec![false; chars.len()];
    for k in keep.iter().filter(|k| !k.is_empty()) {
        let kc: Vec<char> = k.chars().collect();
        let mut i = 0;
        while i + kc.len() <= chars.len() {
            if chars[i..i + kc.len()] == kc[..] {
                fixed[i..i + kc.len()].iter_mut().for_each(|f| *f = true);
                i += kc.len();
            } else {
                i += 1;
            }
        }
    }
    const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
    const DIGIT: &str = "0123456789";
    let replaceable = |i: usize| !fixed[i] && chars[i].is_ascii_alphanumeric();
    // The kinds each segment of replaceable characters holds, as one alphabet per segment.
    let mut alphabet: Vec<Option<std::rc::Rc<Vec<u8>>>> = vec![None; chars.len()];
    let mut i = 0;
    while i < chars.len() {
        if !replaceable(i) {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && replaceable(i) {
            i += 1;
        }
        let seg = &chars[start..i];
        let mut set = String::new();
        for (kind, has) in [
            (UPPER, seg.iter().any(char::is_ascii_uppercase)),
            (LOWER, seg.iter().any(char::is_ascii_lowercase)),
            (DIGIT, seg.iter().any(char::is_ascii_digit)),
        ] {
            if has {
                set.push_str(kind);
            }
        }
        let set = std::rc::Rc::new(set.into_bytes());
        alphabet[start..i]
            .iter_mut()
            .for_each(|a| *a = Some(set.clone()));
    }
    let mut out = String::with_capacity(value.len());
    let mut replaced = 0;
    for (i, c) in chars.iter().enumerate() {
        match &alphabet[i] {
            Some(set) => {
                let r = *random.get(i)? as usize;
                out.push(set[r % set.len()] as char);
                replaced += 1;
            }
            None => out.push(*c),
        }
    }
    (replaced >= 8 && out != value).then_some(out)
}

/// Replaces every `placeholder` in a header value with `value`; `None` when it holds none.
pub fn substitute(header: &str, placeholder: &str, value: &str) -> Option<String> {
    header
        .contains(placeholder)
        .then(|| header.replace(placeholder, value))
}

/// The parts of an API base: scheme, host, port, path (without a trailing `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Base {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub path: String,
}

impl Base {
    /// `host:port`, as the Host header of a request to it (the port only when not the default).
    pub fn authority(&self) -> String {
        let default = if self.tls { 443 } else { 80 };
        if self.port == default {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The origin: `https://host[:port]`.
    pub fn origin(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.authority())
    }

    /// The host pattern that allows exactly this upstream.
    pub fn pattern(&self) -> HostPattern {
        HostPattern {
            host: self.host.to_ascii_lowercase(),
            wildcard: false,
            port: Some(self.port),
        }
    }
}

/// Parses an `http(s)://host[:port][/path]` API base; `None` for anything else (user info,
/// query and fragment are refused: a base does not carry them).
pub fn parse_base(url: &str) -> Option<Base> {
    let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else {
        (false, url.strip_prefix("http://")?)
    };
    if rest.contains(['@', '?', '#']) {
        return None;
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.starts_with('[') => (h, p.parse::<u16>().ok()?),
        _ => (authority, if tls { 443 } else { 80 }),
    };
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return None;
    }
    Some(Base {
        tls,
        host: host.to_ascii_lowercase(),
        port,
        path: path.trim_end_matches('/').to_owned(),
    })
}

/// The value the child's endpoint variable gets in base-URL mode: the listener's origin
/// (`http://127.0.0.1:PORT`) followed by the upstream base's own path (`/v1` for OpenAI), so the
/// proxy forwards paths unchanged.
pub fn child_base_url(listener_origin: &str, upstream: &Base) -> String {
    format!("{listener_origin}{}", upstream.path)
}

/// A redirect's `Location` rewritten for the child: an absolute URL to the upstream's origin
/// goes back through the listener (it would otherwise reach the host with a useless
/// placeholder); any other location (another host, such as a download CDN, or a relative one)
/// is passed back untouched, and the client follows it without the credential.
pub fn rewrite_location(location: &str, upstream: &Base, listener_origin: &str) -> Option<String> {
    let origin = upstream.origin();
    let rest = location.strip_prefix(&origin)?;
    (rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
        .then(|| format!("{listener_origin}{rest}"))
}

/// The user name in the proxy URL the child gets (`http://tokenvault:TOKEN@127.0.0.1:PORT`).
pub const PROXY_USER: &str = "tokenvault";

/// The proxy URL for the child: the CONNECT listener with the run's proxy token as password, so
/// only the child (and its descendants) can use it (house rule: a listener takes a per-run token).
pub fn proxy_url(listener: &str, token: &str) -> String {
    format!("http://{PROXY_USER}:{token}@{listener}")
}

/// Whether a `Proxy-Authorization` header carries the run's proxy token (Basic, any user name),
/// compared in constant time.
pub fn proxy_auth_ok(header: Option<&str>, token: &str) -> bool {
    use base64::Engine as _;
    let Some(h) = header else { return false };
    let Some((scheme, b64)) = h.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) else {
        return false;
    };
    let password = match decoded.iter().position(|b| *b == b':') {
        Some(i) => &decoded[i + 1..],
        None => return false,
    };
    let (a, b) = (password, token.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The variables that point a child's HTTP clients at the CONNECT proxy and at the run's CA.
pub const PROXY_VARS: &[&str] = &["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"];
pub const CA_VARS: &[&str] = &[
    "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "CURL_CA_BUNDLE",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn hf_table() -> ProxyTable {
        ProxyTable {
            hosts: vec!["huggingface.co".into(), "hf.co".into()],
            base_url_env: Some("HF_ENDPOINT".into()),
            base_url: None,
            headers: default_headers(),
        }
    }

    #[test]
    fn placeholder_keeps_the_format_and_differs() {
        let value = "hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ01234567";
        let random: Vec<u8> = (0..value.len() as u8).map(|i| i.wrapping_mul(37)).collect();
        let p = placeholder(value, &["hf_"], &random).unwrap();
        assert_eq!(p.len(), value.len());
        assert!(p.starts_with("hf_"));
        assert_ne!(p, value);
        let re = regex::Regex::new("^hf_[A-Za-z0-9]{34}$").unwrap();
        assert!(re.is_match(&p), "{p}");
        // Nothing of where the value has capitals or digits: another value of the same format,
        // its kinds at other positions, gets the same placeholder from the same random bytes.
        let shuffled = "hf_0aBcDeFgHiJkLmNoPqRsTuVwXyZ1234567";
        assert_eq!(placeholder(shuffled, &["hf_"], &random).unwrap(), p);
        // A segment of digits only (Slack's team id) stays digits.
        let slack = "xoxb-123456789012-123456789012-aBcDeFgHiJkLmNoPqRsTuVwX";
        let more: Vec<u8> = (0..slack.len() as u8).map(|i| i.wrapping_mul(53)).collect();
        let q = placeholder(slack, &["xoxb-"], &more).unwrap();
        let re = regex::Regex::new("^xoxb-[0-9]{12}-[0-9]{12}-[A-Za-z0-9]{24}$").unwrap();
        assert!(re.is_match(&q), "{q}");
    }

    #[test]
    fn placeholder_keeps_openai_marker() {
        let value = "sk-proj-aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789-_abcdefT3BlbkFJaBcDeFgHiJkLmNoPqRsTuVwXyZ01";
        let random: Vec<u8> = (0..value.len() as u8).map(|i| i.wrapping_mul(91)).collect();
        let p = placeholder(value, &["sk-", "T3BlbkFJ"], &random).unwrap();
        assert_ne!(p, value);
        let re = regex::Regex::new(
            "^sk-(proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{20,200}T3BlbkFJ[A-Za-z0-9_-]{20,200}$",
        )
        .unwrap();
        assert!(re.is_match(&p), "{p}");
        assert_eq!(p.find("T3BlbkFJ"), value.find("T3BlbkFJ"));
    }

    #[test]
    fn placeholder_refuses_values_without_enough_to_replace() {
        assert_eq!(placeholder("hf_", &["hf_"], &[0; 3]), None);
        assert_eq!(placeholder("--------", &[], &[0; 8]), None);
        // Too little randomness supplied: no placeholder rather than a predictable one.
        assert_eq!(placeholder("abcdefghijkl", &[], &[0; 4]), None);
    }

    #[test]
    fn hosts_match_exactly_by_subdomain_and_port() {
        let p = HostPattern::parse("huggingface.co").unwrap();
        assert!(p.matches("huggingface.co", 443));
        assert!(p.matches("HuggingFace.co.", 80));
        assert!(!p.matches("cdn-lfs.huggingface.co", 443));
        assert!(!p.matches("huggingface.co.evil.com", 443));
        let w = HostPattern::parse("*.example.com").unwrap();
        assert!(w.matches("a.example.com", 443));
        assert!(!w.matches("example.com", 443));
        assert!(!w.matches("badexample.com", 443));
        let port = HostPattern::parse("localhost:8443").unwrap();
        assert!(port.matches("localhost", 8443));
        assert!(!port.matches("localhost", 443));
        assert_eq!(HostPattern::parse("bad host"), None);
        assert_eq!(HostPattern::parse("host:notaport"), None);
    }

    #[test]
    fn decisions_follow_hosts_and_narrowing() {
        let all = Policy::new(&hf_table(), &[], Narrowing::default());
        assert_eq!(
            all.decide("POST", "huggingface.co", 443, "/api/repos/create", true),
            Decision::Substitute
        );
        assert_eq!(
            all.decide("GET", "cdn-lfs.huggingface.co", 443, "/x", true),
            Decision::PassThrough
        );
        let ro = Policy::new(&hf_table(), &[], Narrowing::read_only());
        assert!(matches!(
            ro.decide("POST", "huggingface.co", 443, "/api/repos/create", true),
            Decision::Refuse(why) if why.contains("POST")
        ));
        assert_eq!(
            ro.decide("GET", "hf.co", 443, "/api/whoami-v2", true),
            Decision::Substitute
        );
        // A non-policy host is not refused: it never gets the value anyway.
        assert_eq!(
            ro.decide("POST", "example.com", 443, "/", true),
            Decision::PassThrough
        );
        let extra = Policy::new(
            &hf_table(),
            &[parse_base("http://127.0.0.1:5000").unwrap().pattern()],
            Narrowing::default(),
        );
        assert_eq!(
            extra.decide("GET", "127.0.0.1", 5000, "/", false),
            Decision::Substitute
        );
        assert_eq!(
            extra.decide("GET", "127.0.0.1", 5001, "/", false),
            Decision::PassThrough
        );
    }

    #[test]
    fn credentials_never_travel_over_plain_http_off_the_machine() {
        let all = Policy::new(&hf_table(), &[], Narrowing::default());
        assert!(matches!(
            all.decide("GET", "huggingface.co", 80, "/api/whoami-v2", false),
            Decision::Refuse(why) if why.contains("plain HTTP")
        ));
        assert!(is_loopback("127.0.0.1") && is_loopback("localhost") && is_loopback("[::1]"));
        assert!(!is_loopback("127.example.com") && !is_loopback("10.0.0.1"));
    }

    #[test]
    fn the_proxy_takes_only_its_own_token() {
        use base64::Engine as _;
        let b = |s: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(s)
            )
        };
        assert!(proxy_auth_ok(Some(&b("tokenvault:s3cret")), "s3cret"));
        assert!(proxy_auth_ok(Some(&b("anyone:s3cret")), "s3cret"));
        assert!(!proxy_auth_ok(Some(&b("tokenvault:s3creT")), "s3cret"));
        assert!(!proxy_auth_ok(Some(&b("tokenvault:s3cret2")), "s3cret"));
        assert!(!proxy_auth_ok(Some(&b("s3cret")), "s3cret"));
        assert!(!proxy_auth_ok(Some("Bearer s3cret"), "s3cret"));
        assert!(!proxy_auth_ok(None, "s3cret"));
        assert_eq!(
            proxy_url("127.0.0.1:9", "abc"),
            "http://tokenvault:abc@127.0.0.1:9"
        );
    }

    #[test]
    fn path_prefixes_are_segment_bounded() {
        let n = Narrowing {
            methods: vec![],
            paths: vec!["/api/models".into()],
        };
        assert_eq!(n.refusal("GET", "/api/models"), None);
        assert_eq!(n.refusal("GET", "/api/models/x/y?z=1"), None);
        assert!(n.refusal("GET", "/api/modelsx").is_some());
        assert!(n.refusal("GET", "/api/models/../datasets").is_some());
        assert!(n.refusal("GET", "/api/datasets").is_some());
        let m = Narrowing::default().with_methods(["get,head", "post"]);
        assert_eq!(m.methods, vec!["GET", "HEAD", "POST"]);
        assert!(m.refusal("DELETE", "/").is_some());
    }

    #[test]
    fn substitution_only_where_the_placeholder_is() {
        assert_eq!(
            substitute("Bearer hf_PLACE", "hf_PLACE", "hf_REAL").as_deref(),
            Some("Bearer hf_REAL")
        );
        assert_eq!(substitute("Bearer other", "hf_PLACE", "hf_REAL"), None);
        let p = Policy::new(&hf_table(), &[], Narrowing::default());
        assert!(p.substitutes_in("Authorization"));
        assert!(!p.substitutes_in("x-api-key"));
    }

    #[test]
    fn bases_and_locations() {
        let b = parse_base("https://api.openai.com/v1/").unwrap();
        assert_eq!(b.origin(), "https://api.openai.com");
        assert_eq!(b.path, "/v1");
        assert_eq!(
            child_base_url("http://127.0.0.1:4000", &b),
            "http://127.0.0.1:4000/v1"
        );
        let local = parse_base("http://127.0.0.1:5000").unwrap();
        assert_eq!(local.authority(), "127.0.0.1:5000");
        assert_eq!(parse_base("ftp://x"), None);
        assert_eq!(parse_base("https://user:pw@x.com"), None);
        let hf = parse_base("https://huggingface.co").unwrap();
        assert_eq!(
            rewrite_location("https://huggingface.co/api/x?y", &hf, "http://127.0.0.1:9"),
            Some("http://127.0.0.1:9/api/x?y".into())
        );
        assert_eq!(
            rewrite_location("https://huggingface.co.evil/x", &hf, "http://127.0.0.1:9"),
            None
        );
        assert_eq!(
            rewrite_location("https://cdn-lfs.hf.co/x", &hf, "http://127.0.0.1:9"),
            None
        );
    }

    #[test]
    fn table_problems_are_reported() {
        assert!(hf_table().problem().is_none());
        let mut t = hf_table();
        t.hosts.clear();
        assert!(t.problem().is_some());
        let mut t = hf_table();
        t.hosts.push("not a host".into());
        assert!(t.problem().is_some());
        let mut t = hf_table();
        t.base_url = Some("ftp://x".into());
        assert!(t.problem().is_some());
    }
}
