//! `tokenvault mcp proxy`.

use crate::cli::McpProxyArgs;
use crate::context::{Ctx, Outcome};
use anyhow::{bail, Result};

pub fn run(_ctx: &mut Ctx, _args: &McpProxyArgs) -> Result<Outcome> {
    bail!("'mcp proxy' is not implemented yet")
}
