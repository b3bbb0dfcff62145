//! `tokenvault mcp logout NAME`: revokes the login's tokens where the authorization server offers
//! RFC 7009, then deletes its vault item (whatever the server said: the user asked to forget it).

use crate::cli::McpLogoutArgs;
use crate::context::{Ctx, Outcome};
use crate::error::hinted;
use crate::services::mcp_oauth::{self, Revoked};
use anyhow::Result;
use serde_json::json;

pub fn run(ctx: &mut Ctx, args: &McpLogoutArgs) -> Result<Outcome> {
    let item = mcp_oauth::item_of(&args.name)?;
    let reference = format!("tv://{item}");
    let vault = ctx.open_vault()?;
    let backend = vault.kind().as_str();
    let Some(login) = mcp_oauth::load(&vault, &args.name)? else {
        return Err(hinted(
            format!("there is no OAuth login named '{}'", args.name),
            "see the logins with `tokenvault mcp status`",
        ));
    };
    let revoked = mcp_oauth::revoke(&login);
    mcp_oauth::remove(&vault, &args.name)?;
    drop(vault);
    let (word, note) = match &revoked {
        Revoked::Yes => ("revoked", None),
        Revoked::NotOffered => (
            "not-offered",
            Some("the authorization server offers no token revocation; the tokens stay valid until they expire".to_owned()),
        ),
        Revoked::Failed(why) => (
            "failed",
            Some(format!("revoking the tokens at the authorization server failed ({why}); they stay valid until they expire")),
        ),
    };
    crate::audit::record(
        ctx,
        "mcp-logout",
        Some(backend),
        std::slice::from_ref(&reference),
        word,
    );
    if ctx.settings.global.json {
        ctx.printer.json(&json!({
            "name": args.name,
            "reference": reference,
            "deleted": true,
            "revoked": word,
        }))?;
    } else {
        if let Some(n) = note {
            ctx.printer.warning(&n);
        }
        ctx.printer.note(&format!(
            "Logged out of {}: {reference} deleted{}.",
            tokenvault_verify::http::host_of(&login.url),
            if matches!(revoked, Revoked::Yes) {
                ", tokens revoked"
            } else {
                ""
            }
        ));
    }
    Ok(Outcome::Success)
}
