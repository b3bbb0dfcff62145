//! OAuth 2.1 for remote MCP servers, the pure half: PKCE (RFC 7636, S256 only), the
//! `WWW-Authenticate` challenge's `resource_metadata` (RFC 9728), the well-known addresses of the
//! protected resource metadata (RFC 9728) and of the authorization server metadata (RFC 8414 and
//! OpenID Connect discovery), their parsing and validation, the token endpoint's answer, expiry
//! maths, form and query encoding, and the per-request headers of the MCP 2026-07-28 transport.
//!
//! No I/O and no clock here: the caller passes "now" in seconds since the epoch. Nothing here
//! formats a token into a message.

use base64::Engine;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The vault item of a login is `mcp-oauth-NAME` (one item per server, its fields the tokens and
/// what refreshing them needs).
pub const LOGIN_ITEM_PREFIX: &str = "mcp-oauth-";
/// The field that holds a login's access token.
pub const LOGIN_FIELD: &str = "access_token";

/// Refresh this long before the access token expires.
pub const REFRESH_MARGIN_SECS: i64 = 60;

/// The PKCE code verifier for 32 random bytes: 43 characters of base64url (RFC 7636 §4.1).
pub fn code_verifier(random: &[u8; 32]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random)
}

/// `BASE64URL(SHA256(verifier))` (RFC 7636 §4.2, method S256).
pub fn code_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A random `state` (or any opaque nonce) from 16 bytes.
pub fn nonce(random: &[u8; 16]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random)
}

/// The `resource_metadata` URL of a `WWW-Authenticate: Bearer …` challenge (RFC 9728 §5.1).
pub fn resource_metadata_of(www_authenticate: &str) -> Option<String> {
    let (scheme, params) = www_authenticate.trim().split_once(char::is_whitespace)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    challenge_params(params)
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("resource_metadata"))
        .map(|(_, v)| v)
}

/// `k=v, k="v", …` of an auth challenge.
fn challenge_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let Some((k, after)) = rest.split_once('=') else {
            break;
        };
        let key = k.trim().trim_start_matches(',').trim().to_owned();
        let after = after.trim_start();
        let (value, next) = if let Some(q) = after.strip_prefix('"') {
            let mut v = String::new();
            let mut chars = q.char_indices();
            let mut end = q.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            v.push(n);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    _ => v.push(c),
                }
            }
            (v, &q[end.min(q.len())..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_owned(), &after[end..])
        };
        out.push((key, value));
        rest = next.trim_start().trim_start_matches(',').trim_start();
    }
    out
}

/// Splits `https://host/path?q` into (`https://host`, `/path`), without query or fragment.
fn origin_and_path(url: &str) -> Option<(String, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if authority.is_empty() {
        return None;
    }
    Some((
        format!("{}://{authority}", scheme.to_ascii_lowercase()),
        path.trim_end_matches('/').to_owned(),
    ))
}

/// Where the protected resource metadata of the MCP server at `url` may be (RFC 9728 §3.1): the
/// well-known name inserted before the path, then at the root.
pub fn protected_resource_urls(url: &str) -> Vec<String> {
    let Some((origin, path)) = origin_and_path(url) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if !path.is_empty() {
        out.push(format!(
            "{origin}/.well-known/oauth-protected-resource{path}"
        ));
    }
    out.push(format!("{origin}/.well-known/oauth-protected-resource"));
    out
}

/// Where the authorization server metadata of `issuer` may be, in the MCP authorization spec's
/// order: RFC 8414 with path insertion, OpenID Connect with path insertion, OpenID Connect with
/// the path appended (for an issuer without a path: the two root forms).
pub fn auth_server_urls(issuer: &str) -> Vec<String> {
    let Some((origin, path)) = origin_and_path(issuer) else {
        return Vec::new();
    };
    if path.is_empty() {
        vec![
            format!("{origin}/.well-known/oauth-authorization-server"),
            format!("{origin}/.well-known/openid-configuration"),
        ]
    } else {
        vec![
            format!("{origin}/.well-known/oauth-authorization-server{path}"),
            format!("{origin}/.well-known/openid-configuration{path}"),
            format!("{origin}{path}/.well-known/openid-configuration"),
        ]
    }
}

