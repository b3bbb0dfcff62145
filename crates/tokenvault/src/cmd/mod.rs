//! One file per subcommand, each `run(ctx, args) -> Result<Outcome>`.

pub mod completions;
pub mod doctor;
pub mod get;
pub mod list;
pub mod rm;
pub mod set;
pub mod show;
pub mod unlock;
pub mod verify;

use anyhow::Result;
use tokenvault_core::Reference;

/// Parses a reference argument, with the forms in the error.
pub fn parse_ref(text: &str) -> Result<Reference> {
    Ok(Reference::parse(text)?)
}
