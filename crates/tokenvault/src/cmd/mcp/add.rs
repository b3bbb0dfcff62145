//! `tokenvault mcp add`.

use crate::cli::McpAddArgs;
use crate::context::{Ctx, Outcome};
use anyhow::{bail, Result};

pub fn run(_ctx: &mut Ctx, _args: &McpAddArgs) -> Result<Outcome> {
    bail!("'mcp add' is not implemented yet")
}