/// The canonical resource identifier of an MCP server URL (RFC 8707 §2, MCP authorization):
/// lower-case scheme and host, no fragment, no trailing slash.
pub fn canonical_resource(url: &str) -> String {
    let url = url.split('#').next().unwrap_or(url);
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = match rest.find(['/', '?']) {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, ""),
            };
            let path = if path == "/" {
                ""
            } else {
                path.strip_suffix('/').unwrap_or(path)
            };
            format!(
                "{}://{}{path}",
                scheme.to_ascii_lowercase(),
                authority.to_ascii_lowercase()
            )
        }
        None => url.to_owned(),
    }
}

/// RFC 9728 protected resource metadata: what we use of it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ProtectedResource {
    #[serde(default)]
    pub resource: Option<String>,
    #[serde(default)]
    pub authorization_servers: Vec<String>,
    #[serde(default)]
    pub scopes_supported: Vec<String>,
}

impl ProtectedResource {
    /// Parses and checks the document for the server at `server_url`: it names at least one
    /// authorization server, and its `resource` (when given) is the server (RFC 9728 §3.3).
    pub fn parse(body: &str, server_url: &str) -> Result<ProtectedResource, String> {
        let pr: ProtectedResource = serde_json::from_str(body)
            .map_err(|e| format!("the protected resource metadata is not valid JSON: {e}"))?;
        if pr.authorization_servers.is_empty() {
            return Err("the protected resource metadata names no authorization server".into());
        }
        if let Some(r) = &pr.resource {
            let (want, got) = (canonical_resource(server_url), canonical_resource(r));
            // The metadata may describe the server's origin or a parent path of it.
            if !(want == got || want.starts_with(&format!("{got}/"))) {
                return Err(format!(
                    "the protected resource metadata is for {got}, not for {want}"
                ));
            }
        }
        Ok(pr)
    }
}

/// RFC 8414 authorization server metadata: what we use of it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct AuthServer {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(default)]
    pub registration_endpoint: Option<String>,
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
    #[serde(default)]
    pub client_id_metadata_document_supported: bool,
    #[serde(default)]
    pub scopes_supported: Vec<String>,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
}

impl AuthServer {
    /// Parses and checks the document fetched for `issuer`: the issuer matches (RFC 8414 §3.3),
    /// S256 PKCE is offered (the MCP spec requires refusing otherwise), every endpoint is https
    /// or on this machine.
    pub fn parse(body: &str, issuer: &str) -> Result<AuthServer, String> {
        let m: AuthServer = serde_json::from_str(body).map_err(|e| {
            format!("the authorization server metadata is not valid or lacks an endpoint: {e}")
        })?;
        if m.issuer.trim_end_matches('/') != issuer.trim_end_matches('/') {
            return Err(format!(
                "the authorization server metadata names issuer {}, not {issuer}",
                m.issuer
            ));
        }
        if !m
            .code_challenge_methods_supported
            .iter()
            .any(|c| c == "S256")
        {
            return Err(
                "the authorization server does not offer PKCE with S256, which MCP requires".into(),
            );
        }
        for url in [
            Some(&m.authorization_endpoint),
            Some(&m.token_endpoint),
            m.registration_endpoint.as_ref(),
            m.revocation_endpoint.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            if let Some(why) = crate::endpoint::cleartext_refused(url) {
                return Err(format!("an endpoint of the authorization server: {why}"));
            }
        }
        Ok(m)
    }
}

/// The token endpoint's successful answer (RFC 6749 §5.1).
#[derive(Deserialize)]
pub struct TokenAnswer {
    pub access_token: String,
    #[serde(default)]
    pub token_type: Option<String>,
    #[serde(default)]
    pub expires_in: Option<i64>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
}

