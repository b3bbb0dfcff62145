//! `tokenvault mcp add NAME --client C [-e VAR=REF]… -- CMD [ARGS…]` and
//! `tokenvault mcp add NAME --client C --url URL [--header 'K: V {{ tv://… }}']…`: add a server
//! that gets its secrets from the vault (`services::mcp_add`). The entry holds references only; a
//! literal token in a header or an argument is refused.

use crate::cli::McpAddArgs;
use crate::context::{Ctx, Outcome};
use anyhow::Result;

pub fn run(ctx: &mut Ctx, args: &McpAddArgs) -> Result<Outcome> {
    let added = crate::services::mcp_add::add_server(ctx, args)?;
    let path = &added.path;
    if let Some(target) = &added.through_link {
        ctx.printer.note(&format!(
            "{} is a symbolic link: edited {}, the file it points to",
            path.display(),
            target.display()
        ));
    }
    if ctx.settings.global.json {
        ctx.printer.json(&serde_json::json!({
            "added": args.name,
            "client": added.client.id(),
            "path": path,
            "references": added.references,
        }))?;
    } else if !ctx.settings.global.quiet {
        ctx.printer.line(&format!(
            "added '{}' to {} ({})",
            args.name,
            added.client.name(),
            path.display()
        ))?;
    }
    // Tell about references the vault cannot answer yet.
    for r in &added.missing {
        ctx.printer.warning(&format!(
            "{r} is not in the vault yet: store it with `tokenvault set {r}` before the client starts the server"
        ));
    }
    ctx.printer
        .hint("restart the client (or reload its MCP servers) to start the new server");
    Ok(Outcome::Success)
}
