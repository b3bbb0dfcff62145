//! Where a credential may travel in clear text: nowhere but this machine.
//!
//! Live checks follow `HF_ENDPOINT`, `OPENAI_BASE_URL`, … and `mcp proxy` follows `--url`, so a
//! variable set by a project's `.env` or a mistyped URL could send a token over plain http to any
//! host on the path. Every request that carries a vault value asks [`cleartext_refused`] first:
//! https anywhere, http only to a loopback address (local servers and tests), nothing else.

/// The lower-cased scheme and the host (no userinfo, port or brackets) of `url`.
pub fn scheme_and_host(url: &str) -> Option<(String, String)> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = hostport.strip_prefix('[') {
        v6.split(']').next().unwrap_or(v6)
    } else {
        hostport.rsplit_once(':').map_or(hostport, |(h, _)| h)
    };
    if host.is_empty() {
        return None;
    }
    Some((scheme.to_ascii_lowercase(), host.to_ascii_lowercase()))
}

/// Whether `host` is this machine: `localhost` or a loopback address.
pub fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `None` when a credential may be sent to `url`; otherwise why not (for the error message).
pub fn cleartext_refused(url: &str) -> Option<String> {
    match scheme_and_host(url) {
        Some((scheme, _)) if scheme == "https" => None,
        Some((scheme, host)) if scheme == "http" => (!is_loopback(&host)).then(|| {
            format!("refusing to send a credential over plain http to {host}: plain http is allowed only to this machine")
        }),
        Some((scheme, _)) => Some(format!(
            "refusing to send a credential with the '{scheme}' scheme: use an https:// URL"
        )),
        None => Some("refusing to send a credential: the URL has no scheme or host".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_to_loopback() {
        assert_eq!(cleartext_refused("https://huggingface.co/api"), None);
        assert_eq!(cleartext_refused("HTTPS://huggingface.co"), None);
        assert_eq!(cleartext_refused("http://127.0.0.1:9/x"), None);
        assert_eq!(cleartext_refused("http://127.8.9.1:9/x"), None);
        assert_eq!(cleartext_refused("http://localhost:8080"), None);
        assert_eq!(cleartext_refused("http://[::1]:8080/mcp"), None);
        for bad in [
            "http://evil.example/api",
            "http://127.0.0.1.evil.example/",
            "http://localhost@evil.example/",
            "http://10.0.0.1/",
            "ftp://huggingface.co/",
            "huggingface.co/api",
            "http://",
        ] {
            assert!(cleartext_refused(bad).is_some(), "{bad}");
        }
        assert!(cleartext_refused("http://evil.example/")
            .unwrap()
            .contains("evil.example"));
    }
}
