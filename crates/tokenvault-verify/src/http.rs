//! The one HTTP client for vault values: the live checks' requests (one blocking HTTPS request per
//! check, built from the check's [`RequestPlan`] with the credential where the plan says — a
//! bearer token, an API-key header, or an AWS SigV4 signature, see [`crate::aws_sign`]) and the
//! binary's MCP bridge both get their agent from [`agent`], so TLS (rustls with bundled roots),
//! proxies, the redirect policy and the User-Agent are set in one place.
//!
//! [`crate::checks`] interprets what comes back; this module only sends the request and sorts
//! failures into the kinds the user can act on (timeout, DNS, TLS, connection, proxy). The
//! credential travels only in headers marked sensitive, never in the URL, and no error built here
//! contains it: messages are made from the host name and ureq's error kind, never from the request.
//! Before an answer is handed on, any echo of the credential in it is blanked out.
//! Proxies come from `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` with `NO_PROXY` honoured (ureq reads
//! them). Redirects are not followed, so no credential header ever travels to another host.
// The I/O half of the crate: it reads the environment (endpoints, timeout) and the clock (SigV4).
#![allow(clippy::disallowed_methods)]

use crate::aws_sign::{self, AwsCredentials, RequestParts};
use crate::checks::{Answer, Check, Credential, RequestPlan};
use crate::outcome::NetworkFailure;
use std::time::{Duration, SystemTime};
use tokenvault_core::Secret;

/// Total time limit of one live check in seconds (default 15; connecting is limited to 5).
pub const TIMEOUT_VAR: &str = "TOKENVAULT_HTTP_TIMEOUT";

/// A variable's value when set and non-empty.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// How long a client waits, and how many idle connections it keeps.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Until the server accepts the connection.
    pub connect: Duration,
    /// The whole request, connect to last byte; `None` for no limit (an MCP tool call may take
    /// minutes, and the MCP client has its own timeouts).
    pub total: Option<Duration>,
    /// Idle keep-alive connections kept, in all and per host; `None` for ureq's default.
    pub idle_connections: Option<usize>,
}

/// The agent every request carrying a vault value goes through: rustls, proxies from the
/// environment, any HTTP status returned as an answer (not an error), and no redirect followed —
/// ureq drops only `Authorization` when following one, so an `x-api-key`, `x-goog-api-key`,
/// `x-amz-security-token` or custom MCP header would travel on to wherever the redirect points;
/// a 3xx is returned as the answer instead.
pub fn agent(limits: Limits) -> ureq::Agent {
    let mut config = ureq::Agent::config_builder()
        .timeout_connect(Some(limits.connect))
        .timeout_global(limits.total)
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .user_agent(format!("tokenvault/{}", env!("CARGO_PKG_VERSION")));
    if let Some(n) = limits.idle_connections {
        config = config
            .max_idle_connections(n)
            .max_idle_connections_per_host(n);
    }
    config.build().into()
}

/// Connect timeout: a reachable server accepts within this.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The whole request, connect to last byte.
const TOTAL_TIMEOUT: Duration = Duration::from_secs(15);
/// Far more than any whoami answer; stops a misconfigured endpoint from streaming forever.
const MAX_BODY: u64 = 1 << 20;

/// The API base of `check`: the first of its variables that is set, else its default (for STS,
/// the regional endpoint of `region`), without a trailing slash.
pub fn base_url(check: Check, region: &str) -> String {
    check
        .base_env()
        .iter()
        .find_map(|v| var(v))
        .unwrap_or_else(|| check.default_base(region))
        .trim_end_matches('/')
        .to_owned()
}

/// The credential of one check.
pub enum Creds<'a> {
    /// One token or API key.
    Token(&'a Secret),
    /// An AWS key pair (and session token), signed for `region`.
    Aws {
        keys: AwsCredentials<'a>,
        region: &'a str,
    },
}

impl Creds<'_> {
    /// Every secret value, for blanking echoes out of answers.
    fn values(&self) -> Vec<&str> {
        match self {
            Creds::Token(t) => vec![t.expose_secret()],
            Creds::Aws { keys, .. } => [
                Some(keys.access_key_id),
                Some(keys.secret_access_key),
                keys.session_token,
            ]
            .into_iter()
            .flatten()
            .map(Secret::expose_secret)
            .collect(),
        }
    }
}

