//! What the user typed: the clap definitions (low-level arguments). `settings.rs` turns them into
//! what they mean on this machine. Every value flag here takes a reference or a name, never a
//! secret: values come from a hidden prompt or standard input.

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "tokenvault",
    version,
    about = "Keep API tokens out of plain-text files, command lines and logs, and still hand them to the programs that need them.",
    long_about = None,
    after_help = "References: tv://ITEM/FIELD, or on the command line ITEM/FIELD or ITEM (the provider's default field).\nExit codes: 0 success, 1 negative answer (e.g. token invalid), 2 error.\nDocs: README.md and docs/ in the source tree."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Where values live: keychain (OS store), file (encrypted vault) or memory (tests only).
    #[arg(long, global = true, value_name = "BACKEND", env = "TOKENVAULT_BACKEND")]
    pub backend: Option<String>,
    /// Print machine-readable JSON where lists are printed.
    #[arg(long, global = true)]
    pub json: bool,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// No colour (also: NO_COLOR).
    #[arg(long, global = true)]
    pub no_color: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Store a value: read from a hidden prompt, or from stdin with --stdin. Never from argv.
    Set(SetArgs),
    /// Print a value to stdout (for scripts). Refuses a terminal without --reveal.
    Get(GetArgs),
    /// List stored items and fields, masked.
    #[command(visible_alias = "ls")]
    List,
    /// Show one item (or field), masked, with dates and verification.
    Show(ShowArgs),
    /// Delete a field, or a whole item.
    Rm(RmArgs),
    /// Check stored values: format offline, then the provider's live check.
    Verify(VerifyArgs),
    /// Explain the setup: backend and why, vault state, permissions, shadowing variables.
    Doctor,
    /// File backend: derive the vault key once and cache it, so later processes need no passphrase.
    Unlock(UnlockArgs),
    /// File backend: forget the cached vault key.
    Lock,
    /// Print shell completions.
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct SetArgs {
    /// tv://ITEM/FIELD, ITEM/FIELD or ITEM.
    pub reference: String,
    /// Read the value from standard input (one trailing newline is removed).
    #[arg(long)]
    pub stdin: bool,
    /// The provider of the item (default: the item name's first segment, e.g. huggingface-work → huggingface).
    #[arg(long, value_name = "PROVIDER")]
    pub provider: Option<String>,
    /// Do not check the value online after storing it.
    #[arg(long)]
    pub no_verify: bool,
    /// Store the value even if it does not match the provider's format.
    #[arg(long)]
    pub force: bool,
    /// Anything after the reference. Values are never accepted here; this only exists so that a
    /// token typed on the command line is refused without being echoed back in an error.
    #[arg(hide = true, num_args = 0.., allow_hyphen_values = true, trailing_var_arg = true)]
    pub stray: Vec<String>,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    pub reference: String,
    /// Allow printing to a terminal (where it stays in scrollback).
    #[arg(long)]
    pub reveal: bool,
    /// Do not print a newline after the value.
    #[arg(short = 'n', long)]
    pub no_newline: bool,
    /// The value the current one replaced (kept for rotate --rollback).
    #[arg(long)]
    pub previous: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    pub reference: String,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    pub reference: String,
    /// Do not ask for confirmation when deleting a whole item.
    #[arg(short, long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// What to check (default: everything stored).
    pub references: Vec<String>,
    /// Format check only; no network.
    #[arg(long)]
    pub offline: bool,
}

#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// How long the key stays cached: e.g. 30m, 8h, 2d (default 8h).
    #[arg(long, default_value = "8h", value_name = "DURATION")]
    pub timeout: String,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    pub shell: clap_complete::Shell,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