impl std::fmt::Debug for TokenAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenAnswer { .. }")
    }
}

impl TokenAnswer {
    /// Parses a 200 answer; only `Bearer` tokens are accepted.
    pub fn parse(body: &str) -> Result<TokenAnswer, String> {
        let t: TokenAnswer = serde_json::from_str(body)
            .map_err(|_| "the token endpoint's answer has no access_token".to_owned())?;
        if let Some(tt) = &t.token_type {
            if !tt.eq_ignore_ascii_case("bearer") {
                return Err(format!(
                    "the token endpoint issued a {tt} token, not a Bearer token"
                ));
            }
        }
        if t.access_token.is_empty() {
            return Err("the token endpoint issued an empty access token".into());
        }
        Ok(t)
    }
}

/// An OAuth error answer's `error` and `error_description` (RFC 6749 §5.2), for messages. The
/// text is the server's; callers scrub it of tokens before showing it.
pub fn error_of(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    let code = v.get("error")?.as_str()?;
    let code: String = code
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(64)
        .collect();
    Some(match v.get("error_description").and_then(Value::as_str) {
        Some(d) => format!(
            "{code}: {}",
            d.chars()
                .take(200)
                .collect::<String>()
                .replace(['\n', '\r'], " ")
        ),
        None => code,
    })
}

/// When a token issued at `now` with `expires_in` seconds expires (`None`: not said).
pub fn expires_at(now: i64, expires_in: Option<i64>) -> Option<i64> {
    expires_in.filter(|s| *s > 0).map(|s| now.saturating_add(s))
}

/// Whether a token expiring at `expires_at` should be refreshed at `now`: within the margin, or
/// within a tenth of its lifetime for short-lived tokens (so a 30 s token is not refreshed at
/// once). `lifetime` is the `expires_in` it was issued with, when known.
pub fn needs_refresh(expires_at: Option<i64>, lifetime: Option<i64>, now: i64) -> bool {
    let Some(at) = expires_at else {
        return false;
    };
    let margin = match lifetime {
        Some(l) if l > 0 => REFRESH_MARGIN_SECS.min(l / 10).max(1),
        _ => REFRESH_MARGIN_SECS,
    };
    now >= at.saturating_sub(margin)
}

/// "in 3h 20m", "in 45s", "expired 2m ago", for `mcp status`.
pub fn describe_expiry(expires_at: Option<i64>, now: i64) -> String {
    let Some(at) = expires_at else {
        return "no expiry given".into();
    };
    let d = at - now;
    let span = |s: i64| {
        let s = s.abs();
        if s >= 86_400 {
            format!("{}d {}h", s / 86_400, (s % 86_400) / 3600)
        } else if s >= 3600 {
            format!("{}h {}m", s / 3600, (s % 3600) / 60)
        } else if s >= 60 {
            format!("{}m {}s", s / 60, s % 60)
        } else {
            format!("{s}s")
        }
    };
    if d > 0 {
        format!("expires in {}", span(d))
    } else {
        format!("expired {} ago", span(d))
    }
}

/// `application/x-www-form-urlencoded` percent-encoding of one key or value.
pub fn form_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The `Authorization` value of HTTP Basic client authentication (RFC 6749 §2.3.1: id and
/// secret form-encoded first). Holds the secret: the caller zeroizes and marks it sensitive.
pub fn basic_auth(client_id: &str, secret: &str) -> zeroize::Zeroizing<String> {
    let raw = zeroize::Zeroizing::new(format!(
        "{}:{}",
        form_escape(client_id),
        form_escape(secret)
    ));
    zeroize::Zeroizing::new(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw.as_bytes())
    ))
}

/// `k=v&k=v`, each part escaped.
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", form_escape(k), form_escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `base` with `pairs` added to its query.
pub fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}{}", form(pairs))
}

fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The pairs of a query string (or form body), decoded.
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (unescape(k), unescape(v))
        })
        .collect()
}

