//! The network half of live verification: one blocking HTTPS GET with a bearer token.
//!
//! `tokenvault-core::verify` interprets what comes back; this module only sends the request and
//! sorts failures into the kinds the user can act on (timeout, DNS, TLS, connection, proxy). The
//! token travels only in the `Authorization` header, never in the URL, and no error built here
//! contains it: messages are made from the host name and ureq's error kind, never from the request.
//! Proxies come from `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` with `NO_PROXY` honoured (ureq reads
//! them); a redirect never carries the `Authorization` header to another host (ureq's default).

use crate::envvars;
use std::time::Duration;
use tokenvault_core::verify::NetworkFailure;
use tokenvault_core::Secret;

/// Connect timeout: a reachable server accepts within this.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The whole request, connect to last byte.
const TOTAL_TIMEOUT: Duration = Duration::from_secs(15);
/// Far more than any whoami answer; stops a misconfigured endpoint from streaming forever.
const MAX_BODY: u64 = 1 << 20;

/// The Hugging Face API base: `HF_ENDPOINT` or the Hub, without a trailing slash.
pub fn hf_endpoint() -> String {
    envvars::get(envvars::HF_ENDPOINT)
        .unwrap_or_else(|| "https://huggingface.co".to_owned())
        .trim_end_matches('/')
        .to_owned()
}

/// An HTTP answer, whatever its status.
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub retry_after: Option<String>,
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
    envvars::get(envvars::TOKENVAULT_HTTP_TIMEOUT)
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(TOTAL_TIMEOUT)
}

/// `GET url` with `Authorization: Bearer <token>`.
pub fn get_bearer(url: &str, token: &Secret) -> Result<Answer, NetworkFailure> {
    let total = total_timeout();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(CONNECT_TIMEOUT.min(total)))
        .timeout_global(Some(total))
        .http_status_as_error(false)
        .user_agent(format!("tokenvault/{}", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    // Marked sensitive so that no Debug output of the request shows it; the temporary string is
    // zeroized on drop.
    let bearer = zeroize::Zeroizing::new(format!("Bearer {}", token.expose_secret()));
    let mut auth = ureq::http::HeaderValue::from_str(&bearer).map_err(|_| {
        NetworkFailure::Other(
            "the stored value has characters an HTTP header cannot carry (not sent)".to_owned(),
        )
    })?;
    auth.set_sensitive(true);
    let response = agent
        .get(url)
        .header("Authorization", auth)
        .header("Accept", "application/json")
        .call();
    let behind_proxy = proxy_for(url).is_some();
    let mut response = response.map_err(|e| blame_proxy(classify(e), behind_proxy))?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_string()
        .map_err(classify)?;
    Ok(Answer {
        status,
        body,
        retry_after,
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
pub(crate) fn classify(e: ureq::Error) -> NetworkFailure {
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
        ureq::Error::BadUri(_) => {
            NetworkFailure::Other("the endpoint URL is not valid (check HF_ENDPOINT)".to_owned())
        }
        ureq::Error::BodyExceedsLimit(_) => {
            NetworkFailure::Other("the answer is larger than 1 MiB".to_owned())
        }
        other => NetworkFailure::Other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
