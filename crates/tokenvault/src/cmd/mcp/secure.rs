//! `tokenvault mcp secure [--client C] [--server S] [--dry-run]`: store each plaintext secret of
//! the client configs in the vault and rewrite its server to get it from there (SPEC §4).
//!
//! Item names: a token of a known provider goes to the provider's item (`huggingface`,
//! `github`, …); a value the vault already holds anywhere is reused; a name that holds another
//! value gets the server's name appended (`huggingface-work`). A secret of no known provider goes to
//! an item named after the server, its field after the variable (`brave-search/brave_api_key`).
//! Every value is read back before its server is rewritten. A second run changes nothing.
//!
//! A `tv://` reference that nothing resolves (the server would get the literal text) is fixed the
//! same way: its server launches through `tokenvault run -e VAR=tv://…` (see
//! `tokenvault_core::mcp::secure::resolving_moves` for what is left alone and why).

use crate::cli::McpSecureArgs;
use crate::context::{Ctx, Outcome};
use crate::render;
use crate::services::mcp_secure;
use anyhow::Result;

/// The work is in [`crate::services::mcp_secure`], which `import mcp` shares.
pub fn run(ctx: &mut Ctx, args: &McpSecureArgs) -> Result<Outcome> {
    let report = mcp_secure::secure_clients(ctx, &args.into())?;
    let global = &ctx.settings.global;
    render::mcp_secure::render(&ctx.printer, &report, global.json, global.quiet)
}
