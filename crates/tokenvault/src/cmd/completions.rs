//! `tokenvault completions SHELL`: completion scripts, generated from the clap definition.

use crate::cli::{Cli, CompletionsArgs};
use crate::context::Outcome;
use crate::printer::Printer;
use anyhow::Result;
use clap::CommandFactory;

pub fn run(args: &CompletionsArgs, printer: &Printer) -> Result<Outcome> {
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "tokenvault", &mut buf);
    printer.data(&String::from_utf8_lossy(&buf))?;
    Ok(Outcome::Success)
}