/// The host (and port) of `url`, for messages.
pub fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    // Never show userinfo, which may hold a password.
    authority
        .rsplit_once('@')
        .map(|(_, h)| h)
        .unwrap_or(authority)
        .to_owned()
}

/// The proxy a request to `url` would use, without credentials, for messages.
pub fn proxy_for(url: &str) -> Option<String> {
    let proxy = ureq::Proxy::try_from_env()?;
    let uri: ureq::http::Uri = url.parse().ok()?;
    if proxy.is_no_proxy(&uri) {
        return None;
    }
    let port = proxy.port();
    Some(format!("{}:{port}", proxy.host()))
}

fn total_timeout() -> Duration {
    var(TIMEOUT_VAR)
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(TOTAL_TIMEOUT)
}

fn sensitive(value: &str) -> Result<ureq::http::HeaderValue, NetworkFailure> {
    let mut v = ureq::http::HeaderValue::from_str(value).map_err(|_| {
        NetworkFailure::Other(
            "the stored value has characters an HTTP header cannot carry (not sent)".to_owned(),
        )
    })?;
    v.set_sensitive(true);
    Ok(v)
}

/// The headers that carry the credential, for this plan.
fn credential_headers(
    plan: &RequestPlan,
    creds: &Creds<'_>,
) -> Result<Vec<(String, ureq::http::HeaderValue)>, NetworkFailure> {
    match (plan.credential, creds) {
        (Credential::Bearer, Creds::Token(t)) => {
            // Zeroized on drop; the header value itself is marked sensitive.
            let bearer = zeroize::Zeroizing::new(format!("Bearer {}", t.expose_secret()));
            Ok(vec![("authorization".to_owned(), sensitive(&bearer)?)])
        }
        (Credential::Header(name), Creds::Token(t)) => {
            Ok(vec![(name.to_owned(), sensitive(t.expose_secret())?)])
        }
        (Credential::AwsSigV4 { service }, Creds::Aws { keys, region }) => {
            let parts = RequestParts {
                method: plan.method,
                url: &plan.url,
                headers: &plan.headers,
                body: plan.body.unwrap_or("").as_bytes(),
                region,
                service,
            };
            let signed = aws_sign::sign(&parts, keys, SystemTime::now())
                .map_err(|e| NetworkFailure::Other(e.to_string()))?;
            signed
                .into_iter()
                .map(|h| {
                    let v = if h.sensitive {
                        sensitive(&h.value)?
                    } else {
                        ureq::http::HeaderValue::from_str(&h.value)
                            .map_err(|e| NetworkFailure::Other(e.to_string()))?
                    };
                    Ok((h.name.to_owned(), v))
                })
                .collect()
        }
        _ => Err(NetworkFailure::Other(
            "internal: the credential does not fit this check (not sent)".to_owned(),
        )),
    }
}

/// Sends `plan` with `creds` and returns the answer, whatever its status. `endpoint_var` names
/// the variable that sets the endpoint, for the message of an invalid URL.
pub fn send(
    plan: &RequestPlan,
    creds: &Creds<'_>,
    endpoint_var: &str,
) -> Result<Answer, NetworkFailure> {
    if let Some(why) = tokenvault_core::endpoint::cleartext_refused(&plan.url) {
        return Err(NetworkFailure::Other(format!(
            "{why} (check {endpoint_var}); the credential was not sent"
        )));
    }
    let total = total_timeout();
    let agent = agent(Limits {
        connect: CONNECT_TIMEOUT.min(total),
        total: Some(total),
        idle_connections: None,
    });
    let bad_uri = || {
        NetworkFailure::Other(format!(
            "the endpoint URL is not valid (check {endpoint_var})"
        ))
    };
    let uri: ureq::http::Uri = plan.url.parse().map_err(|_| bad_uri())?;
    let mut builder = ureq::http::Request::builder().method(plan.method).uri(uri);
    for (k, v) in &plan.headers {
        builder = builder.header(*k, *v);
    }
    for (k, v) in credential_headers(plan, creds)? {
        builder = builder.header(k, v);
    }
    let response = match plan.body {
        Some(body) => builder
            .body(body.as_bytes())
            .map_err(|_| bad_uri())
            .and_then(|r| agent.run(r).map_err(|e| classify(e, endpoint_var))),
        None => builder
            .body(())
            .map_err(|_| bad_uri())
            .and_then(|r| agent.run(r).map_err(|e| classify(e, endpoint_var))),
    };
    let behind_proxy = proxy_for(&plan.url).is_some();
    let mut response = response.map_err(|f| blame_proxy(f, behind_proxy))?;
    let status = response.status().as_u16();
    let secrets = creds.values();
    let blank = |text: &str| {
        let mut out = text.to_owned();
        for s in &secrets {
            if !s.is_empty() {
                out = out.replace(s, "[value withheld]");
            }
        }
        out
    };
    let headers = response
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_ascii_lowercase(), blank(v.to_str().ok()?))))
        .collect();
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_string()
        .map_err(|e| classify(e, endpoint_var))?;
    Ok(Answer {
        status,
        body: blank(&body),
        headers,
    })
}

