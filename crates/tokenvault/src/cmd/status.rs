//! `tokenvault status`.

use crate::cli::StatusArgs;
use crate::context::{Ctx, Outcome};
use anyhow::{bail, Result};

pub fn run(_ctx: &mut Ctx, _args: &StatusArgs) -> Result<Outcome> {
    bail!("'status' is not implemented yet")
}
