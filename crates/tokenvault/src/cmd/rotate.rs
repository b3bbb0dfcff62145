//! `tokenvault rotate`.

use crate::cli::RotateArgs;
use crate::context::{Ctx, Outcome};
use anyhow::{bail, Result};

pub fn run(_ctx: &mut Ctx, _args: &RotateArgs) -> Result<Outcome> {
    bail!("'rotate' is not implemented yet")
}
