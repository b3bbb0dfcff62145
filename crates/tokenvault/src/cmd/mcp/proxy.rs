//! `tokenvault mcp proxy --url URL [--header 'K: V {{ tv://… }}']…`: a stdio MCP server that
//! bridges to a remote Streamable HTTP server (the bridge itself is `crate::mcp::bridge`).
//!
//! Every reference is resolved once, before anything is sent, so a missing token fails at launch
//! naming it, with an audit line (`mcp-proxy`) that lists the references, never the values.

use crate::audit::Subject;
use crate::cli::McpProxyArgs;
use crate::context::{Ctx, Outcome};
use crate::error::hinted;
use crate::mcp::bridge::{self as mcp_bridge, headers};
use anyhow::Result;

pub fn run(ctx: &mut Ctx, args: &McpProxyArgs) -> Result<Outcome> {
    let mut subject = Subject::default();
    let resolved = check_url(&args.url)
        .and_then(|()| headers::resolve(ctx, &args.headers, mcp_bridge::RESERVED, &mut subject))
        .and_then(|h| refuse_cleartext(&args.url, h));
    subject.record(ctx, "mcp-proxy", &resolved);
    let headers = resolved?;
    mcp_bridge::run(mcp_bridge::Options {
        url: args.url.clone(),
        headers,
        printer: ctx.printer.clone(),
    })?;
    Ok(Outcome::Success)
}

fn scheme_and_host(url: &str) -> Option<(String, String)> {
    let uri: ureq::http::Uri = url.parse().ok()?;
    Some((
        uri.scheme_str()?.to_ascii_lowercase(),
        uri.host()?.to_owned(),
    ))
}

fn check_url(url: &str) -> Result<()> {
    match scheme_and_host(url) {
        Some((scheme, _)) if scheme == "https" || scheme == "http" => Ok(()),
        _ => Err(hinted(
            "--url is not an http(s) URL",
            "pass the server's MCP endpoint, e.g. --url https://huggingface.co/mcp",
        )),
    }
}

/// Vault values only travel encrypted, except to this machine (local servers and tests).
fn refuse_cleartext(url: &str, headers: Vec<headers::Header>) -> Result<Vec<headers::Header>> {
    if headers.iter().any(|h| !h.references.is_empty()) {
        if let Some(why) = tokenvault_core::endpoint::cleartext_refused(url) {
            return Err(hinted(
                why,
                "use the server's https:// URL (plain http is allowed only to this machine)",
            ));
        }
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(check_url("https://huggingface.co/mcp").is_ok());
        assert!(check_url("http://127.0.0.1:8000/mcp").is_ok());
        assert!(check_url("ftp://x/mcp").is_err());
        assert!(check_url("huggingface.co/mcp").is_err());
        let h = || {
            vec![headers::Header {
                name: "Authorization".into(),
                value: tokenvault_core::Secret::new("Bearer x".into()),
                references: vec!["tv://huggingface/token".into()],
                parts: vec![],
            }]
        };
        assert!(refuse_cleartext("http://example.com/mcp", h()).is_err());
        assert!(refuse_cleartext("http://localhost:1/mcp", h()).is_ok());
        assert!(refuse_cleartext("http://[::1]:1/mcp", h()).is_ok());
        assert!(refuse_cleartext("https://example.com/mcp", h()).is_ok());
    }
}