/// The MCP revisions with the stateless transport (no `initialize`, no session; every request
/// carries its protocol version in `params._meta` and in headers).
pub const MODERN_VERSIONS: &[&str] = &["2026-07-28"];
/// `params._meta` key of the protocol version in the 2026-07-28 envelope.
pub const PROTOCOL_VERSION_META_KEY: &str = "io.modelcontextprotocol/protocolVersion";

/// The methods whose named parameter the 2026-07-28 transport mirrors in `Mcp-Name`.
const NAME_BEARING: &[(&str, &str)] = &[
    ("tools/call", "name"),
    ("prompts/get", "name"),
    ("resources/read", "uri"),
];

/// A header value as the 2026-07-28 transport encodes it: as is when it is visible ASCII without
/// surrounding spaces, else `=?base64?…?=`.
pub fn mcp_header_value(v: &str) -> String {
    let plain = v.bytes().all(|b| (0x20..=0x7e).contains(&b))
        && v == v.trim()
        && !(v.starts_with("=?base64?") && v.ends_with("?="));
    if plain {
        v.to_owned()
    } else {
        format!(
            "=?base64?{}?=",
            base64::engine::general_purpose::STANDARD.encode(v.as_bytes())
        )
    }
}

/// The headers one client message needs on the wire, by the revision it belongs to. A message of
/// the 2026-07-28 era (its `params._meta` names a modern version) gets `MCP-Protocol-Version`
/// from its envelope, `Mcp-Method`, and `Mcp-Name` for name-bearing methods; a 2025 message gets
/// none here (the bridge adds the version the `initialize` result chose). Returns `None` for a
/// 2025 message.
pub fn modern_headers(message: &[u8]) -> Option<Vec<(&'static str, String)>> {
    let v: Value = serde_json::from_slice(message).ok()?;
    let version = v
        .pointer("/params/_meta")
        .and_then(|m| m.get(PROTOCOL_VERSION_META_KEY))
        .and_then(Value::as_str)?;
    if !MODERN_VERSIONS.contains(&version) {
        return None;
    }
    let mut out = vec![("MCP-Protocol-Version", version.to_owned())];
    if let Some(method) = v.get("method").and_then(Value::as_str) {
        out.push(("Mcp-Method", mcp_header_value(method)));
        if let Some((_, key)) = NAME_BEARING.iter().find(|(m, _)| *m == method) {
            if let Some(name) = v.pointer(&format!("/params/{key}")).and_then(Value::as_str) {
                out.push(("Mcp-Name", mcp_header_value(name)));
            }
        }
    }
    Some(out)
}

/// MD5 (RFC 1321), for `mcp-remote`'s file names (the hash of the server URL). Not security.
pub fn md5_hex(data: &[u8]) -> String {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5,
        9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10,
        15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    let k: Vec<u32> = (0..64)
        .map(|i| ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32)
        .collect();
    let (mut a0, mut b0, mut c0, mut d0) = (
        0x6745_2301u32,
        0xefcd_ab89u32,
        0x98ba_dcfeu32,
        0x1032_5476u32,
    );
    let mut msg = data.to_vec();
    let bits = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bits.to_le_bytes());
    for chunk in msg.chunks(64) {
        let m: Vec<u32> = chunk
            .chunks(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let (mut a, mut b, mut c, mut d) = (a0, b0, c0, d0);
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(S[i]));
        }
        a0 = a0.wrapping_add(a);
        b0 = b0.wrapping_add(b);
        c0 = c0.wrapping_add(c);
        d0 = d0.wrapping_add(d);
    }
    [a0, b0, c0, d0]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `mcp-remote`'s token file (`~/.mcp-auth/mcp-remote-<version>/<md5(url)>_tokens.json`).
#[derive(Deserialize)]
pub struct McpRemoteTokens {
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub expires_in: Option<i64>,
    #[serde(default)]
    pub token_type: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
}

