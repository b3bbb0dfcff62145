//! `tokenvault mcp status [NAME]`: the OAuth logins kept in the vault, their servers, and when
//! their access tokens expire (no value is shown).

use crate::cli::McpStatusArgs;
use crate::context::{Ctx, Outcome};
use crate::error::hinted;
use crate::services::mcp_oauth;
use anyhow::Result;
use serde_json::json;
use tokenvault_core::oauth;

pub fn run(ctx: &mut Ctx, args: &McpStatusArgs) -> Result<Outcome> {
    let vault = ctx.open_vault()?;
    let names = match &args.name {
        Some(n) => {
            mcp_oauth::item_of(n)?;
            vec![n.clone()]
        }
        None => mcp_oauth::names(&vault)?,
    };
    let now = mcp_oauth::now();
    let mut rows = Vec::new();
    for name in names {
        let Some(l) = mcp_oauth::load(&vault, &name)? else {
            return Err(hinted(
                format!("there is no OAuth login named '{name}'"),
                "sign in with `tokenvault mcp login URL --name NAME`",
            ));
        };
        rows.push(l);
    }
    drop(vault);
    if ctx.settings.global.json {
        let list: Vec<_> = rows
            .iter()
            .map(|l| {
                json!({
                    "name": l.name,
                    "url": l.url,
                    "reference": format!("tv://{}{}", mcp_oauth::ITEM_PREFIX, l.name),
                    "issuer": l.issuer,
                    "scope": l.scope,
                    "expires_at": l.expires_at,
                    "expired": l.expires_at.is_some_and(|at| at <= now),
                    "refreshable": l.refresh_token.is_some(),
                    "revocable": l.revocation_endpoint.is_some(),
                })
            })
            .collect();
        ctx.printer.json(&json!(list))?;
        return Ok(Outcome::Success);
    }
    if rows.is_empty() {
        ctx.printer
            .note("No OAuth logins. Sign in with `tokenvault mcp login URL --name NAME`.");
        return Ok(Outcome::Success);
    }
    for l in &rows {
        ctx.printer.line(&format!(
            "{}\t{}\t{}{}",
            l.name,
            l.url,
            oauth::describe_expiry(l.expires_at, now),
            if l.refresh_token.is_some() {
                " (renewed automatically)"
            } else {
                " (no refresh token)"
            }
        ))?;
    }
    Ok(Outcome::Success)
}
