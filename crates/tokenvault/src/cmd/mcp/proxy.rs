//! `tokenvault mcp proxy --url URL [--header 'K: V {{ tv://… }}']…` or `--oauth NAME`: a stdio MCP
//! server that bridges to a remote Streamable HTTP server (the bridge itself is
//! `crate::mcp::bridge`; an OAuth login's token comes from `services::mcp_oauth::Session`).
//!
//! Every reference is resolved once, before anything is sent, so a missing token fails at launch
//! naming it, with an audit line (`mcp-proxy`) that lists the references, never the values.

use crate::audit::Subject;
use crate::cli::McpProxyArgs;
use crate::context::{Ctx, Outcome};
use crate::error::hinted;
use crate::mcp::bridge::{self as mcp_bridge, headers};
use crate::services::mcp_oauth;
use crate::vault::Vault;
use anyhow::Result;
use std::sync::Arc;

pub fn run(ctx: &mut Ctx, args: &McpProxyArgs) -> Result<Outcome> {
    if let Some(name) = &args.oauth {
        return run_oauth(ctx, args, name);
    }
    let url = args.url.clone().unwrap_or_default();
    let mut subject = Subject::default();
    let resolved = check_url(&url)
        .and_then(|()| headers::resolve(ctx, &args.headers, mcp_bridge::RESERVED, &mut subject))
        .and_then(|h| refuse_cleartext(&url, h));
    subject.record(ctx, "mcp-proxy", &resolved);
    let headers = resolved?;
    mcp_bridge::run(mcp_bridge::Options {
        url,
        headers,
        printer: ctx.printer.clone(),
        auth: None,
    })?;
    Ok(Outcome::Success)
}

/// `--oauth NAME`: the login's token in `Authorization`, renewed by `services::mcp_oauth`.
fn run_oauth(ctx: &mut Ctx, args: &McpProxyArgs, name: &str) -> Result<Outcome> {
    let item = mcp_oauth::item_of(name)?;
    let reference = format!("tv://{item}");
    let mut reserved = mcp_bridge::RESERVED.to_vec();
    reserved.push("authorization");
    let mut subject = Subject::default();
    let extra = headers::resolve(ctx, &args.headers, &reserved, &mut subject);
    let extra = match extra {
        Ok(h) => h,
        Err(e) => {
            subject.record(ctx, "mcp-proxy", &Err::<(), _>(anyhow::anyhow!("{e}")));
            return Err(e);
        }
    };
    let vault = ctx.open_vault()?;
    let backend = vault.kind().as_str().to_owned();
    let backend = backend.as_str();
    let found = mcp_oauth::load(&vault, name)?;
    // The proxy keeps the vault open for its life, to store renewed tokens; the catalogue it
    // borrows must live as long (one small copy per proxy process).
    let Vault {
        backend: store,
        choice,
        index_file,
        ..
    } = vault;
    let Some(login) = found else {
        crate::audit::record(ctx, "mcp-proxy", Some(backend), &[reference], "not found");
        return Err(hinted(
            format!("there is no OAuth login named '{name}'"),
            format!("sign in first: `tokenvault mcp login URL --name {name}`"),
        ));
    };
    let url = args.url.clone().unwrap_or_else(|| login.url.clone());
    check_url(&url)?;
    if let Some(why) = tokenvault_core::endpoint::cleartext_refused(&url) {
        return Err(hinted(
            why,
            "use the server's https:// URL (plain http is allowed only to this machine)",
        ));
    }
    crate::audit::record_before_release(ctx, "mcp-proxy", Some(backend), &[reference])?;
    let catalogue: &'static tokenvault_core::Catalogue =
        Box::leak(Box::new(ctx.settings.catalogue.clone()));
    let vault: Vault<'static> = Vault {
        backend: store,
        choice,
        index_file,
        catalogue,
        state: Default::default(),
    };
    let session = mcp_oauth::Session::new(vault, ctx.settings.paths.home.clone(), login);
    mcp_bridge::run(mcp_bridge::Options {
        url,
        headers: extra,
        printer: ctx.printer.clone(),
        auth: Some(Arc::new(session)),
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
