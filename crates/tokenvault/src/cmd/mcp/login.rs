//! `tokenvault mcp login URL [--name NAME] [--scope S]… [--client-id ID] [--no-browser]`: signs in
//! to a remote MCP server with OAuth (the flow is `services::mcp_oauth::login`) and keeps the
//! tokens in the vault as one item `mcp-oauth-NAME`. The browser gets the authorization address
//! (never a token); the address is printed on stderr too.

use crate::cli::McpLoginArgs;
use crate::context::{now_rfc3339, Ctx, Outcome};
use crate::error::hinted;
use crate::services::mcp_oauth::{self, LoginRequest};
use anyhow::Result;
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokenvault_core::oauth;

pub fn run(ctx: &mut Ctx, args: &McpLoginArgs) -> Result<Outcome> {
    let url = args.url.trim();
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(hinted(
            "the URL is not an http(s) URL",
            "pass the server's MCP endpoint, e.g. `tokenvault mcp login https://huggingface.co/mcp`",
        ));
    }
    if let Some(why) = tokenvault_core::endpoint::cleartext_refused(url) {
        return Err(hinted(
            why,
            "use the server's https:// URL (plain http is allowed only to this machine)",
        ));
    }
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| mcp_oauth::default_name(url));
    let item = mcp_oauth::item_of(&name)?;
    let printer = ctx.printer.clone();
    // Open the vault first: a locked or missing vault fails before the browser is involved.
    let vault = ctx.open_vault()?;
    let backend = vault.kind().as_str();
    let mut browser: Option<Child> = None;
    let req = LoginRequest {
        url,
        name: &name,
        scopes: &args.scopes,
        client_id: args.client_id.as_deref(),
        timeout: Duration::from_secs(args.timeout.max(1)),
    };
    let result = mcp_oauth::login(&req, &mut |address| {
        printer.address("Open this address to sign in:", address);
        if !args.no_browser {
            match open_browser(address) {
                Ok(child) => browser = Some(child),
                Err(why) => printer.warning(&format!(
                    "could not open a browser ({why}); open the address above yourself"
                )),
            }
        }
        printer.note("Waiting for the browser to come back…");
    });
    if let Some(mut child) = browser {
        let _ = child.try_wait();
    }
    let reference = format!("tv://{item}");
    let login = match result {
        Ok(l) => l,
        Err(e) => {
            crate::audit::record(ctx, "mcp-login", Some(backend), &[reference], "failed");
            return Err(e);
        }
    };
    mcp_oauth::store(&vault, &login, &now_rfc3339())?;
    drop(vault);
    crate::audit::record(
        ctx,
        "mcp-login",
        Some(backend),
        std::slice::from_ref(&reference),
        "ok",
    );
    let expiry = oauth::describe_expiry(login.expires_at, mcp_oauth::now());
    if ctx.settings.global.json {
        ctx.printer.json(&json!({
            "name": name,
            "url": login.url,
            "reference": reference,
            "expires_at": login.expires_at,
            "refreshable": login.refresh_token.is_some(),
            "scope": login.scope,
            "proxy": ["tokenvault", "mcp", "proxy", "--oauth", name],
        }))?;
    } else {
        ctx.printer.note(&format!(
            "Signed in to {}: the tokens are in the vault as {reference} (access token {expiry}{}).",
            tokenvault_verify::http::host_of(&login.url),
            if login.refresh_token.is_some() {
                "; renewed automatically"
            } else {
                "; no refresh token, so sign in again when it expires"
            }
        ));
        ctx.printer.note(&format!(
            "Use it from any MCP client: tokenvault mcp proxy --oauth {name}"
        ));
    }
    Ok(Outcome::Success)
}

/// Starts `$BROWSER URL` (Debian's convention: a list separated by ':', `%s` for the address),
/// else the desktop's opener. The child gets no tokenvault passphrase variable and no stdio.
fn open_browser(url: &str) -> Result<Child, String> {
    let (program, args): (String, Vec<String>) = match crate::envvars::get(crate::envvars::BROWSER)
    {
        Some(b) => {
            let first = b.split(':').next().unwrap_or(&b).trim().to_owned();
            let mut words: Vec<String> = first.split_whitespace().map(str::to_owned).collect();
            if words.is_empty() {
                return Err("BROWSER is empty".into());
            }
            let program = words.remove(0);
            if words.iter().any(|w| w.contains("%s")) {
                words = words.into_iter().map(|w| w.replace("%s", url)).collect();
            } else {
                words.push(url.to_owned());
            }
            (program, words)
        }
        None if cfg!(target_os = "macos") => ("open".into(), vec![url.to_owned()]),
        None => ("xdg-open".into(), vec![url.to_owned()]),
    };
    let mut c = Command::new(&program);
    c.args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("TOKENVAULT_PASSPHRASE") {
            c.env_remove(k);
        }
    }
    c.spawn().map_err(|e| format!("{program}: {e}"))
}
