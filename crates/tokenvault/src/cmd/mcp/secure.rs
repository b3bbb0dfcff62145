//! `tokenvault mcp secure`.

use crate::cli::McpSecureArgs;
use crate::context::{Ctx, Outcome};
use anyhow::{bail, Result};

pub fn run(_ctx: &mut Ctx, _args: &McpSecureArgs) -> Result<Outcome> {
    bail!("'mcp secure' is not implemented yet")
}
