//! How a live check ended, and every HTTP or network outcome explained with a next step.

use crate::checks::{Account, Answer, Check, CheckContext};

/// How a live check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveOutcome {
    /// The provider accepted the token.
    Valid(Account),
    /// The provider says no: the token is invalid (401) or refused (403). Exit 1.
    Rejected(Explanation),
    /// We could not get an answer (rate limit, server error, network). Exit 2.
    Unknown(Explanation),
}

/// What happened and what to do next, for one `error:`/`warning:` line and one `hint:` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// A short machine-readable name: `invalid`, `forbidden`, `rate-limited`, `timeout`, …
    pub code: &'static str,
    pub message: String,
    pub hint: String,
}

pub(crate) fn explain(code: &'static str, message: String, hint: String) -> Explanation {
    Explanation {
        code,
        message,
        hint,
    }
}

/// Interprets the HTTP answer of a Hugging Face `whoami-v2` check. `create_url` is where a new
/// token is made (from the provider catalogue).
pub fn interpret_hf(
    status: u16,
    body: &str,
    retry_after: Option<&str>,
    create_url: Option<&str>,
) -> LiveOutcome {
    let answer = Answer {
        status,
        body: body.to_owned(),
        headers: retry_after
            .map(|r| vec![("retry-after".to_owned(), r.to_owned())])
            .unwrap_or_default(),
    };
    Check::HuggingFace.interpret(
        &answer,
        &CheckContext {
            create_url,
            ..CheckContext::default()
        },
    )
}

/// Why a request got no HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkFailure {
    Timeout,
    /// The host name did not resolve.
    Dns,
    Tls(String),
    /// Refused, reset or unreachable.
    Connect(String),
    /// The proxy from HTTPS_PROXY/HTTP_PROXY failed or is malformed.
    Proxy(String),
    Other(String),
}

/// Explains a network failure reaching `host`; `proxy` is the proxy in use, if any (no
/// credentials: the caller strips them); `endpoint_var` is the variable that sets the endpoint
/// (`HF_ENDPOINT`, `GITHUB_API_URL`, …).
pub fn explain_network(
    failure: &NetworkFailure,
    host: &str,
    proxy: Option<&str>,
    endpoint_var: &str,
) -> Explanation {
    let via = proxy.map(|p| format!(" via proxy {p}")).unwrap_or_default();
    let proxy_hint = if proxy.is_some() {
        "; check HTTPS_PROXY/HTTP_PROXY and NO_PROXY"
    } else {
        "; behind a proxy, set HTTPS_PROXY"
    };
    match failure {
        NetworkFailure::Timeout => explain(
            "timeout",
            format!("no answer from {host}{via} in time"),
            format!("check your connection and retry{proxy_hint}; `--offline` checks formats only"),
        ),
        NetworkFailure::Dns => explain(
            "dns",
            format!("could not resolve {host}"),
            format!("check your DNS or network connection (and {endpoint_var}){proxy_hint}"),
        ),
        NetworkFailure::Tls(why) => explain(
            "tls",
            format!("TLS with {host}{via} failed: {why}"),
            format!("a proxy or firewall may be intercepting HTTPS; check the system time and {endpoint_var}"),
        ),
        NetworkFailure::Connect(why) => explain(
            "connection",
            format!("could not connect to {host}{via}: {why}"),
            format!("check your network and {endpoint_var}{proxy_hint}"),
        ),
        NetworkFailure::Proxy(why) => explain(
            "proxy",
            format!("the proxy failed reaching {host}: {why}"),
            "check HTTPS_PROXY/HTTP_PROXY (scheme://host:port) and NO_PROXY".to_owned(),
        ),
        NetworkFailure::Other(why) => explain(
            "network",
            format!("the request to {host}{via} failed: {why}"),
            format!("retry later{proxy_hint}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        let o = interpret_hf(
            401,
            r#"{"error":"Invalid credentials in Authorization header"}"#,
            None,
            Some("https://huggingface.co/settings/tokens"),
        );
        let LiveOutcome::Rejected(e) = o else {
            panic!("{o:?}")
        };
        assert_eq!(e.code, "invalid");
        assert!(e.message.contains("invalid, revoked or expired"));
        assert!(e
            .message
            .contains("Invalid credentials in Authorization header"));
        assert!(e.hint.contains("https://huggingface.co/settings/tokens"));
        let LiveOutcome::Unknown(e) = interpret_hf(429, "", Some("30"), None) else {
            panic!()
        };
        assert_eq!(e.code, "rate-limited");
        assert!(e.hint.contains("30 seconds"));
        assert!(
            matches!(interpret_hf(403, "", None, None), LiveOutcome::Rejected(e) if e.code == "forbidden")
        );
        assert!(
            matches!(interpret_hf(503, "", None, None), LiveOutcome::Unknown(e) if e.code == "server-error")
        );
        assert!(
            matches!(interpret_hf(200, "<html>", None, None), LiveOutcome::Unknown(e) if e.code == "bad-response")
        );
        assert!(matches!(
            interpret_hf(200, "{}", None, None),
            LiveOutcome::Unknown(_)
        ));
    }

    #[test]
    fn network_explanations_differ() {
        let codes: Vec<_> = [
            NetworkFailure::Timeout,
            NetworkFailure::Dns,
            NetworkFailure::Tls("x".into()),
            NetworkFailure::Connect("refused".into()),
            NetworkFailure::Proxy("x".into()),
            NetworkFailure::Other("x".into()),
        ]
        .iter()
        .map(|f| explain_network(f, "huggingface.co", None, "HF_ENDPOINT").code)
        .collect();
        let mut dedup = codes.clone();
        dedup.dedup();
        assert_eq!(codes, dedup);
        let e = explain_network(
            &NetworkFailure::Timeout,
            "h",
            Some("http://proxy:3128"),
            "HF_ENDPOINT",
        );
        assert!(e.message.contains("via proxy http://proxy:3128"));
    }
}
