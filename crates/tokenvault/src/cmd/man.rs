//! `tokenvault man [DIR]` (hidden): the manual pages, one per command (`tokenvault.1`,
//! `tokenvault-set.1`, `tokenvault-mcp-secure.1`, …), generated from the clap definitions with
//! their examples, written into DIR. `scripts/install` puts them where `man` finds them.

use crate::cli::{Cli, ManArgs};
use crate::context::Outcome;
use crate::error::hinted;
use crate::printer::Printer;
use anyhow::Result;
use clap::CommandFactory;

pub fn run(args: &ManArgs, printer: &Printer) -> Result<Outcome> {
    std::fs::create_dir_all(&args.dir).map_err(|e| {
        hinted(
            format!("cannot create {}: {e}", args.dir.display()),
            "name a directory you can write to, e.g. ~/.local/share/man/man1",
        )
    })?;
    clap_mangen::generate_to(Cli::command(), &args.dir).map_err(|e| {
        hinted(
            format!(
                "cannot write the manual pages into {}: {e}",
                args.dir.display()
            ),
            "check the directory's permissions",
        )
    })?;
    printer.note(&format!(
        "Wrote the manual pages into {}.",
        args.dir.display()
    ));
    Ok(Outcome::Success)
}
