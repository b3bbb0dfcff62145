//! `tokenvault completions SHELL`: the completion script for a shell. The script calls tokenvault
//! back (`TOKENVAULT_COMPLETE=SHELL tokenvault -- …`, see `complete.rs`), so it completes
//! subcommands and flags from the clap definitions and also the names only this machine knows:
//! stored items and fields, and profiles.

use crate::cli::CompletionsArgs;
use crate::complete::COMPLETE_VAR;
use crate::context::Outcome;
use crate::printer::Printer;
use anyhow::Result;
use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Zsh};
use clap_complete::Shell;

pub fn run(args: &CompletionsArgs, printer: &Printer) -> Result<Outcome> {
    let completer: &dyn EnvCompleter = match args.shell {
        Shell::Bash => &Bash,
        Shell::Zsh => &Zsh,
        Shell::Fish => &Fish,
        Shell::Elvish => &Elvish,
        Shell::PowerShell => &Powershell,
        other => anyhow::bail!("no completion script for {other}"),
    };
    let mut buf = Vec::new();
    completer.write_registration(
        COMPLETE_VAR,
        "tokenvault",
        "tokenvault",
        "tokenvault",
        &mut buf,
    )?;
    printer.data(&String::from_utf8_lossy(&buf))?;
    Ok(Outcome::Success)
}