/// With a proxy in the way, a refused or reset connection is the proxy's.
fn blame_proxy(f: NetworkFailure, behind_proxy: bool) -> NetworkFailure {
    match f {
        NetworkFailure::Connect(why) if behind_proxy => {
            NetworkFailure::Proxy(format!("could not reach the proxy ({why})"))
        }
        other => other,
    }
}

/// Sorts a ureq error into what the user can act on. Only the error's kind and its own text are
/// used; ureq's errors do not include request headers.
pub fn classify(e: ureq::Error, endpoint_var: &str) -> NetworkFailure {
    use std::io::ErrorKind;
    match e {
        ureq::Error::Timeout(_) => NetworkFailure::Timeout,
        ureq::Error::HostNotFound => NetworkFailure::Dns,
        ureq::Error::Tls(why) => NetworkFailure::Tls(why.to_owned()),
        ureq::Error::Rustls(why) => NetworkFailure::Tls(why.to_string()),
        ureq::Error::TlsRequired => NetworkFailure::Tls("the server requires TLS".to_owned()),
        ureq::Error::ConnectProxyFailed(why) => NetworkFailure::Proxy(why),
        ureq::Error::InvalidProxyUrl => {
            NetworkFailure::Proxy("the proxy URL is not valid".to_owned())
        }
        ureq::Error::ConnectionFailed => {
            NetworkFailure::Connect("the connection failed".to_owned())
        }
        ureq::Error::Io(io) => match io.kind() {
            ErrorKind::TimedOut | ErrorKind::WouldBlock => NetworkFailure::Timeout,
            ErrorKind::ConnectionRefused => {
                NetworkFailure::Connect("connection refused".to_owned())
            }
            ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::UnexpectedEof => {
                NetworkFailure::Connect("the connection was closed before an answer".to_owned())
            }
            // rustls reports a handshake with something that does not speak TLS this way.
            ErrorKind::InvalidData => NetworkFailure::Tls(io.to_string()),
            _ if io.to_string().contains("failed to lookup address") => NetworkFailure::Dns,
            _ => NetworkFailure::Connect(io.kind().to_string()),
        },
        ureq::Error::BadUri(_) => NetworkFailure::Other(format!(
            "the endpoint URL is not valid (check {endpoint_var})"
        )),
        ureq::Error::BodyExceedsLimit(_) => {
            NetworkFailure::Other("the answer is larger than 1 MiB".to_owned())
        }
        other => NetworkFailure::Other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bridge's and the checks' clients share one policy: any status is an answer, no
    /// redirect is followed, one User-Agent; only the limits differ.
    #[test]
    fn one_client_policy() {
        for limits in [
            Limits {
                connect: Duration::from_secs(5),
                total: Some(Duration::from_secs(15)),
                idle_connections: None,
            },
            Limits {
                connect: Duration::from_secs(10),
                total: None,
                idle_connections: Some(34),
            },
        ] {
            let a = agent(limits);
            let c = a.config();
            assert!(!c.http_status_as_error());
            assert_eq!(c.max_redirects(), 0);
            assert_eq!(c.timeouts().connect, Some(limits.connect));
            assert_eq!(c.timeouts().global, limits.total);
            if let Some(n) = limits.idle_connections {
                assert_eq!(c.max_idle_connections_per_host(), n);
            }
        }
    }

    #[test]
    fn host_without_userinfo() {
        assert_eq!(
            host_of("https://u:p@hub.example:8443/api/x"),
            "hub.example:8443"
        );
        assert_eq!(host_of("http://127.0.0.1:9/api"), "127.0.0.1:9");
        assert_eq!(host_of("https://huggingface.co"), "huggingface.co");
    }
}
