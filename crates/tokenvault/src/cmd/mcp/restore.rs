//! `tokenvault mcp restore`.

use crate::cli::McpRestoreArgs;
use crate::context::{Ctx, Outcome};
use anyhow::{bail, Result};

pub fn run(_ctx: &mut Ctx, _args: &McpRestoreArgs) -> Result<Outcome> {
    bail!("'mcp restore' is not implemented yet")
}
