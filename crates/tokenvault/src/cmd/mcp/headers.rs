//! `tokenvault mcp headers`.

use crate::cli::McpHeadersArgs;
use crate::context::{Ctx, Outcome};
use anyhow::{bail, Result};

pub fn run(_ctx: &mut Ctx, _args: &McpHeadersArgs) -> Result<Outcome> {
    bail!("'mcp headers' is not implemented yet")
}
