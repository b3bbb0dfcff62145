//! `tokenvault mcp list`.

use crate::cli::McpListArgs;
use crate::context::{Ctx, Outcome};
use anyhow::{bail, Result};

pub fn run(_ctx: &mut Ctx, _args: &McpListArgs) -> Result<Outcome> {
    bail!("'mcp list' is not implemented yet")
}
