//! One file per subcommand, each `run(ctx, args) -> Result<Outcome>`.

pub mod audit;
pub mod backup;
pub mod completions;
pub mod doctor;
pub mod export;
pub mod get;
pub mod git_credential;
pub mod hook;
pub mod import;
pub mod inject;
pub mod list;
pub mod man;
pub mod mcp;
pub mod passwd;
pub mod plugin;
pub mod profile;
pub mod rm;
pub mod rotate;
pub mod run;
pub mod scan;
pub mod set;
pub mod show;
pub mod status;
pub mod unlock;
pub mod verify;
pub mod wrapper;

use anyhow::Result;
use tokenvault_core::Reference;

/// Parses a reference argument, with the forms in the error.
pub fn parse_ref(text: &str) -> Result<Reference> {
    Ok(Reference::parse(text)?)
}