/// `mcp-remote`'s client registration (`<md5(url)>_client_info.json`).
#[derive(Deserialize)]
pub struct McpRemoteClient {
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<String>,
}

/// The server URL of an `npx [-y] mcp-remote[@version] URL …` command line, if it is one.
pub fn mcp_remote_url(command: &str, args: &[String]) -> Option<String> {
    let base = command.rsplit('/').next().unwrap_or(command);
    let rest: Vec<&str> = if base == "npx" || base == "pnpx" || base == "bunx" {
        args.iter().map(String::as_str).collect()
    } else if base == "mcp-remote" {
        let mut v = vec!["mcp-remote"];
        v.extend(args.iter().map(String::as_str));
        v
    } else {
        return None;
    };
    let mut it = rest.into_iter().skip_while(|a| a.starts_with('-'));
    let pkg = it.next()?;
    if !(pkg == "mcp-remote" || pkg.starts_with("mcp-remote@")) {
        return None;
    }
    let url = it.next()?;
    (url.starts_with("https://") || url.starts_with("http://")).then(|| url.to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pkce_matches_rfc7636_appendix_b() {
        assert_eq!(
            code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let v = code_verifier(&[7; 32]);
        assert_eq!(v.len(), 43);
        assert!(v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }

    #[test]
    fn challenge_names_the_resource_metadata() {
        assert_eq!(
            resource_metadata_of(r#"Bearer error="invalid_token", resource_metadata="https://a.example/.well-known/oauth-protected-resource/mcp""#).as_deref(),
            Some("https://a.example/.well-known/oauth-protected-resource/mcp")
        );
        assert_eq!(
            resource_metadata_of("Bearer resource_metadata=https://x/y, scope=\"a b\"").as_deref(),
            Some("https://x/y")
        );
        assert_eq!(resource_metadata_of("Basic realm=\"x\""), None);
        assert_eq!(resource_metadata_of("Bearer realm=\"x\""), None);
    }

    #[test]
    fn well_known_addresses() {
        assert_eq!(
            protected_resource_urls("https://huggingface.co/mcp?x=1"),
            vec![
                "https://huggingface.co/.well-known/oauth-protected-resource/mcp",
                "https://huggingface.co/.well-known/oauth-protected-resource"
            ]
        );
        assert_eq!(
            auth_server_urls("https://auth.example/tenant1"),
            vec![
                "https://auth.example/.well-known/oauth-authorization-server/tenant1",
                "https://auth.example/.well-known/openid-configuration/tenant1",
                "https://auth.example/tenant1/.well-known/openid-configuration"
            ]
        );
        assert_eq!(auth_server_urls("https://auth.example/").len(), 2);
        assert_eq!(
            canonical_resource("HTTPS://Hub.Example/mcp/#x"),
            "https://hub.example/mcp"
        );
    }

    #[test]
    fn metadata_is_validated() {
        let pr = ProtectedResource::parse(
            r#"{"resource":"https://a.example/mcp","authorization_servers":["https://as.example"]}"#,
            "https://a.example/mcp",
        )
        .unwrap();
        assert_eq!(pr.authorization_servers, vec!["https://as.example"]);
        assert!(ProtectedResource::parse(
            r#"{"resource":"https://evil.example/mcp","authorization_servers":["https://as"]}"#,
            "https://a.example/mcp"
        )
        .is_err());
        assert!(ProtectedResource::parse(
            r#"{"resource":"https://a.example"}"#,
            "https://a.example/mcp"
        )
        .is_err());
        let ok = r#"{"issuer":"https://as.example","authorization_endpoint":"https://as.example/a","token_endpoint":"https://as.example/t","code_challenge_methods_supported":["S256"]}"#;
        assert!(AuthServer::parse(ok, "https://as.example/").is_ok());
        assert!(AuthServer::parse(ok, "https://other.example").is_err());
        assert!(AuthServer::parse(&ok.replace("S256", "plain"), "https://as.example").is_err());
        assert!(AuthServer::parse(
            &ok.replace("https://as.example/t", "http://as.example/t"),
            "https://as.example"
        )
        .is_err());
    }

    #[test]
    fn token_answers_and_errors() {
        let t = TokenAnswer::parse(
            r#"{"access_token":"a","token_type":"bearer","expires_in":30,"refresh_token":"r"}"#,
        )
        .unwrap();
        assert_eq!(t.expires_in, Some(30));
        assert_eq!(format!("{t:?}"), "TokenAnswer { .. }");
        assert!(TokenAnswer::parse(r#"{"access_token":"a","token_type":"mac"}"#).is_err());
        assert!(TokenAnswer::parse(r#"{"error":"invalid_grant"}"#).is_err());
        assert_eq!(
            error_of(r#"{"error":"invalid_grant","error_description":"refresh token revoked"}"#)
                .as_deref(),
            Some("invalid_grant: refresh token revoked")
        );
    }

    #[test]
    fn expiry_maths() {
        assert_eq!(expires_at(100, Some(30)), Some(130));
        assert_eq!(expires_at(100, None), None);
        assert_eq!(expires_at(100, Some(0)), None);
        // A one-hour token: refreshed a minute ahead.
        assert!(!needs_refresh(Some(3700), Some(3600), 3600));
        assert!(needs_refresh(Some(3700), Some(3600), 3641));
        // A 30 s token: 3 s ahead, not at once.
        assert!(!needs_refresh(Some(130), Some(30), 110));
        assert!(needs_refresh(Some(130), Some(30), 127));
        assert!(!needs_refresh(None, None, i64::MAX));
        assert_eq!(describe_expiry(Some(4000), 100), "expires in 1h 5m");
        assert_eq!(describe_expiry(Some(100), 220), "expired 2m 0s ago");
    }

    #[test]
    fn forms_and_queries() {
        assert_eq!(form(&[("a b", "c&d=é")]), "a%20b=c%26d%3D%C3%A9");
        assert_eq!(
            with_query("https://x/a?y=1", &[("k", "v")]),
            "https://x/a?y=1&k=v"
        );
        assert_eq!(
            parse_query("code=a%2Fb&state=x+y&e="),
            vec![
                ("code".into(), "a/b".into()),
                ("state".into(), "x y".into()),
                ("e".into(), "".into())
            ]
        );
        assert_eq!(parse_query("a=%zz%4"), vec![("a".into(), "%zz%4".into())]);
    }

    #[test]
    fn headers_by_era() {
        let modern = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;
        assert_eq!(
            modern_headers(modern).unwrap(),
            vec![
                ("MCP-Protocol-Version", "2026-07-28".to_owned()),
                ("Mcp-Method", "tools/call".to_owned()),
                ("Mcp-Name", "echo".to_owned())
            ]
        );
        let legacy = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}"#;
        assert_eq!(modern_headers(legacy), None);
        assert_eq!(mcp_header_value("héllo"), "=?base64?aMOpbGxv?=");
        assert_eq!(mcp_header_value(" x"), "=?base64?IHg=?=");
    }

    #[test]
    fn md5_and_mcp_remote() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            md5_hex(b"The quick brown fox jumps over the lazy dog"),
            "9e107d9d372bb6826bd81d3542a419d6"
        );
        let a = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            mcp_remote_url(
                "npx",
                &a(&[
                    "-y",
                    "mcp-remote@0.1.29",
                    "https://h.example/mcp",
                    "--transport",
                    "http-only"
                ])
            )
            .as_deref(),
            Some("https://h.example/mcp")
        );
        assert_eq!(
            mcp_remote_url("/usr/bin/npx", &a(&["mcp-remote", "https://h.example/mcp"])).as_deref(),
            Some("https://h.example/mcp")
        );
        assert_eq!(mcp_remote_url("npx", &a(&["other", "https://h"])), None);
        assert_eq!(
            mcp_remote_url("node", &a(&["mcp-remote", "https://h"])),
            None
        );
    }
}
